package dbdload_test

import (
	"database/sql"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/goldentest"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/dbdload"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/ossecdbtest"
)

func fresh(t *testing.T, d dbdload.Dialect) *sql.DB {
	t.Helper()
	_, db := ossecdbtest.Fresh(t, d)
	return db
}

var versions = []dbdload.Version{dbdload.V28, dbdload.V29, dbdload.V3x, dbdload.VMaster, dbdload.VHybrid}

// TestSchemaGolden reads the created tables back from the engine's
// catalogue, so the golden files show the columns, types, nullability,
// defaults and indexes the engine really made, for review against
// ossec-formats.md §2.
func TestSchemaGolden(t *testing.T) {
	for _, d := range []dbdload.Dialect{dbdload.MySQL, dbdload.Postgres} {
		for _, v := range versions {
			name := fmt.Sprintf("%s-%s", d, v)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				db := fresh(t, d)
				if err := dbdload.CreateSchema(t.Context(), db, d, v); err != nil {
					t.Fatal(err)
				}
				got := describe(t, db, d)
				path := filepath.Join("testdata", "schema", name+".golden")
				goldentest.Check(t, path, []byte(got))
				// Only MySQL 2.9+ files say IF NOT EXISTS.
				err := dbdload.CreateSchema(t.Context(), db, d, v)
				if again := d == dbdload.MySQL && v != dbdload.V28 && v != dbdload.VHybrid; again != (err == nil) {
					t.Errorf("second CreateSchema: %v", err)
				}
			})
		}
	}
}

func describe(t *testing.T, db *sql.DB, d dbdload.Dialect) string {
	t.Helper()
	var cols, idx string
	if d == dbdload.MySQL {
		cols = `SELECT table_name, column_name, column_type, is_nullable, COALESCE(column_default, '-'), extra
			FROM information_schema.columns WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position`
		idx = `SELECT table_name, index_name, CASE non_unique WHEN 0 THEN 'unique' ELSE '' END,
			GROUP_CONCAT(column_name ORDER BY seq_in_index), '', ''
			FROM information_schema.statistics WHERE table_schema = DATABASE()
			GROUP BY table_name, index_name, non_unique ORDER BY table_name, index_name`
	} else {
		cols = `SELECT table_name, column_name,
			data_type || COALESCE('(' || character_maximum_length || ')', ''), is_nullable, COALESCE(column_default, '-'), ''
			FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`
		idx = `SELECT tablename, indexname, '', regexp_replace(indexdef, '^.* USING ', ''), '', ''
			FROM pg_indexes WHERE schemaname = current_schema() ORDER BY tablename, indexname`
	}
	var b strings.Builder
	for _, q := range []string{cols, idx} {
		rs, err := db.QueryContext(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var f [6]string
			if err := rs.Scan(&f[0], &f[1], &f[2], &f[3], &f[4], &f[5]); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, strings.TrimRight(strings.Join(f[:], "\t"), "\t"))
		}
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		rs.Close()
		b.WriteString("\n")
	}
	return b.String()
}

