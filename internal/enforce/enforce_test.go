package enforce

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var prefixEq = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func e(p string, exp time.Duration) Entry {
	en := Entry{Prefix: netip.MustParsePrefix(p)}
	if exp != 0 {
		en.Expires = now.Add(exp)
	}
	return en
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   []Entry
		opts NormalizeOptions
		want []Entry
	}{
		{"aggregate adjacent", []Entry{e("203.0.113.0/25", 0), e("203.0.113.128/25", 0), e("203.0.113.7/32", 0)}, NormalizeOptions{},
			[]Entry{e("203.0.113.0/24", 0)}},
		{"unmap and mask", []Entry{e("::ffff:198.51.100.7/128", 0), e("198.51.100.9/24", 0)}, NormalizeOptions{},
			[]Entry{e("198.51.100.0/24", 0)}},
		{"widen ipv6", []Entry{e("2001:db8:1:2::17/128", 0), e("2001:db8:1:2::18/128", 0), e("2001:db8:9::/48", 0)}, NormalizeOptions{IPv6Bits: 64},
			[]Entry{e("2001:db8:1:2::/64", 0), e("2001:db8:9::/48", 0)}},
		{"drop expired", []Entry{e("192.0.2.1/32", -time.Second), e("192.0.2.2/32", time.Hour)}, NormalizeOptions{Now: now},
			[]Entry{e("192.0.2.2/32", time.Hour)}},
		{"never block local", []Entry{e("10.0.0.0/7", 0), e("192.0.2.5/32", 0)}, NormalizeOptions{Never: []netip.Prefix{netip.MustParsePrefix("10.40.0.0/24")}},
			[]Entry{e("10.0.0.0/8", 0)}[:0:0]},
		{"longest expiry wins", []Entry{e("192.0.2.0/24", time.Hour), e("192.0.2.0/25", 0), e("192.0.2.200/32", 2*time.Hour)}, NormalizeOptions{},
			[]Entry{e("192.0.2.0/25", 0), e("192.0.2.128/26", time.Hour), e("192.0.2.192/29", time.Hour), e("192.0.2.200/32", 2*time.Hour),
				e("192.0.2.201/32", time.Hour), e("192.0.2.202/31", time.Hour), e("192.0.2.204/30", time.Hour), e("192.0.2.208/28", time.Hour), e("192.0.2.224/27", time.Hour)}},
	}
	// "never block local" cuts 10.40.0.0/24 out of 10.0.0.0/7: build its
	// expectation from the pieces.
	tests[4].want = nil
	for _, p := range []string{"10.0.0.0/11", "10.32.0.0/13", "10.40.1.0/24", "10.40.2.0/23", "10.40.4.0/22", "10.40.8.0/21", "10.40.16.0/20", "10.40.32.0/19", "10.40.64.0/18", "10.40.128.0/17", "10.41.0.0/16", "10.42.0.0/15", "10.44.0.0/14", "10.48.0.0/12", "10.64.0.0/10", "10.128.0.0/9", "11.0.0.0/8", "192.0.2.5/32"} {
		tests[4].want = append(tests[4].want, e(p, 0))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Normalize(tt.in, tt.opts)
			if diff := cmp.Diff(tt.want, got, prefixEq); diff != "" {
				t.Errorf("Normalize (-want +got):\n%s", diff)
			}
			if again := Normalize(got, tt.opts); !cmp.Equal(again, got, prefixEq) {
				t.Errorf("Normalize is not idempotent: %v", again)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	applied := []Entry{e("192.0.2.1/32", 0), e("192.0.2.2/32", time.Hour), e("192.0.2.3/32", 0)}
	desired := []Entry{e("192.0.2.1/32", 0), e("192.0.2.2/32", 2*time.Hour), e("192.0.2.4/32", 0)}
	add, remove, kept := Diff(desired, applied)
	if kept != 1 || !cmp.Equal(add, []Entry{e("192.0.2.2/32", 2*time.Hour), e("192.0.2.4/32", 0)}, prefixEq) ||
		!cmp.Equal(remove, []Entry{e("192.0.2.2/32", time.Hour), e("192.0.2.3/32", 0)}, prefixEq) {
		t.Errorf("Diff = %v, %v, %d", add, remove, kept)
	}
}

func TestUnexpiring(t *testing.T) {
	// Apart while their expiries differ, one /24 once expiries are gone.
	set := Normalize([]Entry{e("192.0.2.0/25", time.Hour), e("192.0.2.128/25", 2*time.Hour), e("198.51.100.1/32", -time.Minute)}, NormalizeOptions{})
	got, err := Unexpiring(set, now)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Entry{e("192.0.2.0/24", 0)}, got, prefixEq); diff != "" {
		t.Errorf("Unexpiring (-want +got):\n%s", diff)
	}
	if ps := Prefixes(got); len(ps) != 1 || ps[0].String() != "192.0.2.0/24" {
		t.Errorf("Prefixes = %v", ps)
	}
	if _, err := Unexpiring([]Entry{e("192.0.2.0/24", 0), {}}, now); err == nil || err.Error() != `entry 1: invalid prefix "invalid Prefix"` {
		t.Errorf("invalid entry: %v", err)
	}
}
