package guard

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/enforce"
)

func entries(ss ...string) []enforce.Entry {
	out := make([]enforce.Entry, len(ss))
	for i, s := range ss {
		p, err := enforce.ParseEntry(s)
		if err != nil {
			panic(err) // test data
		}
		out[i] = enforce.Entry{Prefix: p}
	}
	return out
}

func TestViolations(t *testing.T) {
	gw := Protected{netip.MustParsePrefix("192.0.2.1/32"), "default gateway (eth0)"}
	ssh := Protected{netip.MustParsePrefix("198.51.100.7/32"), "ssh session from 198.51.100.7:51234"}
	ssh6 := Protected{netip.MustParsePrefix("2001:db8:ffff::99/128"), "ssh session from [2001:db8:ffff::99]:40001"}
	mgmt := Protected{netip.MustParsePrefix("203.0.113.0/25"), "management network"}
	all := []Protected{gw, ssh, ssh6, mgmt}
	tests := []struct {
		name string
		set  []enforce.Entry
		want []string
	}{
		{"entry is the gateway", entries("192.0.2.1"), []string{"192.0.2.1/32 covers 192.0.2.1 (default gateway (eth0))"}},
		{"prefix covers the gateway", entries("192.0.2.0/24"), []string{"192.0.2.0/24 covers 192.0.2.1 (default gateway (eth0))"}},
		{"a /16 covers an ssh client", entries("10.0.0.1", "198.51.0.0/16", "203.0.114.0/24"), []string{"198.51.0.0/16 covers 198.51.100.7 (ssh session from 198.51.100.7:51234)"}},
		{"ipv6 /64 covers an ssh client", entries("2001:db8:ffff::/64"), []string{"2001:db8:ffff::/64 covers 2001:db8:ffff::99 (ssh session from [2001:db8:ffff::99]:40001)"}},
		{"mapped entry", entries("::ffff:192.0.2.1"), []string{"192.0.2.1/32 covers 192.0.2.1 (default gateway (eth0))"}},
		{"address inside a management network", entries("203.0.113.5", "203.0.113.200"), []string{"203.0.113.5/32 covers 203.0.113.0/25 (management network)"}},
		{"prefix overlapping a management network", entries("203.0.113.64/26", "203.0.112.0/23"), []string{
			"203.0.112.0/23 covers 203.0.113.0/25 (management network)",
			"203.0.113.64/26 covers 203.0.113.0/25 (management network)",
		}},
		{"everything", entries("0.0.0.0/0", "::/0"), []string{
			"0.0.0.0/0 covers 192.0.2.1 (default gateway (eth0))",
			"0.0.0.0/0 covers 198.51.100.7 (ssh session from 198.51.100.7:51234)",
			"0.0.0.0/0 covers 203.0.113.0/25 (management network)",
			"::/0 covers 2001:db8:ffff::99 (ssh session from [2001:db8:ffff::99]:40001)",
		}},
		{"disjoint", entries("192.0.2.0/32", "192.0.2.2/31", "198.51.100.6", "198.51.100.8/29", "203.0.113.128/25", "2001:db8:fffe::/48", "::ffff:10.0.0.0/104"), nil},
		{"unsorted and duplicated", entries("203.0.113.7", "198.51.100.7", "203.0.113.7"), []string{
			"198.51.100.7/32 covers 198.51.100.7 (ssh session from 198.51.100.7:51234)",
			"203.0.113.7/32 covers 203.0.113.0/25 (management network)",
			"203.0.113.7/32 covers 203.0.113.0/25 (management network)",
		}},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, v := range Violations(tt.set, all) {
				got = append(got, v.String())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Violations (-want +got):\n%s", diff)
			}
			// The index must agree with the obvious pairwise check.
			n := 0
			for _, e := range tt.set {
				for _, p := range all {
					if unmapPrefix(e.Prefix).Overlaps(p.Addr) {
						n++
					}
				}
			}
			if n != len(got) {
				t.Errorf("%d violations, pairwise check finds %d", len(got), n)
			}
		})
	}
}

func TestViolationsKeepEntry(t *testing.T) {
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	set := []enforce.Entry{{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Expires: exp}, {}}
	vs := Violations(set, []Protected{{netip.MustParsePrefix("192.0.2.1/32"), "default gateway"}, {}})
	if len(vs) != 1 || vs[0].Entry != set[0] {
		t.Errorf("Violations = %+v, want the entry as given", vs)
	}
}

func TestLockoutError(t *testing.T) {
	var vs []Violation
	for i := range 12 {
		a := netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
		vs = append(vs, Violation{enforce.Entry{Prefix: netip.PrefixFrom(a, 32)}, Protected{netip.PrefixFrom(a, 32), "dns resolver"}})
	}
	msg := (&LockoutError{vs}).Error()
	lines := strings.Split(msg, "\n")
	if len(lines) != 12 || !strings.Contains(lines[0], "12 conflicts; --force overrides") ||
		lines[1] != "  192.0.2.0/32 covers 192.0.2.0 (dns resolver)" || lines[11] != "  and 2 more" {
		t.Errorf("LockoutError =\n%s", msg)
	}
	if msg := (&LockoutError{vs[:1]}).Error(); strings.Contains(msg, "more") {
		t.Errorf("one violation: %s", msg)
	}
}

func FuzzViolations(f *testing.F) {
	f.Add("192.0.2.0/24\n2001:db8::/32", "192.0.2.1\n2001:db8::1/64")
	f.Add("0.0.0.0/0", "::ffff:192.0.2.1")
	f.Fuzz(func(t *testing.T, list, prot string) {
		set, _, err := enforce.ReadList(strings.NewReader(list), "list", time.Time{})
		if err != nil {
			return
		}
		var ps []Protected
		for _, s := range strings.Split(prot, "\n") {
			if p, err := enforce.ParseEntry(strings.TrimSpace(s)); err == nil {
				ps = append(ps, Protected{p, "x"})
			}
		}
		n := 0
		for _, e := range set {
			for _, p := range ps {
				if e.Prefix.Overlaps(p.Addr) {
					n++
				}
			}
		}
		if got := len(Violations(set, ps)); got != n {
			t.Errorf("Violations found %d, pairwise %d", got, n)
		}
	})
}

// BenchmarkViolations checks a normalised million-entry list against 50
// protected addresses.
func BenchmarkViolations(b *testing.B) {
	raw := make([]enforce.Entry, 0, 1_000_000)
	for i := range 1_000_000 {
		a := netip.AddrFrom4([4]byte{byte(1 + i>>16%200), byte(i >> 8), byte(i), 1})
		raw = append(raw, enforce.Entry{Prefix: netip.PrefixFrom(a, 32)})
	}
	set := enforce.Normalize(raw, enforce.NormalizeOptions{})
	var ps []Protected
	for i := range 50 {
		ps = append(ps, Protected{netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(1 + i), 7, 7, 1}), 32), "ssh"})
	}
	b.ResetTimer()
	for b.Loop() {
		if len(Violations(set, ps)) == 0 {
			b.Fatal("no violations")
		}
	}
}
