package alertdb

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// This file is the Writer's SQL goroutine: deduplication, inserts, rollups
// and commits, on the writer's own connection.

// sqlSide is the state of the SQL goroutine.
type sqlSide struct {
	w       *Writer
	inTx    bool
	stmts   map[stmtKey]*sql.Stmt
	args    []any
	blobs   []byte
	seen    map[timeKey]struct{}
	times   []int64
	cells   map[cellKey]int32
	cellAgg []cellAgg
	// days counts this transaction's alerts per alert_day cell, with or
	// without a source.
	days    map[dayKey]int64
	next    map[int64]int64      // per second of the current chunk: the next id counter
	srcRule map[srcRuleKey]int32 // this transaction's src_rule deltas
	srAgg   []agg
	// Committed src_rule deltas not yet folded into src_rule.
	unfolded         map[srcRuleKey]agg
	unfoldedAlerts   int64
	commitsSinceFold int
	pendAdd          int64
	pendDup          int64
}

type timeKey struct{ time, key int64 }

type cellKey struct {
	day       int64
	src       netip.Addr
	rule, loc int32
}

type srcRuleKey struct {
	src  netip.Addr
	rule int32
}

type agg struct {
	count       int64
	first, last int64
}

// cellAgg is a src_day delta: the counts and the new alerts' ids.
type cellAgg struct {
	agg
	ids []byte // comma-separated decimal ids
}

func (a *agg) merge(b agg) {
	if b.count == 0 {
		return
	}
	if a.count == 0 {
		*a = b
		return
	}
	a.count += b.count
	a.first, a.last = min(a.first, b.first), max(a.last, b.last)
}

func (a *agg) add(t int64) {
	if a.count == 0 || t < a.first {
		a.first = t
	}
	if a.count == 0 || t > a.last {
		a.last = t
	}
	a.count++
}

func (q *sqlSide) init(w *Writer) {
	q.w = w
	q.stmts = map[stmtKey]*sql.Stmt{}
	q.seen = map[timeKey]struct{}{}
	q.cells = map[cellKey]int32{}
	q.days = map[dayKey]int64{}
	q.srcRule = map[srcRuleKey]int32{}
	q.unfolded = map[srcRuleKey]agg{}
	q.next = map[int64]int64{}
}

func (w *Writer) run() {
	q := &w.sql
	defer close(w.exited)
	defer q.closeStmts()
	for m := range w.work {
		switch {
		case m.c != nil:
			if w.failure() == nil {
				if err := q.insertChunk(m.c); err != nil {
					q.fail(err)
				}
			}
			w.putChunk(m.c)
		case m.commit:
			if err := w.failure(); err != nil {
				m.reply <- err
				continue
			}
			err := q.commit(m.cp)
			if err != nil {
				q.fail(err)
			}
			m.reply <- err
		case m.close:
			var err error
			if w.failure() == nil {
				err = q.foldOnClose()
			} else if q.inTx {
				err = q.rollback()
			}
			m.reply <- err
			return
		}
	}
}

func (q *sqlSide) fail(err error) {
	err = fmt.Errorf("import %s into %s: %w", q.w.source, q.w.s.path, err)
	q.w.failErr.CompareAndSwap(nil, &err)
	if q.inTx {
		if rerr := q.rollback(); rerr != nil {
			q.w.s.logger.Warn("rollback after failed import", "source", q.w.source, "error", rerr)
		}
	}
}

func (q *sqlSide) rollback() error {
	q.inTx = false
	q.resetBatch()
	_, err := q.w.conn.ExecContext(context.WithoutCancel(q.w.ctx), "ROLLBACK")
	return err
}

func (q *sqlSide) resetBatch() {
	clear(q.cells)
	clear(q.days)
	clear(q.srcRule)
	q.cellAgg, q.srAgg = q.cellAgg[:0], q.srAgg[:0]
	q.pendAdd, q.pendDup = 0, 0
}

func (q *sqlSide) closeStmts() {
	for _, st := range q.stmts {
		st.Close()
	}
}

