//go:build linux

package nft

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/vishvananda/netns"

	"github.com/rampart-ids/rampart/internal/enforce"
	"github.com/rampart-ids/rampart/internal/enforce/enforcetest"
	"github.com/rampart-ids/rampart/internal/goldentest"
	labns "github.com/rampart-ids/rampart/internal/testenv/netns"
)

// newLab returns a lab and an enforcer acting on its Front namespace.
func newLab(t testing.TB, opts Options) (*labns.Lab, *Enforcer) {
	t.Helper()
	l := labns.New(t)
	return l, newOn(t, l, opts)
}

// newOn returns an enforcer acting on l's Front namespace.
func newOn(t testing.TB, l *labns.Lab, opts Options) *Enforcer {
	t.Helper()
	h, err := netns.GetFromName(l.Front)
	if err != nil {
		t.Fatalf("open namespace %s: %v", l.Front, err)
	}
	t.Cleanup(func() { h.Close() })
	opts.NetNS = int(h)
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Shorter names for the shared helpers the other tests use.
var (
	entries  = enforcetest.Entries
	prefixEq = enforcetest.PrefixEq
)

// nftList runs `nft list table inet rampart` inside the namespace.
func nftList(t testing.TB, ns string) string {
	t.Helper()
	out, err := labns.Exec(t.Context(), ns, "nft", "list", "table", "inet", TableName)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return string(out)
}

// volatile hides what differs between runs: the lab's random addresses and
// the time an element has left.
var volatile = regexp.MustCompile(`expires [0-9hms]+`)

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	got = volatile.ReplaceAllString(got, "expires X")
	goldentest.Check(t, path, []byte(got))
}

func TestTraffic(t *testing.T) {
	for _, action := range []enforce.Action{enforce.Drop, enforce.Reject} {
		t.Run(action.String(), func(t *testing.T) {
			l := labns.New(t)
			newEnforcer := func(t *testing.T) enforce.Enforcer { return newOn(t, l, Options{Action: action}) }
			enforcetest.Conformance(t, l, newEnforcer, func(t *testing.T, stage string) {
				switch stage {
				case enforcetest.StageApplied:
					if action == enforce.Drop {
						golden(t, "small.golden", nftList(t, l.Front))
					}
				case enforcetest.StageRemoved:
					if out, err := labns.Exec(t.Context(), l.Front, "nft", "list", "ruleset"); err != nil || strings.Contains(string(out), TableName) {
						t.Errorf("after remove the ruleset still holds our table: %v\n%s", err, out)
					}
				}
			})
		})
	}
}
