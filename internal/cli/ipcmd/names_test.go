package ipcmd

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
)

// Rules without a description (ossec-dbd since 2.9) get their names from
// OSSEC's rules files; described ones keep what the alerts said.
func TestNameRules(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "ossec", "rules"), 0o755); err != nil {
		t.Fatal(err)
	}
	rulesXML := `<group name="syslog,sshd,">
  <rule id="5710" level="5">
    <if_sid>5700</if_sid>
    <description>Attempt to login using a non-existent user</description>
  </rule>
  <rule id="5716" level="5">
    <description>SSHD authentication failed.</description>
  </rule>
</group>
`
	if err := os.WriteFile(filepath.Join(dir, "ossec", "rules", "sshd_rules.xml"), []byte(rulesXML), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "rampart.toml")
	if err := os.WriteFile(cfg, []byte(`ossec_dir = "`+filepath.Join(dir, "ossec")+`"`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &cmdutil.Factory{ConfigPath: cfg, Getenv: func(string) string { return "" }}
	rep := analytics.SourceReport{ByRule: []analytics.RuleCount{
		{RuleID: 5710, Count: 3},
		{RuleID: 5716, Count: 2, Description: "as the alert said"},
		{RuleID: 9999, Count: 1},
	}}
	nameRules(f, &rep)
	want := []string{"Attempt to login using a non-existent user", "as the alert said", ""}
	for i, rc := range rep.ByRule {
		if rc.Description != want[i] {
			t.Errorf("rule %d: %q, want %q", rc.RuleID, rc.Description, want[i])
		}
	}
}
