package hostsdeny

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/enforce"
	"github.com/rampart-ids/rampart/internal/goldentest"
)

func TestAppendList(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"192.0.2.7/32", "192.0.2.7\n"},
		{"198.51.100.0/24", "198.51.100.0/255.255.255.0\n"},
		{"198.51.100.77/24", "198.51.100.0/255.255.255.0\n"},
		{"10.0.0.0/9", "10.0.0.0/255.128.0.0\n"},
		{"0.0.0.0/0", "0.0.0.0/0.0.0.0\n"},
		{"192.0.2.4/31", "192.0.2.4/255.255.255.254\n"},
		{"2001:db8::7/128", "[2001:db8::7]\n"},
		{"2001:db8:1::/48", "[2001:db8:1::]/48\n"},
		{"::/0", "[::]/0\n"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := string(AppendList(nil, []netip.Prefix{netip.MustParsePrefix(tt.in)}))
			if got != tt.want {
				t.Errorf("AppendList(%s) = %q, want %q", tt.in, got, tt.want)
			}
			back, err := ParsePattern(strings.TrimSpace(got))
			if err != nil || back != netip.MustParsePrefix(tt.in).Masked() {
				t.Errorf("ParsePattern(%q) = %v, %v; want %v", got, back, err, tt.in)
			}
		})
	}
	if got := AppendList(nil, []netip.Prefix{{}}); len(got) != 0 {
		t.Errorf("invalid prefix written: %q", got)
	}
}

func TestParsePattern(t *testing.T) {
	tests := []struct {
		tok     string
		want    string
		wantErr string
	}{
		{"192.0.2.1", "192.0.2.1/32", ""},
		{"192.0.2.0/255.255.255.128", "192.0.2.0/25", ""},
		{"192.0.2.77/255.255.255.0", "192.0.2.0/24", ""},
		{"192.0.2.0/24", "192.0.2.0/24", ""},
		{"192.0.2.", "192.0.2.0/24", ""},
		{"10.", "10.0.0.0/8", ""},
		{"[2001:db8::1]", "2001:db8::1/128", ""},
		{"[2001:db8::]/32", "2001:db8::/32", ""},
		{"[::ffff:192.0.2.1]", "192.0.2.1/32", ""},
		{"[::ffff:192.0.2.0]/120", "192.0.2.0/24", ""},
		{"192.0.2.0/255.0.255.0", "", "netmask is not contiguous"},
		{"192.0.2.0/33", "", "prefix length 0-32"},
		{"192.0.2.0/024", "", "prefix length 0-32"},
		{"[2001:db8::1", "", "unclosed bracket"},
		{"[2001:db8::]/129", "", "length 0-128"},
		{"[192.0.2.1]", "", "IPv6 address in brackets"},
		{"2001:db8::1", "", "want an IPv4 address"},
		{"host.example.org", "", "want an IPv4 address"},
		{"1.2.3.4.", "", "at most three octets"},
		{"1.2.300.", "", "whole octets"},
		{"ALL", "", "want an IPv4 address"},
		{"#", "", "want an IPv4 address"},
	}
	for _, tt := range tests {
		t.Run(tt.tok, func(t *testing.T) {
			got, err := ParsePattern(tt.tok)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParsePattern(%q) = %v, %v; want error with %q", tt.tok, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != netip.MustParsePrefix(tt.want) {
				t.Fatalf("ParsePattern(%q) = %v, %v; want %s", tt.tok, got, err, tt.want)
			}
		})
	}
}

func TestParseListError(t *testing.T) {
	_, err := ParseList("/etc/rampart/hosts.deny.list", []byte("192.0.2.1\n192.0.2.2 bogus.example 192.0.2.3\n"))
	want := `/etc/rampart/hosts.deny.list:2: want an IPv4 address, net/mask or [IPv6]: "bogus.example"`
	if err == nil || err.Error() != want {
		t.Errorf("ParseList error = %v, want %s", err, want)
	}
}

// readPrefixes reads a testdata input: one address or prefix per line,
// '#' comments.
func readPrefixes(t testing.TB, path string) []enforce.Entry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []enforce.Entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				t.Fatalf("%s: %q: %v", path, s, err)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, enforce.Entry{Prefix: p})
	}
	return out
}

