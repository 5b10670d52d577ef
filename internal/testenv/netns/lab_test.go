//go:build linux

package netns

import (
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

func TestLab(t *testing.T) {
	l := New(t)
	const port = 8080
	l.Serve(t, port)
	extra4 := netip.MustParsePrefix("198.51.100.7/32")
	extra6 := netip.MustParsePrefix("2001:db8:7::1/64")
	l.AddClientAddr(t, extra4)
	l.AddClientAddr(t, extra6)
	tests := []struct {
		name string
		src  netip.Addr
		dst  netip.Addr
	}{
		{"v4 primary", l.ClientV4, l.FrontV4},
		{"v6 primary", l.ClientV6, l.FrontV6},
		{"v4 extra", extra4.Addr(), l.FrontV4},
		{"v6 extra", extra6.Addr(), l.FrontV6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := l.Dial(tt.src, netip.AddrPortFrom(tt.dst, port), 2*time.Second); err != nil {
				t.Errorf("dial %s -> %s: %v", tt.src, tt.dst, err)
			}
		})
	}
	// A port nobody serves must fail: proves Dial reports failures.
	if err := l.Dial(l.ClientV4, netip.AddrPortFrom(l.FrontV4, port+1), time.Second); err == nil {
		t.Error("dial to an unserved port succeeded")
	}
	// The lab must not reach the caller's namespace: Front's address is
	// not local here.
	if out, err := Exec(t.Context(), l.Front, "ip", "-br", "addr"); err != nil || !strings.Contains(string(out), l.FrontV4.String()) {
		t.Errorf("ip addr in front: %v\n%s", err, out)
	}
}

func TestDoRestoresNamespace(t *testing.T) {
	l := New(t)
	before, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer before.Close()
	var inside netns.NsHandle
	err = Do(l.Front, func() error {
		h, err := netns.Get()
		inside = h
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer inside.Close()
	if inside.Equal(before) {
		t.Error("Do ran fn in the caller's namespace")
	}
	want := errors.New("boom")
	if got := Do(l.Front, func() error { return want }); !errors.Is(got, want) {
		t.Errorf("Do returned %v, want fn's error", got)
	}
	if err := Do("rampart-no-such-namespace", func() error { return nil }); err == nil || !strings.Contains(err.Error(), "rampart-no-such-namespace") {
		t.Errorf("Do on a missing namespace: %v", err)
	}
}

func TestCleanup(t *testing.T) {
	var names []string
	t.Run("lab", func(t *testing.T) {
		l := New(t)
		names = []string{l.Front, l.Client}
	})
	for _, n := range names {
		if _, err := os.Stat("/run/netns/" + n); !os.IsNotExist(err) {
			t.Errorf("namespace %s left behind (stat: %v)", n, err)
		}
	}
}
