package cadence

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The rule table of the synthetic timelines, with OSSEC's stock levels.
var rules = []Rule{
	rInvalid:  {ID: 5710, Level: 5, Groups: []string{"syslog", "sshd", "invalid_login", "authentication_failed"}},
	rBrute:    {ID: 5712, Level: 10, Groups: []string{"syslog", "sshd", "authentication_failures"}},
	rNoIdent:  {ID: 5706, Level: 6, Groups: []string{"syslog", "sshd", "recon"}},
	rWeb:      {ID: 31104, Level: 6, Groups: []string{"web", "accesslog", "attack"}},
	rLowLevel: {ID: 1002, Level: 2, Groups: []string{"syslog", "errors"}},
}

const (
	rInvalid int32 = iota
	rBrute
	rNoIdent
	rWeb
	rLowLevel
)

const t0 = int64(1790812800) // 2026-10-01T00:00:00Z

var addr = netip.MustParseAddr("203.0.113.7")

// returner plays rounds of seven 5710 alerts 1–4 s apart closed by a
// level-10 5712, the next round lo–hi seconds after each 5712: the
// sample's bot that waits out the block.
func returner(r *rand.Rand, rounds int, lo, hi int64) []Hit {
	var hits []Hit
	t := t0
	for range rounds {
		for range 7 {
			hits = append(hits, Hit{t, rInvalid})
			t += 1 + r.Int64N(4)
		}
		hits = append(hits, Hit{t, rBrute})
		t += lo + r.Int64N(hi-lo+1)
	}
	return hits
}

// poisson is an attacker whose alerts come at random, mean seconds apart
// on average, each a trigger with probability pTrig.
func poisson(r *rand.Rand, n int, mean, pTrig float64) []Hit {
	hits := make([]Hit, n)
	t := float64(t0)
	for i := range hits {
		t += r.ExpFloat64() * mean
		rule := rInvalid
		if r.Float64() < pTrig {
			rule = rBrute
		}
		hits[i] = Hit{int64(t), rule}
	}
	return hits
}

// burst fires n web attacks within minutes.
func burst(r *rand.Rand, n int) []Hit {
	hits := make([]Hit, n)
	t := t0
	for i := range hits {
		t += 1 + r.Int64N(2)
		hits[i] = Hit{t, rWeb}
	}
	return hits
}

// probe is a monitoring check every period seconds whose alert (sshd's
// "did not receive identification string") is level 6.
func probe(n int, period int64) []Hit {
	hits := make([]Hit, n)
	for i := range hits {
		hits[i] = Hit{t0 + int64(i)*period, rNoIdent}
	}
	return hits
}

// policy3600 is an ossec.conf whose response for 5712 has timeout 3600,
// the stock 600 s for the rest of level ≥ 6.
func policy3600() Policy {
	return Policy{Block: func(r Rule) (Response, bool) {
		if r.ID == 5712 {
			return Response{Block: time.Hour}, true
		}
		return Response{Block: DefaultBlock}, r.Level >= StockLevel
	}}
}

