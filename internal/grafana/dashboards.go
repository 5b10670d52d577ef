package grafana

import (
	"net/netip"
	"strings"
)

// DataSource is a provisioned data source as the dashboards refer to it.
type DataSource struct {
	Name string
	UID  string
}

// The provisioned data sources' names and uids: the ossec-dbd database,
// and the Prometheus that scrapes Rampart.
const (
	DefaultMySQLName      = "OSSEC (ossec-dbd)"
	DefaultMySQLUID       = "rampart-ossecdb"
	DefaultPrometheusName = "Rampart (Prometheus)"
	DefaultPrometheusUID  = "rampart-prometheus"
)

// The dashboards' uids, stable so that a new export or push replaces the
// previous one.
const (
	OSSECAlertsUID = "rampart-ossec-alerts"
	RampartUID     = "rampart-server"
)

// Options shape the dashboards.
type Options struct {
	// Schema is the ossec-dbd layout the SQL is written for.
	Schema Schema
	// LocalNetworks are left out of the top sources (Rampart's
	// local_networks).
	LocalNetworks []netip.Prefix
	// LocalDefault says LocalNetworks are Rampart's defaults because none
	// were configured; the dashboard says so.
	LocalDefault bool
	// MySQL and Prometheus are the data sources the dashboards'
	// variables start on (zero: the Default* names and uids).
	MySQL, Prometheus DataSource
}

func (o Options) mysql() DataSource {
	if o.MySQL.UID == "" {
		return DataSource{Name: DefaultMySQLName, UID: DefaultMySQLUID}
	}
	return o.MySQL
}

func (o Options) prometheus() DataSource {
	if o.Prometheus.UID == "" {
		return DataSource{Name: DefaultPrometheusName, UID: DefaultPrometheusUID}
	}
	return o.Prometheus
}

// Dashboards returns both dashboards.
func Dashboards(o Options) []Dashboard {
	return []Dashboard{OSSECAlerts(o), Rampart(o)}
}

// layout places panels left to right, top to bottom on the 24-column grid
// and numbers them.
type layout struct {
	panels []Panel
	x, y   int
	rowH   int
	id     int
}

func (l *layout) add(w, h int, p Panel) {
	if l.x+w > 24 {
		l.y += l.rowH
		l.x, l.rowH = 0, 0
	}
	l.id++
	p.ID = l.id
	p.GridPos = GridPos{H: h, W: w, X: l.x, Y: l.y}
	l.panels = append(l.panels, p)
	l.x += w
	l.rowH = max(l.rowH, h)
}

func (l *layout) row(title string) {
	if l.x > 0 {
		l.y += l.rowH
		l.x, l.rowH = 0, 0
	}
	collapsed := false
	l.add(24, 1, Panel{Type: "row", Title: title, Collapsed: &collapsed, Panels: &[]Panel{}})
	l.y++
	l.x, l.rowH = 0, 0
}

func newDashboard(uid, title, description string, tags []string, vars []Variable, panels []Panel) Dashboard {
	return Dashboard{
		UID: uid, Title: title, Description: description, Tags: tags,
		Timezone: "utc", Editable: true, GraphTooltip: 1, WeekStart: "",
		SchemaVersion: SchemaVersion, Version: 1, Refresh: "1m",
		Time:       TimeRange{From: "now-7d", To: "now"},
		Templating: Templating{List: vars},
		Annotations: Annotations{List: []Annotation{{
			BuiltIn: 1, Datasource: DataSourceRef{Type: "grafana", UID: "-- Grafana --"},
			Enable: true, Hide: true, IconColor: "rgba(0, 211, 255, 1)",
			Name: "Annotations & Alerts", Type: "dashboard",
		}}},
		Links:  []any{},
		Panels: panels,
	}
}

func datasourceVar(name, label, plugin string, ds DataSource) Variable {
	return Variable{
		Type: "datasource", Name: name, Label: label, Query: plugin, Refresh: 1,
		Current: Current{Selected: true, Text: ds.Name, Value: ds.UID}, Options: []Option{},
	}
}

func ptr[T any](v T) *T { return &v }

