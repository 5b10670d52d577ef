package guard

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/goldentest"
)

// procFiles maps the fixture files under testdata to their place in /proc.
var procFiles = map[string]string{
	"tcp": "net/tcp", "tcp6": "net/tcp6", "route": "net/route", "ipv6_route": "net/ipv6_route",
}

// fixtureProc builds a /proc tree from testdata; files named in drop are
// left out and replace overrides contents.
func fixtureProc(t testing.TB, replace map[string]string, drop ...string) fstest.MapFS {
	t.Helper()
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("fixtures require a little-endian machine")
	}
	fsys := fstest.MapFS{}
	for file, name := range procFiles {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			t.Fatal(err)
		}
		fsys[name] = &fstest.MapFile{Data: data}
	}
	for name, data := range replace {
		fsys[name] = &fstest.MapFile{Data: []byte(data)}
	}
	for _, name := range drop {
		delete(fsys, name)
	}
	return fsys
}

func render(ps []Protected) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%s\t%s\n", p.Addr, p.Why)
	}
	return b.String()
}

func TestProtectGolden(t *testing.T) {
	got, err := Protect(t.Context(), Options{
		Proc:       fixtureProc(t, nil),
		ResolvConf: filepath.Join("testdata", "resolv.conf"),
		Management: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/25"), netip.MustParsePrefix("::ffff:198.18.0.0/111")},
	})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "protect.golden")
	goldentest.Check(t, golden, []byte(render(got)))
}

func TestProtect(t *testing.T) {
	resolv := filepath.Join("testdata", "resolv.conf")
	missing := filepath.Join(t.TempDir(), "resolv.conf")
	tests := []struct {
		name string
		proc fstest.MapFS
		opts Options
		want []string // "addr why"
	}{
		{
			name: "other ssh port",
			proc: fixtureProc(t, nil, "net/route", "net/ipv6_route"),
			opts: Options{ResolvConf: missing, SSHPorts: []uint16{2222}},
			want: []string{"192.0.2.50/32 ssh session from 192.0.2.50:50000"},
		},
		{
			name: "ssh only, no ipv6",
			proc: fixtureProc(t, nil, "net/tcp6", "net/route", "net/ipv6_route"),
			opts: Options{ResolvConf: missing},
			want: []string{"198.51.100.7/32 ssh session from 198.51.100.7:51234 (+1 more)"},
		},
		{
			name: "gateways only",
			proc: fixtureProc(t, nil, "net/tcp", "net/tcp6"),
			opts: Options{ResolvConf: missing},
			want: []string{"10.0.2.1/32 default gateway (eth0)", "fe80::1/128 default gateway (eth0)"},
		},
		{
			name: "no default route",
			proc: fixtureProc(t, map[string]string{"net/route": "Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n", "net/ipv6_route": ""}, "net/tcp", "net/tcp6"),
			opts: Options{ResolvConf: missing},
		},
		{
			name: "resolvers and management only",
			proc: fstest.MapFS{},
			opts: Options{ResolvConf: resolv, Management: []netip.Prefix{netip.MustParsePrefix("10.9.8.7/16"), {}}},
			want: []string{
				"10.9.0.0/16 management network",
				"192.0.2.53/32 dns resolver (" + resolv + ")",
				"192.0.2.54/32 dns resolver (" + resolv + ")",
				"2001:db8::53/128 dns resolver (" + resolv + ")",
				"fe80::53/128 dns resolver (" + resolv + ")",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.Proc = tt.proc
			got, err := Protect(t.Context(), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, p := range got {
				lines = append(lines, p.Addr.String()+" "+p.Why)
			}
			if diff := cmp.Diff(tt.want, lines); diff != "" {
				t.Errorf("Protect (-want +got):\n%s", diff)
			}
		})
	}
}

func TestProtectErrors(t *testing.T) {
	tests := []struct {
		file, data, want string
	}{
		{"net/route", "Iface\tDestination\nxeth0\t00000000\tZZ02000A\t0003\t0\t0\t0\t00000000\n", `net/route:2: gateway "ZZ02000A"`},
		{"net/route", "eth0\t00000000\n", `net/route:1: want at least 8 fields`},
		{"net/route", "eth0\t0000000\t0102000A\t0003\t0\t0\t0\t00000000\n", `net/route:1: destination "0000000"`},
		{"net/ipv6_route", "00 00 00 00 00 00 00 00 00 eth0\n", `net/ipv6_route:1: destination "00"`},
		{"net/ipv6_route", strings.Repeat("0", 32) + " 81 " + strings.Repeat("0", 32) + " 00 " + strings.Repeat("0", 32) + " 0 0 0 3 eth0\n", `net/ipv6_route:1: prefix length "81"`},
		{"net/tcp6", "   0: 00:0016 00:0000 01 0 0 0 0 0 0 1\n", `net/tcp6:1: local address "00:0016"`},
		{"net/tcp", "   0: 0A02000A:0016 076433C6:C822 0x 0 0 0 0 0 0 1\n", `net/tcp:1: state "0x"`},
	}
	for _, tt := range tests {
		proc := fixtureProc(t, map[string]string{tt.file: tt.data})
		_, err := Protect(t.Context(), Options{Proc: proc, ResolvConf: filepath.Join(t.TempDir(), "none")})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s = %q: error %v, want it to contain %q", tt.file, tt.data, err, tt.want)
		}
	}
	// A resolv.conf that exists but cannot be read is an error too.
	if _, err := Protect(t.Context(), Options{Proc: fstest.MapFS{}, ResolvConf: t.TempDir()}); err == nil {
		t.Error("resolv.conf is a directory: no error")
	}
	ctx, cancel := contextCanceled(t)
	defer cancel()
	if _, err := Protect(ctx, Options{Proc: fstest.MapFS{}}); err == nil {
		t.Error("canceled context: no error")
	}
}

