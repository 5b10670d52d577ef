package hostsdeny

import (
	"bufio"
	"bytes"
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

// TestListGolden applies each testdata/lists/*.txt and compares the list
// file written with its .golden twin (go test -update rewrites them).
func TestListGolden(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/lists/*.txt")
	if len(inputs) == 0 {
		t.Fatal("no testdata/lists/*.txt")
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			dir := t.TempDir()
			e := newTestEnforcer(t, dir, nil)
			set := enforce.Normalize(readPrefixes(t, in), enforce.NormalizeOptions{})
			if _, err := e.Apply(t.Context(), set); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(e.opts.ListPath)
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(in, ".txt") + ".golden"
			goldentest.Check(t, golden, got)
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