// fieldConfig is a field config with a unit and custom settings.
func fieldConfig(unit string, custom map[string]any, overrides ...Override) *FieldConfig {
	if overrides == nil {
		overrides = []Override{}
	}
	return &FieldConfig{
		Defaults: FieldDefaults{
			Unit: unit, Custom: custom, Mappings: []any{},
			Color: map[string]any{"mode": "palette-classic"},
			Thresholds: &Thresholds{Mode: "absolute", Steps: []Step{
				{Color: "green", Value: nil},
			}},
		},
		Overrides: overrides,
	}
}

// dateColumns shows epoch-millisecond columns as dates.
func dateColumns(names ...string) []Override {
	var o []Override
	for _, n := range names {
		o = append(o, Override{
			Matcher:    Matcher{ID: "byName", Options: n},
			Properties: []Property{{ID: "unit", Value: "dateTimeAsIso"}},
		})
	}
	return o
}

// gaugeColumn draws a numeric column as a bar inside its cell.
func gaugeColumn(name string) Override {
	return Override{
		Matcher:    Matcher{ID: "byName", Options: name},
		Properties: []Property{{ID: "custom.cellOptions", Value: map[string]any{"type": "gauge", "mode": "basic"}}},
	}
}

// widthColumn sets a column's width in pixels.
func widthColumn(name string, px int) Override {
	return Override{
		Matcher:    Matcher{ID: "byName", Options: name},
		Properties: []Property{{ID: "custom.width", Value: px}},
	}
}

func tableOptions() map[string]any {
	return map[string]any{
		"showHeader": true, "cellHeight": "sm",
		"footer": map[string]any{"show": false, "reducer": []string{"sum"}, "countRows": false, "fields": ""},
	}
}

func tableCustom() map[string]any {
	return map[string]any{
		"align": "auto", "cellOptions": map[string]any{"type": "auto"}, "inspect": true, "filterable": true,
	}
}

func timeseriesCustom(bars, stacked bool) map[string]any {
	draw, fill := "line", 10
	if bars {
		draw, fill = "bars", 80
	}
	stack := "none"
	if stacked {
		stack = "normal"
	}
	return map[string]any{
		"drawStyle": draw, "lineWidth": 1, "fillOpacity": fill, "showPoints": "never",
		"spanNulls": false, "axisPlacement": "auto", "barAlignment": 0,
		"stacking":          map[string]any{"mode": stack, "group": "A"},
		"lineInterpolation": "linear", "pointSize": 4, "gradientMode": "none",
		"axisBorderShow": false, "axisCenteredZero": false, "axisColorMode": "text", "axisLabel": "",
		"hideFrom":          map[string]any{"legend": false, "tooltip": false, "viz": false},
		"scaleDistribution": map[string]any{"type": "linear"},
		"thresholdsStyle":   map[string]any{"mode": "off"},
		"insertNulls":       false,
	}
}

func timeseriesOptions() map[string]any {
	return map[string]any{
		"legend":  map[string]any{"calcs": []string{"sum"}, "displayMode": "table", "placement": "right", "showLegend": true},
		"tooltip": map[string]any{"mode": "multi", "sort": "desc"},
	}
}

func statOptions() map[string]any {
	return map[string]any{
		"colorMode": "value", "graphMode": "none", "justifyMode": "auto", "orientation": "auto",
		"reduceOptions": map[string]any{"calcs": []string{"lastNotNull"}, "fields": "", "values": false},
		"textMode":      "auto", "showPercentChange": false, "wideLayout": true,
	}
}

// sqlPanel is a MySQL panel with one query.
func sqlPanel(typ, title, description, format, sql string) Panel {
	ds := &DataSourceRef{Type: "mysql", UID: "${ossecdb}"}
	return Panel{
		Type: typ, Title: title, Description: description, Datasource: ds,
		Targets: []Target{{RefID: "A", Datasource: ds, RawSQL: sql, RawQuery: true, Format: format, EditorMode: "code"}},
	}
}

