package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Defaults for the engines, overridden by RAMPART_TEST_MYSQL and
// RAMPART_TEST_POSTGRES. The path of the URL is ignored: each test gets its
// own database.
const (
	DefaultMySQL    = "mysql://root@127.0.0.1:3306/"
	DefaultPostgres = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
)

// connectTimeout bounds how long a test waits for an engine that is not
// there; a few seconds is plenty on loopback.
const connectTimeout = 5 * time.Second

// MySQL returns the DSN (mysql://root@127.0.0.1:3306/<db>) of a fresh, empty
// database created for this test on the machine's MariaDB, dropped at
// t.Cleanup. The server is taken from RAMPART_TEST_MYSQL (default
// DefaultMySQL). An unreachable server skips the test, or fails it when
// CI=true.
func MySQL(t testing.TB) string {
	t.Helper()
	base := envOr("RAMPART_TEST_MYSQL", DefaultMySQL)
	u, cfg, err := mysqlConfig(base)
	if err != nil {
		t.Fatalf("testenv: RAMPART_TEST_MYSQL: %v", err)
		return ""
	}
	admin := sql.OpenDB(mustConnector(t, cfg))
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		unavailable(t, "MariaDB", redact(u), err)
		return ""
	}
	name := dbName(t)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+name+"`"); err != nil {
		t.Fatalf("testenv: create MariaDB database %s: %v", name, err)
		return ""
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db := sql.OpenDB(mustConnector(t, cfg))
		defer db.Close()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			t.Errorf("testenv: drop MariaDB database %s: %v", name, err)
		}
	})
	out := *u
	out.Path = "/" + name
	return out.String()
}

// Postgres returns the DSN
// (postgres://postgres@127.0.0.1:5432/<db>?sslmode=disable) of a fresh, empty
// database created for this test on the machine's PostgreSQL, dropped at
// t.Cleanup. The server is taken from RAMPART_TEST_POSTGRES (default
// DefaultPostgres). An unreachable server skips the test, or fails it when
// CI=true.
func Postgres(t testing.TB) string {
	t.Helper()
	base := envOr("RAMPART_TEST_POSTGRES", DefaultPostgres)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("testenv: RAMPART_TEST_POSTGRES %q: want postgres://user@host:port/", redactString(base))
		return ""
	}
	adminURL := withDB(u, "postgres")
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	admin, err := openPostgres(adminURL)
	if err != nil {
		t.Fatalf("testenv: RAMPART_TEST_POSTGRES: %v", err)
		return ""
	}
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		unavailable(t, "PostgreSQL", redact(u), err)
		return ""
	}
	name := dbName(t)
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil {
		t.Fatalf("testenv: create PostgreSQL database %s: %v", name, err)
		return ""
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db, err := openPostgres(adminURL)
		if err != nil {
			t.Errorf("testenv: drop PostgreSQL database %s: %v", name, err)
			return
		}
		defer db.Close()
		// FORCE ends sessions a test forgot to close, which would
		// otherwise make the drop fail and leave the database behind.
		if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
			t.Errorf("testenv: drop PostgreSQL database %s: %v", name, err)
		}
	})
	return withDB(u, name).String()
}

// RequireRoot skips the test unless it runs as root, or fails it when
// CI=true.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		unavailable(t, "root", "this process", fmt.Errorf("euid is %d", os.Geteuid()))
	}
}

// unavailable skips t, or fails it in CI where a skip would hide the missing
// engine.
func unavailable(t testing.TB, what, where string, err error) {
	t.Helper()
	msg := fmt.Sprintf("requires %s at %s: %v", what, where, err)
	if what == "root" {
		msg = fmt.Sprintf("requires root: %v", err)
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: not skipping)")
		return
	}
	t.Skip(msg)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// dbName is "rampart_test_" and 12 random hex digits: lower case, so it needs
// no quoting rules of its own on either engine, and random, so parallel tests
// and packages never share a database.
func dbName(t testing.TB) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("testenv: random database name: %v", err)
	}
	return "rampart_test_" + hex.EncodeToString(b[:])
}

func mysqlConfig(dsn string) (*url.URL, *mysql.Config, error) {
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "mysql" && u.Scheme != "mariadb") {
		return nil, nil, fmt.Errorf("%q: want mysql://user@host:port/", redactString(dsn))
	}
	cfg := mysql.NewConfig()
	cfg.Net = "tcp"
	host, port := u.Hostname(), u.Port()
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "3306"
	}
	cfg.Addr = net.JoinHostPort(host, port)
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.Timeout = connectTimeout
	cfg.Logger = &mysql.NopLogger{}
	return u, cfg, nil
}

func mustConnector(t testing.TB, cfg *mysql.Config) driver.Connector {
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatalf("testenv: MariaDB config: %v", err)
	}
	return c
}

func openPostgres(u *url.URL) (*sql.DB, error) {
	cc, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", redact(u), err)
	}
	cc.ConnectTimeout = connectTimeout
	return stdlib.OpenDB(*cc), nil
}

func withDB(u *url.URL, name string) *url.URL {
	out := *u
	out.Path = "/" + name
	return &out
}

// redact prints a server URL for a skip or failure message without its
// password.
func redact(u *url.URL) string {
	out := *u
	if out.User != nil {
		if _, ok := out.User.Password(); ok {
			out.User = url.UserPassword(out.User.Username(), "xxxxx")
		}
	}
	return out.Redacted()
}

func redactString(s string) string {
	if u, err := url.Parse(s); err == nil {
		return redact(u)
	}
	if i := strings.LastIndex(s, "@"); i >= 0 {
		return "xxxxx" + s[i:]
	}
	return s
}
