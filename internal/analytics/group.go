package analytics

import (
	"cmp"
	"net/netip"
	"slices"
	"time"
)

// GroupTop is how many members a GroupCount lists in Top.
const GroupTop = 5

// GroupCount is what the sources sharing one key (a prefix, a network, a
// country) add up to.
type GroupCount struct {
	Key string
	// Count is the sum of the members' alert counts.
	Count int64
	// Sources is the number of distinct member addresses.
	Sources   int
	FirstSeen time.Time
	LastSeen  time.Time
	MaxLevel  int
	// Top are the members with the most alerts, most first (ties by
	// address), at most GroupTop.
	Top []SourceCount
}

// GroupBy sums sources by the key key gives their address; sources for
// which key reports false are left out. Groups are ordered by count
// descending, then key ascending. sources is not modified; it should hold
// each address once (as Counter.Sources and the back ends return them).
func GroupBy(sources []SourceCount, key func(netip.Addr) (string, bool)) []GroupCount {
	if len(sources) == 0 {
		return nil
	}
	// Sized for the worst case, one group per source: growing a slice of
	// 100,000 groups by doubling copied more than it stored.
	idx := make(map[string]int, len(sources))
	groups := make([]GroupCount, 0, len(sources))
	for _, s := range sources {
		k, ok := key(s.Addr)
		if !ok {
			continue
		}
		i, seen := idx[k]
		if !seen {
			i = len(groups)
			idx[k] = i
			groups = append(groups, GroupCount{Key: k, FirstSeen: s.FirstSeen, LastSeen: s.LastSeen, MaxLevel: s.MaxLevel,
				Top: make([]SourceCount, 0, 1)})
		}
		g := &groups[i]
		g.Count += s.Count
		g.Sources++
		if s.FirstSeen.Before(g.FirstSeen) {
			g.FirstSeen = s.FirstSeen
		}
		if s.LastSeen.After(g.LastSeen) {
			g.LastSeen = s.LastSeen
		}
		g.MaxLevel = max(g.MaxLevel, s.MaxLevel)
		g.Top = insertTop(g.Top, s)
	}
	// Sort indices, not the groups: a group is over a hundred bytes, and
	// moving them was a quarter of the time with 100,000 groups.
	order := make([]int32, len(groups))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(i, j int32) int {
		a, b := &groups[i], &groups[j]
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	if len(groups) == 0 {
		return nil
	}
	out := make([]GroupCount, len(groups))
	for i, j := range order {
		out[i] = groups[j]
	}
	return out
}

// insertTop keeps top ordered like Finish orders sources and no longer than
// GroupTop; a group of a million members costs a few comparisons each, not
// a sort of the million.
func insertTop(top []SourceCount, s SourceCount) []SourceCount {
	before := func(a, b SourceCount) bool {
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Addr.Less(b.Addr)
	}
	if len(top) == GroupTop && !before(s, top[len(top)-1]) {
		return top
	}
	i := len(top)
	for i > 0 && before(s, top[i-1]) {
		i--
	}
	if len(top) < GroupTop {
		top = append(top, SourceCount{})
	}
	copy(top[i+1:], top[i:len(top)-1])
	top[i] = s
	return top
}
