package grafana

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Range is what Grafana sends with a panel's query: the dashboard's time
// range and the panel's interval ($__interval).
type Range struct {
	From, To time.Time
	Interval time.Duration
}

// Expand returns sql as Grafana's MySQL data source runs it for the range r
// and the dashboard variables vars, in Grafana's order:
//
//  1. the browser replaces dashboard variables: $name, ${name} and
//     ${name:format} (formats: sqlstring, raw; the default doubles single
//     quotes, as Grafana's SQL data sources do for a single value) and the
//     built-ins $__interval and $__interval_ms; unknown names stay;
//  2. the server replaces $__interval_ms, $__interval, $__unixEpochFrom()
//     and $__unixEpochTo();
//  3. the MySQL macro engine refuses queries that call user(),
//     current_user, session_user(), system_user() or SHOW GRANTS, then
//     replaces every $__macro(args) (args split at commas, spaces
//     trimmed): $__time, $__timeEpoch, $__timeFilter, $__timeFrom,
//     $__timeTo, $__timeGroup, $__timeGroupAlias, $__unixEpochFilter,
//     $__unixEpochNanoFilter, $__unixEpochNanoFrom, $__unixEpochNanoTo,
//     $__unixEpochGroup, $__unixEpochGroupAlias. An unknown macro is an
//     error.
//
// Interval units d and w are fixed lengths; M and y, which Grafana counts
// from the wall clock, are counted back from r.To.
func Expand(sql string, r Range, vars map[string]string) (string, error) {
	sql, err := replaceVariables(sql, r, vars)
	if err != nil {
		return "", err
	}
	sql = strings.ReplaceAll(sql, "$__interval_ms", strconv.FormatInt(r.Interval.Milliseconds(), 10))
	sql = strings.ReplaceAll(sql, "$__interval", formatInterval(r.Interval))
	sql = strings.ReplaceAll(sql, "$__unixEpochFrom()", strconv.FormatInt(r.From.UTC().Unix(), 10))
	sql = strings.ReplaceAll(sql, "$__unixEpochTo()", strconv.FormatInt(r.To.UTC().Unix(), 10))
	if restricted.MatchString(sql) {
		return "", errors.New("expand grafana macros: show grants, session_user(), current_user(), system_user() or user() not allowed in query")
	}
	var macroErr error
	sql = macroRE.ReplaceAllStringFunc(sql, func(m string) string {
		g := macroRE.FindStringSubmatch(m)
		args := strings.Split(g[2], ",")
		for i := range args {
			args[i] = strings.Trim(args[i], " ")
		}
		out, err := macro(r, g[1], args)
		if err != nil {
			if macroErr == nil {
				macroErr = fmt.Errorf("expand grafana macros: %s: %w", m, err)
			}
			return "macro_error()"
		}
		return out
	})
	if macroErr != nil {
		return "", macroErr
	}
	return sql, nil
}

// macroRE is the MySQL macro engine's pattern: the arguments end at the
// first ")", so an argument can never be an expression with parentheses.
var macroRE = regexp.MustCompile(`\$([_a-zA-Z0-9]+)\(([^\)]*)\)`)

// restricted is what the MySQL data source refuses to run.
var restricted = regexp.MustCompile(`(?im)([\s]*show[\s]+grants|[\s,]session_user\([^\)]*\)|[\s,]current_user(\([^\)]*\))?|[\s,]system_user\([^\)]*\)|[\s,]user\([^\)]*\))([\s,;]|$)`)

// variableRE is Grafana's template variable syntax: $name, [[name:fmt]],
// ${name:fmt}.
var variableRE = regexp.MustCompile(`\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}`)

