package archtest

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/rampart-ids/rampart"

type pkg struct {
	ImportPath string
	Deps       []string
	Standard   bool
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", "list", "-deps=false", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// isStd reports whether an import path belongs to the standard library.
func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func TestDependencyRules(t *testing.T) {
	pkgs := listPackages(t)
	if len(pkgs) < 5 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	rel := func(p string) string { return strings.TrimPrefix(p, module+"/") }
	// Domain packages: standard library, netipx and each other only.
	domain := map[string]bool{"internal/ossec": true, "internal/analytics": true, "internal/ipclass": true, "internal/blocklist": true}
	domainAllowed := func(dep string) bool {
		return isStd(dep) || dep == "go4.org/netipx" || domain[rel(dep)] || strings.HasPrefix(dep, "golang.org/x/")
	}
	for _, p := range pkgs {
		name := rel(p.ImportPath)
		for _, dep := range p.Deps {
			d := rel(dep)
			switch {
			case domain[name] && !domainAllowed(dep) && !strings.HasPrefix(dep, "internal/"):
				t.Errorf("%s imports %s: domain packages import only the standard library and netipx", name, dep)
			case strings.HasPrefix(name, "internal/ossec/") && !strings.HasSuffix(name, "_test") && d == "internal/alertdb":
				t.Errorf("reader %s imports the store", name)
			case dep == "github.com/spf13/cobra" && !strings.HasPrefix(name, "internal/cli") && name != "cmd/rampart":
				t.Errorf("%s imports cobra: only internal/cli may", name)
			case strings.HasPrefix(dep, module+"/") && isTestHelper(d) && !isTestHelper(name):
				t.Errorf("%s imports the test helper %s: only tests may", name, d)
			}
		}
	}
}

// isTestHelper reports whether a package exists for tests only.
func isTestHelper(rel string) bool {
	return strings.HasPrefix(rel, "internal/testenv") || strings.HasSuffix(rel, "test") && strings.HasPrefix(rel, "internal/") && !strings.HasSuffix(rel, "archtest")
}
