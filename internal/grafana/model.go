package grafana

// The dashboard model: the subset of Grafana's dashboard JSON (schema
// version SchemaVersion) that Rampart's dashboards use. Field names and
// shapes follow the JSON Grafana itself exports, so an import needs no
// migration.

// SchemaVersion is the dashboard schema version written: the one Grafana
// 10.4 and 11.x export, which every Grafana from 10.x on imports without
// migrating.
const SchemaVersion = 39

// Dashboard is one dashboard's JSON.
type Dashboard struct {
	// ID is always null: Grafana assigns it, and an id from another
	// instance would overwrite an unrelated dashboard.
	ID                   *int64      `json:"id"`
	UID                  string      `json:"uid"`
	Title                string      `json:"title"`
	Description          string      `json:"description,omitempty"`
	Tags                 []string    `json:"tags"`
	Timezone             string      `json:"timezone"`
	Editable             bool        `json:"editable"`
	GraphTooltip         int         `json:"graphTooltip"`
	FiscalYearStartMonth int         `json:"fiscalYearStartMonth"`
	LiveNow              bool        `json:"liveNow"`
	WeekStart            string      `json:"weekStart"`
	SchemaVersion        int         `json:"schemaVersion"`
	Version              int         `json:"version"`
	Refresh              string      `json:"refresh"`
	Time                 TimeRange   `json:"time"`
	Timepicker           struct{}    `json:"timepicker"`
	Templating           Templating  `json:"templating"`
	Annotations          Annotations `json:"annotations"`
	Links                []any       `json:"links"`
	Panels               []Panel     `json:"panels"`
}

// TimeRange is the dashboard's default time range, in Grafana's relative
// syntax ("now-7d").
type TimeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Templating holds the dashboard's variables.
type Templating struct {
	List []Variable `json:"list"`
}

// Annotations holds the built-in annotation query every dashboard has.
type Annotations struct {
	List []Annotation `json:"list"`
}

// Annotation is an annotation query.
type Annotation struct {
	BuiltIn    int            `json:"builtIn"`
	Datasource DataSourceRef  `json:"datasource"`
	Enable     bool           `json:"enable"`
	Hide       bool           `json:"hide"`
	IconColor  string         `json:"iconColor"`
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Target     map[string]any `json:"target,omitempty"`
}

// DataSourceRef names a data source by type and uid. The uid may be a
// variable ("${ossecdb}").
type DataSourceRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// GridPos places a panel on the 24-column grid.
type GridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

// Panel is a visualisation or a row.
type Panel struct {
	ID          int            `json:"id"`
	Type        string         `json:"type"`
	Title       string         `json:"title"`
	Description string         `json:"description,omitempty"`
	GridPos     GridPos        `json:"gridPos"`
	Datasource  *DataSourceRef `json:"datasource,omitempty"`
	Targets     []Target       `json:"targets,omitempty"`
	FieldConfig *FieldConfig   `json:"fieldConfig,omitempty"`
	Options     map[string]any `json:"options,omitempty"`
	// Interval is the panel's minimum $__interval.
	Interval string `json:"interval,omitempty"`
	// Collapsed and Panels are for rows only; an expanded row holds no
	// panels of its own (they follow it in the dashboard's list).
	Collapsed *bool    `json:"collapsed,omitempty"`
	Panels    *[]Panel `json:"panels,omitempty"`
}

// Target is one query of a panel: rawSql for MySQL, expr for Prometheus.
type Target struct {
	RefID      string         `json:"refId"`
	Datasource *DataSourceRef `json:"datasource,omitempty"`

	// MySQL.
	RawSQL     string `json:"rawSql,omitempty"`
	RawQuery   bool   `json:"rawQuery,omitempty"`
	Format     string `json:"format,omitempty"` // "table" or "time_series"
	EditorMode string `json:"editorMode,omitempty"`

	// Prometheus.
	Expr         string `json:"expr,omitempty"`
	LegendFormat string `json:"legendFormat,omitempty"`
	Range        bool   `json:"range,omitempty"`
	Instant      bool   `json:"instant,omitempty"`
}

// Query formats of SQL targets.
const (
	FormatTable      = "table"
	FormatTimeSeries = "time_series"
)

// FieldConfig is a panel's field defaults and per-field overrides.
type FieldConfig struct {
	Defaults  FieldDefaults `json:"defaults"`
	Overrides []Override    `json:"overrides"`
}

// FieldDefaults are the settings every field of a panel starts from.
type FieldDefaults struct {
	Unit     string         `json:"unit,omitempty"`
	Decimals *int           `json:"decimals,omitempty"`
	Min      *float64       `json:"min,omitempty"`
	Color    map[string]any `json:"color,omitempty"`
	Custom   map[string]any `json:"custom,omitempty"`
	Mappings []any          `json:"mappings"`
	// Thresholds color values (stat, bar gauge).
	Thresholds *Thresholds `json:"thresholds,omitempty"`
}

// Thresholds are a field's color steps.
type Thresholds struct {
	Mode  string `json:"mode"`
	Steps []Step `json:"steps"`
}

// Step is one threshold; the first has a null value (the base color).
type Step struct {
	Color string   `json:"color"`
	Value *float64 `json:"value"`
}

// Override changes the settings of the fields a matcher selects.
type Override struct {
	Matcher    Matcher    `json:"matcher"`
	Properties []Property `json:"properties"`
}

// Matcher selects fields, e.g. {"id": "byName", "options": "first_seen"}.
type Matcher struct {
	ID      string `json:"id"`
	Options any    `json:"options"`
}

// Property is one overridden setting.
type Property struct {
	ID    string `json:"id"`
	Value any    `json:"value"`
}

// Variable is a dashboard variable.
type Variable struct {
	Type        string         `json:"type"` // query, custom, datasource
	Name        string         `json:"name"`
	Label       string         `json:"label,omitempty"`
	Description string         `json:"description,omitempty"`
	Datasource  *DataSourceRef `json:"datasource,omitempty"`
	// Query is the SQL of a query variable, the comma-separated values of
	// a custom one, or the plugin id of a datasource variable.
	Query      any    `json:"query"`
	Definition string `json:"definition,omitempty"`
	// Refresh: 1 on dashboard load, 2 on time range change.
	Refresh int `json:"refresh"`
	// Sort: 0 keeps the query's order.
	Sort             int      `json:"sort"`
	Regex            string   `json:"regex"`
	Multi            bool     `json:"multi"`
	IncludeAll       bool     `json:"includeAll"`
	AllowCustomValue bool     `json:"allowCustomValue"`
	Hide             int      `json:"hide"`
	SkipURLSync      bool     `json:"skipUrlSync"`
	Current          Current  `json:"current"`
	Options          []Option `json:"options"`
}

// Current is a variable's selected value.
type Current struct {
	Selected bool   `json:"selected"`
	Text     string `json:"text"`
	Value    string `json:"value"`
}

// Option is one value a custom variable offers.
type Option struct {
	Selected bool   `json:"selected"`
	Text     string `json:"text"`
	Value    string `json:"value"`
}