func replaceVariables(sql string, r Range, vars map[string]string) (string, error) {
	var err error
	out := variableRE.ReplaceAllStringFunc(sql, func(m string) string {
		g := variableRE.FindStringSubmatch(m)
		name, format := g[1], ""
		switch {
		case g[2] != "":
			name, format = g[2], g[3]
		case g[4] != "":
			name, format = g[4], g[6]
		}
		var v string
		switch name {
		case "__interval":
			v = formatInterval(r.Interval)
		case "__interval_ms":
			v = strconv.FormatInt(r.Interval.Milliseconds(), 10)
		default:
			val, ok := vars[name]
			if !ok {
				return m // not a variable: Grafana leaves it
			}
			v = val
		}
		switch format {
		case "":
			return strings.ReplaceAll(v, "'", "''")
		case "raw":
			return v
		case "sqlstring":
			return "'" + strings.ReplaceAll(v, "'", "''") + "'"
		}
		if err == nil {
			err = fmt.Errorf("expand grafana variables: %s: unsupported format %q", m, format)
		}
		return m
	})
	return out, err
}

func macro(r Range, name string, args []string) (string, error) {
	from, to := r.From.UTC(), r.To.UTC()
	col := func() (string, error) {
		// Like Grafana: "$__timeFilter()" has one empty argument, so
		// only a call without arguments at all would fail, and the
		// pattern never yields one.
		if len(args) == 0 {
			return "", fmt.Errorf("missing time column argument for macro %v", name)
		}
		return args[0], nil
	}
	switch name {
	case "__time", "__timeEpoch":
		c, err := col()
		if err != nil {
			return "", err
		}
		return "UNIX_TIMESTAMP(" + c + ") as time_sec", nil
	case "__timeFilter":
		c, err := col()
		if err != nil {
			return "", err
		}
		if from.Unix() < 0 {
			return fmt.Sprintf("%s BETWEEN DATE_ADD(FROM_UNIXTIME(0), INTERVAL %d SECOND) AND FROM_UNIXTIME(%d)", c, from.Unix(), to.Unix()), nil
		}
		return fmt.Sprintf("%s BETWEEN FROM_UNIXTIME(%d) AND FROM_UNIXTIME(%d)", c, from.Unix(), to.Unix()), nil
	case "__timeFrom":
		return fmt.Sprintf("FROM_UNIXTIME(%d)", from.Unix()), nil
	case "__timeTo":
		return fmt.Sprintf("FROM_UNIXTIME(%d)", to.Unix()), nil
	case "__timeGroup", "__timeGroupAlias":
		if len(args) < 2 {
			return "", fmt.Errorf("macro %v needs time column and interval", name)
		}
		iv, err := parseInterval(strings.Trim(args[1], `'"`), r.To)
		if err != nil {
			return "", fmt.Errorf("error parsing interval %v", args[1])
		}
		if len(args) == 3 {
			if err := checkFill(args[2]); err != nil {
				return "", err
			}
		}
		s := fmt.Sprintf("UNIX_TIMESTAMP(%s) DIV %.0f * %.0f", args[0], iv.Seconds(), iv.Seconds())
		if name == "__timeGroupAlias" {
			s += ` AS "time"`
		}
		return s, nil
	case "__unixEpochFilter":
		c, err := col()
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s >= %d AND %s <= %d", c, from.Unix(), c, to.Unix()), nil
	case "__unixEpochNanoFilter":
		c, err := col()
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s >= %d AND %s <= %d", c, from.UnixNano(), c, to.UnixNano()), nil
	case "__unixEpochNanoFrom":
		return strconv.FormatInt(from.UnixNano(), 10), nil
	case "__unixEpochNanoTo":
		return strconv.FormatInt(to.UnixNano(), 10), nil
	case "__unixEpochGroup", "__unixEpochGroupAlias":
		if len(args) < 2 {
			return "", fmt.Errorf("macro %v needs time column and interval and optional fill value", name)
		}
		iv, err := parseInterval(strings.Trim(args[1], `'`), r.To)
		if err != nil {
			return "", fmt.Errorf("error parsing interval %v", args[1])
		}
		if len(args) == 3 {
			if err := checkFill(args[2]); err != nil {
				return "", err
			}
		}
		s := fmt.Sprintf("%s DIV %v * %v", args[0], iv.Seconds(), iv.Seconds())
		if name == "__unixEpochGroupAlias" {
			s += ` AS "time"`
		}
		return s, nil
	}
	return "", fmt.Errorf("unknown macro %v", name)
}

