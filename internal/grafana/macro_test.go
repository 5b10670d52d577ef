package grafana_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/grafana"
)

func TestExpand(t *testing.T) {
	from := time.Date(2018, 4, 12, 18, 0, 0, 0, time.UTC) // 1523556000
	r := grafana.Range{From: from, To: from.Add(5 * time.Minute), Interval: time.Minute}
	old := grafana.Range{From: time.Date(1960, 2, 1, 7, 0, 0, 0, time.UTC), To: time.Date(1965, 2, 3, 8, 0, 0, 0, time.UTC), Interval: time.Hour}
	vars := map[string]string{"source": "o'x", "min_level": "10"}
	for _, tt := range []struct {
		name, in, want string
		r              *grafana.Range
	}{
		{"time", "select $__time(time_column)", "select UNIX_TIMESTAMP(time_column) as time_sec", nil},
		{"time in aggregate", "select min($__time(time_column))", "select min(UNIX_TIMESTAMP(time_column) as time_sec)", nil},
		{"timeEpoch", "select $__timeEpoch(c)", "select UNIX_TIMESTAMP(c) as time_sec", nil},
		{"timeFilter", "WHERE $__timeFilter(time_column)", "WHERE time_column BETWEEN FROM_UNIXTIME(1523556000) AND FROM_UNIXTIME(1523556300)", nil},
		{"timeFilter before 1970", "WHERE $__timeFilter(c)", "WHERE c BETWEEN DATE_ADD(FROM_UNIXTIME(0), INTERVAL -312915600 SECOND) AND FROM_UNIXTIME(-154886400)", &old},
		{"timeFilter without column", "WHERE $__timeFilter()", "WHERE  BETWEEN FROM_UNIXTIME(1523556000) AND FROM_UNIXTIME(1523556300)", nil},
		{"timeFrom timeTo", "$__timeFrom() $__timeTo()", "FROM_UNIXTIME(1523556000) FROM_UNIXTIME(1523556300)", nil},
		{"timeGroup", "GROUP BY $__timeGroup(time_column,'5m')", "GROUP BY UNIX_TIMESTAMP(time_column) DIV 300 * 300", nil},
		{"timeGroup spaces", "GROUP BY $__timeGroup(time_column , '5m')", "GROUP BY UNIX_TIMESTAMP(time_column) DIV 300 * 300", nil},
		{"timeGroup double quotes", `$__timeGroup(c,"1h")`, "UNIX_TIMESTAMP(c) DIV 3600 * 3600", nil},
		{"timeGroup days", "$__timeGroup(c,'1d')", "UNIX_TIMESTAMP(c) DIV 86400 * 86400", nil},
		{"timeGroup weeks", "$__timeGroup(c,'2w')", "UNIX_TIMESTAMP(c) DIV 1209600 * 1209600", nil},
		{"timeGroup fill NULL", "$__timeGroup(c,'5m', NULL)", "UNIX_TIMESTAMP(c) DIV 300 * 300", nil},
		{"timeGroup fill previous", "$__timeGroup(c,'5m', previous)", "UNIX_TIMESTAMP(c) DIV 300 * 300", nil},
		{"timeGroup fill value", "$__timeGroup(c,'5m', 0)", "UNIX_TIMESTAMP(c) DIV 300 * 300", nil},
		{"timeGroupAlias", "SELECT $__timeGroupAlias(c,'5m')", `SELECT UNIX_TIMESTAMP(c) DIV 300 * 300 AS "time"`, nil},
		{"unixEpochFilter", "select $__unixEpochFilter(time)", "select time >= 1523556000 AND time <= 1523556300", nil},
		{"unixEpochFilter qualified", "$__unixEpochFilter(t.epoch)", "t.epoch >= 1523556000 AND t.epoch <= 1523556300", nil},
		{"unixEpochNanoFilter", "$__unixEpochNanoFilter(n)", "n >= 1523556000000000000 AND n <= 1523556300000000000", nil},
		{"unixEpochNanoFrom To", "$__unixEpochNanoFrom() $__unixEpochNanoTo()", "1523556000000000000 1523556300000000000", nil},
		{"unixEpochFrom To", "select $__unixEpochFrom(), $__unixEpochTo() + 1", "select 1523556000, 1523556300 + 1", nil},
		{"unixEpochGroup", "$__unixEpochGroup(e,'5m')", "e DIV 300 * 300", nil},
		{"unixEpochGroup fraction", "$__unixEpochGroup(e,'500ms')", "e DIV 0.5 * 0.5", nil},
		{"unixEpochGroupAlias interval", "$__unixEpochGroupAlias(t.epoch, $__interval, 0)", `t.epoch DIV 60 * 60 AS "time"`, nil},
		{"interval", "$__interval $__interval_ms", "1m 60000", nil},
		{"interval hours", "$__interval", "1h", &old},
		{"variable default format", "x = '$source'", "x = 'o''x'", nil},
		{"variable braces", "x = '${source}'", "x = 'o''x'", nil},
		{"variable sqlstring", "x IN (${source:sqlstring})", "x IN ('o''x')", nil},
		{"variable raw", "${source:raw}", "o'x", nil},
		{"variable brackets", "[[min_level]]", "10", nil},
		{"unknown variable stays", "$nope ${nope}", "$nope ${nope}", nil},
		{"column named user", "SELECT a.user, `user` FROM alert a", "SELECT a.user, `user` FROM alert a", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rr := r
			if tt.r != nil {
				rr = *tt.r
			}
			got, err := grafana.Expand(tt.in, rr, vars)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Expand(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestExpandErrors(t *testing.T) {
	r := grafana.Range{From: time.Unix(1523556000, 0), To: time.Unix(1523556300, 0), Interval: time.Minute}
	for _, tt := range []struct{ in, want string }{
		{"$__nope(x)", "unknown macro __nope"},
		{"$__timeGroup(c)", "needs time column and interval"},
		{"$__timeGroup(c,'5x')", "error parsing interval"},
		{"$__timeGroup(c,'5m', sometimes)", "error parsing fill value sometimes"},
		{"$__unixEpochGroup(c)", "needs time column and interval"},
		{"SELECT user() FROM t", "not allowed"},
		{"SELECT 1, current_user", "not allowed"},
		{"show grants", "not allowed"},
		{"${source:json}", `unsupported format "json"`},
	} {
		_, err := grafana.Expand(tt.in, r, map[string]string{"source": "x"})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Expand(%q) = %v, want an error with %q", tt.in, err, tt.want)
		}
	}
}

func TestExpandIntervalFormat(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "1ms"}, {500 * time.Microsecond, "1ms"}, {20 * time.Millisecond, "20ms"}, {1500 * time.Millisecond, "1s"},
		{90 * time.Second, "1m"}, {2 * time.Hour, "2h"}, {25 * time.Hour, "1d"}, {400 * 24 * time.Hour, "1y"},
	} {
		got, err := grafana.Expand("$__interval", grafana.Range{Interval: tt.d}, nil)
		if err != nil || got != tt.want {
			t.Errorf("$__interval for %v = %q, %v; want %q", tt.d, got, err, tt.want)
		}
	}
}

// FuzzExpand feeds the dashboards' SQL and its mutations to Expand: it must
// not panic, must give the same answer twice, and must leave text without
// "$" alone.
func FuzzExpand(f *testing.F) {
	for _, d := range grafana.Dashboards(grafana.Options{}) {
		for _, p := range d.Panels {
			for _, tg := range p.Targets {
				f.Add(tg.RawSQL + tg.Expr)
			}
		}
	}
	f.Add("$__timeGroup(c,'5m', 0) $__unixEpochFilter() ${source:sqlstring} [[x:raw]] $__interval_msx")
	r := grafana.Range{From: time.Unix(1700000000, 0), To: time.Unix(1700003600, 0), Interval: time.Minute}
	vars := map[string]string{"source": "203.0.113.7", "min_level": "10"}
	f.Fuzz(func(t *testing.T, s string) {
		a, errA := grafana.Expand(s, r, vars)
		b, errB := grafana.Expand(s, r, vars)
		if a != b || (errA == nil) != (errB == nil) {
			t.Fatalf("Expand(%q) not deterministic", s)
		}
		if !strings.Contains(s, "$") && !strings.Contains(s, "[[") && errA == nil && a != s {
			t.Fatalf("Expand(%q) = %q: changed text without variables or macros", s, a)
		}
	})
}
