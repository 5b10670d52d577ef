package ossecdb_test

import (
	"database/sql"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/dbdload"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/ossecdbtest"
)

var cmpAddr = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

// fresh returns the DSN of a new empty database and a *sql.DB on it.
func fresh(t testing.TB, d ossecdb.Dialect) (string, *sql.DB) {
	t.Helper()
	return ossecdbtest.Fresh(t, d)
}

func open(t testing.TB, dsn string, o ossecdb.Options) *ossecdb.DB {
	t.Helper()
	db, err := ossecdb.OpenOptions(t.Context(), dsn, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func readAll(t *testing.T, r *ossecdb.Rows) []ossec.Alert {
	t.Helper()
	var out []ossec.Alert
	for r.Next() {
		out = append(out, *r.Alert())
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type layoutCase struct {
	name    string
	d       ossecdb.Dialect
	v       dbdload.Version
	want    ossecdb.Layout
	skipped int64 // alerts dbd cannot insert
}

var layoutCases = []layoutCase{
	{"mysql-2.8", ossecdb.MySQL, dbdload.V28, ossecdb.Layout{Dialect: ossecdb.MySQL, HasData: true, HasSignature: true, HasGroups: true, HasLocation: true, HasServer: true}, 1},
	{"mysql-hybrid", ossecdb.MySQL, dbdload.VHybrid, ossecdb.Layout{Dialect: ossecdb.MySQL, AlertHasLog: true, HasLevel: true, HasSignature: true, HasGroups: true, HasLocation: true, HasServer: true}, 1},
	{"mysql-2.9", ossecdb.MySQL, dbdload.V29, ossecdb.Layout{Dialect: ossecdb.MySQL, TextIPs: true, AlertHasLog: true, HasLevel: true, HasSignature: true, HasGroups: true, HasLocation: true, HasServer: true}, 1},
	{"mysql-3.x", ossecdb.MySQL, dbdload.V3x, ossecdb.Layout{Dialect: ossecdb.MySQL, TextIPs: true, AlertHasLog: true, HasLevel: true, HasSignature: true, HasGroups: true, HasLocation: true, HasServer: true}, 1},
	{"mysql-master", ossecdb.MySQL, dbdload.VMaster, ossecdb.Layout{Dialect: ossecdb.MySQL, TextIPs: true, AlertHasLog: true, HasLevel: true, HasSignature: true, HasGroups: true, HasLocation: true, HasServer: true}, 1},
	{"postgres-2.8", ossecdb.Postgres, dbdload.V28, ossecdb.Layout{Dialect: ossecdb.Postgres, HasData: true, HasSignature: true, HasGroups: true, HasLocation: true, HasServer: true}, 1},
	{"postgres-hybrid", ossecdb.Postgres, dbdload.VHybrid, ossecdb.Layout{Dialect: ossecdb.Postgres, AlertHasLog: true, HasData: true, HasLevel: true, HasSignature: true, HasGroups: true, HasLocation: true, HasServer: true}, 1},
	{"postgres-2.9", ossecdb.Postgres, dbdload.V29, ossecdb.Layout{Dialect: ossecdb.Postgres, TextIPs: true, AlertHasLog: true, HasData: true, HasLevel: true, HasSignature: true, HasGroups: true, HasLocation: true, HasServer: true}, 1},
	{"postgres-3.x", ossecdb.Postgres, dbdload.V3x, ossecdb.Layout{Dialect: ossecdb.Postgres, TextIPs: true, AlertHasLog: true, HasData: true, HasLevel: true, HasSignature: true, HasGroups: true, HasLocation: true, HasServer: true}, 1},
	{"postgres-master", ossecdb.Postgres, dbdload.VMaster, ossecdb.Layout{Dialect: ossecdb.Postgres, TextIPs: true, AlertHasLog: true, HasData: true, HasLevel: true, HasSignature: true, HasGroups: true, HasLocation: true, HasServer: true}, 1},
}

// TestRoundTrip loads the trap alerts as each writer would and reads them
// back: the stream, the top sources and the per-source reports must agree
// with what the alerts say. Each layout runs twice: as dbd leaves it, and
// after CreateTopIndex, which moves TopSources onto the index (MySQL 2.8
// cannot have it and must say so).
func TestRoundTrip(t *testing.T) {
	for _, tc := range layoutCases {
		for _, indexed := range []bool{false, true} {
			name := tc.name
			if indexed {
				name += "-indexed"
			}
			t.Run(name, func(t *testing.T) { roundTrip(t, tc, indexed) })
		}
	}
}

func roundTrip(t *testing.T, tc layoutCase, indexed bool) {
	t.Parallel()
	ctx := t.Context()
	dsn, sdb := fresh(t, tc.d)
	if err := dbdload.CreateSchema(ctx, sdb, tc.d, tc.v); err != nil {
		t.Fatal(err)
	}
	web1 := dbdload.NewLoader(sdb, tc.d, tc.v, "web1")
	web2 := dbdload.NewLoader(sdb, tc.d, tc.v, "web2")
	in1, in2 := trapAlerts(), web2Alerts()
	// Batches interleave the servers, as two dbds would.
	for _, step := range []struct {
		l  *dbdload.Loader
		as []ossec.Alert
	}{{web1, in1[:7]}, {web2, in2}, {web1, in1[7:]}} {
		if err := step.l.Load(ctx, step.as); err != nil {
			t.Fatal(err)
		}
	}
	if got := web1.Skipped(); got != tc.skipped {
		t.Errorf("Skipped() = %d, want %d", got, tc.skipped)
	}
	var want []ossec.Alert
	for _, l := range []struct {
		l  *dbdload.Loader
		as []ossec.Alert
	}{{web1, in1}, {web2, in2}} {
		for i := range l.as {
			if a, ok := l.l.Stored(&l.as[i]); ok {
				want = append(want, a)
			}
		}
	}
	if int64(len(want)) != web1.Loaded()+web2.Loaded() {
		t.Fatalf("Stored kept %d alerts, loaders loaded %d", len(want), web1.Loaded()+web2.Loaded())
	}

	wantLayout := tc.want
	if indexed {
		r, err := open(t, dsn, ossecdb.Options{}).CreateTopIndex(ctx)
		switch {
		case tc.d == ossecdb.MySQL && tc.v == dbdload.V28:
			if err == nil || !strings.Contains(err.Error(), "TINYTEXT") {
				t.Errorf("CreateTopIndex on MySQL 2.8: %+v, %v; want an error naming TINYTEXT", r, err)
			}
		case err != nil:
			t.Fatal(err)
		case !r.Created || r.Name != ossecdb.TopIndexName:
			t.Errorf("CreateTopIndex() = %+v, want index %s created", r, ossecdb.TopIndexName)
		default:
			wantLayout.TopIndex = ossecdb.TopIndexName
		}
	}

	var problems []string
	db := open(t, dsn, ossecdb.Options{PageSize: 7, Problems: func(e *ossec.ParseError) { problems = append(problems, e.Error()) }})
	if got := db.Layout(); got != wantLayout {
		t.Errorf("Layout() = %+v, want %+v", got, wantLayout)
	}
	rows := db.Alerts(ctx, nil)
	got := readAll(t, rows)
	if diff := cmp.Diff(want, got, cmpAddr, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("Alerts() mismatch (-want +got):\n%s", diff)
	}
	if len(problems) != 0 || rows.Malformed() != 0 {
		t.Errorf("problems on clean data: %q", problems)
	}
	checkTraps(t, tc.d, tc.v, got)
	checkAggregates(t, db, got)
}

// checkTraps states by hand what some trap alerts must read back as, so
// the round trip does not rest on Stored alone.
func checkTraps(t *testing.T, d ossecdb.Dialect, v dbdload.Version, got []ossec.Alert) {
	t.Helper()
	byID := map[ossec.ID]ossec.Alert{}
	for _, a := range got {
		if _, dup := byID[a.ID]; !dup {
			byID[a.ID] = a
		}
	}
	text := v != dbdload.V28 && v != dbdload.VHybrid
	a := byID[ossec.ID{Epoch: base, Seq: 48213}]
	if a.User != "admin" || a.SrcPort != 50122 || len(a.Log) != 3 || a.Time != time.Unix(base, 0).UTC() || a.Mail {
		t.Errorf("alert A = %+v", a)
	}
	if v == dbdload.V28 {
		if a.Level != 10 || a.Description != ruleInfo[5712].desc {
			t.Errorf("2.8 alert A level %d description %q: want signature's", a.Level, a.Description)
		}
	} else if a.Description != "" {
		t.Errorf("2.9+ alert A description %q: signature is empty since 2.9", a.Description)
	}
	if !slices.Equal(a.Groups, []string{"syslog", "sshd", "authentication_failures"}) {
		t.Errorf("alert A groups %q", a.Groups)
	}
	b := byID[ossec.ID{Epoch: base + 123, Seq: 48765}]
	wantB := netip.MustParseAddr("2001:db8:4:2::17")
	if !text {
		wantB = netip.Addr{}
	}
	if b.SrcIP != wantB || b.User != "" || b.Location.Agent != "fe02" || b.Location.Manager != "web1" {
		t.Errorf("alert B = src %v user %q location %+v", b.SrcIP, b.User, b.Location)
	}
	f := byID[ossec.ID{Epoch: base + 600, Seq: 50000}]
	if n := len(strings.Join(f.Log, "\n")); len(f.Log) > 20 || n != 7456 || !strings.HasSuffix(f.Log[len(f.Log)-1], "..") {
		t.Errorf("frequency alert: %d lines, %d chars; want ≤ 20 lines, 7456 chars ending ..", len(f.Log), n)
	}
	m := byID[ossec.ID{Epoch: base + 700, Seq: 51000}]
	if m.SrcIP != netip.MustParseAddr("198.51.100.7") {
		t.Errorf("mapped source read as %v, want 198.51.100.7", m.SrcIP)
	}
	q := byID[ossec.ID{Epoch: base + 800, Seq: 52000}]
	wantLoc := "(fé-02) any->C:\\logs\\it's.log"
	if v == dbdload.V3x || v == dbdload.VMaster {
		wantLoc = "(f  -02) any->C:/logs/it`s.log"
	}
	if q.User != "O`Brien/  " || q.Log[0] != "user O`Brien said \"h  \" then C:/temp/" ||
		q.Log[1] != "second line with trailing backslash" || q.Location.Raw != wantLoc {
		t.Errorf("sanitised alert: user %q log %q location %q (want %q)", q.User, q.Log, q.Location.Raw, wantLoc)
	}
	if q.DstPort != 22 || (text && q.DstIP != netip.MustParseAddr("10.40.0.5")) {
		t.Errorf("destination %v:%d", q.DstIP, q.DstPort)
	}
	if !slices.Equal(q.Groups, []string{"authentication_failures", "a_group_name_well_over_thirty_t"}) && !slices.Equal(q.Groups, []string{"authentication_failures", "a_group_name_well_over_thirty_tw"}) {
		t.Errorf("groups %q: want the long one cut to 32", q.Groups)
	}
	if u := byID[ossec.ID{Epoch: base + 1000, Seq: 54000}].User; u != "" {
		t.Errorf(`user "(none)" read as %q, want ""`, u)
	}
	if l := byID[ossec.ID{Epoch: base + 1100, Seq: 55000}].Log; l != nil {
		t.Errorf("empty log read as %q", l)
	}
	if _, ok := byID[ossec.ID{Epoch: base + 1200, Seq: 56000}]; ok {
		t.Errorf("alert with a 150-character location was inserted")
	}
	lc := byID[ossec.ID{Epoch: base + 2*86400, Seq: 100}]
	wantLevel := 12
	if v == dbdload.V28 {
		wantLevel = 10 // signature holds the rule's first level
	}
	if lc.Level != wantLevel {
		t.Errorf("edited rule level %d, want %d", lc.Level, wantLevel)
	}
	_ = d
}

// checkAggregates compares TopSources and SourceReport with the analytics
// package run over the alerts the stream returned.
func checkAggregates(t *testing.T, db *ossecdb.DB, alerts []ossec.Alert) {
	t.Helper()
	ctx := t.Context()
	filters := []analytics.Filter{
		{},
		{Since: time.Unix(base+3*86400, 0), Until: time.Unix(base+4*86400+500, 0)},
		{Since: time.Unix(base+700, 300)},   // fractional bound
		{Until: time.Unix(base+86400+5, 0)}, // exclusive bound on an alert
		{MinLevel: 7},
		{RuleID: 5712},
		{MinLevel: 6, RuleID: 5706, Since: time.Unix(base, 0)},
		{Since: time.Unix(5, 0)}, // not a 10-digit epoch: exact path
	}
	for _, f := range filters {
		c := analytics.NewCounter(f)
		for i := range alerts {
			c.Add(&alerts[i])
		}
		want := analytics.Finish(c.Sources(), analytics.Selection{})
		got, err := db.TopSources(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		got = analytics.Finish(got, analytics.Selection{})
		if diff := cmp.Diff(want, got, cmpAddr, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("TopSources(%+v) mismatch (-want +got):\n%s", f, diff)
		}
		for _, addr := range []string{"203.0.113.45", "198.51.100.7", "2001:db8::beef", "192.0.2.99"} {
			a := netip.MustParseAddr(addr)
			b := analytics.NewReportBuilder(a, f, 4)
			for i := range alerts {
				b.Add(&alerts[i])
			}
			want := b.Report()
			got, err := db.SourceReport(ctx, a, f, 4)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, cmpAddr, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("SourceReport(%s, %+v) mismatch (-want +got):\n%s", addr, f, diff)
			}
		}
	}
}
