// Package servertest starts a real central server (internal/server on a
// temporary SQLite state) for the tests of its clients: agent, sensor and
// commands. It serves nothing itself: tests put the handler behind their
// own httptest server, proxies included.
//
// It is for tests only: nothing outside _test.go files may import it.
package servertest

import (
	"bytes"
	"crypto/ed25519"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/blocklist"
	"github.com/rampart-ids/rampart/internal/policy"
	"github.com/rampart-ids/rampart/internal/server"
	"github.com/rampart-ids/rampart/internal/serverdb"
)

// Env is a server with its state and signing key.
type Env struct {
	t      testing.TB
	Server *server.Server
	DB     *serverdb.DB
	Signer *blocklist.Signer
}

// New starts a server with the default policy; seed makes its key.
func New(t testing.TB, seed byte) *Env {
	t.Helper()
	db, err := serverdb.Open(t.Context(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	signer, err := blocklist.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(t.Context(), server.Options{DB: db, Signer: signer, Policy: policy.Default()})
	if err != nil {
		t.Fatal(err)
	}
	return &Env{t: t, Server: srv, DB: db, Signer: signer}
}

// Token creates a token of role and returns its secret.
func (e *Env) Token(role, name string) string {
	e.t.Helper()
	secret, digest := server.NewToken()
	if _, err := e.DB.CreateToken(e.t.Context(), name, role, digest, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	return secret
}
