package grafana_test

import (
	"cmp"
	"database/sql"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/grafana"
	"github.com/rampart-ids/rampart/internal/ipclass"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/dbdload"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/ossecdbtest"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/sigsync"
	"github.com/rampart-ids/rampart/internal/sample"
)

// The sample every database test loads: the shipped example (5,000 alerts
// over 14 days, every trap planted), generated once.
var generated = sync.OnceValues(func() ([]ossec.Alert, *sample.Truth) {
	g := sample.Generate(sample.DefaultConfig())
	var as []ossec.Alert
	for a := range g.All() {
		c := *a
		c.Log = slices.Clone(a.Log)
		c.Groups = slices.Clone(a.Groups)
		as = append(as, c)
	}
	return as, g.Truth()
})

const manager = "ossec-mgr"

// unnamedRule is left out of "rules sync", so that its name is missing.
const unnamedRule = 1002

// fixture is a real ossec-dbd database of one writer version on MariaDB,
// filled with the sample alerts the way that ossec-dbd writes them.
type fixture struct {
	v      dbdload.Version
	schema grafana.Schema
	db     *sql.DB
	alerts []ossec.Alert
	truth  *sample.Truth
	// names are the rule names in signature.
	names     map[int]string
	ruleLevel map[int]int // 2.8: the level signature holds
}

func newFixture(t *testing.T, v dbdload.Version) *fixture {
	t.Helper()
	ctx := t.Context()
	as, truth := generated()
	dsn, db := ossecdbtest.Schema(t, ossecdb.MySQL, v)
	l := dbdload.NewLoader(db, ossecdb.MySQL, v, manager)
	if err := l.Load(ctx, as); err != nil {
		t.Fatal(err)
	}
	if l.Skipped() != 0 || l.Loaded() != int64(len(as)) {
		t.Fatalf("loaded %d of %d alerts, %d skipped", l.Loaded(), len(as), l.Skipped())
	}
	f := &fixture{v: v, db: strictSQL(t, dsn), alerts: as, truth: truth, names: map[int]string{}, ruleLevel: map[int]int{}}
	switch v {
	case dbdload.V28:
		f.schema, _ = grafana.ParseSchema(grafana.Layout28)
	case dbdload.VHybrid:
		f.schema, _ = grafana.ParseSchema(grafana.LayoutHybrid)
	}
	rules := map[int]sigsync.Rule{}
	for _, a := range as {
		if _, ok := rules[a.RuleID]; !ok {
			rules[a.RuleID] = sigsync.Rule{ID: a.RuleID, Level: a.Level, Description: a.Description, Groups: a.Groups}
			f.ruleLevel[a.RuleID] = a.Level
		}
	}
	if v == dbdload.V28 {
		// 2.8's ossec-dbd wrote signature itself.
		for id, r := range rules {
			f.names[id] = r.Description
		}
		return f
	}
	// 2.9+: what "rampart rules sync" writes, one rule left out.
	var sync []sigsync.Rule
	for id, r := range rules {
		if id != unnamedRule {
			sync = append(sync, r)
			f.names[id] = r.Description
		}
	}
	s, err := sigsync.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Apply(ctx, sync); err != nil {
		t.Fatal(err)
	}
	if _, ok := rules[unnamedRule]; !ok {
		t.Fatalf("the sample has no rule %d to leave unnamed", unnamedRule)
	}
	return f
}

