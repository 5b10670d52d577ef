package serverdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/rampart-ids/rampart/internal/blocklist"
)

// ErrFullListNeeded is returned by ChangesSince for a version the change
// log no longer covers (or one from the future): the client must fetch the
// whole list.
var ErrFullListNeeded = errors.New("full list needed")

// Version returns the current list version and when it was made.
func (d *DB) Version(ctx context.Context) (uint64, time.Time, error) {
	var v uint64
	var gen int64
	err := d.db.QueryRowContext(ctx, `SELECT version, generated FROM list_version WHERE id = 1`).Scan(&v, &gen)
	return v, fromUnix(gen), err
}

// List returns the current list, read in one transaction so that version
// and entries agree.
func (d *DB) List(ctx context.Context) (blocklist.List, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return blocklist.List{}, err
	}
	defer tx.Rollback()
	if d.postgres {
		if _, err := tx.ExecContext(ctx, `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`); err != nil {
			return blocklist.List{}, err
		}
	}
	var l blocklist.List
	var gen int64
	if err := tx.QueryRowContext(ctx, `SELECT version, generated FROM list_version WHERE id = 1`).Scan(&l.Version, &gen); err != nil {
		return blocklist.List{}, fmt.Errorf("read list: %w", err)
	}
	l.Generated = fromUnix(gen)
	rows, err := tx.QueryContext(ctx, `SELECT prefix, expires FROM list_entries`)
	if err != nil {
		return blocklist.List{}, fmt.Errorf("read list: %w", err)
	}
	defer rows.Close()
	var entries []blocklist.Entry
	for rows.Next() {
		var s string
		var exp int64
		if err := rows.Scan(&s, &exp); err != nil {
			return blocklist.List{}, err
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return blocklist.List{}, fmt.Errorf("list entry %q: %w", s, err)
		}
		entries = append(entries, blocklist.Entry{Prefix: p, Expires: fromUnix(exp)})
	}
	if err := rows.Err(); err != nil {
		return blocklist.List{}, err
	}
	if l.Entries, err = blocklist.Canon(entries); err != nil {
		return blocklist.List{}, err
	}
	return l, nil
}

// ChangesSince returns the delta from version since to the current one.
func (d *DB) ChangesSince(ctx context.Context, since uint64) (blocklist.Delta, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return blocklist.Delta{}, err
	}
	defer tx.Rollback()
	if d.postgres {
		if _, err := tx.ExecContext(ctx, `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`); err != nil {
			return blocklist.Delta{}, err
		}
	}
	var cur, floor uint64
	var gen int64
	if err := tx.QueryRowContext(ctx, `SELECT version, generated, floor FROM list_version WHERE id = 1`).Scan(&cur, &gen, &floor); err != nil {
		return blocklist.Delta{}, err
	}
	if since > cur || since < floor {
		return blocklist.Delta{}, ErrFullListNeeded
	}
	dl := blocklist.Delta{From: since, To: cur, Generated: fromUnix(gen)}
	if since == cur {
		return dl, nil
	}
	rows, err := tx.QueryContext(ctx, d.q(`SELECT prefix, op, expires FROM list_changes WHERE version > ? ORDER BY version`), since)
	if err != nil {
		return blocklist.Delta{}, err
	}
	defer rows.Close()
	type last struct {
		op      string
		expires int64
	}
	final := map[netip.Prefix]last{}
	for rows.Next() {
		var s, op string
		var exp int64
		if err := rows.Scan(&s, &op, &exp); err != nil {
			return blocklist.Delta{}, err
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return blocklist.Delta{}, fmt.Errorf("list change %q: %w", s, err)
		}
		final[p] = last{op, exp}
	}
	if err := rows.Err(); err != nil {
		return blocklist.Delta{}, err
	}
	for p, l := range final {
		if l.op == "+" {
			dl.Added = append(dl.Added, blocklist.Entry{Prefix: p, Expires: fromUnix(l.expires)})
		} else {
			dl.Removed = append(dl.Removed, p)
		}
	}
	// A prefix added and removed again since `since` shows as removed:
	// harmless for a client that never had it.
	return dl, nil
}

// Compact removes expired entries from the list (one new version for all)
// and forgets list changes older than the retention, moving the floor of
// the versions deltas can start from.
func (d *DB) Compact(ctx context.Context, now time.Time) (uint64, error) {
	var version uint64
	err := d.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, d.q(`SELECT prefix FROM list_entries WHERE expires <> 0 AND expires <= ?`), now.Unix())
		if err != nil {
			return err
		}
		var expired []netip.Prefix
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return err
			}
			if p, err := netip.ParsePrefix(s); err == nil {
				expired = append(expired, p)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if version, err = d.refresh(ctx, tx, expired, now); err != nil {
			return err
		}
		var newFloor sql.NullInt64
		cut := now.Add(-d.retain).Unix()
		if err := tx.QueryRowContext(ctx, d.q(`SELECT max(version) FROM list_changes WHERE changed < ?`), cut).Scan(&newFloor); err != nil {
			return err
		}
		if newFloor.Valid {
			if _, err := tx.ExecContext(ctx, d.q(`DELETE FROM list_changes WHERE version <= ?`), newFloor.Int64); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, d.q(`UPDATE list_version SET floor = ? WHERE id = 1 AND floor < ?`), newFloor.Int64, newFloor.Int64); err != nil {
				return err
			}
		}
		return nil
	})
	return version, err
}