func TestAnalyze(t *testing.T) {
	type want struct {
		flagged, enough bool
		block           time.Duration
		recommended     time.Duration
		returns         int
	}
	sec := func(s int) time.Duration { return time.Duration(s) * time.Second }
	tests := []struct {
		name   string
		policy Policy
		hits   func(r *rand.Rand) []Hit
		want   want
	}{
		{"600 s returner", StockPolicy(0), func(r *rand.Rand) []Hit { return returner(r, 30, 603, 617) },
			want{flagged: true, enough: true, block: sec(600), recommended: sec(1800), returns: 29}},
		{"3600 s returner, ossec.conf timeout 3600", policy3600(), func(r *rand.Rand) []Hit { return returner(r, 12, 3603, 3617) },
			want{flagged: true, enough: true, block: sec(3600), recommended: sec(7200), returns: 11}},
		{"3600 s returner, --block 3600s", StockPolicy(time.Hour), func(r *rand.Rand) []Hit { return returner(r, 12, 3603, 3617) },
			want{flagged: true, enough: true, block: sec(3600), recommended: sec(7200), returns: 11}},
		{"3600 s returner under a 600 s block", StockPolicy(0), func(r *rand.Rand) []Hit { return returner(r, 12, 3603, 3617) },
			want{enough: true, block: sec(600), recommended: sec(7200), returns: 11}},
		{"600 s returner under a 3600 s block", StockPolicy(time.Hour), func(r *rand.Rand) []Hit { return returner(r, 30, 603, 617) },
			want{enough: true, block: sec(3600), recommended: sec(1800), returns: 29}},
		{"poisson attacker", StockPolicy(0), func(r *rand.Rand) []Hit { return poisson(r, 400, 300, 0.3) },
			want{enough: true, block: sec(600)}},
		{"burst", StockPolicy(0), func(r *rand.Rand) []Hit { return burst(r, 500) },
			want{enough: true, block: sec(600), recommended: sec(600), returns: 499}},
		{"check_ssh every 300 s", StockPolicy(0), func(*rand.Rand) []Hit { return probe(200, 300) },
			want{enough: true, block: sec(600), recommended: sec(600), returns: 199}},
		{"too few returns", StockPolicy(0), func(r *rand.Rand) []Hit { return returner(r, 5, 603, 617) },
			want{block: sec(600), returns: 4}},
		{"no trigger", StockPolicy(0), func(r *rand.Rand) []Hit {
			hits := returner(r, 30, 603, 617)
			for i := range hits {
				hits[i].Rule = rInvalid
			}
			return hits
		}, want{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits := tt.hits(rand.New(rand.NewPCG(7, 11)))
			res := New(tt.policy, DefaultOptions()).Analyze(rules, addr, hits)
			got := want{res.Flagged, res.EnoughData, res.Block, res.Recommended, res.Returns}
			if tt.name == "poisson attacker" {
				got.returns, got.recommended = 0, 0 // random; checked by TestPoissonNeverFlagged
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("(-want +got):\n%s\nresult %+v", diff, res)
			}
			if res.Alerts != len(hits) {
				t.Errorf("Alerts = %d, want %d", res.Alerts, len(hits))
			}
			if !res.EnoughData && (res.Flagged || res.Recommended != 0) {
				t.Errorf("not enough data yet flagged %t, recommended %v", res.Flagged, res.Recommended)
			}
		})
	}
}

func TestReturnerFigures(t *testing.T) {
	hits := returner(rand.New(rand.NewPCG(1, 2)), 20, 603, 617)
	o := DefaultOptions()
	o.Detail = true
	res := New(StockPolicy(0), o).Analyze(rules, addr, hits)
	if res.Episodes != 20 || len(res.EpisodeList) != 20 || res.Blocks != 20 || res.Returns != 19 || res.AfterBlock != 19 || res.Share != 1 {
		t.Errorf("episodes %d/%d blocks %d returns %d after %d share %v, want 20/20 20 19 19 1",
			res.Episodes, len(res.EpisodeList), res.Blocks, res.Returns, res.AfterBlock, res.Share)
	}
	if res.MedianGap < 603*time.Second || res.MedianGap > 617*time.Second {
		t.Errorf("median gap %v, want 603–617 s", res.MedianGap)
	}
	for i, e := range res.EpisodeList {
		if e.Alerts != 8 || e.Blocks != 1 {
			t.Errorf("episode %d: %+v, want 8 alerts and 1 block", i, e)
		}
	}
	for i, r := range res.ReturnList {
		if r.Block != DefaultBlock || r.Offence != i+1 || r.Gap < 603*time.Second || r.Gap > 617*time.Second {
			t.Errorf("return %d: %+v", i, r)
		}
	}
	var total, after int
	for _, b := range res.Histogram {
		total += b.Count
		if b.AfterBlock {
			after += b.Count
			if b.Lo != 600*time.Second || b.Hi != 661*time.Second {
				t.Errorf("after-block bucket [%v, %v), want [600s, 661s)", b.Lo, b.Hi)
			}
		}
	}
	if total != 19 || after != 19 {
		t.Errorf("histogram holds %d returns, %d after the block; want 19, 19: %+v", total, after, res.Histogram)
	}
	if res.FirstSeen != time.Unix(hits[0].Time, 0).UTC() || res.LastSeen != time.Unix(hits[len(hits)-1].Time, 0).UTC() {
		t.Errorf("seen %v – %v", res.FirstSeen, res.LastSeen)
	}
}

