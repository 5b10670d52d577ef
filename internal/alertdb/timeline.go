package alertdb

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/rampart-ids/rampart/internal/analytics"
)

// Timeline counts the alerts q selects into q.By buckets, as
// analytics.TimelineCounter counts the same alerts streaming past; call
// Timeline on the result for the buckets of a range.
//
// Whole days come from the src_day rollups: summed per day for day and week
// buckets, from the alert times each cell lists for hours. The partial days
// at the edges of a time filter, and alerts without a source address (not
// in src_day) when q counts every alert, come from the alerts table; the
// latter are a scan of the alerts in range, the slowest part of a timeline
// of all alerts.
func (s *Store) Timeline(ctx context.Context, q analytics.TimelineQuery) (*analytics.TimelineCounter, error) {
	if q.By == 0 {
		q.By = analytics.Day
	}
	c := analytics.NewTimelineCounter(q)
	if q.Addr.IsValid() {
		q.Addr = normAddr(q.Addr)
	}
	err := s.read(ctx, func(sn snap) error { return sn.timeline(ctx, q, c) })
	if err != nil {
		return nil, fmt.Errorf("timeline from %s: %w", s.path, err)
	}
	return c, nil
}

// srcSel is which sources a query counts, as SQL conditions.
type srcSel struct {
	// all counts every alert, with or without a source address.
	all bool
	// none: no alert can match.
	none bool
	// in lists the sources counted (as SQL blob literals); when empty and
	// out is set, every source but those in out counts; with both empty
	// every source counts.
	in, out []string
	// lo and hi narrow the days worth visiting (first and last alert of
	// the selected sources), when known.
	lo, hi int64
}

// seekMax is the most sources looked up by primary key day by day; more
// are filtered while scanning the days.
const seekMax = 16

// cond returns the SQL condition (" AND ...") selecting sources on col.
func (sel *srcSel) cond(col string) string {
	switch {
	case sel.all:
		return ""
	case len(sel.in) > 0:
		if len(sel.in) == 1 {
			return " AND " + col + " = " + sel.in[0]
		}
		return " AND " + col + " IN (" + strings.Join(sel.in, ",") + ")"
	case len(sel.out) > 0:
		return " AND " + col + " NOT IN (" + strings.Join(sel.out, ",") + ")"
	default:
		return " AND " + col + " IS NOT NULL"
	}
}

func blobLiteral(b []byte) string { return "X'" + hex.EncodeToString(b) + "'" }