// TestProtectReal runs on this machine's /proc and /etc/resolv.conf. It
// opens a loopback connection to a listener of its own and calls that
// listener's port the SSH port, so the session must be found.
func TestProtectReal(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("requires /proc/net/tcp")
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Skipf("cannot listen on loopback: %v", err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	c, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if s := <-accepted; s != nil {
		defer s.Close()
	}
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	client := c.LocalAddr().(*net.TCPAddr).AddrPort()
	got, err := Protect(t.Context(), Options{SSHPorts: []uint16{port}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("protected on this machine:\n%s", render(got))
	want := Protected{Addr: netip.MustParsePrefix("127.0.0.1/32"), Why: "ssh session from " + client.String()}
	found := false
	for _, p := range got {
		found = found || p == want
	}
	if !found {
		t.Errorf("Protect did not report %v", want)
	}
	if _, err := Protect(t.Context(), Options{}); err != nil {
		t.Errorf("Protect with defaults: %v", err)
	}
}

func FuzzProtect(f *testing.F) {
	for file := range procFiles {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(file, data)
	}
	data, err := os.ReadFile(filepath.Join("testdata", "resolv.conf"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add("resolv.conf", data)
	f.Fuzz(func(t *testing.T, file string, data []byte) {
		var ps []Protected
		var err error
		if name, ok := procFiles[file]; ok {
			ps, err = Protect(t.Context(), Options{Proc: fstest.MapFS{name: &fstest.MapFile{Data: data}}, ResolvConf: "/nonexistent/resolv.conf"})
		} else {
			ps, err = parseResolvConf(file, data)
		}
		if err != nil {
			return
		}
		for _, p := range ps {
			if !p.Addr.IsValid() || p.Addr.Addr().Is4In6() || p.Addr.Addr().Zone() != "" || p.Why == "" {
				t.Fatalf("bad protected entry %+v from %s %q", p, file, data)
			}
		}
	})
}

func contextCanceled(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx, cancel
}