func (q *sqlSide) begin() error {
	if q.inTx {
		return nil
	}
	if _, err := q.w.conn.ExecContext(q.w.ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	q.inTx = true
	return nil
}

type stmtKey struct {
	kind int
	rows int
}

const (
	stmtDedup = iota
	stmtAlerts
	stmtCells
	stmtSrcRule
	stmtSrcTotal
	stmtDays
)

// stmt returns a prepared statement, prepared once per writer; query builds
// its text the first time.
func (q *sqlSide) stmt(k stmtKey, query func() string) (*sql.Stmt, error) {
	if st, ok := q.stmts[k]; ok {
		return st, nil
	}
	st, err := q.w.conn.PrepareContext(q.w.ctx, query())
	if err != nil {
		return nil, err
	}
	q.stmts[k] = st
	return st, nil
}

// multiRow builds "<head> VALUES <row 0>, <row 1>, ... <tail>", each row
// written by row.
func multiRow(head string, rows int, row func(b *strings.Builder, i int), tail string) string {
	var b strings.Builder
	b.WriteString(head)
	b.WriteString(" VALUES ")
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		row(&b, i)
	}
	b.WriteString(tail)
	return b.String()
}

// addrBlob appends a's bytes to q.blobs and returns them: one buffer per
// chunk instead of an allocation per address.
func (q *sqlSide) addrBlob(a netip.Addr) any {
	if !a.IsValid() {
		return nil
	}
	n := len(q.blobs)
	if a.Is4() {
		b := a.As4()
		q.blobs = append(q.blobs, b[:]...)
	} else {
		b := a.As16()
		q.blobs = append(q.blobs, b[:]...)
	}
	return q.blobs[n:len(q.blobs):len(q.blobs)]
}

func nullPort(p uint16) any {
	if p == 0 {
		return nil
	}
	return int64(p)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (q *sqlSide) insertChunk(c *chunk) error {
	ctx := q.w.ctx
	if err := q.begin(); err != nil {
		return err
	}
	for _, v := range c.newRules {
		if _, err := q.w.conn.ExecContext(ctx, "INSERT INTO rules (id, rule_id, level, description, groups) VALUES (?, ?, ?, ?, ?)",
			v.id, v.ruleID, v.level, v.desc, v.groups); err != nil {
			return fmt.Errorf("insert rule %d: %w", v.ruleID, err)
		}
	}
	for _, l := range c.newLocs {
		if _, err := q.w.conn.ExecContext(ctx, "INSERT INTO locations (id, raw, manager, agent, agent_ip, source) VALUES (?, ?, ?, ?, ?, ?)",
			l.id, l.loc.Raw, l.loc.Manager, l.loc.Agent, l.loc.AgentIP, l.loc.Source); err != nil {
			return fmt.Errorf("insert location %q: %w", l.loc.Raw, err)
		}
	}
	keep, err := q.dedup(c.rows)
	if err != nil {
		return err
	}
	if err := q.insertAlerts(keep); err != nil {
		return err
	}
	for i := range keep {
		r := &keep[i]
		q.days[dayKey{day: r.time / 86400, rule: r.rule, loc: r.loc}]++
		if !r.src.IsValid() {
			continue
		}
		ck := cellKey{day: r.time / 86400, src: r.src, rule: r.rule, loc: r.loc}
		idx, ok := q.cells[ck]
		if !ok {
			idx = int32(len(q.cellAgg))
			if len(q.cellAgg) < cap(q.cellAgg) {
				q.cellAgg = q.cellAgg[:idx+1]
				q.cellAgg[idx].agg = agg{}
				q.cellAgg[idx].ids = q.cellAgg[idx].ids[:0]
			} else {
				q.cellAgg = append(q.cellAgg, cellAgg{})
			}
			q.cells[ck] = idx
		}
		ca := &q.cellAgg[idx]
		ca.add(r.time)
		if len(ca.ids) > 0 {
			ca.ids = append(ca.ids, ',')
		}
		ca.ids = appendCellID(ca.ids, ck.day, r.id)
		sk := srcRuleKey{src: r.src, rule: r.rule}
		idx, ok = q.srcRule[sk]
		if !ok {
			idx = int32(len(q.srAgg))
			q.srAgg = append(q.srAgg, agg{})
			q.srcRule[sk] = idx
		}
		q.srAgg[idx].add(r.time)
	}
	q.pendAdd += int64(len(keep))
	q.pendDup += int64(len(c.rows) - len(keep))
	return nil
}

// dedupGap splits a batch's time range into separate look-ups where its
// times are further apart, so an out-of-order batch does not read the whole
// stored history between its alerts.
const dedupGap = 300

// dedup drops the rows whose (time, key) is stored already (in an earlier
// commit or earlier in this transaction) or earlier in rows, compacting rows
// in place, and gives the others their ids.
func (q *sqlSide) dedup(rows []row) ([]row, error) {
	if len(rows) == 0 {
		return rows, nil
	}
	clear(q.seen)
	clear(q.next)
	q.times = q.times[:0]
	for i := range rows {
		q.times = append(q.times, rows[i].time)
	}
	slices.Sort(q.times)
	q.times = slices.Compact(q.times)
	st, err := q.stmt(stmtKey{kind: stmtDedup}, func() string { return "SELECT id, key FROM alerts WHERE id >= ? AND id < ?" })
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(q.times); {
		j := i
		for j+1 < len(q.times) && q.times[j+1]-q.times[j] <= dedupGap {
			j++
		}
		if err := q.loadKeys(st, q.times[i], q.times[j]); err != nil {
			return nil, err
		}
		i = j + 1
	}
	keep := rows[:0]
	for i := range rows {
		r := &rows[i]
		k := timeKey{r.time, r.key}
		if _, dup := q.seen[k]; dup {
			continue
		}
		q.seen[k] = struct{}{}
		n := q.next[r.time]
		if n > idCounterMask {
			return nil, fmt.Errorf("more than %d alerts in the second %d", idCounterMask+1, r.time)
		}
		q.next[r.time] = n + 1
		r.id = r.time<<idCounterBits | n
		keep = append(keep, *r)
	}
	return keep, nil
}

// Alert ids are time << idCounterBits | n (see the schema); times outside
// [minTime, maxTime] are refused so that ids cannot overflow.
const (
	idCounterBits = 24
	idCounterMask = 1<<idCounterBits - 1
	minTime       = -(1 << 38)
	maxTime       = 1<<38 - 1
)

// loadKeys loads the keys and id counters of the seconds lo..hi.
func (q *sqlSide) loadKeys(st *sql.Stmt, lo, hi int64) error {
	rs, err := st.QueryContext(q.w.ctx, lo<<idCounterBits, (hi+1)<<idCounterBits)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		var id, key int64
		if err := rs.Scan(&id, &key); err != nil {
			return err
		}
		t := id >> idCounterBits
		q.seen[timeKey{t, key}] = struct{}{}
		q.next[t] = max(q.next[t], id&idCounterMask+1)
	}
	return rs.Err()
}

