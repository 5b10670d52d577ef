package summarycmd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/cli"
)

func rampart(t *testing.T, args ...string) string {
	t.Helper()
	var o, e bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	if code := cli.Main(ctx, args, cli.Stdio{In: strings.NewReader(""), Out: &o, Err: &e}); code != 0 {
		t.Fatalf("rampart %s: exit %d\n%s", strings.Join(args, " "), code, e.String())
	}
	return o.String()
}

type source struct {
	IP        string    `json:"ip"`
	Count     int64     `json:"count"`
	FirstSeen time.Time `json:"first_seen"`
}

// TestBackendsAgree checks that the same generated alerts give the same
// summary from alerts.log, alerts.json and the store, and that what the
// summary says adds up.
func TestBackendsAgree(t *testing.T) {
	dir := t.TempDir()
	rampart(t, "sample", "--out", dir, "--alerts", "6000", "--days", "20")
	logFile, jsonFile := filepath.Join(dir, "alerts.log"), filepath.Join(dir, "alerts.json")
	store := filepath.Join(dir, "store.db")
	rampart(t, "import", "--store", store, "--progress", "never", logFile)
	backends := [][]string{{"--alerts", logFile}, {"--alerts", jsonFile}, {"--store", store}}
	queries := [][]string{
		{"--since", "2026-10-08", "--until", "2026-10-15"},
		{"--since", "2026-10-01", "--until", "2026-10-21"},
		{"--since", "2026-10-10T13:07:01Z", "--until", "2026-10-12T01:00:00Z", "--scope", "all", "--limit", "3"},
		{"--since", "2026-10-05T06:00:00Z", "--until", "2026-10-19T18:00:00Z", "--scope", "local", "--level", "5"},
		{"--since", "2026-10-12", "--until", "2026-10-20", "--rule", "5710", "--v4-prefix", "16"},
	}
	for _, q := range queries {
		var first string
		for i, b := range backends {
			got := rampart(t, append(append([]string{"summary", "--format", "json"}, b...), q...)...)
			if i == 0 {
				first = got
				continue
			}
			if diff := gocmp.Diff(first, got); diff != "" {
				t.Errorf("%v differs from %v (-alerts.log +%s):\n%s", q, backends[0], b[len(b)-1], diff)
			}
		}
	}

	var s struct {
		Totals struct {
			Alerts int64 `json:"alerts"`
		} `json:"totals"`
		ByLevel    []struct{ Count int64 } `json:"by_level"`
		ByRule     []struct{ Count int64 } `json:"by_rule"`
		ByAgent    []struct{ Count int64 } `json:"by_agent"`
		NewSources []source                `json:"new_sources"`
	}
	out := rampart(t, "summary", "--format", "json", "--store", store, "--since", "2026-10-08", "--until", "2026-10-15", "--limit", "1000")
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	for name, parts := range map[string][]struct{ Count int64 }{"level": s.ByLevel, "rule": s.ByRule, "agent": s.ByAgent} {
		var n int64
		for _, p := range parts {
			n += p.Count
		}
		if n != s.Totals.Alerts || n == 0 {
			t.Errorf("by %s: %d alerts, totals say %d", name, n, s.Totals.Alerts)
		}
	}
	since := time.Date(2026, 10, 8, 0, 0, 0, 0, time.UTC)
	if len(s.NewSources) == 0 {
		t.Error("no new sources in the second week")
	}
	for _, src := range s.NewSources {
		if src.FirstSeen.Before(since) {
			t.Errorf("new source %s first seen %s, before the period", src.IP, src.FirstSeen)
		}
		// Its whole history starts in the period: the timeline before it is empty.
		if tl := rampart(t, "timeline", "--store", store, "--ip", src.IP, "--until", "2026-10-08", "--format", "csv"); strings.Count(tl, "\n") > 1 {
			t.Errorf("new source %s has alerts before the period:\n%s", src.IP, tl)
		}
	}
}
