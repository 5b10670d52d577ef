package ossecdb_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/dbdload"
)

func seqAlerts(server string, from, n int) []ossec.Alert {
	var out []ossec.Alert
	for i := from; i < from+n; i++ {
		out = append(out, mkAlert(base+int64(i), int64(i), 5716, 5, fmt.Sprintf("203.0.113.%d", i%7+1),
			server+"->/var/log/auth.log", fmt.Sprintf("%s event %d", server, i)))
	}
	return out
}

func ids(as []ossec.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID.String()+"@"+a.Location.Manager)
	}
	return out
}

// TestResume reads in small pages, stops half-way, resumes from the
// positions, and then sees rows appended later exactly once.
func TestResume(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    ossecdb.Dialect
		v    dbdload.Version
	}{
		{"mysql-3.x", ossecdb.MySQL, dbdload.V3x},
		{"mysql-2.8", ossecdb.MySQL, dbdload.V28},
		{"postgres-master", ossecdb.Postgres, dbdload.VMaster},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			dsn, sdb := fresh(t, tc.d)
			if err := dbdload.CreateSchema(ctx, sdb, tc.d, tc.v); err != nil {
				t.Fatal(err)
			}
			web1 := dbdload.NewLoader(sdb, tc.d, tc.v, "web1")
			web2 := dbdload.NewLoader(sdb, tc.d, tc.v, "web2")
			load := func(l *dbdload.Loader, as []ossec.Alert) {
				t.Helper()
				if err := l.Load(ctx, as); err != nil {
					t.Fatal(err)
				}
			}
			load(web1, seqAlerts("web1", 0, 12))
			load(web2, seqAlerts("web2", 0, 9))
			load(web1, seqAlerts("web1", 12, 3))
			db := open(t, dsn, ossecdb.Options{PageSize: 4})
			all := readAll(t, db.Alerts(ctx, nil))
			wantAll := append(seqAlerts("web1", 0, 15), seqAlerts("web2", 0, 9)...)
			if got, want := ids(all), idsOf(wantAll); !equal(got, want) {
				t.Fatalf("Alerts(nil) = %v\nwant %v", got, want)
			}

			pos := map[int]int64{}
			r := db.Alerts(ctx, pos)
			var first []ossec.Alert
			for len(first) < 17 && r.Next() {
				first = append(first, *r.Alert())
				s, id := r.Position()
				pos[s] = id
			}
			r.Close()
			rest := readAll(t, db.Alerts(ctx, pos))
			if got := ids(append(first, rest...)); !equal(got, ids(all)) {
				t.Fatalf("stop after 17 and resume = %v\nwant %v", got, ids(all))
			}
			r = db.Alerts(ctx, nil)
			for r.Next() {
				s, id := r.Position()
				pos[s] = id
			}
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, db.Alerts(ctx, pos)); len(got) != 0 {
				t.Fatalf("after the end: %v", ids(got))
			}
			// New rows from both servers, and a new location.
			load(web2, seqAlerts("web2", 9, 2))
			load(web1, []ossec.Alert{mkAlert(base+99, 99, 5716, 5, "", "web1->/var/log/new.log", "new location")})
			got := readAll(t, db.Alerts(ctx, pos))
			want := []string{fmt.Sprintf("%d.99@web1", base+99), fmt.Sprintf("%d.9@web2", base+9), fmt.Sprintf("%d.10@web2", base+10)}
			if !equal(ids(got), want) {
				t.Fatalf("appended rows = %v, want %v", ids(got), want)
			}
			if got[0].Location.Source != "/var/log/new.log" {
				t.Errorf("new location read as %+v", got[0].Location)
			}
		})
	}
}

func idsOf(as []ossec.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID.String()+"@"+strings.SplitN(a.Location.Raw, "->", 2)[0])
	}
	return out
}

func equal(a, b []string) bool {
	return strings.Join(a, ",") == strings.Join(b, ",")
}

// TestConnectErrors: a refused login, a closed port and a missing
// database are one quick line naming host and database, without the
// password.
func TestConnectErrors(t *testing.T) {
	myDSN := testenvMySQLServer(t)
	tests := []struct {
		name, dsn string
		want      []string
	}{
		{"mysql wrong password", strings.Replace(myDSN, "root@", "root:Sekr3t-pw@", 1), []string{`mysql database "ossec_nope"`, "127.0.0.1:3306", `user "root"`, "Access denied"}},
		{"mysql closed port", "mysql://root:Sekr3t-pw@127.0.0.1:1/ossec", []string{`mysql database "ossec"`, "127.0.0.1:1", "refused"}},
		{"postgres closed port", "postgres://postgres:Sekr3t-pw@127.0.0.1:1/ossec?sslmode=disable", []string{`postgres database "ossec"`, "127.0.0.1:1"}},
		{"postgres missing database", "postgres://postgres:Sekr3t-pw@127.0.0.1:5432/rampart_no_such_db?sslmode=disable", []string{`postgres database "rampart_no_such_db"`, "127.0.0.1:5432", "does not exist"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			db, err := ossecdb.Open(t.Context(), tt.dsn)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			t.Log(msg)
			if took := time.Since(start); took > 6*time.Second {
				t.Errorf("took %v", took)
			}
			if strings.Contains(msg, "Sekr3t") || strings.Contains(msg, "\n") {
				t.Errorf("error leaks the password or spans lines: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			var ce *ossecdb.ConnectError
			if !errors.As(err, &ce) {
				t.Errorf("error %T is not a *ConnectError", err)
			}
		})
	}
}

// testenvMySQLServer returns a DSN on the test server for a database that
// does not exist (the wrong password fails first); fresh skips, or fails
// in CI, when there is no server.
func testenvMySQLServer(t *testing.T) string {
	fresh(t, ossecdb.MySQL)
	return "mysql://root@127.0.0.1:3306/ossec_nope"
}

// TestNotOssecDB: an empty database is named as not an ossec-dbd one.
func TestNotOssecDB(t *testing.T) {
	dsn, _ := fresh(t, ossecdb.Postgres)
	_, err := ossecdb.Open(t.Context(), dsn)
	if err == nil || !strings.Contains(err.Error(), "not an ossec-dbd database") {
		t.Fatalf("Open(empty) = %v", err)
	}
}
