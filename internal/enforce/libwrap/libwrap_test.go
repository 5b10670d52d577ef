package libwrap

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// requireFile skips when path is missing, or fails when CI=true.
func requireFile(t *testing.T, path, pkg string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing: install the Debian package %s", path, pkg)
		}
		t.Skipf("%s missing: install the Debian package %s", path, pkg)
	}
}

func TestLinked(t *testing.T) {
	requireFile(t, "/usr/sbin/tcpd", "tcpd")
	tests := []struct {
		path string
		want bool
	}{
		{"/usr/sbin/tcpd", true},
		{"/bin/ls", false},
	}
	for _, tt := range tests {
		got, err := Linked(tt.path)
		if err != nil || got != tt.want {
			t.Errorf("Linked(%s) = %v, %v; want %v", tt.path, got, err, tt.want)
		}
	}
	notELF := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Linked(notELF); err == nil || !strings.Contains(err.Error(), "read ELF") {
		t.Errorf("Linked(shell script) error = %v", err)
	}
}

func TestParseNetTCP(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("fixtures require a little-endian machine")
	}
	ap := netip.MustParseAddrPort
	tests := []struct {
		file string
		want []Listener
	}{
		{"net_tcp", []Listener{{ap("127.0.0.1:25672"), 6784}, {ap("0.0.0.0:22"), 1111}, {ap("10.0.2.10:80"), 2222}}},
		{"net_tcp6", []Listener{{ap("[::]:22"), 3333}, {ap("[::1]:631"), 4444}, {ap("[2001:db8::1]:443"), 5555}, {ap("10.0.2.10:8080"), 6666}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseNetTCP(tt.file, data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	for _, bad := range []string{
		"   0: 0100007F:6448 00000000:0000 0A 0",
		"   0: 0100007:6448 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1",
		"   0: 0100007F:64481 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1",
		"   0: 0100007F:6448 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 x 1",
	} {
		if _, err := ParseNetTCP("tcp", []byte(bad)); err == nil || !strings.HasPrefix(err.Error(), "tcp:1: ") {
			t.Errorf("ParseNetTCP(%q) error = %v, want one naming tcp:1", bad, err)
		}
	}
}

// fixture builds a /proc tree: the net files from testdata, processes with
// fd links to sockets and exe links to real binaries.
func fixture(t *testing.T) (proc string, root string) {
	t.Helper()
	requireFile(t, "/usr/sbin/tcpd", "tcpd")
	dir := t.TempDir()
	proc = filepath.Join(dir, "proc")
	root = filepath.Join(dir, "root")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"net", "100/fd", "200/fd", "201/fd", "300/fd", "400/fd"} {
		must(os.MkdirAll(filepath.Join(proc, d), 0o755))
	}
	must(os.MkdirAll(filepath.Join(root, "usr/sbin"), 0o755))
	for _, n := range []string{"net_tcp", "net_tcp6"} {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		must(err)
		must(os.WriteFile(filepath.Join(proc, "net", strings.TrimPrefix(n, "net_")), b, 0o644))
	}
	// An sshd that does not link libwrap, and its sshd-session that does.
	sshd := filepath.Join(root, "usr/sbin/sshd")
	must(os.Symlink("/bin/ls", sshd))
	must(os.Symlink("/usr/sbin/tcpd", filepath.Join(root, "usr/sbin/sshd-session")))
	links := map[string]string{
		"100/exe": "/usr/sbin/tcpd", "100/fd/0": "/dev/null", "100/fd/3": "socket:[2222]",
		"200/exe": "/bin/ls", "200/fd/5": "socket:[4444]", "200/fd/6": "pipe:[77]",
		"201/exe": "/bin/ls", "201/fd/5": "socket:[4444]", // a pre-forked child
		"300/exe": sshd, "300/fd/3": "socket:[1111]", "300/fd/4": "socket:[3333]",
		"400/exe": "/nonexistent/daemon (deleted)", "400/fd/3": "socket:[5555]",
	}
	for name, target := range links {
		must(os.Symlink(target, filepath.Join(proc, name)))
	}
	must(os.WriteFile(filepath.Join(proc, "100/comm"), []byte("tcpd\n"), 0o644))
	return proc, root
}

func TestCheckFixture(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("fixtures require a little-endian machine")
	}
	proc, _ := fixture(t)
	got, err := Check(t.Context(), Options{Proc: os.DirFS(proc), Root: os.DirFS("/")})
	if err != nil {
		t.Fatal(err)
	}
	sshd := filepath.Join(filepath.Dir(proc), "root/usr/sbin/sshd")
	type row struct {
		Addr    string
		PID     int
		Libwrap bool
		Verdict string
		Checked int
	}
	var rows []row
	for _, s := range got {
		rows = append(rows, row{netip.AddrPortFrom(s.Addr, s.Port).String(), s.PID, s.Libwrap, s.Verdict, len(s.Checked)})
		if s.PID == 300 && (len(s.Checked) < 2 || s.Checked[0] != sshd || s.Checked[1] != sshd+"-session") {
			t.Errorf("sshd checked %v, want %s and its sshd-session", s.Checked, sshd)
		}
		if s.PID == 100 && (s.Exe != "/usr/sbin/tcpd" || s.Comm != "tcpd") {
			t.Errorf("pid 100: exe %q comm %q", s.Exe, s.Comm)
		}
	}
	want := []row{
		{"0.0.0.0:22", 300, true, Protects, 2},
		{"[::]:22", 300, true, Protects, 2},
		{"10.0.2.10:80", 100, true, Protects, 1},
		{"[2001:db8::1]:443", 400, false, Unknown, 0},
		{"[::1]:631", 200, false, NeedFirewall, 1},
		{"10.0.2.10:8080", 0, false, Unknown, 0},
		{"127.0.0.1:25672", 0, false, Unknown, 0},
	}
	// Order: by port, then address.
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("Check (-want +got):\n%s", diff)
	}
}

func TestCheckRealListener(t *testing.T) {
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("requires /proc/net/tcp")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe, _ = filepath.EvalSymlinks(exe)
	var ports = map[string]uint16{}
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Logf("listen %s: %v", addr, err)
			continue
		}
		defer l.Close()
		ports[addr] = uint16(l.Addr().(*net.TCPAddr).Port)
	}
	if len(ports) == 0 {
		t.Skip("requires a loopback listener")
	}
	got, err := Check(t.Context(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for addr, port := range ports {
		found := false
		for _, s := range got {
			if s.Port != port || !s.Addr.IsLoopback() {
				continue
			}
			found = true
			if s.PID != os.Getpid() || s.Exe != exe || s.Libwrap || s.Verdict != NeedFirewall {
				t.Errorf("%s: %+v, want pid %d exe %s, no libwrap", addr, s, os.Getpid(), exe)
			}
		}
		if !found {
			t.Errorf("listener %s (port %d) not found in %d services", addr, port, len(got))
		}
	}
}
