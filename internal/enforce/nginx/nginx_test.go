package nginx

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/enforce"
)

// server is a real nginx run by the test: its own prefix directory,
// listening on loopback only.
type server struct {
	dir, conf, list string
	port            int
	v6              bool
}

// placement says where the test configuration includes the list.
type placement int

const (
	inLocation placement = iota // deny form: include in location
	atHTTP                      // geo and auto: include in http, "if" in server
	nowhere                     // the operator dropped the include
)

func nginxBinary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("requires nginx (Debian: apt-get install nginx-light); in CI it must be installed")
		}
		t.Skip("requires nginx (Debian: apt-get install nginx-light)")
	}
	return bin
}

func freePort(t testing.TB) (int, bool) {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	v6 := false
	if l6, err := net.Listen("tcp6", fmt.Sprintf("[::1]:%d", port)); err == nil {
		l6.Close()
		v6 = true
	}
	return port, v6
}

// writeConf writes the test configuration; extra goes into the http block.
func (s *server) writeConf(t testing.TB, where placement, extra string) {
	t.Helper()
	var b strings.Builder
	if os.Geteuid() == 0 {
		// Workers must read the page inside the 0700 temporary directory.
		b.WriteString("user root;\n")
	}
	fmt.Fprintf(&b, "worker_processes 1;\ndaemon off;\nerror_log %s/error.log info;\npid %s/nginx.pid;\nevents { worker_connections 64; }\n", s.dir, s.dir)
	b.WriteString("http {\n  access_log off;\n")
	for _, p := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "  %s_temp_path %s/tmp/%s;\n", p, s.dir, p)
	}
	if where == atHTTP {
		fmt.Fprintf(&b, "  include %s;\n", s.list)
	}
	b.WriteString(extra)
	fmt.Fprintf(&b, "  server {\n    listen 127.0.0.1:%d;\n", s.port)
	if s.v6 {
		fmt.Fprintf(&b, "    listen [::1]:%d;\n", s.port)
	}
	if where == atHTTP {
		b.WriteString("    if ($rampart_blocked) { return 403; }\n")
	}
	fmt.Fprintf(&b, "    root %s/www;\n    location / {\n", s.dir)
	if where == inLocation {
		fmt.Fprintf(&b, "      include %s;\n", s.list)
	}
	b.WriteString("    }\n  }\n}\n")
	if err := os.WriteFile(s.conf, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newServer prepares a prefix directory and a configuration; the list file
// starts as initial (nginx needs it to start).
func newServer(t testing.TB, where placement, initial []byte) *server {
	t.Helper()
	dir := t.TempDir()
	port, v6 := freePort(t)
	s := &server{dir: dir, conf: filepath.Join(dir, "nginx.conf"), list: filepath.Join(dir, "rampart", "blocklist.conf"), port: port, v6: v6}
	for _, d := range []string{"www", "tmp", "rampart"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "www", "index.html"), []byte("ok\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.list, initial, 0o644); err != nil {
		t.Fatal(err)
	}
	s.writeConf(t, where, "")
	return s
}

// start runs nginx in the foreground as a child and stops it at cleanup.
func (s *server) start(t testing.TB) {
	t.Helper()
	cmd := exec.Command(nginxBinary(t), "-p", s.dir, "-c", s.conf)
	out := &capped{max: 8 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case err := <-done:
			t.Fatalf("nginx exited: %v\n%s", err, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not listen: %v\n%s", err, out)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *server) enforcer(t *testing.T, form Form) *Enforcer {
	t.Helper()
	e, err := New(Options{Path: s.list, Form: form, AutoGeoAbove: 2, Binary: nginxBinary(t), Conf: s.conf, Prefix: s.dir, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// status sends one HTTP/1.0 request from the local address from and
// returns the response's status code.
func (s *server) status(ctx context.Context, from string) (int, error) {
	src := netip.MustParseAddr(from)
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src.AsSlice()}, Timeout: 2 * time.Second}
	dst := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(s.port))
	if src.Is6() {
		dst = netip.AddrPortFrom(netip.IPv6Loopback(), uint16(s.port))
	}
	c, err := d.DialContext(ctx, "tcp", dst.String())
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("GET / HTTP/1.0\r\nHost: test\r\n\r\n")); err != nil {
		return 0, err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return 0, err
	}
	var code int
	if _, err := fmt.Sscanf(line, "HTTP/1.1 %d", &code); err != nil {
		return 0, fmt.Errorf("status line %q: %w", line, err)
	}
	return code, nil
}

// expect waits for every client to get its status: a reload is a signal
// nginx acts on after "nginx -s reload" returns, so the test polls until
// the deadline.
func (s *server) expect(t *testing.T, want map[string]int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var bad []string
		for from, code := range want {
			if from == "::1" && !s.v6 {
				continue
			}
			got, err := s.status(t.Context(), from)
			if err != nil || got != code {
				bad = append(bad, fmt.Sprintf("%s: got %d (%v), want %d", from, got, err, code))
			}
		}
		if len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(s.dir, "error.log"))
			t.Fatalf("clients:\n%s\nerror.log:\n%s", strings.Join(bad, "\n"), log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func set(ss ...string) []enforce.Entry { return entries(prefixes(ss...)) }

func TestRealNginx(t *testing.T) {
	tests := []struct {
		name  string
		form  Form
		where placement
	}{
		{"deny", FormDeny, inLocation},
		{"geo", FormGeo, atHTTP},
		{"auto", FormAuto, atHTTP}, // AutoGeoAbove 2: the steps switch forms
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			initial := AppendDeny(nil, nil, "")
			if tt.where == atHTTP {
				initial = AppendGeo(nil, nil, DefaultVariable)
			}
			s := newServer(t, tt.where, initial)
			s.start(t)
			if !s.v6 {
				t.Log("::1 unavailable: IPv6 clients not tested")
			}
			s.expect(t, map[string]int{"127.0.0.1": 200, "127.0.0.2": 200, "::1": 200})
			e := s.enforcer(t, tt.form)
			ctx := t.Context()

			steps := []struct {
				set  []enforce.Entry
				want map[string]int
				res  enforce.Result
			}{
				{set("127.0.0.2/32", "192.0.2.0/24"), map[string]int{"127.0.0.1": 200, "127.0.0.2": 403, "::1": 200},
					enforce.Result{Added: 2}},
				// Three entries: auto now writes the geo form.
				{set("127.0.0.2/32", "127.0.0.4/32", "::1/128"), map[string]int{"127.0.0.1": 200, "127.0.0.2": 403, "127.0.0.4": 403, "::1": 403},
					enforce.Result{Added: 2, Removed: 1, Kept: 1}},
				// Back to two: auto writes the deny form again.
				{set("127.0.0.4/32", "2001:db8::/64"), map[string]int{"127.0.0.1": 200, "127.0.0.2": 200, "127.0.0.4": 403, "::1": 200},
					enforce.Result{Added: 1, Removed: 2, Kept: 1}},
			}
			for i, st := range steps {
				// Each set is already normalised, so Status must return it as is.
				res, err := e.Apply(ctx, st.set)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if res.Added != st.res.Added || res.Removed != st.res.Removed || res.Kept != st.res.Kept {
					t.Errorf("step %d: result %+v, want %+v", i, res, st.res)
				}
				s.expect(t, st.want)
				if tt.form == FormAuto {
					data, _ := os.ReadFile(s.list)
					if geo := !strings.Contains(string(data), "deny "); geo != (len(st.set) > 2) {
						t.Errorf("step %d: auto wrote geo form = %v for %d entries:\n%s", i, geo, len(st.set), data)
					}
				}
				got, err := e.Status(ctx)
				if err != nil || !equalSets(got, st.set) {
					t.Errorf("step %d: Status = %v, %v; want %v", i, got, err, st.set)
				}
				again, err := e.Apply(ctx, st.set)
				if err != nil || again.Added+again.Removed != 0 || again.Duration != 0 {
					t.Errorf("step %d: second Apply = %+v, %v; want no change", i, again, err)
				}
			}
			if inc, err := e.Included(ctx); err != nil || !inc {
				t.Errorf("Included = %v, %v", inc, err)
			}

			if err := e.Remove(ctx); err != nil {
				t.Fatal(err)
			}
			s.expect(t, map[string]int{"127.0.0.1": 200, "127.0.0.2": 200, "127.0.0.4": 200, "::1": 200})
			if _, err := os.Stat(s.list); err != nil {
				t.Errorf("Remove deleted a file the configuration includes: %v", err)
			}
			if got, err := e.Status(ctx); err != nil || len(got) != 0 {
				t.Errorf("Status after Remove = %v, %v", got, err)
			}
		})
	}
}

func equalSets(a, b []enforce.Entry) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Prefix != b[i].Prefix {
			return false
		}
	}
	return true
}