// TestSpellings reads the raw columns a Loader wrote: the sentinels of
// ossec-formats.md §3.1 per writer, sanitising, cuts and insert lag.
func TestSpellings(t *testing.T) {
	type raw struct {
		Src, Dst, User any
		Level          any
		Location       string
	}
	loc := "(fé) any->/var/log/it's"
	tests := []struct {
		d       dbdload.Dialect
		v       dbdload.Version
		none    raw // alert without addresses or user
		some    raw // alert with them
		sanLoc  bool
		sigRows int
	}{
		{dbdload.MySQL, dbdload.V28, raw{int64(0), int64(0), "(null)", nil, ""}, raw{int64(3405803821), int64(0), "O`Brien", nil, ""}, false, 2},
		{dbdload.MySQL, dbdload.VHybrid, raw{int64(0), int64(0), "(null)", int64(3), ""}, raw{int64(3405803821), int64(0), "O`Brien", int64(10), ""}, false, 0},
		{dbdload.MySQL, dbdload.V29, raw{"(null)", "(null)", "(null)", int64(3), ""}, raw{"203.0.113.45", "2001:db8::1", "O`Brien", int64(10), ""}, false, 0},
		{dbdload.MySQL, dbdload.V3x, raw{"(null)", "(null)", "(null)", int64(3), ""}, raw{"203.0.113.45", "2001:db8::1", "O`Brien", int64(10), ""}, true, 0},
		{dbdload.MySQL, dbdload.VMaster, raw{nil, nil, "", int64(3), ""}, raw{"203.0.113.45", "2001:db8::1", "O`Brien", int64(10), ""}, true, 0},
		{dbdload.Postgres, dbdload.V29, raw{"(null)", "(null)", "(null)", int64(3), ""}, raw{"203.0.113.45", "2001:db8::1", "O`Brien", int64(10), ""}, false, 0},
		{dbdload.Postgres, dbdload.V3x, raw{"NULL", "NULL", "NULL", int64(3), ""}, raw{"203.0.113.45", "2001:db8::1", "O`Brien", int64(10), ""}, true, 0},
		{dbdload.Postgres, dbdload.VMaster, raw{nil, nil, "", int64(3), ""}, raw{"203.0.113.45", "2001:db8::1", "O`Brien", int64(10), ""}, true, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s-%s", tt.d, tt.v), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			db := fresh(t, tt.d)
			if err := dbdload.CreateSchema(ctx, db, tt.d, tt.v); err != nil {
				t.Fatal(err)
			}
			none := ossec.Alert{ID: ossec.ID{Epoch: 1700000000, Seq: 1}, Time: time.Unix(1700000000, 0), RuleID: 1002, Level: 3,
				Location: ossec.ParseLocation(loc), Log: []string{"a\tb", "c\\"}}
			some := ossec.Alert{ID: ossec.ID{Epoch: 1700000100, Seq: 2}, Time: time.Unix(1700000100, 0), RuleID: 5712, Level: 10,
				SrcIP: netip.MustParseAddr("203.0.113.45"), DstIP: netip.MustParseAddr("2001:db8::1"), SrcPort: 22, User: "O'Brien",
				Location: ossec.ParseLocation("web1->/var/log/auth.log"), Description: "SSHD brute force", Groups: []string{"syslog", "sshd"}}
			l := dbdload.NewLoader(db, tt.d, tt.v, "web1")
			if err := l.Load(ctx, []ossec.Alert{none, some}); err != nil {
				t.Fatal(err)
			}
			from, user, level, ph := "alert a", "a.`user`", "a.level", "?"
			if tt.d == dbdload.Postgres {
				user, ph = `a."user"`, "$1"
			}
			if tt.v == dbdload.V28 {
				from, user, level = "alert a JOIN data d ON d.id = a.id AND d.server_id = a.server_id", strings.Replace(user, "a.", "d.", 1), "NULL"
			}
			logCol := strings.Replace(user, "user", "full_log", 1)
			logCol = strings.Trim(strings.ReplaceAll(logCol, "`", ""), `"`)
			logCol = strings.ReplaceAll(logCol, `"`, "")
			q := fmt.Sprintf(`SELECT a.src_ip, a.dst_ip, %s, %s, l.name, a.timestamp, a.src_port, %s FROM %s
				JOIN location l ON l.id = a.location_id AND l.server_id = a.server_id WHERE a.alertid = %s`, user, level, logCol, from, ph)
			read := func(a ossec.Alert) (raw, int64, int64, string) {
				var r raw
				var ts, port int64
				var log string
				if err := db.QueryRowContext(ctx, q, a.ID.String()).Scan(&r.Src, &r.Dst, &r.User, &r.Level, &r.Location, &ts, &port, &log); err != nil {
					t.Fatal(err)
				}
				for _, p := range []*any{&r.Src, &r.Dst, &r.User, &r.Level} {
					switch v := (*p).(type) {
					case []byte:
						*p = string(v)
					case int32:
						*p = int64(v)
					case int16:
						*p = int64(v)
					case uint64:
						*p = int64(v)
					}
				}
				// MySQL may return integers as text in the text protocol.
				if s, ok := r.Level.(string); ok {
					var n int64
					fmt.Sscan(s, &n)
					r.Level = n
				}
				for _, p := range []*any{&r.Src, &r.Dst} {
					if s, ok := (*p).(string); ok && tt.v != dbdload.V29 && tt.v != dbdload.V3x && tt.v != dbdload.VMaster {
						var n int64
						fmt.Sscan(s, &n)
						*p = n
					}
				}
				return r, ts, port, log
			}
			gotNone, ts, _, log := read(none)
			wantLoc := loc
			if tt.sanLoc {
				wantLoc = "(f  ) any->/var/log/it`s"
			}
			tt.none.Location = wantLoc
			if diff := cmp.Diff(tt.none, gotNone); diff != "" {
				t.Errorf("alert without addresses (-want +got):\n%s", diff)
			}
			if log != "a b\nc" {
				t.Errorf("full_log = %q, want %q", log, "a b\nc")
			}
			if ts < 1700000000 || ts > 1700000002 {
				t.Errorf("timestamp %d: want alert time + 0–2 s", ts)
			}
			gotSome, _, port, _ := read(some)
			tt.some.Location = "web1->/var/log/auth.log"
			if diff := cmp.Diff(tt.some, gotSome); diff != "" {
				t.Errorf("alert with addresses (-want +got):\n%s", diff)
			}
			if port != 22 {
				t.Errorf("src_port = %d", port)
			}
			var sigs int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM signature").Scan(&sigs); err != nil {
				t.Fatal(err)
			}
			if sigs != tt.sigRows {
				t.Errorf("%d signature rows, want %d (only 2.8 fills signature)", sigs, tt.sigRows)
			}
			var maps int
			if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM signature_category_mapping").Scan(&maps); err != nil {
				t.Fatal(err)
			}
			if maps != 2 {
				t.Errorf("%d rule → group rows, want 2", maps)
			}
		})
	}
}

func TestUnknownVersion(t *testing.T) {
	if err := dbdload.CreateSchema(t.Context(), nil, dbdload.MySQL, dbdload.Version(42)); err == nil || !strings.Contains(err.Error(), "unknown version 42") {
		t.Errorf("CreateSchema(version 42) = %v", err)
	}
}