// selection resolves q's source selection. A scope is applied to every
// source ever stored, and whichever side is smaller, the sources inside or
// those outside, goes into the SQL.
func (sn snap) selection(ctx context.Context, q analytics.TimelineQuery, rs *ruleSet) (*srcSel, error) {
	sel := &srcSel{lo: openLo, hi: openHi}
	switch {
	case q.Addr.IsValid():
		src := addrBlob(q.Addr)
		found := false
		rows, err := sn.tx.QueryContext(ctx, "SELECT min(first), max(last), count(*) FROM src_rule WHERE src = ?"+rs.sqlIn, src)
		if err != nil {
			return nil, err
		}
		var first, last sql.NullInt64
		var n int64
		for rows.Next() {
			if err := rows.Scan(&first, &last, &n); err != nil {
				rows.Close()
				return nil, err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if n > 0 {
			sel.lo, sel.hi, found = first.Int64, last.Int64, true
		}
		err = sn.unfolded(ctx, func(k srcRuleKey, a agg) {
			if k.src != q.Addr || !rs.allowed[k.rule] {
				return
			}
			if !found {
				sel.lo, sel.hi, found = a.first, a.last, true
			}
			sel.lo, sel.hi = min(sel.lo, a.first), max(sel.hi, a.last)
		})
		if err != nil {
			return nil, err
		}
		sel.none = !found
		sel.in = []string{blobLiteral(src)}
	case q.InScope != nil:
		seen := map[string]bool{}
		classify := func(b []byte) error {
			if seen[string(b)] {
				return nil
			}
			seen[string(b)] = true
			addr, ok := addrFromBlob(b)
			if !ok {
				return fmt.Errorf("bad source address blob %x", b)
			}
			if q.InScope(addr) {
				sel.in = append(sel.in, blobLiteral(b))
			} else {
				sel.out = append(sel.out, blobLiteral(b))
			}
			return nil
		}
		rows, err := sn.tx.QueryContext(ctx, "SELECT src FROM src_total")
		if err != nil {
			return nil, err
		}
		var src sql.RawBytes
		for rows.Next() {
			if err := rows.Scan(&src); err != nil {
				rows.Close()
				return nil, err
			}
			if err := classify(src); err != nil {
				rows.Close()
				return nil, err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		var bad error
		err = sn.unfolded(ctx, func(k srcRuleKey, _ agg) {
			if bad == nil {
				bad = classify(addrBlob(k.src))
			}
		})
		if err != nil {
			return nil, err
		}
		if bad != nil {
			return nil, bad
		}
		switch {
		case len(sel.in) == 0:
			sel.none = true
		case len(sel.out) == 0:
			sel.in = nil
		case len(sel.out) < len(sel.in):
			sel.in = nil
		default:
			sel.out = nil
		}
	default:
		sel.all = true
	}
	return sel, nil
}

// dataSpan returns the range of the stored alerts' times, [lo, hi).
func (sn snap) dataSpan(ctx context.Context) (span, error) {
	var lo, hi sql.NullInt64
	if err := sn.tx.QueryRowContext(ctx, "SELECT (SELECT min(id) FROM alerts), (SELECT max(id) FROM alerts)").Scan(&lo, &hi); err != nil {
		return span{}, err
	}
	if !lo.Valid {
		return span{}, nil
	}
	return span{lo.Int64 >> idCounterBits, hi.Int64>>idCounterBits + 1}, nil
}

func (sn snap) timeline(ctx context.Context, q analytics.TimelineQuery, c *analytics.TimelineCounter) error {
	sp := filterSpan(q.Filter)
	data, err := sn.dataSpan(ctx)
	if err != nil {
		return err
	}
	sp.lo, sp.hi = max(sp.lo, data.lo), min(sp.hi, data.hi)
	if sp.empty() {
		return nil
	}
	rs, err := sn.rules(ctx, q.Filter)
	if err != nil || rs.none() {
		return err
	}
	sel, err := sn.selection(ctx, q, rs)
	if err != nil || sel.none {
		return err
	}
	if sel.lo != openLo {
		sp.lo, sp.hi = max(sp.lo, sel.lo), min(sp.hi, sel.hi+1)
		if sp.empty() {
			return nil
		}
	}
	d0, d1, edges := sp.split()
	if d0 < d1 {
		// Day and week buckets start at midnight, so a day's rollup lies in
		// one bucket; hours need each alert's time, and so do the days up
		// to 1970-01-01, whose day numbers truncate toward zero.
		exact := d1
		if q.By != analytics.Hour {
			exact = min(max(d0, 1), d1)
		}
		if d0 < exact {
			if err := sn.timelineCells(ctx, c, rs, sel, d0, exact); err != nil {
				return err
			}
			if sel.all {
				// Alerts without a source are in no per-source rollup.
				if err := sn.timelineAlerts(ctx, c, rs, span{dayStart(d0), dayStart(exact)}, " AND src_ip IS NULL", q.By); err != nil {
					return err
				}
			}
		}
		if exact < d1 {
			if err := sn.timelineDays(ctx, c, rs, sel, exact, d1); err != nil {
				return err
			}
		}
	}
	for _, e := range edges {
		if err := sn.timelineAlerts(ctx, c, rs, e, sel.cond("src_ip"), q.By); err != nil {
			return err
		}
	}
	return nil
}

// srcDayQuery returns the query over src_day for days [d0, d1) and the
// sources sel selects, selecting cols; a few named sources are looked up
// day by day through the primary key.
func srcDayQuery(sel *srcSel, rs *ruleSet, cols, tail string) string {
	if len(sel.in) > 0 && len(sel.in) <= seekMax {
		return `WITH RECURSIVE d(dd) AS (SELECT ? UNION ALL SELECT dd + 1 FROM d WHERE dd + 1 < ?)
			SELECT ` + cols + ` FROM d JOIN src_day ON day = dd` + sel.cond("src") + ` WHERE 1` + rs.sqlIn + tail
	}
	return "SELECT " + cols + " FROM src_day WHERE day >= ? AND day < ?" + sel.cond("src") + rs.sqlIn + tail
}

// timelineDays adds the per-day sums of days [d0, d1), all of them after
// 1970-01-01, to day or week buckets: from src_day for the sources sel
// selects, or from alert_day, which holds every alert with or without a
// source, when sel selects them all.
func (sn snap) timelineDays(ctx context.Context, c *analytics.TimelineCounter, rs *ruleSet, sel *srcSel, d0, d1 int64) error {
	var query string
	if sel.all {
		query = "SELECT day, rule, SUM(count) FROM alert_day WHERE day >= ? AND day < ?" + rs.sqlIn + " GROUP BY day, rule"
	} else {
		query = srcDayQuery(sel, rs, "day, rule, SUM(count)", " GROUP BY day, rule")
	}
	rows, err := sn.tx.QueryContext(ctx, query, d0, d1)
	if err != nil {
		return err
	}
	defer rows.Close()
	var day, n int64
	var rule int32
	for rows.Next() {
		if err := rows.Scan(&day, &rule, &n); err != nil {
			return err
		}
		c.AddCount(dayStart(day), rs.info[rule].level, n)
	}
	return rows.Err()
}

// timelineCells adds the alerts of the cells of days [d0, d1) one by one,
// at the times their ids encode.
func (sn snap) timelineCells(ctx context.Context, c *analytics.TimelineCounter, rs *ruleSet, sel *srcSel, d0, d1 int64) error {
	rows, err := sn.tx.QueryContext(ctx, srcDayQuery(sel, rs, "day, rule, ids", ""), d0, d1)
	if err != nil {
		return err
	}
	defer rows.Close()
	var day int64
	var rule int32
	var ids sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&day, &rule, &ids); err != nil {
			return err
		}
		level := rs.info[rule].level
		if err := eachCellSecond(day, ids, func(t int64) { c.AddCount(t, level, 1) }); err != nil {
			return fmt.Errorf("src_day of day %d: %w", day, err)
		}
	}
	return rows.Err()
}

// eachCellSecond calls fn with the time of each alert a src_day.ids list of
// day names (see appendCellID), without allocating. It accepts what
// appendCellID writes and refuses what parseCellIDs refuses.
func eachCellSecond(day int64, ids []byte, fn func(t int64)) error {
	base := dayStart(day)
	var sec, cnt int64
	secDigits, cntDigits, inCount := 0, 0, false
	for i := 0; i <= len(ids); i++ {
		if i == len(ids) || ids[i] == ',' {
			if secDigits == 0 || inCount && cntDigits == 0 || sec > 2*86400 || cnt > idCounterMask {
				return fmt.Errorf("bad alert id list %q", ids)
			}
			fn(base + sec)
			sec, cnt, secDigits, cntDigits, inCount = 0, 0, 0, 0, false
			continue
		}
		switch ch := ids[i]; {
		case ch == ':' && !inCount:
			inCount = true
		case ch >= '0' && ch <= '9' && !inCount && secDigits < 7:
			sec, secDigits = sec*10+int64(ch-'0'), secDigits+1
		case ch >= '0' && ch <= '9' && inCount && cntDigits < 9:
			cnt, cntDigits = cnt*10+int64(ch-'0'), cntDigits+1
		default:
			return fmt.Errorf("bad alert id list %q", ids)
		}
	}
	return nil
}

// timelineAlerts adds the alerts of e that srcCond selects, counted per
// bucket and rule by SQLite.
func (sn snap) timelineAlerts(ctx context.Context, c *analytics.TimelineCounter, rs *ruleSet, e span, srcCond string, by analytics.Interval) error {
	w := strconv.FormatInt(by.Seconds(), 10)
	off := "0"
	if by == analytics.Week {
		off = strconv.Itoa(-3 * 86400)
	}
	// The bucket start, floored like analytics.Interval.FloorUnix.
	bucket := "(time - (((time - (" + off + ")) % " + w + ") + " + w + ") % " + w + ")"
	rows, err := sn.tx.QueryContext(ctx, "SELECT "+bucket+" AS b, rule, count(*) FROM alerts WHERE id >= ? AND id < ?"+srcCond+rs.sqlIn+
		" GROUP BY b, rule", idOf(e.lo), idOf(e.hi))
	if err != nil {
		return err
	}
	defer rows.Close()
	var b, n int64
	var rule int32
	for rows.Next() {
		if err := rows.Scan(&b, &rule, &n); err != nil {
			return err
		}
		c.AddCount(b, rs.info[rule].level, n)
	}
	return rows.Err()
}
