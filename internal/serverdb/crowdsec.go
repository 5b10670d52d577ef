package serverdb

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// BouncerDecision is a decision as the CrowdSec bouncer paths read it: the
// columns that say what is banned and until when, without the evidence.
type BouncerDecision struct {
	ID      int64
	Value   netip.Prefix
	Origin  string
	Rule    string
	Created time.Time
	// Expires is zero for a permanent decision.
	Expires time.Time
	// Deleted is zero unless an admin ended the decision early.
	Deleted time.Time
}

// Active reports whether the decision is in force at now (the same test as
// DecisionFilter.Active).
func (b BouncerDecision) Active(now time.Time) bool {
	return b.Deleted.IsZero() && (b.Expires.IsZero() || b.Expires.After(now))
}

// End is when the decision stops or stopped: the deletion or the expiry,
// whichever came first. ok is false for a permanent decision in force.
func (b BouncerDecision) End() (end time.Time, ok bool) {
	switch {
	case b.Deleted.IsZero():
		return b.Expires, !b.Expires.IsZero()
	case b.Expires.IsZero() || b.Deleted.Before(b.Expires):
		return b.Deleted, true
	default:
		return b.Expires, true
	}
}

// BouncerSelection chooses the decisions BouncerGroups reads. Whole groups
// of one value are read together, so that a caller can pick the longest
// decision of a value.
type BouncerSelection struct {
	Kind BouncerSelectionKind
	Now  time.Time
	// Since bounds the decisions created (BouncerNew).
	Since time.Time
	// EndedSince bounds the decisions that ended (BouncerNew,
	// BouncerEnded).
	EndedSince time.Time
	// PageRows bounds the rows read per query (0: 10,000), or for the
	// kinds that first find the values, the values per query (0: 500).
	PageRows int
}

// BouncerSelectionKind is what a BouncerSelection reads.
type BouncerSelectionKind int

const (
	// BouncerActive reads the decisions in force at Now.
	BouncerActive BouncerSelectionKind = iota
	// BouncerUnbanned reads every decision of the values with a
	// decision deleted before its expiry that would still run at Now.
	BouncerUnbanned
	// BouncerNew reads, for the values with a decision created at or
	// after Since or deleted at or after EndedSince, their decisions in
	// force or ended at or after EndedSince.
	BouncerNew
	// BouncerEnded reads, for the values with a decision that ended
	// between EndedSince and Now, their decisions in force or ended at
	// or after EndedSince.
	BouncerEnded
)

// bouncerPageRows bounds the rows read per query: the answer to a bouncer
// streams page by page, so neither the server's memory nor the time a
// read statement stays open grows with the number of decisions.
const bouncerPageRows = 10000

// bouncerValuesPerQuery is how many values one query reads the decisions
// of, for the kinds that first find the values.
const bouncerValuesPerQuery = 500

const bouncerCols = `SELECT id, value, origin, rule, created, expires, deleted FROM decisions `

// BouncerGroups calls fn with the selected decisions of each value in turn
// (decisions by id within one value). The slice is reused between calls.
// The database is read a page at a time and no statement is open while fn
// runs, so fn may write to a slow client.
//
// BouncerActive reads pages of rows in value order and holds one page. The
// other kinds first find the values (through the indexes on created,
// deleted and expires, so that a quiet delta costs next to nothing) and
// hold those, then read their decisions a few hundred values at a time.
func (d *DB) BouncerGroups(ctx context.Context, sel BouncerSelection, fn func([]BouncerDecision) error) error {
	c, now := sel.EndedSince.Unix(), sel.Now.Unix()
	var err error
	switch sel.Kind {
	case BouncerActive:
		err = d.pagedGroups(ctx, sel, fn)
	case BouncerUnbanned:
		err = d.valueGroups(ctx, sel, `deleted <> 0 AND (expires = 0 OR expires > ?)`, []any{now}, math.MinInt64, fn)
	case BouncerNew:
		err = d.valueGroups(ctx, sel, `created >= ? OR (deleted >= ? AND deleted <> 0)`, []any{sel.Since.Unix(), c}, c, fn)
	case BouncerEnded:
		// Without UNION or DISTINCT, which make SQLite's planner
		// (without statistics) walk the index on value, that is, the
		// whole table: this way each part uses its own index.
		err = d.valueGroups(ctx, sel, `(deleted >= ? AND deleted <> 0) OR (expires >= ? AND expires <= ? AND expires <> 0)`,
			[]any{c, c, now}, c, fn)
	default:
		err = fmt.Errorf("selection kind %d", sel.Kind)
	}
	if err != nil {
		return fmt.Errorf("bouncer decisions: %w", err)
	}
	return nil
}