// appendCellID appends id as src_day.ids spells it: "S" or "S:N" for
// (dayStart(day) + S) << 24 | N.
func appendCellID(b []byte, day, id int64) []byte {
	b = strconv.AppendInt(b, id>>idCounterBits-dayStart(day), 10)
	if n := id & idCounterMask; n != 0 {
		b = append(b, ':')
		b = strconv.AppendInt(b, n, 10)
	}
	return b
}

// parseCellIDs appends the alert ids of a src_day.ids list of day to out.
func parseCellIDs(out []int64, day int64, ids string) ([]int64, error) {
	base := dayStart(day)
	for rest := ids; ; {
		item, tail, more := strings.Cut(rest, ",")
		sec, cnt, hasCnt := strings.Cut(item, ":")
		s, err := strconv.ParseInt(sec, 10, 64)
		var n int64
		if err == nil && hasCnt {
			n, err = strconv.ParseInt(cnt, 10, 64)
		}
		if err != nil || s < 0 || s > 2*86400 || n < 0 || n > idCounterMask {
			return out, fmt.Errorf("bad alert id %q in src_day.ids", item)
		}
		out = append(out, (base+s)<<idCounterBits|n)
		if !more {
			return out, nil
		}
		rest = tail
	}
}

const alertRow = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

// maxRef bounds rule variant and location ids to what a report keeps in an
// int32 with room to spare.
const maxRef = 1<<30 - 1

func (q *sqlSide) insertAlerts(rows []row) error {
	for len(rows) > 0 {
		n := min(len(rows), insertRows)
		st, err := q.stmt(stmtKey{stmtAlerts, n}, func() string {
			return multiRow("INSERT OR FAIL INTO alerts (id, key, src_ip, rule, location, mail, id_seq, id_epoch, src_port, dst_port, dst_ip, user, log)",
				n, func(b *strings.Builder, i int) { b.WriteString(alertRow) }, "")
		})
		if err != nil {
			return err
		}
		q.args = q.args[:0]
		q.blobs = q.blobs[:0]
		for i := range rows[:n] {
			r := &rows[i]
			var epoch any
			if r.epoch != r.time {
				epoch = r.epoch
			}
			q.args = append(q.args, r.id, r.key, q.addrBlob(r.src), int64(r.rule), int64(r.loc), boolInt(r.mail), r.seq, epoch,
				nullPort(r.sport), nullPort(r.dport), q.addrBlob(r.dst), nullStr(r.user), r.log)
		}
		if _, err := st.ExecContext(q.w.ctx, q.args...); err != nil {
			return fmt.Errorf("insert alerts: %w", err)
		}
		rows = rows[n:]
	}
	return nil
}

