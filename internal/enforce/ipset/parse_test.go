//go:build linux

package ipset

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/enforce"
	"github.com/rampart-ids/rampart/internal/goldentest"
)

var t0 = time.Unix(1700000000, 0).UTC()

func TestParseSave(t *testing.T) {
	tests := []struct {
		name, set, in string
		want          setState
		wantErr       string
	}{
		{
			name: "expiring", set: Set4Name, in: mustRead(t, "expiring.save"),
			want: setState{exists: true, typ: "hash:net", family: "inet", maxelem: 65536, timeout: true, comment: true,
				entries: []enforce.Entry{
					{Prefix: netip.MustParsePrefix("192.0.2.0/28"), Expires: t0.Add(time.Minute)},
					{Prefix: netip.MustParsePrefix("198.51.100.7/32"), Expires: t0.Add(time.Hour)},
					{Prefix: netip.MustParsePrefix("203.0.113.0/24")},
				}},
		},
		{
			name: "plain v6", set: Set6Name, in: mustRead(t, "plain6.save"),
			want: setState{exists: true, typ: "hash:net", family: "inet6", maxelem: 65536, entries: []enforce.Entry{
				{Prefix: netip.MustParsePrefix("2001:db8::/64")},
				{Prefix: netip.MustParsePrefix("2001:db8:0:1::5/128")},
			}},
		},
		{
			name: "nomatch and duplicate make it dirty", set: "s",
			in: "create s hash:net family inet maxelem 10\nadd s 10.0.0.0/8 nomatch\nadd s 1.2.3.4\nadd s 1.2.3.4/32\n",
			want: setState{exists: true, typ: "hash:net", family: "inet", maxelem: 10, dirty: true,
				entries: []enforce.Entry{{Prefix: netip.MustParsePrefix("1.2.3.4/32")}}},
		},
		{name: "empty", set: "s", in: "", want: setState{}},
		{name: "other set", set: "s", in: "add t 1.2.3.4\n", wantErr: `line 1: not a line of set s: "add t 1.2.3.4"`},
		{name: "bad element", set: "s", in: "create s hash:net\nadd s 1.2.3.4/8\n", wantErr: `line 2: element "1.2.3.4/8" is not a masked prefix`},
		{name: "bad timeout", set: "s", in: "add s 1.2.3.4 timeout -1\n", wantErr: `timeout "-1"`},
		{name: "open quote", set: "s", in: "add s 1.2.3.4 comment \"x\n", wantErr: "unterminated quote"},
		{name: "missing value", set: "s", in: "create s hash:net maxelem\n", wantErr: "maxelem has no value"},
		{name: "unknown command", set: "s", in: "flush s x\n", wantErr: `unknown command "flush"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSave([]byte(tt.in), tt.set, t0)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(setState{}), prefixEq); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func mustRead(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDesiredRefuses(t *testing.T) {
	tests := []struct {
		name    string
		p       netip.Prefix
		wantErr string
	}{
		{"invalid", netip.Prefix{}, "invalid prefix"},
		{"mapped", netip.MustParsePrefix("::ffff:1.2.3.4/128"), "IPv4-mapped"},
		{"host bits", netip.MustParsePrefix("10.1.2.3/8"), `want "10.0.0.0/8"`},
		{"zero bits", netip.MustParsePrefix("0.0.0.0/0"), "whole address family"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := desired([]enforce.Entry{{Prefix: netip.MustParsePrefix("1.2.3.4/32")}, {Prefix: tt.p}}, t0)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "entry 1") {
				t.Errorf("error %v, want one naming entry 1 and containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestSizes(t *testing.T) {
	tests := []struct{ n, hash, max int }{
		{0, 1024, 65536}, {1000, 1024, 65536}, {32768, 16384, 65536}, {32769, 32768, 131072},
		{100000, 65536, 262144}, {1000000, 524288, 2097152},
	}
	for _, tt := range tests {
		if h, m := hashSize(tt.n), maxElem(tt.n); h != tt.hash || m != tt.max {
			t.Errorf("n=%d: hashsize %d maxelem %d, want %d %d", tt.n, h, m, tt.hash, tt.max)
		}
	}
}

// TestPlanGolden pins the restore stream: a new v4 set written in place,
// a v6 set rebuilt in its temporary set and swapped in, and a capped
// expiry.
func TestPlanGolden(t *testing.T) {
	var p plan
	p.pre = append(p.pre, "destroy rampart6-tmp")
	e, _ := New(Options{})
	p.rebuild(e.fams[0], false, []enforce.Entry{
		{Prefix: netip.MustParsePrefix("198.51.100.0/24"), Expires: t0.Add(90*time.Minute + 500*time.Millisecond)},
		{Prefix: netip.MustParsePrefix("203.0.113.7/32")},
	}, t0)
	p.rebuild(e.fams[1], true, []enforce.Entry{
		{Prefix: netip.MustParsePrefix("2001:db8::/64")},
		{Prefix: netip.MustParsePrefix("2001:db8:1::/48"), Expires: t0.Add(400 * 24 * time.Hour)},
	}, t0)
	got := strings.Join(p.pre, "\n") + "\n" + p.fill.String() + strings.Join(p.swaps, "\n") + "\n"
	if p.capped != 1 {
		t.Errorf("capped %d, want 1", p.capped)
	}
	path := filepath.Join("testdata", "plan.golden")
	goldentest.Check(t, path, []byte(got))
}

// FuzzParseSave: no input makes the parser panic, and what it accepts is
// sorted, masked and free of duplicates.
func FuzzParseSave(f *testing.F) {
	for _, name := range []string{"expiring.save", "plain6.save"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("add rampart4 1.2.3.4 comment \"\" timeout 5\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, set := range []string{Set4Name, Set6Name} {
			s, err := parseSave(b, set, t0)
			if err != nil {
				continue
			}
			for i, en := range s.entries {
				if en.Prefix != en.Prefix.Masked() {
					t.Errorf("unmasked %s", en.Prefix)
				}
				if i > 0 && enforce.ComparePrefix(s.entries[i-1].Prefix, en.Prefix) >= 0 {
					t.Errorf("not sorted or duplicate at %s", en.Prefix)
				}
			}
		}
	})
}
