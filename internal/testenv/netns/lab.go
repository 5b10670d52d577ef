//go:build linux

package netns

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// Lab is two network namespaces joined by a veth pair: Front (the protected
// host) and Client (the attackers). Both ends of the pair are called eth0.
type Lab struct {
	// Front and Client are namespace names, usable with `ip netns exec`
	// and Do.
	Front, Client string
	// FrontV4 and FrontV6 are Front's addresses; ClientV4 and ClientV6 are
	// the client's primary addresses (an unblocked source for tests).
	FrontV4, FrontV6   netip.Addr
	ClientV4, ClientV6 netip.Addr
}

// New creates a lab with unique namespace names (rampart-<rand>-front and
// -client) and deletes it at t.Cleanup. It needs root and ip(8): without them
// it skips t, or fails it when CI=true.
func New(t testing.TB) *Lab {
	t.Helper()
	if err := available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("netns lab: %v (CI=true: not skipping)", err)
		}
		t.Skipf("netns lab: %v", err)
	}
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatalf("netns lab: random name: %v", err)
	}
	id := hex.EncodeToString(rnd[:])
	// The third octet only makes addresses easier to tell apart in logs
	// when several labs run at once; the namespaces isolate them anyway.
	x := rnd[0]
	l := &Lab{
		Front:    "rampart-" + id + "-front",
		Client:   "rampart-" + id + "-client",
		FrontV4:  netip.AddrFrom4([4]byte{10, 200, x, 1}),
		ClientV4: netip.AddrFrom4([4]byte{10, 200, x, 2}),
		FrontV6:  netip.MustParseAddr(fmt.Sprintf("fd00:200:%x::1", x)),
		ClientV6: netip.MustParseAddr(fmt.Sprintf("fd00:200:%x::2", x)),
	}
	t.Cleanup(func() {
		for _, ns := range []string{l.Client, l.Front} {
			if err := IP("netns", "delete", ns); err != nil && !strings.Contains(err.Error(), "No such file") {
				t.Errorf("netns lab: %v", err)
			}
		}
	})
	steps := [][]string{
		{"netns", "add", l.Front},
		{"netns", "add", l.Client},
		// Created inside Front with the peer inside Client: the pair never
		// exists in the caller's namespace, so names cannot clash there.
		{"-n", l.Front, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", l.Client},
	}
	for _, side := range []struct {
		ns     string
		v4, v6 netip.Addr
	}{{l.Front, l.FrontV4, l.FrontV6}, {l.Client, l.ClientV4, l.ClientV6}} {
		steps = append(steps,
			[]string{"-n", side.ns, "addr", "add", netip.PrefixFrom(side.v4, 24).String(), "dev", "eth0"},
			// nodad: a tentative address cannot be bound, and waiting for
			// duplicate detection would only slow every test down.
			[]string{"-n", side.ns, "addr", "add", netip.PrefixFrom(side.v6, 64).String(), "dev", "eth0", "nodad"},
			[]string{"-n", side.ns, "link", "set", "lo", "up"},
			[]string{"-n", side.ns, "link", "set", "eth0", "up"},
		)
	}
	for _, s := range steps {
		if err := IP(s...); err != nil {
			t.Fatalf("netns lab: %v", err)
		}
	}
	return l
}

// AddClientAddr adds p's address as an extra source address on the client
// side, and a route in Front back to the whole prefix through the client.
func (l *Lab) AddClientAddr(t testing.TB, p netip.Prefix) {
	t.Helper()
	if !p.IsValid() {
		t.Fatalf("netns lab: add client address: invalid prefix %q", p)
	}
	args := []string{"-n", l.Client, "addr", "add", p.String(), "dev", "eth0"}
	via := l.ClientV4
	if p.Addr().Is6() {
		args = append(args, "nodad")
		via = l.ClientV6
	}
	if err := IP(args...); err != nil {
		t.Fatalf("netns lab: %v", err)
	}
	// Replace, not add: two addresses of one prefix need the route once.
	if err := IP("-n", l.Front, "route", "replace", p.Masked().String(), "via", via.String(), "dev", "eth0"); err != nil {
		t.Fatalf("netns lab: %v", err)
	}
}

