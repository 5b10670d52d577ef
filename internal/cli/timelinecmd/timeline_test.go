package timelinecmd_test

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

// rampart runs the real entry point and returns stdout; it fails the test on
// a non-zero exit.
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

type bucket struct {
	Start  time.Time        `json:"start"`
	Count  int64            `json:"count"`
	Levels map[string]int64 `json:"levels"`
}

// TestBackendsAgree checks that the same generated alerts give the same
// timelines from alerts.log, alerts.json and the store, for every interval,
// selection and time edge, and that the daily timeline of all alerts adds
// up to every generated alert.
func TestBackendsAgree(t *testing.T) {
	dir := t.TempDir()
	rampart(t, "sample", "--out", dir, "--alerts", "6000", "--days", "20")
	logFile, jsonFile := filepath.Join(dir, "alerts.log"), filepath.Join(dir, "alerts.json")
	store := filepath.Join(dir, "store.db")
	rampart(t, "import", "--store", store, "--progress", "never", logFile)
	busiest, _, _ := strings.Cut(strings.Split(rampart(t, "top", "--store", store, "--limit", "1", "--format", "csv"), "\n")[1], ",")
	backends := [][]string{{"--alerts", logFile}, {"--alerts", jsonFile}, {"--store", store}}
	queries := [][]string{
		{"--by", "day"},
		{"--by", "hour", "--since", "2026-10-03T05:17:11Z", "--until", "2026-10-05T13:00:01Z"},
		{"--by", "week", "--since", "2026-10-04T00:00:00Z", "--until", "2026-11-01"},
		{"--by", "day", "--scope", "internet", "--until", "2026-10-11T12:00:00Z"},
		{"--by", "day", "--scope", "local", "--level", "3"},
		{"--by", "week", "--scope", "all"},
		{"--by", "hour", "--ip", busiest, "--since", "2026-10-02", "--until", "2026-10-09"},
		{"--by", "day", "--rule", "5710", "--since", "2026-10-02T12:00:00Z", "--until", "2026-10-09T12:00:00Z"},
	}
	for _, q := range queries {
		var first []bucket
		for i, b := range backends {
			args := append(append([]string{"timeline", "--format", "json"}, b...), q...)
			var got []bucket
			if err := json.Unmarshal([]byte(rampart(t, args...)), &got); err != nil {
				t.Fatalf("%v: %v", args, err)
			}
			if i == 0 {
				first = got
				if len(got) == 0 {
					t.Errorf("%v: no buckets", args)
				}
				continue
			}
			if diff := gocmp.Diff(first, got); diff != "" {
				t.Errorf("%v differs from %v (-alerts.log +%s):\n%s", q, backends[0], b[len(b)-1], diff)
			}
		}
	}
	var all []bucket
	if err := json.Unmarshal([]byte(rampart(t, "timeline", "--format", "json", "--store", store)), &all); err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, b := range all {
		n += b.Count
	}
	if n != 6000 || len(all) != 20 {
		t.Errorf("store: %d alerts in %d days, want 6000 in 20", n, len(all))
	}
}
