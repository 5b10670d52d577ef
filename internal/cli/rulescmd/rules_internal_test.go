package rulescmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/alertdb"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/dbdload"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/ossecdbtest"
	"github.com/rampart-ids/rampart/internal/ossec/rules"
)

func factory(t *testing.T, stdin string) (*cmdutil.Factory, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var o, e bytes.Buffer
	f := &cmdutil.Factory{In: strings.NewReader(stdin), Out: &o, Err: &e, Now: time.Now, Getenv: func(string) string { return "" },
		StorePath: filepath.Join(t.TempDir(), "store.db")}
	t.Cleanup(func() { f.Close() })
	return f, &o, &e
}

// TestSyncPrompt answers the question a terminal gets: only "y" or "yes"
// writes.
func TestSyncPrompt(t *testing.T) {
	dsn, db := ossecdbtest.Schema(t, ossecdb.MySQL, dbdload.V3x)
	rows := func() int {
		var n int
		if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM signature").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	terminal := func() bool { return true }
	for _, answer := range []string{"", "n\n", "no\n", "yess\n"} {
		f, out, errOut := factory(t, answer)
		err := runSync(t.Context(), f, &SyncOptions{DB: dsn, RulesDir: "../../ossec/rules/testdata/rules", CanPrompt: terminal})
		if err == nil || err.Error() != "not confirmed: nothing written" || rows() != 0 || out.Len() != 0 {
			t.Errorf("answer %q: %v, %d rows, stdout %q", answer, err, rows(), out)
		}
		if !strings.Contains(errOut.String(), "signature  40 to insert") || !strings.HasSuffix(errOut.String(), "? [y/N] ") {
			t.Errorf("answer %q: the question on stderr:\n%s", answer, errOut)
		}
	}
	f, out, _ := factory(t, "Yes\n")
	if err := runSync(t.Context(), f, &SyncOptions{DB: dsn, RulesDir: "../../ossec/rules/testdata/rules", CanPrompt: terminal}); err != nil {
		t.Fatal(err)
	}
	if rows() != 40 || !strings.Contains(out.String(), "40 inserted") {
		t.Errorf("after yes: %d rows, %q", rows(), out)
	}
}

// TestRulesDirFromConfig reads ossec_dir/rules when --rules-dir is absent.
func TestRulesDirFromConfig(t *testing.T) {
	ossecDir := t.TempDir()
	if err := os.Mkdir(filepath.Join(ossecDir, "rules"), 0o755); err != nil {
		t.Fatal(err)
	}
	rule := `<group name="local,"><rule id="100001" level="3"><description>From the config's ossec_dir.</description></rule></group>`
	if err := os.WriteFile(filepath.Join(ossecDir, "rules", "local_rules.xml"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "rampart.toml")
	if err := os.WriteFile(cfg, []byte("ossec_dir = \""+ossecDir+"\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, out, errOut := factory(t, "")
	f.ConfigPath = cfg
	if err := runList(t.Context(), f, &ListOptions{Format: "table"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "100001  3      local_rules.xml:1  local   From the config's ossec_dir.") || errOut.Len() != 0 {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
	if _, err := os.Stat(f.StorePath); !os.IsNotExist(err) {
		t.Errorf("rules list created the store: %v", err)
	}
}

func TestMerge(t *testing.T) {
	defined := map[int]rules.Rule{
		5712: {ID: 5712, Level: 12, Description: "new", Groups: []string{"sshd"}, File: "/r/local_rules.xml", Line: 3},
		5716: {ID: 5716, Level: 5, Description: "SSHD authentication failed.", File: "/r/sshd_rules.xml", Line: 9},
		5700: {ID: 5700, Level: 0, Description: "grouped", File: "/r/sshd_rules.xml", Line: 2},
	}
	variants := []alertdb.RuleVariant{
		{RuleID: 5712, Level: 10, Description: "old", Groups: []string{"sshd"}},
		{RuleID: 5712, Level: 12, Description: "new", Groups: []string{"sshd"}},
		{RuleID: 5716, Level: 5, Description: "SSHD  authentication failed. "},
		{RuleID: 31104, Level: 6, Description: "first text"},
		{RuleID: 31104, Level: 7, Description: "newest text", Groups: []string{"web"}},
	}
	got := merge(defined, variants, true)
	want := []Rule{
		{RuleID: 5700, Level: 0, Description: "grouped", Groups: []string{}, File: "/r/sshd_rules.xml", Line: 2, Source: SourceRules},
		{RuleID: 5712, Level: 12, Description: "new", Groups: []string{"sshd"}, File: "/r/local_rules.xml", Line: 3, Source: SourceRules,
			Seen: []Variant{{10, "old", []string{"sshd"}}, {12, "new", []string{"sshd"}}}},
		{RuleID: 5716, Level: 5, Description: "SSHD authentication failed.", Groups: []string{}, File: "/r/sshd_rules.xml", Line: 9, Source: SourceRules,
			Seen: []Variant{{5, "SSHD  authentication failed. ", []string{}}}},
		{RuleID: 31104, Level: 7, Description: "newest text", Groups: []string{"web"}, Source: SourceAlerts,
			Seen: []Variant{{6, "first text", []string{}}, {7, "newest text", []string{"web"}}}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	seen := []string{"-", `level 10: "old"`, "same", `level 6: "first text"`}
	for i, r := range got {
		if s := seenText(r); s != seen[i] {
			t.Errorf("seenText(rule %d) = %q, want %q", r.RuleID, s, seen[i])
		}
	}
	if got := merge(defined, variants, false); got[1].Seen != nil {
		t.Errorf("without --seen: %+v", got[1])
	}
}
