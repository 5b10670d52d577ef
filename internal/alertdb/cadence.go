package alertdb

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/analytics/cadence"
)

// Cadence needs every alert's time per source. Reading them from alerts
// would cost a row (and several columns through the driver) per alert;
// src_day's ids already list them, per (day, source, rule variant,
// location) cell. SQLite concatenates a source's cells of a day into one
// row, so a full scan reads about one row per thirty alerts (3,000,000
// generated alerts: 91,000 rows), and Go decodes the times. src_day is
// written at every commit, so nothing is left unfolded for it.

// hitRuleBits is how many low bits of a packed hit hold the rule index; the
// time, offset by minTime (39 bits), fills the rest of a uint64.
const hitRuleBits = 24

// hitRules is the store's rule-variant table in the form cadence takes:
// each variant twice, for alerts of the manager's own logs (index 2i) and
// for alerts of agents (2i+1), which a "local" response blocks elsewhere.
type hitRules struct {
	table []cadence.Rule
	// index maps a variant id to its table index 2i, -1 when the filter
	// leaves the variant out.
	index map[int32]int32
	sqlIn string // as ruleSet.sqlIn
	// agents holds the ids of agents' locations.
	agents map[int32]bool
}

func (sn snap) hitRules(ctx context.Context, f analytics.Filter) (*hitRules, error) {
	rows, err := sn.tx.QueryContext(ctx, "SELECT id, rule_id, level, groups FROM rules ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	hr := &hitRules{index: map[int32]int32{}}
	var ids []string
	all := true
	for rows.Next() {
		var id int32
		var r cadence.Rule
		var groups string
		if err := rows.Scan(&id, &r.ID, &r.Level, &groups); err != nil {
			return nil, err
		}
		if r.Level < f.MinLevel || (f.RuleID != 0 && r.ID != f.RuleID) {
			hr.index[id] = -1
			all = false
			continue
		}
		if groups != "" {
			r.Groups = strings.Split(groups, ",")
		}
		hr.index[id] = int32(len(hr.table))
		agent := r
		agent.FromAgent = true
		hr.table = append(hr.table, r, agent)
		ids = append(ids, strconv.Itoa(int(id)))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(hr.table) >= 1<<hitRuleBits {
		return nil, fmt.Errorf("%d rule variants, more than cadence can index", len(hr.table)/2)
	}
	if !all {
		hr.sqlIn = " AND rule IN (" + strings.Join(ids, ",") + ")"
	}
	rows.Close()
	// OSSEC writes an agent's location as "(name) ip->path"; everything
	// else (the manager's logs, agentless checks) runs on the manager.
	locs, err := sn.tx.QueryContext(ctx, "SELECT id FROM locations WHERE raw LIKE '(%'")
	if err != nil {
		return nil, err
	}
	defer locs.Close()
	hr.agents = map[int32]bool{}
	for locs.Next() {
		var id int32
		if err := locs.Scan(&id); err != nil {
			return nil, err
		}
		hr.agents[id] = true
	}
	return hr, locs.Err()
}

// sourceHits accumulates packed hits per source.
type sourceHits struct {
	rules  *hitRules
	sp     span
	idx    map[netip.Addr]int32
	addrs  []netip.Addr
	packed [][]uint64
	// The previous row's source: consecutive rows are often one
	// source's, so its lookup is skipped.
	prevSrc []byte
	prevIdx int32
	// sortDays sorts each source's hits of a day as they are added,
	// which keeps them sorted when the days come in order.
	sortDays bool
}

func newSourceHits(rules *hitRules, sp span) *sourceHits {
	return &sourceHits{rules: rules, sp: sp, idx: map[netip.Addr]int32{}, prevIdx: -1}
}

// addCells decodes a source's cells of one day, "R,L=ids;R,L=ids" (see
// SourceHits).
func (sh *sourceHits) addCells(day int64, src, cells []byte) error {
	si, err := sh.source(src)
	if err != nil {
		return err
	}
	from := len(sh.packed[si])
	for len(cells) > 0 {
		cell := cells
		if i := bytes.IndexByte(cells, ';'); i >= 0 {
			cell, cells = cells[:i], cells[i+1:]
		} else {
			cells = nil
		}
		eq := bytes.IndexByte(cell, '=')
		var r, l int64
		comma := false
		for _, c := range cell[:max(eq, 0)] {
			switch {
			case c == ',' && !comma:
				comma = true
			case c < '0' || c > '9' || l > maxRef:
				eq = -1
			case comma:
				l = l*10 + int64(c-'0')
			default:
				r = r*10 + int64(c-'0')
			}
			if eq < 0 || r > maxRef {
				eq = -1
				break
			}
		}
		if eq <= 0 || !comma {
			return fmt.Errorf("bad src_day cell %q of day %d", cell, day)
		}
		if err := sh.add(day, si, int32(r), sh.rules.agents[int32(l)], cell[eq+1:]); err != nil {
			return err
		}
	}
	if sh.sortDays {
		// Days come in order, so sorting each day's part keeps the
		// source's hits sorted, at a fraction of the cost of sorting
		// them all.
		slices.Sort(sh.packed[si][from:])
	}
	return nil
}

// source returns the index of the source whose address blob is src.
func (sh *sourceHits) source(src []byte) (int32, error) {
	if sh.prevIdx >= 0 && string(src) == string(sh.prevSrc) {
		return sh.prevIdx, nil
	}
	addr, ok := addrFromBlob(src)
	if !ok {
		return 0, fmt.Errorf("bad source address blob %x", src)
	}
	si, ok := sh.idx[addr]
	if !ok {
		si = int32(len(sh.addrs))
		sh.idx[addr] = si
		sh.addrs = append(sh.addrs, addr)
		sh.packed = append(sh.packed, nil)
	}
	sh.prevSrc = append(sh.prevSrc[:0], src...)
	sh.prevIdx = si
	return si, nil
}

// add decodes one cell's ids (see appendCellID) into source si's hits.
func (sh *sourceHits) add(day int64, si, variant int32, fromAgent bool, ids []byte) error {
	ri, ok := sh.rules.index[variant]
	if !ok {
		return fmt.Errorf("src_day names rule variant %d, which the rules table lacks", variant)
	}
	if ri < 0 {
		return nil
	}
	if fromAgent {
		ri++
	}
	base := dayStart(day)
	hits := sh.packed[si]
	lo, hi := sh.sp.lo, sh.sp.hi
	// "S" or "S:N" items, comma-separated; N (the counter within the
	// second) is checked but does not matter here.
	var sec, n int64
	digits, nDigits := 0, 0
	inCount := false
	for i := 0; i <= len(ids); i++ {
		if i < len(ids) && ids[i] != ',' {
			switch c := ids[i]; {
			case c >= '0' && c <= '9' && inCount:
				n = n*10 + int64(c-'0')
				nDigits++
			case c >= '0' && c <= '9':
				sec = sec*10 + int64(c-'0')
				digits++
			case c == ':' && !inCount && digits > 0:
				inCount = true
			default:
				return badIDs(day, ids)
			}
			if sec > 2*86400 || n > idCounterMask {
				return badIDs(day, ids)
			}
			continue
		}
		if digits == 0 || (inCount && nDigits == 0) {
			return badIDs(day, ids)
		}
		if t := base + sec; t >= lo && t < hi {
			hits = append(hits, uint64(t-minTime)<<hitRuleBits|uint64(ri))
		}
		sec, n, digits, nDigits, inCount = 0, 0, 0, 0, false
	}
	sh.packed[si] = hits
	return nil
}

func badIDs(day int64, ids []byte) error {
	return fmt.Errorf("bad alert id list %q in src_day of day %d", ids, day)
}

// each sorts each source's hits by time and calls fn, sources in address
// order. hits is reused between calls.
func (sh *sourceHits) each(fn func(rules []cadence.Rule, src netip.Addr, hits []cadence.Hit) error) error {
	order := make([]int32, len(sh.addrs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return sh.addrs[a].Compare(sh.addrs[b]) })
	var hits []cadence.Hit
	for _, i := range order {
		p := sh.packed[i]
		if len(p) == 0 {
			continue
		}
		hits = sh.hits(i, hits[:0])
		if err := fn(sh.rules.table, sh.addrs[i], hits); err != nil {
			return err
		}
		sh.packed[i] = nil
	}
	return nil
}

// hits appends source i's hits, sorted by time, to out.
func (sh *sourceHits) hits(i int32, out []cadence.Hit) []cadence.Hit {
	p := sh.packed[i]
	if !slices.IsSorted(p) {
		sortHits(p)
	}
	out = slices.Grow(out, len(p))
	for _, v := range p {
		out = append(out, cadence.Hit{Time: int64(v>>hitRuleBits) + minTime, Rule: int32(v & (1<<hitRuleBits - 1))})
	}
	return out
}

// sortHits orders packed hits by time (the order of hits of one second
// does not matter). Many hits are sorted by radix on the time, in 11-bit
// digits from the lowest: a busy source's 300,000 hits in a few passes
// over them, where a comparison sort makes twenty.
func sortHits(p []uint64) {
	if len(p) < 4096 {
		slices.Sort(p)
		return
	}
	lo, hi := p[0]>>hitRuleBits, p[0]>>hitRuleBits
	for _, v := range p {
		lo, hi = min(lo, v>>hitRuleBits), max(hi, v>>hitRuleBits)
	}
	const bits = 11
	tmp := make([]uint64, len(p))
	src, dst := p, tmp
	for shift := 0; (hi-lo)>>shift > 0; shift += bits {
		var count [1<<bits + 1]int
		for _, v := range src {
			count[((v>>hitRuleBits-lo)>>shift)&(1<<bits-1)+1]++
		}
		for d := 1; d < len(count); d++ {
			count[d] += count[d-1]
		}
		for _, v := range src {
			d := ((v>>hitRuleBits - lo) >> shift) & (1<<bits - 1)
			dst[count[d]] = v
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &p[0] {
		copy(p, src)
	}
}

// cellBatch holds rows of SourceHits's query copied out of the driver.
type cellBatch struct {
	day        []int64
	bytes      []byte
	src, cells []int32 // end offsets in bytes
}

const batchRows = 1024

// scanCells reads rows into batches from free and sends them on full,
// until the rows end or done is closed.
func scanCells(rows *sql.Rows, full, free chan *cellBatch, done chan struct{}) error {
	var (
		day        int64
		src, cells sql.RawBytes
	)
	var b *cellBatch
	for rows.Next() {
		if b == nil {
			select {
			case b = <-free:
			case <-done:
				return nil
			}
			b.day, b.bytes, b.src, b.cells = b.day[:0], b.bytes[:0], b.src[:0], b.cells[:0]
		}
		if err := rows.Scan(&day, &src, &cells); err != nil {
			return err
		}
		b.day = append(b.day, day)
		b.bytes = append(b.bytes, src...)
		b.src = append(b.src, int32(len(b.bytes)))
		b.bytes = append(b.bytes, cells...)
		b.cells = append(b.cells, int32(len(b.bytes)))
		if len(b.day) == batchRows {
			full <- b
			b = nil
		}
	}
	if b != nil {
		full <- b
	}
	return rows.Err()
}

func (b *cellBatch) decode(sh *sourceHits) error {
	var start int32
	for i, day := range b.day {
		src, cells := b.bytes[start:b.src[i]], b.bytes[b.src[i]:b.cells[i]]
		start = b.cells[i]
		if err := sh.addCells(day, src, cells); err != nil {
			return err
		}
	}
	return nil
}

// dayRange returns the days [d0, d1) whose cells may hold alerts of sp.
func (sp span) dayRange() (d0, d1 int64) {
	d0, d1 = dayOf(sp.lo), dayOf(sp.hi-1)+1
	if sp.hi == openHi {
		d1 = dayOf(openHi) + 1
	}
	return d0, d1
}

// SourceHits calls fn for each source with alerts that f selects, in
// address order, with the store's rule variants (the same table at each
// call) and the source's alerts ordered by time, for cadence.Analyzer.
// hits is valid only during the call. The answer is one state of the store.
func (s *Store) SourceHits(ctx context.Context, f analytics.Filter, fn func(rules []cadence.Rule, src netip.Addr, hits []cadence.Hit) error) error {
	var sh *sourceHits
	err := s.read(ctx, func(sn snap) error {
		sp := filterSpan(f)
		if sp.empty() {
			return nil
		}
		rules, err := sn.hitRules(ctx, f)
		if err != nil || len(rules.table) == 0 {
			return err
		}
		sh = newSourceHits(rules, sp)
		sh.sortDays = true
		d0, d1 := sp.dayRange()
		// Each row and column read through the driver costs: the cells
		// of one source and day come as one row, "R,L=ids;R,L=ids" for
		// rule variant R and location L. src_day's key order makes the
		// grouping and the order a scan, not a sort.
		rows, err := sn.tx.QueryContext(ctx, "SELECT day, src, group_concat(rule || ',' || location || '=' || ids, ';')"+
			" FROM src_day WHERE day >= ? AND day < ?"+rules.sqlIn+" GROUP BY day, src ORDER BY day, src", d0, d1)
		if err != nil {
			return err
		}
		defer rows.Close()
		// The driver's work and the decoding share the two cores: rows
		// are copied into batches that this goroutine decodes while the
		// scanner reads on.
		full, free := make(chan *cellBatch, 4), make(chan *cellBatch, 4)
		for range cap(free) {
			free <- &cellBatch{}
		}
		done := make(chan struct{})
		scanErr := make(chan error, 1)
		go func() {
			defer close(full)
			scanErr <- scanCells(rows, full, free, done)
		}()
		var decodeErr error
		for b := range full {
			if decodeErr == nil {
				decodeErr = b.decode(sh)
				if decodeErr != nil {
					close(done)
				}
			}
			free <- b
		}
		if decodeErr != nil {
			<-scanErr
			return decodeErr
		}
		return <-scanErr
	})
	if err == nil && sh != nil {
		err = sh.each(fn)
	}
	if err != nil {
		return fmt.Errorf("source alert times from %s: %w", s.path, err)
	}
	return nil
}

// SourceHitsOf returns addr's alerts that f selects, ordered by time, with
// the rule table they index: what SourceHits gives for that one source,
// from the cells of the days it was active only.
func (s *Store) SourceHitsOf(ctx context.Context, addr netip.Addr, f analytics.Filter) ([]cadence.Rule, []cadence.Hit, error) {
	if !addr.IsValid() {
		return nil, nil, fmt.Errorf("source alert times from %s: invalid address", s.path)
	}
	addr = normAddr(addr)
	var rules []cadence.Rule
	var hits []cadence.Hit
	err := s.read(ctx, func(sn snap) error {
		sp := filterSpan(f)
		if sp.empty() {
			return nil
		}
		hr, err := sn.hitRules(ctx, f)
		if err != nil || len(hr.table) == 0 {
			return err
		}
		src := addrBlob(addr)
		// The source's own first and last alert narrow the days to visit;
		// its count sizes the result.
		var lo, hi, n sql.NullInt64
		if err := sn.tx.QueryRowContext(ctx, "SELECT min(first), max(last), sum(count) FROM src_rule WHERE src = ?", src).Scan(&lo, &hi, &n); err != nil {
			return err
		}
		found := lo.Valid
		err = sn.unfolded(ctx, func(k srcRuleKey, a agg) {
			if k.src != addr {
				return
			}
			if !found {
				lo.Int64, hi.Int64, found = a.first, a.last, true
			}
			lo.Int64, hi.Int64 = min(lo.Int64, a.first), max(hi.Int64, a.last)
			n.Int64 += a.count
		})
		if err != nil || !found {
			return err
		}
		sp.lo, sp.hi = max(sp.lo, lo.Int64), min(sp.hi, hi.Int64+1)
		if sp.empty() {
			return nil
		}
		sh := newSourceHits(hr, sp)
		si, err := sh.source(src)
		if err != nil {
			return err
		}
		sh.packed[si] = make([]uint64, 0, min(n.Int64, 1<<24))
		d0, d1 := sp.dayRange()
		// One primary-key seek per day, as reportDays, and a day's cells
		// in one row as SourceHits reads them: a busy source has
		// thousands of cells, each row through the driver costs.
		rows, err := sn.tx.QueryContext(ctx, `WITH RECURSIVE d(day) AS (SELECT ? UNION ALL SELECT day + 1 FROM d WHERE day + 1 < ?)
			SELECT d.day, (SELECT group_concat(rule || ',' || location || '=' || ids, ';') FROM src_day
				WHERE day = d.day AND src = ?`+hr.sqlIn+`) FROM d`, d0, d1, src)
		if err != nil {
			return err
		}
		defer rows.Close()
		var (
			day   int64
			cells sql.RawBytes
		)
		for rows.Next() {
			if err := rows.Scan(&day, &cells); err != nil {
				return err
			}
			if err := sh.addCells(day, src, cells); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rules, hits = hr.table, sh.hits(si, nil)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("alert times of %s from %s: %w", addr, s.path, err)
	}
	return rules, hits, nil
}