// strictSQL connects to dsn in MySQL 8's default sql_mode, stricter than
// MariaDB's: ONLY_FULL_GROUP_BY refuses a selected column that the GROUP BY
// does not determine, which Grafana users on MySQL would meet.
func strictSQL(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	cfg, err := ossecdb.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Params.Set("sql_mode", "'ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'")
	db, err := cfg.OpenSQL(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var mode string
	if err := db.QueryRowContext(t.Context(), "SELECT @@SESSION.sql_mode").Scan(&mode); err != nil || !strings.Contains(mode, "ONLY_FULL_GROUP_BY") {
		t.Fatalf("sql_mode %q, %v", mode, err)
	}
	return db
}

// result is what a query returned, every value as text ("NULL" for NULL).
type result struct {
	cols []string
	rows [][]string
}

func (f *fixture) query(t *testing.T, q string) result {
	t.Helper()
	rs, err := f.db.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rs.Close()
	var r result
	if r.cols, err = rs.Columns(); err != nil {
		t.Fatal(err)
	}
	for rs.Next() {
		vals := make([]sql.NullString, len(r.cols))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(vals))
		for i, v := range vals {
			row[i] = "NULL"
			if v.Valid {
				row[i] = v.String
			}
		}
		r.rows = append(r.rows, row)
	}
	if err := rs.Err(); err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	return r
}

// view is one dashboard state: time range, interval, local networks and
// the drill-down's source.
type view struct {
	name     string
	from, to int64
	interval time.Duration
	local    []netip.Prefix
	source   netip.Addr
}

// model computes what each panel must show from the alerts themselves,
// independently of the SQL.
type model struct {
	f *fixture
	w view
}

func (m model) in(a *ossec.Alert) bool { return a.ID.Epoch >= m.w.from && a.ID.Epoch <= m.w.to }

func (m model) level(a *ossec.Alert) int {
	if m.f.v == dbdload.V28 {
		return m.f.ruleLevel[a.RuleID]
	}
	return a.Level
}

// source is the alert's source as the database can tell it: unmapped, and
// only IPv4 where addresses are integers.
func (m model) source(a *ossec.Alert) (netip.Addr, bool) {
	s := a.SrcIP.Unmap()
	if !s.IsValid() || (m.f.schema.IntegerIPs && !s.Is4()) {
		return netip.Addr{}, false
	}
	return s, true
}

func (m model) internet(s netip.Addr) bool {
	if s.IsUnspecified() {
		return false
	}
	for _, p := range m.w.local {
		if p.Contains(s) {
			return false
		}
	}
	return true
}

// shown is the source column of alert lists.
func (m model) shown(a *ossec.Alert) string {
	s, ok := m.source(a)
	if !ok || s.IsUnspecified() {
		return ""
	}
	if !m.f.schema.IntegerIPs && s.Is6() {
		return a.SrcIP.String() // IPv6 as stored
	}
	return s.String()
}

func (m model) location(a *ossec.Alert) string {
	if m.f.v == dbdload.V3x || m.f.v == dbdload.VMaster {
		return ossec.SanitizeDB(a.Location.Raw)
	}
	return a.Location.Raw
}

func (m model) name(rule int) string {
	if n, ok := m.f.names[rule]; ok && n != "" {
		return n
	}
	return "(unnamed: run rampart rules sync)"
}

type stat struct {
	count, first, last int64
	maxLevel           int
}

func (s *stat) add(epoch int64, level int) {
	if s.count == 0 || epoch < s.first {
		s.first = epoch
	}
	s.last = max(s.last, epoch)
	s.maxLevel = max(s.maxLevel, level)
	s.count++
}

func (m model) sources() map[netip.Addr]*stat {
	out := map[netip.Addr]*stat{}
	for i := range m.f.alerts {
		a := &m.f.alerts[i]
		s, ok := m.source(a)
		if !m.in(a) || !ok || !m.internet(s) {
			continue
		}
		if out[s] == nil {
			out[s] = &stat{}
		}
		out[s].add(a.ID.Epoch, m.level(a))
	}
	return out
}

func (m model) rules(keep func(*ossec.Alert) bool) map[int]*stat {
	out := map[int]*stat{}
	for i := range m.f.alerts {
		a := &m.f.alerts[i]
		if !m.in(a) || !keep(a) {
			continue
		}
		if out[a.RuleID] == nil {
			out[a.RuleID] = &stat{}
		}
		out[a.RuleID].add(a.ID.Epoch, m.level(a))
	}
	return out
}

func (m model) bySource(a *ossec.Alert) bool {
	s, ok := m.source(a)
	return ok && s == m.w.source
}

