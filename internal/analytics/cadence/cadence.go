package cadence

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"time"
)

// Defaults: OSSEC's stock active response and the thresholds of the flag.
const (
	// DefaultBlock is the timeout of the stock host-deny and firewall-drop
	// responses in OSSEC's ossec.conf template.
	DefaultBlock = 600 * time.Second
	// StockLevel is the level from which the stock responses block.
	StockLevel = 6
	// DefaultTolerance is how long after a block's expiry a return still
	// counts as "just after".
	DefaultTolerance = 60 * time.Second
	// DefaultMinReturns is the fewest returns a source needs to be judged.
	DefaultMinReturns = 5
	// DefaultThreshold is the share of returns just after expiry from which
	// a source is flagged.
	DefaultThreshold = 0.5
	// DefaultEpisodeGap is the silence that separates two episodes.
	DefaultEpisodeGap = 60 * time.Second
	// DefaultCoverage is the share of return gaps a recommended ban covers.
	DefaultCoverage = 0.95
)

// Permanent is a block without timeout; it equals ossecconf.Permanent.
const Permanent = time.Duration(math.MaxInt64)

// DefaultLadder returns the ban steps recommended from when ossec.conf has
// no repeated_offenders: 10 min, 30 min, 1 h, 2 h, 6 h, 1 day.
func DefaultLadder() []time.Duration {
	return []time.Duration{600 * time.Second, 1800 * time.Second, 3600 * time.Second,
		7200 * time.Second, 21600 * time.Second, 86400 * time.Second}
}

// Rule is an alert's rule, and where the alert came from, as the block
// decision needs them. A table of them comes with the hits that index it.
type Rule struct {
	ID     int
	Level  int
	Groups []string
	// FromAgent: the alert came from an agent's logs (its location starts
	// with "("), so a "local" response runs on that agent's execd, not on
	// the manager's.
	FromAgent bool
}

// Hit is one alert of a source: its time and its rule.
type Hit struct {
	Time int64 // Unix seconds
	Rule int32 // index into the rule table
}

// Response is the block an alert triggers.
type Response struct {
	// Block is the response's timeout; Permanent (or ≤ 0) for none.
	Block time.Duration
	// Escalates: the block is run by an execd that has the
	// repeated_offenders ladder of Policy.Repeated.
	Escalates bool
}

// Policy says which alerts make OSSEC block their source, and for how long.
type Policy struct {
	// Block returns the response an alert of rule r triggers; ok is false
	// when it triggers none. Called once per rule of a table.
	Block func(r Rule) (resp Response, ok bool)
	// Repeated is execd's repeated_offenders ladder: a source's second
	// escalating trigger blocks for Repeated[0], the next for Repeated[1],
	// and so on, staying at the last. Empty: no escalation.
	Repeated []time.Duration
	// Exempt reports addresses OSSEC never blocks (white_list). Nil: none.
	Exempt func(netip.Addr) bool
}

// StockPolicy is OSSEC's stock active response: alerts of level ≥ 6 block
// their source for block (DefaultBlock if block ≤ 0).
func StockPolicy(block time.Duration) Policy {
	if block <= 0 {
		block = DefaultBlock
	}
	return Policy{Block: func(r Rule) (Response, bool) { return Response{Block: block}, r.Level >= StockLevel }}
}

// Options tune the analysis; DefaultOptions gives the documented defaults.
type Options struct {
	Tolerance  time.Duration
	MinReturns int
	Threshold  float64
	EpisodeGap time.Duration
	Coverage   float64
	// Ladder are the ban steps a recommendation picks from, in any order.
	Ladder []time.Duration
	// MaxBan caps the recommendation (0: no cap beyond the ladder).
	MaxBan time.Duration
	// Detail keeps each source's episodes, returns and histogram; without
	// it a Result holds only the counts and figures.
	Detail bool
}

