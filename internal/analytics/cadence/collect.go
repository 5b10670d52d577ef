package cadence

import (
	"net/netip"
	"slices"
	"strings"
)

// Collector gathers sources' hits from alerts streaming past, for back
// ends that read alerts one by one (alert files, the ossec-dbd database).
// Rules are told apart by id, level and FromAgent, as OSSEC cannot give
// one rule two group lists at once; the groups of a rule's first alert are
// kept.
type Collector struct {
	rules   []Rule
	ruleIdx map[ruleKey]int32
	srcIdx  map[netip.Addr]int
	srcs    []collected
	// only, when valid, keeps this source's alerts only.
	only netip.Addr
}

type ruleKey struct {
	id, level int
	fromAgent bool
}

type collected struct {
	addr netip.Addr
	hits []Hit
}

// NewCollector returns an empty Collector.
func NewCollector() *Collector {
	return &Collector{ruleIdx: map[ruleKey]int32{}, srcIdx: map[netip.Addr]int{}}
}

// NewSourceCollector returns a Collector that keeps addr's alerts only.
func NewSourceCollector(addr netip.Addr) *Collector {
	c := NewCollector()
	c.only = addr
	return c
}

// Add records an alert of src at Unix second t with rule r; r.Groups is
// copied when the rule is new. Alerts without a valid source are ignored.
func (c *Collector) Add(src netip.Addr, t int64, r Rule) {
	if !src.IsValid() || (c.only.IsValid() && src != c.only) {
		return
	}
	k := ruleKey{r.ID, r.Level, r.FromAgent}
	ri, ok := c.ruleIdx[k]
	if !ok {
		ri = int32(len(c.rules))
		gs := make([]string, len(r.Groups))
		for i, g := range r.Groups {
			gs[i] = strings.Clone(g)
		}
		r.Groups = gs
		c.rules = append(c.rules, r)
		c.ruleIdx[k] = ri
	}
	si, ok := c.srcIdx[src]
	if !ok {
		si = len(c.srcs)
		c.srcIdx[src] = si
		c.srcs = append(c.srcs, collected{addr: src})
	}
	c.srcs[si].hits = append(c.srcs[si].hits, Hit{Time: t, Rule: ri})
}

// Rules returns the rule table the hits index.
func (c *Collector) Rules() []Rule { return c.rules }

// Hits returns src's hits in the order added.
func (c *Collector) Hits(src netip.Addr) []Hit {
	if i, ok := c.srcIdx[src]; ok {
		return c.srcs[i].hits
	}
	return nil
}

// Each calls fn for every source in address order, with the rule table and
// the source's hits sorted by time, until fn returns an error.
func (c *Collector) Each(fn func(rules []Rule, src netip.Addr, hits []Hit) error) error {
	order := make([]int, len(c.srcs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return c.srcs[x].addr.Compare(c.srcs[y].addr) })
	for _, i := range order {
		s := &c.srcs[i]
		slices.SortStableFunc(s.hits, cmpHit)
		if err := fn(c.rules, s.addr, s.hits); err != nil {
			return err
		}
	}
	return nil
}