func itoa[T int | int64](v T) string { return strconv.FormatInt(int64(v), 10) }

// series counts alerts per (interval start, metric).
func (m model) series(keep func(*ossec.Alert) bool, metric func(*ossec.Alert) string) [][]string {
	iv := int64(m.w.interval / time.Second)
	counts := map[[2]string]int64{}
	for i := range m.f.alerts {
		a := &m.f.alerts[i]
		if m.in(a) && keep(a) {
			counts[[2]string{itoa(a.ID.Epoch / iv * iv), metric(a)}]++
		}
	}
	var rows [][]string
	for k, c := range counts {
		rows = append(rows, []string{k[0], k[1], itoa(c)})
	}
	slices.SortFunc(rows, func(a, b []string) int {
		ta, _ := strconv.ParseInt(a[0], 10, 64)
		tb, _ := strconv.ParseInt(b[0], 10, 64)
		return cmp.Or(cmp.Compare(ta, tb), strings.Compare(a[1], b[1]))
	})
	return rows
}

// latest lists the newest matching alerts: epoch, then the number after
// the dot, descending.
func (m model) latest(keep func(*ossec.Alert) bool, n int) [][]string {
	var as []*ossec.Alert
	for i := range m.f.alerts {
		a := &m.f.alerts[i]
		if m.in(a) && keep(a) {
			as = append(as, a)
		}
	}
	slices.SortFunc(as, func(a, b *ossec.Alert) int {
		return cmp.Or(cmp.Compare(b.ID.Epoch, a.ID.Epoch), cmp.Compare(b.ID.Seq, a.ID.Seq))
	})
	var rows [][]string
	for _, a := range as[:min(n, len(as))] {
		log := ossec.SanitizeDB(strings.Join(a.Log, "\n"))
		rows = append(rows, []string{itoa(a.ID.Epoch), itoa(m.level(a)), itoa(a.RuleID), m.name(a.RuleID), m.shown(a), m.location(a), log})
	}
	return rows
}

// agent is the agent or host of a location.
func agent(loc string) string {
	if strings.HasPrefix(loc, "(") {
		if i := strings.Index(loc, ") "); i > 1 {
			return loc[1:i]
		}
	}
	host, _, _ := strings.Cut(loc, "->")
	return host
}

func TestPanelsOnMariaDB(t *testing.T) {
	as, truth := generated()
	cfg := sample.DefaultConfig()
	start, end := cfg.Start.Unix(), cfg.Start.Add(cfg.Duration).Unix()
	custom := []netip.Prefix{
		netip.MustParsePrefix("10.40.0.0/24"), netip.MustParsePrefix("192.168.0.0/24"),
		netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("2a01:4f8:c17:2d4e::/64"),
	}
	// The drill-down's sources: the busiest IPv4 attacker whose alerts
	// also spell it ::ffff:a.b.c.d, and the busiest IPv6 attacker.
	var mapped, v6 netip.Addr
	for _, s := range truth.Sources {
		if s.Kind.IsLocal() {
			continue
		}
		if s.Mapped > 0 && (!mapped.IsValid() || s.Count > truth.Sources[mapped].Count) {
			mapped = s.Addr
		}
		if s.Addr.Is6() && (!v6.IsValid() || s.Count > truth.Sources[v6].Count) {
			v6 = s.Addr
		}
	}
	if !mapped.IsValid() || !v6.IsValid() {
		t.Fatal("the sample has no mapped-spelling or IPv6 attacker")
	}
	views := []view{
		{"all, default local networks", start, end, time.Hour, ipclass.DefaultLocalNetworks(), mapped},
		// Bounds on alerts' own seconds: inclusive at both ends.
		{"part, default local networks", as[1000].ID.Epoch, as[4000].ID.Epoch, 10 * time.Minute, ipclass.DefaultLocalNetworks(), v6},
		{"all, seed's networks and an IPv6 /64", start, end, 6 * time.Hour, custom, v6},
	}
	for _, v := range []dbdload.Version{dbdload.V3x, dbdload.V29, dbdload.VMaster, dbdload.VHybrid, dbdload.V28} {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, v)
			for _, w := range views {
				if f.schema.IntegerIPs && w.source.Is6() {
					w.source = mapped // no IPv6 in integer columns
				}
				t.Run(w.name, func(t *testing.T) { f.check(t, w) })
			}
		})
	}
}

