package policy

import (
	"math"
	"net/netip"
	"slices"
	"time"
)

// Engine applies a policy to a stream of observations. It is not safe for
// concurrent use: the server feeds it from one goroutine.
type Engine struct {
	p     Policy
	never []netip.Prefix
	hist  History
	// rand returns a uniform float in [0, 1) for the jitter.
	rand    func() float64
	maxWin  time.Duration
	sources map[netip.Addr]*source
	// suspects are prefixes other sites reported, until when, and why.
	suspects map[netip.Prefix]suspect
}

type suspect struct {
	until time.Time
	why   string
}

// source is what the engine remembers of one address: its recent
// observations within the longest window, and until when it is banned.
type source struct {
	obs      []Observation
	banned   time.Time
	lastSeen time.Time
}

// NewEngine returns an engine for p. never lists the networks never banned
// besides p.Never (the allowlist and local networks). rand returns uniform
// floats in [0, 1) (math/rand/v2's Float64 in production, a fixed sequence
// in tests).
func NewEngine(p Policy, never []netip.Prefix, hist History, rand func() float64) (*Engine, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if p.SuspectFactor == 0 {
		p.SuspectFactor = DefaultSuspectFactor
	}
	e := &Engine{p: p, never: slices.Concat(p.Never, never), hist: hist, rand: rand, sources: map[netip.Addr]*source{}, suspects: map[netip.Prefix]suspect{}}
	for _, r := range p.Rules {
		e.maxWin = max(e.maxWin, r.Window)
	}
	return e, nil
}

