package ossecdb

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// Alerts streams the alerts with id > after[server_id] (after may be nil),
// ordered by (server_id, id). It reads in pages of Options.PageSize rows by
// keyset (server_id = ? AND id > ? ORDER BY id), so memory stays flat over
// millions of rows and each page is a primary-key range scan. Calling
// Alerts again with the positions seen so far returns exactly the rows
// inserted since: ossec-dbd is single-threaded, so ids grow per server.
//
// The returned *Rows is an ossec.Stream. Rows whose alertid is NULL or
// unparsable go to Options.Problems and are counted, never returned.
func (db *DB) Alerts(ctx context.Context, after map[int]int64) *Rows {
	return &Rows{db: db, ctx: ctx, after: maps.Clone(after)}
}

// Rows is a stream of alerts read from the database.
type Rows struct {
	db    *DB
	ctx   context.Context
	after map[int]int64

	started bool
	servers []int
	si      int // index into servers
	cur     *sql.Rows
	curN    int // rows read from cur
	lk      *lookups
	// reloaded is the page count at the last reload of locations, so a
	// dangling location_id costs one reload per page at most.
	reloaded, pages int

	server    int
	id        int64
	alert     ossec.Alert
	malformed int64
	err       error
	done      bool
}

// Position returns (server_id, id) of the last row read, a returned alert
// or a malformed row: the value to store in the after map of the next call
// to Alerts.
func (r *Rows) Position() (serverID int, id int64) { return r.server, r.id }

// Malformed returns how many rows were skipped because their alertid is
// NULL or unparsable.
func (r *Rows) Malformed() int64 { return r.malformed }

// Alert returns the current alert, valid until the next call to Next.
func (r *Rows) Alert() *ossec.Alert { return &r.alert }

// Err returns the error that ended the stream, if any.
func (r *Rows) Err() error { return r.err }

// Close ends the stream early and releases its connection. It is safe to
// call after the stream ended.
func (r *Rows) Close() error {
	r.done = true
	if r.cur != nil {
		err := r.cur.Close()
		r.cur = nil
		return err
	}
	return nil
}

func (r *Rows) fail(err error) bool {
	r.err = fmt.Errorf("%s: %w", r.db.cfg.where(), err)
	r.Close()
	return false
}

// Next moves to the next alert.
func (r *Rows) Next() bool {
	if r.done {
		return false
	}
	if !r.started {
		r.started = true
		if err := r.start(); err != nil {
			return r.fail(err)
		}
	}
	for {
		if r.cur == nil {
			if r.si >= len(r.servers) {
				r.Close()
				return false
			}
			if err := r.openPage(); err != nil {
				return r.fail(err)
			}
		}
		if !r.cur.Next() {
			if err := r.cur.Err(); err != nil {
				return r.fail(fmt.Errorf("read table alert: %w", err))
			}
			r.cur.Close()
			r.cur = nil
			if r.curN < r.db.opts.PageSize {
				r.si++ // this server is exhausted
			}
			continue
		}
		r.curN++
		ok, err := r.scan()
		if err != nil {
			return r.fail(err)
		}
		if ok {
			return true
		}
	}
}

// start lists the servers that have alerts and reads the lookup tables.
func (r *Rows) start() error {
	db := r.db
	// No index leads with server_id, so this scans an index once per
	// Alerts call; it is the only way to find servers with alerts but no
	// server row.
	err := db.each(r.ctx, newQuery(db.layout.Dialect).add("SELECT DISTINCT server_id FROM alert ORDER BY server_id"),
		func(rs *sql.Rows) error {
			var s int
			if err := rs.Scan(&s); err != nil {
				return err
			}
			r.servers = append(r.servers, s)
			return nil
		})
	if err != nil {
		return fmt.Errorf("read table alert: %w", err)
	}
	if len(r.servers) == 0 {
		return nil
	}
	r.lk, err = db.loadLookups(r.ctx, true)
	if err != nil {
		return err
	}
	r.reloaded = -1
	return nil
}