// TestRejectedRestores makes nginx reject the new file and checks that the
// old file is back and nginx keeps blocking with the old list.
func TestRejectedRestores(t *testing.T) {
	s := newServer(t, inLocation, AppendDeny(nil, nil, ""))
	s.start(t)
	ctx := t.Context()
	deny := s.enforcer(t, FormDeny)
	if _, err := deny.Apply(ctx, set("127.0.0.2/32")); err != nil {
		t.Fatal(err)
	}
	s.expect(t, map[string]int{"127.0.0.1": 200, "127.0.0.2": 403})
	before, err := os.ReadFile(s.list)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		e    *Enforcer
		want string // in the error: nginx's own message
	}{
		// The operator includes the file in a location: geo is not allowed there.
		{"geo form in a location", s.enforcer(t, FormGeo), `"geo" directive is not allowed here`},
		// Reload fails: the file must not stay ahead of the running nginx.
		{"reload fails", func() *Enforcer {
			e := s.enforcer(t, FormDeny)
			e.opts.Reload = []string{nginxBinary(t), "-p", s.dir, "-c", filepath.Join(s.dir, "missing.conf"), "-s", "reload"}
			return e
		}(), "missing.conf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.e.Apply(ctx, set("127.0.0.3/32"))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "previous file restored") {
				t.Fatalf("Apply error = %v, want nginx's %q and a restore", err, tt.want)
			}
			after, rerr := os.ReadFile(s.list)
			if rerr != nil || string(after) != string(before) {
				t.Errorf("file after failed apply:\n%s\nwant:\n%s", after, before)
			}
			s.expect(t, map[string]int{"127.0.0.1": 200, "127.0.0.2": 403, "127.0.0.3": 200})
		})
	}

	// A configuration broken elsewhere: nothing is applied either.
	s.writeConf(t, inLocation, "  bogus_directive on;\n")
	_, err = deny.Apply(ctx, set("127.0.0.3/32"))
	if err == nil || !strings.Contains(err.Error(), `unknown directive "bogus_directive"`) {
		t.Fatalf("Apply with a broken configuration = %v", err)
	}
	if after, _ := os.ReadFile(s.list); string(after) != string(before) {
		t.Errorf("file changed despite the broken configuration:\n%s", after)
	}
	if err := deny.Remove(ctx); err == nil {
		t.Errorf("Remove with a broken configuration succeeded")
	}
	if after, _ := os.ReadFile(s.list); string(after) != string(before) {
		t.Errorf("Remove changed the file despite the broken configuration:\n%s", after)
	}
	s.expect(t, map[string]int{"127.0.0.1": 200, "127.0.0.2": 403})
}

