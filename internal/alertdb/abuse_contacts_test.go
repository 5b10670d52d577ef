package alertdb

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go4.org/netipx"

	"github.com/rampart-ids/rampart/internal/abuse"
)

func TestAbuseContacts(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "rampart.db")
	s := openTest(t, path)
	now := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	p := netip.MustParsePrefix
	a := netip.MustParseAddr

	contact := func(addr, email string, rng ...string) abuse.Contact {
		c := abuse.Contact{Addr: a(addr), Source: "rdap", Server: "https://rdap.example/ip/" + addr, Fetched: now, Registry: "RIPE"}
		if email != "" {
			c.Emails = []string{email}
		}
		for _, r := range rng {
			c.Range = append(c.Range, p(r))
		}
		return c
	}
	wide := contact("192.0.2.10", "wide@example.org", "192.0.2.0/24")
	narrow := contact("192.0.2.130", "narrow@example.org", "192.0.2.128/26")
	negative := contact("192.0.2.200", "")
	v6 := contact("2001:db8::1", "v6@example.org", "2001:db8::/32")
	// Not one CIDR, not one contiguous range: two rows.
	split := contact("198.51.100.1", "split@example.org", "198.51.100.0/28", "198.51.100.64/28")
	week := now.Add(7 * 24 * time.Hour)
	puts := []struct {
		c       abuse.Contact
		covers  []netip.Prefix
		expires time.Time
	}{
		{wide, wide.Range, week},
		{narrow, narrow.Range, week},
		{negative, nil, now.Add(time.Hour)},
		{v6, v6.Range, week},
		{split, split.Range, week},
	}
	for _, pt := range puts {
		if err := s.PutAbuseContact(ctx, pt.c, pt.covers, pt.expires); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name   string
		addr   string
		at     time.Time
		want   *abuse.Contact
		wantRg string
	}{
		{"the address looked up", "192.0.2.10", now, &wide, "192.0.2.0-192.0.2.255"},
		{"another address of the range", "192.0.2.1", now, &wide, "192.0.2.0-192.0.2.255"},
		{"the more specific range wins", "192.0.2.129", now, &narrow, "192.0.2.128-192.0.2.191"},
		{"a negative answer covers its address", "192.0.2.200", now, &negative, "192.0.2.200-192.0.2.200"},
		{"a negative answer does not cover its neighbour", "192.0.2.201", now, &wide, "192.0.2.0-192.0.2.255"},
		{"negative expired, the range answers", "192.0.2.200", now.Add(2 * time.Hour), &wide, "192.0.2.0-192.0.2.255"},
		{"outside every range", "192.0.3.1", now, nil, ""},
		{"all expired", "192.0.2.10", week, nil, ""},
		{"v4-mapped is IPv4", "::ffff:192.0.2.7", now, &wide, "192.0.2.0-192.0.2.255"},
		{"v6", "2001:db8:ffff::1", now, &v6, "2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"},
		// 32.1.13.184 is 0x20010db8, the bytes 2001:db8:: starts with.
		{"families never mix", "32.1.13.184", now, nil, ""},
		{"split: first part", "198.51.100.15", now, &split, "198.51.100.0-198.51.100.15"},
		{"split: second part", "198.51.100.64", now, &split, "198.51.100.64-198.51.100.79"},
		{"split: the gap", "198.51.100.32", now, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found, err := s.AbuseContact(ctx, a(tt.addr), tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if found {
					t.Fatalf("found %+v, want nothing", got)
				}
				return
			}
			if !found {
				t.Fatal("not found")
			}
			if diff := cmp.Diff(*tt.want, got.Contact, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
				cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
			if got.Range.String() != tt.wantRg {
				t.Errorf("range %v, want %s", got.Range, tt.wantRg)
			}
		})
	}

	// Caching the same range again replaces the entry.
	renewed := wide
	renewed.Emails = []string{"new@example.org"}
	if err := s.PutAbuseContact(ctx, renewed, renewed.Range, week.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.AbuseContact(ctx, a("192.0.2.3"), week); got.Contact.Emails[0] != "new@example.org" || !got.Expires.Equal(week.Add(time.Hour)) {
		t.Errorf("after replacing: %+v", got)
	}

	// Prune removes what expired; the rest survives a reopen.
	n, err := s.PruneAbuseContacts(ctx, now.Add(2*time.Hour))
	if err != nil || n != 1 {
		t.Errorf("PruneAbuseContacts = %d, %v; want 1 (the negative answer)", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTest(t, path)
	if _, found, err := s2.AbuseContact(ctx, a("2001:db8::5"), now); err != nil || !found {
		t.Errorf("after reopen: found %v, %v", found, err)
	}
}

func TestPutAbuseContactRejects(t *testing.T) {
	s := openTest(t, "")
	if err := s.PutAbuseContact(t.Context(), abuse.Contact{}, nil, time.Now()); err == nil {
		t.Error("accepted a contact without address or range")
	}
	if err := s.PutAbuseContact(t.Context(), abuse.Contact{Addr: netip.MustParseAddr("192.0.2.1")}, []netip.Prefix{{}}, time.Now()); err == nil {
		t.Error("accepted an invalid prefix")
	}
	// A v4-mapped range is stored as IPv4.
	c := abuse.Contact{Addr: netip.MustParseAddr("192.0.2.1"), Emails: []string{"a@example.org"}}
	if err := s.PutAbuseContact(t.Context(), c, []netip.Prefix{netip.MustParsePrefix("::ffff:192.0.2.0/120")}, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	e, found, err := s.AbuseContact(t.Context(), netip.MustParseAddr("192.0.2.77"), time.Now())
	if err != nil || !found || e.Range != netipx.IPRangeFrom(netip.MustParseAddr("192.0.2.0"), netip.MustParseAddr("192.0.2.255")) {
		t.Errorf("v4-mapped range: %+v, %v, %v", e, found, err)
	}
}
