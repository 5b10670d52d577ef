package ossecdb_test

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/dbdload"
)

// loaded returns a fresh database of version v holding the trap alerts,
// with the engine's statistics refreshed so the row estimate is real.
func loaded(t *testing.T, d ossecdb.Dialect, v dbdload.Version) (string, *sql.DB) {
	t.Helper()
	ctx := t.Context()
	dsn, sdb := fresh(t, d)
	if err := dbdload.CreateSchema(ctx, sdb, d, v); err != nil {
		t.Fatal(err)
	}
	if err := dbdload.NewLoader(sdb, d, v, "web1").Load(ctx, trapAlerts()); err != nil {
		t.Fatal(err)
	}
	analyze := "ANALYZE alert"
	if d == ossecdb.MySQL {
		analyze = "ANALYZE TABLE alert"
	}
	mustExec(t, sdb, analyze)
	return dsn, sdb
}

func mustExec(t *testing.T, sdb *sql.DB, q string) {
	t.Helper()
	rows, err := sdb.QueryContext(t.Context(), q) // ANALYZE TABLE returns rows
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	rows.Close()
}

// indexNames lists alert's indexes straight from the catalogue.
func indexNames(t *testing.T, sdb *sql.DB, d ossecdb.Dialect) []string {
	t.Helper()
	q := `SELECT DISTINCT index_name FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'alert'`
	if d == ossecdb.Postgres {
		q = `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'alert'`
	}
	rows, err := sdb.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out) // in Go: MariaDB's ORDER BY ignores case
	return out
}

