package serverdb

import (
	"net/netip"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
)

func TestFeedQueries(t *testing.T) {
	engines(t, func(t *testing.T, dsn string) {
		d := open(t, dsn)
		ctx := t.Context()
		fed := ban("203.0.113.9/32", t0.Add(time.Hour))
		fed.Origin = "federation"
		list := ban("203.0.113.10/32", t0.Add(time.Hour))
		list.Origin = "list"
		policy := ban("203.0.113.7/32", t0.Add(time.Hour))
		policy.Origin = "policy"
		longer := ban("203.0.113.7/32", t0.Add(3*time.Hour))
		expired := ban("203.0.113.8/32", t0.Add(-time.Minute))
		if _, _, err := d.AddDecisions(ctx, []api.Decision{fed, list, policy, longer, expired, ban("2001:db8::/48", time.Time{})}, t0.Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		bans, err := d.FeedBans(ctx, t0)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]time.Time{}
		for _, b := range bans {
			got[b.Prefix.String()] = b.Expires
		}
		if len(got) != 2 || !got["203.0.113.7/32"].Equal(t0.Add(3*time.Hour)) || !got["2001:db8::/48"].IsZero() {
			t.Errorf("feed bans: %+v", bans)
		}

		mark, err := d.SignalMark(ctx)
		if err != nil || mark != 0 {
			t.Errorf("mark of no signals: %d %v", mark, err)
		}
		src := netip.MustParseAddr("198.51.100.1")
		sigs := []api.Signal{
			{Key: "a", Source: src, Time: t0.Add(-2 * time.Hour), Rule: 5710, Level: 5, Groups: []string{"sshd"}},
			{Key: "b", Source: src, Time: t0.Add(-time.Minute), Rule: 5710, Level: 5, Groups: []string{"sshd", "authentication_failed"}, Agent: "web1"},
			{Key: "c", Source: src, Time: t0, Rule: 5712, Level: 10, Groups: []string{"sshd", "authentication_failed"}},
			{Key: "d", Source: netip.MustParseAddr("2001:db8::7"), Time: t0, Rule: 31101, Level: 3},
		}
		if _, err := d.AddSignals(ctx, "mgr", sigs, t0); err != nil {
			t.Fatal(err)
		}
		sums, err := d.SignalSummaries(ctx, t0.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(sums) != 2 {
			t.Fatalf("summaries: %+v", sums)
		}
		for _, s := range sums {
			if s.Source != src {
				continue
			}
			if s.Alerts != 2 || s.Levels[5] != 1 || s.Levels[10] != 1 || s.Groups["sshd"] != 2 || s.Groups["authentication_failed"] != 2 ||
				!s.First.Equal(t0.Add(-time.Minute)) || !s.Last.Equal(t0) {
				t.Errorf("summary: %+v", s)
			}
		}
		if mark, err := d.SignalMark(ctx); err != nil || mark != t0.Unix() {
			t.Errorf("mark: %d %v", mark, err)
		}
	})
}
