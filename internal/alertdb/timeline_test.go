package alertdb

import (
	"cmp"
	"net/netip"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/sample"
)

// sampleAlerts returns the shipped sample's alerts (5,000 over 14 days, every
// trap of package sample) as independent copies, their sources unmapped
// (::ffff:a.b.c.d as a.b.c.d) as every reader delivers them.
func sampleAlerts() []ossec.Alert {
	var out []ossec.Alert
	for a := range sample.Generate(sample.DefaultConfig()).All() {
		c := *a
		c.Log = slices.Clone(a.Log)
		c.SrcIP = c.SrcIP.Unmap()
		out = append(out, c)
	}
	return out
}

func inNets(nets []netip.Prefix, want bool) func(netip.Addr) bool {
	return func(a netip.Addr) bool {
		for _, p := range nets {
			if p.Contains(a) {
				return want
			}
		}
		return !want
	}
}

// around1970 returns generated alerts moved to 1969-12-28 05:03:01 and the
// six days after it.
func around1970() []ossec.Alert {
	alerts := genAll(genConfig{Alerts: 1500, Sources: 60, Days: 6, Seed: 7, NoSource: 0.1, SameSecond: 0.2})
	shift := time.Date(1969, 12, 28, 5, 3, 1, 0, time.UTC).Unix() - alerts[0].Time.Unix()
	for i := range alerts {
		a := &alerts[i]
		a.Time = time.Unix(a.Time.Unix()+shift, 0).UTC()
		a.ID.Epoch = a.Time.Unix()
	}
	return alerts
}

type namedQuery struct {
	name string
	q    analytics.TimelineQuery
}

// timelineSelections covers every way the store selects sources: all alerts,
// a scope with few sources outside (NOT IN), one with few inside (IN), every
// source, a handful looked up day by day, one source, an unknown one.
func timelineSelections(alerts []ossec.Alert) []namedQuery {
	top := wantTop(alerts, analytics.Filter{})
	few := map[netip.Addr]bool{top[0].Addr: true, top[3].Addr: true, top[len(top)-1].Addr: true}
	nets := sample.LocalNetworks()
	return []namedQuery{
		{"all alerts", analytics.TimelineQuery{}},
		{"internet", analytics.TimelineQuery{InScope: inNets(nets, false)}},
		{"local", analytics.TimelineQuery{InScope: inNets(nets, true)}},
		{"every source", analytics.TimelineQuery{InScope: func(netip.Addr) bool { return true }}},
		{"no source", analytics.TimelineQuery{InScope: func(netip.Addr) bool { return false }}},
		{"three sources", analytics.TimelineQuery{InScope: func(a netip.Addr) bool { return few[a] }}},
		{"busiest", analytics.TimelineQuery{Addr: top[0].Addr}},
		{"rare", analytics.TimelineQuery{Addr: top[len(top)-1].Addr}},
		{"unknown", analytics.TimelineQuery{Addr: netip.MustParseAddr("203.0.113.254")}},
	}
}

