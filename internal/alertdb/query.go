package alertdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/analytics"
)

// Checkpoint returns where the last committed import of source stopped.
// found is false when source was never committed.
func (s *Store) Checkpoint(ctx context.Context, source string) (cp Checkpoint, found bool, err error) {
	var pos string
	err = s.db.QueryRowContext(ctx, "SELECT byte_offset, line, positions, detail FROM checkpoints WHERE source = ?", source).
		Scan(&cp.Offset, &cp.Line, &pos, &cp.Detail)
	if errors.Is(err, sql.ErrNoRows) {
		return Checkpoint{}, false, nil
	}
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("read checkpoint %q from %s: %w", source, s.path, err)
	}
	if pos != "" && pos != "{}" {
		if err := json.Unmarshal([]byte(pos), &cp.Positions); err != nil {
			return Checkpoint{}, false, fmt.Errorf("read checkpoint %q from %s: positions %q: %w", source, s.path, pos, err)
		}
	}
	return cp, true, nil
}

// ImportRecord is one finished import, kept for the import history.
type ImportRecord struct {
	Source     string
	Started    time.Time
	Finished   time.Time
	Added      int64
	Duplicates int64
	Malformed  int64
}

// RecordImport appends r to the import history.
func (s *Store) RecordImport(ctx context.Context, r ImportRecord) error {
	if r.Source == "" {
		return errors.New("record import: empty source")
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO imports (source, started, finished, added, duplicates, malformed)
		VALUES (?, ?, ?, ?, ?, ?)`, r.Source, r.Started.UnixNano(), r.Finished.UnixNano(), r.Added, r.Duplicates, r.Malformed)
	if err != nil {
		return fmt.Errorf("record import of %q in %s: %w", r.Source, s.path, err)
	}
	return nil
}

// Imports returns the import history, newest first, of source (all sources
// when source is empty), at most limit records (all when limit <= 0).
func (s *Store) Imports(ctx context.Context, source string, limit int) ([]ImportRecord, error) {
	q := "SELECT source, started, finished, added, duplicates, malformed FROM imports"
	var args []any
	if source != "" {
		q += " WHERE source = ?"
		args = append(args, source)
	}
	q += " ORDER BY started DESC, id DESC"
	if limit > 0 {
		q += " LIMIT " + strconv.Itoa(limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read import history from %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []ImportRecord
	for rows.Next() {
		var r ImportRecord
		var started, finished int64
		if err := rows.Scan(&r.Source, &started, &finished, &r.Added, &r.Duplicates, &r.Malformed); err != nil {
			return nil, fmt.Errorf("read import history from %s: %w", s.path, err)
		}
		r.Started, r.Finished = time.Unix(0, started).UTC(), time.Unix(0, finished).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read import history from %s: %w", s.path, err)
	}
	return out, nil
}

// Count returns the number of stored alerts.
func (s *Store) Count(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT alerts FROM totals WHERE id = 1").Scan(&n); err != nil {
		return 0, fmt.Errorf("count alerts in %s: %w", s.path, err)
	}
	return n, nil
}

// Days are those of analytics and of the alerts_day_src index: time / 86400
// truncated toward zero, as Go and SQLite divide. Before 1970 that makes day
// 0 two days long; dayStart keeps every day a contiguous range regardless.
func dayOf(t int64) int64 { return t / 86400 }

// dayStart returns the first second of day d.
func dayStart(d int64) int64 {
	switch {
	case d > 0:
		return d * 86400
	case d == 0:
		return -86399
	default:
		return (d-1)*86400 + 1
	}
}

// Open ends of a time range, far beyond any alert yet safe from overflow in
// day arithmetic.
const (
	openLo = -1 << 52
	openHi = 1 << 52
)

// span is the half-open range [lo, hi) of Unix seconds a Filter selects.
// Alert times are whole seconds, so a bound with a fraction rounds up.
type span struct{ lo, hi int64 }

func filterSpan(f analytics.Filter) span {
	sp := span{openLo, openHi}
	if !f.Since.IsZero() {
		sp.lo = ceilUnix(f.Since)
	}
	if !f.Until.IsZero() {
		sp.hi = ceilUnix(f.Until)
	}
	return sp
}

func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return min(max(s, openLo), openHi)
}

func (sp span) empty() bool { return sp.lo >= sp.hi }

// split divides sp into whole days [d0, d1), answered from rollups, and the
// partial days at its edges, answered from raw alerts.
func (sp span) split() (d0, d1 int64, edges []span) {
	if sp.empty() {
		return 0, 0, nil
	}
	d0 = dayOf(sp.lo)
	if sp.lo == openLo {
		d0 = dayOf(openLo)
	} else if dayStart(d0) != sp.lo {
		d0++
	}
	d1 = dayOf(sp.hi)
	if sp.hi == openHi {
		d1 = dayOf(openHi) + 1
	}
	if d0 >= d1 {
		return 0, 0, []span{sp}
	}
	if sp.lo < dayStart(d0) {
		edges = append(edges, span{sp.lo, dayStart(d0)})
	}
	if sp.hi != openHi && dayStart(d1) < sp.hi {
		edges = append(edges, span{dayStart(d1), sp.hi})
	}
	return d0, d1, edges
}

// snap is one read transaction: the queries of one answer see one state of
// the store, even while a writer commits.
type snap struct{ tx *sql.Tx }

func (s *Store) read(ctx context.Context, fn func(snap) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(snap{tx})
}

// unfolded calls fn for each src_rule delta not folded into src_rule yet.
func (sn snap) unfolded(ctx context.Context, fn func(srcRuleKey, agg)) error {
	rows, err := sn.tx.QueryContext(ctx, "SELECT deltas FROM src_rule_log")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var b sql.RawBytes
		if err := rows.Scan(&b); err != nil {
			return err
		}
		if err := decodeDeltas(b, fn); err != nil {
			return err
		}
	}
	return rows.Err()
}

// idOf returns the first alert id of second t (see the schema).
func idOf(t int64) int64 { return min(max(t, minTime), maxTime+1) << idCounterBits }

type ruleInfo struct {
	ruleID int
	level  int
	desc   string
}

// ruleSet is the rule table and which of its variants a filter selects.
type ruleSet struct {
	info    map[int32]ruleInfo
	allowed map[int32]bool
	all     bool
	sqlIn   string // " AND <col> IN (...)", or "" when every variant is selected
}

func (sn snap) rules(ctx context.Context, f analytics.Filter) (*ruleSet, error) {
	rows, err := sn.tx.QueryContext(ctx, "SELECT id, rule_id, level, description FROM rules")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	rs := &ruleSet{info: map[int32]ruleInfo{}, allowed: map[int32]bool{}}
	var ids []string
	for rows.Next() {
		var id int32
		var ri ruleInfo
		if err := rows.Scan(&id, &ri.ruleID, &ri.level, &ri.desc); err != nil {
			return nil, err
		}
		rs.info[id] = ri
		if ri.level >= f.MinLevel && (f.RuleID == 0 || ri.ruleID == f.RuleID) {
			rs.allowed[id] = true
			ids = append(ids, strconv.Itoa(int(id)))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rs.all = len(ids) == len(rs.info)
	if !rs.all {
		rs.sqlIn = " AND rule IN (" + strings.Join(ids, ",") + ")"
	}
	return rs, nil
}

func (rs *ruleSet) none() bool { return len(rs.allowed) == 0 }

// srcAcc accumulates one source for TopSources.
type srcAcc struct {
	count       int64
	first, last int64
	maxLevel    int
	rules       []int // distinct rule ids
}

func (a *srcAcc) add(n, first, last int64, ri ruleInfo) {
	if a.count == 0 {
		a.first, a.last, a.maxLevel = first, last, ri.level
	} else {
		a.first, a.last, a.maxLevel = min(a.first, first), max(a.last, last), max(a.maxLevel, ri.level)
	}
	a.count += n
	if !slices.Contains(a.rules, ri.ruleID) {
		a.rules = append(a.rules, ri.ruleID)
	}
}

func (a *srcAcc) result(addr netip.Addr) analytics.SourceCount {
	return analytics.SourceCount{
		Addr: addr, Count: a.count,
		FirstSeen: time.Unix(a.first, 0).UTC(), LastSeen: time.Unix(a.last, 0).UTC(),
		MaxLevel: a.maxLevel, Rules: len(a.rules),
	}
}

func addrFromBlob(b []byte) (netip.Addr, bool) {
	a, ok := netip.AddrFromSlice(b)
	return a, ok
}

func addrBlob(a netip.Addr) []byte { return a.AsSlice() }

// TopSources aggregates the alerts f selects by source address, as
// analytics.Counter does; alerts without a source are left out. The result
// is ordered as analytics.Finish orders it; pass it to Finish for scope,
// threshold and limit.
func (s *Store) TopSources(ctx context.Context, f analytics.Filter) ([]analytics.SourceCount, error) {
	var out []analytics.SourceCount
	err := s.read(ctx, func(sn snap) error {
		var err error
		out, err = sn.topSources(ctx, f)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("top sources from %s: %w", s.path, err)
	}
	return analytics.Finish(out, analytics.Selection{}), nil
}

func (sn snap) topSources(ctx context.Context, f analytics.Filter) ([]analytics.SourceCount, error) {
	out := []analytics.SourceCount{}
	sp := filterSpan(f)
	if sp.empty() {
		return out, nil
	}
	rs, err := sn.rules(ctx, f)
	if err != nil {
		return nil, err
	}
	if rs.none() {
		return out, nil
	}
	if sp.lo == openLo && sp.hi == openHi {
		return sn.topAllTime(ctx, rs, out)
	}
	accs := map[netip.Addr]*srcAcc{}
	d0, d1, edges := sp.split()
	if d0 < d1 {
		rows, err := sn.tx.QueryContext(ctx, "SELECT src, rule, count, first, last FROM src_day WHERE day >= ? AND day < ?"+rs.sqlIn, d0, d1)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		if err := accumulate(rows, rs, accs); err != nil {
			return nil, err
		}
	}
	for _, e := range edges {
		rows, err := sn.tx.QueryContext(ctx, "SELECT src_ip, rule, 1, time, time FROM alerts WHERE id >= ? AND id < ? AND src_ip IS NOT NULL"+rs.sqlIn,
			idOf(e.lo), idOf(e.hi))
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		if err := accumulate(rows, rs, accs); err != nil {
			return nil, err
		}
	}
	for addr, a := range accs {
		out = append(out, a.result(addr))
	}
	return out, nil
}

// topAllTime answers a filter without time bounds from src_rule, whose rows
// come grouped by source, plus the alerts not folded into it yet.
func (sn snap) topAllTime(ctx context.Context, rs *ruleSet, out []analytics.SourceCount) ([]analytics.SourceCount, error) {
	tail := map[netip.Addr]*srcAcc{}
	err := sn.unfolded(ctx, func(k srcRuleKey, a agg) {
		if !rs.allowed[k.rule] {
			return
		}
		t := tail[k.src]
		if t == nil {
			t = &srcAcc{}
			tail[k.src] = t
		}
		t.add(a.count, a.first, a.last, rs.info[k.rule])
	})
	if err != nil {
		return nil, err
	}
	if len(tail) == 0 && rs.sqlIn == "" {
		return sn.topTotals(ctx, out)
	}
	rows, err := sn.tx.QueryContext(ctx, "SELECT src, rule, count, first, last FROM src_rule WHERE 1"+rs.sqlIn)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		src, prev sql.RawBytes
		rule      int32
		n, f, l   int64
		acc       srcAcc
		have      bool
		prevBuf   [16]byte
	)
	flush := func() error {
		addr, ok := addrFromBlob(prev)
		if !ok {
			return fmt.Errorf("bad source address blob %x", []byte(prev))
		}
		if t := tail[addr]; t != nil {
			for _, r := range t.rules {
				if !slices.Contains(acc.rules, r) {
					acc.rules = append(acc.rules, r)
				}
			}
			t.rules = acc.rules
			acc.first, acc.last = min(acc.first, t.first), max(acc.last, t.last)
			acc.maxLevel, acc.count = max(acc.maxLevel, t.maxLevel), acc.count+t.count
			delete(tail, addr)
		}
		out = append(out, acc.result(addr))
		acc = srcAcc{rules: acc.rules[:0]}
		return nil
	}
	for rows.Next() {
		if err := rows.Scan(&src, &rule, &n, &f, &l); err != nil {
			return nil, err
		}
		if have && string(src) != string(prev) {
			if err := flush(); err != nil {
				return nil, err
			}
		}
		if !have || string(src) != string(prev) {
			prev = append(prevBuf[:0], src...)
			have = true
		}
		acc.add(n, f, l, rs.info[rule])
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if have {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	for addr, t := range tail {
		out = append(out, t.result(addr))
	}
	return out, nil
}

// topTotals answers an unfiltered top from src_total, when nothing is left
// unfolded (src_total then equals src_rule aggregated by source).
func (sn snap) topTotals(ctx context.Context, out []analytics.SourceCount) ([]analytics.SourceCount, error) {
	rows, err := sn.tx.QueryContext(ctx, "SELECT src, count, first, last, level, rules FROM src_total")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var (
		src                    sql.RawBytes
		n, f, l, level, nRules int64
	)
	for rows.Next() {
		if err := rows.Scan(&src, &n, &f, &l, &level, &nRules); err != nil {
			return nil, err
		}
		addr, ok := addrFromBlob(src)
		if !ok {
			return nil, fmt.Errorf("bad source address blob %x", []byte(src))
		}
		out = append(out, analytics.SourceCount{Addr: addr, Count: n, FirstSeen: time.Unix(f, 0).UTC(), LastSeen: time.Unix(l, 0).UTC(),
			MaxLevel: int(level), Rules: int(nRules)})
	}
	return out, rows.Err()
}

// accumulate adds rows of (source, rule, count, first, last) to accs.
func accumulate(rows *sql.Rows, rs *ruleSet, accs map[netip.Addr]*srcAcc) error {
	var src sql.RawBytes
	var rule int32
	var n, first, last int64
	for rows.Next() {
		if err := rows.Scan(&src, &rule, &n, &first, &last); err != nil {
			return err
		}
		addr, ok := addrFromBlob(src)
		if !ok {
			return fmt.Errorf("bad source address blob %x", []byte(src))
		}
		a := accs[addr]
		if a == nil {
			a = &srcAcc{}
			accs[addr] = a
		}
		a.add(n, first, last, rs.info[rule])
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}

// reportAcc accumulates one source's report.
type reportAcc struct {
	rs          *ruleSet
	count       int64
	first, last int64
	byRule      map[int]*ruleAcc
	byLevel     map[int]int64
	byLoc       map[int32]int64
	byDay       map[int64]int64
}

// ruleAcc counts one rule id. Like analytics.ReportBuilder, a report names
// a rule by the variant (level, description) of its earliest alert; among
// alerts of that second, the first imported.
type ruleAcc struct {
	count  int64
	ref    int32 // the variant of the earliest alert seen so far
	firstT int64
	firstD int64
	id     int64 // alert id of ref's earliest alert; 0 when from a rollup
	tie    bool  // another variant has an alert in the same second
}

func (r *reportAcc) add(day int64, rule, loc int32, n, first, last, id int64) {
	if r.count == 0 {
		r.first, r.last = first, last
	} else {
		r.first, r.last = min(r.first, first), max(r.last, last)
	}
	r.count += n
	ri := r.rs.info[rule]
	ra := r.byRule[ri.ruleID]
	switch {
	case ra == nil:
		ra = &ruleAcc{ref: rule, firstT: first, firstD: day, id: id}
		r.byRule[ri.ruleID] = ra
	case first < ra.firstT:
		ra.ref, ra.firstT, ra.firstD, ra.id, ra.tie = rule, first, day, id, false
	case first == ra.firstT && rule != ra.ref:
		if id != 0 && ra.id != 0 {
			if id < ra.id {
				ra.ref, ra.id = rule, id
			}
		} else {
			ra.tie = true
		}
	}
	ra.count += n
	r.byLevel[ri.level] += n
	r.byLoc[loc] += n
	r.byDay[day] += n
}

// resolveTies settles, from the raw alerts, which variant of a rule came
// first where rollups only say that several share the earliest second.
func (sn snap) resolveTies(ctx context.Context, acc *reportAcc, src []byte) error {
	for ruleID, ra := range acc.byRule {
		if !ra.tie {
			continue
		}
		var refs []string
		for ref, ri := range acc.rs.info {
			if ri.ruleID == ruleID && acc.rs.allowed[ref] {
				refs = append(refs, strconv.Itoa(int(ref)))
			}
		}
		cells, err := sn.cells(ctx, ra.firstD, src, " AND rule IN ("+strings.Join(refs, ",")+")")
		if err != nil {
			return err
		}
		err = sn.tx.QueryRowContext(ctx, "SELECT rule FROM alerts WHERE id IN ("+joinIDs(cells)+") AND time = ? ORDER BY id LIMIT 1",
			ra.firstT).Scan(&ra.ref)
		if err != nil {
			return fmt.Errorf("first variant of rule %d: %w", ruleID, err)
		}
	}
	return nil
}

// cell is a src_day row.
type cell struct {
	rule, loc   int32
	count       int64
	first, last int64
	ids         []int64
}

// cells returns src's cells of day, of the rules ruleIn selects.
func (sn snap) cells(ctx context.Context, day int64, src []byte, ruleIn string) ([]cell, error) {
	rows, err := sn.tx.QueryContext(ctx, "SELECT rule, location, count, first, last, ids FROM src_day WHERE day = ? AND src = ?"+ruleIn, day, src)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []cell
	for rows.Next() {
		var c cell
		var ids sql.RawBytes
		if err := rows.Scan(&c.rule, &c.loc, &c.count, &c.first, &c.last, &ids); err != nil {
			return nil, err
		}
		if c.ids, err = parseCellIDs(nil, day, string(ids)); err != nil {
			return nil, fmt.Errorf("src_day of day %d: %w", day, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// joinIDs lists the cells' alert ids for an IN (...) clause.
func joinIDs(cells []cell) string {
	var b []byte
	for _, c := range cells {
		for _, id := range c.ids {
			if len(b) > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, id, 10)
		}
	}
	return string(b)
}

// SourceReport returns addr's history over the alerts f selects, as
// analytics.ReportBuilder builds it, with the limit newest alerts (newest
// first; alerts of the same second in import order).
func (s *Store) SourceReport(ctx context.Context, addr netip.Addr, f analytics.Filter, limit int) (analytics.SourceReport, error) {
	if !addr.IsValid() {
		return analytics.SourceReport{}, fmt.Errorf("source report from %s: invalid address", s.path)
	}
	addr = normAddr(addr)
	var r analytics.SourceReport
	err := s.read(ctx, func(sn snap) error {
		var err error
		r, err = sn.sourceReport(ctx, addr, f, limit)
		return err
	})
	if err != nil {
		return analytics.SourceReport{}, fmt.Errorf("source report for %s from %s: %w", addr, s.path, err)
	}
	return r, nil
}

func (sn snap) sourceReport(ctx context.Context, addr netip.Addr, f analytics.Filter, limit int) (analytics.SourceReport, error) {
	rep := analytics.SourceReport{Addr: addr}
	sp := filterSpan(f)
	if sp.empty() {
		return rep, nil
	}
	rs, err := sn.rules(ctx, f)
	if err != nil || rs.none() {
		return rep, err
	}
	src := addrBlob(addr)
	// The source's own first and last alert narrow the days to visit.
	var lo, hi int64
	var found bool
	rows, err := sn.tx.QueryContext(ctx, "SELECT rule, first, last FROM src_rule WHERE src = ?"+rs.sqlIn, src)
	if err != nil {
		return rep, err
	}
	for rows.Next() {
		var rule int32
		var first, last int64
		if err := rows.Scan(&rule, &first, &last); err != nil {
			rows.Close()
			return rep, err
		}
		if !found {
			lo, hi, found = first, last, true
		}
		lo, hi = min(lo, first), max(hi, last)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return rep, err
	}
	// Alerts not folded into src_rule yet.
	err = sn.unfolded(ctx, func(k srcRuleKey, a agg) {
		if k.src != addr || !rs.allowed[k.rule] {
			return
		}
		if !found {
			lo, hi, found = a.first, a.last, true
		}
		lo, hi = min(lo, a.first), max(hi, a.last)
	})
	if err != nil {
		return rep, err
	}
	if !found {
		return rep, nil
	}
	sp.lo, sp.hi = max(sp.lo, lo), min(sp.hi, hi+1)
	if sp.empty() {
		return rep, nil
	}
	acc := &reportAcc{rs: rs, byRule: map[int]*ruleAcc{}, byLevel: map[int]int64{}, byLoc: map[int32]int64{}, byDay: map[int64]int64{}}
	d0, d1, edges := sp.split()
	if d0 < d1 {
		if err := sn.reportDays(ctx, acc, src, d0, d1); err != nil {
			return rep, err
		}
	}
	for _, e := range edges {
		if err := sn.reportRaw(ctx, acc, src, e); err != nil {
			return rep, err
		}
	}
	if acc.count == 0 {
		return rep, nil
	}
	if err := sn.resolveTies(ctx, acc, src); err != nil {
		return rep, err
	}
	locs, err := sn.locationNames(ctx, acc.byLoc)
	if err != nil {
		return rep, err
	}
	rep.Count = acc.count
	rep.FirstSeen, rep.LastSeen = time.Unix(acc.first, 0).UTC(), time.Unix(acc.last, 0).UTC()
	for id, ra := range acc.byRule {
		ri := rs.info[ra.ref]
		rep.ByRule = append(rep.ByRule, analytics.RuleCount{RuleID: id, Description: ri.desc, Level: ri.level, Count: ra.count})
	}
	for l, n := range acc.byLevel {
		rep.ByLevel = append(rep.ByLevel, analytics.LevelCount{Level: l, Count: n})
	}
	// Different ids never share a raw location (it is UNIQUE), so no merge.
	for id, n := range acc.byLoc {
		rep.ByLocation = append(rep.ByLocation, analytics.LocationCount{Location: locs[id], Count: n})
	}
	for d, n := range acc.byDay {
		rep.ByDay = append(rep.ByDay, analytics.DayCount{Day: time.Unix(d*86400, 0).UTC(), Count: n})
	}
	if limit > 0 {
		if rep.Alerts, err = sn.newest(ctx, rs, src, sp, acc.byDay, locs, limit); err != nil {
			return rep, err
		}
	}
	analytics.SortReport(&rep)
	return rep, nil
}

// reportDays adds the rollups of whole days [d0, d1) for src. The recursive
// CTE turns the day range into one primary-key seek per day.
func (sn snap) reportDays(ctx context.Context, acc *reportAcc, src []byte, d0, d1 int64) error {
	rows, err := sn.tx.QueryContext(ctx, `WITH RECURSIVE d(day) AS (SELECT ? UNION ALL SELECT day + 1 FROM d WHERE day + 1 < ?)
		SELECT s.day, s.rule, s.location, s.count, s.first, s.last FROM d JOIN src_day AS s ON s.day = d.day AND s.src = ?`+
		strings.ReplaceAll(acc.rs.sqlIn, "rule", "s.rule"), d0, d1, src)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var day, n, first, last int64
		var rule, loc int32
		if err := rows.Scan(&day, &rule, &loc, &n, &first, &last); err != nil {
			return err
		}
		acc.add(day, rule, loc, n, first, last, 0)
	}
	return rows.Err()
}

// reportRaw adds src's alerts in e, a part of one or two days, from the
// cells of those days: whole cells where they fall inside e, their alerts
// one by one where they straddle its edge.
func (sn snap) reportRaw(ctx context.Context, acc *reportAcc, src []byte, e span) error {
	for d := dayOf(e.lo); d <= dayOf(e.hi-1); d++ {
		cells, err := sn.cells(ctx, d, src, acc.rs.sqlIn)
		if err != nil {
			return err
		}
		straddle := cells[:0]
		for _, c := range cells {
			switch {
			case c.first >= e.lo && c.last < e.hi:
				acc.add(d, c.rule, c.loc, c.count, c.first, c.last, 0)
			case c.last < e.lo || c.first >= e.hi:
			default:
				straddle = append(straddle, c)
			}
		}
		if len(straddle) == 0 {
			continue
		}
		rows, err := sn.tx.QueryContext(ctx, "SELECT id, time, rule, location FROM alerts WHERE id IN ("+joinIDs(straddle)+
			") AND id >= ? AND id < ?", idOf(e.lo), idOf(e.hi))
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, t int64
			var rule, loc int32
			if err := rows.Scan(&id, &t, &rule, &loc); err != nil {
				rows.Close()
				return err
			}
			acc.add(d, rule, loc, 1, t, t, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

func (sn snap) locationNames(ctx context.Context, ids map[int32]int64) (map[int32]string, error) {
	rows, err := sn.tx.QueryContext(ctx, "SELECT id, raw FROM locations")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int32]string, len(ids))
	for rows.Next() {
		var id int32
		var raw string
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, err
		}
		out[id] = raw
	}
	return out, rows.Err()
}

// newest reads the limit newest alerts of src in sp, walking back through
// the days that have some.
func (sn snap) newest(ctx context.Context, rs *ruleSet, src []byte, sp span, byDay map[int64]int64, locs map[int32]string, limit int) ([]analytics.AlertLine, error) {
	days := make([]int64, 0, len(byDay))
	for d := range byDay {
		days = append(days, d)
	}
	slices.Sort(days)
	var out []analytics.AlertLine
	for i := len(days) - 1; i >= 0 && len(out) < limit; i-- {
		d := days[i]
		cells, err := sn.cells(ctx, d, src, rs.sqlIn)
		if err != nil {
			return nil, err
		}
		if len(cells) == 0 {
			continue
		}
		rows, err := sn.tx.QueryContext(ctx, "SELECT time, rule, location, log FROM alerts WHERE id IN ("+joinIDs(cells)+
			") AND id >= ? AND id < ? ORDER BY time DESC, id DESC LIMIT ?", idOf(sp.lo), idOf(sp.hi), limit-len(out))
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var t int64
			var rule, loc int32
			var log string
			if err := rows.Scan(&t, &rule, &loc, &log); err != nil {
				rows.Close()
				return nil, err
			}
			ri := rs.info[rule]
			out = append(out, analytics.AlertLine{Time: time.Unix(t, 0).UTC(), RuleID: ri.ruleID, Level: ri.level, Location: locs[loc], Log: log})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
