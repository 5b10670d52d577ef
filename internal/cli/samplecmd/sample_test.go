package samplecmd

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/ossec/ossecconf"
)

// runSample runs "rampart sample" with args and returns the output
// directory.
func runSample(t *testing.T, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	cmd := New(&cmdutil.Factory{Out: &out, Err: &errb})
	cmd.SetArgs(append([]string{"--out", dir}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	if err := cmd.ExecuteContext(t.Context()); err != nil {
		t.Fatalf("sample %v: %v\n%s", args, err, errb.String())
	}
	return dir
}

// TestExamplesUpToDate checks that examples/ holds what "rampart sample"
// writes with its defaults (make sample regenerates it).
func TestExamplesUpToDate(t *testing.T) {
	dir := runSample(t)
	for _, name := range []string{"alerts.log", "alerts.json", "truth.json", "ossec.conf"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("examples/%s differs from what rampart sample writes (%d vs %d bytes); run make sample", name, len(want), len(got))
		}
	}
}

// TestOSSECConf checks the ossec.conf written beside the alerts with the
// same reader Rampart uses on a manager: it loads without a problem and
// blocks the returners' round-ending rules for the truth's durations.
func TestOSSECConf(t *testing.T) {
	dir := runSample(t, "--alerts", "3000", "--days", "3", "--seed", "5")
	conf, probs, err := ossecconf.Load(filepath.Join(dir, "ossec.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		t.Errorf("ossec.conf: %v", p)
	}
	if want := []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour, 24 * time.Hour}; !slices.Equal(conf.RepeatedOffenders, want) {
		t.Errorf("repeated_offenders %v, want %v", conf.RepeatedOffenders, want)
	}
	blocks := map[int]time.Duration{}
	for _, r := range []struct {
		id, level int
		groups    []string
	}{
		{5712, 10, []string{"syslog", "sshd", "authentication_failures"}},
		{5720, 10, []string{"syslog", "sshd", "authentication_failures"}},
		{31151, 10, []string{"web", "accesslog", "web_scan", "recon"}},
	} {
		d, ok := conf.Block(r.id, r.level, r.groups)
		if !ok {
			t.Errorf("rule %d blocks nothing", r.id)
		}
		blocks[r.id] = d
	}

	data, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tr struct {
		Sources []TruthSource `json:"sources"`
	}
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	returners := 0
	for _, s := range tr.Sources {
		if (s.Kind == "returner") != (s.BlockSeconds != 0) {
			t.Errorf("%s: kind %s with block_seconds %d", s.IP, s.Kind, s.BlockSeconds)
		}
		if s.Kind != "returner" {
			continue
		}
		returners++
		// The rule that ends each round is the returner's only one of
		// level 10.
		var want time.Duration
		for _, id := range []int{5712, 5720, 31151} {
			if s.Rules[id] > 0 {
				want = blocks[id]
			}
		}
		if got := time.Duration(s.BlockSeconds) * time.Second; got != want || got == 0 {
			t.Errorf("returner %s (rules %v): block_seconds %d, ossec.conf blocks for %v", s.IP, s.Rules, s.BlockSeconds, want)
		}
	}
	if returners != 2 {
		t.Errorf("%d returners in truth.json, want 2", returners)
	}
}
