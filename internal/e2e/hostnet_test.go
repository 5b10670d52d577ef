//go:build linux

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/testenv/netns"
)

// hostNet is a small network of hosts for the distribution test: one
// network namespace per host, each with an eth0 plugged into a bridge that
// lives in a namespace of its own (so nothing is created in the test's own
// namespace), addresses 10.201.R.i/24 and fd00:201:R::i/64. netns.Lab joins
// only two namespaces; this test needs five.
//
// Traffic stays inside these namespaces; the extra "public" addresses added
// with addAddr exist only here.
type hostNet struct {
	sw    string
	hosts map[string]*hostNS
	order []string
}

type hostNS struct {
	name, ns string
	v4, v6   netip.Addr
}

// requireNetns skips t unless it runs as root with ip(8) and nft(8), or
// fails it when CI=true (a skipped acceptance test in CI hides a broken
// build).
func requireNetns(t *testing.T) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, fmt.Sprintf("root (euid is %d)", os.Geteuid()))
	}
	for _, tool := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool+"(8)")
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "requires root and ip netns (missing: " + strings.Join(missing, ", ") + ")"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: not skipping)")
	}
	t.Skip(msg) // requires root and ip netns; under CI=true the test fails above instead
}

// newHostNet creates the namespaces of names, in that order (host i gets
// address .i+1), deleted at t.Cleanup.
func newHostNet(t *testing.T, names ...string) *hostNet {
	t.Helper()
	var rnd [3]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	id := hex.EncodeToString(rnd[:])
	x := rnd[0]
	n := &hostNet{sw: "rampart-" + id + "-sw", hosts: map[string]*hostNS{}}
	t.Cleanup(func() {
		for _, ns := range append(n.namespaces(), n.sw) {
			if err := netns.IP("netns", "delete", ns); err != nil && !strings.Contains(err.Error(), "No such file") {
				t.Errorf("hostnet: %v", err)
			}
		}
	})
	steps := [][]string{
		{"netns", "add", n.sw},
		{"-n", n.sw, "link", "add", "br0", "type", "bridge"},
		{"-n", n.sw, "link", "set", "br0", "up"},
	}
	for i, name := range names {
		h := &hostNS{
			name: name, ns: "rampart-" + id + "-" + name,
			v4: netip.AddrFrom4([4]byte{10, 201, x, byte(i + 1)}),
			v6: netip.MustParseAddr(fmt.Sprintf("fd00:201:%x::%x", x, i+1)),
		}
		n.hosts[name] = h
		n.order = append(n.order, name)
		port := fmt.Sprintf("p%d", i)
		steps = append(steps,
			[]string{"netns", "add", h.ns},
			// Made inside the host with the peer in the switch: no
			// interface ever exists in the caller's namespace.
			[]string{"-n", h.ns, "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", n.sw},
			[]string{"-n", n.sw, "link", "set", port, "master", "br0"},
			[]string{"-n", n.sw, "link", "set", port, "up"},
			[]string{"-n", h.ns, "addr", "add", netip.PrefixFrom(h.v4, 24).String(), "dev", "eth0"},
			[]string{"-n", h.ns, "addr", "add", netip.PrefixFrom(h.v6, 64).String(), "dev", "eth0", "nodad"},
			[]string{"-n", h.ns, "link", "set", "lo", "up"},
			[]string{"-n", h.ns, "link", "set", "eth0", "up"},
		)
	}
	for _, s := range steps {
		if err := netns.IP(s...); err != nil {
			t.Fatalf("hostnet: %v", err)
		}
	}
	return n
}

func (n *hostNet) namespaces() []string {
	var out []string
	for _, name := range n.order {
		out = append(out, n.hosts[name].ns)
	}
	return out
}

func (n *hostNet) host(t testing.TB, name string) *hostNS {
	t.Helper()
	h, ok := n.hosts[name]
	if !ok {
		t.Fatalf("hostnet: no host %q", name)
	}
	return h
}

// addAddr gives host name the extra address a (a /32 or /128) and routes it
// through that host from every other host.
func (n *hostNet) addAddr(t *testing.T, name string, a netip.Addr) {
	t.Helper()
	h := n.host(t, name)
	p := netip.PrefixFrom(a, a.BitLen())
	args := []string{"-n", h.ns, "addr", "add", p.String(), "dev", "eth0"}
	via := h.v4
	if a.Is6() {
		args = append(args, "nodad")
		via = h.v6
	}
	if err := netns.IP(args...); err != nil {
		t.Fatalf("hostnet: %v", err)
	}
	for _, other := range n.order {
		if other == name {
			continue
		}
		if err := netns.IP("-n", n.hosts[other].ns, "route", "add", p.String(), "via", via.String(), "dev", "eth0"); err != nil {
			t.Fatalf("hostnet: %v", err)
		}
	}
}

// serve runs a TCP service on port in host name (both addresses) until
// t.Cleanup: it accepts and closes, a completed handshake being all the
// dials check.
func (n *hostNet) serve(t *testing.T, name string, port uint16) {
	t.Helper()
	h := n.host(t, name)
	netns.ServeTCP(t, h.ns, port, h.v4, h.v6)
}

// dial connects from host name with source address src to dst and reports
// whether the handshake completed within timeout (a dropped SYN shows as a
// timeout).
func (n *hostNet) dial(name string, src netip.Addr, dst netip.AddrPort, timeout time.Duration) error {
	h, ok := n.hosts[name]
	if !ok {
		return fmt.Errorf("no host %q", name)
	}
	return netns.DialTCP(h.ns, src, dst, timeout)
}

// dialer returns a DialContext that opens its sockets in namespace ns.
func dialer(ns string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := netns.Do(ns, func() error {
			var err error
			c, err = (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}

// client returns an HTTP client whose connections start in host name.
func (n *hostNet) client(t testing.TB, name string) *http.Client {
	h := n.host(t, name)
	return &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DialContext: dialer(h.ns), DisableKeepAlives: true}}
}