// Folding src_rule: every foldCommits commits or foldAlerts alerts, and
// when the writer closes. Between folds, queries read the unfolded alerts
// from the alerts table, so the bounds keep that part small.
const (
	foldCommits = 20
	foldAlerts  = 1_000_000
)

func (q *sqlSide) commit(cp Checkpoint) error {
	ctx := q.w.ctx
	if err := q.begin(); err != nil {
		return err
	}
	if err := q.flushCells(); err != nil {
		return err
	}
	if err := q.flushDays(); err != nil {
		return err
	}
	q.commitsSinceFold++
	fold := q.commitsSinceFold >= foldCommits || q.unfoldedAlerts+q.pendAdd >= foldAlerts
	if fold {
		for k, i := range q.srcRule {
			u := q.unfolded[k]
			u.merge(q.srAgg[i])
			q.unfolded[k] = u
		}
		if err := q.fold(); err != nil {
			return err
		}
	} else if len(q.srcRule) > 0 {
		if _, err := q.w.conn.ExecContext(ctx, "INSERT INTO src_rule_log (deltas) VALUES (?)", q.encodeDeltas()); err != nil {
			return fmt.Errorf("log src_rule deltas: %w", err)
		}
	}
	if _, err := q.w.conn.ExecContext(ctx, "UPDATE totals SET alerts = alerts + ? WHERE id = 1", q.pendAdd); err != nil {
		return fmt.Errorf("update totals: %w", err)
	}
	pos := []byte("{}")
	if len(cp.Positions) > 0 {
		var err error
		if pos, err = json.Marshal(cp.Positions); err != nil {
			return err
		}
	}
	if _, err := q.w.conn.ExecContext(ctx, `INSERT INTO checkpoints (source, byte_offset, line, positions, detail, updated) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (source) DO UPDATE SET byte_offset = excluded.byte_offset, line = excluded.line,
		positions = excluded.positions, detail = excluded.detail, updated = excluded.updated`,
		q.w.source, cp.Offset, cp.Line, string(pos), cp.Detail, time.Now().Unix()); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	if _, err := q.w.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return err
	}
	q.inTx = false
	if fold {
		q.folded()
	} else {
		for k, i := range q.srcRule {
			u := q.unfolded[k]
			u.merge(q.srAgg[i])
			q.unfolded[k] = u
		}
		q.unfoldedAlerts += q.pendAdd
	}
	select {
	case q.w.ckpt <- struct{}{}:
	default:
	}
	q.w.added.Add(q.pendAdd)
	q.w.dups.Add(q.pendDup)
	q.resetBatch()
	return nil
}

// encodeDeltas encodes this transaction's src_rule deltas for src_rule_log.
func (q *sqlSide) encodeDeltas() []byte {
	b := make([]byte, 0, len(q.srcRule)*16)
	for k, i := range q.srcRule {
		b = appendDelta(b, k, q.srAgg[i])
	}
	return b
}

// appendDelta appends one src_rule delta: address length and bytes, then
// rule, count, first and last - first as varints.
func appendDelta(b []byte, k srcRuleKey, a agg) []byte {
	ip := k.src.AsSlice()
	b = append(b, byte(len(ip)))
	b = append(b, ip...)
	b = binary.AppendUvarint(b, uint64(k.rule))
	b = binary.AppendUvarint(b, uint64(a.count))
	b = binary.AppendVarint(b, a.first)
	return binary.AppendUvarint(b, uint64(a.last-a.first))
}

