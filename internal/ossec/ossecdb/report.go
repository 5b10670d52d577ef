package ossecdb

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/ossec"
)

// SourceReport is the drill-down for one address: its alerts by rule (with
// the description when signature has one: 2.8 only), by level, by location,
// by UTC day, and the newest limit alerts with their log.
//
// The address is matched in every spelling the table holds: the distinct
// src_ip values are read (an index scan) and those ossec.ParseAddr
// normalises to addr are kept, so "::ffff:192.0.2.1", "192.0.2.1" and any
// other spelling all count. Integer layouts match the IPv4 value.
//
// The address's rows are then read in (server_id, id) order in a narrow
// projection and folded by analytics.ReportBuilder, so the report follows
// the same rules as every other back end (alert time from alertid,
// malformed rows left out); only the newest limit logs are fetched.
func (db *DB) SourceReport(ctx context.Context, addr netip.Addr, f analytics.Filter, limit int) (analytics.SourceReport, error) {
	if !addr.IsValid() {
		return analytics.SourceReport{}, fmt.Errorf("source report: invalid address")
	}
	addr = addr.Unmap().WithZone("")
	rep, err := db.sourceReport(ctx, addr, f, limit)
	if err != nil {
		return analytics.SourceReport{}, fmt.Errorf("source report for %v from %s: %w", addr, db.cfg.where(), err)
	}
	return rep, nil
}

func (db *DB) sourceReport(ctx context.Context, addr netip.Addr, f analytics.Filter, limit int) (analytics.SourceReport, error) {
	b := analytics.NewReportBuilder(addr, f, limit)
	spellings, err := db.spellings(ctx, addr)
	if err != nil {
		return analytics.SourceReport{}, err
	}
	if len(spellings) == 0 {
		return b.Report(), nil
	}
	lk, err := db.loadLookups(ctx, false)
	if err != nil {
		return analytics.SourceReport{}, err
	}
	l := db.layout
	// Level and rule are exact in SQL (a NULL level is level 0 and fails
	// MinLevel > 0 either way); time is left to the builder, which reads
	// alertid exactly as Alerts does.
	q := newQuery(l.Dialect).add("SELECT a.server_id, a.id, a.alertid, a.rule_id, ", l.levelExpr(), ", a.location_id FROM alert a",
		l.levelJoin(), " WHERE a.src_ip IN ").in(spellings)
	if f.MinLevel > 0 {
		q.add(" AND ", l.levelExpr(), " >= ").arg(f.MinLevel)
	}
	if f.RuleID != 0 {
		q.add(" AND a.rule_id = ").arg(f.RuleID)
	}
	q.add(" ORDER BY a.server_id, a.id")
	a := ossec.Alert{SrcIP: addr, Log: make([]string, 1)}
	reloaded := false
	err = db.each(ctx, q, func(rs *sql.Rows) error {
		var server, id, rule int64
		var alertid sql.NullString
		var level, locID sql.NullInt64
		if err := rs.Scan(&server, &id, &alertid, &rule, &level, &locID); err != nil {
			return err
		}
		aid, err := ossec.ParseID(alertid.String)
		if !alertid.Valid || err != nil {
			return nil // malformed, as in Alerts
		}
		k := locKey{id: locID.Int64, server: server}
		loc, ok := lk.locs[k]
		if !ok && !reloaded {
			reloaded = true
			if err := db.loadLocations(ctx, lk); err != nil {
				return err
			}
			loc = lk.locs[k]
		}
		a.ID, a.Time = aid, ossec.TimeFromID(aid)
		a.RuleID, a.Level, a.Description = int(rule), int(level.Int64), lk.sigs[rule]
		a.Location = loc
		// The builder keeps Log only for the newest alerts; the row key
		// rides in it so those logs can be fetched afterwards, instead
		// of reading every log of the address.
		a.Log[0] = rowKey(server, id)
		b.Add(&a)
		return nil
	})
	if err != nil {
		return analytics.SourceReport{}, err
	}
	rep := b.Report()
	if err := db.fillLogs(ctx, rep.Alerts); err != nil {
		return analytics.SourceReport{}, err
	}
	return rep, nil
}

func rowKey(server, id int64) string {
	return strconv.FormatInt(server, 10) + ":" + strconv.FormatInt(id, 10)
}

// fillLogs replaces the row keys in lines by the rows' full_log.
func (db *DB) fillLogs(ctx context.Context, lines []analytics.AlertLine) error {
	if len(lines) == 0 {
		return nil
	}
	l := db.layout
	_, logCol, logJoin := l.logExprs()
	q := newQuery(l.Dialect).add("SELECT a.server_id, a.id, ", logCol, " FROM alert a", logJoin, " WHERE ")
	for i, line := range lines {
		ss, is, _ := strings.Cut(line.Log, ":")
		s, _ := strconv.ParseInt(ss, 10, 64)
		id, _ := strconv.ParseInt(is, 10, 64)
		if i > 0 {
			q.add(" OR ")
		}
		q.add("(a.server_id = ").arg(s).add(" AND a.id = ").arg(id).add(")")
	}
	logs := map[string]string{}
	err := db.each(ctx, q, func(rs *sql.Rows) error {
		var server, id int64
		var log sql.NullString
		if err := rs.Scan(&server, &id, &log); err != nil {
			return err
		}
		logs[rowKey(server, id)] = log.String
		return nil
	})
	if err != nil {
		return fmt.Errorf("read logs: %w", err)
	}
	for i := range lines {
		lines[i].Log = logs[lines[i].Log]
	}
	return nil
}

// spellings returns the src_ip values that denote addr.
func (db *DB) spellings(ctx context.Context, addr netip.Addr) ([]any, error) {
	l := db.layout
	if !l.TextIPs {
		if !addr.Is4() {
			return nil, nil // 2.8 stored IPv6 sources as 0
		}
		b := addr.As4()
		return []any{int64(b[0])<<24 | int64(b[1])<<16 | int64(b[2])<<8 | int64(b[3])}, nil
	}
	var out []any
	q := newQuery(l.Dialect).add("SELECT DISTINCT a.src_ip FROM alert a WHERE ", l.srcPredicate())
	err := db.each(ctx, q, func(rs *sql.Rows) error {
		var s sql.NullString
		if err := rs.Scan(&s); err != nil {
			return err
		}
		if textAddr(s) == addr {
			out = append(out, s.String)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read src_ip values: %w", err)
	}
	return out, nil
}