func (r *Rows) openPage() error {
	db := r.db
	l := db.layout
	server := r.servers[r.si]
	after := r.after[server]
	if r.server == server && r.id > after {
		after = r.id
	}
	userCol, logCol, logJoin := l.logExprs()
	srcCols := "a.src_ip, a.dst_ip"
	q := newQuery(l.Dialect).add(
		"SELECT a.id, a.alertid, a.rule_id, ", l.levelExpr(), ", a.location_id, ", srcCols,
		", a.src_port, a.dst_port, ", userCol, ", ", logCol,
		" FROM alert a", l.levelJoin(), logJoin,
		" WHERE a.server_id = ").arg(server).add(" AND a.id > ").arg(after).
		add(" ORDER BY a.id LIMIT ", strconv.Itoa(db.opts.PageSize))
	rs, err := db.sql.QueryContext(r.ctx, q.String(), q.args...)
	if err != nil {
		return fmt.Errorf("read table alert: %w", err)
	}
	r.cur, r.curN = rs, 0
	r.server, r.id = server, after
	r.pages++
	return nil
}

// scan reads the current row into r.alert; false means it was malformed.
func (r *Rows) scan() (bool, error) {
	l := r.db.layout
	var (
		id                         int64
		alertid                    sql.NullString
		rule                       int64
		level, locID, sport, dport sql.NullInt64
		srcT, dstT                 sql.NullString
		srcI, dstI                 sql.NullInt64
		usr, log                   sql.NullString
	)
	dest := []any{&id, &alertid, &rule, &level, &locID, &srcT, &dstT, &sport, &dport, &usr, &log}
	if !l.TextIPs {
		dest[5], dest[6] = &srcI, &dstI
	}
	if err := r.cur.Scan(dest...); err != nil {
		return false, fmt.Errorf("read table alert, id after %d, server_id %d: %w", r.id, r.server, err)
	}
	r.id = id
	aid, err := ossec.ParseID(alertid.String)
	if !alertid.Valid || err != nil {
		r.malformed++
		if p := r.db.opts.Problems; p != nil {
			reason := "alertid is NULL"
			if alertid.Valid {
				reason = `alertid is not "<epoch>.<n>"`
			}
			p(&ossec.ParseError{
				File:    fmt.Sprintf("table alert, id %d, server_id %d", id, r.server),
				Reason:  reason,
				Snippet: ossec.Snip(alertid.String),
			})
		}
		return false, nil
	}
	a := ossec.Alert{
		ID:      aid,
		Time:    ossec.TimeFromID(aid),
		RuleID:  int(rule),
		Level:   int(level.Int64),
		SrcPort: port(sport),
		DstPort: port(dport),
		User:    user(usr),
	}
	if l.TextIPs {
		a.SrcIP, a.DstIP = textAddr(srcT), textAddr(dstT)
	} else {
		a.SrcIP, a.DstIP = intAddr(srcI), intAddr(dstI)
	}
	if log.String != "" {
		a.Log = strings.Split(log.String, "\n")
	}
	a.Description = r.lk.sigs[rule]
	a.Groups = slices.Clip(r.lk.groups[rule]) // shared: an append must not write into the cache
	a.Location, err = r.location(locID.Int64)
	if err != nil {
		return false, err
	}
	r.alert = a
	return true, nil
}

// location resolves a location id, rereading the table when the id is new
// (dbd added a location after the stream started).
func (r *Rows) location(id int64) (ossec.Location, error) {
	k := locKey{id: id, server: int64(r.server)}
	if loc, ok := r.lk.locs[k]; ok || r.reloaded == r.pages {
		return loc, nil
	}
	r.reloaded = r.pages
	if err := r.db.loadLocations(r.ctx, r.lk); err != nil {
		return ossec.Location{}, err
	}
	return r.lk.locs[k], nil
}
