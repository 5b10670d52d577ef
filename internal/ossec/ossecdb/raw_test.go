package ossecdb_test

import (
	"database/sql"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/dbdload"
)

// rawRow is an alert row written by hand, spelled as no Loader would.
type rawRow struct {
	src     any // string, int64 or nil
	alertid any // string or nil
	rule    int
	level   int
}

func insertRaw(t *testing.T, sdb *sql.DB, d ossecdb.Dialect, rows []rawRow) []int64 {
	t.Helper()
	ctx := t.Context()
	ph := func(q string) string {
		if d != ossecdb.Postgres {
			return q
		}
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
		}
		return q
	}
	mustExec := func(q string, args ...any) {
		if _, err := sdb.ExecContext(ctx, ph(q), args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	mustExec("INSERT INTO server (id, last_contact, version, hostname, information) VALUES (1, 0, 'v3.7.0', 'web1', '')")
	mustExec("INSERT INTO location (id, server_id, name) VALUES (1, 1, 'web1->/var/log/auth.log')")
	user := "`user`"
	if d == ossecdb.Postgres {
		user = `"user"`
	}
	var ids []int64
	for i, r := range rows {
		id := int64(i + 1)
		mustExec(`INSERT INTO alert (id, server_id, rule_id, level, timestamp, location_id, src_ip, dst_ip, src_port, dst_port, alertid, `+user+`, full_log)
			VALUES (?, 1, ?, ?, 0, 1, ?, NULL, 0, 0, ?, '', ?)`, id, r.rule, r.level, r.src, r.alertid, fmt.Sprintf("row %d", id))
		ids = append(ids, id)
	}
	return ids
}

func id(epoch int64, seq int) string { return fmt.Sprintf("%d.%d", epoch, seq) }

// TestRawSpellings proves the missing-address predicate, the merge of
// spellings, and the handling of bad alertids on rows written by hand.
func TestRawSpellings(t *testing.T) {
	cases := []struct {
		name string
		d    ossecdb.Dialect
		v    dbdload.Version
	}{
		{"mysql-3.x", ossecdb.MySQL, dbdload.V3x},
		{"mysql-master", ossecdb.MySQL, dbdload.VMaster},
		{"postgres-3.x", ossecdb.Postgres, dbdload.V3x},
	}
	rows := []rawRow{
		{" (null)", id(base, 1), 1, 1},
		{"(null)", id(base, 2), 1, 1},
		{"NULL", id(base, 3), 1, 1},
		{"", id(base, 4), 1, 1},
		{"0", id(base, 5), 1, 1},
		{"(none)", id(base, 6), 1, 1},
		{"0.0.0.0", id(base, 7), 1, 1},
		{nil, id(base, 8), 1, 1},
		{"::", id(base, 9), 1, 1},
		{"host.example.org", id(base, 10), 1, 1},
		{"203.0.113.5", id(base+10, 11), 100, 5},
		{"203.0.113.5", id(base+20, 12), 200, 7},
		{"::ffff:203.0.113.5", id(base+5, 13), 100, 9},
		{"::FFFF:203.0.113.5", id(base+30, 14), 100, 3},
		{" 203.0.113.5 ", id(base+40, 15), 200, 4},
		{"203.0.113.6", nil, 100, 15},              // malformed: NULL alertid
		{"203.0.113.6", "1700000057.5.5", 100, 15}, // malformed
		{"203.0.113.6", "1700000055.x", 100, 15},   // malformed, neither MIN nor MAX of .6
		{"203.0.113.6", id(base+50, 19), 100, 2},   // the one good row of .6
		{"203.0.113.7", "999999999.5", 300, 6},     // 9-digit epoch (2001)
		{"2001:db8::1", id(base+60, 21), 100, 5},   // IPv6 in two spellings
		{"2001:DB8:0:0:0:0:0:1", id(base+70, 22), 300, 6},
		{"203.0.113.6", id(base+60, 23), 100, 1},
	}
	at := func(e int64) time.Time { return time.Unix(e, 0).UTC() }
	a5, a6, a7, a61 := netip.MustParseAddr("203.0.113.5"), netip.MustParseAddr("203.0.113.6"), netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("2001:db8::1")
	tests := []struct {
		f    analytics.Filter
		want []analytics.SourceCount
	}{
		{analytics.Filter{}, []analytics.SourceCount{
			{Addr: a5, Count: 5, FirstSeen: at(base + 5), LastSeen: at(base + 40), MaxLevel: 9, Rules: 2},
			{Addr: a6, Count: 2, FirstSeen: at(base + 50), LastSeen: at(base + 60), MaxLevel: 2, Rules: 1},
			{Addr: a61, Count: 2, FirstSeen: at(base + 60), LastSeen: at(base + 70), MaxLevel: 6, Rules: 2},
			{Addr: a7, Count: 1, FirstSeen: at(999999999), LastSeen: at(999999999), MaxLevel: 6, Rules: 1},
		}},
		{analytics.Filter{Since: at(base + 10), Until: at(base + 40)}, []analytics.SourceCount{
			{Addr: a5, Count: 3, FirstSeen: at(base + 10), LastSeen: at(base + 30), MaxLevel: 7, Rules: 2},
			{Addr: a61, Count: 2, FirstSeen: at(base + 60), LastSeen: at(base + 70), MaxLevel: 6, Rules: 2},
			{Addr: a6, Count: 1, FirstSeen: at(base + 50), LastSeen: at(base + 50), MaxLevel: 2, Rules: 1},
		}[:1]},
		{analytics.Filter{RuleID: 100, MinLevel: 4}, []analytics.SourceCount{
			{Addr: a5, Count: 2, FirstSeen: at(base + 5), LastSeen: at(base + 10), MaxLevel: 9, Rules: 1},
			{Addr: a61, Count: 1, FirstSeen: at(base + 60), LastSeen: at(base + 60), MaxLevel: 5, Rules: 1},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			dsn, sdb := fresh(t, tc.d)
			if err := dbdload.CreateSchema(ctx, sdb, tc.d, tc.v); err != nil {
				t.Fatal(err)
			}
			ids := insertRaw(t, sdb, tc.d, rows)
			var problems []string
			db := open(t, dsn, ossecdb.Options{Problems: func(e *ossec.ParseError) { problems = append(problems, e.Error()) }})
			for _, tt := range tests {
				got, err := db.TopSources(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				got = analytics.Finish(got, analytics.Selection{})
				if diff := cmp.Diff(tt.want, got, cmpAddr, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("TopSources(%+v) mismatch (-want +got):\n%s", tt.f, diff)
				}
			}
			r := db.Alerts(ctx, nil)
			alerts := readAll(t, r)
			if len(alerts) != len(rows)-3 || r.Malformed() != 3 {
				t.Errorf("Alerts: %d alerts, %d malformed; want %d, 3", len(alerts), r.Malformed(), len(rows)-3)
			}
			wantProblems := []string{
				fmt.Sprintf(`table alert, id %d, server_id 1: alertid is NULL: ""`, ids[15]),
				fmt.Sprintf(`table alert, id %d, server_id 1: alertid is not "<epoch>.<n>": "1700000057.5.5"`, ids[16]),
				fmt.Sprintf(`table alert, id %d, server_id 1: alertid is not "<epoch>.<n>": "1700000055.x"`, ids[17]),
			}
			if diff := cmp.Diff(wantProblems, problems); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
			// The stream's view agrees with the database's aggregates.
			c := analytics.NewCounter(analytics.Filter{})
			for i := range alerts {
				c.Add(&alerts[i])
			}
			if diff := cmp.Diff(tests[0].want, analytics.Finish(c.Sources(), analytics.Selection{}), cmpAddr); diff != "" {
				t.Errorf("Counter over Alerts() disagrees (-want +got):\n%s", diff)
			}
			// Without the 9-digit epoch, nothing but the per-row shape
			// check sees "1700000055.x" and "1700000057.5.5" (neither is
			// a MIN or MAX), and it must send the count to exact epochs.
			if _, err := sdb.ExecContext(ctx, "DELETE FROM alert WHERE alertid = '999999999.5'"); err != nil {
				t.Fatal(err)
			}
			got, err := db.TopSources(ctx, analytics.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tests[0].want[:3], analytics.Finish(got, analytics.Selection{}), cmpAddr); diff != "" {
				t.Errorf("TopSources without the 9-digit row (-want +got):\n%s", diff)
			}
			rep, err := db.SourceReport(ctx, netip.MustParseAddr("::ffff:203.0.113.5"), analytics.Filter{}, 2)
			if err != nil {
				t.Fatal(err)
			}
			wantRep := analytics.SourceReport{
				Addr: a5, Count: 5, FirstSeen: at(base + 5), LastSeen: at(base + 40),
				ByRule:     []analytics.RuleCount{{RuleID: 100, Level: 5, Count: 3}, {RuleID: 200, Level: 7, Count: 2}},
				ByLevel:    []analytics.LevelCount{{Level: 9, Count: 1}, {Level: 7, Count: 1}, {Level: 5, Count: 1}, {Level: 4, Count: 1}, {Level: 3, Count: 1}},
				ByLocation: []analytics.LocationCount{{Location: "web1->/var/log/auth.log", Count: 5}},
				ByDay:      []analytics.DayCount{{Day: at(base - base%86400), Count: 5}},
				Alerts: []analytics.AlertLine{
					{Time: at(base + 40), RuleID: 200, Level: 4, Location: "web1->/var/log/auth.log", Log: "row 15"},
					{Time: at(base + 30), RuleID: 100, Level: 3, Location: "web1->/var/log/auth.log", Log: "row 14"},
				},
			}
			if diff := cmp.Diff(wantRep, rep, cmpAddr); diff != "" {
				t.Errorf("SourceReport mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRawIntegers checks the integer layouts: 0, NULL and values beyond 32
// bits are no address.
func TestRawIntegers(t *testing.T) {
	for _, v := range []dbdload.Version{dbdload.VHybrid} {
		t.Run(v.String(), func(t *testing.T) {
			ctx := t.Context()
			dsn, sdb := fresh(t, ossecdb.Postgres) // INT8 columns hold out-of-range values
			if err := dbdload.CreateSchema(ctx, sdb, ossecdb.Postgres, v); err != nil {
				t.Fatal(err)
			}
			insertRaw(t, sdb, ossecdb.Postgres, []rawRow{
				{int64(0), id(base, 1), 1, 1},
				{nil, id(base, 2), 1, 1},
				{int64(1) << 32, id(base, 3), 1, 1},
				{int64(-5), id(base, 4), 1, 1},
				{int64(203<<24 | 113<<8 | 5), id(base+1, 5), 100, 3},
				{int64(203<<24 | 113<<8 | 5), id(base+2, 6), 200, 4},
			})
			db := open(t, dsn, ossecdb.Options{})
			got, err := db.TopSources(ctx, analytics.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			want := []analytics.SourceCount{{Addr: netip.MustParseAddr("203.0.113.5"), Count: 2,
				FirstSeen: time.Unix(base+1, 0).UTC(), LastSeen: time.Unix(base+2, 0).UTC(), MaxLevel: 4, Rules: 2}}
			if diff := cmp.Diff(want, got, cmpAddr); diff != "" {
				t.Errorf("TopSources mismatch (-want +got):\n%s", diff)
			}
			alerts := readAll(t, db.Alerts(ctx, nil))
			var srcs []string
			for _, a := range alerts {
				srcs = append(srcs, a.SrcIP.String())
			}
			wantSrcs := []string{"invalid IP", "invalid IP", "invalid IP", "invalid IP", "203.0.113.5", "203.0.113.5"}
			if diff := cmp.Diff(wantSrcs, srcs); diff != "" {
				t.Errorf("Alerts sources (-want +got):\n%s", diff)
			}
		})
	}
}
