package analytics

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// Tally counts the alerts of one rule variant (id, level, description) at
// one OSSEC location: what a summary's breakdowns by level, rule and agent
// are made of.
type Tally struct {
	RuleID      int
	Level       int
	Description string
	Location    string // as OSSEC writes it
	Count       int64
}

// AgentName returns whom an OSSEC location belongs to: the agent's name
// ("fe01"), the agentless target ("(ssh_integrity_check_linux)
// root@10.40.0.9"), or for the manager's own logs the manager's name; ""
// when the location names none of them.
func AgentName(location string) string {
	l := ossec.ParseLocation(location)
	if l.Agent != "" {
		return l.Agent
	}
	return l.Manager
}

// AgentCount counts alerts by agent (see AgentName).
type AgentCount struct {
	Agent string
	Count int64
}

// SummaryInput is what a back end hands Summarize: the period's alerts
// broken down, its sources, and when each source was first seen at all.
type SummaryInput struct {
	// Since and Until bound the period: Since <= t < Until.
	Since, Until time.Time
	// Tallies are the period's alerts the filter selects, with or without
	// a source address, in any order, each (rule variant, location) once
	// or split over several entries.
	Tallies []Tally
	// Sources are the period's sources (every scope), each address once,
	// in any order.
	Sources []SourceCount
	// FirstSeen returns when addr was first seen over all stored time,
	// whatever the filter.
	FirstSeen func(addr netip.Addr) (time.Time, bool)
	// InScope keeps the sources the source sections list (nil: all).
	InScope func(netip.Addr) bool
	// Limit cuts the source and prefix lists (0: 10).
	Limit int
	// V4Prefix and V6Prefix are the prefix lengths of the prefix list
	// (0: 24 and 64).
	V4Prefix, V6Prefix int
}

// Summary is a period's report: totals and breakdowns of all its alerts,
// and its sources in scope.
type Summary struct {
	Since, Until time.Time
	// Alerts counts the period's alerts, NoSource those without a source
	// address.
	Alerts, NoSource int64
	// Sources counts the distinct sources in scope, SourceAlerts their
	// alerts.
	Sources      int
	SourceAlerts int64
	// NewSources counts the sources in scope first seen in the period,
	// never before it.
	NewSources int
	// ByLevel is ordered by level descending.
	ByLevel []LevelCount
	// ByRule is ordered by count descending, then rule id. A rule whose
	// level or description changed is named by its variant with the most
	// alerts (ties: higher level, then description).
	ByRule []RuleCount
	// ByAgent is ordered by count descending, then agent.
	ByAgent []AgentCount
	// TopSources are the sources in scope with the most alerts, ordered
	// as Finish orders them, at most Limit.
	TopSources []SourceCount
	// TopPrefixes sum the sources in scope by prefix (GroupBy), at most
	// Limit, of Prefixes in all.
	TopPrefixes []GroupCount
	Prefixes    int
	// TopNew are the new sources with the most alerts in the period,
	// at most Limit; their FirstSeen is their first alert ever.
	TopNew []SourceCount
	// Limit is the length the lists were cut to.
	Limit int
	// V4Prefix and V6Prefix are the lengths TopPrefixes used.
	V4Prefix, V6Prefix int
}

