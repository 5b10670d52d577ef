package alertdb

import (
	"net/netip"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/ossec"
)

var cmpOpts = []gocmp.Option{
	gocmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmpopts.EquateEmpty(),
}

// importAll imports alerts as the import command does: Add each, Commit
// every commitEvery alerts with the position as checkpoint, Commit at the end.
func importAll(t testing.TB, s *Store, source string, alerts []ossec.Alert, commitEvery int) WriterStats {
	t.Helper()
	w, err := s.NewWriter(t.Context(), source)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var a ossec.Alert
	for i := range alerts {
		// One reused Alert, as readers deliver them.
		a = alerts[i]
		a.Log = append(a.Log[:0:0], alerts[i].Log...)
		if err := w.Add(&a); err != nil {
			t.Fatal(err)
		}
		a.Description, a.User, a.Log[0] = "clobbered", "clobbered", "clobbered"
		if commitEvery > 0 && (i+1)%commitEvery == 0 {
			if err := w.Commit(Checkpoint{Offset: int64(i + 1), Line: i + 1}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Commit(Checkpoint{Offset: int64(len(alerts)), Line: len(alerts)}); err != nil {
		t.Fatal(err)
	}
	st := w.Stats()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return st
}

// unique returns alerts without duplicates by (Time, Key()), first kept.
func unique(alerts []ossec.Alert) []ossec.Alert {
	seen := map[timeKey]bool{}
	var out []ossec.Alert
	for i := range alerts {
		k := timeKey{alerts[i].Time.Unix(), int64(alerts[i].Key())}
		if !seen[k] {
			seen[k] = true
			out = append(out, alerts[i])
		}
	}
	return out
}

func wantTop(alerts []ossec.Alert, f analytics.Filter) []analytics.SourceCount {
	c := analytics.NewCounter(f)
	for i := range alerts {
		c.Add(&alerts[i])
	}
	return analytics.Finish(c.Sources(), analytics.Selection{})
}

func wantReport(alerts []ossec.Alert, addr netip.Addr, f analytics.Filter, limit int) analytics.SourceReport {
	b := analytics.NewReportBuilder(addr, f, limit)
	for i := range alerts {
		b.Add(&alerts[i])
	}
	return b.Report()
}

// checkAgainstAnalytics compares the store with package analytics over the
// same alerts, for every filter and a choice of sources.
func checkAgainstAnalytics(t *testing.T, s *Store, alerts []ossec.Alert, filters []namedFilter, addrs []netip.Addr) {
	t.Helper()
	ctx := t.Context()
	// alert_day holds every stored alert once, in its day.
	var bad, total int64
	if err := s.db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM (SELECT time / 86400 AS d, rule, location, count(*) AS n FROM alerts GROUP BY 1, 2, 3) a
		 LEFT JOIN alert_day ad ON ad.day = a.d AND ad.rule = a.rule AND ad.location = a.location WHERE ad.count IS NOT a.n),
		(SELECT coalesce(sum(count), 0) FROM alert_day)`).Scan(&bad, &total); err != nil {
		t.Fatal(err)
	}
	if bad != 0 || total != int64(len(alerts)) {
		t.Errorf("alert_day: %d cells differ from alerts, %d alerts counted, want %d", bad, total, len(alerts))
	}
	for _, nf := range filters {
		got, err := s.TopSources(ctx, nf.f)
		if err != nil {
			t.Fatalf("%s: TopSources: %v", nf.name, err)
		}
		want := wantTop(alerts, nf.f)
		if diff := gocmp.Diff(want, got, cmpOpts...); diff != "" {
			t.Errorf("%s: TopSources differs from analytics.Counter (-want +got):\n%s", nf.name, diff)
		}
		for _, addr := range addrs {
			// One builder run at the largest limit: smaller limits only
			// shorten Alerts.
			full := wantReport(alerts, addr, nf.f, 60)
			for _, limit := range []int{0, 1, 7, 60} {
				got, err := s.SourceReport(ctx, addr, nf.f, limit)
				if err != nil {
					t.Fatalf("%s: SourceReport(%s): %v", nf.name, addr, err)
				}
				want := full
				n := min(limit, len(full.Alerts))
				if diff := gocmp.Diff(want.Alerts[:n], got.Alerts, cmpOpts...); diff != "" {
					t.Errorf("%s: SourceReport(%s, limit %d) alerts (-want +got):\n%s", nf.name, addr, limit, diff)
				}
				want.Alerts, got.Alerts = nil, nil
				if diff := gocmp.Diff(want, got, cmpOpts...); diff != "" {
					t.Errorf("%s: SourceReport(%s, limit %d) differs from analytics.ReportBuilder (-want +got):\n%s", nf.name, addr, limit, diff)
				}
			}
		}
	}
}

type namedFilter struct {
	name string
	f    analytics.Filter
}

// testFilters covers open and closed bounds on and off day boundaries,
// inside one day and across days, with level and rule filters.
func testFilters(alerts []ossec.Alert) []namedFilter {
	t0 := alerts[0].Time
	day0 := t0.Truncate(24 * time.Hour)
	d := func(days int, hms string) time.Time {
		dur, err := time.ParseDuration(hms)
		if err != nil {
			panic(err)
		}
		return day0.AddDate(0, 0, days).Add(dur)
	}
	at := func(num, den int) time.Time { return alerts[len(alerts)*num/den].Time }
	rule := alerts[len(alerts)/2].RuleID
	return []namedFilter{
		{"all", analytics.Filter{}},
		{"min level 6", analytics.Filter{MinLevel: 6}},
		{"min level 99", analytics.Filter{MinLevel: 99}},
		{"rule", analytics.Filter{RuleID: rule}},
		{"unknown rule", analytics.Filter{RuleID: 1}},
		{"since odd second", analytics.Filter{Since: d(2, "13h7m31s")}},
		{"until odd second", analytics.Filter{Until: d(6, "1h0m3s")}},
		{"spanning days", analytics.Filter{Since: d(1, "22h59m59s"), Until: d(5, "0h0m1s")}},
		{"inside one day", analytics.Filter{Since: d(3, "10h0m1s"), Until: d(3, "17h30m59s")}},
		{"across one midnight", analytics.Filter{Since: d(3, "20h"), Until: d(4, "3h")}},
		{"day boundaries", analytics.Filter{Since: d(2, "0s"), Until: d(5, "0s")}},
		{"fractional seconds", analytics.Filter{Since: d(2, "1h0m0.5s"), Until: d(4, "1h0m0.25s")}},
		// Bounds on the second of an alert: Since includes it, Until
		// excludes it; with a fraction Since excludes and Until includes.
		{"bounds at alerts", analytics.Filter{Since: at(1, 3), Until: at(2, 3)}},
		{"fractional bounds at alerts", analytics.Filter{Since: at(1, 3).Add(500 * time.Millisecond), Until: at(2, 3).Add(250 * time.Millisecond)}},
		{"since at first alert", analytics.Filter{Since: t0}},
		{"until at first alert", analytics.Filter{Until: t0}},
		{"empty range", analytics.Filter{Since: d(4, "0s"), Until: d(3, "0s")}},
		{"wide range", analytics.Filter{Since: d(-400, "0s"), Until: d(400, "0s")}},
		{"spanning days, level and rule", analytics.Filter{Since: d(1, "5h3m7s"), Until: d(6, "19h1m1s"), MinLevel: 5, RuleID: rule}},
		{"spanning days, level", analytics.Filter{Since: d(1, "5h3m7s"), Until: d(8, "19h1m1s"), MinLevel: 7}},
	}
}

// reportAddrs picks busy, middling, rare, IPv6 and unknown sources.
func reportAddrs(alerts []ossec.Alert) []netip.Addr {
	top := wantTop(alerts, analytics.Filter{})
	addrs := []netip.Addr{top[0].Addr, top[1].Addr, top[len(top)/2].Addr, top[len(top)-1].Addr,
		netip.MustParseAddr("203.0.113.254")}
	for _, sc := range top {
		if sc.Addr.Is6() {
			addrs = append(addrs, sc.Addr)
			break
		}
	}
	return addrs
}

func TestMatchesAnalytics(t *testing.T) {
	alerts := genAll(genConfig{Alerts: 20000, Sources: 300, Days: 10, Seed: 7, NoSource: 0.05, SameSecond: 0.15})
	s := openTest(t, "")
	st := importAll(t, s, "alerts.log", alerts, 3000)
	want := unique(alerts)
	if st.Added != int64(len(want)) || st.Duplicates != int64(len(alerts)-len(want)) {
		t.Errorf("Stats = %+v, want %d added, %d duplicates", st, len(want), len(alerts)-len(want))
	}
	if n, err := s.Count(t.Context()); err != nil || n != int64(len(want)) {
		t.Errorf("Count = %d, %v; want %d", n, err, len(want))
	}
	checkAgainstAnalytics(t, s, want, testFilters(want), reportAddrs(want))
}

func TestIdempotent(t *testing.T) {
	ctx := t.Context()
	alerts := genAll(genConfig{Alerts: 6000, Sources: 80, Days: 4, Seed: 11, NoSource: 0.1, SameSecond: 0.1})
	s := openTest(t, "")
	first := importAll(t, s, "alerts.log", alerts, 1000)
	n1, _ := s.Count(ctx)
	top1, _ := s.TopSources(ctx, analytics.Filter{})

	// The same file again, committed in other places.
	again := importAll(t, s, "alerts.log", alerts, 777)
	if again.Added != 0 || again.Duplicates != int64(len(alerts)) {
		t.Errorf("second import: %+v, want 0 added, %d duplicates", again, len(alerts))
	}
	// The same alerts as ossec-dbd stores them: sanitised location, no
	// description, in another order, mixed with some new ones.
	var db []ossec.Alert
	for i := len(alerts) - 1; i >= 0; i -= 2 {
		a := alerts[i]
		a.Location = ossec.ParseLocation(ossec.SanitizeDB(a.Location.Raw))
		a.Description = ""
		db = append(db, a)
	}
	extra := genAll(genConfig{Alerts: 500, Sources: 10, Days: 4, Seed: 12, Start: alerts[0].Time.Add(time.Hour)})
	db = append(db, extra...)
	third := importAll(t, s, "db", db, 1000)
	if third.Added != int64(len(unique(extra))) || third.Duplicates != int64(len(db))-third.Added {
		t.Errorf("database import: %+v, want %d added", third, len(unique(extra)))
	}
	n2, _ := s.Count(ctx)
	if n2 != n1+third.Added {
		t.Errorf("Count = %d after re-imports, want %d", n2, n1+third.Added)
	}
	if first.Added+first.Duplicates != int64(len(alerts)) {
		t.Errorf("first import: %+v for %d alerts", first, len(alerts))
	}
	all := unique(append(append([]ossec.Alert(nil), alerts...), extra...))
	checkAgainstAnalytics(t, s, all, testFilters(all)[:8], reportAddrs(all)[:3])
	if len(top1) == 0 {
		t.Fatal("no sources")
	}

	// Duplicates within one commit, and within one chunk.
	s2 := openTest(t, "")
	twice := append(append([]ossec.Alert(nil), alerts[:100]...), alerts[:100]...)
	st := importAll(t, s2, "x", twice, 0)
	if st.Added != int64(len(unique(alerts[:100]))) || st.Duplicates != int64(200)-st.Added {
		t.Errorf("in-batch duplicates: %+v", st)
	}
}

func TestCloseWithoutCommit(t *testing.T) {
	ctx := t.Context()
	alerts := genAll(genConfig{Alerts: 12000, Sources: 100, Days: 5, Seed: 5, NoSource: 0.05, SameSecond: 0.05})
	s := openTest(t, "")
	w, err := s.NewWriter(ctx, "alerts.log")
	if err != nil {
		t.Fatal(err)
	}
	const committed = 5000
	for i := range alerts[:9000] {
		if err := w.Add(&alerts[i]); err != nil {
			t.Fatal(err)
		}
		if i+1 == committed {
			if err := w.Commit(Checkpoint{Offset: committed}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// 4000 alerts (more than one chunk) added but never committed.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	cp, found, err := s.Checkpoint(ctx, "alerts.log")
	if err != nil || !found || cp.Offset != committed {
		t.Fatalf("Checkpoint = %+v, %v, %v; want offset %d", cp, found, err, committed)
	}
	wantSoFar := unique(alerts[:committed])
	if n, _ := s.Count(ctx); n != int64(len(wantSoFar)) {
		t.Errorf("Count = %d, want %d: uncommitted alerts were stored", n, len(wantSoFar))
	}
	checkAgainstAnalytics(t, s, wantSoFar, testFilters(wantSoFar)[:3], reportAddrs(wantSoFar)[:2])

	// Resume from the checkpoint.
	st := importAll(t, s, "alerts.log", alerts[cp.Offset:], 4000)
	all := unique(alerts)
	if n, _ := s.Count(ctx); n != int64(len(all)) {
		t.Errorf("Count after resume = %d, want %d", n, len(all))
	}
	if st.Added != int64(len(all)-len(wantSoFar)) {
		t.Errorf("resume added %d, want %d", st.Added, len(all)-len(wantSoFar))
	}
	checkAgainstAnalytics(t, s, all, testFilters(all)[:8], reportAddrs(all))
}

func TestStoresEveryField(t *testing.T) {
	ctx := t.Context()
	s := openTest(t, "")
	ts := time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC)
	alerts := []ossec.Alert{
		{ID: ossec.ID{Epoch: ts.Unix(), Seq: 48213}, Time: ts, Mail: true, RuleID: 5712, Level: 10,
			Description: "SSHD brute force trying to get access to the system.", Groups: []string{"syslog", "sshd", "authentication_failures"},
			SrcIP: netip.MustParseAddr("::ffff:203.0.113.45"), SrcPort: 50122, DstIP: netip.MustParseAddr("2001:db8::1"), DstPort: 22,
			User: "root", Location: ossec.ParseLocation("(fe02) 198.51.100.20->/var/log/secure"), Log: []string{"line one", "line two"}},
		{ID: ossec.ID{Epoch: ts.Unix() - 5, Seq: 1}, Time: ts, RuleID: 1002, Level: 2,
			Location: ossec.ParseLocation("web1->/var/log/syslog"), Log: []string{"no source"}},
	}
	importAll(t, s, "x", alerts, 0)
	type stored struct {
		Time, Key, Seq       int64
		Epoch                *int64
		Mail                 int
		RuleID, Level        int
		Desc, Groups         string
		Src, Dst             []byte
		SPort, DPort         *int
		User                 *string
		Loc, Manager, Agent  string
		AgentIP, Source, Log string
	}
	rows, err := s.db.QueryContext(ctx, `SELECT a.time, a.key, a.id_seq, a.id_epoch, a.mail, r.rule_id, r.level, r.description, r.groups,
		a.src_ip, a.dst_ip, a.src_port, a.dst_port, a.user, l.raw, l.manager, l.agent, l.agent_ip, l.source, a.log
		FROM alerts a JOIN rules r ON r.id = a.rule JOIN locations l ON l.id = a.location ORDER BY a.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []stored
	for rows.Next() {
		var r stored
		if err := rows.Scan(&r.Time, &r.Key, &r.Seq, &r.Epoch, &r.Mail, &r.RuleID, &r.Level, &r.Desc, &r.Groups, &r.Src, &r.Dst,
			&r.SPort, &r.DPort, &r.User, &r.Loc, &r.Manager, &r.Agent, &r.AgentIP, &r.Source, &r.Log); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	ptr := func(v int64) *int64 { return &v }
	iptr := func(v int) *int { return &v }
	sptr := func(v string) *string { return &v }
	want := []stored{
		{Time: ts.Unix(), Key: int64(alerts[0].Key()), Seq: 48213, Mail: 1, RuleID: 5712, Level: 10, Desc: alerts[0].Description,
			Groups: "syslog,sshd,authentication_failures", Src: []byte{203, 0, 113, 45}, Dst: netip.MustParseAddr("2001:db8::1").AsSlice(),
			SPort: iptr(50122), DPort: iptr(22), User: sptr("root"), Loc: "(fe02) 198.51.100.20->/var/log/secure", Agent: "fe02",
			AgentIP: "198.51.100.20", Source: "/var/log/secure", Log: "line one\nline two"},
		{Time: ts.Unix(), Key: int64(alerts[1].Key()), Seq: 1, Epoch: ptr(ts.Unix() - 5), RuleID: 1002, Level: 2,
			Loc: "web1->/var/log/syslog", Manager: "web1", Source: "/var/log/syslog", Log: "no source"},
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("stored rows (-want +got):\n%s", diff)
	}
	rep, err := s.SourceReport(ctx, netip.MustParseAddr("203.0.113.45"), analytics.Filter{}, 5)
	if err != nil || rep.Count != 1 || len(rep.Alerts) != 1 || rep.Alerts[0].Log != "line one\nline two" {
		t.Errorf("report of the unmapped source = %+v, %v", rep, err)
	}
	if _, err := s.SourceReport(ctx, netip.Addr{}, analytics.Filter{}, 5); err == nil {
		t.Error("report of the invalid address succeeded")
	}
}

func TestRuleVariants(t *testing.T) {
	// One rule id with two levels and descriptions, as after an operator
	// changed a rule; and groups that only differ in where commas are.
	ctx := t.Context()
	base := genAll(genConfig{Alerts: 400, Sources: 5, Days: 2, Seed: 9})
	for i := range base {
		base[i].RuleID = 5712
		switch i % 4 {
		case 0:
			base[i].Level, base[i].Description, base[i].Groups = 10, "old text", []string{"syslog"}
		case 1:
			base[i].Level, base[i].Description, base[i].Groups = 12, "new text", []string{"syslog"}
		case 2:
			base[i].Level, base[i].Description, base[i].Groups = 12, "new text", []string{"a,b"}
		case 3:
			base[i].Level, base[i].Description, base[i].Groups = 12, "", []string{"a", "b"}
		}
	}
	s := openTest(t, "")
	importAll(t, s, "x", base[:200], 50)
	importAll(t, s, "y", base, 50) // a second writer reloads the variants
	var variants int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM rules").Scan(&variants); err != nil || variants != 4 {
		t.Errorf("rules table holds %d variants, %v; want 4", variants, err)
	}
	all := unique(base)
	for _, f := range []analytics.Filter{{}, {MinLevel: 11}, {RuleID: 5712, MinLevel: 10}} {
		got, err := s.TopSources(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if diff := gocmp.Diff(wantTop(all, f), got, cmpOpts...); diff != "" {
			t.Errorf("TopSources(%+v) (-want +got):\n%s", f, diff)
		}
		addr := got[0].Addr
		rep, err := s.SourceReport(ctx, addr, f, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := wantReport(all, addr, f, 0)
		if diff := gocmp.Diff(want, rep, cmpOpts...); diff != "" {
			t.Errorf("SourceReport(%+v) (-want +got):\n%s", f, diff)
		}
	}
}

// TestQueriesDuringImport queries while a writer has committed alerts that
// are not folded into the all-time rollup yet, on top of folded ones.
func TestQueriesDuringImport(t *testing.T) {
	ctx := t.Context()
	alerts := genAll(genConfig{Alerts: 9000, Sources: 60, Days: 6, Seed: 31, NoSource: 0.05, SameSecond: 0.05})
	s := openTest(t, "")
	importAll(t, s, "a", alerts[:4000], 1000)
	w, err := s.NewWriter(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := range alerts[4000:7000] {
		if err := w.Add(&alerts[4000+i]); err != nil {
			t.Fatal(err)
		}
		if (i+1)%1000 == 0 {
			if err := w.Commit(Checkpoint{Offset: int64(i + 1)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Added, not committed: invisible.
	for i := range alerts[7000:] {
		if err := w.Add(&alerts[7000+i]); err != nil {
			t.Fatal(err)
		}
	}
	visible := unique(alerts[:7000])
	checkAgainstAnalytics(t, s, visible, testFilters(visible)[:5], reportAddrs(visible)[:4])
	if err := w.Commit(Checkpoint{Offset: 5000}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var logged int
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM src_rule_log").Scan(&logged); err != nil || logged != 0 {
		t.Errorf("after Close src_rule_log holds %d rows, want none folded (%v)", logged, err)
	}
	all := unique(alerts)
	checkAgainstAnalytics(t, s, all, testFilters(all)[:5], reportAddrs(all)[:4])
}