// decodeDeltas calls fn for each delta encoded in b.
func decodeDeltas(b []byte, fn func(srcRuleKey, agg)) error {
	bad := errors.New("bad src_rule_log entry")
	for len(b) > 0 {
		n := int(b[0])
		if (n != 4 && n != 16) || len(b) < 1+n {
			return bad
		}
		src, _ := netip.AddrFromSlice(b[1 : 1+n])
		b = b[1+n:]
		var v [4]uint64
		var first int64
		for i := range v {
			var m int
			if i == 2 {
				first, m = binary.Varint(b)
			} else {
				v[i], m = binary.Uvarint(b)
			}
			if m <= 0 {
				return bad
			}
			b = b[m:]
		}
		if v[0] > maxRef || v[1] == 0 || v[1] > 1<<40 || v[3] > 1<<40 {
			return bad
		}
		fn(srcRuleKey{src: src, rule: int32(v[0])}, agg{count: int64(v[1]), first: first, last: first + int64(v[3])})
	}
	return nil
}

// fold writes the unfolded src_rule deltas into src_rule and empties
// src_rule_log, inside the current transaction.
func (q *sqlSide) fold() error {
	if err := q.flushSrcRule(); err != nil {
		return err
	}
	if _, err := q.w.conn.ExecContext(q.w.ctx, "DELETE FROM src_rule_log"); err != nil {
		return fmt.Errorf("empty src_rule_log: %w", err)
	}
	return nil
}

// folded forgets the deltas a committed fold wrote.
func (q *sqlSide) folded() {
	clear(q.unfolded)
	q.unfoldedAlerts, q.commitsSinceFold = 0, 0
}

// foldOnClose folds the committed deltas in a transaction of their own,
// after discarding what was not committed.
func (q *sqlSide) foldOnClose() error {
	if q.inTx {
		if err := q.rollback(); err != nil {
			return err
		}
	}
	if len(q.unfolded) == 0 {
		return nil
	}
	return q.foldTx()
}

func (q *sqlSide) foldTx() error {
	if err := q.begin(); err != nil {
		return err
	}
	if err := q.fold(); err != nil {
		q.rollback()
		return err
	}
	if _, err := q.w.conn.ExecContext(q.w.ctx, "COMMIT"); err != nil {
		q.rollback()
		return err
	}
	q.inTx = false
	q.folded()
	return nil
}

// foldLog folds what a writer that did not close (a crash) left in
// src_rule_log, so that this writer starts with nothing unfolded.
func (q *sqlSide) foldLog() error {
	rows, err := q.w.conn.QueryContext(q.w.ctx, "SELECT deltas FROM src_rule_log")
	if err != nil {
		return err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return err
		}
		n++
		if err := decodeDeltas(b, func(k srcRuleKey, a agg) {
			u := q.unfolded[k]
			u.merge(a)
			q.unfolded[k] = u
		}); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	if n == 0 {
		return nil
	}
	return q.foldTx()
}

const cellRow = "(?, ?, ?, ?, ?, ?, ?, ?)"

func (q *sqlSide) flushCells() error {
	keys := make([]cellKey, 0, len(q.cells))
	for k := range q.cells {
		keys = append(keys, k)
	}
	// Key order: the upserts walk the table's pages in order.
	slices.SortFunc(keys, func(a, b cellKey) int {
		if a.day != b.day {
			return cmpInt(a.day, b.day)
		}
		if c := compareBlob(a.src, b.src); c != 0 {
			return c
		}
		if a.rule != b.rule {
			return cmpInt(a.rule, b.rule)
		}
		return cmpInt(a.loc, b.loc)
	})
	for len(keys) > 0 {
		n := min(len(keys), insertRows)
		st, err := q.stmt(stmtKey{stmtCells, n}, func() string {
			return multiRow("INSERT INTO src_day (day, src, rule, location, count, first, last, ids)", n,
				func(b *strings.Builder, i int) { b.WriteString(cellRow) },
				" ON CONFLICT (day, src, rule, location) DO UPDATE SET count = count + excluded.count,"+
					" first = min(first, excluded.first), last = max(last, excluded.last), ids = ids || ',' || excluded.ids")
		})
		if err != nil {
			return err
		}
		q.args = q.args[:0]
		q.blobs = q.blobs[:0]
		for _, k := range keys[:n] {
			a := &q.cellAgg[q.cells[k]]
			q.args = append(q.args, k.day, q.addrBlob(k.src), int64(k.rule), int64(k.loc), a.count, a.first, a.last, string(a.ids))
		}
		if _, err := st.ExecContext(q.w.ctx, q.args...); err != nil {
			return fmt.Errorf("update src_day: %w", err)
		}
		keys = keys[n:]
	}
	return nil
}

// dayKey is an alert_day cell.
type dayKey struct {
	day       int64
	rule, loc int32
}

