package grafana_test

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/goldentest"
	"github.com/rampart-ids/rampart/internal/grafana"
	"github.com/rampart-ids/rampart/internal/ipclass"
)

func provisioning() grafana.Provisioning {
	return grafana.Provisioning{
		Options:        grafana.Options{LocalNetworks: ipclass.DefaultLocalNetworks(), LocalDefault: true},
		MySQLSource:    grafana.MySQLSource{Host: "db1.example:3306", Database: "ossec", User: "grafana"},
		PrometheusURL:  "http://prometheus:9090",
		DashboardsPath: "/var/lib/grafana/dashboards/rampart",
	}
}

// TestFilesGolden pins every file export writes.
func TestFilesGolden(t *testing.T) {
	files, err := provisioning().Files()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{grafana.ProviderFile, grafana.DashboardDir + "/rampart-ossec-alerts.json", grafana.DashboardDir + "/rampart-server.json", grafana.DatasourcesFile}
	var got []string
	for name := range files {
		got = append(got, name)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("files %q, want %q", got, want)
	}
	for name, b := range files {
		goldentest.Check(t, "testdata/"+strings.ReplaceAll(name, "/", "_")+".golden", b)
	}
}

// panelJSON is a panel as Grafana reads the JSON, kept generic so that
// the checks see what was written, not what the Go types allow.
type panelJSON map[string]any

// TestDashboardsImportable checks each dashboard's JSON for what Grafana
// needs to import it: the schema version, the top-level fields, unique
// panel ids and query refIds, panels inside the 24-column grid without
// overlap, a data source and queries on every data panel, every variable a
// query or title uses defined, and every MySQL query expandable.
func TestDashboardsImportable(t *testing.T) {
	for _, o := range []grafana.Options{
		{LocalNetworks: ipclass.DefaultLocalNetworks(), LocalDefault: true},
		{Schema: grafana.Schema{IntegerIPs: true, LevelInSignature: true, LogInData: true}, LocalNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
		{},
	} {
		for _, d := range grafana.Dashboards(o) {
			t.Run(d.Title+" "+o.Schema.String(), func(t *testing.T) {
				b, err := grafana.MarshalDashboard(d)
				if err != nil {
					t.Fatal(err)
				}
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatal(err)
				}
				checkDashboard(t, m)
			})
		}
	}
}

var builtins = map[string]bool{
	"__interval": true, "__interval_ms": true, "__rate_interval": true, "__range": true,
	"__unixEpochFrom": true, "__unixEpochTo": true, "__unixEpochFilter": true, "__unixEpochGroupAlias": true,
	"__unixEpochGroup": true, "__timeFilter": true, "__timeGroupAlias": true, "__timeGroup": true,
}

