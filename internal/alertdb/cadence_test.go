package alertdb

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/analytics/cadence"
	"github.com/rampart-ids/rampart/internal/ossec"
)

// flatHit is a hit with its rule resolved, comparable across rule tables.
type flatHit struct {
	t            int64
	rule, level  int
	groupsJoined string
	fromAgent    bool
}

func flatten(rules []cadence.Rule, hits []cadence.Hit) []flatHit {
	out := make([]flatHit, len(hits))
	for i, h := range hits {
		r := rules[h.Rule]
		out[i] = flatHit{h.Time, r.ID, r.Level, fmt.Sprint(r.Groups), r.FromAgent}
	}
	// Alerts of one second have no order a back end must keep.
	slices.SortFunc(out, func(a, b flatHit) int {
		return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.rule, b.rule), cmp.Compare(a.level, b.level), cmpBool(a.fromAgent, b.fromAgent))
	})
	return out
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case b:
		return -1
	}
	return 1
}

// wantHits collects the alerts f selects as the file back ends do.
func wantHits(alerts []ossec.Alert, f analytics.Filter, only netip.Addr) map[netip.Addr][]flatHit {
	c := cadence.NewCollector()
	if only.IsValid() {
		c = cadence.NewSourceCollector(only)
	}
	for i := range alerts {
		if a := &alerts[i]; f.Match(a) {
			c.Add(a.SrcIP, a.Time.Unix(), cadence.Rule{ID: a.RuleID, Level: a.Level, Groups: a.Groups, FromAgent: a.Location.Raw[0] == '('})
		}
	}
	out := map[netip.Addr][]flatHit{}
	c.Each(func(rules []cadence.Rule, src netip.Addr, hits []cadence.Hit) error {
		out[src] = flatten(rules, hits)
		return nil
	})
	return out
}