// Serve runs a TCP server in Front on FrontV4 and FrontV6 at port, closed at
// t.Cleanup. It accepts connections and closes them at once: a completed
// handshake is all the lab's dials check.
func (l *Lab) Serve(t testing.TB, port uint16) {
	t.Helper()
	ServeTCP(t, l.Front, port, l.FrontV4, l.FrontV6)
}

// Dial connects from the Client namespace to dst with the source address
// src, and reports whether the TCP handshake completed within timeout. A
// dropped SYN shows as a timeout, a reject as a refused or unreachable error.
func (l *Lab) Dial(src netip.Addr, dst netip.AddrPort, timeout time.Duration) error {
	return DialTCP(l.Client, src, dst, timeout)
}

// ServeTCP runs a TCP server in namespace ns on each of addrs at port,
// closed at t.Cleanup. It accepts connections and closes them at once. The
// sockets belong to ns, so its firewall filters them, while the accept
// loops run in the test process.
func ServeTCP(t testing.TB, ns string, port uint16, addrs ...netip.Addr) {
	t.Helper()
	var lns []net.Listener
	err := Do(ns, func() error {
		for _, a := range addrs {
			ln, err := net.Listen("tcp", netip.AddrPortFrom(a, port).String())
			if err != nil {
				return err
			}
			lns = append(lns, ln)
		}
		return nil
	})
	var wg sync.WaitGroup
	t.Cleanup(func() {
		for _, ln := range lns {
			ln.Close()
		}
		wg.Wait()
	})
	if err != nil {
		t.Fatalf("netns: serve in %s: %v", ns, err)
	}
	for _, ln := range lns {
		wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		})
	}
}

// DialTCP connects from namespace ns to dst, with the source address src
// unless src is the zero Addr, and reports whether the TCP handshake
// completed within timeout.
func DialTCP(ns string, src netip.Addr, dst netip.AddrPort, timeout time.Duration) error {
	return Do(ns, func() error {
		d := net.Dialer{Timeout: timeout}
		if src.IsValid() {
			d.LocalAddr = net.TCPAddrFromAddrPort(netip.AddrPortFrom(src, 0))
		}
		c, err := d.Dial("tcp", dst.String())
		if err != nil {
			return err
		}
		return c.Close()
	})
}

// Do runs fn on a locked OS thread inside the named namespace. Sockets fn
// creates stay in that namespace after Do returns. fn must not start
// goroutines that expect to inherit the namespace: they run on other threads.
func Do(ns string, fn func() error) error {
	target, err := netns.GetFromName(ns)
	if err != nil {
		return fmt.Errorf("open namespace %q: %w", ns, err)
	}
	defer target.Close()
	// A goroutine of its own, so the caller's thread and lock state are
	// never touched; if switching back fails the thread stays locked and
	// the runtime discards it when the goroutine ends.
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			done <- fmt.Errorf("current namespace: %w", err)
			return
		}
		defer orig.Close()
		if err := netns.Set(target); err != nil {
			done <- fmt.Errorf("enter namespace %q: %w", ns, err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err == nil {
			runtime.UnlockOSThread()
		}
		done <- ferr
	}()
	return <-done
}

// available reports why the lab cannot run here, or nil.
func available() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("requires root (euid is %d)", os.Geteuid())
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("requires ip(8) from iproute2: %w", err)
	}
	return nil
}

// IP runs ip(8) with args; the error carries the command and its stderr.
func IP(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, msg)
	}
	return nil
}

// Exec runs name with args inside namespace ns (through `ip netns exec`) and
// returns its standard output; the error carries the standard error.
func Exec(ctx context.Context, ns, name string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s in %s: %w: %s", name, strings.Join(args, " "), ns, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}