// OSSECAlerts is the "OSSEC alerts" dashboard on the ossec-dbd database.
func OSSECAlerts(o Options) Dashboard {
	q := newQueries(o.Schema, o.LocalNetworks)
	var l layout

	stat := func(title, desc, sql string) {
		p := sqlPanel("stat", title, desc, FormatTable, sql)
		p.FieldConfig = fieldConfig("short", nil)
		p.Options = statOptions()
		l.add(6, 4, p)
	}
	stat("Alerts", "Alerts in the time range, by the time in their alertid.", q.totalAlerts())
	stat("Alerts of level ≥ $min_level", "Alerts in the time range at or above the level chosen above.", q.highAlerts())
	stat("Internet sources", "Distinct source addresses outside the local networks (IPv4 and IPv6; ::ffff:a.b.c.d counts as a.b.c.d).", q.internetSources())
	l.add(6, 4, Panel{Type: "text", Title: "Local networks left out",
		Options: map[string]any{"mode": "markdown", "content": localNote(o)}})

	p := sqlPanel("timeseries", "Alerts over time by level",
		"Alerts per interval, stacked by rule level. The time is the epoch in alertid (when analysisd saw the event), not ossec-dbd's insert time.",
		FormatTimeSeries, q.alertsOverTime())
	p.FieldConfig = fieldConfig("short", timeseriesCustom(true, true))
	p.Options = timeseriesOptions()
	p.Interval = "1m"
	l.add(24, 9, p)

	p = sqlPanel("table", "Top sources (internet)",
		"Source addresses with the most alerts in the range, local networks excluded. Choose one in the source variable to drill down below.",
		FormatTable, q.topSources())
	p.FieldConfig = fieldConfig("none", tableCustom(), append(dateColumns("first_seen", "last_seen"), gaugeColumn("alerts"))...)
	p.Options = tableOptions()
	l.add(12, 12, p)

	p = sqlPanel("table", "Top rules",
		"Rules with the most alerts. Names come from the signature table, which OSSEC stopped filling in 2.9: run \"rampart rules sync\" to fill it.",
		FormatTable, q.topRules())
	p.FieldConfig = fieldConfig("none", tableCustom(), append(dateColumns("first_seen", "last_seen"), gaugeColumn("alerts"), widthColumn("rule", 80))...)
	p.Options = tableOptions()
	l.add(12, 12, p)

	p = sqlPanel("table", "Alerts by agent",
		"Alerts per agent (the name in \"(agent) ip->path\") or manager-local host, per manager.",
		FormatTable, q.alertsByAgent())
	p.FieldConfig = fieldConfig("none", tableCustom(), gaugeColumn("alerts"))
	p.Options = tableOptions()
	l.add(8, 10, p)

	p = sqlPanel("table", "Top locations", "Alerts per location: agent or host, and log file or check.",
		FormatTable, q.topLocations())
	p.FieldConfig = fieldConfig("none", tableCustom(), gaugeColumn("alerts"))
	p.Options = tableOptions()
	l.add(16, 10, p)

	p = sqlPanel("table", "Latest alerts of level ≥ $min_level",
		"The newest alerts at or above the chosen level, with rule name, source, location and the start of the log.",
		FormatTable, q.latestHigh())
	p.FieldConfig = fieldConfig("none", tableCustom(), widthColumn("time", 170), widthColumn("level", 60), widthColumn("rule", 70))
	p.Options = tableOptions()
	l.add(24, 12, p)

	l.row("Source $source")
	p = sqlPanel("timeseries", "Alerts from $source over time", "The chosen source's alerts per interval, by rule.",
		FormatTimeSeries, q.sourceOverTime())
	p.FieldConfig = fieldConfig("short", timeseriesCustom(true, true))
	p.Options = timeseriesOptions()
	p.Interval = "1m"
	l.add(24, 8, p)

	p = sqlPanel("table", "Rules hit by $source", "The chosen source's alerts by rule.", FormatTable, q.sourceRules())
	p.FieldConfig = fieldConfig("none", tableCustom(), append(dateColumns("first_seen", "last_seen"), widthColumn("rule", 70))...)
	p.Options = tableOptions()
	l.add(10, 10, p)

	p = sqlPanel("table", "Alerts from $source", "The chosen source's newest alerts.", FormatTable, q.sourceAlerts())
	p.FieldConfig = fieldConfig("none", tableCustom(), widthColumn("time", 170), widthColumn("level", 60), widthColumn("rule", 70))
	p.Options = tableOptions()
	l.add(14, 10, p)

	ds := o.mysql()
	vars := []Variable{
		datasourceVar("ossecdb", "OSSEC database", "mysql", ds),
		{
			Type: "custom", Name: "min_level", Label: "Min level", Query: "7,10,12,15",
			Description: "Lowest rule level in the level panels.",
			Current:     Current{Selected: true, Text: "10", Value: "10"},
			Options: []Option{
				{Text: "7", Value: "7"}, {Selected: true, Text: "10", Value: "10"},
				{Text: "12", Value: "12"}, {Text: "15", Value: "15"},
			},
		},
		{
			Type: "query", Name: "source", Label: "Source",
			Description: "The source address the drill-down shows: the busiest internet sources in the range, or any address typed in.",
			Datasource:  &DataSourceRef{Type: "mysql", UID: "${ossecdb}"},
			Query:       q.sourceVariable(), Definition: q.sourceVariable(),
			Refresh: 2, Sort: 0, AllowCustomValue: true,
			Current: Current{}, Options: []Option{},
		},
	}
	desc := "OSSEC alerts from the ossec-dbd database (" + o.Schema.String() + " layout), written by rampart grafana export. " +
		"Alert times come from alertid. Local networks left out of the sources: " + localList(o.LocalNetworks)
	if o.LocalDefault {
		desc += " (Rampart's defaults: no local_networks configured)"
	}
	desc += "."
	return newDashboard(OSSECAlertsUID, "OSSEC alerts", desc, []string{"rampart", "ossec"}, vars, l.panels)
}