// TestListGolden applies each testdata/lists/*.txt in both forms and
// compares the list written with its golden twins: X.golden is the single
// form's file, X.sharded.golden the sharded form's files, each after a
// "== name ==" line (go test -update rewrites them).
func TestListGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/lists/*.txt")
	if len(inputs) == 0 {
		t.Fatal("no testdata/lists/*.txt")
	}
	for _, in := range inputs {
		for _, form := range forms {
			t.Run(filepath.Base(in)+"/"+string(form), func(t *testing.T) {
				dir := t.TempDir()
				e := newTestEnforcer(t, dir, func(o *Options) { o.Form = form })
				set := enforce.Normalize(readPrefixes(t, in), enforce.NormalizeOptions{})
				if _, err := e.Apply(t.Context(), set); err != nil {
					t.Fatal(err)
				}
				golden := strings.TrimSuffix(in, ".txt") + ".golden"
				if form == FormSharded {
					golden = strings.TrimSuffix(in, ".txt") + ".sharded.golden"
				}
				goldentest.Check(t, golden, dumpList(t, e))
				back, err := e.Status(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(set, back, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
					t.Errorf("Status after Apply (-applied +status):\n%s", diff)
				}
			})
		}
	}
}

// dumpList is the list as written: the single form's file, or the files of
// the current generation in shard order, each after "== name ==".
func dumpList(t testing.TB, e *Enforcer) []byte {
	t.Helper()
	if e.Form() == FormSingle {
		b, err := os.ReadFile(e.opts.ListPath)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var out []byte
	for i := range shards {
		b, err := os.ReadFile(filepath.Join(e.ListDir(), currentName, shardName(i)))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			t.Errorf("shard %s written empty", shardName(i))
		}
		out = append(out, "== "+shardName(i)+" ==\n"...)
		out = append(out, b...)
	}
	return out
}

func TestAppendShards(t *testing.T) {
	var files [shards][]byte
	AppendShards(&files, []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/7"), netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("10.2.3.4/32"),
		netip.MustParsePrefix("252.0.0.0/6"), netip.MustParsePrefix("2001:db8::/32"), {},
	})
	want := map[int]string{
		0: "0.0.0.0/255.0.0.0\n", 1: "1.0.0.0/255.0.0.0\n", 10: "10.1.0.0/255.255.0.0\n10.2.3.4\n",
		252: "252.0.0.0/255.0.0.0\n", 253: "253.0.0.0/255.0.0.0\n", 254: "254.0.0.0/255.0.0.0\n", 255: "255.0.0.0/255.0.0.0\n",
		v6Shard: "[2001:db8::]/32\n",
	}
	for i, f := range files {
		if string(f) != want[i] {
			t.Errorf("shard %s = %q, want %q", shardName(i), f, want[i])
		}
	}
	files = [shards][]byte{}
	AppendShards(&files, []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")})
	for i := range 256 {
		if want := fmt.Sprintf("%d.0.0.0/255.0.0.0\n", i); string(files[i]) != want {
			t.Errorf("0.0.0.0/0: shard %d = %q, want %q", i, files[i], want)
		}
	}
	for _, name := range []string{"00", "256", "-1", "+1", "V6", "1 "} {
		if _, ok := shardIndex(name); ok {
			t.Errorf("shardIndex(%q) accepted", name)
		}
	}
}

func FuzzParseList(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/lists/*")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseList("fuzz", data)
		if err != nil {
			return
		}
		prefixes := make([]netip.Prefix, len(entries))
		for i, e := range entries {
			prefixes[i] = e.Prefix
		}
		out := AppendList(nil, prefixes)
		again, err := ParseList("fuzz", out)
		if err != nil {
			t.Fatalf("own output unreadable: %v\n%s", err, out)
		}
		if !bytes.Equal(AppendList(nil, prefixesOf(again)), out) {
			t.Fatalf("round trip changed the list:\n%s", out)
		}
	})
}

func prefixesOf(es []enforce.Entry) []netip.Prefix {
	out := make([]netip.Prefix, len(es))
	for i, e := range es {
		out[i] = e.Prefix
	}
	return out
}
