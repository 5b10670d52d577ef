package dbcmd_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/cli"
	"github.com/rampart-ids/rampart/internal/cli/dbcmd"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/dbdload"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/ossecdbtest"
)

// rampart runs the real entry point in-process.
func rampart(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	// A store path in the test's directory keeps top off the user's.
	args = append([]string{"--store", t.TempDir() + "/store.db"}, args...)
	code = cli.Main(ctx, args, cli.Stdio{In: strings.NewReader(""), Out: &o, Err: &e})
	return o.String(), e.String(), code
}

func mustRun(t *testing.T, args ...string) (stdout, stderr string) {
	t.Helper()
	out, errOut, code := rampart(t, args...)
	if code != 0 {
		t.Fatalf("rampart %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out, errOut
}

// database returns a fresh ossec-dbd database of version v holding a few
// hundred alerts from a handful of sources, and a connection to it.
func database(t *testing.T, d ossecdb.Dialect, v dbdload.Version) (string, *sql.DB) {
	t.Helper()
	ctx := t.Context()
	dsn, sdb := ossecdbtest.Schema(t, d, v)
	var as []ossec.Alert
	for i := range 300 {
		e := int64(1_700_000_000 + 37*i)
		a := ossec.Alert{
			ID: ossec.ID{Epoch: e, Seq: int64(i)}, Time: time.Unix(e, 0).UTC(),
			RuleID: []int{5712, 5716, 31104}[i%3], Level: 3 + i%8,
			Location: ossec.ParseLocation("web1->/var/log/auth.log"),
			Log:      []string{fmt.Sprintf("event %d", i)},
		}
		if i%10 != 0 {
			a.SrcIP = netip.AddrFrom4([4]byte{203, 0, 113, byte(i % 7)})
		}
		as = append(as, a)
	}
	if err := dbdload.NewLoader(sdb, d, v, "web1").Load(ctx, as); err != nil {
		t.Fatal(err)
	}
	return dsn, sdb
}

func status(t *testing.T, dsn string) dbcmd.Status {
	t.Helper()
	out, _ := mustRun(t, "db", "status", "--db", dsn, "--format", "json")
	var st dbcmd.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status JSON: %v\n%s", err, out)
	}
	return st
}

// TestOptimize runs an operator's session: status, a dry run that changes
// nothing, optimize, optimize again, status, and top giving the same
// answer with the index as without.
func TestOptimize(t *testing.T) {
	for _, tc := range []struct {
		name    string
		d       ossecdb.Dialect
		v       dbdload.Version
		family  string
		textIPs bool
		sql     []string
	}{
		{"mysql-3.x", ossecdb.MySQL, dbdload.V3x, "2.9+", true, []string{"CREATE INDEX rampart_top ON alert (src_ip, alertid, level, rule_id);"}},
		{"mysql-hybrid", ossecdb.MySQL, dbdload.VHybrid, "hybrid", false, []string{"CREATE INDEX rampart_top ON alert (src_ip, alertid, level, rule_id);"}},
		{"postgres-master", ossecdb.Postgres, dbdload.VMaster, "2.9+", true, []string{
			"CREATE INDEX CONCURRENTLY IF NOT EXISTS rampart_top ON alert (src_ip, alertid, level, rule_id);", "ANALYZE alert;"}},
		{"postgres-2.8", ossecdb.Postgres, dbdload.V28, "2.8", false, []string{
			"CREATE INDEX CONCURRENTLY IF NOT EXISTS rampart_top ON alert (src_ip, alertid, rule_id);", "ANALYZE alert;"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dsn, _ := database(t, tc.d, tc.v)
			cols := "src_ip, alertid, level, rule_id"
			if tc.v == dbdload.V28 {
				cols = "src_ip, alertid, rule_id"
			}

			st := status(t, dsn)
			if st.Family != tc.family || st.TextIPs != tc.textIPs || st.TopIndex != "" || st.TopIndexProblem != "" ||
				st.Dialect != tc.d.String() || strings.Join(st.TopIndexColumns, ", ") != cols {
				t.Errorf("status before optimize = %+v", st)
			}
			table, _ := mustRun(t, "db", "status", "--db", dsn)
			for _, want := range []string{"family       " + tc.family + "\n", "top index    none: top --db scans the table; \"rampart db optimize --db "} {
				if !strings.Contains(table, want) {
					t.Errorf("status table lacks %q:\n%s", want, table)
				}
			}
			topBefore, hint := mustRun(t, "top", "--db", dsn, "--scope", "all", "--format", "json")
			if strings.Contains(hint, "hint:") {
				t.Errorf("top on %d rows gave a hint: %s", 300, hint)
			}

			out, errOut := mustRun(t, "db", "optimize", "--db", dsn, "--dry-run")
			if got := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); !slices.Equal(got, tc.sql) {
				t.Errorf("optimize --dry-run printed %q (stderr %q), want %q", got, errOut, tc.sql)
			}
			if st := status(t, dsn); st.TopIndex != "" {
				t.Errorf("optimize --dry-run created index %q", st.TopIndex)
			}

			out, _ = mustRun(t, "db", "optimize", "--db", dsn)
			re := regexp.MustCompile(`^created index rampart_top on alert \(` + regexp.QuoteMeta(cols) + `\): about \d+ rows in \d[\d.]*m?s\n$`)
			if !re.MatchString(out) {
				t.Errorf("optimize printed %q, want a match of %s", out, re)
			}
			wantExists := "index rampart_top on alert (" + cols + ") exists: nothing to do\n"
			if out, _ := mustRun(t, "db", "optimize", "--db", dsn); out != wantExists {
				t.Errorf("second optimize printed %q, want %q", out, wantExists)
			}
			if out, errOut := mustRun(t, "db", "optimize", "--db", dsn, "--dry-run"); out != "" || errOut != wantExists {
				t.Errorf("optimize --dry-run with the index: stdout %q, stderr %q; want only %q on stderr", out, errOut, wantExists)
			}
			if st := status(t, dsn); st.TopIndex != ossecdb.TopIndexName {
				t.Errorf("status after optimize: top_index %q", st.TopIndex)
			}
			topAfter, _ := mustRun(t, "top", "--db", dsn, "--scope", "all", "--format", "json")
			if topAfter != topBefore || !strings.Contains(topAfter, `"203.0.113.`) {
				t.Errorf("top --db with the index:\n%s\nwithout:\n%s", topAfter, topBefore)
			}
		})
	}
}

