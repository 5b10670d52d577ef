package ipcmd

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/alertdb"
	"github.com/rampart-ids/rampart/internal/cli/cadencecmd/cadencetest"
	"github.com/rampart-ids/rampart/internal/goldentest"
	"github.com/rampart-ids/rampart/internal/ingest"
)

// ossecConf is cadence's ossec.conf: 31151 blocks for an hour, other
// alerts of level ≥ 6 for 600 s, with a white_list.
const ossecConf = "../cadencecmd/testdata/ossec.conf"

// cadenceEnv is cadencetest's files with the planted alerts imported
// into the store, and runs "rampart ip" over them.
type cadenceEnv struct{ cadencetest.Env }

// newCadenceEnv writes the planted alerts and imports them into a store.
func newCadenceEnv(t *testing.T) cadenceEnv {
	t.Helper()
	e := cadenceEnv{cadencetest.NewEnv(t)}
	s, err := alertdb.Open(t.Context(), e.Store, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&ingest.Importer{Store: s}).ImportFile(t.Context(), e.Log); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e cadenceEnv) run(t *testing.T, args ...string) (string, string) {
	t.Helper()
	out, errOut, err := e.Run(t, New, args...)
	if err != nil {
		t.Fatalf("ip %v: %v\n%s", args, err, errOut)
	}
	return out, errOut
}

func decodeReport(t *testing.T, out string) Report {
	t.Helper()
	var r Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v in:\n%s", err, out)
	}
	return r
}

func TestCadenceJSON(t *testing.T) {
	e := newCadenceEnv(t)
	tests := []struct {
		name  string
		addr  string
		args  []string
		check func(t *testing.T, c *Cadence)
	}{
		{"600 s returner", cadencetest.Returner600.String(), []string{"--ossec-conf", ossecConf}, func(t *testing.T, c *Cadence) {
			var after int
			for _, b := range c.ReturnGaps {
				if b.AfterBlock {
					after += b.Count
					if b.MinSeconds != 600 || b.MaxSeconds == nil || *b.MaxSeconds != 660 {
						t.Errorf("after-block bucket %d–%v, want 600–660", b.MinSeconds, b.MaxSeconds)
					}
				}
			}
			if !c.Flagged || !c.EnoughData || *c.BlockSeconds != 600 || c.Returns != 11 || after != 11 || c.RecommendedBanSeconds != 1800 ||
				len(c.EpisodeList) != 12 || c.Episodes != 12 || c.EpisodeList[0].Alerts != 8 || c.ToleranceSeconds != 60 {
				t.Errorf("cadence %+v", c)
			}
			if !strings.Contains(c.BlocksFrom, "active responses of "+ossecConf) {
				t.Errorf("blocks_from %q", c.BlocksFrom)
			}
		}},
		{"3600 s returner", cadencetest.Returner3600.String(), []string{"--ossec-conf", ossecConf}, func(t *testing.T, c *Cadence) {
			if !c.Flagged || *c.BlockSeconds != 3600 || c.Returns != 7 || c.RecommendedBanSeconds != 7200 {
				t.Errorf("cadence %+v", c)
			}
		}},
		{"3600 s returner, default block", cadencetest.Returner3600.String(), nil, func(t *testing.T, c *Cadence) {
			if c.Flagged || *c.BlockSeconds != 600 || c.BlocksFrom != "the 600 s default for alerts of level ≥ 6" {
				t.Errorf("cadence %+v", c)
			}
		}},
		{"too few returns", cadencetest.Few.String(), nil, func(t *testing.T, c *Cadence) {
			if c.Flagged || c.EnoughData || c.Returns != 3 || c.RecommendedBanSeconds != 0 || c.ReturnsAfterBlock != 1 {
				t.Errorf("cadence %+v", c)
			}
		}},
		{"whitelisted", cadencetest.Whitelisted.String(), []string{"--ossec-conf", ossecConf}, func(t *testing.T, c *Cadence) {
			if !c.Exempt || c.Blocks != 0 || c.Returns != 0 || c.Flagged || len(c.ReturnGaps) != 0 || c.Episodes != 12 {
				t.Errorf("cadence %+v", c)
			}
		}},
		{"no alerts", "192.0.2.200", nil, func(t *testing.T, c *Cadence) {
			if c.Episodes != 0 || c.Blocks != 0 || c.EpisodeList == nil || c.ReturnGaps == nil {
				t.Errorf("cadence %+v", c)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{tt.addr, "--format", "json", "--limit", "3"}, tt.args...)
			fromFile, _ := e.run(t, append(args, "--alerts", e.Log)...)
			fromStore, _ := e.run(t, args...)
			rf, rs := decodeReport(t, fromFile), decodeReport(t, fromStore)
			if rf.Cadence == nil {
				t.Fatalf("no cadence in:\n%s", fromFile)
			}
			tt.check(t, rf.Cadence)
			if diff := cmp.Diff(rf, rs); diff != "" {
				t.Errorf("store differs from the file (-file +store):\n%s", diff)
			}
		})
	}
}

func TestCadenceText(t *testing.T) {
	e := newCadenceEnv(t)
	for _, tt := range []struct {
		name, addr string
		args       []string
	}{
		{"returner", cadencetest.Returner600.String(), []string{"--ossec-conf", ossecConf}},
		{"few", cadencetest.Few.String(), nil},
		{"whitelisted", cadencetest.Whitelisted.String(), []string{"--ossec-conf", ossecConf}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut := e.run(t, append([]string{tt.addr, "--alerts", e.Log, "--limit", "1"}, tt.args...)...)
			goldentest.Check(t, filepath.Join("testdata", "cadence-"+tt.name+".golden"), []byte(out))
			if tt.args == nil && !strings.Contains(errOut, "using the 600 s default") {
				t.Errorf("stderr lacks the default:\n%s", errOut)
			}
		})
	}
}