func TestHistogramEdges(t *testing.T) {
	s := func(n int) time.Duration { return time.Duration(n) * time.Second }
	rets := []Return{{Gap: 0}, {Gap: s(59)}, {Gap: s(60)}, {Gap: s(599)}, {Gap: s(600)}, {Gap: s(660)}, {Gap: s(661)},
		{Gap: s(1199)}, {Gap: s(1200)}, {Gap: s(9600)}, {Gap: s(100000)}}
	got := histogram(rets, s(600), s(60))
	want := []Bucket{
		{0, s(60), 2, false}, {s(60), s(600), 2, false}, {s(600), s(661), 2, true}, {s(661), s(1200), 2, false},
		{s(1200), s(2400), 1, false}, {s(2400), s(4800), 0, false}, {s(4800), s(9600), 0, false}, {s(9600), 0, 2, false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("histogram (-want +got):\n%s", diff)
	}
	// A short block has no "under a minute" bar; a permanent one no
	// "after the block" bar.
	if h := histogram(rets, s(30), s(10)); h[1].Lo != s(30) || !h[1].AfterBlock || h[1].Hi != s(41) {
		t.Errorf("30 s block: %+v", h)
	}
	for _, b := range histogram(rets, Permanent, s(60)) {
		if b.AfterBlock {
			t.Errorf("permanent block has an after-block bucket: %+v", b)
		}
	}
}

// escalating is the stock response run by an execd with the
// repeated_offenders ladder ro: the manager's, for the manager's own logs.
func escalating(ro ...time.Duration) Policy {
	return Policy{Repeated: ro, Block: func(r Rule) (Response, bool) {
		return Response{Block: DefaultBlock, Escalates: !r.FromAgent}, r.Level >= StockLevel
	}}
}

// TestEscalation follows execd: the second escalating trigger blocks for
// the first repeated_offenders step, later ones for the next, staying at
// the last; a block run by an execd without the ladder keeps its length.
func TestEscalation(t *testing.T) {
	p := escalating(30*time.Minute, time.Hour)
	o := DefaultOptions()
	o.Detail = true
	blocksOf := func(res Result) []time.Duration {
		var out []time.Duration
		for _, r := range res.ReturnList {
			out = append(out, r.Block)
		}
		return out
	}
	// A bot that keeps to 610 s is blocked longer from its second round on.
	hits := returner(rand.New(rand.NewPCG(3, 4)), 10, 603, 617)
	res := New(p, o).Analyze(rules, addr, hits)
	wantBlocks := []time.Duration{10 * time.Minute, 30 * time.Minute, time.Hour, time.Hour, time.Hour, time.Hour, time.Hour, time.Hour, time.Hour}
	if diff := cmp.Diff(wantBlocks, blocksOf(res)); diff != "" {
		t.Errorf("blocks (-want +got):\n%s", diff)
	}
	if res.Flagged || res.AfterBlock != 1 {
		t.Errorf("610 s bot under an escalating ladder: flagged %t, %d after the block; want false, 1", res.Flagged, res.AfterBlock)
	}
	// The same bot on an agent: the agent's execd has no ladder.
	agentRules := slices.Clone(rules)
	for i := range agentRules {
		agentRules[i].FromAgent = true
	}
	res = New(p, o).Analyze(agentRules, addr, hits)
	if !res.Flagged || res.Block != DefaultBlock || slices.ContainsFunc(blocksOf(res), func(d time.Duration) bool { return d != DefaultBlock }) {
		t.Errorf("610 s bot on an agent: flagged %t, blocks %v; want flagged, all 600 s", res.Flagged, blocksOf(res))
	}
	// A bot that waits out each step is flagged, with the block it waits
	// out most.
	hits = nil
	t1 := t0
	for _, wait := range []int64{605, 1805, 3605, 3610, 3608, 3606, 3611} {
		hits = append(hits, Hit{t1, rInvalid}, Hit{t1 + 2, rBrute})
		t1 += 2 + wait
	}
	hits = append(hits, Hit{t1, rInvalid})
	res = New(p, o).Analyze(rules, addr, hits)
	if !res.Flagged || res.AfterBlock != 7 || res.Block != time.Hour {
		t.Errorf("adaptive bot: flagged %t, %d after, block %v; want true, 7, 1h", res.Flagged, res.AfterBlock, res.Block)
	}
	if res.Recommended != 7200*time.Second || res.Capped {
		t.Errorf("recommended %v capped %t, want 2h0m0s, the first default step over 3611 s", res.Recommended, res.Capped)
	}
}

// TestBlockInForce follows execd's timer: a trigger while blocked restarts
// the block and keeps its length; after the block is lifted, a trigger
// starts a block of its own length.
func TestBlockInForce(t *testing.T) {
	p := policy3600() // 5712: 3600 s, other level ≥ 6: 600 s
	o := DefaultOptions()
	o.Detail = true
	hits := []Hit{
		{t0, rBrute},           // 3600 s block
		{t0 + 10, rWeb},        // while blocked: restarted, still 3600 s
		{t0 + 10 + 3601, rWeb}, // lifted 3601 s later: a new 600 s block
		{t0 + 10 + 3601 + 601, rInvalid},
	}
	res := New(p, o).Analyze(rules, addr, hits)
	var got []Return
	for _, r := range res.ReturnList {
		got = append(got, Return{Block: r.Block, Gap: r.Gap})
	}
	s := func(n int) time.Duration { return time.Duration(n) * time.Second }
	want := []Return{{Block: s(3600), Gap: s(10)}, {Block: s(3600), Gap: s(3601)}, {Block: s(600), Gap: s(601)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("returns (-want +got):\n%s", diff)
	}
	if res.AfterBlock != 2 {
		t.Errorf("%d returns after the block, want 2", res.AfterBlock)
	}
}

func TestRecommendation(t *testing.T) {
	s := func(n int) time.Duration { return time.Duration(n) * time.Second }
	hits := returner(rand.New(rand.NewPCG(5, 6)), 20, 3603, 3617)
	tests := []struct {
		name   string
		o      func(*Options)
		want   time.Duration
		capped bool
	}{
		{"default ladder", func(*Options) {}, s(7200), false},
		{"operator's ladder", func(o *Options) { o.Ladder = []time.Duration{s(3000), s(5400), s(1800)} }, s(5400), false},
		{"capped by the ladder", func(o *Options) { o.Ladder = []time.Duration{s(1800), s(3600)} }, s(3600), true},
		{"capped by max ban", func(o *Options) { o.MaxBan = s(3600) }, s(3600), true},
		{"max ban below every step", func(o *Options) { o.MaxBan = s(300) }, s(300), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := DefaultOptions()
			tt.o(&o)
			res := New(policy3600(), o).Analyze(rules, addr, hits)
			if res.Recommended != tt.want || res.Capped != tt.capped {
				t.Errorf("recommended %v capped %t, want %v %t", res.Recommended, res.Capped, tt.want, tt.capped)
			}
		})
	}
}

func TestCoverage(t *testing.T) {
	// 19 returns at 610 s and one at 5000 s: 95 % are covered by 1800 s,
	// 100 % only by 7200 s.
	var hits []Hit
	tt := t0
	for i := range 20 {
		hits = append(hits, Hit{tt, rBrute})
		if i == 10 {
			tt += 5000
		} else {
			tt += 610
		}
	}
	hits = append(hits, Hit{tt, rInvalid})
	for _, c := range []struct {
		coverage float64
		want     time.Duration
	}{{0.95, 1800 * time.Second}, {1, 7200 * time.Second}} {
		o := DefaultOptions()
		o.Coverage = c.coverage
		if got := New(StockPolicy(0), o).Analyze(rules, addr, hits).Recommended; got != c.want {
			t.Errorf("coverage %v: recommended %v, want %v", c.coverage, got, c.want)
		}
	}
}

func TestEdgeCases(t *testing.T) {
	o := DefaultOptions()
	o.Detail = true
	hits := returner(rand.New(rand.NewPCG(8, 9)), 10, 603, 617)

	t.Run("exempt", func(t *testing.T) {
		p := StockPolicy(0)
		p.Exempt = func(a netip.Addr) bool { return a == addr }
		res := New(p, o).Analyze(rules, addr, hits)
		if !res.Exempt || res.Blocks != 0 || res.Returns != 0 || res.Flagged {
			t.Errorf("exempt source: %+v", res)
		}
		if res = New(p, o).Analyze(rules, netip.MustParseAddr("198.51.100.1"), hits); res.Exempt || !res.Flagged {
			t.Errorf("other source: exempt %t flagged %t", res.Exempt, res.Flagged)
		}
	})
	t.Run("permanent", func(t *testing.T) {
		p := Policy{Block: func(r Rule) (Response, bool) { return Response{}, r.Level >= 10 }}
		res := New(p, o).Analyze(rules, addr, hits)
		if res.Block != Permanent || res.AfterBlock != 0 || res.Flagged || res.Returns != 9 {
			t.Errorf("permanent block: block %v after %d flagged %t returns %d", res.Block, res.AfterBlock, res.Flagged, res.Returns)
		}
	})
	t.Run("unsorted input", func(t *testing.T) {
		want := New(StockPolicy(0), o).Analyze(rules, addr, hits)
		shuffled := slices.Clone(hits)
		rand.New(rand.NewPCG(1, 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		got := New(StockPolicy(0), o).Analyze(rules, addr, shuffled)
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Errorf("shuffled input (-sorted +shuffled):\n%s", diff)
		}
	})
	t.Run("same-second triggers are one block", func(t *testing.T) {
		h := []Hit{{t0, rBrute}, {t0, rBrute}, {t0, rWeb}, {t0 + 605, rInvalid}}
		res := New(StockPolicy(0), o).Analyze(rules, addr, h)
		if res.Blocks != 1 || res.Returns != 1 || res.ReturnList[0].Gap != 605*time.Second {
			t.Errorf("blocks %d returns %+v", res.Blocks, res.ReturnList)
		}
	})
	t.Run("last alert a trigger", func(t *testing.T) {
		res := New(StockPolicy(0), o).Analyze(rules, addr, []Hit{{t0, rInvalid}, {t0 + 1, rBrute}})
		if res.Blocks != 1 || res.Returns != 0 || res.MedianGap != 0 {
			t.Errorf("blocks %d returns %d median %v", res.Blocks, res.Returns, res.MedianGap)
		}
	})
	t.Run("bad rule index", func(t *testing.T) {
		res := New(StockPolicy(0), o).Analyze(rules, addr, []Hit{{t0, 99}, {t0 + 700, -1}})
		if res.Blocks != 0 || res.Alerts != 2 {
			t.Errorf("blocks %d alerts %d", res.Blocks, res.Alerts)
		}
	})
	t.Run("no hits", func(t *testing.T) {
		if res := New(StockPolicy(0), o).Analyze(rules, addr, nil); res.Alerts != 0 || res.Episodes != 0 || len(res.EpisodeList) != 0 {
			t.Errorf("%+v", res)
		}
	})
	t.Run("rule table changes", func(t *testing.T) {
		a := New(StockPolicy(0), o)
		a.Analyze(rules, addr, hits)
		// Same length, other table: rule 1 is now low level.
		other := slices.Clone(rules)
		other[rBrute].Level = 3
		if res := a.Analyze(other, addr, hits); res.Blocks != 0 {
			t.Errorf("stale rule table: %d blocks", res.Blocks)
		}
	})
}

// TestPoissonNeverFlagged is the property behind the threshold: sources
// whose alerts come at random, at any rate, are flagged at most 1 % of
// the time.
func TestPoissonNeverFlagged(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 10))
	a := New(StockPolicy(0), DefaultOptions())
	const sources = 3000
	flagged, judged := 0, 0
	for range sources {
		n := 50 + r.IntN(450)
		mean := math.Exp(math.Log(5) + r.Float64()*(math.Log(14400)-math.Log(5))) // 5 s to 4 h, log-uniform
		res := a.Analyze(rules, addr, poisson(r, n, mean, 0.05+0.95*r.Float64()))
		if res.EnoughData {
			judged++
		}
		if res.Flagged {
			flagged++
		}
	}
	if judged < sources/2 {
		t.Fatalf("only %d of %d sources had enough data", judged, sources)
	}
	if flagged*100 > judged {
		t.Errorf("%d of %d random sources flagged, want ≤ 1 %%", flagged, judged)
	}
	t.Logf("%d of %d random sources flagged", flagged, judged)
}

