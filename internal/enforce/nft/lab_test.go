//go:build linux

package nft

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netns"

	"github.com/rampart-ids/rampart/internal/enforce"
	labns "github.com/rampart-ids/rampart/internal/testenv/netns"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// newLab returns a lab and an enforcer acting on its Front namespace.
func newLab(t testing.TB, opts Options) (*labns.Lab, *Enforcer) {
	t.Helper()
	l := labns.New(t)
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
	return l, e
}

func entries(ps ...string) []enforce.Entry {
	var out []enforce.Entry
	for _, p := range ps {
		out = append(out, enforce.Entry{Prefix: netip.MustParsePrefix(p)})
	}
	return out
}

var prefixEq = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })

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
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

type probe struct {
	name string
	src  netip.Addr
	dst  netip.Addr
	ok   bool
}

// check dials every probe and reports those whose outcome is not the
// expected one. Dials to a blocked source take the timeout, so it is short.
func check(t *testing.T, l *labns.Lab, port uint16, step string, probes []probe) {
	t.Helper()
	for _, p := range probes {
		err := l.Dial(p.src, netip.AddrPortFrom(p.dst, port), 300*time.Millisecond)
		if p.ok && err != nil {
			t.Errorf("%s: %s (%s) should connect: %v", step, p.name, p.src, err)
		}
		if !p.ok && err == nil {
			t.Errorf("%s: %s (%s) should be blocked but connected", step, p.name, p.src)
		}
	}
}

func TestTraffic(t *testing.T) {
	for _, action := range []enforce.Action{enforce.Drop, enforce.Reject} {
		t.Run(action.String(), func(t *testing.T) {
			l, e := newLab(t, Options{Action: action})
			const port = 8080
			l.Serve(t, port)
			a4 := netip.MustParsePrefix("198.51.100.10/32")
			b4 := netip.MustParsePrefix("198.51.100.20/32")
			c4 := netip.MustParsePrefix("198.51.100.30/32")
			// Client addresses inside the /64s; the /64s are blocked.
			a6 := netip.MustParsePrefix("2001:db8:a::1/64")
			b6 := netip.MustParsePrefix("2001:db8:b::1/64")
			for _, p := range []netip.Prefix{a4, b4, c4, a6, b6} {
				l.AddClientAddr(t, p)
			}
			a6addr, b6addr := a6.Addr(), b6.Addr()
			a6, b6 = a6.Masked(), b6.Masked()

			check(t, l, port, "before", []probe{
				{"A v4", a4.Addr(), l.FrontV4, true}, {"A v6", a6addr, l.FrontV6, true},
			})

			res, err := e.Apply(t.Context(), entries(a4.String(), a6.String()))
			if err != nil {
				t.Fatal(err)
			}
			if res.Added != 2 || res.Removed != 0 || res.Kept != 0 {
				t.Errorf("first apply: %+v", res)
			}
			check(t, l, port, "after apply", []probe{
				{"A v4", a4.Addr(), l.FrontV4, false}, {"A v6", a6addr, l.FrontV6, false},
				{"B v4", b4.Addr(), l.FrontV4, true}, {"B v6", b6addr, l.FrontV6, true},
				{"client v4", l.ClientV4, l.FrontV4, true}, {"client v6", l.ClientV6, l.FrontV6, true},
			})
			if action == enforce.Drop {
				golden(t, "small.golden", nftList(t, l.Front))
			}

			// Idempotent: the same set again changes nothing.
			if res, err := e.Apply(t.Context(), entries(a4.String(), a6.String())); err != nil || res.Added+res.Removed != 0 || res.Kept != 2 {
				t.Errorf("second apply: %+v, %v", res, err)
			}

			// Update: A leaves, C (v4) and B (v6) come in.
			res, err = e.Apply(t.Context(), entries(c4.String(), b6.String()))
			if err != nil {
				t.Fatal(err)
			}
			if res.Added != 2 || res.Removed != 2 || res.Kept != 0 {
				t.Errorf("update: %+v", res)
			}
			check(t, l, port, "after update", []probe{
				{"A v4", a4.Addr(), l.FrontV4, true}, {"A v6", a6addr, l.FrontV6, true},
				{"C v4", c4.Addr(), l.FrontV4, false}, {"B v6", b6addr, l.FrontV6, false},
				{"B v4", b4.Addr(), l.FrontV4, true},
			})
			got, err := e.Status(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(entries(c4.String(), b6.String()), got, prefixEq); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}

			if err := e.Remove(t.Context()); err != nil {
				t.Fatal(err)
			}
			check(t, l, port, "after remove", []probe{
				{"C v4", c4.Addr(), l.FrontV4, true}, {"B v6", b6addr, l.FrontV6, true}, {"A v4", a4.Addr(), l.FrontV4, true},
			})
			if out, err := labns.Exec(t.Context(), l.Front, "nft", "list", "ruleset"); err != nil || strings.Contains(string(out), TableName) {
				t.Errorf("after remove the ruleset still holds our table: %v\n%s", err, out)
			}
			if err := e.Remove(t.Context()); err != nil {
				t.Errorf("second remove: %v", err)
			}
		})
	}
}
