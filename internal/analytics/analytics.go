package analytics

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// Filter selects alerts. The zero Filter selects every alert.
type Filter struct {
	// Since and Until bound the event time: Since <= t < Until. A zero
	// bound is open.
	Since, Until time.Time
	// MinLevel keeps alerts whose level is at least MinLevel (0: all).
	MinLevel int
	// RuleID keeps alerts of this rule only (0: all rules).
	RuleID int
}

// Match reports whether a passes the filter.
func (f Filter) Match(a *ossec.Alert) bool {
	if !f.Since.IsZero() && a.Time.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !a.Time.Before(f.Until) {
		return false
	}
	if a.Level < f.MinLevel {
		return false
	}
	return f.RuleID == 0 || a.RuleID == f.RuleID
}

// SourceCount is one source address with what its alerts add up to.
type SourceCount struct {
	Addr      netip.Addr
	Count     int64
	FirstSeen time.Time // UTC
	LastSeen  time.Time // UTC
	MaxLevel  int
	// Rules is the number of distinct rules the source's alerts hit.
	Rules int
}

// Selection is what Finish keeps of the aggregated sources.
type Selection struct {
	// InScope decides which addresses are kept (see ipclass). Nil keeps all.
	InScope func(netip.Addr) bool
	// Min keeps sources with at least Min alerts (0: all).
	Min int64
	// Limit keeps the first Limit sources after ordering (0: all).
	Limit int
}

// Finish filters sources by scope and threshold, orders them by count
// descending then address ascending, and cuts them to the limit. It reorders
// and reuses the slice it is given.
func Finish(sources []SourceCount, sel Selection) []SourceCount {
	kept := sources[:0]
	for _, s := range sources {
		if s.Count < sel.Min || (sel.InScope != nil && !sel.InScope(s.Addr)) {
			continue
		}
		kept = append(kept, s)
	}
	slices.SortFunc(kept, func(a, b SourceCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return a.Addr.Compare(b.Addr)
	})
	if sel.Limit > 0 && len(kept) > sel.Limit {
		kept = kept[:sel.Limit]
	}
	return kept
}

// Counter aggregates alerts by source address as they stream past. Alerts
// without a source address are counted apart.
type Counter struct {
	filter  Filter
	sources map[netip.Addr]*sourceAgg
	// NoSource counts matching alerts that carry no source address.
	NoSource int64
}

type sourceAgg struct {
	SourceCount
	rules map[int]struct{}
}

// NewCounter returns a Counter that counts the alerts f selects.
func NewCounter(f Filter) *Counter {
	return &Counter{filter: f, sources: make(map[netip.Addr]*sourceAgg)}
}

// Add counts a if the filter selects it.
func (c *Counter) Add(a *ossec.Alert) {
	if !c.filter.Match(a) {
		return
	}
	if !a.SrcIP.IsValid() {
		c.NoSource++
		return
	}
	s := c.sources[a.SrcIP]
	if s == nil {
		s = &sourceAgg{
			SourceCount: SourceCount{Addr: a.SrcIP, FirstSeen: a.Time, LastSeen: a.Time, MaxLevel: a.Level},
			rules:       make(map[int]struct{}, 2),
		}
		c.sources[a.SrcIP] = s
	}
	s.Count++
	if a.Time.Before(s.FirstSeen) {
		s.FirstSeen = a.Time
	}
	if a.Time.After(s.LastSeen) {
		s.LastSeen = a.Time
	}
	s.MaxLevel = max(s.MaxLevel, a.Level)
	s.rules[a.RuleID] = struct{}{}
}

// Sources returns the aggregated sources in no particular order; pass them
// to Finish.
func (c *Counter) Sources() []SourceCount {
	out := make([]SourceCount, 0, len(c.sources))
	for _, s := range c.sources {
		sc := s.SourceCount
		sc.Rules = len(s.rules)
		out = append(out, sc)
	}
	return out
}
