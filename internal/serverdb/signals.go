package serverdb

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
)

// AddSignals stores signals, skipping those whose key is already stored
// (a sensor's retry). It returns the new ones, in the given order.
func (d *DB) AddSignals(ctx context.Context, sensor string, sigs []api.Signal, now time.Time) ([]api.Signal, error) {
	var fresh []api.Signal
	err := d.tx(ctx, func(tx *sql.Tx) error {
		fresh = fresh[:0]
		stmt, err := tx.PrepareContext(ctx, d.q(`INSERT INTO signals (key, sensor, source, time, rule, level, groups, agent, log, received)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, s := range sigs {
			res, err := stmt.ExecContext(ctx, s.Key, sensor, s.Source.Unmap().String(), s.Time.Unix(), s.Rule, s.Level,
				strings.Join(s.Groups, ","), s.Agent, s.Log, now.Unix())
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				fresh = append(fresh, s)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store signals: %w", err)
	}
	return fresh, nil
}

// SignalsSince streams the signals of time >= since in time order (to
// rebuild the policy engine's windows at start-up).
func (d *DB) SignalsSince(ctx context.Context, since time.Time, fn func(sensor string, s api.Signal) error) error {
	rows, err := d.db.QueryContext(ctx, d.q(`SELECT key, sensor, source, time, rule, level, groups, agent, log FROM signals
		WHERE time >= ? ORDER BY time, key`), since.Unix())
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s api.Signal
		var sensor, src, groups string
		var t int64
		if err := rows.Scan(&s.Key, &sensor, &src, &t, &s.Rule, &s.Level, &groups, &s.Agent, &s.Log); err != nil {
			return err
		}
		if s.Source, err = netip.ParseAddr(src); err != nil {
			return fmt.Errorf("signal %s: stored source %q: %w", s.Key, src, err)
		}
		s.Time = fromUnix(t)
		if groups != "" {
			s.Groups = strings.Split(groups, ",")
		}
		if err := fn(sensor, s); err != nil {
			return err
		}
	}
	return rows.Err()
}

// PruneSignals deletes signals older than before.
func (d *DB) PruneSignals(ctx context.Context, before time.Time) (int64, error) {
	res, err := d.db.ExecContext(ctx, d.q(`DELETE FROM signals WHERE time < ?`), before.Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
