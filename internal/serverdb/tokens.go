package serverdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
)

// CreateToken stores a token by the SHA-256 digest of its secret.
func (d *DB) CreateToken(ctx context.Context, name, role string, hash []byte, now time.Time) (api.Token, error) {
	var id int64
	err := d.db.QueryRowContext(ctx, d.q(`INSERT INTO tokens (name, role, hash, created) VALUES (?, ?, ?, ?) RETURNING id`),
		name, role, hash, now.Unix()).Scan(&id)
	if err != nil {
		return api.Token{}, fmt.Errorf("create token: %w", err)
	}
	return api.Token{ID: id, Name: name, Role: role, Created: fromUnix(now.Unix())}, nil
}

// TokenByHash finds a token that is not revoked by its digest. The lookup is
// by an index on the digest, so timing says nothing about how close a wrong
// secret came (the caller compares digests, never secrets).
func (d *DB) TokenByHash(ctx context.Context, hash []byte) (api.Token, error) {
	var t api.Token
	var created, used, revoked int64
	err := d.db.QueryRowContext(ctx, d.q(`SELECT id, name, role, created, last_used, revoked FROM tokens WHERE hash = ?`), hash).
		Scan(&t.ID, &t.Name, &t.Role, &created, &used, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return api.Token{}, ErrNotFound
	}
	if err != nil {
		return api.Token{}, fmt.Errorf("token lookup: %w", err)
	}
	if revoked != 0 {
		return api.Token{}, ErrNotFound
	}
	t.Created, t.LastUsed = fromUnix(created), fromUnix(used)
	return t, nil
}

// TouchToken records a token's use (callers rate-limit this).
func (d *DB) TouchToken(ctx context.Context, id int64, now time.Time) error {
	_, err := d.db.ExecContext(ctx, d.q(`UPDATE tokens SET last_used = ? WHERE id = ?`), now.Unix(), id)
	return err
}

// Tokens lists every token, revoked ones included.
func (d *DB) Tokens(ctx context.Context) ([]api.Token, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, name, role, created, last_used, revoked FROM tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []api.Token
	for rows.Next() {
		var t api.Token
		var created, used, revoked int64
		if err := rows.Scan(&t.ID, &t.Name, &t.Role, &created, &used, &revoked); err != nil {
			return nil, err
		}
		t.Created, t.LastUsed, t.Revoked = fromUnix(created), fromUnix(used), fromUnix(revoked)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes a token; revoking twice is not an error.
func (d *DB) RevokeToken(ctx context.Context, id int64, now time.Time) error {
	res, err := d.db.ExecContext(ctx, d.q(`UPDATE tokens SET revoked = CASE WHEN revoked = 0 THEN ? ELSE revoked END WHERE id = ?`), now.Unix(), id)
	if err != nil {
		return fmt.Errorf("revoke token %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
