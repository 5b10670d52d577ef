package ossecdb_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the reader apart from what it must not know: the writer
// it is tested against, and the store (readers never import it).
func TestDeps(t *testing.T) {
	out, err := exec.CommandContext(t.Context(), "go", "list", "-deps", "github.com/rampart-ids/rampart/internal/ossec/ossecdb").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, bad := range []string{"/internal/ossec/ossecdb/dbdload", "/internal/alertdb", "/internal/testenv", "/internal/cli"} {
			if strings.HasSuffix(dep, bad) || strings.Contains(dep, bad+"/") {
				t.Errorf("ossecdb imports %s", dep)
			}
		}
	}
}
