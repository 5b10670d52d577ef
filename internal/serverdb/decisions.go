package serverdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
)

// canonPrefix is the spelling decisions and list entries are stored under:
// masked, IPv4-mapped addresses unmapped.
func canonPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

// AddDecisions stores decisions (ID, Created ignored: set here) and updates
// the list in the same transaction. It returns the stored decisions and the
// list version after them (unchanged when they changed no list entry).
func (d *DB) AddDecisions(ctx context.Context, ds []api.Decision, now time.Time) ([]api.Decision, uint64, error) {
	out := make([]api.Decision, 0, len(ds))
	var version uint64
	err := d.tx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		prefixes := make([]netip.Prefix, 0, len(ds))
		for _, dec := range ds {
			if !dec.Value.IsValid() {
				return errors.New("add decision: invalid value")
			}
			dec.Value = canonPrefix(dec.Value)
			if dec.Action == "" {
				dec.Action = "ban"
			}
			if dec.Action != "ban" {
				return fmt.Errorf("add decision: action %q: only ban is stored", dec.Action)
			}
			why, err := json.Marshal(dec.Why)
			if err != nil {
				return fmt.Errorf("add decision: why: %w", err)
			}
			if dec.Why == nil {
				why = []byte("{}")
			}
			dec.Created = fromUnix(now.Unix())
			err = tx.QueryRowContext(ctx, d.q(`INSERT INTO decisions (value, origin, rule, reason, author, created, expires, why)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
				dec.Value.String(), dec.Origin, dec.Rule, dec.Reason, dec.Author, now.Unix(), unix(dec.Expires), string(why)).Scan(&dec.ID)
			if err != nil {
				return fmt.Errorf("add decision: %w", err)
			}
			dec.Expires = fromUnix(unix(dec.Expires))
			out = append(out, dec)
			prefixes = append(prefixes, dec.Value)
		}
		var err error
		version, err = d.refresh(ctx, tx, prefixes, now)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, version, nil
}

// DeleteDecision ends a decision early. Deleting a deleted decision is not
// an error and changes nothing.
func (d *DB) DeleteDecision(ctx context.Context, id int64, now time.Time) (uint64, error) {
	var version uint64
	err := d.tx(ctx, func(tx *sql.Tx) error {
		var value string
		err := tx.QueryRowContext(ctx, d.q(`SELECT value FROM decisions WHERE id = ?`), id).Scan(&value)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, d.q(`UPDATE decisions SET deleted = ? WHERE id = ? AND deleted = 0`), now.Unix(), id); err != nil {
			return err
		}
		version, err = d.refresh(ctx, tx, []netip.Prefix{netip.MustParsePrefix(value)}, now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete decision %d: %w", id, err)
	}
	return version, nil
}

// refresh recomputes the list entries of prefixes from the active
// decisions and, when any changed, bumps the version once and logs the
// changes under it. It returns the version in place afterwards.
func (d *DB) refresh(ctx context.Context, tx *sql.Tx, prefixes []netip.Prefix, now time.Time) (uint64, error) {
	type change struct {
		prefix  string
		op      byte
		expires int64
	}
	var changes []change
	seen := map[netip.Prefix]bool{}
	for _, p := range prefixes {
		if seen[p] {
			continue
		}
		seen[p] = true
		key := p.String()
		// The entry a prefix should have: the longest active ban (0,
		// permanent, is the longest).
		var n, permanent int
		var longest sql.NullInt64
		err := tx.QueryRowContext(ctx, d.q(`SELECT count(*), coalesce(sum(CASE WHEN expires = 0 THEN 1 ELSE 0 END), 0), max(expires)
			FROM decisions WHERE value = ? AND deleted = 0 AND (expires = 0 OR expires > ?)`), key, now.Unix()).Scan(&n, &permanent, &longest)
		if err != nil {
			return 0, err
		}
		want, wantOK := int64(0), n > 0
		if wantOK && permanent == 0 {
			want = longest.Int64
		}
		var have int64
		err = tx.QueryRowContext(ctx, d.q(`SELECT expires FROM list_entries WHERE prefix = ?`), key).Scan(&have)
		haveOK := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, err
		}
		switch {
		case wantOK && (!haveOK || have != want):
			changes = append(changes, change{key, '+', want})
		case !wantOK && haveOK:
			changes = append(changes, change{key, '-', 0})
		}
	}
	var version uint64
	if len(changes) == 0 {
		err := tx.QueryRowContext(ctx, `SELECT version FROM list_version WHERE id = 1`).Scan(&version)
		return version, err
	}
	err := tx.QueryRowContext(ctx, d.q(`UPDATE list_version SET version = version + 1, generated = ? WHERE id = 1 RETURNING version`), now.Unix()).Scan(&version)
	if err != nil {
		return 0, err
	}
	for _, c := range changes {
		var err error
		if c.op == '+' {
			_, err = tx.ExecContext(ctx, d.q(`INSERT INTO list_entries (prefix, expires) VALUES (?, ?)
				ON CONFLICT (prefix) DO UPDATE SET expires = excluded.expires`), c.prefix, c.expires)
		} else {
			_, err = tx.ExecContext(ctx, d.q(`DELETE FROM list_entries WHERE prefix = ?`), c.prefix)
		}
		if err != nil {
			return 0, err
		}
		if _, err := tx.ExecContext(ctx, d.q(`INSERT INTO list_changes (version, prefix, op, expires, changed) VALUES (?, ?, ?, ?, ?)`),
			version, c.prefix, string(c.op), c.expires, now.Unix()); err != nil {
			return 0, err
		}
	}
	return version, nil
}

// DecisionFilter selects decisions.
type DecisionFilter struct {
	// Contains: only decisions whose value contains this address.
	Contains netip.Addr
	// Value: only decisions of exactly this prefix.
	Value netip.Prefix
	// Active: only decisions in force at Now.
	Active bool
	Now    time.Time
	// Origin: only decisions of this origin.
	Origin string
	// Limit bounds the answer (0: no bound); newest first.
	Limit int
}

const decisionCols = `id, value, origin, rule, reason, author, created, expires, deleted, why`

// Decisions lists decisions, newest first.
func (d *DB) Decisions(ctx context.Context, f DecisionFilter) ([]api.Decision, error) {
	var where []string
	var args []any
	switch {
	case f.Contains.IsValid():
		a := f.Contains.Unmap()
		ph := make([]string, 0, a.BitLen()+1)
		for bits := 0; bits <= a.BitLen(); bits++ {
			ph = append(ph, "?")
			args = append(args, netip.PrefixFrom(a, bits).Masked().String())
		}
		where = append(where, "value IN ("+strings.Join(ph, ",")+")")
	case f.Value.IsValid():
		where = append(where, "value = ?")
		args = append(args, canonPrefix(f.Value).String())
	}
	if f.Active {
		where = append(where, "deleted = 0 AND (expires = 0 OR expires > ?)")
		args = append(args, f.Now.Unix())
	}
	if f.Origin != "" {
		where = append(where, "origin = ?")
		args = append(args, f.Origin)
	}
	query := `SELECT ` + decisionCols + ` FROM decisions`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC"
	if f.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := d.db.QueryContext(ctx, d.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("list decisions: %w", err)
	}
	return scanDecisions(rows)
}

// Decision returns one decision.
func (d *DB) Decision(ctx context.Context, id int64) (api.Decision, error) {
	rows, err := d.db.QueryContext(ctx, d.q(`SELECT `+decisionCols+` FROM decisions WHERE id = ?`), id)
	if err != nil {
		return api.Decision{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return api.Decision{}, err
		}
		return api.Decision{}, ErrNotFound
	}
	return scanDecision(rows)
}

// scanDecisions reads every row of rows (decisionCols) and closes it.
func scanDecisions(rows *sql.Rows) ([]api.Decision, error) {
	defer rows.Close()
	var out []api.Decision
	for rows.Next() {
		dec, err := scanDecision(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, dec)
	}
	return out, rows.Err()
}

func scanDecision(rows *sql.Rows) (api.Decision, error) {
	var dec api.Decision
	var value, why string
	var created, expires, deleted int64
	if err := rows.Scan(&dec.ID, &value, &dec.Origin, &dec.Rule, &dec.Reason, &dec.Author, &created, &expires, &deleted, &why); err != nil {
		return api.Decision{}, err
	}
	p, err := netip.ParsePrefix(value)
	if err != nil {
		return api.Decision{}, fmt.Errorf("decision %d: stored value %q: %w", dec.ID, value, err)
	}
	dec.Value, dec.Action = p, "ban"
	dec.Created, dec.Expires, dec.Deleted = fromUnix(created), fromUnix(expires), fromUnix(deleted)
	if why != "" && why != "{}" {
		if err := json.Unmarshal([]byte(why), &dec.Why); err != nil {
			return api.Decision{}, fmt.Errorf("decision %d: why: %w", dec.ID, err)
		}
	}
	return dec, nil
}

// PolicyBans returns the policy bans of src created since a time, oldest
// first (the policy engine's History).
func (d *DB) PolicyBans(ctx context.Context, src netip.Addr, since time.Time) ([]api.Decision, error) {
	rows, err := d.db.QueryContext(ctx, d.q(`SELECT `+decisionCols+` FROM decisions
		WHERE value = ? AND origin = 'policy' AND deleted = 0 AND created >= ? ORDER BY id`),
		netip.PrefixFrom(src.Unmap(), src.Unmap().BitLen()).String(), unix(since))
	if err != nil {
		return nil, err
	}
	return scanDecisions(rows)
}