func (d *DB) pagedGroups(ctx context.Context, sel BouncerSelection, fn func([]BouncerDecision) error) error {
	query := d.q(bouncerCols + `WHERE deleted = 0 AND (expires = 0 OR expires > ?) AND value > ? ORDER BY value, id LIMIT ?`)
	after := ""
	limit := cmp.Or(sel.PageRows, bouncerPageRows)
	page := make([]BouncerDecision, 0, limit)
	for {
		var err error
		page, err = d.bouncerPage(ctx, query, []any{sel.Now.Unix(), after, limit}, page[:0])
		if err != nil {
			return err
		}
		full := len(page) == limit
		// A full page may have cut the last value's decisions short:
		// keep that group for the next page.
		keep := len(page)
		if full {
			last := page[len(page)-1].Value
			for keep > 0 && page[keep-1].Value == last {
				keep--
			}
			if keep == 0 {
				// One value with more decisions than a page: read
				// a larger page.
				limit *= 2
				continue
			}
		}
		if err := eachGroup(page[:keep], fn); err != nil {
			return err
		}
		if !full {
			return nil
		}
		after = page[keep-1].Value.String()
	}
}

// valueGroups finds the values of the decisions that match where, then
// reads their decisions in force or ended at or after endedSince (unix
// seconds), a chunk of values per query.
func (d *DB) valueGroups(ctx context.Context, sel BouncerSelection, where string, args []any, endedSince int64, fn func([]BouncerDecision) error) error {
	rows, err := d.db.QueryContext(ctx, d.q(`SELECT value FROM decisions WHERE `+where), args...)
	if err != nil {
		return err
	}
	var found []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return err
		}
		found = append(found, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	slices.Sort(found)
	found = slices.Compact(found)
	values := make([]any, len(found))
	for i, v := range found {
		values[i] = v
	}
	per := cmp.Or(sel.PageRows, bouncerValuesPerQuery)
	var page []BouncerDecision
	for len(values) > 0 {
		chunk := values[:min(per, len(values))]
		values = values[len(chunk):]
		ph := strings.Repeat(",?", len(chunk))[1:]
		page, err = d.bouncerPage(ctx, d.q(bouncerCols+`WHERE value IN (`+ph+`)
			AND (deleted = 0 OR deleted >= ?) AND (expires = 0 OR expires >= ?) ORDER BY value, id`),
			append(chunk[:len(chunk):len(chunk)], endedSince, endedSince), page[:0])
		if err != nil {
			return err
		}
		if err := eachGroup(page, fn); err != nil {
			return err
		}
	}
	return nil
}

// eachGroup calls fn with each run of one value in rows sorted by value.
func eachGroup(rows []BouncerDecision, fn func([]BouncerDecision) error) error {
	for i := 0; i < len(rows); {
		j := i + 1
		for j < len(rows) && rows[j].Value == rows[i].Value {
			j++
		}
		if err := fn(rows[i:j]); err != nil {
			return err
		}
		i = j
	}
	return nil
}

func (d *DB) bouncerPage(ctx context.Context, query string, args []any, page []BouncerDecision) ([]BouncerDecision, error) {
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var b BouncerDecision
		var value string
		var created, expires, deleted int64
		if err := rows.Scan(&b.ID, &value, &b.Origin, &b.Rule, &created, &expires, &deleted); err != nil {
			return nil, err
		}
		if b.Value, err = netip.ParsePrefix(value); err != nil {
			return nil, fmt.Errorf("decision %d: stored value %q: %w", b.ID, value, err)
		}
		b.Created, b.Expires, b.Deleted = fromUnix(created), fromUnix(expires), fromUnix(deleted)
		page = append(page, b)
	}
	return page, rows.Err()
}

// BouncerContaining returns the decisions in force at now whose value
// contains p (p itself and every shorter prefix of it), by id.
func (d *DB) BouncerContaining(ctx context.Context, p netip.Prefix, now time.Time) ([]BouncerDecision, error) {
	p = canonPrefix(p)
	args := make([]any, 0, p.Bits()+2)
	ph := make([]byte, 0, 2*(p.Bits()+1))
	for bits := 0; bits <= p.Bits(); bits++ {
		if bits > 0 {
			ph = append(ph, ',')
		}
		ph = append(ph, '?')
		args = append(args, netip.PrefixFrom(p.Addr(), bits).Masked().String())
	}
	args = append(args, now.Unix())
	out, err := d.bouncerPage(ctx, d.q(bouncerCols+`WHERE value IN (`+string(ph)+`) AND deleted = 0 AND (expires = 0 OR expires > ?) ORDER BY id`), args, nil)
	if err != nil {
		return nil, fmt.Errorf("bouncer decisions containing %s: %w", p, err)
	}
	return out, nil
}
