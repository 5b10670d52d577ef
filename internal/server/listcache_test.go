package server

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/blocklist"
)

// applySorted gives what blocklist.Delta.Apply gives: new, re-timed and
// removed prefixes, removals of prefixes the list does not hold, IPv4 and
// IPv6, empty lists and deltas.
func TestApplySorted(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC)
	prefix := func() netip.Prefix {
		if r.IntN(4) == 0 {
			a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(r.IntN(8))})
			return netip.PrefixFrom(a, 120+r.IntN(9)).Masked()
		}
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(r.IntN(64))}), 28+r.IntN(5)).Masked()
	}
	expiry := func() time.Time {
		if r.IntN(5) == 0 {
			return time.Time{}
		}
		return t0.Add(time.Duration(r.IntN(100)) * time.Minute)
	}
	for round := range 500 {
		var es []blocklist.Entry
		seen := map[netip.Prefix]bool{}
		for range r.IntN(40) {
			if p := prefix(); !seen[p] {
				seen[p] = true
				es = append(es, blocklist.Entry{Prefix: p, Expires: expiry()})
			}
		}
		entries, err := blocklist.Canon(es)
		if err != nil {
			t.Fatal(err)
		}
		l := blocklist.List{Version: 7, Generated: t0, Entries: entries}
		d := blocklist.Delta{From: 7, To: 9, Generated: t0.Add(time.Minute)}
		touched := map[netip.Prefix]bool{}
		for range r.IntN(12) {
			p := prefix()
			if touched[p] {
				continue
			}
			touched[p] = true
			if r.IntN(2) == 0 {
				d.Added = append(d.Added, blocklist.Entry{Prefix: p, Expires: expiry()})
			} else {
				d.Removed = append(d.Removed, p)
			}
		}
		want, err := d.Apply(l)
		if err != nil {
			t.Fatal(err)
		}
		got := applySorted(l, d)
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
			t.Fatalf("round %d: applySorted differs from Apply (-want +got):\n%s", round, diff)
		}
	}
}

// The cached list, brought forward by deltas, is the list the database
// holds: after bans, a re-timed ban, a deletion and a compaction.
func TestListCacheFollowsDatabase(t *testing.T) {
	f := newFixture(t)
	get := func() blocklist.List {
		t.Helper()
		_, body := f.do("GET", "/v1/blocklist?format=txt", f.agent, nil)
		l, err := f.pub.VerifyList(body)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	same := func(step string) {
		t.Helper()
		got := get()
		want, err := f.srv.db.List(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != want.Version || !cmp.Equal(got.Entries, want.Entries, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })) {
			t.Errorf("%s: served v%d %v, database v%d %v", step, got.Version, got.Entries, want.Version, want.Entries)
		}
	}
	f.ban("203.0.113.7", "1h")
	same("first list")
	x := f.ban("203.0.113.8", "1h")
	f.ban("198.51.100.0/24", "2h")
	same("two bans")
	f.ban("203.0.113.7", "3h")
	same("a re-timed ban")
	f.unban(x.ID)
	same("a deletion")
	f.advance(90 * time.Minute)
	v, err := f.srv.db.Compact(t.Context(), f.clock())
	if err != nil {
		t.Fatal(err)
	}
	f.srv.listChanged(v)
	same("a compaction")
	if l := get(); len(l.Entries) != 2 {
		t.Errorf("after compaction: %v", l.Entries)
	}
}