var varRef = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)`)

func checkDashboard(t *testing.T, m map[string]any) {
	t.Helper()
	if v, ok := m["schemaVersion"].(float64); !ok || v != 39 {
		t.Errorf("schemaVersion %v, want 39", m["schemaVersion"])
	}
	for _, k := range []string{"uid", "title", "panels", "templating", "time", "annotations", "editable", "version", "tags", "timezone", "refresh"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q", k)
		}
	}
	if m["id"] != nil {
		t.Errorf("id %v, want null (Grafana assigns it)", m["id"])
	}
	if uid, _ := m["uid"].(string); !regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`).MatchString(uid) {
		t.Errorf("uid %q: Grafana wants 1 to 40 of [A-Za-z0-9_-]", uid)
	}
	tr, _ := m["time"].(map[string]any)
	if tr["from"] == nil || tr["to"] == nil {
		t.Errorf("time %v: want from and to", m["time"])
	}
	defined := map[string]string{} // name → type
	for _, v := range m["templating"].(map[string]any)["list"].([]any) {
		v := v.(map[string]any)
		name, _ := v["name"].(string)
		typ, _ := v["type"].(string)
		if name == "" || typ == "" || v["current"] == nil {
			t.Errorf("variable %v: want name, type and current", v)
		}
		defined[name] = typ
	}
	uses := func(where, s string) {
		for _, g := range varRef.FindAllStringSubmatch(s, -1) {
			name := g[1] + g[2]
			if !builtins[name] && defined[name] == "" {
				t.Errorf("%s uses $%s, which is not defined", where, name)
			}
		}
	}
	for _, v := range m["templating"].(map[string]any)["list"].([]any) {
		if q, ok := v.(map[string]any)["query"].(string); ok {
			uses("variable "+v.(map[string]any)["name"].(string), q)
		}
	}

	ids := map[float64]bool{}
	var boxes [][4]int
	for _, p := range m["panels"].([]any) {
		p := panelJSON(p.(map[string]any))
		title, _ := p["title"].(string)
		typ, _ := p["type"].(string)
		id, _ := p["id"].(float64)
		if id <= 0 || ids[id] {
			t.Errorf("panel %q: id %v missing or repeated", title, p["id"])
		}
		ids[id] = true
		if title == "" || !slices.Contains([]string{"row", "stat", "timeseries", "table", "text", "bargauge"}, typ) {
			t.Errorf("panel %q: type %q", title, typ)
		}
		uses("title of "+title, title)
		g := p["gridPos"].(map[string]any)
		box := [4]int{int(g["x"].(float64)), int(g["y"].(float64)), int(g["w"].(float64)), int(g["h"].(float64))}
		if box[0] < 0 || box[2] < 1 || box[0]+box[2] > 24 || box[3] < 1 || box[1] < 0 {
			t.Errorf("panel %q: gridPos %v outside the 24-column grid", title, g)
		}
		for _, o := range boxes {
			if box[0] < o[0]+o[2] && o[0] < box[0]+box[2] && box[1] < o[1]+o[3] && o[1] < box[1]+box[3] {
				t.Errorf("panel %q at %v overlaps a panel at %v", title, box, o)
			}
		}
		boxes = append(boxes, box)
		switch typ {
		case "row":
			if ps, ok := p["panels"].([]any); !ok || len(ps) != 0 || p["collapsed"] != false {
				t.Errorf("row %q: want collapsed false and panels []", title)
			}
			continue
		case "text":
			if o, _ := p["options"].(map[string]any); o["content"] == "" {
				t.Errorf("text panel %q is empty", title)
			}
			continue
		}
		ds, _ := p["datasource"].(map[string]any)
		dsType, _ := ds["type"].(string)
		dsUID, _ := ds["uid"].(string)
		if name := strings.TrimSuffix(strings.TrimPrefix(dsUID, "${"), "}"); defined[name] != "datasource" {
			t.Errorf("panel %q: data source uid %q is not a data source variable", title, dsUID)
		}
		if fc, ok := p["fieldConfig"].(map[string]any); !ok || fc["defaults"] == nil || fc["overrides"] == nil {
			t.Errorf("panel %q: fieldConfig needs defaults and overrides", title)
		}
		targets, _ := p["targets"].([]any)
		if len(targets) == 0 {
			t.Errorf("panel %q has no query", title)
		}
		refs := map[string]bool{}
		for _, tg := range targets {
			tg := tg.(map[string]any)
			ref, _ := tg["refId"].(string)
			if ref == "" || refs[ref] {
				t.Errorf("panel %q: refId %q missing or repeated", title, ref)
			}
			refs[ref] = true
			switch dsType {
			case "mysql":
				sql, _ := tg["rawSql"].(string)
				format, _ := tg["format"].(string)
				if sql == "" || tg["rawQuery"] != true || (format != "table" && format != "time_series") {
					t.Errorf("panel %q: MySQL query needs rawSql, rawQuery and format table or time_series", title)
				}
				if format == "time_series" && !strings.Contains(sql, `AS "time"`) && !strings.Contains(sql, "$__unixEpochGroupAlias(") {
					t.Errorf("panel %q: a time series query returns no time column", title)
				}
				if strings.Contains(sql, "LIKE '1") || strings.Contains(sql, "timestamp") {
					t.Errorf("panel %q: addresses matched as text, or time from the insert timestamp:\n%s", title, sql)
				}
				uses("query of "+title, sql)
				r := grafana.Range{From: time.Unix(1700000000, 0), To: time.Unix(1700600000, 0), Interval: time.Hour}
				out, err := grafana.Expand(sql, r, map[string]string{"source": "192.0.2.1", "min_level": "10"})
				if err != nil {
					t.Errorf("panel %q: %v", title, err)
				} else if strings.Contains(out, "$") {
					t.Errorf("panel %q: expanded SQL still has a $:\n%s", title, out)
				}
			case "prometheus":
				if expr, _ := tg["expr"].(string); expr == "" {
					t.Errorf("panel %q: Prometheus query without expr", title)
				} else {
					uses("query of "+title, expr)
				}
			default:
				t.Errorf("panel %q: data source type %q", title, dsType)
			}
		}
	}
}

