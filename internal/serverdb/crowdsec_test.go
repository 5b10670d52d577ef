package serverdb

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/api"
)

// bouncerFixture stores decisions of every kind and returns their ids by
// name:
//
//	a1, a2   203.0.113.1   two bans, 1 h (t0) and 2 h (t0+10s)
//	b        203.0.113.2   expired at t0+30s
//	c        198.51.100.0/24 permanent (t0)
//	d        203.0.113.3   deleted at t0+40s
//	e        203.0.113.4   expired 29 days before t0
func bouncerFixture(t *testing.T, d *DB) map[string]int64 {
	t.Helper()
	ctx := t.Context()
	ids := map[string]int64{}
	add := func(name string, at time.Time, dec api.Decision) {
		t.Helper()
		out, _, err := d.AddDecisions(ctx, []api.Decision{dec}, at)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = out[0].ID
	}
	add("e", t0.Add(-30*24*time.Hour), ban("203.0.113.4/32", t0.Add(-29*24*time.Hour)))
	add("a1", t0, ban("203.0.113.1/32", t0.Add(time.Hour)))
	add("c", t0, ban("198.51.100.0/24", time.Time{}))
	add("b", t0, ban("203.0.113.2/32", t0.Add(30*time.Second)))
	add("d", t0, ban("203.0.113.3/32", t0.Add(time.Hour)))
	policy := ban("203.0.113.1/32", t0.Add(10*time.Second+2*time.Hour))
	policy.Origin, policy.Rule = "policy", "ssh"
	add("a2", t0.Add(10*time.Second), policy)
	if _, err := d.DeleteDecision(ctx, ids["d"], t0.Add(40*time.Second)); err != nil {
		t.Fatal(err)
	}
	return ids
}