// checkFill accepts the fill argument of the group macros: NULL, previous
// or a number (Grafana fills missing intervals with it after the query).
func checkFill(s string) error {
	if s == "NULL" || s == "previous" {
		return nil
	}
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return fmt.Errorf("error parsing fill value %v", s)
	}
	return nil
}

var dateUnitRE = regexp.MustCompile(`^(\d+)([dwMy])$`)

// parseInterval reads Grafana's intervals: Go durations, or a count of
// days, weeks, months or years.
func parseInterval(s string, now time.Time) (time.Duration, error) {
	m := dateUnitRE.FindStringSubmatch(s)
	if m == nil {
		return time.ParseDuration(s)
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, err
	}
	now = now.UTC()
	switch m[2] {
	case "d":
		return time.Duration(n) * 24 * time.Hour, nil
	case "w":
		return time.Duration(n) * 7 * 24 * time.Hour, nil
	case "M":
		return now.AddDate(0, n, 0).Sub(now), nil
	}
	return now.AddDate(n, 0, 0).Sub(now), nil
}

// formatInterval writes an interval as Grafana does: the largest unit
// (y, d, h, m, s, ms) that fits at least once, truncated.
func formatInterval(d time.Duration) string {
	const day = 24 * time.Hour
	const year = 365 * day
	switch {
	case d >= year:
		return strconv.FormatInt(int64(d/year), 10) + "y"
	case d >= day:
		return strconv.FormatInt(int64(d/day), 10) + "d"
	case d >= time.Hour:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d >= time.Minute:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d >= time.Second:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	case d >= time.Millisecond:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + "ms"
	}
	return "1ms"
}

// Query is one SQL statement of a dashboard, expanded.
type Query struct {
	// Title is the panel's title with its variables replaced, or
	// "variable NAME"; Panel is the title as written.
	Title, Panel string
	// Format is the target's format ("table", "time_series"); "table"
	// for variables.
	Format string
	SQL    string
}

// SQLQueries expands every MySQL query of d, panels first in dashboard
// order, then the query variables, as Grafana would run them for r and
// vars.
func SQLQueries(d Dashboard, r Range, vars map[string]string) ([]Query, error) {
	var out []Query
	for _, p := range d.Panels {
		for _, t := range p.Targets {
			if t.RawSQL == "" {
				continue
			}
			s, err := Expand(t.RawSQL, r, vars)
			if err != nil {
				return nil, fmt.Errorf("panel %q: %w", p.Title, err)
			}
			out = append(out, Query{Title: interpolateText(p.Title, r, vars), Panel: p.Title, Format: t.Format, SQL: s})
		}
	}
	for _, v := range d.Templating.List {
		sql, ok := v.Query.(string)
		if v.Type != "query" || !ok || v.Datasource == nil || v.Datasource.Type != "mysql" {
			continue
		}
		s, err := Expand(sql, r, vars)
		if err != nil {
			return nil, fmt.Errorf("variable %q: %w", v.Name, err)
		}
		out = append(out, Query{Title: "variable " + v.Name, Panel: "variable " + v.Name, Format: FormatTable, SQL: s})
	}
	return out, nil
}

// interpolateText replaces the variables of a title with their values.
func interpolateText(s string, r Range, vars map[string]string) string {
	return variableRE.ReplaceAllStringFunc(s, func(m string) string {
		g := variableRE.FindStringSubmatch(m)
		if v, ok := vars[g[1]+g[2]+g[4]]; ok {
			return v
		}
		return m
	})
}