func wantTimeline(t *testing.T, alerts []ossec.Alert, q analytics.TimelineQuery) []analytics.Bucket {
	t.Helper()
	c := analytics.NewTimelineCounter(q)
	for i := range alerts {
		c.Add(&alerts[i])
	}
	b, err := c.Timeline(q.Filter.Since, q.Filter.Until)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTimelineMatchesAnalytics compares the store's timelines with
// analytics.TimelineCounter over the same alerts: every interval, filter and
// source selection, on the sample and on alerts around 1970-01-01 (whose
// day numbers truncate toward zero in the store).
func TestTimelineMatchesAnalytics(t *testing.T) {
	sets := []struct {
		name   string
		alerts []ossec.Alert
	}{
		{"sample", sampleAlerts()},
		{"around 1970", around1970()},
	}
	for _, set := range sets {
		t.Run(set.name, func(t *testing.T) {
			t.Parallel()
			s := openTest(t, "")
			// Commits every 700 alerts leave some of them unfolded.
			importAll(t, s, "alerts.log", set.alerts, 700)
			alerts := unique(set.alerts)
			// Every filter with the main selections, every selection with
			// the filters that cut days apart.
			sels := timelineSelections(alerts)
			main := map[string]bool{"all alerts": true, "internet": true, "busiest": true}
			cuts := map[string]bool{"all": true, "spanning days, level": true, "fractional bounds at alerts": true, "across one midnight": true}
			for _, nf := range testFilters(alerts) {
				for _, sel := range sels {
					if !main[sel.name] && !cuts[nf.name] {
						continue
					}
					for _, by := range []analytics.Interval{analytics.Hour, analytics.Day, analytics.Week} {
						q := sel.q
						q.Filter, q.By = nf.f, by
						want := wantTimeline(t, alerts, q)
						c, err := s.Timeline(t.Context(), q)
						if err != nil {
							t.Fatalf("%s, %s, %s: %v", nf.name, sel.name, by, err)
						}
						got, err := c.Timeline(q.Filter.Since, q.Filter.Until)
						if err != nil {
							t.Fatal(err)
						}
						if diff := gocmp.Diff(want, got, cmpOpts...); diff != "" {
							t.Errorf("%s, %s, by %s: store differs from analytics (-want +got):\n%s", nf.name, sel.name, by, diff)
						}
					}
				}
			}
		})
	}
}

// TestTimelineCountsSample checks the store's timeline of the sample against
// the generator's own truth: every alert counted once, the busiest source's
// alerts all in its buckets.
func TestTimelineCountsSample(t *testing.T) {
	g := sample.Generate(sample.DefaultConfig())
	var alerts []ossec.Alert
	for a := range g.All() {
		c := *a
		c.Log = slices.Clone(a.Log)
		alerts = append(alerts, c)
	}
	// The truth keys sources by their plain address, as the store does.
	truth := g.Truth()
	s := openTest(t, "")
	importAll(t, s, "alerts.log", alerts, 0)
	sum := func(q analytics.TimelineQuery) (n int64, buckets int) {
		c, err := s.Timeline(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.Timeline(time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range b {
			n += x.Count
		}
		return n, len(b)
	}
	if n, days := sum(analytics.TimelineQuery{By: analytics.Day}); n != truth.Total || days != 14 {
		t.Errorf("by day: %d alerts in %d days, want %d in 14", n, days, truth.Total)
	}
	if n, _ := sum(analytics.TimelineQuery{By: analytics.Week, InScope: func(netip.Addr) bool { return true }}); n != truth.Total-truth.NoSource {
		t.Errorf("by week, every source: %d alerts, want %d", n, truth.Total-truth.NoSource)
	}
	var busiest *sample.SourceTruth
	for _, st := range truth.Sources {
		if busiest == nil || st.Count > busiest.Count || st.Count == busiest.Count && st.Addr.Less(busiest.Addr) {
			busiest = st
		}
	}
	n, hours := sum(analytics.TimelineQuery{By: analytics.Hour, Addr: busiest.Addr})
	if n != busiest.Count {
		t.Errorf("busiest %s by hour: %d alerts, want %d", busiest.Addr, n, busiest.Count)
	}
	if wantHours := int(busiest.LastSeen.Truncate(time.Hour).Sub(busiest.FirstSeen.Truncate(time.Hour))/time.Hour) + 1; hours != wantHours {
		t.Errorf("busiest %s by hour: %d buckets, want %d (first %s, last %s)", busiest.Addr, hours, wantHours, busiest.FirstSeen, busiest.LastSeen)
	}
}

func TestTimelineEmptyStore(t *testing.T) {
	s := openTest(t, "")
	c, err := s.Timeline(t.Context(), analytics.TimelineQuery{By: analytics.Day})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := c.Span(); ok {
		t.Error("an empty store counted alerts")
	}
}

// mergeTallies sums tallies by rule, level, description and location: the
// store keeps rule variants apart by groups too.
func mergeTallies(ts []analytics.Tally) []analytics.Tally {
	m := map[analytics.Tally]int64{}
	for _, t := range ts {
		n := t.Count
		t.Count = 0
		m[t] += n
	}
	out := []analytics.Tally{}
	for t, n := range m {
		t.Count = n
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b analytics.Tally) int {
		return cmp.Or(cmp.Compare(a.RuleID, b.RuleID), cmp.Compare(a.Level, b.Level), cmp.Compare(a.Description, b.Description),
			cmp.Compare(a.Location, b.Location))
	})
	return out
}

// TestTalliesMatchAnalytics compares the store's counts by rule variant and
// location with analytics.SummaryBuilder's over the same alerts.
func TestTalliesMatchAnalytics(t *testing.T) {
	s := openTest(t, "")
	all := sampleAlerts()
	importAll(t, s, "alerts.log", all, 900)
	alerts := unique(all)
	for _, nf := range testFilters(alerts) {
		b := analytics.NewSummaryBuilder(nf.f)
		for i := range alerts {
			b.Add(&alerts[i])
		}
		want := mergeTallies(b.Input().Tallies)
		got, err := s.Tallies(t.Context(), nf.f)
		if err != nil {
			t.Fatalf("%s: %v", nf.name, err)
		}
		if diff := gocmp.Diff(want, mergeTallies(got), cmpOpts...); diff != "" {
			t.Errorf("%s: Tallies differ from analytics.SummaryBuilder (-want +got):\n%s", nf.name, diff)
		}
	}
}

// FuzzEachCellSecond checks the timeline's allocation-free reading of
// src_day.ids against parseCellIDs: whatever it accepts parses to the same
// seconds.
func FuzzEachCellSecond(f *testing.F) {
	for _, s := range []string{"0", "86399", "1:1,2,3:16777215", "", ",", "1,,2", "-1", "172800", "172801", "5:0", "1:", ":1", "+5", "007:08"} {
		f.Add(int64(20000), s)
	}
	f.Add(int64(-3), "7,8:2")
	f.Fuzz(func(t *testing.T, day int64, s string) {
		day %= 1 << 20
		var got []int64
		if err := eachCellSecond(day, []byte(s), func(t int64) { got = append(got, t) }); err != nil {
			return
		}
		ids, err := parseCellIDs(nil, day, s)
		if err != nil {
			t.Fatalf("%q: eachCellSecond accepts, parseCellIDs says %v", s, err)
		}
		want := make([]int64, len(ids))
		for i, id := range ids {
			want[i] = id >> idCounterBits
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%q: seconds %v, parseCellIDs %v", s, got, want)
		}
	})
}
