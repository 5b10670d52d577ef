package serverdb

import (
	"crypto/sha256"
	"errors"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/blocklist"
	"github.com/rampart-ids/rampart/internal/testenv"
)

var t0 = time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC)

// engines runs fn against a fresh SQLite file and a fresh PostgreSQL
// database.
func engines(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, filepath.Join(t.TempDir(), "state.db")) })
	t.Run("postgres", func(t *testing.T) { fn(t, testenv.Postgres(t)) })
}

func open(t *testing.T, dsn string) *DB {
	t.Helper()
	d, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func ban(value string, expires time.Time) api.Decision {
	return api.Decision{Value: netip.MustParsePrefix(value), Origin: "manual", Reason: "test", Author: "admin", Expires: expires}
}

func TestTokens(t *testing.T) {
	engines(t, func(t *testing.T, dsn string) {
		d := open(t, dsn)
		ctx := t.Context()
		h := sha256.Sum256([]byte("rpt_secret"))
		tok, err := d.CreateToken(ctx, "fe01", api.RoleAgent, h[:], t0)
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.TokenByHash(ctx, h[:])
		if err != nil || got.ID != tok.ID || got.Role != api.RoleAgent || got.Name != "fe01" {
			t.Fatalf("TokenByHash = %+v, %v", got, err)
		}
		other := sha256.Sum256([]byte("rpt_other"))
		if _, err := d.TokenByHash(ctx, other[:]); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown token: %v", err)
		}
		if _, err := d.CreateToken(ctx, "dup", api.RoleAdmin, h[:], t0); err == nil {
			t.Error("two tokens with one digest")
		}
		if err := d.RevokeToken(ctx, tok.ID, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := d.TokenByHash(ctx, h[:]); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoked token still valid: %v", err)
		}
		list, err := d.Tokens(ctx)
		if err != nil || len(list) != 1 || !list[0].Revoked.Equal(t0.Add(time.Hour)) {
			t.Errorf("Tokens = %+v, %v", list, err)
		}
		if err := d.RevokeToken(ctx, 999, t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("revoke unknown: %v", err)
		}
	})
}

