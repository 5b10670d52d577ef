// Package ossecdbtest gives tests a fresh ossec-dbd database on the
// machine's MariaDB or PostgreSQL. It is for tests only (internal/archtest
// checks that).
package ossecdbtest

import (
	"database/sql"
	"testing"

	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/dbdload"
	"github.com/rampart-ids/rampart/internal/testenv"
)

// Fresh returns the DSN of a new, empty database for dialect d and a
// connection to it, closed at cleanup. An absent engine skips the test, or
// fails it under CI=true (see testenv).
func Fresh(t testing.TB, d ossecdb.Dialect) (string, *sql.DB) {
	t.Helper()
	var dsn string
	if d == ossecdb.MySQL {
		dsn = testenv.MySQL(t)
	} else {
		dsn = testenv.Postgres(t)
	}
	cfg, err := ossecdb.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db, err := cfg.OpenSQL(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return dsn, db
}

// Schema is Fresh with the tables of ossec-dbd version v created, empty.
func Schema(t testing.TB, d ossecdb.Dialect, v dbdload.Version) (string, *sql.DB) {
	t.Helper()
	dsn, db := Fresh(t, d)
	if err := dbdload.CreateSchema(t.Context(), db, d, v); err != nil {
		t.Fatal(err)
	}
	return dsn, db
}
