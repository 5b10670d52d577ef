package hostsdeny

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
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
	"github.com/rampart-ids/rampart/internal/goldentest"
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
// test is skipped, or fails when CI=true (as internal/testenv does for the
// databases).
func tcpdmatch(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"tcpdmatch", "/usr/sbin/tcpdmatch", "/sbin/tcpdmatch"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	const msg = "requires tcpdmatch (Debian package tcpd)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + " (CI=true: not skipping)")
	}
	t.Skip(msg) // requires tcpdmatch; under CI=true the test fails above instead
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

var forms = []Form{FormSharded, FormSingle}

type probe struct {
	daemon, client, want string
}

// checkAccess asks tcpdmatch about each probe; flip expects every one
// granted.
func checkAccess(t *testing.T, bin, dir, stage string, ps []probe, flip bool) {
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

// theirs are verdicts of the lines in others (and of OSSEC's line added
// after Rampart's), which hold whatever Rampart does.
var theirs = []probe{
	{"sshd", "192.0.2.9", "denied"}, {"vsftpd", "192.0.2.10", "denied"},
	{"sshd", "2001:db8:ffff::9", "denied"}, {"sshd", "192.0.2.11", "denied"},
	{"vsftpd", "192.0.2.11", "granted"}, {"in.ftpd", "192.0.2.13", "denied"}, {"sshd", "192.0.2.13", "granted"},
}

const ossecAfter = "ALL:192.0.2.30\n"

func TestApplyWithTcpdmatch(t *testing.T) {
	bin := tcpdmatch(t)
	for _, form := range forms {
		t.Run(string(form), func(t *testing.T) { testApplyWithTcpdmatch(t, bin, form) })
	}
}

func testApplyWithTcpdmatch(t *testing.T, bin string, form Form) {
	dir := t.TempDir()
	deny := filepath.Join(dir, "hosts.deny")
	if err := os.WriteFile(filepath.Join(dir, "hosts.allow"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(deny, []byte(others), 0o640); err != nil {
		t.Fatal(err)
	}
	e := newTestEnforcer(t, dir, func(o *Options) { o.Form = form })
	set := entries("203.0.113.7/32", "198.51.100.0/24", "2001:db8::7/128", "2001:db8:1::/48", "100.64.0.0/10",
		"2.0.0.0/7", "9.9.9.9/32", "218.92.0.0/24")

	ours := []probe{
		{"sshd", "203.0.113.7", "denied"}, {"sshd", "203.0.113.8", "granted"}, {"sshd", "203.0.113.6", "granted"},
		{"sshd", "::ffff:203.0.113.7", "denied"},
		{"sshd", "198.51.100.0", "denied"}, {"sshd", "198.51.100.255", "denied"},
		{"sshd", "198.51.99.255", "granted"}, {"sshd", "198.51.101.0", "granted"},
		{"sshd", "100.127.255.255", "denied"}, {"sshd", "100.128.0.0", "granted"}, {"sshd", "100.63.255.255", "granted"},
		// 2.0.0.0/7 is split into 2.0.0.0/8 and 3.0.0.0/8.
		{"sshd", "2.0.0.0", "denied"}, {"sshd", "3.255.255.255", "denied"},
		{"sshd", "1.255.255.255", "granted"}, {"sshd", "4.0.0.0", "granted"},
		// 9. must not catch 99.x or 19.x.
		{"sshd", "9.9.9.9", "denied"}, {"sshd", "9.9.9.10", "granted"}, {"sshd", "99.9.9.9", "granted"}, {"sshd", "19.9.9.9", "granted"},
		{"in.ftpd", "218.92.0.77", "denied"}, {"sshd", "218.92.1.0", "granted"},
		{"sshd", "2001:db8::7", "denied"}, {"sshd", "2001:db8::8", "granted"},
		{"sshd", "2001:db8:1::", "denied"}, {"sshd", "2001:db8:1:ffff:ffff:ffff:ffff:ffff", "denied"},
		{"sshd", "2001:db8:2::", "granted"}, {"sshd", "2001:db8:0:ffff::1", "granted"},
	}
	checkAccess(t, bin, dir, "before", theirs, false)
	checkAccess(t, bin, dir, "before", ours, true)

	res, err := e.Apply(t.Context(), set)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != len(set) || res.Removed != 0 || res.Kept != 0 {
		t.Errorf("first Apply = %+v, want %d added", res, len(set))
	}
	if got, want := string(mustRead(t, deny)), others+e.Block(); got != want {
		t.Errorf("hosts.deny after Apply:\n%q\nwant\n%q", got, want)
	}
	if fi, err := os.Stat(deny); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("hosts.deny mode not kept: %v %v", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Dir(e.opts.ListPath)); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("list directory: %v %v", fi, err)
	}
	checkAccess(t, bin, dir, "after apply", theirs, false)
	checkAccess(t, bin, dir, "after apply", ours, false)

	// OSSEC adds a line after ours.
	appendFile(t, deny, ossecAfter)
	if got := access(t, bin, dir, "sshd", "192.0.2.30"); got != "denied" {
		t.Errorf("OSSEC's line after the block: %s", got)
	}

	// Same set again: nothing written, hosts.deny included.
	before := listState(t, e)
	denyBefore, _ := os.Stat(deny)
	res, err = e.Apply(t.Context(), set)
	if err != nil || res.Added != 0 || res.Removed != 0 || res.Kept != len(set) || res.Duration != 0 {
		t.Errorf("second Apply = %+v, %v", res, err)
	}
	if after := listState(t, e); after != before {
		t.Errorf("second Apply rewrote the list: %s, then %s", before, after)
	}
	if denyAfter, _ := os.Stat(deny); !os.SameFile(denyBefore, denyAfter) {
		t.Errorf("second Apply rewrote hosts.deny")
	}

	// A smaller set: two entries gone, one new.
	res, err = e.Apply(t.Context(), entries("203.0.113.7/32", "198.51.100.0/24", "2001:db8::7/128", "2001:db8:1::/48",
		"2.0.0.0/7", "9.9.9.9/32", "203.0.113.99/32"))
	if err != nil || res.Added != 1 || res.Removed != 2 || res.Kept != 6 {
		t.Errorf("third Apply = %+v, %v", res, err)
	}
	for c, want := range map[string]string{"100.64.0.1": "granted", "218.92.0.77": "granted", "203.0.113.99": "denied", "3.0.0.1": "denied"} {
		if got := access(t, bin, dir, "sshd", c); got != want {
			t.Errorf("after the third Apply %s: %s, want %s", c, got, want)
		}
	}
	if got, want := string(mustRead(t, deny)), others+e.Block()+ossecAfter; got != want {
		t.Errorf("hosts.deny after the third Apply:\n%q\nwant\n%q", got, want)
	}

	if err := e.Remove(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := string(mustRead(t, deny)); got != others+ossecAfter {
		t.Errorf("hosts.deny after Remove:\n%q\nwant\n%q", got, others+ossecAfter)
	}
	for _, p := range []string{e.opts.ListPath, e.ListDir()} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left: %v", p, err)
		}
	}
	checkAccess(t, bin, dir, "after remove", theirs, false)
	checkAccess(t, bin, dir, "after remove", ours, true)
	if err := e.Remove(t.Context()); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

// listState names what the list is now: the list file's inode, or the
// generation current links to.
func listState(t testing.TB, e *Enforcer) string {
	t.Helper()
	if e.Form() == FormSingle {
		fi, err := os.Stat(e.opts.ListPath)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(fi.Sys().(*syscall.Stat_t).Ino)
	}
	gen, err := os.Readlink(filepath.Join(e.ListDir(), currentName))
	if err != nil {
		t.Fatal(err)
	}
	return gen
}

func appendFile(t testing.TB, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestUpgradeFromSingle: a hosts.deny with an older Rampart's single
// include line gets the block instead, the old list file goes, and no
// verdict changes; switching back works the same way.
func TestUpgradeFromSingle(t *testing.T) {
	bin := tcpdmatch(t)
	dir := t.TempDir()
	deny := filepath.Join(dir, "hosts.deny")
	if err := os.WriteFile(deny, []byte(others), 0o644); err != nil {
		t.Fatal(err)
	}
	single := newTestEnforcer(t, dir, func(o *Options) { o.Form = FormSingle })
	sharded := newTestEnforcer(t, dir, nil)
	set := entries("203.0.113.7/32", "198.51.100.0/24", "2001:db8:1::/48", "0.0.0.0/6")
	ps := append([]probe{
		{"sshd", "203.0.113.7", "denied"}, {"sshd", "198.51.100.9", "denied"}, {"sshd", "2001:db8:1::5", "denied"},
		{"sshd", "0.1.2.3", "denied"}, {"sshd", "3.255.255.255", "denied"}, {"sshd", "4.0.0.0", "granted"},
		{"sshd", "203.0.113.8", "granted"}, {"sshd", "2001:db8:2::5", "granted"},
	}, theirs...)

	if _, err := single.Apply(t.Context(), set); err != nil {
		t.Fatal(err)
	}
	appendFile(t, deny, ossecAfter)
	checkAccess(t, bin, dir, "single", ps, false)

	res, err := sharded.Apply(t.Context(), set)
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != len(set) {
		t.Errorf("upgrade Apply = %+v, want %d added (the new list was empty)", res, len(set))
	}
	if got, want := string(mustRead(t, deny)), others+ossecAfter+sharded.Block(); got != want {
		t.Errorf("hosts.deny after the upgrade:\n%q\nwant\n%q", got, want)
	}
	if _, err := os.Stat(single.opts.ListPath); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("old list file left: %v", err)
	}
	checkAccess(t, bin, dir, "sharded", ps, false)
	if ok, err := single.Included(t.Context()); ok || err != nil {
		t.Errorf("single form still included: %v, %v", ok, err)
	}

	if _, err := single.Apply(t.Context(), set); err != nil {
		t.Fatal(err)
	}
	if got, want := string(mustRead(t, deny)), others+ossecAfter+single.Block(); got != want {
		t.Errorf("hosts.deny after switching back:\n%q\nwant\n%q", got, want)
	}
	if _, err := os.Stat(sharded.ListDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("list directory left: %v", err)
	}
	checkAccess(t, bin, dir, "single again", ps, false)

	// Remove of either form removes both.
	if _, err := sharded.Apply(t.Context(), set); err != nil {
		t.Fatal(err)
	}
	if err := single.Remove(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := string(mustRead(t, deny)); got != others+ossecAfter {
		t.Errorf("hosts.deny after Remove: %q", got)
	}
	if _, err := os.Stat(sharded.ListDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("list directory left: %v", err)
	}
}

// TestMissingFinalNewline: Debian's libwrap (7.6.q-32) denies every
// client while hosts.deny's last line lacks its newline. That is the
// operator's file and policy: Rampart keeps the bytes and the verdicts as
// they were, and its own lines go before that last line so they are read.
func TestMissingFinalNewline(t *testing.T) {
	bin := tcpdmatch(t)
	for _, form := range forms {
		t.Run(string(form), func(t *testing.T) {
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
			e := newTestEnforcer(t, dir, func(o *Options) { o.Form = form })
			if _, err := e.Apply(t.Context(), entries("198.51.100.0/24")); err != nil {
				t.Fatal(err)
			}
			if got, want := string(mustRead(t, deny)), "ALL:192.0.2.9\n"+e.Block()+"sshd: 192.0.2.11"; got != want {
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
		})
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
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	for _, form := range forms {
		t.Run(string(form), func(t *testing.T) {
			dir := t.TempDir()
			e := newTestEnforcer(t, dir, func(o *Options) {
				o.LockDir = filepath.Join(dir, "no-ossec", "host-deny-lock") // OSSEC not installed
				o.Daemons = "sshd, in.ftpd"
				o.Now = func() time.Time { return now }
				o.Form = form
			})
			set := []enforce.Entry{
				{Prefix: netip.MustParsePrefix("192.0.2.1/32"), Expires: now.Add(-time.Second)},
				{Prefix: netip.MustParsePrefix("192.0.2.2/32"), Expires: now.Add(time.Hour)},
				{Prefix: netip.MustParsePrefix("192.0.2.3/32")},
			}
			if _, err := e.Apply(t.Context(), set); err != nil {
				t.Fatal(err)
			}
			deny := string(mustRead(t, filepath.Join(dir, "hosts.deny")))
			if deny != e.Block() || !strings.Contains(deny, "\nsshd, in.ftpd: ") {
				t.Errorf("fresh hosts.deny %q, want %q with the daemon list", deny, e.Block())
			}
			list := e.opts.ListPath
			if form == FormSharded {
				list = filepath.Join(e.ListDir(), currentName, "192")
			}
			if got, want := string(mustRead(t, list)), "192.0.2.2/255.255.255.254\n"; got != want {
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
			if ents, err := os.ReadDir(filepath.Join(dir, "rampart")); err != nil || len(ents) != 0 {
				t.Errorf("left after Remove: %v %v", ents, err)
			}
		})
	}
}

// TestGenerations: each change is a new generation directory that current
// links to (relative), readable by everyone; the one before stays until the
// next change, older ones and leftovers of failed applies go.
func TestGenerations(t *testing.T) {
	dir := t.TempDir()
	e := newTestEnforcer(t, dir, func(o *Options) { o.GenerationGrace = -1 })
	ld := e.ListDir()
	if err := os.MkdirAll(filepath.Join(ld, "gen-leftover"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ld, "operator-notes"), []byte("mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var gens []string
	for i := range 4 {
		if _, err := e.Apply(t.Context(), entries(fmt.Sprintf("203.0.113.%d/32", i), "2001:db8::1/128")); err != nil {
			t.Fatal(err)
		}
		gen := listState(t, e)
		if filepath.IsAbs(gen) || !strings.HasPrefix(gen, genPrefix) {
			t.Fatalf("current -> %q, want a relative gen-* name", gen)
		}
		gens = append(gens, gen)
		want := []string{".", currentName, "operator-notes", gen, filepath.Join(gen, "203"), filepath.Join(gen, v6Name)}
		if i > 0 {
			prev := gens[i-1]
			want = append(want, prev, filepath.Join(prev, "203"), filepath.Join(prev, v6Name))
		}
		var got []string
		err := filepath.WalkDir(ld, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(ld, p)
			got = append(got, rel)
			fi, err := os.Lstat(p)
			if err != nil {
				return err
			}
			switch {
			case rel == "operator-notes", fi.Mode()&fs.ModeSymlink != 0:
			case fi.IsDir() && fi.Mode().Perm() != 0o755, !fi.IsDir() && fi.Mode().Perm() != 0o644:
				t.Errorf("%s: mode %v", rel, fi.Mode())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("apply %d: list directory holds %q, want %q", i, got, want)
		}
		if i > 0 {
			// v6 did not change: linked, not written again; 203 did.
			same := func(name string) bool {
				a, err1 := os.Stat(filepath.Join(ld, gens[i-1], name))
				b, err2 := os.Stat(filepath.Join(ld, gen, name))
				return err1 == nil && err2 == nil && os.SameFile(a, b)
			}
			if !same(v6Name) || same("203") {
				t.Errorf("apply %d: v6 linked %v (want true), 203 linked %v (want false)", i, same(v6Name), same("203"))
			}
		}
	}
	// A file that lost its mode is written again, not linked.
	if err := os.Chmod(filepath.Join(ld, currentName, v6Name), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Apply(t.Context(), entries("203.0.113.7/32", "2001:db8::1/128")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(ld, currentName, v6Name)); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("v6 after its mode changed: %v, %v", fi, err)
	}
	// A directory where the link belongs is replaced.
	cur := filepath.Join(ld, currentName)
	if err := os.Remove(cur); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(cur, "203"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Apply(t.Context(), entries("203.0.113.9/32")); err != nil {
		t.Fatal(err)
	}
	if got := string(mustRead(t, filepath.Join(cur, "203"))); got != "203.0.113.9\n" {
		t.Errorf("after replacing a directory current: %q", got)
	}
	// Remove leaves what it did not write, and the directory then.
	if err := e.Remove(t.Context()); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(ld)
	if err != nil || len(ents) != 1 || ents[0].Name() != "operator-notes" {
		t.Errorf("after Remove the list directory holds %v, %v", ents, err)
	}
}

// TestConcurrentApplies: two writers (rampart ban beside the agent) apply
// at once; a file opened through current is always there, and the last
// apply wins.
func TestConcurrentApplies(t *testing.T) {
	dir := t.TempDir()
	a, b := newTestEnforcer(t, dir, nil), newTestEnforcer(t, dir, nil)
	if _, err := a.Apply(t.Context(), entries("203.0.113.1/32", "2001:db8::1/128")); err != nil {
		t.Fatal(err)
	}
	cur := filepath.Join(a.ListDir(), currentName)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var broken []string
	var mu sync.Mutex
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			// What libwrap does: open a file through current.
			if _, err := os.ReadFile(filepath.Join(cur, v6Name)); err != nil {
				mu.Lock()
				broken = append(broken, err.Error())
				mu.Unlock()
			}
		}
	})
	var writers sync.WaitGroup
	for w, e := range []*Enforcer{a, b} {
		writers.Go(func() {
			for i := range 15 {
				if _, err := e.Apply(t.Context(), entries(fmt.Sprintf("198.51.%d.%d/32", w, i), "2001:db8::1/128")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	if len(broken) > 0 {
		t.Errorf("current unreadable %d times during the applies, first: %s", len(broken), broken[0])
	}
	want := entries("198.51.0.14/32", "2001:db8::1/128")
	if _, err := a.Apply(t.Context(), want); err != nil {
		t.Fatal(err)
	}
	if st, err := b.Status(t.Context()); err != nil || !slices.Equal(st, want) {
		t.Errorf("Status = %v, %v; want %v", st, err, want)
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
	if got := string(mustRead(t, real)); got != "ALL:192.0.2.9\n"+e.Block() {
		t.Errorf("target %q", got)
	}
}

func TestApplyBadInput(t *testing.T) {
	t.Run("single", func(t *testing.T) {
		e := newTestEnforcer(t, t.TempDir(), func(o *Options) { o.Form = FormSingle })
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
	})
	t.Run("sharded", func(t *testing.T) {
		e := newTestEnforcer(t, t.TempDir(), nil)
		if _, err := e.Apply(t.Context(), entries("192.0.2.5/32", "2001:db8::1/128")); err != nil {
			t.Fatal(err)
		}
		cur := filepath.Join(e.ListDir(), currentName)
		for _, tt := range []struct{ file, body, want string }{
			{"192", "192.0.2.5\nnope\n", `/current/192:2: want an IPv4 address, net/mask or [IPv6]: "nope"`},
			{"192", "192.0.2.5\n193.0.2.5\n", `/current/192:2: pattern outside the file's octet 192: "193.0.2.5"`},
			{"192", "192.0.0.0/255.0.0.0\n128.0.0.0/128.0.0.0\n", `/current/192:2: pattern outside the file's octet 192: "128.0.0.0/128.0.0.0"`},
			{"192", "[2001:db8::5]\n", `/current/192:1: IPv6 pattern in an IPv4 octet file: "[2001:db8::5]"`},
			{"v6", "[2001:db8::1] 192.0.2.5\n", `/current/v6:1: IPv4 pattern in the IPv6 file: "192.0.2.5"`},
		} {
			path := filepath.Join(cur, tt.file)
			good := mustRead(t, path)
			if err := os.WriteFile(path, []byte(tt.body), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := e.Status(t.Context()); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Status with %s holding %q: %v, want %s", tt.file, tt.body, err, tt.want)
			}
			if err := os.WriteFile(path, good, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		// Files libwrap never opens are not read; Apply replaces a
		// damaged generation.
		if err := os.WriteFile(filepath.Join(cur, "notes.txt"), []byte("not a list"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(cur, "10"), []byte("bogus\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Apply(t.Context(), entries("192.0.2.5/32", "2001:db8::1/128")); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(cur, "10")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("damaged file kept: %v", err)
		}
		if st, err := e.Status(t.Context()); err != nil || len(st) != 2 {
			t.Errorf("Status after the repair = %v, %v", st, err)
		}
	})
	for _, o := range []Options{
		{ListPath: "relative/list"}, {ListPath: "/etc/with space"}, {ListPath: "/etc/with\ttab"}, {ListPath: "/etc/a:b"},
		{ListPath: "/etc/a,b"}, {ListPath: `/etc/a\`}, {ListPath: "/"}, {Daemons: "sshd: x"}, {Daemons: "ALL\n"},
		{DenyPath: "hosts.deny"}, {ListPath: "/etc/hosts.deny"}, {ListPath: "/etc/x", DenyPath: "/etc/x.d/hosts.deny"},
		{Form: "sharded "}, {Form: "one"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v): no error", o)
		}
	}
	if _, err := New(Options{ListPath: "/etc/a:b"}); err == nil || !strings.Contains(err.Error(), `list path "/etc/a:b": want an absolute file path without white space, ',', ':'`) {
		t.Errorf("New with ':' in the list path: %v", err)
	}
}

func TestParseForm(t *testing.T) {
	for _, f := range forms {
		if got, err := ParseForm(string(f)); err != nil || got != f {
			t.Errorf("ParseForm(%q) = %v, %v", f, got, err)
		}
	}
	if _, err := ParseForm("include"); err == nil || err.Error() != `hosts.deny form "include": want sharded or single` {
		t.Errorf("ParseForm(include) = %v", err)
	}
}

// TestBlockGolden keeps the lines Rampart writes into hosts.deny, with the
// default paths, in testdata/block (go test -update rewrites them).
func TestBlockGolden(t *testing.T) {
	for _, form := range forms {
		e, err := New(Options{Form: form})
		if err != nil {
			t.Fatal(err)
		}
		goldentest.Check(t, filepath.Join("testdata", "block", string(form)+".golden"), []byte(e.Block()))
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
	got, _ := e.own.without(mustRead(t, deny))
	if string(got) != want.String() {
		t.Errorf("after %d rounds of Apply/Remove beside OSSEC, hosts.deny without our lines:\n%s\nwant\n%s", rounds, got, want.String())
	}
	if c := strings.Count(string(mustRead(t, deny)), e.Block()); c != 1 || !e.own.has(mustRead(t, deny)) {
		t.Errorf("block %d times", c)
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