func TestCollector(t *testing.T) {
	c := NewCollector()
	a1, a2 := netip.MustParseAddr("198.51.100.9"), netip.MustParseAddr("2001:db8::1")
	groups := []string{"syslog", "sshd"}
	c.Add(a2, t0+10, Rule{ID: 5712, Level: 10, Groups: groups})
	c.Add(a1, t0+5, Rule{ID: 5710, Level: 5, Groups: groups})
	c.Add(a2, t0, Rule{ID: 5710, Level: 5, Groups: groups})
	c.Add(netip.Addr{}, t0, Rule{ID: 5710, Level: 5, Groups: groups})
	groups[0] = "changed"
	c.Add(a2, t0+5, Rule{ID: 5712, Level: 10, Groups: []string{"other"}})
	c.Add(a2, t0+6, Rule{ID: 5712, Level: 10, FromAgent: true})
	var got []string
	err := c.Each(func(rs []Rule, src netip.Addr, hits []Hit) error {
		for _, h := range hits {
			got = append(got, src.String()+" "+time.Unix(h.Time-t0, 0).UTC().Format("05")+" "+
				string(rune('0'+rs[h.Rule].Level)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"198.51.100.9 05 5", "2001:db8::1 00 5", "2001:db8::1 05 :", "2001:db8::1 06 :", "2001:db8::1 10 :"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Each (-want +got):\n%s", diff)
	}
	if rs := c.Rules(); len(rs) != 3 || rs[0].Groups[0] != "syslog" || rs[1].Groups[0] != "syslog" || !rs[2].FromAgent {
		t.Errorf("rules %+v: want three, groups copied from the first alert", rs)
	}
	only := NewSourceCollector(a1)
	only.Add(a2, t0, Rule{ID: 5710, Level: 5})
	only.Add(a1, t0, Rule{ID: 5710, Level: 5})
	if len(only.Hits(a1)) != 1 || only.Hits(a2) != nil {
		t.Errorf("source collector kept %v and %v", only.Hits(a1), only.Hits(a2))
	}
}

func BenchmarkAnalyze(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	var sources [][]Hit
	n := 0
	for n < 1_000_000 {
		h := poisson(r, 20+r.IntN(200), 60, 0.2)
		sources = append(sources, h)
		n += len(h)
	}
	a := New(StockPolicy(0), DefaultOptions())
	b.ReportMetric(float64(n), "alerts")
	for b.Loop() {
		for _, h := range sources {
			a.Analyze(rules, addr, h)
		}
	}
}