func TestListVersions(t *testing.T) {
	engines(t, func(t *testing.T, dsn string) {
		d := open(t, dsn)
		ctx := t.Context()
		// Version 1: two bans.
		ds, v1, err := d.AddDecisions(ctx, []api.Decision{ban("203.0.113.7/32", t0.Add(time.Hour)), ban("::ffff:198.51.100.0/120", time.Time{})}, t0)
		if err != nil || v1 != 1 || len(ds) != 2 || ds[1].Value != netip.MustParsePrefix("198.51.100.0/24") {
			t.Fatalf("AddDecisions = %+v, %d, %v", ds, v1, err)
		}
		// A shorter ban of the same address changes nothing: same version.
		_, v, err := d.AddDecisions(ctx, []api.Decision{ban("203.0.113.7/32", t0.Add(time.Minute))}, t0)
		if err != nil || v != 1 {
			t.Fatalf("shorter ban: version %d, %v; want 1", v, err)
		}
		// A longer one re-times the entry: version 2.
		_, v2, err := d.AddDecisions(ctx, []api.Decision{ban("203.0.113.7/32", t0.Add(3*time.Hour))}, t0)
		if err != nil || v2 != 2 {
			t.Fatalf("longer ban: version %d, %v; want 2", v2, err)
		}
		l, err := d.List(ctx)
		if err != nil || l.Version != 2 || len(l.Entries) != 2 || !l.Entries[1].Expires.Equal(t0.Add(3*time.Hour)) {
			t.Fatalf("List = %+v, %v", l, err)
		}
		// Deleting the longest ban falls back to the next longest active.
		all, err := d.Decisions(ctx, DecisionFilter{Contains: netip.MustParseAddr("203.0.113.7"), Active: true, Now: t0})
		if err != nil || len(all) != 3 {
			t.Fatalf("Decisions(contains) = %d, %v; want 3", len(all), err)
		}
		v3, err := d.DeleteDecision(ctx, all[0].ID, t0.Add(time.Second))
		if err != nil || v3 != 3 {
			t.Fatalf("DeleteDecision: %d, %v", v3, err)
		}
		l3, _ := d.List(ctx)
		if !l3.Entries[1].Expires.Equal(t0.Add(time.Hour)) {
			t.Errorf("after deleting the 3 h ban: %+v, want the 1 h one", l3.Entries[1])
		}
		// Deltas: from 1 to 3, from 0, from the future.
		delta, err := d.ChangesSince(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		l1 := blocklist.List{Version: 1, Entries: mustCanon(t, blocklist.Entry{Prefix: netip.MustParsePrefix("198.51.100.0/24")}, blocklist.Entry{Prefix: netip.MustParsePrefix("203.0.113.7/32"), Expires: t0.Add(time.Hour)})}
		got, err := delta.Apply(l1)
		if err != nil || len(got.Entries) != 2 || got.Version != 3 || !got.Entries[1].Expires.Equal(t0.Add(time.Hour)) {
			t.Errorf("delta 1→3 applied = %+v, %v", got, err)
		}
		if _, err := d.ChangesSince(ctx, 9); !errors.Is(err, ErrFullListNeeded) {
			t.Errorf("future version: %v", err)
		}
		// Expiry: after 1 h the entry expires; Compact removes it in a new
		// version, and after the retention old changes are forgotten.
		v4, err := d.Compact(ctx, t0.Add(time.Hour+time.Minute))
		if err != nil || v4 != 4 {
			t.Fatalf("Compact = %d, %v", v4, err)
		}
		l4, _ := d.List(ctx)
		if len(l4.Entries) != 1 {
			t.Errorf("after compaction: %+v", l4.Entries)
		}
		if _, err := d.Compact(ctx, t0.Add(8*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := d.ChangesSince(ctx, 1); !errors.Is(err, ErrFullListNeeded) {
			t.Errorf("delta from a forgotten version: %v", err)
		}
		if dl, err := d.ChangesSince(ctx, 4); err != nil || dl.Changes() != 0 {
			t.Errorf("delta from the current version: %+v, %v", dl, err)
		}
	})
}

func mustCanon(t *testing.T, es ...blocklist.Entry) []blocklist.Entry {
	t.Helper()
	out, err := blocklist.Canon(es)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Concurrent writers (two replicas on PostgreSQL, goroutines on SQLite)
// never hand out one version twice and lose no change.
func TestConcurrentVersions(t *testing.T) {
	engines(t, func(t *testing.T, dsn string) {
		a, b := open(t, dsn), open(t, dsn)
		ctx := t.Context()
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 40 {
			db := a
			if i%2 == 1 {
				db = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p := netip.PrefixFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}), 32)
				_, _, err := db.AddDecisions(ctx, []api.Decision{{Value: p, Origin: "policy", Reason: "x"}}, t0)
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		l, err := b.List(ctx)
		if err != nil || l.Version != 40 || len(l.Entries) != 40 {
			t.Fatalf("after 40 concurrent bans: version %d, %d entries, %v", l.Version, len(l.Entries), err)
		}
		dl, err := a.ChangesSince(ctx, 0)
		if err != nil || len(dl.Added) != 40 {
			t.Errorf("delta from 0: %d added, %v", len(dl.Added), err)
		}
	})
}

func TestSignalsIdempotent(t *testing.T) {
	engines(t, func(t *testing.T, dsn string) {
		d := open(t, dsn)
		ctx := t.Context()
		s := api.Signal{Key: "mgr:1732690800.1", Source: netip.MustParseAddr("203.0.113.7"), Time: t0, Rule: 5710, Level: 5, Groups: []string{"sshd", "authentication_failed"}, Log: "Failed password"}
		s2 := s
		s2.Key = "mgr:1732690800.2"
		fresh, err := d.AddSignals(ctx, "mgr", []api.Signal{s, s2}, t0)
		if err != nil || len(fresh) != 2 {
			t.Fatalf("AddSignals = %d, %v", len(fresh), err)
		}
		fresh, err = d.AddSignals(ctx, "mgr", []api.Signal{s2, s}, t0)
		if err != nil || len(fresh) != 0 {
			t.Fatalf("retry stored %d again, %v", len(fresh), err)
		}
		var got []api.Signal
		if err := d.SignalsSince(ctx, t0, func(_ string, s api.Signal) error { got = append(got, s); return nil }); err != nil || len(got) != 2 || len(got[0].Groups) != 2 {
			t.Fatalf("SignalsSince = %+v, %v", got, err)
		}
	})
}

func TestPolicyBansAndAgents(t *testing.T) {
	engines(t, func(t *testing.T, dsn string) {
		d := open(t, dsn)
		ctx := t.Context()
		src := netip.MustParseAddr("203.0.113.7")
		pb := ban("203.0.113.7/32", t0.Add(time.Hour))
		pb.Origin = "policy"
		if _, _, err := d.AddDecisions(ctx, []api.Decision{pb, ban("203.0.113.7/32", time.Time{})}, t0); err != nil {
			t.Fatal(err)
		}
		bans, err := d.PolicyBans(ctx, src, t0.Add(-time.Hour))
		if err != nil || len(bans) != 1 || bans[0].Origin != "policy" {
			t.Fatalf("PolicyBans = %+v, %v", bans, err)
		}
		r := api.AgentReport{Name: "fe01", Applied: 3, Backends: []string{"nft"}, Entries: 10, ApplyMillis: 1.5}
		if err := d.ReportAgent(ctx, 1, r, t0); err != nil {
			t.Fatal(err)
		}
		if err := d.SeeAgent(ctx, 1, "fe01", 4, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		as, err := d.Agents(ctx)
		if err != nil || len(as) != 1 || as[0].Applied != 4 || as[0].Entries != 10 || as[0].Backends[0] != "nft" {
			t.Fatalf("Agents = %+v, %v", as, err)
		}
		if lp, err := d.LastPull(ctx, 1, "198.51.100.1"); err != nil || !lp.IsZero() {
			t.Errorf("LastPull before any = %v, %v", lp, err)
		}
		if err := d.SetLastPull(ctx, 1, "198.51.100.1", t0); err != nil {
			t.Fatal(err)
		}
		if lp, err := d.LastPull(ctx, 1, "198.51.100.2"); err != nil || !lp.IsZero() {
			t.Errorf("LastPull of another host with the same key = %v, %v; want its own, zero", lp, err)
		}
		if lp, err := d.LastPull(ctx, 1, "198.51.100.1"); err != nil || !lp.Equal(t0) {
			t.Errorf("LastPull = %v, %v", lp, err)
		}
	})
}