// DefaultOptions returns the defaults, with DefaultLadder.
func DefaultOptions() Options {
	return Options{Tolerance: DefaultTolerance, MinReturns: DefaultMinReturns, Threshold: DefaultThreshold,
		EpisodeGap: DefaultEpisodeGap, Coverage: DefaultCoverage, Ladder: DefaultLadder()}
}

// Episode is a run of a source's alerts without a silence longer than the
// episode gap.
type Episode struct {
	First, Last time.Time
	Alerts      int
	// Blocks counts the block starts within the episode.
	Blocks int
}

// Return is one block and the source's next alert after its start.
type Return struct {
	Start time.Time // the triggering alert
	Block time.Duration
	// Offence numbers the source's block starts, from 1.
	Offence int
	Gap     time.Duration
}

// Bucket is one bar of the return-gap histogram: gaps in [Lo, Hi), Hi 0
// meaning no upper bound.
type Bucket struct {
	Lo, Hi time.Duration
	Count  int
	// AfterBlock marks the bucket of returns just after expiry.
	AfterBlock bool
}

// Result is one source's cadence.
type Result struct {
	Addr        netip.Addr
	Alerts      int
	FirstSeen   time.Time
	LastSeen    time.Time
	Episodes    int
	Exempt      bool
	Blocks      int // block starts
	Returns     int // blocks followed by another alert
	AfterBlock  int // returns in [block, block + tolerance]
	Share       float64
	MedianGap   time.Duration
	Block       time.Duration // the block most returns waited out (see Analyze)
	EnoughData  bool
	Flagged     bool
	Recommended time.Duration // 0 without enough data
	// Capped: no ladder step covered enough returns; Recommended is the
	// longest step allowed.
	Capped bool

	// With Options.Detail only.
	EpisodeList []Episode
	ReturnList  []Return
	Histogram   []Bucket
}

// Analyzer judges sources under one Policy and Options. It caches the
// block of each rule of the table it was last given. It is not safe for
// concurrent use.
type Analyzer struct {
	p      Policy
	o      Options
	ladder []time.Duration

	table      []Rule
	blocks     []ruleBlock
	gaps       []time.Duration
	rets       []Return
	after, all []count
	sorted     []Hit
}

type ruleBlock struct {
	Response
	ok bool
}

// New returns an Analyzer. Zero option fields take their defaults; a nil
// Policy.Block is the stock policy.
func New(p Policy, o Options) *Analyzer {
	def := DefaultOptions()
	if o.Tolerance <= 0 {
		o.Tolerance = def.Tolerance
	}
	if o.MinReturns <= 0 {
		o.MinReturns = def.MinReturns
	}
	if o.Threshold <= 0 {
		o.Threshold = def.Threshold
	}
	if o.EpisodeGap <= 0 {
		o.EpisodeGap = def.EpisodeGap
	}
	if o.Coverage <= 0 || o.Coverage > 1 {
		o.Coverage = def.Coverage
	}
	if len(o.Ladder) == 0 {
		o.Ladder = def.Ladder
	}
	if p.Block == nil {
		p.Block = StockPolicy(0).Block
	}
	return &Analyzer{p: p, o: o, ladder: ladder(o.Ladder, o.MaxBan)}
}

// ladder sorts and dedupes the steps, drops permanent ones and those over
// the cap; if the cap is below every step, the cap is the only step.
func ladder(steps []time.Duration, maxBan time.Duration) []time.Duration {
	var out []time.Duration
	for _, s := range steps {
		if s > 0 && s != Permanent && (maxBan <= 0 || s <= maxBan) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		if maxBan > 0 {
			return []time.Duration{maxBan}
		}
		return DefaultLadder()
	}
	return out
}

// Ladder returns the ban steps recommendations pick from, shortest first.
func (a *Analyzer) Ladder() []time.Duration { return slices.Clone(a.ladder) }

// Options returns the options in effect, defaults filled in.
func (a *Analyzer) Options() Options { return a.o }

