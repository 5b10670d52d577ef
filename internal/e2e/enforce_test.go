package e2e

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/testenv/netns"
)

// buildRampart builds the real binary once per test.
func buildRampart(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "rampart")
	cmd := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "../../cmd/rampart")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestEnforceNftInNamespace is the countermeasures acceptance check: rampart
// run inside a network namespace ("ip netns exec") blocks the listed sources
// of that namespace for real, IPv4 and IPv6, and "enforce remove" undoes it.
func TestEnforceNftInNamespace(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test needs databases, netns and time; skipped with -short")
	}
	lab := netns.New(t)
	bin := buildRampart(t)
	blocked4, blocked6 := netip.MustParseAddr("203.0.113.66"), netip.MustParseAddr("2001:db8:66::1")
	allowed4, allowed6 := netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("2001:db8:77::1")
	for _, a := range []netip.Addr{blocked4, blocked6, allowed4, allowed6} {
		lab.AddClientAddr(t, netip.PrefixFrom(a, a.BitLen()))
	}
	const port = 8443
	lab.Serve(t, port)
	dir := t.TempDir()
	list := filepath.Join(dir, "list.txt")
	// The /24 and /64 come from the same line each; the lab's own networks
	// (10.200.x, fd00:200:x) are local and must never be blocked.
	os.WriteFile(list, []byte("203.0.113.0/24\n2001:db8:66::1\n"+lab.ClientV4.String()+"\n"), 0o644)

	rampartIn := func(args ...string) string {
		t.Helper()
		full := append([]string{"netns", "exec", lab.Front, bin}, append(args, "--store", filepath.Join(dir, "s.db"))...)
		out, err := exec.CommandContext(t.Context(), "ip", full...).CombinedOutput()
		if err != nil {
			t.Fatalf("rampart %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	reach := func(src netip.Addr) bool {
		dst := lab.FrontV4
		if src.Is6() {
			dst = lab.FrontV6
		}
		return lab.Dial(src, netip.AddrPortFrom(dst, port), 400*time.Millisecond) == nil
	}
	check := func(stage string, want map[netip.Addr]bool) {
		t.Helper()
		for src, ok := range want {
			if got := reach(src); got != ok {
				t.Errorf("%s: connection from %s succeeded = %v, want %v", stage, src, got, ok)
			}
		}
	}
	all := func(v bool) map[netip.Addr]bool {
		return map[netip.Addr]bool{blocked4: v, blocked6: v, allowed4: true, allowed6: true, lab.ClientV4: true}
	}
	check("before", all(true))
	out := rampartIn("enforce", "apply", "--backend", "nft", "--from", list)
	t.Logf("apply: %s", out)
	check("after apply", all(false))
	if got := rampartIn("enforce", "status", "--backend", "nft"); !strings.Contains(got, "nft: 2 applied, 2 desired, in sync") {
		t.Errorf("status: %s", got)
	}
	rampartIn("enforce", "remove", "--backend", "nft")
	check("after remove", all(true))
}