// TestLocalNetworksSQL checks the exclusion SQL the local networks give:
// binary ranges per family, merged, mapped prefixes as IPv4.
func TestLocalNetworksSQL(t *testing.T) {
	nets := []netip.Prefix{
		netip.MustParsePrefix("10.40.0.0/24"), netip.MustParsePrefix("10.40.1.0/24"), // merge into one range
		netip.MustParsePrefix("::ffff:192.168.0.0/120"), // the IPv4 192.168.0.0/24
		netip.MustParsePrefix("2001:db8:40::/48"),
	}
	sql := grafana.OSSECAlerts(grafana.Options{LocalNetworks: nets}).Panels[2].Targets[0].RawSQL
	for _, want := range []string{
		"LENGTH(n.addr) = 4 AND (n.addr BETWEEN INET6_ATON('10.40.0.0') AND INET6_ATON('10.40.1.255')",
		"n.addr BETWEEN INET6_ATON('192.168.0.0') AND INET6_ATON('192.168.0.255')",
		"LENGTH(n.addr) = 16 AND (n.addr BETWEEN INET6_ATON('2001:db8:40::') AND INET6_ATON('2001:db8:40:ffff:ffff:ffff:ffff:ffff'))",
		"n.addr NOT IN (INET6_ATON('0.0.0.0'), INET6_ATON('::'))",
	} {
		if !strings.Contains(sql, want) {
			t.Errorf("SQL lacks %q:\n%s", want, sql)
		}
	}
	isql := grafana.OSSECAlerts(grafana.Options{Schema: grafana.Schema{IntegerIPs: true}, LocalNetworks: nets}).Panels[2].Targets[0].RawSQL
	for _, want := range []string{"n.addr BETWEEN 170393600 AND 170394111", "n.addr BETWEEN 3232235520 AND 3232235775", "n.addr <> 0"} {
		if !strings.Contains(isql, want) {
			t.Errorf("integer-layout SQL lacks %q:\n%s", want, isql)
		}
	}
	if strings.Contains(isql, "2001:db8") {
		t.Errorf("integer-layout SQL tests IPv6 ranges:\n%s", isql)
	}
	if got := fmt.Sprint(grafana.OSSECAlerts(grafana.Options{LocalNetworks: nets}).Panels[2].Title); got != "Internet sources" {
		t.Fatalf("panel 3 is %q: the test looks at the wrong panel", got)
	}
}

func TestParseSchema(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want grafana.Schema
		err  bool
	}{
		{"2.9+", grafana.Schema{}, false},
		{"3.x", grafana.Schema{}, false},
		{"hybrid", grafana.Schema{IntegerIPs: true}, false},
		{"2.8", grafana.Schema{IntegerIPs: true, LevelInSignature: true, LogInData: true}, false},
		{"2.7", grafana.Schema{}, true},
	} {
		got, err := grafana.ParseSchema(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseSchema(%q) = %+v, %v", tt.in, got, err)
		}
		if err == nil && tt.in != "3.x" && got.String() != tt.in {
			t.Errorf("Schema %+v String() = %q, want %q", got, got.String(), tt.in)
		}
	}
}
