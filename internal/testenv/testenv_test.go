package testenv

import (
	"database/sql"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"testing"
)

// recorder stands in for a testing.TB to see whether a helper skips or
// fails, without ending the real test.
type recorder struct {
	testing.TB
	skipped, failed string
	cleanups        []func()
}

func (r *recorder) Helper()           {}
func (r *recorder) Cleanup(f func())  { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Skip(args ...any)  { r.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) Fatal(args ...any) { r.failed = fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func run(t *testing.T, f func(testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	for _, c := range r.cleanups {
		c()
	}
	return r
}

func TestUnavailable(t *testing.T) {
	tests := []struct {
		name, env, dsn string
		call           func(testing.TB)
		ci             string
		wantSkip       bool
		want           string
	}{
		{"mysql skip", "RAMPART_TEST_MYSQL", "mysql://root:sekrit@127.0.0.1:1/", func(t testing.TB) { MySQL(t) }, "", true, "requires MariaDB at mysql://root:xxxxx@127.0.0.1:1/"},
		{"mysql ci", "RAMPART_TEST_MYSQL", "mysql://root@127.0.0.1:1/", func(t testing.TB) { MySQL(t) }, "true", false, "requires MariaDB at mysql://root@127.0.0.1:1/"},
		{"postgres skip", "RAMPART_TEST_POSTGRES", "postgres://postgres:sekrit@127.0.0.1:1/?sslmode=disable", func(t testing.TB) { Postgres(t) }, "", true, "requires PostgreSQL at postgres://postgres:xxxxx@127.0.0.1:1/"},
		{"postgres ci", "RAMPART_TEST_POSTGRES", "postgres://postgres@127.0.0.1:1/?sslmode=disable", func(t testing.TB) { Postgres(t) }, "true", false, "requires PostgreSQL at postgres://postgres@127.0.0.1:1/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(tt.env, tt.dsn)
			t.Setenv("CI", tt.ci)
			r := run(t, tt.call)
			got := r.failed
			if tt.wantSkip {
				got = r.skipped
				if r.failed != "" {
					t.Fatalf("failed instead of skipping: %s", r.failed)
				}
			} else if r.skipped != "" {
				t.Fatalf("skipped in CI: %s", r.skipped)
			}
			if !strings.HasPrefix(got, tt.want) {
				t.Errorf("message = %q, want prefix %q", got, tt.want)
			}
			if strings.Contains(got, "sekrit") {
				t.Errorf("message leaks the password: %q", got)
			}
		})
	}
}

func TestRequireRoot(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		r := run(t, RequireRoot)
		isRoot := r.skipped == "" && r.failed == ""
		if isRoot {
			continue
		}
		if ci == "true" && r.failed == "" || ci == "" && r.skipped == "" {
			t.Errorf("CI=%q: skipped=%q failed=%q", ci, r.skipped, r.failed)
		}
	}
}

// TestDatabases proves each helper hands out a usable, empty database of its
// own and drops it when the test ends.
func TestDatabases(t *testing.T) {
	tests := []struct {
		name   string
		dsn    func(testing.TB) string
		open   func(t *testing.T, dsn string) *sql.DB
		exists string // query counting databases named $1 / ?
	}{
		{"mysql", MySQL, openMySQL, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?"},
		{"postgres", Postgres, openPG, "SELECT COUNT(*) FROM pg_database WHERE datname = $1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var first, second string
			t.Run("use", func(t *testing.T) {
				first, second = tt.dsn(t), tt.dsn(t)
				if first == second {
					t.Fatalf("two calls gave the same database %s", first)
				}
				db := tt.open(t, first)
				ctx := t.Context()
				if _, err := db.ExecContext(ctx, "CREATE TABLE t (x INT)"); err != nil {
					t.Fatal(err)
				}
				if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES (42)"); err != nil {
					t.Fatal(err)
				}
			})
			if first == "" {
				return // skipped: the engine is not here
			}
			admin := tt.open(t, adminDSN(first))
			for _, dsn := range []string{first, second} {
				u, err := url.Parse(dsn)
				if err != nil {
					t.Fatal(err)
				}
				name := strings.TrimPrefix(u.Path, "/")
				if !strings.HasPrefix(name, "rampart_test_") {
					t.Errorf("database name %q lacks the rampart_test_ prefix", name)
				}
				var n int
				if err := admin.QueryRowContext(t.Context(), tt.exists, name).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n != 0 {
					t.Errorf("database %s still exists after its test ended", name)
				}
			}
		})
	}
}

func adminDSN(dsn string) string {
	u, _ := url.Parse(dsn)
	if u.Scheme == "mysql" {
		u.Path = "/"
	} else {
		u.Path = "/postgres"
	}
	return u.String()
}

func openMySQL(t *testing.T, dsn string) *sql.DB {
	u, cfg, err := mysqlConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DBName = strings.TrimPrefix(u.Path, "/")
	db := sql.OpenDB(mustConnector(t, cfg))
	t.Cleanup(func() { db.Close() })
	return db
}

func openPG(t *testing.T, dsn string) *sql.DB {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db, err := openPostgres(u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
