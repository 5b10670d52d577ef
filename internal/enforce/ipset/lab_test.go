//go:build linux

package ipset

import (
	"bytes"
	"context"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/enforce"
	"github.com/rampart-ids/rampart/internal/enforce/enforcetest"
	labns "github.com/rampart-ids/rampart/internal/testenv/netns"
)

// newLab returns a lab and an enforcer acting on its Front namespace.
func newLab(t testing.TB, opts Options) (*labns.Lab, *Enforcer) {
	t.Helper()
	l := labns.New(t)
	return l, newOn(t, l, opts)
}

// newOn returns an enforcer acting on l's Front namespace (its commands
// run under `ip netns exec`).
func newOn(t testing.TB, l *labns.Lab, opts Options) *Enforcer {
	t.Helper()
	opts.NetNS = l.Front
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

func nsExec(t testing.TB, ns, name string, args ...string) string {
	t.Helper()
	out, err := labns.Exec(context.Background(), ns, name, args...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return string(out)
}

func TestTraffic(t *testing.T) {
	for _, action := range []enforce.Action{enforce.Drop, enforce.Reject} {
		t.Run(action.String(), func(t *testing.T) {
			t.Parallel()
			l := labns.New(t)
			newEnforcer := func(t *testing.T) enforce.Enforcer { return newOn(t, l, Options{Action: action}) }
			enforcetest.Conformance(t, l, newEnforcer, func(t *testing.T, stage string) {
				if stage != enforcetest.StageRemoved {
					return
				}
				if out := nsExec(t, l.Front, "ipset", "list", "-n"); strings.TrimSpace(out) != "" {
					t.Errorf("after remove sets are left: %q", out)
				}
				for _, cmd := range []string{"iptables", "ip6tables"} {
					if out := nsExec(t, l.Front, cmd, "-S"); strings.Contains(out, "rampart") {
						t.Errorf("after remove %s still holds our rules:\n%s", cmd, out)
					}
				}
			})
		})
	}
}

// countRules counts the rules in iptables -S output that use set.
func countRules(out, set string) int {
	n := 0
	for l := range strings.Lines(out) {
		if strings.Contains(l, "--match-set "+set+" ") {
			n++
		}
	}
	return n
}

// TestRulesOnce applies many times, with changes and option switches, and
// checks each chain holds exactly one of our rules per family.
func TestRulesOnce(t *testing.T) {
	t.Parallel()
	l, e := newLab(t, Options{})
	for i := range 6 {
		set := entries("198.51.100.0/24", "2001:db8::/64")
		if i%2 == 1 {
			set = entries("203.0.113.0/24")
		}
		if _, err := e.Apply(t.Context(), set); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ cmd, set string }{{"iptables", Set4Name}, {"ip6tables", Set6Name}} {
		if n := countRules(nsExec(t, l.Front, c.cmd, "-S", "INPUT"), c.set); n != 1 {
			t.Errorf("%s INPUT holds %d rules for %s after 6 applies, want 1", c.cmd, n, c.set)
		}
	}
	// A second copy added by hand is removed; a change of options
	// replaces the rule rather than adding one beside it.
	nsExec(t, l.Front, "iptables", "-A", "INPUT", "-m", "set", "--match-set", Set4Name, "src", "-j", "DROP")
	e2, err := New(Options{NetNS: l.Front, Action: enforce.Reject, Forward: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e2.Apply(t.Context(), entries("203.0.113.0/24")); err != nil {
		t.Fatal(err)
	}
	out := nsExec(t, l.Front, "iptables", "-S")
	if n := countRules(out, Set4Name); n != 2 || !strings.Contains(out, "-A INPUT -m set --match-set rampart4 src -j REJECT") ||
		!strings.Contains(out, "-A FORWARD -m set --match-set rampart4 src -j REJECT") {
		t.Errorf("after switching to reject+forward want one REJECT rule in INPUT and FORWARD, got %d:\n%s", n, out)
	}
	if err := e2.Remove(t.Context()); err != nil {
		t.Fatal(err)
	}
	if out := nsExec(t, l.Front, "iptables", "-S"); countRules(out, Set4Name) != 0 {
		t.Errorf("rules left after remove:\n%s", out)
	}
}

// TestExpiry checks that expiring entries get a timeout, that Status
// returns their exact absolute expiry (so a second Apply is a no-op), and
// that an expiry beyond ipset's maximum is capped but still reported.
func TestExpiry(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Second)
	l, e := newLab(t, Options{Now: func() time.Time { return now }})
	set := []enforce.Entry{
		{Prefix: netip.MustParsePrefix("198.51.100.0/24"), Expires: now.Add(time.Hour)},
		{Prefix: netip.MustParsePrefix("203.0.113.7/32")},
		{Prefix: netip.MustParsePrefix("2001:db8::/64"), Expires: now.Add(365 * 24 * time.Hour)},
		{Prefix: netip.MustParsePrefix("2001:db8:1::/64"), Expires: now.Add(-time.Second)}, // expired
	}
	if _, err := e.Apply(t.Context(), set); err != nil {
		t.Fatal(err)
	}
	got, err := e.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(set[:3], got, prefixEq); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	save6 := nsExec(t, l.Front, "ipset", "save", Set6Name)
	if !strings.Contains(save6, "timeout 2147483 ") && !strings.Contains(save6, "timeout 2147482 ") {
		t.Errorf("a one-year expiry should be capped at the maximum timeout:\n%s", save6)
	}
	// Later, by the clock, the same set is still no change.
	now = now.Add(10 * time.Minute)
	res, err := e.Apply(t.Context(), set)
	if err != nil || res.Added+res.Removed != 0 || res.Kept != 3 || res.Duration != 0 {
		t.Errorf("re-apply later: %+v, %v; want 3 kept, no restore", res, err)
	}
	// A changed expiry is a remove plus an add.
	set[0].Expires = now.Add(2 * time.Hour)
	if res, err := e.Apply(t.Context(), set); err != nil || res.Added != 1 || res.Removed != 1 || res.Kept != 2 {
		t.Errorf("expiry change: %+v, %v", res, err)
	}
}

// failingIPSet writes a wrapper around ipset(8) that breaks every restore
// stream just before its first swap (or at its end), the last moment a
// restore can fail with the new sets complete but not yet in place.
func failingIPSet(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ipset")
	script := `#!/bin/sh
if [ "$1" = restore ]; then
	sed -e '0,/^swap /s//bogus-line\n&/' -e '$a bogus-line' | ipset restore
	exit $?
fi
exec ipset "$@"
`
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFailureKeepsState makes the restore fail after the temporary sets
// are filled and checks the live sets, the rules and traffic are as before
// and no temporary set is left.
func TestFailureKeepsState(t *testing.T) {
	t.Parallel()
	l, e := newLab(t, Options{})
	const port = 8081
	l.Serve(t, port)
	a4 := netip.MustParsePrefix("198.51.100.10/32")
	b4 := netip.MustParsePrefix("198.51.100.20/32")
	for _, p := range []netip.Prefix{a4, b4} {
		l.AddClientAddr(t, p)
	}
	enforcetest.Warm(t, l, port, a4.Addr(), b4.Addr())
	before := entries(a4.String(), "2001:db8::/64")
	if _, err := e.Apply(t.Context(), before); err != nil {
		t.Fatal(err)
	}
	bad, err := New(Options{NetNS: l.Front, IPSet: failingIPSet(t)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Apply(t.Context(), entries(b4.String(), "2001:db8:1::/64"))
	if err == nil {
		t.Fatal("apply through the failing ipset succeeded")
	}
	if !strings.Contains(err.Error(), "previous sets kept") || !strings.Contains(err.Error(), "bogus-line") {
		t.Errorf("error should say the previous sets are kept and quote ipset: %v", err)
	}
	got, err := e.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, got, prefixEq); diff != "" {
		t.Errorf("status after failed apply (-want +got):\n%s", diff)
	}
	if names := nsExec(t, l.Front, "ipset", "list", "-n"); strings.Contains(names, TmpSuffix) {
		t.Errorf("temporary sets left after the failed apply:\n%s", names)
	}
	enforcetest.Check(t, l, port, "after failed apply", []enforcetest.Probe{
		{Name: "A v4", Src: a4.Addr(), Dst: l.FrontV4, OK: false}, {Name: "B v4", Src: b4.Addr(), Dst: l.FrontV4, OK: true},
	})

	// A failed first apply leaves nothing behind.
	l2, _ := newLab(t, Options{})
	bad2, err := New(Options{NetNS: l2.Front, IPSet: failingIPSet(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad2.Apply(t.Context(), before); err == nil {
		t.Fatal("first apply through the failing ipset succeeded")
	}
	if names := nsExec(t, l2.Front, "ipset", "list", "-n"); strings.TrimSpace(names) != "" {
		t.Errorf("sets left after a failed first apply:\n%s", names)
	}
}

// TestSwapAtomic applies two sets in turn while readers watch the live
// set: an address in both sets must test as a member at every moment (no
// empty or half-filled set is ever live), and every `ipset save` must show
// exactly the old or the new content. The readers' dumps also make the
// kernel refuse some swaps as busy, which Apply must retry.
func TestSwapAtomic(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	l, e := newLab(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	const n = 5000
	mk := func(off int) []enforce.Entry {
		out := []enforce.Entry{{Prefix: netip.MustParsePrefix("192.0.2.1/32")}}
		for i := range n {
			v := uint32(0x0b000000) + uint32(off+i)*2
			out = append(out, enforce.Entry{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 32)})
		}
		return out
	}
	sets := [2][]enforce.Entry{mk(0), mk(n)}
	in0 := map[netip.Prefix]bool{}
	for _, en := range sets[0] {
		in0[en.Prefix] = true
	}
	if _, err := e.Apply(t.Context(), sets[0]); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var tests, saves, bad atomic.Int64
	wg.Go(func() {
		for ctx.Err() == nil {
			if _, err := labns.Exec(ctx, l.Front, "ipset", "test", Set4Name, "192.0.2.1"); err != nil && ctx.Err() == nil {
				bad.Add(1)
				t.Errorf("192.0.2.1 missing from the live set: %v", err)
			}
			tests.Add(1)
		}
	})
	wg.Go(func() {
		for ctx.Err() == nil {
			out, err := labns.Exec(ctx, l.Front, "ipset", "save", Set4Name)
			if err != nil {
				continue
			}
			s, err := parseSave(out, Set4Name, time.Now())
			if err != nil {
				t.Errorf("%v", err)
				continue
			}
			saves.Add(1)
			if len(s.entries) != n+1 {
				bad.Add(1)
				t.Errorf("a save saw %d entries, want %d (old or new set whole)", len(s.entries), n+1)
				continue
			}
			inOld := 0
			for _, en := range s.entries {
				if in0[en.Prefix] {
					inOld++
				}
			}
			if inOld != n+1 && inOld != 1 {
				bad.Add(1)
				t.Errorf("a save mixes old and new content: %d of %d entries from the old set", inOld, n+1)
			}
		}
	})
	for i := 1; i <= 10; i++ {
		if _, err := e.Apply(t.Context(), sets[i%2]); err != nil {
			t.Error(err)
		}
	}
	cancel()
	wg.Wait()
	t.Logf("%d membership tests and %d saves during 10 swaps, %d bad; %d swaps refused as busy and retried",
		tests.Load(), saves.Load(), bad.Load(), strings.Count(logs.String(), "refused as busy"))
	if tests.Load() == 0 || saves.Load() == 0 {
		t.Errorf("the readers did not run: %d tests, %d saves", tests.Load(), saves.Load())
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