func (a *Analyzer) useTable(rules []Rule) {
	if len(rules) == len(a.table) && (len(rules) == 0 || &rules[0] == &a.table[0]) {
		return
	}
	a.table = rules
	a.blocks = make([]ruleBlock, len(rules))
	for i, r := range rules {
		resp, ok := a.p.Block(r)
		if ok && resp.Block <= 0 {
			resp.Block = Permanent
		}
		a.blocks[i] = ruleBlock{resp, ok}
	}
}

// step is the block of a source's escalating trigger number k (from 0)
// whose response has timeout base, as execd escalates it.
func (a *Analyzer) step(k int, base time.Duration) time.Duration {
	if k == 0 || len(a.p.Repeated) == 0 {
		return base
	}
	return a.p.Repeated[min(k-1, len(a.p.Repeated)-1)]
}

// Analyze judges one source from its hits, whose Rule fields index rules.
// Hits need not be sorted; an out-of-range rule index never triggers.
//
// Result.Block is the block most of the source's returns just after expiry
// had (ties: the longer), or, without such returns, most of its returns,
// or of its block starts.
func (a *Analyzer) Analyze(rules []Rule, addr netip.Addr, hits []Hit) Result {
	a.useTable(rules)
	r := Result{Addr: addr, Alerts: len(hits)}
	if len(hits) == 0 {
		return r
	}
	if !slices.IsSortedFunc(hits, cmpHit) {
		a.sorted = append(a.sorted[:0], hits...)
		slices.SortStableFunc(a.sorted, cmpHit)
		hits = a.sorted
	}
	r.FirstSeen, r.LastSeen = time.Unix(hits[0].Time, 0).UTC(), time.Unix(hits[len(hits)-1].Time, 0).UTC()
	r.Exempt = a.p.Exempt != nil && a.p.Exempt(addr)
	detail := a.o.Detail
	gapSec := int64(a.o.EpisodeGap / time.Second)
	tol := a.o.Tolerance
	a.rets = a.rets[:0]
	var ep Episode
	// The block in force: since start, for cur; execd lifts it once more
	// than cur has passed.
	var (
		start    int64
		cur      time.Duration
		blocked  bool
		offences int // escalating triggers so far
	)
	for i := 0; i < len(hits); {
		t := hits[i].Time
		if i == 0 || t-hits[i-1].Time > gapSec {
			if i > 0 && detail {
				r.EpisodeList = append(r.EpisodeList, ep)
			}
			r.Episodes++
			ep = Episode{First: time.Unix(t, 0).UTC()}
		}
		// All the alerts of second t: one block start at most.
		j, trig := i, false
		for ; j < len(hits) && hits[j].Time == t; j++ {
			if r.Exempt {
				continue
			}
			idx := int(hits[j].Rule)
			if idx < 0 || idx >= len(a.blocks) || !a.blocks[idx].ok {
				continue
			}
			resp := a.blocks[idx].Response
			active := blocked && (cur == Permanent || time.Duration(t-start)*time.Second <= cur)
			switch {
			case active && cur == Permanent:
				// A response without timeout is never lifted.
			case resp.Block == Permanent:
				// execd keeps no timer nor count for it.
				cur = Permanent
			case resp.Escalates:
				// The next step, whether blocked or not.
				cur = a.step(offences, resp.Block)
				offences++
			case active:
				// execd restarts the block and keeps its length.
			default:
				cur = resp.Block
			}
			start, blocked, trig = t, true, true
		}
		ep.Alerts += j - i
		ep.Last = time.Unix(t, 0).UTC()
		if trig {
			r.Blocks++
			ep.Blocks++
			if j < len(hits) {
				a.rets = append(a.rets, Return{Start: time.Unix(t, 0).UTC(), Block: cur, Offence: r.Blocks,
					Gap: time.Duration(hits[j].Time-t) * time.Second})
			}
		}
		i = j
	}
	if detail {
		r.EpisodeList = append(r.EpisodeList, ep)
	}
	a.judge(&r)
	if detail {
		r.ReturnList = slices.Clone(a.rets)
		r.Histogram = histogram(a.rets, r.Block, tol)
	}
	return r
}

