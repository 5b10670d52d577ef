package sample

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// run is one pass over the sample: the plan, the merge, and the truth
// counters of what has been yielded.
type run struct {
	cfg        Config
	t          *tables
	r          *rng
	start, end int64

	srcs []source
	sess []session

	noSource, total int64

	// Emission state, reused from alert to alert.
	a         ossec.Alert
	buf       []byte
	offs      []int
	logs      []string
	clk       clock
	lastEpoch int64
	seq       int64
	blocked   bool // the last event was a blocking (frequency) alert
	counted   bool // the last event counts towards a frequency rule
}

func newRun(cfg Config) *run {
	r := &run{
		cfg:   cfg,
		t:     newTables(),
		r:     newRNG(cfg.Seed),
		start: cfg.Start.Unix(),
		clk:   clock{day: math.MinInt64},
	}
	r.end = r.start + int64(cfg.Duration/time.Second)
	p := &planner{run: r}
	p.plan()
	return r
}

// emit merges the sessions by (time, session index) and yields each alert.
func (r *run) emit(yield func(*ossec.Alert) bool) {
	order := make([]int32, len(r.sess))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := cmp.Compare(r.sess[a].next, r.sess[b].next); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	h := sessHeap{sess: r.sess}
	pi := 0
	for {
		for pi < len(order) && (len(h.idx) == 0 || r.sess[order[pi]].next <= r.sess[h.idx[0]].next) {
			h.push(order[pi])
			pi++
		}
		if len(h.idx) == 0 {
			return
		}
		si := h.idx[0]
		s := &r.sess[si]
		t := s.next
		r.event(s, t)
		s.left--
		if s.left <= 0 {
			h.pop()
			s.ring = nil
		} else {
			gap := r.r.between(int64(s.gapLo), int64(s.gapHi))
			if r.blocked && s.retHi > 0 {
				gap = int64(s.block) + r.r.between(int64(s.retLo), int64(s.retHi))
			}
			s.next = min(t+gap, r.end-1)
			h.fix0()
		}
		if !yield(&r.a) {
			return
		}
	}
}

// event fills r.a with the next alert of s at time t and counts it.
func (r *run) event(s *session, t int64) {
	a := &r.a
	if t == r.lastEpoch {
		r.seq++
	} else {
		r.lastEpoch, r.seq = t, 1
	}
	a.ID = ossec.ID{Epoch: t, Seq: r.seq}
	a.Time = time.Unix(t, 0).UTC()
	a.SrcIP, a.SrcPort, a.DstIP, a.DstPort, a.User = netip.Addr{}, 0, netip.Addr{}, 0, ""
	a.Location = r.t.locs[s.loc].l
	r.blocked = false

	var src *source
	if s.src >= 0 {
		src = &r.srcs[s.src]
		a.SrcIP = src.addr
		if src.mapped && src.count%3 == 1 {
			a.SrcIP = netip.AddrFrom16(src.addr.As16())
		}
	}
	ru := r.render(s, t)
	d := &r.t.rules[ru]
	a.RuleID, a.Level, a.Description, a.Groups = d.id, d.level, d.desc, d.groups
	a.Mail = d.level >= 7

	r.total++
	if src == nil {
		r.noSource++
		return
	}
	if src.count == 0 {
		src.first = t
	}
	src.last = t // alerts come in time order
	src.count++
	if a.SrcIP.Is4In6() {
		src.nMapped++
	}
	src.maxLevel = max(src.maxLevel, d.level)
	for i := range src.rules {
		if src.rules[i].id == d.id {
			src.rules[i].n++
			return
		}
	}
	src.rules = append(src.rules, ruleCount{id: d.id, n: 1})
}

func (r *run) truth() *Truth {
	t := &Truth{
		Sources:  make(map[netip.Addr]*SourceTruth, len(r.srcs)),
		NoSource: r.noSource,
		Total:    r.total,
	}
	for i := range r.srcs {
		s := &r.srcs[i]
		if s.count == 0 {
			continue
		}
		st := &SourceTruth{
			Addr: s.addr, Kind: s.kind, Count: s.count, Mapped: s.nMapped,
			FirstSeen: time.Unix(s.first, 0).UTC(), LastSeen: time.Unix(s.last, 0).UTC(),
			MaxLevel: s.maxLevel, Rules: make(map[int]int64, len(s.rules)), Block: time.Duration(s.block) * time.Second,
		}
		for _, rc := range s.rules {
			st.Rules[rc.id] = rc.n
		}
		t.Sources[s.addr] = st
	}
	return t
}

// sessHeap is a min-heap of session indexes by (next, index): a total
// order, so the merge does not depend on heap internals.
type sessHeap struct {
	sess []session
	idx  []int32
}

func (h *sessHeap) less(i, j int) bool {
	a, b := h.idx[i], h.idx[j]
	if ta, tb := h.sess[a].next, h.sess[b].next; ta != tb {
		return ta < tb
	}
	return a < b
}

func (h *sessHeap) push(i int32) {
	h.idx = append(h.idx, i)
	j := len(h.idx) - 1
	for j > 0 {
		p := (j - 1) / 2
		if !h.less(j, p) {
			break
		}
		h.idx[j], h.idx[p] = h.idx[p], h.idx[j]
		j = p
	}
}

func (h *sessHeap) pop() {
	n := len(h.idx) - 1
	h.idx[0] = h.idx[n]
	h.idx = h.idx[:n]
	h.fix0()
}

func (h *sessHeap) fix0() {
	n := len(h.idx)
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			return
		}
		h.idx[i], h.idx[m] = h.idx[m], h.idx[i]
		i = m
	}
}
