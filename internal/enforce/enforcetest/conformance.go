//go:build linux

package enforcetest

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/enforce"
	"github.com/rampart-ids/rampart/internal/testenv/netns"
)

// The stages at which Conformance calls its extra hook.
const (
	// StageApplied: {A v4, A v6} is applied and the probes have passed.
	StageApplied = "applied"
	// StageReapplied: the same set was applied again and changed nothing.
	StageReapplied = "reapplied"
	// StageUpdated: the set became {C v4, B v6}, probes and Status passed.
	StageUpdated = "updated"
	// StageRemoved: Remove ran and everything connects again; the second
	// Remove has not run yet, so leftovers can be looked for here.
	StageRemoved = "removed"
)

// Port is where Conformance serves in the lab's Front namespace.
const Port = 8080

// Probe is one dial from the client side and its expected outcome.
type Probe struct {
	Name     string
	Src, Dst netip.Addr
	OK       bool
}

// Check dials every probe to port and reports those whose outcome is not
// the expected one. A dial to a dropping host takes the whole timeout, so
// it is short; Warm first makes sure a timeout means a block.
func Check(t *testing.T, l *netns.Lab, port uint16, step string, probes []Probe) {
	t.Helper()
	for _, p := range probes {
		err := l.Dial(p.Src, netip.AddrPortFrom(p.Dst, port), 300*time.Millisecond)
		if p.OK && err != nil {
			t.Errorf("%s: %s (%s) should connect: %v", step, p.Name, p.Src, err)
		}
		if !p.OK && err == nil {
			t.Errorf("%s: %s (%s) should be blocked but connected", step, p.Name, p.Src)
		}
	}
}

// Warm waits until every source connects, before anything is blocked, and
// fails t if one cannot within 10 seconds: a SYN sent while the lab's
// neighbours are still being resolved can be lost, which a short dial would
// take for a block.
func Warm(t *testing.T, l *netns.Lab, port uint16, srcs ...netip.Addr) {
	t.Helper()
	for _, src := range srcs {
		dst := l.FrontV4
		if src.Is6() {
			dst = l.FrontV6
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := l.Dial(src, netip.AddrPortFrom(dst, port), 300*time.Millisecond)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("lab not ready: %s cannot reach %s before anything is blocked: %v", src, dst, err)
			}
		}
	}
}

// Entries turns prefixes into entries without expiry; it panics on a bad
// prefix, which in a test is a typo.
func Entries(ps ...string) []enforce.Entry {
	var out []enforce.Entry
	for _, p := range ps {
		out = append(out, enforce.Entry{Prefix: netip.MustParsePrefix(p)})
	}
	return out
}

// PrefixEq compares netip.Prefix values in cmp.Diff (they have unexported
// fields).
var PrefixEq = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })

// Conformance runs the scenario every firewall back end must pass, against
// real traffic in lab (fresh, nothing served, no extra client addresses):
// apply {A v4, A v6} and check A is blocked while B and the client's own
// addresses still connect; apply the same set again and check it changes
// nothing and runs no atomic step; update to {C v4, B v6} and check the
// probes and Status (from this enforcer and from a fresh one, which can only
// read the system); Remove and check everything connects; Remove again.
//
// newEnforcer returns an enforcer acting on lab.Front; it is called once for
// the scenario and once more for the fresh Status read. extra, if not nil,
// runs the back end's own checks at each Stage*.
func Conformance(t *testing.T, lab *netns.Lab, newEnforcer func(t *testing.T) enforce.Enforcer, extra func(t *testing.T, stage string)) {
	t.Helper()
	hook := func(stage string) {
		t.Helper()
		if extra != nil {
			extra(t, stage)
		}
	}
	e := newEnforcer(t)
	lab.Serve(t, Port)
	a4 := netip.MustParsePrefix("198.51.100.10/32")
	b4 := netip.MustParsePrefix("198.51.100.20/32")
	c4 := netip.MustParsePrefix("198.51.100.30/32")
	// Client addresses inside the /64s; the /64s are blocked.
	a6 := netip.MustParsePrefix("2001:db8:a::1/64")
	b6 := netip.MustParsePrefix("2001:db8:b::1/64")
	for _, p := range []netip.Prefix{a4, b4, c4, a6, b6} {
		lab.AddClientAddr(t, p)
	}
	a6addr, b6addr := a6.Addr(), b6.Addr()
	a6, b6 = a6.Masked(), b6.Masked()

	// Every source connects before anything is blocked, so a failed probe
	// later is the enforcer's doing.
	Warm(t, lab, Port, a4.Addr(), b4.Addr(), c4.Addr(), a6addr, b6addr, lab.ClientV4, lab.ClientV6)

	first := Entries(a4.String(), a6.String())
	res, err := e.Apply(t.Context(), first)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 2 || res.Removed != 0 || res.Kept != 0 {
		t.Errorf("first apply: %+v", res)
	}
	Check(t, lab, Port, "after apply", []Probe{
		{"A v4", a4.Addr(), lab.FrontV4, false}, {"A v6", a6addr, lab.FrontV6, false},
		{"B v4", b4.Addr(), lab.FrontV4, true}, {"B v6", b6addr, lab.FrontV6, true},
		{"client v4", lab.ClientV4, lab.FrontV4, true}, {"client v6", lab.ClientV6, lab.FrontV6, true},
	})
	hook(StageApplied)

	// Idempotent: the same set again changes nothing, so no atomic step
	// runs and Duration stays zero.
	if res, err := e.Apply(t.Context(), first); err != nil || res.Added+res.Removed != 0 || res.Kept != 2 || res.Duration != 0 {
		t.Errorf("second apply should change nothing and run no atomic step: %+v, %v", res, err)
	}
	hook(StageReapplied)

	// Update: A leaves, C (v4) and B (v6) come in.
	next := Entries(c4.String(), b6.String())
	res, err = e.Apply(t.Context(), next)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 2 || res.Removed != 2 || res.Kept != 0 {
		t.Errorf("update: %+v", res)
	}
	Check(t, lab, Port, "after update", []Probe{
		{"A v4", a4.Addr(), lab.FrontV4, true}, {"A v6", a6addr, lab.FrontV6, true},
		{"C v4", c4.Addr(), lab.FrontV4, false}, {"B v6", b6addr, lab.FrontV6, false},
		{"B v4", b4.Addr(), lab.FrontV4, true},
	})
	for _, s := range []struct {
		name string
		e    enforce.Enforcer
	}{{"status", e}, {"status from a fresh enforcer", newEnforcer(t)}} {
		got, err := s.e.Status(t.Context())
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if diff := cmp.Diff(next, got, PrefixEq); diff != "" {
			t.Errorf("%s (-want +got):\n%s", s.name, diff)
		}
	}
	hook(StageUpdated)

	if err := e.Remove(t.Context()); err != nil {
		t.Fatal(err)
	}
	Check(t, lab, Port, "after remove", []Probe{
		{"C v4", c4.Addr(), lab.FrontV4, true}, {"B v6", b6addr, lab.FrontV6, true}, {"A v4", a4.Addr(), lab.FrontV4, true},
	})
	hook(StageRemoved)
	if err := e.Remove(t.Context()); err != nil {
		t.Errorf("second remove: %v", err)
	}
}