// check runs every SQL query of the OSSEC dashboard for view w and
// compares it with the model.
func (f *fixture) check(t *testing.T, w view) {
	m := model{f: f, w: w}
	d := grafana.OSSECAlerts(grafana.Options{Schema: f.schema, LocalNetworks: w.local})
	r := grafana.Range{From: time.Unix(w.from, 0), To: time.Unix(w.to, 0), Interval: w.interval}
	qs, err := grafana.SQLQueries(d, r, map[string]string{"source": w.source.String(), "min_level": "10"})
	if err != nil {
		t.Fatal(err)
	}
	all := func(*ossec.Alert) bool { return true }
	high := func(a *ossec.Alert) bool { return m.level(a) >= 10 }
	sources := m.sources()
	checks := map[string]func(t *testing.T, got result){
		"Alerts": func(t *testing.T, got result) {
			n := 0
			for i := range f.alerts {
				if m.in(&f.alerts[i]) {
					n++
				}
			}
			wantRows(t, got, []string{"alerts"}, [][]string{{itoa(n)}})
		},
		"Alerts of level ≥ $min_level": func(t *testing.T, got result) {
			n := 0
			for i := range f.alerts {
				if m.in(&f.alerts[i]) && high(&f.alerts[i]) {
					n++
				}
			}
			wantRows(t, got, []string{"alerts"}, [][]string{{itoa(n)}})
		},
		"Internet sources": func(t *testing.T, got result) {
			wantRows(t, got, []string{"sources"}, [][]string{{itoa(len(sources))}})
		},
		"Alerts over time by level": func(t *testing.T, got result) {
			wantRows(t, got, []string{"time", "metric", "alerts"},
				m.series(all, func(a *ossec.Alert) string { return fmt.Sprintf("level %02d", m.level(a)) }))
		},
		"Top sources (internet)": func(t *testing.T, got result) {
			want := map[string][]string{}
			for s, st := range sources {
				want[s.String()] = []string{s.String(), itoa(st.count), itoa(st.first * 1000), itoa(st.last * 1000), itoa(st.maxLevel)}
			}
			wantTop(t, got, []string{"source", "alerts", "first_seen", "last_seen", "max_level"}, want, 0, 1, 50)
			for _, row := range got.rows {
				a, err := netip.ParseAddr(row[0])
				if err != nil {
					t.Errorf("source %q is no address", row[0])
					continue
				}
				if k := truthOf().Sources[a.Unmap()]; k == nil || !m.internet(a) {
					t.Errorf("source %s: planted as %v, inside the local networks %v", a, k, w.local)
				}
			}
		},
		"Top rules": func(t *testing.T, got result) {
			want := map[string][]string{}
			for id, st := range m.rules(all) {
				want[itoa(id)] = []string{itoa(id), m.name(id), itoa(st.maxLevel), itoa(st.count), itoa(st.first * 1000), itoa(st.last * 1000)}
			}
			wantTop(t, got, []string{"rule", "name", "level", "alerts", "first_seen", "last_seen"}, want, 0, 3, 25)
		},
		"Alerts by agent": func(t *testing.T, got result) {
			counts := map[string]int64{}
			for i := range f.alerts {
				if a := &f.alerts[i]; m.in(a) {
					counts[agent(m.location(a))]++
				}
			}
			want := map[string][]string{}
			for ag, c := range counts {
				want[manager+"|"+ag] = []string{manager, ag, itoa(c)}
			}
			wantTop(t, keyed(got, 0, 1), []string{"key", "manager", "agent", "alerts"}, prefixKey(want), 0, 3, len(want))
		},
		"Top locations": func(t *testing.T, got result) {
			counts := map[string]int64{}
			for i := range f.alerts {
				if a := &f.alerts[i]; m.in(a) {
					counts[m.location(a)]++
				}
			}
			want := map[string][]string{}
			for loc, c := range counts {
				want[manager+"|"+loc] = []string{manager, loc, itoa(c)}
			}
			wantTop(t, keyed(got, 0, 1), []string{"key", "manager", "location", "alerts"}, prefixKey(want), 0, 3, 25)
		},
		"Latest alerts of level ≥ $min_level": func(t *testing.T, got result) {
			wantLatest(t, got, m.latest(high, 100))
		},
		"Alerts from $source over time": func(t *testing.T, got result) {
			rows := m.series(m.bySource, func(a *ossec.Alert) string { return "rule " + itoa(a.RuleID) })
			if len(rows) == 0 {
				t.Fatalf("source %s has no alerts in the range: the check would prove nothing", w.source)
			}
			wantRows(t, got, []string{"time", "metric", "alerts"}, rows)
		},
		"Rules hit by $source": func(t *testing.T, got result) {
			want := map[string][]string{}
			for id, st := range m.rules(m.bySource) {
				want[itoa(id)] = []string{itoa(id), m.name(id), itoa(st.maxLevel), itoa(st.count), itoa(st.first * 1000), itoa(st.last * 1000)}
			}
			wantTop(t, got, []string{"rule", "name", "level", "alerts", "first_seen", "last_seen"}, want, 0, 3, 25)
		},
		"Alerts from $source": func(t *testing.T, got result) {
			wantLatest(t, got, m.latest(m.bySource, 200))
		},
		"variable source": func(t *testing.T, got result) {
			want := map[string][]string{}
			for s, st := range sources {
				want[s.String()] = []string{s.String(), itoa(st.count)}
			}
			// The variable lists sources only; add their counts to
			// check the order.
			var withCount result
			withCount.cols = []string{"source", "alerts"}
			for _, row := range got.rows {
				c := "?"
				if w, ok := want[row[0]]; ok {
					c = w[1]
				}
				withCount.rows = append(withCount.rows, []string{row[0], c})
			}
			if !slices.Equal(got.cols, []string{"source"}) {
				t.Errorf("columns %q, want [source]", got.cols)
			}
			wantTop(t, withCount, []string{"source", "alerts"}, want, 0, 1, 200)
		},
	}
	seen := map[string]bool{}
	for _, q := range qs {
		check := checks[q.Panel]
		if check == nil {
			t.Errorf("no check for the query of %q", q.Panel)
			continue
		}
		seen[q.Panel] = true
		t.Run(q.Title, func(t *testing.T) {
			got := f.query(t, q.SQL)
			check(t, got)
			if t.Failed() {
				t.Logf("SQL:\n%s", q.SQL)
			}
		})
	}
	for title := range checks {
		if !seen[title] {
			t.Errorf("the dashboard has no query %q any more", title)
		}
	}
	// The model itself against the generator's truth: over the whole
	// range with Rampart's default local networks, the internet sources
	// are exactly the planted non-local ones (IPv4 only where addresses
	// are integers), with the planted counts, times and levels.
	if w.from == f.truthStart() && w.to == f.truthEnd() && slices.Equal(w.local, ipclass.DefaultLocalNetworks()) && f.v != dbdload.V28 {
		want := map[netip.Addr]stat{}
		for a, s := range truthOf().Sources {
			if s.Kind.IsLocal() || (f.schema.IntegerIPs && !a.Is4()) {
				continue
			}
			want[a] = stat{count: s.Count, first: s.FirstSeen.Unix(), last: s.LastSeen.Unix(), maxLevel: s.MaxLevel}
		}
		got := map[netip.Addr]stat{}
		for a, s := range sources {
			got[a] = *s
		}
		if !maps.Equal(got, want) {
			t.Errorf("internet sources differ from the sample's truth: %d sources, truth %d", len(got), len(want))
		}
	}
}