// Never reports whether a is in a network the engine never bans.
func (e *Engine) Never(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range e.never {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// NoteBan tells the engine that src is banned until the given time (bans
// made by others: manual, federation, or loaded at start-up), so it does not
// decide again while the ban lasts. A zero until is a permanent ban.
func (e *Engine) NoteBan(src netip.Addr, until time.Time) {
	s := e.source(src.Unmap())
	if until.IsZero() {
		until = time.Unix(1<<62, 0)
	}
	if until.After(s.banned) {
		s.banned = until
	}
}

// NoteSuspect marks a prefix other sites reported until a time: its
// sources are banned at SuspectFactor of each rule's MinAlerts. Noting it
// again extends it; a zero until forgets it.
func (e *Engine) NoteSuspect(p netip.Prefix, until time.Time, why string) {
	p = p.Masked()
	if until.IsZero() {
		delete(e.suspects, p)
		return
	}
	e.suspects[p] = suspect{until: until, why: why}
}

// suspected returns why a is suspected at t, or "".
func (e *Engine) suspected(a netip.Addr, t time.Time) string {
	if len(e.suspects) == 0 {
		return ""
	}
	for bits := a.BitLen(); bits >= 0; bits-- {
		p := netip.PrefixFrom(a, bits).Masked()
		if s, ok := e.suspects[p]; ok && t.Before(s.until) {
			return s.why
		}
	}
	return ""
}

// NoteUnban lifts what the engine knows of src's ban (an admin deleted it).
func (e *Engine) NoteUnban(src netip.Addr) {
	if s, ok := e.sources[src.Unmap()]; ok {
		s.banned = time.Time{}
		s.obs = s.obs[:0]
	}
}

func (e *Engine) source(a netip.Addr) *source {
	s, ok := e.sources[a]
	if !ok {
		s = &source{}
		e.sources[a] = s
	}
	return s
}

// Observe feeds one observation. It returns a verdict when the observation
// completes a rule's threshold for a source that is not banned now. When
// several rules trigger at once, the one with the longest ban wins.
func (e *Engine) Observe(o Observation) (Verdict, bool) {
	o.Source = o.Source.Unmap()
	if !o.Source.IsValid() || e.Never(o.Source) {
		return Verdict{}, false
	}
	s := e.source(o.Source)
	if o.Time.After(s.lastSeen) {
		s.lastSeen = o.Time
	}
	if o.Time.Before(s.banned) {
		// Alerts during a ban are from before the firewall caught up,
		// or from other hosts: they neither count nor extend it.
		return Verdict{}, false
	}
	s.obs = append(s.obs, o)
	s.prune(o.Time, e.maxWin)

	var best Verdict
	found := false
	suspect := e.suspected(o.Source, o.Time)
	for _, r := range e.p.Rules {
		if !r.counts(o) {
			continue
		}
		n := 0
		var sensors []string
		for _, x := range s.obs {
			if x.Time.After(o.Time.Add(-r.Window)) && !x.Time.After(o.Time) && r.counts(x) {
				n++
				if x.Sensor != "" && !slices.Contains(sensors, x.Sensor) {
					sensors = append(sensors, x.Sensor)
				}
			}
		}
		need := r.MinAlerts
		if suspect != "" {
			need = max(1, int(math.Ceil(float64(r.MinAlerts)*e.p.SuspectFactor)))
		}
		if n < need {
			continue
		}
		v := e.verdict(r, o, n, sensors)
		if n < r.MinAlerts {
			v.Suspect = suspect
		}
		if !found || v.Duration > best.Duration {
			best, found = v, true
		}
	}
	if !found {
		return Verdict{}, false
	}
	s.banned = best.Expires
	s.obs = s.obs[:0]
	return best, true
}

func (e *Engine) verdict(r Rule, o Observation, n int, sensors []string) Verdict {
	slices.Sort(sensors)
	v := Verdict{Source: o.Source, Rule: r.Name, Start: o.Time, Alerts: n, Sensors: sensors, Offence: 1}
	var past []PastBan
	if e.hist != nil {
		since := time.Time{}
		if e.p.ForgetAfter > 0 {
			since = o.Time.Add(-e.p.ForgetAfter)
		}
		past = e.hist.Bans(o.Source, since)
	}
	v.Offence += len(past)
	step := v.Offence
	if e.p.ReturnTolerance > 0 && len(past) > 0 {
		last := past[len(past)-1]
		if first, ok := e.firstAfter(o.Source, last.Expires); ok && !first.Before(last.Expires) && first.Sub(last.Expires) <= e.p.ReturnTolerance {
			v.Returned = true
			step++
		}
	}
	ladder := e.p.ladder(r)
	v.Step = min(step, len(ladder))
	d := ladder[v.Step-1]
	if e.p.MaxBan > 0 {
		d = min(d, e.p.MaxBan)
	}
	if e.p.Jitter > 0 && e.rand != nil {
		v.Jitter = time.Duration(e.rand() * e.p.Jitter * float64(d)).Truncate(time.Second)
	}
	v.Duration = d + v.Jitter
	v.Expires = o.Time.Add(v.Duration)
	return v
}

// firstAfter is the time of the source's first observation at or after t,
// from what the engine still holds.
func (e *Engine) firstAfter(a netip.Addr, t time.Time) (time.Time, bool) {
	s := e.sources[a]
	for _, x := range s.obs {
		if !x.Time.Before(t) {
			return x.Time, true
		}
	}
	return time.Time{}, false
}

func (s *source) prune(now time.Time, win time.Duration) {
	cut := now.Add(-win)
	i := 0
	for i < len(s.obs) && !s.obs[i].Time.After(cut) {
		i++
	}
	if i > 0 {
		s.obs = append(s.obs[:0], s.obs[i:]...)
	}
}

// Expire forgets sources not seen since before now minus the longest
// window and whose ban has ended, so memory follows the active sources.
func (e *Engine) Expire(now time.Time) {
	cut := now.Add(-e.maxWin)
	for a, s := range e.sources {
		if s.lastSeen.Before(cut) && !s.banned.After(now) {
			delete(e.sources, a)
		}
	}
	for p, s := range e.suspects {
		if !now.Before(s.until) {
			delete(e.suspects, p)
		}
	}
}

// Sources is how many sources the engine holds in memory.
func (e *Engine) Sources() int { return len(e.sources) }