// flushDays adds the transaction's alerts to alert_day.
func (q *sqlSide) flushDays() error {
	keys := make([]dayKey, 0, len(q.days))
	for k := range q.days {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b dayKey) int {
		if a.day != b.day {
			return cmpInt(a.day, b.day)
		}
		if a.rule != b.rule {
			return cmpInt(a.rule, b.rule)
		}
		return cmpInt(a.loc, b.loc)
	})
	for len(keys) > 0 {
		n := min(len(keys), insertRows)
		st, err := q.stmt(stmtKey{stmtDays, n}, func() string {
			return multiRow("INSERT INTO alert_day (day, rule, location, count)", n,
				func(b *strings.Builder, i int) { b.WriteString("(?, ?, ?, ?)") },
				" ON CONFLICT (day, rule, location) DO UPDATE SET count = count + excluded.count")
		})
		if err != nil {
			return err
		}
		q.args = q.args[:0]
		for _, k := range keys[:n] {
			q.args = append(q.args, k.day, int64(k.rule), int64(k.loc), q.days[k])
		}
		if _, err := st.ExecContext(q.w.ctx, q.args...); err != nil {
			return fmt.Errorf("update alert_day: %w", err)
		}
		keys = keys[n:]
	}
	return nil
}

const srcRuleRow = "(?, ?, ?, ?, ?)"

func (q *sqlSide) flushSrcRule() error {
	keys := make([]srcRuleKey, 0, len(q.unfolded))
	for k := range q.unfolded {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b srcRuleKey) int {
		if c := compareBlob(a.src, b.src); c != 0 {
			return c
		}
		return cmpInt(a.rule, b.rule)
	})
	var srcs []netip.Addr
	for i, k := range keys {
		if i == 0 || k.src != keys[i-1].src {
			srcs = append(srcs, k.src)
		}
	}
	for len(keys) > 0 {
		n := min(len(keys), insertRows)
		st, err := q.stmt(stmtKey{stmtSrcRule, n}, func() string {
			return multiRow("INSERT INTO src_rule (src, rule, count, first, last)", n,
				func(b *strings.Builder, i int) { b.WriteString(srcRuleRow) },
				" ON CONFLICT (src, rule) DO UPDATE SET count = count + excluded.count,"+
					" first = min(first, excluded.first), last = max(last, excluded.last)")
		})
		if err != nil {
			return err
		}
		q.args = q.args[:0]
		q.blobs = q.blobs[:0]
		for _, k := range keys[:n] {
			a := q.unfolded[k]
			q.args = append(q.args, q.addrBlob(k.src), int64(k.rule), a.count, a.first, a.last)
		}
		if _, err := st.ExecContext(q.w.ctx, q.args...); err != nil {
			return fmt.Errorf("update src_rule: %w", err)
		}
		keys = keys[n:]
	}
	return q.flushSrcTotal(srcs)
}

// flushSrcTotal recomputes src_total for the sources a fold touched, from
// src_rule, so the two never disagree.
func (q *sqlSide) flushSrcTotal(srcs []netip.Addr) error {
	for len(srcs) > 0 {
		n := min(len(srcs), insertRows)
		st, err := q.stmt(stmtKey{stmtSrcTotal, n}, func() string {
			return "INSERT OR REPLACE INTO src_total (src, count, first, last, level, rules)" +
				" SELECT s.src, SUM(s.count), MIN(s.first), MAX(s.last), MAX(r.level), COUNT(DISTINCT r.rule_id)" +
				" FROM src_rule s JOIN rules r ON r.id = s.rule WHERE s.src IN (?" + strings.Repeat(", ?", n-1) + ") GROUP BY s.src"
		})
		if err != nil {
			return err
		}
		q.args = q.args[:0]
		q.blobs = q.blobs[:0]
		for _, a := range srcs[:n] {
			q.args = append(q.args, q.addrBlob(a))
		}
		if _, err := st.ExecContext(q.w.ctx, q.args...); err != nil {
			return fmt.Errorf("update src_total: %w", err)
		}
		srcs = srcs[n:]
	}
	return nil
}

func cmpInt[T int32 | int64 | int](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareBlob orders addresses as SQLite orders their BLOBs (memcmp, then
// length).
func compareBlob(a, b netip.Addr) int {
	if a.Is4() && b.Is4() {
		x, y := a.As4(), b.As4()
		return strings.Compare(string(x[:]), string(y[:]))
	}
	x, y := a.AsSlice(), b.AsSlice()
	return strings.Compare(string(x), string(y))
}