func truthOf() *sample.Truth { _, t := generated(); return t }

func (f *fixture) truthStart() int64 { return sample.DefaultConfig().Start.Unix() }
func (f *fixture) truthEnd() int64 {
	c := sample.DefaultConfig()
	return c.Start.Add(c.Duration).Unix()
}

// wantRows checks columns and rows exactly, in order.
func wantRows(t *testing.T, got result, cols []string, rows [][]string) {
	t.Helper()
	if !slices.Equal(got.cols, cols) {
		t.Errorf("columns %q, want %q", got.cols, cols)
	}
	if len(got.rows) != len(rows) {
		t.Errorf("%d rows, want %d", len(got.rows), len(rows))
	}
	for i := range min(len(got.rows), len(rows)) {
		if !slices.Equal(got.rows[i], rows[i]) {
			t.Errorf("row %d: %q, want %q", i, got.rows[i], rows[i])
			return
		}
	}
}

// wantTop checks a table of the n largest rows by a count column: every row
// is the expected row of its key, counts never rise, and they are the n
// largest counts (ties at the cut may be either row).
func wantTop(t *testing.T, got result, cols []string, want map[string][]string, keyCol, countCol, n int) {
	t.Helper()
	if !slices.Equal(got.cols, cols) {
		t.Errorf("columns %q, want %q", got.cols, cols)
	}
	if len(want) == 0 {
		t.Fatal("nothing expected: the check would prove nothing")
	}
	if wantN := min(n, len(want)); len(got.rows) != wantN {
		t.Errorf("%d rows, want %d", len(got.rows), wantN)
	}
	var counts []int64
	for _, w := range want {
		c, _ := strconv.ParseInt(w[countCol], 10, 64)
		counts = append(counts, c)
	}
	slices.SortFunc(counts, func(a, b int64) int { return cmp.Compare(b, a) })
	prev := int64(-1)
	for i, row := range got.rows {
		w, ok := want[row[keyCol]]
		if !ok {
			t.Errorf("row %d: unexpected %q", i, row)
			continue
		}
		if !slices.Equal(row, w) {
			t.Errorf("row %d: %q, want %q", i, row, w)
		}
		c, _ := strconv.ParseInt(row[countCol], 10, 64)
		if prev >= 0 && c > prev {
			t.Errorf("row %d: count %d after %d: not in descending order", i, c, prev)
		}
		prev = c
		if i < len(counts) && c != counts[i] {
			t.Errorf("row %d: count %d, want the %d-th largest, %d", i, c, i+1, counts[i])
		}
	}
}

// wantLatest checks an alert list; the log column must be the start of the
// stored log (at most 500 characters).
func wantLatest(t *testing.T, got result, want [][]string) {
	t.Helper()
	cols := []string{"time", "level", "rule", "name", "source", "location", "log"}
	if !slices.Equal(got.cols, cols) {
		t.Errorf("columns %q, want %q", got.cols, cols)
	}
	if len(want) == 0 {
		t.Fatal("nothing expected: the check would prove nothing")
	}
	if len(got.rows) != len(want) {
		t.Errorf("%d rows, want %d", len(got.rows), len(want))
	}
	for i := range min(len(got.rows), len(want)) {
		g, w := got.rows[i], want[i]
		if !slices.Equal(g[:6], w[:6]) {
			t.Errorf("row %d: %q, want %q", i, g[:6], w[:6])
			return
		}
		if lg := g[6]; len([]rune(lg)) > 500 || lg == "" || !strings.HasPrefix(w[6], lg) {
			t.Errorf("row %d: log %.80q is not the start of the stored log %.80q", i, lg, w[6])
		}
	}
}

// keyed prepends a key column made of columns i and j.
func keyed(r result, i, j int) result {
	out := result{cols: append([]string{"key"}, r.cols...)}
	for _, row := range r.rows {
		out.rows = append(out.rows, append([]string{row[i] + "|" + row[j]}, row...))
	}
	return out
}

func prefixKey(want map[string][]string) map[string][]string {
	out := map[string][]string{}
	for k, v := range want {
		out[k] = append([]string{k}, v...)
	}
	return out
}
