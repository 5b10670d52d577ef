package analytics

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func src(addr string, count int64, first, last int, level int) SourceCount {
	return SourceCount{Addr: netip.MustParseAddr(addr), Count: count,
		FirstSeen: t0.Add(time.Duration(first) * time.Second), LastSeen: t0.Add(time.Duration(last) * time.Second), MaxLevel: level, Rules: 1}
}

// by24 groups IPv4 addresses by /24 and leaves IPv6 out.
func by24(a netip.Addr) (string, bool) {
	if !a.Is4() {
		return "", false
	}
	p, _ := a.Prefix(24)
	return p.String(), true
}

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func TestGroupBy(t *testing.T) {
	a := src("198.51.100.7", 10, 50, 60, 5)
	b := src("198.51.100.9", 30, 10, 20, 10)
	c := src("198.51.100.200", 10, 70, 80, 3)
	d := src("203.0.113.5", 50, 0, 100, 7)
	e := src("2001:db8::1", 99, 0, 1, 12)
	tests := []struct {
		name    string
		sources []SourceCount
		key     func(netip.Addr) (string, bool)
		want    []GroupCount
	}{
		{"empty", nil, by24, nil},
		{"all left out", []SourceCount{e}, by24, nil},
		{
			"sums and ordering", []SourceCount{e, a, d, c, b}, by24,
			[]GroupCount{
				{Key: "198.51.100.0/24", Count: 50, Sources: 3, FirstSeen: b.FirstSeen, LastSeen: c.LastSeen, MaxLevel: 10, Top: []SourceCount{b, a, c}},
				{Key: "203.0.113.0/24", Count: 50, Sources: 1, FirstSeen: d.FirstSeen, LastSeen: d.LastSeen, MaxLevel: 7, Top: []SourceCount{d}},
			},
		},
		{
			"one group", []SourceCount{a, b, c, d, e}, func(netip.Addr) (string, bool) { return "all", true },
			[]GroupCount{{Key: "all", Count: 199, Sources: 5, FirstSeen: t0, LastSeen: d.LastSeen, MaxLevel: 12, Top: []SourceCount{e, d, b, a, c}}},
		},
		{
			"ties by key", []SourceCount{a, c}, func(x netip.Addr) (string, bool) { return x.String(), true },
			[]GroupCount{
				{Key: "198.51.100.200", Count: 10, Sources: 1, FirstSeen: c.FirstSeen, LastSeen: c.LastSeen, MaxLevel: 3, Top: []SourceCount{c}},
				{Key: "198.51.100.7", Count: 10, Sources: 1, FirstSeen: a.FirstSeen, LastSeen: a.LastSeen, MaxLevel: 5, Top: []SourceCount{a}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.sources)
			got := GroupBy(in, tt.key)
			if diff := cmp.Diff(tt.want, got, addrCmp); diff != "" {
				t.Errorf("GroupBy (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.sources, in, addrCmp); diff != "" {
				t.Errorf("GroupBy modified its input (-before +after):\n%s", diff)
			}
		})
	}
}

// TestGroupByTopMatchesFinish checks the incremental top-N against a full
// sort by Finish, on groups much larger than GroupTop with many ties.
func TestGroupByTopMatchesFinish(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var sources []SourceCount
	members := map[string][]SourceCount{}
	for i := range 3000 {
		s := SourceCount{Addr: netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), byte(i >> 8), byte(i)}), Count: int64(1 + r.IntN(20)), FirstSeen: t0, LastSeen: t0}
		sources = append(sources, s)
		k, _ := by24(s.Addr)
		k = k[:len("10.x")]
		members[k] = append(members[k], s)
	}
	key := func(a netip.Addr) (string, bool) { k, _ := by24(a); return k[:len("10.x")], true }
	groups := GroupBy(sources, key)
	if len(groups) != len(members) {
		t.Fatalf("%d groups, want %d", len(groups), len(members))
	}
	for _, g := range groups {
		m := members[g.Key]
		var sum int64
		for _, s := range m {
			sum += s.Count
		}
		want := Finish(slices.Clone(m), Selection{Limit: GroupTop})
		if g.Count != sum || g.Sources != len(m) {
			t.Errorf("group %s: count %d sources %d, want %d %d", g.Key, g.Count, g.Sources, sum, len(m))
		}
		if diff := cmp.Diff(want, g.Top, addrCmp); diff != "" {
			t.Errorf("group %s top (-want +got):\n%s", g.Key, diff)
		}
	}
	for i := 1; i < len(groups); i++ {
		if p, g := groups[i-1], groups[i]; p.Count < g.Count || (p.Count == g.Count && p.Key >= g.Key) {
			t.Errorf("groups %d and %d out of order: %s %d, %s %d", i-1, i, p.Key, p.Count, g.Key, g.Count)
		}
	}
}

func BenchmarkGroupBy(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	sources := make([]SourceCount, 100_000)
	for i := range sources {
		sources[i] = SourceCount{Addr: netip.AddrFrom4([4]byte{byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256)), byte(i)}), Count: int64(1 + r.IntN(100))}
	}
	for _, bits := range []int{8, 16, 24} {
		b.Run(fmt.Sprintf("/%d", bits), func(b *testing.B) {
			key := func(a netip.Addr) (string, bool) { p, _ := a.Prefix(bits); return p.String(), true }
			for b.Loop() {
				GroupBy(sources, key)
			}
		})
	}
}