// TestOptimizeMySQL28 checks the layout that cannot have the index: status
// says why, optimize fails saying why and changes nothing.
func TestOptimizeMySQL28(t *testing.T) {
	dsn, _ := database(t, ossecdb.MySQL, dbdload.V28)
	_, errOut, code := rampart(t, "db", "optimize", "--db", dsn)
	if code != cli.ExitError || !strings.Contains(errOut, "alert.alertid is TINYTEXT") {
		t.Errorf("optimize on MySQL 2.8: exit %d, stderr %q; want exit 1 naming TINYTEXT", code, errOut)
	}
	st := status(t, dsn)
	if st.TopIndex != "" || !strings.Contains(st.TopIndexProblem, "TINYTEXT") || st.Family != "2.8" {
		t.Errorf("status = %+v", st)
	}
	if out, _ := mustRun(t, "db", "status", "--db", dsn); !strings.Contains(out, "top index    none, and none possible: ") {
		t.Errorf("status table:\n%s", out)
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"db", "status"}, "--db is required"},
		{[]string{"db", "optimize", "--dry-run"}, "--db is required"},
		{[]string{"db", "status", "--db", "oracle://x/y"}, `unknown scheme "oracle"`},
		{[]string{"db", "optimize", "--db", "mysql://u:s3cret@127.0.0.1/"}, "invalid --db"},
		{[]string{"db", "status", "--db", "mysql://u@127.0.0.1/x", "--format", "csv"}, `invalid --format "csv"`},
		{[]string{"db", "status", "extra"}, "unknown command"},
	} {
		_, errOut, code := rampart(t, tc.args...)
		if code != cli.ExitUsage || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "s3cret") {
			t.Errorf("rampart %q: exit %d, stderr %q; want exit 2 with %q", tc.args, code, errOut, tc.want)
		}
	}
}
