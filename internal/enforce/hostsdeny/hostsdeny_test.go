package hostsdeny

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/enforce"
)

// newTestEnforcer works in dir: dir/hosts.deny, dir/rampart/hosts.deny.list
// (the directory is made by Apply), dir/ossec/host-deny-lock.
func newTestEnforcer(t testing.TB, dir string, mod func(*Options)) *Enforcer {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "ossec"), 0o755); err != nil {
		t.Fatal(err)
	}
	opts := Options{
		DenyPath: filepath.Join(dir, "hosts.deny"),
		ListPath: filepath.Join(dir, "rampart", "hosts.deny.list"),
		LockDir:  filepath.Join(dir, "ossec", "host-deny-lock"),
		LockWait: time.Millisecond,
	}
	if mod != nil {
		mod(&opts)
	}
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// tcpdmatch finds the real tcpdmatch (Debian package tcpd). Without it the
// test is skipped, or fails when CI=true.
func tcpdmatch(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"tcpdmatch", "/usr/sbin/tcpdmatch", "/sbin/tcpdmatch"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("tcpdmatch not found: install the Debian package tcpd")
	}
	t.Skip("tcpdmatch not found: install the Debian package tcpd")
	return ""
}

// access asks tcpdmatch -d (hosts.allow and hosts.deny of dir) whether
// daemon grants client. Any warning on stderr fails the test: libwrap
// prints them for patterns it cannot read.
func access(t testing.TB, bin, dir, daemon, client string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, "-d", daemon, client)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tcpdmatch %s %s: %v\n%s%s", daemon, client, err, stdout.String(), stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("tcpdmatch %s %s warned: %s", daemon, client, stderr.String())
	}
	for _, l := range strings.Split(stdout.String(), "\n") {
		if v, ok := strings.CutPrefix(l, "access:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("tcpdmatch %s %s: no access line in %q", daemon, client, stdout.String())
	return ""
}

func entries(ps ...string) []enforce.Entry {
	var out []enforce.Entry
	for _, p := range ps {
		out = append(out, enforce.Entry{Prefix: netip.MustParsePrefix(p)})
	}
	return enforce.Normalize(out, enforce.NormalizeOptions{})
}

// others are lines OSSEC (ALL:ip), fail2ban (ALL: ip) and a hand wrote,
// with a backslash continuation.
const others = "# /etc/hosts.deny: list of hosts that are _not_ allowed to access the system.\n" +
	"ALL:192.0.2.9\n" +
	"ALL: 192.0.2.10\n" +
	"ALL:[2001:db8:ffff::9]\n" +
	"in.ftpd: 192.0.2.12 \\\n" +
	"   192.0.2.13\n" +
	"sshd: 192.0.2.11\n"

func TestApplyWithTcpdmatch(t *testing.T) {
	bin := tcpdmatch(t)
	dir := t.TempDir()
	deny := filepath.Join(dir, "hosts.deny")
	if err := os.WriteFile(filepath.Join(dir, "hosts.allow"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(deny, []byte(others), 0o640); err != nil {
		t.Fatal(err)
	}
	e := newTestEnforcer(t, dir, nil)
	set := entries("203.0.113.7/32", "198.51.100.0/24", "2001:db8::7/128", "2001:db8:1::/48", "100.64.0.0/10")

	type probe struct {
		daemon, client, want string
	}
	// Lines of others hold whatever Rampart does.
	theirs := []probe{
		{"sshd", "192.0.2.9", "denied"}, {"vsftpd", "192.0.2.10", "denied"},
		{"sshd", "2001:db8:ffff::9", "denied"}, {"sshd", "192.0.2.11", "denied"},
		{"vsftpd", "192.0.2.11", "granted"}, {"in.ftpd", "192.0.2.13", "denied"}, {"sshd", "192.0.2.13", "granted"},
	}
	ours := []probe{
		{"sshd", "203.0.113.7", "denied"}, {"sshd", "203.0.113.8", "granted"}, {"sshd", "203.0.113.6", "granted"},
		{"sshd", "198.51.100.0", "denied"}, {"sshd", "198.51.100.255", "denied"},
		{"sshd", "198.51.99.255", "granted"}, {"sshd", "198.51.101.0", "granted"},
		{"sshd", "100.127.255.255", "denied"}, {"sshd", "100.128.0.0", "granted"},
		{"sshd", "2001:db8::7", "denied"}, {"sshd", "2001:db8::8", "granted"},
		{"sshd", "2001:db8:1::", "denied"}, {"sshd", "2001:db8:1:ffff:ffff:ffff:ffff:ffff", "denied"},
		{"sshd", "2001:db8:2::", "granted"}, {"sshd", "2001:db8:0:ffff::1", "granted"},
	}
	check := func(stage string, ps []probe, flip bool) {
		t.Helper()
		for _, p := range ps {
			want := p.want
			if flip {
				want = "granted"
			}
			if got := access(t, bin, dir, p.daemon, p.client); got != want {
				t.Errorf("%s: %s from %s: %s, want %s", stage, p.daemon, p.client, got, want)
			}
		}
	}
	check("before", theirs, false)
	check("before", ours, true)

	res, err := e.Apply(t.Context(), set)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != len(set) || res.Removed != 0 || res.Kept != 0 {
		t.Errorf("first Apply = %+v, want %d added", res, len(set))
	}
	got, _ := os.ReadFile(deny)
	wantDeny := others + Marker + "\nALL: " + e.opts.ListPath + "\n"
	if string(got) != wantDeny {
		t.Errorf("hosts.deny after Apply:\n%q\nwant\n%q", got, wantDeny)
	}
	if fi, err := os.Stat(deny); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("hosts.deny mode not kept: %v %v", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Dir(e.opts.ListPath)); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("list directory: %v %v", fi, err)
	}
	check("after apply", theirs, false)
	check("after apply", ours, false)

	// Same set again: nothing written, not even the list file.
	before, _ := os.Stat(e.opts.ListPath)
	res, err = e.Apply(t.Context(), set)
	if err != nil || res.Added != 0 || res.Removed != 0 || res.Kept != len(set) {
		t.Errorf("second Apply = %+v, %v", res, err)
	}
	after, _ := os.Stat(e.opts.ListPath)
	if !os.SameFile(before, after) {
		t.Errorf("second Apply rewrote the list file")
	}

	// A smaller set: one entry gone, one new.
	res, err = e.Apply(t.Context(), entries("203.0.113.7/32", "198.51.100.0/24", "2001:db8::7/128", "2001:db8:1::/48", "203.0.113.99/32"))
	if err != nil || res.Added != 1 || res.Removed != 1 || res.Kept != 4 {
		t.Errorf("third Apply = %+v, %v", res, err)
	}
	if got := access(t, bin, dir, "sshd", "100.64.0.1"); got != "granted" {
		t.Errorf("removed prefix still %s", got)
	}
	if got := access(t, bin, dir, "sshd", "203.0.113.99"); got != "denied" {
		t.Errorf("added address %s", got)
	}
	if n := bytes.Count(mustRead(t, deny), []byte(e.IncludeLine())); n != 1 {
		t.Errorf("include line %d times", n)
	}

	if err := e.Remove(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, deny); string(got) != others {
		t.Errorf("hosts.deny after Remove:\n%q\nwant\n%q", got, others)
	}
	if _, err := os.Stat(e.opts.ListPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("list file left: %v", err)
	}
	check("after remove", theirs, false)
	check("after remove", ours, true)
	if err := e.Remove(t.Context()); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

// TestMissingFinalNewline: Debian's libwrap (7.6.q-32) denies every
// client while hosts.deny's last line lacks its newline. That is the
// operator's file and policy: Rampart keeps the bytes and the verdicts as
// they were, and its own lines go before that last line so they are read.
func TestMissingFinalNewline(t *testing.T) {
	bin := tcpdmatch(t)
	dir := t.TempDir()
	deny := filepath.Join(dir, "hosts.deny")
	const orig = "ALL:192.0.2.9\nsshd: 192.0.2.11"
	if err := os.WriteFile(deny, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	clients := []string{"192.0.2.9", "192.0.2.11", "203.0.113.8", "2001:db8::8"}
	verdicts := func() []string {
		var v []string
		for _, c := range clients {
			v = append(v, access(t, bin, dir, "sshd", c))
		}
		return v
	}
	before := verdicts()
	e := newTestEnforcer(t, dir, nil)
	if _, err := e.Apply(t.Context(), entries("198.51.100.0/24")); err != nil {
		t.Fatal(err)
	}
	if got, want := string(mustRead(t, deny)), "ALL:192.0.2.9\n"+Marker+"\nALL: "+e.opts.ListPath+"\nsshd: 192.0.2.11"; got != want {
		t.Errorf("hosts.deny %q, want %q", got, want)
	}
	if got := verdicts(); !slices.Equal(got, before) {
		t.Errorf("verdicts for %v changed: %v before, %v after", clients, before, got)
	}
	if got := access(t, bin, dir, "sshd", "198.51.100.1"); got != "denied" {
		t.Errorf("listed address %s", got)
	}
	if err := e.Remove(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := string(mustRead(t, deny)); got != orig {
		t.Errorf("after Remove %q, want %q", got, orig)
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestApplyFreshSystem(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	e := newTestEnforcer(t, dir, func(o *Options) {
		o.LockDir = filepath.Join(dir, "no-ossec", "host-deny-lock") // OSSEC not installed
		o.Daemons = "sshd, in.ftpd"
		o.Now = func() time.Time { return now }
	})
	set := []enforce.Entry{
		{Prefix: netip.MustParsePrefix("192.0.2.1/32"), Expires: now.Add(-time.Second)},
		{Prefix: netip.MustParsePrefix("192.0.2.2/32"), Expires: now.Add(time.Hour)},
		{Prefix: netip.MustParsePrefix("192.0.2.3/32")},
	}
	if _, err := e.Apply(t.Context(), set); err != nil {
		t.Fatal(err)
	}
	if got, want := string(mustRead(t, filepath.Join(dir, "hosts.deny"))), Marker+"\nsshd, in.ftpd: "+e.opts.ListPath+"\n"; got != want {
		t.Errorf("fresh hosts.deny %q, want %q", got, want)
	}
	if got, want := string(mustRead(t, e.opts.ListPath)), "192.0.2.2/255.255.255.254\n"; got != want {
		t.Errorf("list %q, want %q (expired entry left out, the others aggregated)", got, want)
	}
	st, err := e.Status(t.Context())
	if err != nil || len(st) != 1 || st[0].Prefix != netip.MustParsePrefix("192.0.2.2/31") || !st[0].Expires.IsZero() {
		t.Errorf("Status = %v, %v", st, err)
	}
	if ok, err := e.Included(t.Context()); !ok || err != nil {
		t.Errorf("Included = %v, %v", ok, err)
	}
	if err := e.Remove(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, filepath.Join(dir, "hosts.deny")); len(got) != 0 {
		t.Errorf("hosts.deny after Remove: %q", got)
	}
}

func TestApplyFollowsSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.deny")
	if err := os.WriteFile(real, []byte("ALL:192.0.2.9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(dir, "hosts.deny")); err != nil {
		t.Fatal(err)
	}
	e := newTestEnforcer(t, dir, nil)
	if _, err := e.Apply(t.Context(), entries("192.0.2.1/32")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "hosts.deny")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("symlink replaced: %v %v", fi, err)
	}
	if got := string(mustRead(t, real)); got != "ALL:192.0.2.9\n"+Marker+"\nALL: "+e.opts.ListPath+"\n" {
		t.Errorf("target %q", got)
	}
}

func TestApplyBadInput(t *testing.T) {
	dir := t.TempDir()
	e := newTestEnforcer(t, dir, nil)
	if err := os.MkdirAll(filepath.Dir(e.opts.ListPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.opts.ListPath, []byte("192.0.2.1\nnot-an-address\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Status(t.Context()); err == nil || !strings.Contains(err.Error(), `hosts.deny.list:2: want an IPv4 address, net/mask or [IPv6]: "not-an-address"`) {
		t.Errorf("Status of a damaged list: %v", err)
	}
	// Apply replaces a damaged list.
	if _, err := e.Apply(t.Context(), entries("192.0.2.5/32")); err != nil {
		t.Fatal(err)
	}
	if got := string(mustRead(t, e.opts.ListPath)); got != "192.0.2.5\n" {
		t.Errorf("list %q", got)
	}
	if _, err := e.Apply(t.Context(), []enforce.Entry{{}}); err == nil {
		t.Errorf("Apply of an invalid prefix: no error")
	}
	for _, o := range []Options{
		{ListPath: "relative/list"}, {ListPath: "/etc/with space"}, {Daemons: "sshd: x"}, {Daemons: "ALL\n"},
		{DenyPath: "hosts.deny"}, {ListPath: "/etc/hosts.deny"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v): no error", o)
		}
	}
}

// ossecScript acts like OSSEC's active-response/host-deny.sh (written for
// this test): mkdir lock with a pid file, "ALL:<ip>" appended on add, lines
// matching "ALL:<ip>$" dropped on delete by rewriting the file in place.
const ossecScript = `
set -u
deny=$1 lock=$2 n=$3
take() { until mkdir "$lock" 2>/dev/null; do sleep 0.002; done; echo $$ > "$lock/pid"; }
give() { rm -rf "$lock"; }
i=0
while [ $i -lt $n ]; do
	take; echo "ALL:198.18.0.$i" >> "$deny"; give
	if [ $((i % 3)) -eq 0 ]; then
		take; grep -v "ALL:198.18.0.$i\$" "$deny" > "$deny.ossec-tmp"; cat "$deny.ossec-tmp" > "$deny"; rm -f "$deny.ossec-tmp"; give
	fi
	i=$((i+1))
done
`

func TestConcurrentWithOSSEC(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("requires sh")
	}
	dir := t.TempDir()
	deny := filepath.Join(dir, "hosts.deny")
	const hand = "sshd: 192.0.2.11\nALL: 192.0.2.10\n"
	if err := os.WriteFile(deny, []byte(hand), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newTestEnforcer(t, dir, func(o *Options) { o.LockAttempts = 40 })
	const n = 60
	cmd := exec.CommandContext(t.Context(), sh, "-c", ossecScript, "host-deny", deny, e.opts.LockDir, fmt.Sprint(n))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var applyErr error
	rounds := 0
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			rounds++
			// Remove and Apply both edit hosts.deny under the lock.
			if _, err := e.Apply(t.Context(), entries(fmt.Sprintf("203.0.113.%d/32", i%200))); err != nil {
				applyErr = err
				return
			}
			if i%2 == 1 {
				if err := e.Remove(t.Context()); err != nil {
					applyErr = err
					return
				}
			}
		}
	})
	err = cmd.Wait()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("ossec script: %v\n%s", err, out.String())
	}
	if applyErr != nil {
		t.Fatal(applyErr)
	}
	if _, err := e.Apply(t.Context(), entries("203.0.113.1/32")); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	want.WriteString(hand)
	for i := range n {
		if i%3 != 0 {
			fmt.Fprintf(&want, "ALL:198.18.0.%d\n", i)
		}
	}
	got, _ := withoutInclude(mustRead(t, deny), e.IncludeLine(), e.opts.ListPath)
	if string(got) != want.String() {
		t.Errorf("after %d rounds of Apply/Remove beside OSSEC, hosts.deny without our lines:\n%s\nwant\n%s", rounds, got, want.String())
	}
	if c := bytes.Count(mustRead(t, deny), []byte(Marker)); c != 1 {
		t.Errorf("marker %d times", c)
	}
	if rounds < 5 {
		t.Logf("only %d rounds overlapped the script", rounds)
	}
}

func TestLock(t *testing.T) {
	quick := lockOptions{Attempts: 3, FirstWait: time.Millisecond, MaxWait: 2 * time.Millisecond}
	deadPID := func(t *testing.T) int {
		cmd := exec.Command("true")
		if err := cmd.Run(); err != nil {
			t.Skip("requires true(1):", err)
		}
		pid := cmd.Process.Pid
		if syscall.Kill(pid, 0) == nil {
			t.Skip("needs a dead pid, but it was reused")
		}
		return pid
	}
	tests := []struct {
		name    string
		setup   func(t *testing.T, lock string)
		wantErr error
	}{
		{"free", func(*testing.T, string) {}, nil},
		{"stale, holder dead", func(t *testing.T, lock string) {
			mkLock(t, lock, fmt.Sprint(deadPID(t)))
		}, nil},
		{"live holder", func(t *testing.T, lock string) { mkLock(t, lock, fmt.Sprint(os.Getpid())) }, ErrLocked},
		{"no pid yet", func(t *testing.T, lock string) { mkLock(t, lock, "") }, ErrLocked},
		{"garbage pid", func(t *testing.T, lock string) { mkLock(t, lock, "x\n") }, ErrLocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lock := filepath.Join(t.TempDir(), "host-deny-lock")
			tt.setup(t, lock)
			l, err := acquireLock(t.Context(), lock, quick, discard())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("acquireLock = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if _, serr := os.Stat(lock); serr != nil {
					t.Errorf("a held lock was removed: %v", serr)
				}
				return
			}
			if pid, ok := holder(lock); !ok || pid != os.Getpid() {
				t.Errorf("pid file holds %d, %v", pid, ok)
			}
			if err := l.release(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(lock); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("lock left after release: %v", err)
			}
		})
	}
	t.Run("no ossec", func(t *testing.T) {
		l, err := acquireLock(t.Context(), filepath.Join(t.TempDir(), "absent", "host-deny-lock"), quick, discard())
		if l != nil || err != nil {
			t.Errorf("acquireLock = %v, %v; want a no-op", l, err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		lock := filepath.Join(t.TempDir(), "host-deny-lock")
		mkLock(t, lock, fmt.Sprint(os.Getpid()))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := acquireLock(ctx, lock, lockOptions{Attempts: 100, FirstWait: time.Hour, MaxWait: time.Hour}, discard()); !errors.Is(err, context.Canceled) {
			t.Errorf("acquireLock = %v", err)
		}
	})
}

func mkLock(t *testing.T, lock, pid string) {
	t.Helper()
	if err := os.Mkdir(lock, 0o700); err != nil {
		t.Fatal(err)
	}
	if pid != "" {
		if err := os.WriteFile(filepath.Join(lock, "pid"), []byte(pid), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }
