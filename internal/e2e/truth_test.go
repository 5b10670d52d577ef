package e2e

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rampart-ids/rampart/internal/cli"
	"github.com/rampart-ids/rampart/internal/testenv"
)

// rampart runs the real entry point and returns stdout; it fails the test on
// a non-zero exit.
func rampart(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := rampartCode(t, args...)
	if code != 0 {
		t.Fatalf("rampart %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func rampartCode(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	code = cli.Main(ctx, args, cli.Stdio{In: strings.NewReader(""), Out: &o, Err: &e})
	return o.String(), e.String(), code
}

// truthFile is what "rampart sample" writes as truth.json.
type truthFile struct {
	Total    int64 `json:"total"`
	NoSource int64 `json:"no_source"`
	Sources  []struct {
		IP        string           `json:"ip"`
		Kind      string           `json:"kind"`
		Count     int64            `json:"count"`
		FirstSeen time.Time        `json:"first_seen"`
		LastSeen  time.Time        `json:"last_seen"`
		MaxLevel  int              `json:"max_level"`
		Rules     map[string]int64 `json:"rules"`
		Mapped    int64            `json:"mapped"`
		Block     int64            `json:"block_seconds"`
	} `json:"sources"`
}

// topRow is one object of "rampart top --format json".
type topRow struct {
	IP        string    `json:"ip"`
	Count     int64     `json:"count"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	MaxLevel  int       `json:"max_level"`
	Rules     int       `json:"rules"`
}

// expectedTop derives the answer of "rampart top" from what the generator
// planted, without any of Rampart's analysis code: the generator chose each
// address from a list of its kind, so "local" here is the generator's word,
// not a classifier's.
func expectedTop(tr truthFile, keep func(kind string, addr netip.Addr) bool, min int64) []topRow {
	var out []topRow
	for _, s := range tr.Sources {
		addr := netip.MustParseAddr(s.IP)
		if !keep(s.Kind, addr) || s.Count < min {
			continue
		}
		out = append(out, topRow{IP: s.IP, Count: s.Count, FirstSeen: s.FirstSeen, LastSeen: s.LastSeen, MaxLevel: s.MaxLevel, Rules: len(s.Rules)})
	}
	slices.SortFunc(out, func(a, b topRow) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return netip.MustParseAddr(a.IP).Compare(netip.MustParseAddr(b.IP))
	})
	return out
}

func isLocalKind(kind string) bool { return kind == "local" || kind == "loopback" }

func decodeTop(t *testing.T, out string) []topRow {
	t.Helper()
	var rows []topRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("top --format json: %v\n%s", err, out)
	}
	return rows
}

// TestTopMatchesGroundTruth is the foundation's acceptance test: the same
// generated alerts, read from alerts.log, alerts.json, the store, and
// ossec-dbd databases on MariaDB (3.x and 2.8 layouts) and PostgreSQL (3.x and
// master), give exactly the top sources the generator planted, traps
// included.
func TestTopMatchesGroundTruth(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test needs databases and time (20,000 alerts); skipped with -short")
	}
	mysql3x, mysql28 := testenv.MySQL(t), testenv.MySQL(t)
	pg3x, pgMaster := testenv.Postgres(t), testenv.Postgres(t)

	dir := t.TempDir()
	const n = "20000"
	rampart(t, "sample", "--out", dir, "--alerts", n, "--db", mysql3x, "--db-version", "3x")
	// The same alerts (same flags, deterministic) into the other databases.
	for _, db := range []struct{ dsn, version string }{{mysql28, "2.8"}, {pg3x, "3x"}, {pgMaster, "master"}} {
		rampart(t, "sample", "--out", filepath.Join(t.TempDir()), "--alerts", n, "--db", db.dsn, "--db-version", db.version)
	}
	var tr truthFile
	data, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	requireTraps(t, tr)

	logFile, jsonFile := filepath.Join(dir, "alerts.log"), filepath.Join(dir, "alerts.json")
	store := filepath.Join(dir, "store.db")
	// The store gets the alerts three times, from three formats; each alert
	// must be stored once.
	rampart(t, "import", "--store", store, "--progress", "never", logFile, jsonFile, mysql3x)

	backends := []struct {
		name string
		args []string
		v4   bool // the 2.8 layout stores IPv4 only: IPv6 sources are 0 there
	}{
		{"alerts.log", []string{"--alerts", logFile}, false},
		{"alerts.json", []string{"--alerts", jsonFile}, false},
		{"store", []string{"--store", store}, false},
		{"mariadb-3x", []string{"--db", mysql3x}, false},
		{"mariadb-2.8", []string{"--db", mysql28}, true},
		{"postgres-3x", []string{"--db", pg3x}, false},
		{"postgres-master", []string{"--db", pgMaster}, false},
	}
	queries := []struct {
		name string
		args []string
		keep func(kind string, addr netip.Addr) bool
		min  int64
	}{
		{"internet", nil, func(k string, _ netip.Addr) bool { return !isLocalKind(k) }, 0},
		{"local", []string{"--scope", "local"}, func(k string, _ netip.Addr) bool { return isLocalKind(k) }, 0},
		{"all min 50", []string{"--scope", "all", "--min", "50"}, func(string, netip.Addr) bool { return true }, 50},
		// The seed's own networks: everything else is "internet", including
		// 10.40.1.5 and 192.168.1.x, but never 110.40.0.5.
		{"seed nets", []string{"--local-nets", "10.40.0.0/24,192.168.0.0/24,127.0.0.1,::1"}, func(_ string, a netip.Addr) bool {
			for _, p := range []string{"10.40.0.0/24", "192.168.0.0/24", "127.0.0.1/32", "::1/128"} {
				if netip.MustParsePrefix(p).Contains(a) {
					return false
				}
			}
			return true
		}, 0},
	}
	for _, q := range queries {
		for _, b := range backends {
			t.Run(q.name+"/"+b.name, func(t *testing.T) {
				keep := q.keep
				if b.v4 {
					keep = func(k string, a netip.Addr) bool { return a.Is4() && q.keep(k, a) }
				}
				want := expectedTop(tr, keep, q.min)
				got := decodeTop(t, rampart(t, append(append([]string{"top", "--format", "json"}, b.args...), q.args...)...))
				if diff := gocmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("top %v %v (-truth +rampart):\n%s", b.args, q.args, diff)
				}
			})
		}
	}

	// --by prefix sums the planted sources per /24 and /64 exactly.
	wantPrefix := map[string]int64{}
	for _, src := range tr.Sources {
		if isLocalKind(src.Kind) {
			continue
		}
		a := netip.MustParseAddr(src.IP)
		bits := 24
		if a.Is6() {
			bits = 64
		}
		p, _ := a.Prefix(bits)
		wantPrefix[p.String()] += src.Count
	}
	for _, b := range backends {
		if b.v4 {
			continue
		}
		var groups []struct {
			Prefix  string `json:"prefix"`
			Count   int64  `json:"count"`
			Sources int    `json:"sources"`
		}
		out := rampart(t, append([]string{"top", "--by", "prefix", "--format", "json"}, b.args...)...)
		if err := json.Unmarshal([]byte(out), &groups); err != nil {
			t.Fatalf("top --by prefix: %v", err)
		}
		got := map[string]int64{}
		for i, g := range groups {
			got[g.Prefix] = g.Count
			if i > 0 && g.Count > groups[i-1].Count {
				t.Errorf("%s: --by prefix not ordered by count at %s", b.name, g.Prefix)
			}
		}
		if diff := gocmp.Diff(wantPrefix, got); diff != "" {
			t.Errorf("%s: top --by prefix (-truth +rampart):\n%s", b.name, diff)
		}
		// The acceptance: the planted /24 comes first, with the
		// exact sum of its members' counts.
		if len(groups) == 0 || groups[0].Prefix != "218.92.0.0/24" || groups[0].Count != wantPrefix["218.92.0.0/24"] {
			t.Errorf("%s: top --by prefix starts with %+v, want 218.92.0.0/24 with %d alerts", b.name, groups[:min(1, len(groups))], wantPrefix["218.92.0.0/24"])
		}
	}

	// Filters the truth does not break down (time windows, levels, rules):
	// every back end must still give the same answer as reading the file.
	filters := [][]string{
		{"--since", "2026-10-03T07:13:29Z", "--until", "2026-10-09T00:00:01Z"},
		{"--since", "2026-10-05T00:00:00Z", "--until", "2026-10-05T12:00:00Z", "--scope", "all"},
		{"--level", "10"},
		{"--rule", "5716", "--limit", "25"},
	}
	for _, fl := range filters {
		want := rampart(t, append([]string{"top", "--format", "json", "--alerts", logFile}, fl...)...)
		if len(decodeTop(t, want)) == 0 {
			t.Fatalf("filter %v selects nothing: the comparison would prove nothing", fl)
		}
		for _, b := range backends[1:] {
			if b.v4 {
				continue
			}
			got := rampart(t, append(append([]string{"top", "--format", "json"}, b.args...), fl...)...)
			if got != want {
				t.Errorf("top %v %v differs from the file's answer:\n%s", b.args, fl, firstDiff(want, got))
			}
		}
	}
}

// requireTraps makes sure the data holds what the comparison is meant to
// catch, so a change of the generator cannot quietly weaken this test.
func requireTraps(t *testing.T, tr truthFile) {
	t.Helper()
	has := map[string]bool{}
	for _, s := range tr.Sources {
		a := netip.MustParseAddr(s.IP)
		has[s.Kind] = true
		if s.Kind == "returner" {
			has["returner "+strconv.FormatInt(s.Block, 10)+" s"] = true
		}
		if s.Mapped > 0 && s.Mapped < s.Count {
			has["::ffff: and plain spellings"] = true
		}
		switch {
		case a.Is6() && !isLocalKind(s.Kind):
			has["ipv6 internet"] = true
		case s.IP == "110.40.0.5":
			has["110.40.0.5"] = true
		case netip.MustParsePrefix("218.92.0.0/24").Contains(a):
			has["218.92.0.0/24"] = true
		case a.IsLoopback():
			has["loopback addr"] = true
		}
	}
	if tr.NoSource == 0 {
		t.Error("sample has no alerts without source")
	}
	for _, k := range []string{"internet", "local", "loopback", "lookalike", "returner", "returner 600 s", "returner 3600 s", "burst", "slow",
		"ipv6 internet", "110.40.0.5", "218.92.0.0/24", "loopback addr", "::ffff: and plain spellings"} {
		if !has[k] {
			t.Errorf("sample lacks %s sources", k)
		}
	}
}

func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return "line " + strconv.Itoa(i+1) + ":\n  file:    " + la[i] + "\n  backend: " + lb[i]
		}
	}
	return "lengths differ: " + strconv.Itoa(len(la)) + " vs " + strconv.Itoa(len(lb)) + " lines"
}

// ipReport is "rampart ip --format json".
type ipReport struct {
	IP        string     `json:"ip"`
	Count     int64      `json:"count"`
	FirstSeen *time.Time `json:"first_seen"`
	LastSeen  *time.Time `json:"last_seen"`
	ByRule    []struct {
		RuleID      int    `json:"rule_id"`
		Description string `json:"description"`
		Level       int    `json:"level"`
		Count       int64  `json:"count"`
	} `json:"by_rule"`
	ByLevel []struct {
		Level int   `json:"level"`
		Count int64 `json:"count"`
	} `json:"by_level"`
	ByLocation []struct {
		Location string `json:"location"`
		Agent    string `json:"agent"`
		Count    int64  `json:"count"`
	} `json:"by_location"`
	ByDay []struct {
		Day   string `json:"day"`
		Count int64  `json:"count"`
	} `json:"by_day"`
	Alerts []struct {
		Time     time.Time `json:"time"`
		RuleID   int       `json:"rule_id"`
		Level    int       `json:"level"`
		Location string    `json:"location"`
		Log      string    `json:"log"`
	} `json:"alerts"`
}

// asDatabaseHasIt turns a report read from files into what an ossec-dbd 3.x
// database can hold: sanitised text, no rule descriptions (OSSEC stopped
// filling "signature" in 2.9), logs cut to 20 lines.
func asDatabaseHasIt(r ipReport) ipReport {
	for i := range r.ByRule {
		r.ByRule[i].Description = ""
	}
	for i := range r.ByLocation {
		r.ByLocation[i].Location = sanitize(r.ByLocation[i].Location)
	}
	for i := range r.Alerts {
		r.Alerts[i].Location = sanitize(r.Alerts[i].Location)
		lines := strings.Split(sanitize(r.Alerts[i].Log), "\n")
		r.Alerts[i].Log = strings.Join(lines[:min(20, len(lines))], "\n")
	}
	return r
}

// sanitize is ossec-dbd's osdb_escapestr, written out here again so the test
// does not lean on the code it checks.
func sanitize(s string) string {
	s = strings.TrimSuffix(s, `\`)
	b := []byte(s)
	for i, c := range b {
		switch {
		case c == '\'':
			b[i] = '`'
		case c == '\\':
			b[i] = '/'
		case c != '\n' && (c < 32 || c > 126):
			b[i] = ' '
		}
	}
	return string(b)
}

// TestIPSameEverywhere checks that "rampart ip" tells one source's story the
// same way from files, the store and the databases.
func TestIPSameEverywhere(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test needs databases, netns and time; skipped with -short")
	}
	mysql, pg := testenv.MySQL(t), testenv.Postgres(t)
	dir := t.TempDir()
	rampart(t, "sample", "--out", dir, "--alerts", "8000", "--db", mysql)
	rampart(t, "sample", "--out", t.TempDir(), "--alerts", "8000", "--db", pg)
	logFile, jsonFile := filepath.Join(dir, "alerts.log"), filepath.Join(dir, "alerts.json")
	store := filepath.Join(dir, "store.db")
	rampart(t, "import", "--store", store, "--progress", "never", logFile)

	top := decodeTop(t, rampart(t, "top", "--format", "json", "--alerts", logFile, "--scope", "all"))
	if len(top) < 5 {
		t.Fatalf("only %d sources", len(top))
	}
	// The busiest source, one with the ::ffff: spelling, an IPv6 source,
	// the rarest, and one that never attacked.
	addrs := []string{top[0].IP, top[len(top)-1].IP, "192.0.2.1"}
	for _, r := range top {
		if netip.MustParseAddr(r.IP).Is6() {
			addrs = append(addrs, r.IP)
			break
		}
	}
	for _, r := range top[1:6] {
		addrs = append(addrs, r.IP)
	}
	decode := func(out string) ipReport {
		var r ipReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("ip --format json: %v\n%s", err, out)
		}
		return r
	}
	for _, addr := range addrs {
		for _, extra := range [][]string{{"--limit", "15"}, {"--limit", "3", "--since", "2026-10-04T10:00:00Z", "--level", "5"}} {
			args := append([]string{"ip", addr, "--format", "json"}, extra...)
			want := decode(rampart(t, append(args, "--alerts", logFile)...))
			for _, b := range []struct {
				name string
				args []string
				db   bool
			}{
				{"alerts.json", []string{"--alerts", jsonFile}, false},
				{"store", []string{"--store", store}, false},
				{"mariadb", []string{"--db", mysql}, true},
				{"postgres", []string{"--db", pg}, true},
			} {
				got := decode(rampart(t, append(args, b.args...)...))
				w := want
				if b.db {
					w = asDatabaseHasIt(decode(rampart(t, append(args, "--alerts", logFile)...)))
				}
				if diff := gocmp.Diff(w, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("ip %s %v from %s (-file +%s):\n%s", addr, extra, b.name, b.name, diff)
				}
			}
		}
	}
}