func cmpHit(x, y Hit) int { return cmp.Compare(x.Time, y.Time) }

// justAfter reports whether a return came back in [block, block + tol].
func justAfter(ret Return, tol time.Duration) bool {
	return ret.Gap >= ret.Block && ret.Block != Permanent && ret.Gap-ret.Block <= tol
}

func (a *Analyzer) judge(r *Result) {
	rets := a.rets
	r.Returns = len(rets)
	if len(rets) == 0 {
		return
	}
	a.gaps = a.gaps[:0]
	a.after, a.all = a.after[:0], a.all[:0]
	for _, ret := range rets {
		a.gaps = append(a.gaps, ret.Gap)
		a.all = tally(a.all, ret.Block)
		if justAfter(ret, a.o.Tolerance) {
			r.AfterBlock++
			a.after = tally(a.after, ret.Block)
		}
	}
	if len(a.after) > 0 {
		r.Block = mode(a.after)
	} else {
		r.Block = mode(a.all)
	}
	r.Share = float64(r.AfterBlock) / float64(r.Returns)
	slices.Sort(a.gaps)
	n := len(a.gaps)
	if n%2 == 1 {
		r.MedianGap = a.gaps[n/2]
	} else {
		r.MedianGap = a.gaps[n/2-1] + (a.gaps[n/2]-a.gaps[n/2-1])/2
	}
	r.EnoughData = r.Returns >= a.o.MinReturns
	if !r.EnoughData {
		return
	}
	r.Flagged = r.Share >= a.o.Threshold
	// The smallest gap that Coverage of the returns do not exceed.
	k := int(math.Ceil(a.o.Coverage*float64(n))) - 1
	q := a.gaps[min(max(k, 0), n-1)]
	for _, s := range a.ladder {
		if s >= q {
			r.Recommended = s
			return
		}
	}
	r.Recommended, r.Capped = a.ladder[len(a.ladder)-1], true
}

// count is how often a block length occurs; a source has few distinct
// ones, so a slice beats a map.
type count struct {
	d time.Duration
	n int
}

func tally(cs []count, d time.Duration) []count {
	for i := range cs {
		if cs[i].d == d {
			cs[i].n++
			return cs
		}
	}
	return append(cs, count{d, 1})
}

// mode returns the most frequent duration, the longer on ties.
func mode(cs []count) time.Duration {
	var best count
	for _, c := range cs {
		if c.n > best.n || c.n == best.n && c.d > best.d {
			best = c
		}
	}
	return best.d
}

// histogram buckets the return gaps around block b: under a minute (the
// source carried on), up to the block, just after it, then doublings of
// the block. Each return is placed by its gap alone, so with escalated
// blocks the "just after" bar is relative to b while Result.AfterBlock
// judges each return against its own block.
func histogram(rets []Return, b, tol time.Duration) []Bucket {
	if b <= 0 {
		b = DefaultBlock
	}
	edges := []time.Duration{0}
	add := func(e time.Duration) {
		if e > edges[len(edges)-1] {
			edges = append(edges, e)
		}
	}
	if b > 2*time.Minute {
		add(time.Minute)
	}
	if b == Permanent {
		for _, e := range []time.Duration{10 * time.Minute, time.Hour, 24 * time.Hour} {
			add(e)
		}
	} else {
		add(b)
		add(b + tol + time.Second)
		for m := time.Duration(2); m <= 16; m *= 2 {
			if b <= math.MaxInt64/m {
				add(m * b)
			}
		}
	}
	out := make([]Bucket, len(edges))
	for i := range edges {
		out[i].Lo = edges[i]
		if i+1 < len(edges) {
			out[i].Hi = edges[i+1]
		}
		out[i].AfterBlock = b != Permanent && edges[i] == b
	}
	for _, ret := range rets {
		// The last edge at or below the gap.
		i, _ := slices.BinarySearch(edges, ret.Gap+1)
		out[i-1].Count++
	}
	return out
}
