package rulescmd_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/cli"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/dbdload"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/ossecdbtest"
)

// rulesDir holds the real-format rules files of the rules package: 40
// rules in three files, local_rules.xml overwriting 5712.
const rulesDir = "../../ossec/rules/testdata/rules"

const nRules = 40

// rampart runs the real entry point in-process with stdin not a terminal.
func rampart(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	args = append([]string{"--store", filepath.Join(t.TempDir(), "store.db")}, args...)
	code = cli.Main(ctx, args, cli.Stdio{In: strings.NewReader(stdin), Out: &o, Err: &e})
	return o.String(), e.String(), code
}

func count(t *testing.T, db *sql.DB, q string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(t.Context(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func level(t *testing.T, db *sql.DB, rule int) int {
	t.Helper()
	return count(t, db, fmt.Sprintf("SELECT level FROM signature WHERE rule_id = %d", rule))
}

// TestSyncCommand runs "rules sync" against the real engines: refusal
// without consent, the dry run, the first sync, the second that changes
// nothing, a changed level, and the operator's own row left alone.
func TestSyncCommand(t *testing.T) {
	for _, d := range []ossecdb.Dialect{ossecdb.MySQL, ossecdb.Postgres} {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			dsn, db := ossecdbtest.Schema(t, d, dbdload.V3x)
			if _, err := db.ExecContext(t.Context(), "INSERT INTO signature (rule_id, level, description) VALUES (999001, 4, 'operator row')"); err != nil {
				t.Fatal(err)
			}
			sigs := func() int { return count(t, db, "SELECT COUNT(*) FROM signature") }

			// No terminal, no --yes: refused, nothing written.
			out, errOut, code := rampart(t, "y\n", "rules", "sync", "--db", dsn, "--rules-dir", rulesDir)
			if code != 1 || out != "" || !strings.Contains(errOut, "pass --yes to write") || sigs() != 1 {
				t.Fatalf("without --yes: exit %d, %d rows\nstdout %q\nstderr %q", code, sigs(), out, errOut)
			}

			// The dry run shows the plan and writes nothing.
			out, errOut, code = rampart(t, "", "rules", "sync", "--db", dsn, "--rules-dir", rulesDir, "--dry-run")
			for _, want := range []string{
				"signature  40 to insert, 0 to update, 0 unchanged\n",
				"left alone 1 rows of rules the rules files do not define: 999001\n",
				`  insert rule 1001 level 2 "File missing. Root access unrestricted."` + "\n",
				"  ... and 35 more inserts\n",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("dry run: no %q in\n%s", want, out)
				}
			}
			if code != 0 || errOut != "" || sigs() != 1 {
				t.Fatalf("dry run: exit %d, %d rows, stderr %q", code, sigs(), errOut)
			}

			// First sync inserts every rule.
			out, errOut, code = rampart(t, "", "rules", "sync", "--db", dsn, "--rules-dir", rulesDir, "--yes")
			if code != 0 || !regexp.MustCompile(`: signature: 40 inserted, 0 updated, 0 unchanged; category: \d+ added; signature_category_mapping: \d+ added; left alone 1 rows of rules the rules files do not define \(999001\)\n$`).MatchString(out) {
				t.Fatalf("first sync: exit %d\nstdout %q\nstderr %q", code, out, errOut)
			}
			if sigs() != nRules+1 || level(t, db, 5712) != 12 {
				t.Errorf("after the first sync: %d rows, 5712 at level %d", sigs(), level(t, db, 5712))
			}

			// Second sync: nothing to do, and no consent needed for that.
			out, _, code = rampart(t, "", "rules", "sync", "--db", dsn, "--rules-dir", rulesDir, "--yes")
			if code != 0 || !strings.HasPrefix(out, "signature is up to date with 40 rules from "+rulesDir+": nothing written; left alone 1 rows") {
				t.Errorf("second sync: exit %d, %q", code, out)
			}

			// The operator raises 5712 in local_rules.xml: one update.
			dir := t.TempDir()
			for _, name := range []string{"sshd_rules.xml", "web_rules.xml", "syslog_rules.xml", "local_rules.xml"} {
				data, err := os.ReadFile(filepath.Join(rulesDir, name))
				if err != nil {
					t.Fatal(err)
				}
				if name == "local_rules.xml" {
					data = bytes.Replace(data, []byte(`<rule id="5712" level="12"`), []byte(`<rule id="5712" level="13"`), 1)
				}
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			out, _, code = rampart(t, "", "rules", "sync", "--db", dsn, "--rules-dir", dir, "--dry-run")
			if code != 0 || !strings.Contains(out, "signature  0 to insert, 1 to update, 39 unchanged\n") || !strings.Contains(out, "  update rule 5712 level 12 → 13\n") {
				t.Errorf("dry run of the change: exit %d\n%s", code, out)
			}
			out, _, code = rampart(t, "", "rules", "sync", "--db", dsn, "--rules-dir", dir, "--yes")
			if code != 0 || !strings.Contains(out, ": signature: 0 inserted, 1 updated, 39 unchanged;") || level(t, db, 5712) != 13 {
				t.Errorf("sync of the change: exit %d, level %d, %q", code, level(t, db, 5712), out)
			}
			if n := count(t, db, "SELECT COUNT(*) FROM signature WHERE rule_id = 999001 AND level = 4 AND description = 'operator row'"); n != 1 || sigs() != nRules+1 {
				t.Errorf("the operator's row: %d, %d rows in all", n, sigs())
			}
		})
	}
}
