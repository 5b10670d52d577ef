package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/federation/peers"
	"github.com/rampart-ids/rampart/internal/ossec/ossecconf"
	"github.com/rampart-ids/rampart/internal/policy"
)

const deployDir = "../../deploy"

// TestDeployPolicy checks that the sample policy loads and spells out the
// built-in default exactly, as its header says.
func TestDeployPolicy(t *testing.T) {
	p, err := policy.Load(filepath.Join(deployDir, "policy.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(policy.Default(), p); diff != "" {
		t.Errorf("deploy/policy.toml differs from policy.Default() (-default +file):\n%s", diff)
	}
}

// TestDeployPeers checks that the sample peers file loads.
func TestDeployPeers(t *testing.T) {
	c, err := peers.Load(filepath.Join(deployDir, "peers.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Peers) != 2 || len(c.Lists) != 2 {
		t.Errorf("deploy/peers.toml: %d peers and %d lists, want 2 and 2", len(c.Peers), len(c.Lists))
	}
}

// TestDeployActiveResponse checks the OSSEC snippet with Rampart's own
// ossec.conf reader and that it agrees with the wrapper script.
func TestDeployActiveResponse(t *testing.T) {
	path := filepath.Join(deployDir, "ossec", "ossec.conf.xml")
	c, probs, err := ossecconf.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		t.Errorf("ossec.conf.xml: %v", p)
	}
	cmd, ok := c.Commands["rampart"]
	if !ok || cmd.Executable != "rampart-ar.sh" || !cmd.ExpectsSrcIP() || cmd.TimeoutAllowed {
		t.Errorf("command rampart = %+v, want rampart-ar.sh expecting srcip, no timeout", cmd)
	}
	if len(c.Responses) != 1 || c.Responses[0].Command != "rampart" || c.Responses[0].Location != "server" || c.Responses[0].Level != 10 {
		t.Errorf("responses = %+v, want one on the server at level 10", c.Responses)
	}
	script, err := os.ReadFile(filepath.Join(deployDir, "ossec", "rampart-ar.sh"))
	if err != nil {
		t.Fatal(err)
	}
	// The script reports the level the response fires at.
	if !bytes.Contains(script, []byte("RAMPART_AR_LEVEL=${RAMPART_AR_LEVEL:-10}")) {
		t.Error("rampart-ar.sh does not default to level 10, the snippet's <level>")
	}
	if sh, err := exec.LookPath("sh"); err == nil {
		if out, err := exec.CommandContext(t.Context(), sh, "-n", filepath.Join(deployDir, "ossec", "rampart-ar.sh")).CombinedOutput(); err != nil {
			t.Errorf("sh -n rampart-ar.sh: %v\n%s", err, out)
		}
	}
}

// TestDeploySystemdUnits checks the units with systemd-analyze verify, the
// rampart path pointing at a real executable (verify checks it exists).
// verify reports unknown keys and bad values on stderr with exit status 0,
// so any output fails the test.
func TestDeploySystemdUnits(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		// Not an engine the CI image must have: the units are plain
		// text read by systemd only.
		t.Skip("systemd-analyze not found: the unit files are not verified on this machine (CI may lack systemd)")
	}
	units, err := filepath.Glob(filepath.Join(deployDir, "systemd", "*.service"))
	if err != nil || len(units) != 3 {
		t.Fatalf("units = %v, %v; want the server, sensor and agent units", units, err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var args []string
	for _, u := range units {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("ExecStart=/usr/local/bin/rampart ")) {
			t.Errorf("%s: ExecStart does not run /usr/local/bin/rampart", u)
		}
		for _, want := range []string{"DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict"} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("%s: no %s", u, want)
			}
		}
		dst := filepath.Join(dir, filepath.Base(u))
		if err := os.WriteFile(dst, bytes.ReplaceAll(b, []byte("/usr/local/bin/rampart"), []byte(self)), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, dst)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, analyze, append([]string{"verify"}, args...)...).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, strings.TrimSpace(string(out)))
	}
}