// groups reads a selection into value → ids, checking that each value
// comes in one call.
func groups(t *testing.T, d *DB, sel BouncerSelection) map[string][]int64 {
	t.Helper()
	got := map[string][]int64{}
	err := d.BouncerGroups(t.Context(), sel, func(g []BouncerDecision) error {
		v := g[0].Value.String()
		if _, ok := got[v]; ok {
			t.Errorf("value %s in two calls", v)
		}
		for _, b := range g {
			if b.Value != g[0].Value {
				t.Errorf("group of %s holds %s", v, b.Value)
			}
			got[v] = append(got[v], b.ID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestBouncerGroups(t *testing.T) {
	engines(t, func(t *testing.T, dsn string) {
		d := open(t, dsn)
		id := bouncerFixture(t, d)
		now := t0.Add(time.Minute)
		for _, tt := range []struct {
			name string
			sel  BouncerSelection
			want map[string][]int64
		}{
			{"active", BouncerSelection{Kind: BouncerActive, Now: now}, map[string][]int64{
				"198.51.100.0/24": {id["c"]}, "203.0.113.1/32": {id["a1"], id["a2"]},
			}},
			{"active at t0+1h30m", BouncerSelection{Kind: BouncerActive, Now: t0.Add(90 * time.Minute)}, map[string][]int64{
				"198.51.100.0/24": {id["c"]}, "203.0.113.1/32": {id["a2"]},
			}},
			// d was deleted before its expiry; b only expired.
			{"unbanned", BouncerSelection{Kind: BouncerUnbanned, Now: now}, map[string][]int64{
				"203.0.113.3/32": {id["d"]},
			}},
			{"unbanned after d's expiry", BouncerSelection{Kind: BouncerUnbanned, Now: t0.Add(2 * time.Hour)}, map[string][]int64{}},
			{"ended since t0", BouncerSelection{Kind: BouncerEnded, Now: now, EndedSince: t0}, map[string][]int64{
				"203.0.113.2/32": {id["b"]}, "203.0.113.3/32": {id["d"]},
			}},
			{"ended since 30 days", BouncerSelection{Kind: BouncerEnded, Now: now, EndedSince: t0.Add(-30 * 24 * time.Hour)}, map[string][]int64{
				"203.0.113.2/32": {id["b"]}, "203.0.113.3/32": {id["d"]}, "203.0.113.4/32": {id["e"]},
			}},
			// Only d's deletion is newer than t0+35s.
			{"ended since t0+35s", BouncerSelection{Kind: BouncerEnded, Now: now, EndedSince: t0.Add(35 * time.Second)}, map[string][]int64{
				"203.0.113.3/32": {id["d"]},
			}},
			// Created since t0+5s: a2, so the whole group of .1; and
			// d, deleted; not b, which only expired, nor c.
			{"new since t0+5s", BouncerSelection{Kind: BouncerNew, Now: now, Since: t0.Add(5 * time.Second), EndedSince: t0.Add(5 * time.Second)}, map[string][]int64{
				"203.0.113.1/32": {id["a1"], id["a2"]}, "203.0.113.3/32": {id["d"]},
			}},
			// a1 ended at t0+1h: out of .1's group from then.
			{"new since t0 at t0+90m", BouncerSelection{Kind: BouncerNew, Now: t0.Add(90 * time.Minute), Since: t0.Add(5 * time.Second), EndedSince: t0.Add(80 * time.Minute)}, map[string][]int64{
				"203.0.113.1/32": {id["a2"]},
			}},
			{"new since now", BouncerSelection{Kind: BouncerNew, Now: now, Since: now, EndedSince: now}, map[string][]int64{}},
			{"ended since now", BouncerSelection{Kind: BouncerEnded, Now: now, EndedSince: now}, map[string][]int64{}},
		} {
			// Pages of one and two rows cut groups and must not
			// change the answer.
			for _, rows := range []int{0, 1, 2} {
				tt.sel.PageRows = rows
				if diff := cmp.Diff(tt.want, groups(t, d, tt.sel)); diff != "" {
					t.Errorf("%s, pages of %d rows (-want +got):\n%s", tt.name, rows, diff)
				}
			}
		}
	})
}

func TestBouncerDecisionFields(t *testing.T) {
	engines(t, func(t *testing.T, dsn string) {
		d := open(t, dsn)
		id := bouncerFixture(t, d)
		var got []BouncerDecision
		err := d.BouncerGroups(t.Context(), BouncerSelection{Kind: BouncerNew, Now: t0.Add(time.Minute), Since: t0, EndedSince: t0}, func(g []BouncerDecision) error {
			got = append(got, g...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		byID := map[int64]BouncerDecision{}
		for _, b := range got {
			byID[b.ID] = b
		}
		want := BouncerDecision{ID: id["d"], Value: netip.MustParsePrefix("203.0.113.3/32"), Origin: "manual",
			Created: t0, Expires: t0.Add(time.Hour), Deleted: t0.Add(40 * time.Second)}
		if diff := cmp.Diff(want, byID[id["d"]], cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
			t.Errorf("deleted decision (-want +got):\n%s", diff)
		}
		if a2 := byID[id["a2"]]; a2.Origin != "policy" || a2.Rule != "ssh" || !a2.Created.Equal(t0.Add(10*time.Second)) {
			t.Errorf("policy decision = %+v", a2)
		}
		for _, tt := range []struct {
			name   string
			b      BouncerDecision
			active bool
			end    time.Time
			ok     bool
		}{
			{"deleted", byID[id["d"]], false, t0.Add(40 * time.Second), true},
			{"expired", byID[id["b"]], false, t0.Add(30 * time.Second), true},
			{"permanent", byID[id["c"]], true, time.Time{}, false},
			{"running", byID[id["a1"]], true, t0.Add(time.Hour), true},
			{"deleted after it expired", BouncerDecision{Expires: t0, Deleted: t0.Add(time.Hour)}, false, t0, true},
			{"permanent, deleted", BouncerDecision{Deleted: t0}, false, t0, true},
		} {
			end, ok := tt.b.End()
			if tt.b.Active(t0.Add(time.Minute)) != tt.active || !end.Equal(tt.end) || ok != tt.ok {
				t.Errorf("%s: Active = %v, End = %v %v; want %v, %v %v", tt.name, tt.b.Active(t0.Add(time.Minute)), end, ok, tt.active, tt.end, tt.ok)
			}
		}
	})
}

func TestBouncerContaining(t *testing.T) {
	engines(t, func(t *testing.T, dsn string) {
		d := open(t, dsn)
		id := bouncerFixture(t, d)
		v6, _, err := d.AddDecisions(t.Context(), []api.Decision{ban("2001:db8:1::/48", t0.Add(time.Hour))}, t0)
		if err != nil {
			t.Fatal(err)
		}
		now := t0.Add(time.Minute)
		for _, tt := range []struct {
			query string
			want  []int64
		}{
			{"203.0.113.1/32", []int64{id["a1"], id["a2"]}},
			{"198.51.100.77/32", []int64{id["c"]}},
			{"198.51.100.0/25", []int64{id["c"]}},
			{"198.51.0.0/16", nil},                        // wider than the ban
			{"203.0.113.3/32", nil},                       // deleted
			{"203.0.113.2/32", nil},                       // expired
			{"::ffff:198.51.100.9/128", []int64{id["c"]}}, // mapped
			{"2001:db8:1:2::5/128", []int64{v6[0].ID}},
			{"2001:db8::/32", nil},
		} {
			got, err := d.BouncerContaining(t.Context(), netip.MustParsePrefix(tt.query), now)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, b := range got {
				ids = append(ids, b.ID)
			}
			if diff := cmp.Diff(tt.want, ids); diff != "" {
				t.Errorf("containing %s (-want +got):\n%s", tt.query, diff)
			}
		}
	})
}
