package server

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/blocklist"
)

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