// TestSourceHitsMatchesAlerts checks SourceHits and SourceHitsOf against
// the alerts themselves, for every filter of the store's other tests: the
// same times, rules, levels and groups per source.
func TestSourceHitsMatchesAlerts(t *testing.T) {
	alerts := genAll(genConfig{Alerts: 8000, Sources: 200, Days: 10, Seed: 7, NoSource: 0.05, SameSecond: 0.15})
	s := openTest(t, "")
	importAll(t, s, "alerts.log", alerts, 3000)
	alerts = unique(alerts)
	addrs := reportAddrs(alerts)
	for _, nf := range testFilters(alerts) {
		want := wantHits(alerts, nf.f, netip.Addr{})
		got := map[netip.Addr][]flatHit{}
		var prev netip.Addr
		err := s.SourceHits(t.Context(), nf.f, func(rules []cadence.Rule, src netip.Addr, hits []cadence.Hit) error {
			if prev.IsValid() && !prev.Less(src) {
				t.Errorf("%s: %s after %s: sources out of order", nf.name, src, prev)
			}
			if !slices.IsSortedFunc(hits, func(a, b cadence.Hit) int { return cmp.Compare(a.Time, b.Time) }) {
				t.Errorf("%s: %s: hits not in time order", nf.name, src)
			}
			prev = src
			got[src] = flatten(rules, hits)
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", nf.name, err)
		}
		if diff := gocmp.Diff(want, got, gocmp.AllowUnexported(flatHit{}), cmpOpts[0], cmpOpts[1]); diff != "" {
			t.Errorf("%s: SourceHits differs from the alerts (-want +got):\n%s", nf.name, diff)
		}
		for _, addr := range addrs {
			rules, hits, err := s.SourceHitsOf(t.Context(), addr, nf.f)
			if err != nil {
				t.Fatalf("%s: SourceHitsOf(%s): %v", nf.name, addr, err)
			}
			if diff := gocmp.Diff(want[addr], flatten(rules, hits), gocmp.AllowUnexported(flatHit{}), cmpOpts[1]); diff != "" {
				t.Errorf("%s: SourceHitsOf(%s) (-want +got):\n%s", nf.name, addr, diff)
			}
		}
	}
}

// TestSourceHitsAnalysis checks that the store and the alert stream give
// cadence the same answer, mapped spellings and duplicates included.
func TestSourceHitsAnalysis(t *testing.T) {
	alerts := genAll(genConfig{Alerts: 5000, Sources: 40, Days: 3, Seed: 3, SameSecond: 0.2})
	// A returner that waits out the block, once as ::ffff:.
	ret := netip.MustParseAddr("198.51.100.77")
	t0 := alerts[0].Time.Unix()
	for i := range 12 {
		for j, rule := range []struct{ id, level int }{{5710, 5}, {5710, 5}, {5712, 10}} {
			a := ossec.Alert{ID: ossec.ID{Epoch: t0 + int64(i*612+j), Seq: int64(i*3 + j)}, RuleID: rule.id, Level: rule.level,
				Groups: []string{"syslog", "sshd"}, SrcIP: ret, Location: ossec.ParseLocation("web1->/var/log/auth.log"), Log: []string{"x"}}
			if i == 3 {
				a.SrcIP = netip.AddrFrom16(ret.As16())
			}
			a.Time = ossec.TimeFromID(a.ID)
			alerts = append(alerts, a)
		}
	}
	slices.SortStableFunc(alerts, func(a, b ossec.Alert) int { return a.Time.Compare(b.Time) })
	s := openTest(t, "")
	importAll(t, s, "a", alerts, 700)
	importAll(t, s, "b", alerts, 0) // every alert again: duplicates

	o := cadence.DefaultOptions()
	o.Detail = true
	an := cadence.New(cadence.StockPolicy(0), o)
	fromStore := map[netip.Addr]cadence.Result{}
	if err := s.SourceHits(t.Context(), analytics.Filter{}, func(rules []cadence.Rule, src netip.Addr, hits []cadence.Hit) error {
		fromStore[src] = an.Analyze(rules, src, hits)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c := cadence.NewCollector()
	for _, a := range unique(alerts) {
		c.Add(a.SrcIP.Unmap(), a.Time.Unix(), cadence.Rule{ID: a.RuleID, Level: a.Level, Groups: a.Groups, FromAgent: a.Location.Raw[0] == '('})
	}
	fromStream := map[netip.Addr]cadence.Result{}
	c.Each(func(rules []cadence.Rule, src netip.Addr, hits []cadence.Hit) error {
		fromStream[src] = an.Analyze(rules, src, hits)
		return nil
	})
	if diff := gocmp.Diff(fromStream, fromStore, cmpOpts...); diff != "" {
		t.Errorf("store differs from the alert stream (-stream +store):\n%s", diff)
	}
	if r := fromStore[ret]; !r.Flagged || r.Returns != 11 || r.Block != cadence.DefaultBlock {
		t.Errorf("returner: flagged %t, %d returns, block %v", r.Flagged, r.Returns, r.Block)
	}
}

func TestSourceHitsBadCell(t *testing.T) {
	alerts := genAll(genConfig{Alerts: 50, Sources: 3, Days: 1, Seed: 1})
	s := openTest(t, "")
	importAll(t, s, "a", alerts, 0)
	for _, ids := range []string{"", "12x", "1,,2", "99999999", ":3", "5:"} {
		if _, err := s.db.ExecContext(t.Context(), `UPDATE src_day SET ids = ? WHERE (day, src, rule, location) =
			(SELECT day, src, rule, location FROM src_day ORDER BY day, src, rule, location LIMIT 1)`, ids); err != nil {
			t.Fatal(err)
		}
		err := s.SourceHits(t.Context(), analytics.Filter{}, func([]cadence.Rule, netip.Addr, []cadence.Hit) error { return nil })
		if err == nil {
			t.Errorf("ids %q: no error", ids)
		}
	}
}

func TestSortHits(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tt := range []struct {
		n     int
		span  int64
		start int64
	}{{10, 100, 0}, {5000, 1, 1_700_000_000}, {5000, 86400, -3_000_000}, {300_000, 180 * 86400, 1_740_000_000}, {20_000, 1 << 37, minTime}} {
		p := make([]uint64, tt.n)
		for i := range p {
			t := tt.start + r.Int64N(tt.span)
			p[i] = uint64(t-minTime)<<hitRuleBits | uint64(r.IntN(1<<hitRuleBits))
		}
		want := slices.Clone(p)
		slices.SortStableFunc(want, func(a, b uint64) int { return cmp.Compare(a>>hitRuleBits, b>>hitRuleBits) })
		sortHits(p)
		// Same times in the same order; within a second any rule order.
		for i := range p {
			if p[i]>>hitRuleBits != want[i]>>hitRuleBits {
				t.Fatalf("n %d span %d: element %d has time %d, want %d", tt.n, tt.span, i, p[i]>>hitRuleBits, want[i]>>hitRuleBits)
			}
		}
		slices.Sort(p)
		slices.Sort(want)
		if !slices.Equal(p, want) {
			t.Fatalf("n %d span %d: elements lost or changed", tt.n, tt.span)
		}
	}
}

// FuzzCellHits feeds src_day.ids lists and concatenated cells to
// SourceHits's decoder: no panics; what it accepts parseCellIDs accepts
// with the same times; and what appendCellID writes, it accepts.
func FuzzCellHits(f *testing.F) {
	for _, s := range []string{"0", "86399", "1:1,2,3:16777215", "", ",", "1,,2", "-1", "172800", "5:0", "5:", "+5", "007",
		"9999999999999999999", "3:16777216", "7,3=1,2;8,1=5:2", "=1", "7,=1", ",3=1", "7,3,4=1", "7,3=1;"} {
		f.Add(int64(20000), s)
	}
	f.Add(int64(-3), "7,8:2")
	f.Add(int64(0), "0,86399,172799")
	f.Fuzz(func(t *testing.T, day int64, s string) {
		day %= 1 << 20
		hr := &hitRules{table: make([]cadence.Rule, 4), index: map[int32]int32{7: 2}, agents: map[int32]bool{3: true}}
		src := []byte{192, 0, 2, 1}
		// Any text as a day's cells: errors, never panics.
		newSourceHits(hr, span{openLo, openHi}).addCells(day, src, []byte(s))
		sh := newSourceHits(hr, span{openLo, openHi})
		si, _ := sh.source(src)
		err := sh.add(day, si, 7, true, []byte(s))
		want, werr := parseCellIDs(nil, day, s)
		if err == nil {
			if werr != nil {
				t.Fatalf("%q accepted, parseCellIDs refuses it: %v", s, werr)
			}
			got := sh.packed[0]
			if len(got) != len(want) {
				t.Fatalf("%q: %d hits, parseCellIDs %d ids", s, len(got), len(want))
			}
			times := make([]int64, len(want))
			for i, id := range want {
				times[i] = id >> idCounterBits
			}
			for i, v := range got {
				if int64(v>>hitRuleBits)+minTime != times[i] || v&(1<<hitRuleBits-1) != 3 {
					t.Fatalf("%q: hit %d is %d (rule %d), want time %d (rule 3)", s, i, int64(v>>hitRuleBits)+minTime, v&(1<<hitRuleBits-1), times[i])
				}
			}
		}
		if werr != nil {
			return
		}
		var b []byte
		for i, id := range want {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCellID(b, day, id)
		}
		if err := newSourceHits(hr, span{openLo, openHi}).addCells(day, src, append([]byte("7,3="), b...)); err != nil {
			t.Fatalf("%q, as appendCellID writes it: %v", b, err)
		}
	})
}

// BenchmarkSourceHits reads every source's alert times and judges them,
// as "rampart cadence" does. It generates a 300,000-alert store, or uses
// the store at $RAMPART_BENCH_STORE (bench/out/store-3000000.db after
// bench/run.sh) read-only:
//
//	RAMPART_BENCH_STORE=$PWD/bench/out/store-3000000.db go test -run XXX -bench SourceHits ./internal/alertdb/
func BenchmarkSourceHits(b *testing.B) {
	var s *Store
	if p := os.Getenv("RAMPART_BENCH_STORE"); p != "" {
		var err error
		if s, err = Open(b.Context(), p, nil); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
	} else {
		s = openTest(b, "")
		g := newGen(genConfig{Alerts: 300_000, Sources: 5_000, Days: 180, Seed: 42, NoSource: 0.05})
		var all []ossec.Alert
		var a ossec.Alert
		for g.next(&a) {
			c := a
			c.Log = []string{a.Log[0]}
			all = append(all, c)
		}
		importAll(b, s, "bench", all, 50_000)
	}
	an := cadence.New(cadence.StockPolicy(0), cadence.DefaultOptions())
	for b.Loop() {
		alerts, flagged := 0, 0
		start := time.Now()
		err := s.SourceHits(b.Context(), analytics.Filter{}, func(rules []cadence.Rule, src netip.Addr, hits []cadence.Hit) error {
			alerts += len(hits)
			if an.Analyze(rules, src, hits).Flagged {
				flagged++
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(alerts), "alerts")
		b.ReportMetric(float64(alerts)/time.Since(start).Seconds(), "alerts/s")
	}
}

// BenchmarkSourceHitsOf reads the busiest source's alert times, as "rampart
// ip" does for its cadence section; see BenchmarkSourceHits for the store.
func BenchmarkSourceHitsOf(b *testing.B) {
	p := os.Getenv("RAMPART_BENCH_STORE")
	if p == "" {
		b.Skip("set RAMPART_BENCH_STORE to a store, e.g. bench/out/cadence-store-3000000.db")
	}
	s, err := Open(b.Context(), p, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	top, err := s.TopSources(b.Context(), analytics.Filter{})
	if err != nil || len(top) == 0 {
		b.Fatal(err)
	}
	for b.Loop() {
		_, hits, err := s.SourceHitsOf(b.Context(), top[0].Addr, analytics.Filter{})
		if err != nil || int64(len(hits)) != top[0].Count {
			b.Fatalf("%d hits, want %d: %v", len(hits), top[0].Count, err)
		}
	}
}
