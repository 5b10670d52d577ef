package serverdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
)

// ReportAgent records an agent's report.
func (d *DB) ReportAgent(ctx context.Context, tokenID int64, r api.AgentReport, now time.Time) error {
	_, err := d.db.ExecContext(ctx, d.q(`INSERT INTO agents (name, token_id, applied, applied_at, backends, entries, drift, error, apply_ms, seen)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET token_id = excluded.token_id, applied = excluded.applied, applied_at = excluded.applied_at,
			backends = excluded.backends, entries = excluded.entries, drift = excluded.drift, error = excluded.error,
			apply_ms = excluded.apply_ms, seen = excluded.seen`),
		r.Name, tokenID, int64(r.Applied), unix(r.AppliedAt), strings.Join(r.Backends, ","), r.Entries, r.Drift, r.Error, r.ApplyMillis, now.Unix())
	if err != nil {
		return fmt.Errorf("agent report: %w", err)
	}
	return nil
}

// SeeAgent records that an agent polled with a version in place, without a
// full report.
func (d *DB) SeeAgent(ctx context.Context, tokenID int64, name string, applied uint64, now time.Time) error {
	_, err := d.db.ExecContext(ctx, d.q(`INSERT INTO agents (name, token_id, applied, applied_at, backends, entries, drift, error, apply_ms, seen)
		VALUES (?, ?, ?, 0, '', 0, 0, '', 0, ?)
		ON CONFLICT (name) DO UPDATE SET applied = excluded.applied, seen = excluded.seen`), name, tokenID, int64(applied), now.Unix())
	return err
}

// Agents lists the agents; Current is left for the caller, who knows the
// version.
func (d *DB) Agents(ctx context.Context) ([]api.Agent, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT name, applied, applied_at, backends, entries, drift, error, apply_ms, seen FROM agents ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []api.Agent
	for rows.Next() {
		var a api.Agent
		var applied, appliedAt, seen int64
		var backends string
		if err := rows.Scan(&a.Name, &applied, &appliedAt, &backends, &a.Entries, &a.Drift, &a.Error, &a.ApplyMillis, &seen); err != nil {
			return nil, err
		}
		a.Applied, a.AppliedAt, a.Seen = uint64(applied), fromUnix(appliedAt), fromUnix(seen)
		if backends != "" {
			a.Backends = strings.Split(backends, ",")
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// LastPull returns the last complete pull of a CrowdSec bouncer, known by
// its token and its client address (zero: never).
func (d *DB) LastPull(ctx context.Context, tokenID int64, client string) (time.Time, error) {
	var t int64
	err := d.db.QueryRowContext(ctx, d.q(`SELECT last_pull FROM bouncer_state WHERE token_id = ? AND client = ?`), tokenID, client).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("bouncer last pull: %w", err)
	}
	return fromUnix(t), nil
}

// SetLastPull records a bouncer's complete pull.
func (d *DB) SetLastPull(ctx context.Context, tokenID int64, client string, t time.Time) error {
	_, err := d.db.ExecContext(ctx, d.q(`INSERT INTO bouncer_state (token_id, client, last_pull) VALUES (?, ?, ?)
		ON CONFLICT (token_id, client) DO UPDATE SET last_pull = excluded.last_pull`), tokenID, client, t.Unix())
	return err
}