// localNote is the markdown of the "Local networks left out" panel.
func localNote(o Options) string {
	var b strings.Builder
	if o.LocalDefault {
		b.WriteString("No `local_networks` configured: Rampart's **defaults** are left out of the sources:\n\n")
	} else {
		b.WriteString("Rampart's `local_networks`, left out of the sources:\n\n")
	}
	if len(o.LocalNetworks) == 0 {
		b.WriteString("(none)\n")
	}
	for _, p := range strings.Split(localList(o.LocalNetworks), ", ") {
		if p != "" {
			b.WriteString("`" + p + "` ")
		}
	}
	b.WriteString("\n\nExport again (rampart grafana export) after changing them.")
	return b.String()
}

// Rampart is the "Rampart" dashboard on the server's Prometheus series
// (internal/server/metrics.go).
func Rampart(o Options) Dashboard {
	var l layout
	ds := &DataSourceRef{Type: "prometheus", UID: "${prometheus}"}
	prom := func(typ, title, desc, unit string, custom map[string]any, targets ...Target) Panel {
		for i := range targets {
			targets[i].RefID = string(rune('A' + i))
			targets[i].Datasource = ds
			if !targets[i].Instant {
				targets[i].Range = true
			}
		}
		p := Panel{Type: typ, Title: title, Description: desc, Datasource: ds, Targets: targets,
			FieldConfig: fieldConfig(unit, custom)}
		switch typ {
		case "timeseries":
			p.Options = timeseriesOptions()
		case "stat":
			p.Options = statOptions()
		case "bargauge":
			p.Options = map[string]any{
				"displayMode": "basic", "orientation": "horizontal", "showUnfilled": true, "valueMode": "color",
				"reduceOptions": map[string]any{"calcs": []string{"lastNotNull"}, "fields": "", "values": false},
				"namePlacement": "auto", "sizing": "auto", "minVizHeight": 16, "minVizWidth": 8, "maxVizHeight": 300,
			}
		}
		return p
	}
	line := timeseriesCustom(false, false)
	bars := timeseriesCustom(true, true)

	l.add(6, 4, prom("stat", "Server up", "1 when Prometheus' last scrape of the server worked.", "none", nil,
		Target{Expr: `min(up{job=~"$job"})`, Instant: true}))
	l.add(6, 4, prom("stat", "List version", "The block list version the server publishes.", "none", nil,
		Target{Expr: `max(rampart_server_list_version{job=~"$job"})`, Instant: true}))
	l.add(6, 4, prom("stat", "Agents behind", "Agents whose applied list is not the current version.", "none", nil,
		Target{Expr: `count(max by (agent) (rampart_server_agent_applied_version{job=~"$job"}) < scalar(max(rampart_server_list_version{job=~"$job"}))) or vector(0)`, Instant: true}))
	l.add(6, 4, prom("stat", "Held long polls", "Agents' change requests the server holds open now.", "none", nil,
		Target{Expr: `sum(rampart_server_long_polls{job=~"$job"})`, Instant: true}))

	l.add(12, 8, prom("timeseries", "Decisions by origin", "Decisions made per interval: policy, manual, federation…", "short", bars,
		Target{Expr: `sum by (origin) (increase(rampart_server_decisions_total{job=~"$job"}[$__rate_interval]))`, LegendFormat: "{{origin}}"}))
	l.add(12, 8, prom("timeseries", "Signals per second by sensor", "New signals accepted from each sensor.", "ops", line,
		Target{Expr: `sum by (sensor) (rate(rampart_server_signals_total{job=~"$job"}[$__rate_interval]))`, LegendFormat: "{{sensor}}"}))

	l.add(12, 8, prom("timeseries", "List version per agent", "The list version each agent reports in place, against the server's current version.", "none", line,
		Target{Expr: `max by (agent) (rampart_server_agent_applied_version{job=~"$job"})`, LegendFormat: "{{agent}}"},
		Target{Expr: `max(rampart_server_list_version{job=~"$job"})`, LegendFormat: "current"}))
	l.add(12, 8, prom("bargauge", "Versions behind, per agent", "How many list versions each agent lags behind the current one (0: up to date).", "none", nil,
		Target{Expr: `scalar(max(rampart_server_list_version{job=~"$job"})) - max by (agent) (rampart_server_agent_applied_version{job=~"$job"})`, LegendFormat: "{{agent}}", Instant: true}))

	l.add(12, 8, prom("timeseries", "Apply latency", "How long agents take to apply a list (reported by the agents).", "s", line,
		Target{Expr: `histogram_quantile(0.5, sum by (le) (rate(rampart_server_agent_apply_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))`, LegendFormat: "p50"},
		Target{Expr: `histogram_quantile(0.95, sum by (le) (rate(rampart_server_agent_apply_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))`, LegendFormat: "p95"}))
	l.add(12, 8, prom("timeseries", "Sensor lag",
		"Time from an alert to its signal reaching the server, 95th percentile per sensor; and seconds since each sensor last sent a new signal (to within a minute), which grows when a sensor stops.", "s", line,
		Target{Expr: `histogram_quantile(0.95, sum by (sensor, le) (rate(rampart_server_signal_lag_seconds_bucket{job=~"$job"}[$__rate_interval])))`, LegendFormat: "{{sensor}} p95"},
		Target{Expr: `time() - max by (sensor) (last_over_time((timestamp(increase(rampart_server_signals_total{job=~"$job"}[2m]) > 0))[1d:1m]))`, LegendFormat: "{{sensor}} quiet for"}))

	l.add(12, 8, prom("timeseries", "Errors", "Server errors (5xx) by endpoint, and refused requests by reason.", "reqps", line,
		Target{Expr: `sum by (endpoint, code) (rate(rampart_server_requests_total{job=~"$job", code=~"5.."}[$__rate_interval]))`, LegendFormat: "{{endpoint}} {{code}}"},
		Target{Expr: `sum by (reason) (rate(rampart_server_auth_failures_total{job=~"$job"}[$__rate_interval]))`, LegendFormat: "refused: {{reason}}"}))
	l.add(12, 8, prom("timeseries", "Request latency p95", "95th percentile of request durations by endpoint; long polls (changes) are left out, as they wait on purpose.", "s", line,
		Target{Expr: `histogram_quantile(0.95, sum by (endpoint, le) (rate(rampart_server_request_duration_seconds_bucket{job=~"$job", endpoint!="changes"}[$__rate_interval])))`, LegendFormat: "{{endpoint}}"}))

	vars := []Variable{
		datasourceVar("prometheus", "Prometheus", "prometheus", o.prometheus()),
		{
			Type: "query", Name: "job", Label: "Job", Description: "The Prometheus job that scrapes the Rampart server.",
			Datasource: &DataSourceRef{Type: "prometheus", UID: "${prometheus}"},
			Query:      "label_values(rampart_server_list_version, job)", Definition: "label_values(rampart_server_list_version, job)",
			Refresh: 1, Sort: 1,
			Current: Current{Selected: true, Text: "rampart", Value: "rampart"}, Options: []Option{},
		},
	}
	return newDashboard(RampartUID, "Rampart", "The Rampart server: decisions, block list versions, agents, sensors and errors. Written by rampart grafana export.",
		[]string{"rampart"}, vars, l.panels)
}