// TestStoppedAndUnincluded covers an nginx that is not running (apply
// succeeds, the list waits for the start) and a configuration that does not
// include the file (Remove deletes it).
func TestStoppedAndUnincluded(t *testing.T) {
	s := newServer(t, inLocation, AppendDeny(nil, nil, ""))
	e := s.enforcer(t, FormDeny)
	ctx := t.Context()
	if _, err := e.Apply(ctx, set("127.0.0.2/32")); err != nil {
		t.Fatalf("Apply with nginx stopped: %v", err)
	}
	// A stale PID file names a process that is gone.
	if err := os.WriteFile(filepath.Join(s.dir, "nginx.pid"), []byte("999999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Apply(ctx, set("127.0.0.2/32", "127.0.0.4/32")); err != nil {
		t.Fatalf("Apply with a stale PID file: %v", err)
	}
	os.Remove(filepath.Join(s.dir, "nginx.pid"))
	s.start(t)
	s.expect(t, map[string]int{"127.0.0.1": 200, "127.0.0.2": 403, "127.0.0.4": 403})

	// The operator drops the include: Remove deletes the file.
	s.writeConf(t, nowhere, "")
	if inc, err := e.Included(ctx); err != nil || inc {
		t.Fatalf("Included = %v, %v; want false", inc, err)
	}
	if err := e.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.list); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Remove kept a file nothing includes: %v", err)
	}
	if err := e.Remove(ctx); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

func TestApplyDropsExpiredAndInvalid(t *testing.T) {
	s := newServer(t, inLocation, AppendDeny(nil, nil, ""))
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	e, err := New(Options{Path: s.list, Binary: nginxBinary(t), Conf: s.conf, Prefix: s.dir, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	in := []enforce.Entry{
		{Prefix: netip.MustParsePrefix("192.0.2.1/32"), Expires: now.Add(-time.Second)},
		{Prefix: netip.MustParsePrefix("192.0.2.2/32"), Expires: now.Add(time.Hour)},
		{Prefix: netip.MustParsePrefix("192.0.2.3/32")},
	}
	if _, err := e.Apply(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	got, err := e.Status(t.Context())
	if err != nil || !equalSets(got, set("192.0.2.2/31")) {
		t.Errorf("Status = %v, %v; want 192.0.2.2/31 without the expired entry", got, err)
	}
	if _, err := e.Apply(t.Context(), []enforce.Entry{{}}); err == nil || !strings.Contains(err.Error(), "entry 0") {
		t.Errorf("Apply of an invalid prefix = %v", err)
	}
}