// Summarize builds the summary of in. It reorders in.Sources.
func Summarize(in SummaryInput) Summary {
	s := Summary{Since: in.Since.UTC(), Until: in.Until.UTC(), Limit: in.Limit, V4Prefix: in.V4Prefix, V6Prefix: in.V6Prefix}
	if s.Limit <= 0 {
		s.Limit = 10
	}
	if s.V4Prefix <= 0 {
		s.V4Prefix = 24
	}
	if s.V6Prefix <= 0 {
		s.V6Prefix = 64
	}
	levels := map[int]int64{}
	agents := map[string]int64{}
	type variant struct {
		level int
		desc  string
	}
	rules := map[int]map[variant]int64{}
	for _, t := range in.Tallies {
		if t.Count == 0 {
			continue
		}
		s.Alerts += t.Count
		levels[t.Level] += t.Count
		agents[AgentName(t.Location)] += t.Count
		vs := rules[t.RuleID]
		if vs == nil {
			vs = map[variant]int64{}
			rules[t.RuleID] = vs
		}
		vs[variant{t.Level, t.Description}] += t.Count
	}
	for l, n := range levels {
		s.ByLevel = append(s.ByLevel, LevelCount{Level: l, Count: n})
	}
	slices.SortFunc(s.ByLevel, func(a, b LevelCount) int { return cmp.Compare(b.Level, a.Level) })
	for a, n := range agents {
		s.ByAgent = append(s.ByAgent, AgentCount{Agent: a, Count: n})
	}
	slices.SortFunc(s.ByAgent, func(a, b AgentCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Agent, b.Agent)
	})
	for id, vs := range rules {
		rc := RuleCount{RuleID: id}
		var best int64 = -1
		for v, n := range vs {
			rc.Count += n
			if n > best || n == best && (v.level > rc.Level || v.level == rc.Level && v.desc < rc.Description) {
				best, rc.Level, rc.Description = n, v.level, v.desc
			}
		}
		s.ByRule = append(s.ByRule, rc)
	}
	slices.SortFunc(s.ByRule, func(a, b RuleCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.RuleID, b.RuleID)
	})

	var withSource int64
	for _, src := range in.Sources {
		withSource += src.Count
	}
	s.NoSource = s.Alerts - withSource
	scoped := Finish(in.Sources, Selection{InScope: in.InScope})
	s.Sources = len(scoped)
	var fresh []SourceCount
	for _, src := range scoped {
		s.SourceAlerts += src.Count
		if in.FirstSeen == nil {
			continue
		}
		if first, ok := in.FirstSeen(src.Addr); ok && !first.Before(s.Since) {
			src.FirstSeen = first.UTC()
			fresh = append(fresh, src)
		}
	}
	s.NewSources = len(fresh)
	s.TopNew = slices.Clone(fresh[:min(len(fresh), s.Limit)])
	groups := GroupBy(scoped, func(a netip.Addr) (string, bool) {
		bits := s.V4Prefix
		if a.Is6() {
			bits = s.V6Prefix
		}
		p, err := a.Prefix(bits)
		return p.String(), err == nil
	})
	s.Prefixes = len(groups)
	s.TopPrefixes = groups[:min(len(groups), s.Limit)]
	s.TopSources = slices.Clone(scoped[:min(len(scoped), s.Limit)])
	return s
}

// SummaryBuilder collects a SummaryInput from alerts streaming past: every
// alert counts toward its source's first sighting, the alerts the filter
// selects toward the period.
type SummaryBuilder struct {
	filter  Filter
	tallies map[Tally]int64
	period  *Counter
	first   map[netip.Addr]time.Time
}

// NewSummaryBuilder returns a builder for the period and filter f.
func NewSummaryBuilder(f Filter) *SummaryBuilder {
	return &SummaryBuilder{filter: f, tallies: map[Tally]int64{}, period: NewCounter(f), first: map[netip.Addr]time.Time{}}
}

// Add takes a into the summary.
func (b *SummaryBuilder) Add(a *ossec.Alert) {
	if a.SrcIP.IsValid() {
		if f, ok := b.first[a.SrcIP]; !ok || a.Time.Before(f) {
			b.first[a.SrcIP] = a.Time
		}
	}
	if !b.filter.Match(a) {
		return
	}
	b.tallies[Tally{RuleID: a.RuleID, Level: a.Level, Description: a.Description, Location: a.Location.Raw}]++
	b.period.Add(a)
}

// Input returns what was collected, for Summarize; the caller sets the
// period, scope and limits.
func (b *SummaryBuilder) Input() SummaryInput {
	in := SummaryInput{Sources: b.period.Sources()}
	for t, n := range b.tallies {
		t.Count = n
		in.Tallies = append(in.Tallies, t)
	}
	in.FirstSeen = func(a netip.Addr) (time.Time, bool) {
		t, ok := b.first[a]
		return t, ok
	}
	return in
}