// TestCreateTopIndex walks the operator's path: advice, plan (which
// changes nothing), creation, a second run that finds the index, and the
// advice gone once the index is there.
func TestCreateTopIndex(t *testing.T) {
	for _, tc := range []struct {
		name      string
		d         ossecdb.Dialect
		v         dbdload.Version
		wantStmts []string
	}{
		{"mysql-3.x", ossecdb.MySQL, dbdload.V3x, []string{"CREATE INDEX rampart_top ON alert (src_ip, alertid, level, rule_id)"}},
		{"mysql-hybrid", ossecdb.MySQL, dbdload.VHybrid, []string{"CREATE INDEX rampart_top ON alert (src_ip, alertid, level, rule_id)"}},
		{"postgres-master", ossecdb.Postgres, dbdload.VMaster, []string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS rampart_top ON alert (src_ip, alertid, level, rule_id)", "ANALYZE alert"}},
		{"postgres-2.8", ossecdb.Postgres, dbdload.V28, []string{"CREATE INDEX CONCURRENTLY IF NOT EXISTS rampart_top ON alert (src_ip, alertid, rule_id)", "ANALYZE alert"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			dsn, sdb := loaded(t, tc.d, tc.v)
			before := indexNames(t, sdb, tc.d)
			cols := "(src_ip, alertid, level, rule_id)"
			if tc.v == dbdload.V28 {
				cols = "(src_ip, alertid, rule_id)"
			}

			db := open(t, dsn, ossecdb.Options{TopIndexAdviceRows: 10})
			if n := db.RowsEstimate(); n < 100 || n > 400 {
				t.Errorf("RowsEstimate() = %d, want about %d", n, len(trapAlerts()))
			}
			if db.Layout().TopIndex != "" {
				t.Errorf("Layout().TopIndex = %q before any index", db.Layout().TopIndex)
			}
			advice, ok := db.TopIndexAdvice()
			wantAdvice := fmt.Sprintf(`"rampart db optimize --db %s" adds index rampart_top %s; top --db then reads the index only`, db.String(), cols)
			if !ok || advice != wantAdvice {
				t.Errorf("TopIndexAdvice() = %q, %v; want %q", advice, ok, wantAdvice)
			}
			if advice, ok := open(t, dsn, ossecdb.Options{}).TopIndexAdvice(); ok {
				t.Errorf("TopIndexAdvice() with the default threshold on %d rows = %q", db.RowsEstimate(), advice)
			}

			p, err := db.PlanTopIndex(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if p.Existing != "" || !slices.Equal(p.Statements, tc.wantStmts) {
				t.Errorf("PlanTopIndex() = %+v, want statements %q", p, tc.wantStmts)
			}
			if got := indexNames(t, sdb, tc.d); !slices.Equal(got, before) {
				t.Errorf("PlanTopIndex changed the indexes: %q, before %q", got, before)
			}

			r, err := db.CreateTopIndex(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Created || r.Name != ossecdb.TopIndexName || r.Rows < 100 || r.Took <= 0 {
				t.Errorf("CreateTopIndex() = %+v, want rampart_top created over the rows", r)
			}
			want := append(slices.Clone(before), ossecdb.TopIndexName)
			slices.Sort(want)
			if got := indexNames(t, sdb, tc.d); !slices.Equal(got, want) {
				t.Errorf("indexes after CreateTopIndex: %q, want %q", got, want)
			}
			r, err = db.CreateTopIndex(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if r.Created || r.Name != ossecdb.TopIndexName {
				t.Errorf("second CreateTopIndex() = %+v, want the existing rampart_top", r)
			}

			again := open(t, dsn, ossecdb.Options{TopIndexAdviceRows: 10})
			if again.Layout().TopIndex != ossecdb.TopIndexName {
				t.Errorf("Layout().TopIndex = %q after CreateTopIndex", again.Layout().TopIndex)
			}
			if advice, ok := again.TopIndexAdvice(); ok {
				t.Errorf("TopIndexAdvice() with the index = %q", advice)
			}
			checkPlan(t, again, sdb) // vacuums on PostgreSQL
			vis, err := again.VisibleFraction(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if (tc.d == ossecdb.MySQL && vis != -1) || (tc.d == ossecdb.Postgres && vis < 0.99) {
				t.Errorf("VisibleFraction() = %v after VACUUM", vis)
			}
		})
	}
}

// checkPlan asks the engine how it runs TopSources' aggregate with the
// index: from the index alone. PostgreSQL's planner is free to prefer a
// sequential scan of a table this small, or another index for a filter,
// so inside a transaction that is rolled back the other indexes are
// dropped and scans of the table disabled: the test shows that the index
// covers the query, not what the planner picks at scale.
func checkPlan(t *testing.T, db *ossecdb.DB, sdb *sql.DB) {
	t.Helper()
	ctx := t.Context()
	pg := db.Layout().Dialect == ossecdb.Postgres
	var names []string
	if pg {
		mustExec(t, sdb, "VACUUM alert")
		names = indexNames(t, sdb, ossecdb.Postgres)
	}
	tx, err := sdb.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if pg {
		for _, n := range names {
			if n != ossecdb.TopIndexName && n != "alert_pkey" {
				if _, err := tx.ExecContext(ctx, `DROP INDEX "`+n+`"`); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, q := range []string{"SET LOCAL enable_seqscan = off", "SET LOCAL enable_bitmapscan = off"} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, f := range []analytics.Filter{
		{},
		{MinLevel: 5, RuleID: 5712},
		{Since: time.Unix(base+86400, 0), MinLevel: 5, RuleID: 5712},
		{Since: time.Unix(5, 0)}, // the exact path
	} {
		q, args := ossecdb.TopQuery(db, f)
		rows, err := tx.QueryContext(ctx, "EXPLAIN "+q, args...)
		if err != nil {
			t.Fatalf("EXPLAIN %s: %v", q, err)
		}
		plan := readPlan(t, rows)
		var ok bool
		switch {
		case pg:
			ok = strings.Contains(plan, "Index Only Scan using rampart_top on alert")
		case f.Since.IsZero() && f.Until.IsZero():
			ok = strings.Contains(plan, "key=rampart_top ") && strings.Contains(plan, "Using index")
		default:
			// A time bound leaves MySQL the choice of the alertid
			// index; only the src_ip index must stay out.
			ok = !strings.Contains(plan, "key=src_ip ")
		}
		if !ok {
			t.Errorf("filter %+v: the plan does not read rampart_top alone:\n%s\n%s", f, q, plan)
		}
	}
}

// readPlan prints EXPLAIN's rows as "column=value" lines.
func readPlan(t *testing.T, rows *sql.Rows) string {
	t.Helper()
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	vals := make([]sql.NullString, len(cols))
	dest := make([]any, len(cols))
	for i := range vals {
		dest[i] = &vals[i]
	}
	var b strings.Builder
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		for i, c := range cols {
			fmt.Fprintf(&b, "%s=%s ", c, vals[i].String)
		}
		b.WriteString("\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestTopIndexDetection creates indexes by hand, as an operator might, and
// checks which of them serve TopSources: the columns must lead the index
// and be readable from it.
func TestTopIndexDetection(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    ossecdb.Dialect
		ddl  []string // creates the indexes on a fresh database
		want string   // Layout().TopIndex
		plan string   // part of PlanTopIndex's error, or "" for none
	}{
		{"mysql/other name, extra column", ossecdb.MySQL, []string{"CREATE INDEX my_cover ON alert (src_ip, alertid, level, rule_id, id)"}, "my_cover", ""},
		{"mysql/wrong order", ossecdb.MySQL, []string{"CREATE INDEX wrong ON alert (alertid, src_ip, level, rule_id)"}, "", ""},
		{"mysql/column missing", ossecdb.MySQL, []string{"CREATE INDEX short ON alert (src_ip, alertid, level)"}, "", ""},
		{"mysql/prefix", ossecdb.MySQL, []string{"CREATE INDEX pfx ON alert (src_ip(20), alertid, level, rule_id)"}, "", ""},
		{"mysql/ignored", ossecdb.MySQL, []string{"CREATE INDEX ign ON alert (src_ip, alertid, level, rule_id) IGNORED"}, "", ""},
		{"mysql/both: rampart_top preferred", ossecdb.MySQL, []string{"CREATE INDEX a_cover ON alert (src_ip, alertid, level, rule_id)", "CREATE INDEX rampart_top ON alert (src_ip, alertid, level, rule_id)"}, "rampart_top", ""},
		{"mysql/rampart_top in the way", ossecdb.MySQL, []string{"CREATE INDEX rampart_top ON alert (src_ip, level)"}, "", "exists but is on (src_ip, level), not (src_ip, alertid, level, rule_id): drop it (DROP INDEX rampart_top ON alert)"},
		{"postgres/other name", ossecdb.Postgres, []string{"CREATE INDEX my_cover ON alert (src_ip, alertid, level, rule_id)"}, "my_cover", ""},
		{"postgres/include columns", ossecdb.Postgres, []string{"CREATE INDEX incl ON alert (src_ip, alertid) INCLUDE (level, rule_id)"}, "incl", ""},
		{"postgres/partial", ossecdb.Postgres, []string{"CREATE INDEX part ON alert (src_ip, alertid, level, rule_id) WHERE level > 5"}, "", ""},
		{"postgres/expression", ossecdb.Postgres, []string{"CREATE INDEX expr ON alert (lower(src_ip), alertid, level, rule_id)"}, "", ""},
		{"postgres/hash", ossecdb.Postgres, []string{"CREATE INDEX h ON alert USING hash (src_ip)"}, "", ""},
		{"postgres/rampart_top in the way", ossecdb.Postgres, []string{"CREATE INDEX rampart_top ON alert (src_ip) WHERE level > 5"}, "", "exists but is partial, not (src_ip, alertid, level, rule_id): drop it (DROP INDEX CONCURRENTLY rampart_top)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dsn, sdb := loaded(t, tc.d, dbdload.V3x)
			for _, q := range tc.ddl {
				mustExec(t, sdb, q)
			}
			db := open(t, dsn, ossecdb.Options{TopIndexAdviceRows: 10})
			if got := db.Layout().TopIndex; got != tc.want {
				t.Errorf("Layout().TopIndex = %q, want %q", got, tc.want)
			}
			_, advised := db.TopIndexAdvice()
			if advised != (tc.want == "") {
				t.Errorf("TopIndexAdvice() ok = %v with TopIndex %q", advised, tc.want)
			}
			p, err := db.PlanTopIndex(t.Context())
			switch {
			case tc.plan != "":
				if err == nil || !strings.Contains(err.Error(), tc.plan) {
					t.Errorf("PlanTopIndex() = %+v, %v; want an error with %q", p, err, tc.plan)
				}
				if _, err := db.CreateTopIndex(t.Context()); err == nil {
					t.Errorf("CreateTopIndex() went ahead with %s in the way", ossecdb.TopIndexName)
				}
			case err != nil:
				t.Fatal(err)
			case p.Existing != tc.want || (tc.want == "") != (len(p.Statements) > 0):
				t.Errorf("PlanTopIndex() = %+v, want existing %q", p, tc.want)
			}
			if tc.want != "" {
				checkAggregates(t, db, readAll(t, db.Alerts(t.Context(), nil)))
			}
		})
	}
}

// TestTopIndexMySQL28 checks the one layout that cannot have the index:
// no advice, and a plan that says why.
func TestTopIndexMySQL28(t *testing.T) {
	dsn, _ := loaded(t, ossecdb.MySQL, dbdload.V28)
	db := open(t, dsn, ossecdb.Options{TopIndexAdviceRows: 10})
	if advice, ok := db.TopIndexAdvice(); ok {
		t.Errorf("TopIndexAdvice() = %q on a layout that cannot have the index", advice)
	}
	if _, err := db.PlanTopIndex(t.Context()); err == nil || !strings.Contains(err.Error(), "alert.alertid is TINYTEXT") {
		t.Errorf("PlanTopIndex() error = %v, want one naming alert.alertid is TINYTEXT", err)
	}
}

func TestLayoutFamily(t *testing.T) {
	for _, tc := range layoutCases {
		want := map[dbdload.Version]string{dbdload.V28: "2.8", dbdload.VHybrid: "hybrid"}[tc.v]
		if want == "" {
			want = "2.9+"
		}
		if got := tc.want.Family(); got != want {
			t.Errorf("%s: Family() = %q, want %q", tc.name, got, want)
		}
	}
}
