package nginx

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
	"strings"
	"syscall"
	"time"

	"github.com/rampart-ids/rampart/internal/atomicfile"
	"github.com/rampart-ids/rampart/internal/enforce"
)

// Defaults for Options.
const (
	DefaultPath         = "/etc/nginx/rampart/blocklist.conf"
	DefaultVariable     = "rampart_blocked"
	DefaultBinary       = "nginx"
	DefaultAutoGeoAbove = 1000
	DefaultTimeout      = 30 * time.Second
)

// Options configure an Enforcer. The zero value of each field means its
// default.
type Options struct {
	// Path is the include file (default /etc/nginx/rampart/blocklist.conf).
	// It must be absolute: nginx -T names included files by the path the
	// configuration gives, and the check that the file is included
	// compares with it.
	Path string
	// Form is the file's shape (default FormDeny).
	Form Form
	// AutoGeoAbove is the size above which FormAuto writes the geo form
	// (default 1000).
	AutoGeoAbove int
	// Variable is the geo variable's name without "$" (default
	// rampart_blocked).
	Variable string
	// Binary is the nginx executable (default "nginx", looked up in PATH).
	Binary string
	// Conf and Prefix are passed to every nginx command as -c and -p when
	// set (default: nginx's compiled-in configuration and prefix).
	Conf, Prefix string
	// Reload is the command that reloads nginx, program and arguments
	// (default: Binary [-p Prefix] [-c Conf] -s reload). Use e.g.
	// systemctl reload nginx where a service manager owns nginx.
	Reload []string
	// Timeout bounds each nginx command (default 30 s).
	Timeout time.Duration
	// Now decides which entries have expired (default time.Now).
	Now func() time.Time
	// Logger gets warnings such as a file the configuration does not
	// include (default: discard).
	Logger *slog.Logger
}

// Enforcer is the nginx back end. It keeps no state between calls:
// everything is read back from the file.
type Enforcer struct {
	opts Options
	test []string // nginx -T with -p/-c
	log  *slog.Logger
}

var _ enforce.Enforcer = (*Enforcer)(nil)

// New checks opts and returns an Enforcer. It does not run nginx.
func New(opts Options) (*Enforcer, error) {
	if opts.Path == "" {
		opts.Path = DefaultPath
	}
	if opts.Variable == "" {
		opts.Variable = DefaultVariable
	}
	if opts.Binary == "" {
		opts.Binary = DefaultBinary
	}
	if opts.AutoGeoAbove <= 0 {
		opts.AutoGeoAbove = DefaultAutoGeoAbove
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if !filepath.IsAbs(opts.Path) || strings.ContainsFunc(opts.Path, isSpaceOrControl) || strings.ContainsAny(opts.Path, ";{}'\"$#") {
		return nil, fmt.Errorf("nginx: include path %q: want an absolute path without white space, quotes, ';', '{', '}', '$' or '#'", opts.Path)
	}
	opts.Path = filepath.Clean(opts.Path)
	if strings.TrimLeftFunc(opts.Variable, isVarRune) != "" {
		return nil, fmt.Errorf("nginx: variable %q: want letters, digits and '_' only (without '$')", opts.Variable)
	}
	if opts.Form != FormDeny && opts.Form != FormGeo && opts.Form != FormAuto {
		return nil, fmt.Errorf("nginx: form %d: want deny, geo or auto", int(opts.Form))
	}
	if opts.Conf != "" && filepath.Clean(opts.Conf) == opts.Path {
		return nil, fmt.Errorf("nginx: include path %q is the configuration itself", opts.Path)
	}
	var base []string
	if opts.Prefix != "" {
		base = append(base, "-p", opts.Prefix)
	}
	if opts.Conf != "" {
		base = append(base, "-c", opts.Conf)
	}
	if len(opts.Reload) == 0 {
		opts.Reload = append(append([]string{opts.Binary}, base...), "-s", "reload")
	}
	return &Enforcer{
		opts: opts,
		test: append(append([]string{opts.Binary}, base...), "-T"),
		log:  opts.Logger.With("component", "enforce.nginx"),
	}, nil
}

func isSpaceOrControl(r rune) bool { return r == ' ' || r == '\t' || r < 0x20 || r == 0x7f }

func isVarRune(r rune) bool {
	return r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// Name is "nginx".
func (e *Enforcer) Name() string { return "nginx" }

// Path is the include file.
func (e *Enforcer) Path() string { return e.opts.Path }

// Apply makes the include file hold exactly set (expired entries left out),
// has nginx test the configuration and reloads it. If nginx rejects the
// configuration or the reload fails, the previous file is restored and the
// error carries nginx's message. Applying the same set again runs nothing.
// A stopped nginx is not an error: the list takes effect when it starts.
func (e *Enforcer) Apply(ctx context.Context, set []enforce.Entry) (enforce.Result, error) {
	// nginx keeps no expiry, so the file is compared on prefixes alone.
	want, err := enforce.Unexpiring(set, e.opts.Now())
	if err != nil {
		return enforce.Result{}, fmt.Errorf("nginx: apply: %w", err)
	}

	unlock, err := e.lock()
	if err != nil {
		return enforce.Result{}, fmt.Errorf("nginx: apply: %w", err)
	}
	defer unlock()
	old, existed, mode, err := e.read()
	if err != nil {
		return enforce.Result{}, fmt.Errorf("nginx: apply: %w", err)
	}
	var have []enforce.Entry
	if existed {
		if have, err = Parse(e.opts.Path, old); err != nil {
			// A damaged file is replaced, not trusted.
			e.log.Warn("replacing unreadable include file", "path", e.opts.Path, "err", err)
			have = nil
		}
	}
	add, remove, kept := enforce.Diff(want, have)
	res := enforce.Result{Added: len(add), Removed: len(remove), Kept: kept}

	prefixes := enforce.Prefixes(want)
	body := e.render(prefixes)
	if existed && bytes.Equal(old, body) {
		return res, nil
	}
	start := time.Now()
	if _, err := e.replace(ctx, old, existed, mode, body, false); err != nil {
		return enforce.Result{}, fmt.Errorf("nginx: apply: %w", err)
	}
	res.Duration = time.Since(start)
	return res, nil
}

func (e *Enforcer) render(prefixes []netip.Prefix) []byte {
	b := make([]byte, 0, 128+32*len(prefixes))
	switch {
	case e.opts.Form == FormGeo, e.opts.Form == FormAuto && len(prefixes) > e.opts.AutoGeoAbove:
		return AppendGeo(b, prefixes, e.opts.Variable)
	case e.opts.Form == FormAuto:
		return AppendDeny(b, prefixes, e.opts.Variable)
	}
	return AppendDeny(b, prefixes, "")
}

// Status reads the include file back. A missing file blocks nothing.
func (e *Enforcer) Status(ctx context.Context) ([]enforce.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(e.opts.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("nginx: status: %w", err)
	}
	entries, err := Parse(e.opts.Path, data)
	if err != nil {
		return nil, fmt.Errorf("nginx: status: %w", err)
	}
	return entries, nil
}

// Included runs nginx -T and reports whether the configuration includes
// the file. An error means nginx rejects the configuration as it is.
func (e *Enforcer) Included(ctx context.Context) (bool, error) {
	inc, err := e.runTest(ctx)
	if err != nil {
		return false, fmt.Errorf("nginx: %w", err)
	}
	return inc, nil
}

// Remove unblocks everything. Where the configuration includes the file it
// is left in place holding no entry (the geo form keeps its variable,
// always 0), because nginx refuses a configuration whose include is
// missing; where it does not, the file is deleted. nginx is reloaded as in
// Apply, and a rejected configuration restores the previous file.
func (e *Enforcer) Remove(ctx context.Context) error {
	unlock, err := e.lock()
	if err != nil {
		return fmt.Errorf("nginx: remove: %w", err)
	}
	defer unlock()
	old, existed, mode, err := e.read()
	if err != nil {
		return fmt.Errorf("nginx: remove: %w", err)
	}
	if !existed {
		return nil
	}
	// Keep the variable the operator's "if" may name, whatever Form says.
	body := AppendDeny(nil, nil, "")
	if e.opts.Form != FormDeny || bytes.Contains(old, []byte("geo $")) {
		body = AppendGeo(nil, nil, e.opts.Variable)
	}
	if _, err := e.replace(ctx, old, existed, mode, body, true); err != nil {
		return fmt.Errorf("nginx: remove: %w", err)
	}
	return nil
}

// read returns the current file, whether it exists, and its mode.
func (e *Enforcer) read() ([]byte, bool, fs.FileMode, error) {
	data, err := os.ReadFile(e.opts.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, 0o644, nil
	}
	if err != nil {
		return nil, false, 0, err
	}
	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(e.opts.Path); err == nil {
		mode = fi.Mode().Perm()
	}
	return data, true, mode, nil
}

// replace writes body, tests the configuration and reloads nginx; on any
// failure it puts old back (or deletes the file if there was none). With
// dropUnused, a file the configuration does not include is deleted instead
// of kept. It reports whether the configuration includes the file.
func (e *Enforcer) replace(ctx context.Context, old []byte, existed bool, mode fs.FileMode, body []byte, dropUnused bool) (bool, error) {
	if err := os.MkdirAll(filepath.Dir(e.opts.Path), 0o755); err != nil {
		return false, err
	}
	if err := atomicfile.WriteFile(e.opts.Path, body, mode); err != nil {
		return false, err
	}
	included, err := e.runTest(ctx)
	if err != nil {
		return false, e.restore(old, existed, mode, err)
	}
	if !included {
		if dropUnused {
			if err := os.Remove(e.opts.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return false, err
			}
			return false, nil
		}
		e.log.Warn("the nginx configuration does not include the block list: nothing is blocked until it does",
			"path", e.opts.Path, "conf", e.opts.Conf)
	}
	if err := e.reload(ctx); err != nil {
		return included, e.restore(old, existed, mode, err)
	}
	return included, nil
}

// restore puts the previous file back after cause and says so.
func (e *Enforcer) restore(old []byte, existed bool, mode fs.FileMode, cause error) error {
	var err error
	if existed {
		err = atomicfile.WriteFile(e.opts.Path, old, mode)
	} else if err = os.Remove(e.opts.Path); errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("%w; restoring the previous file failed too: %w", cause, err)
	}
	return fmt.Errorf("%w (previous file restored)", cause)
}

// runTest runs nginx -T: -t's test plus a dump that names every file the
// configuration includes, so one run also says whether ours is among them.
func (e *Enforcer) runTest(ctx context.Context) (bool, error) {
	find := &includeFinder{want: "# configuration file " + e.opts.Path + ":"}
	if err := e.run(ctx, e.test, find); err != nil {
		return false, err
	}
	return find.found, nil
}

func (e *Enforcer) reload(ctx context.Context) error {
	err := e.run(ctx, e.opts.Reload, nil)
	var ce *commandError
	if errors.As(err, &ce) && ce.notRunning() {
		e.log.Info("nginx is not running: the block list takes effect when it starts", "path", e.opts.Path)
		return nil
	}
	return err
}

// commandError is a failed nginx command with what it printed.
type commandError struct {
	Args   []string
	Err    error
	Output string
}

func (c *commandError) Error() string {
	if c.Output == "" {
		return fmt.Sprintf("%s: %v", strings.Join(c.Args, " "), c.Err)
	}
	return fmt.Sprintf("%s: %v: %s", strings.Join(c.Args, " "), c.Err, c.Output)
}

func (c *commandError) Unwrap() error { return c.Err }

// notRunning tells nginx's "no master to signal" messages (no PID file,
// an empty one, or a stale PID) from real reload failures.
func (c *commandError) notRunning() bool {
	o := c.Output
	return strings.Contains(o, `invalid PID number ""`) ||
		strings.Contains(o, `.pid" failed (2: No such file or directory)`) ||
		strings.Contains(o, "(3: No such process)")
}

func (e *Enforcer) run(ctx context.Context, args []string, stdout *includeFinder) error {
	ctx, cancel := context.WithTimeout(ctx, e.opts.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.WaitDelay = time.Second
	stderr := &capped{max: 16 << 10}
	cmd.Stderr = stderr
	if stdout != nil {
		cmd.Stdout = stdout
	} else {
		cmd.Stdout = stderr
	}
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", err, context.Cause(ctx))
		}
		return &commandError{Args: args, Err: err, Output: strings.TrimSpace(stderr.String())}
	}
	if msg := strings.TrimSpace(stderr.String()); msg != "" && strings.Contains(msg, "[warn]") {
		e.log.Warn("nginx warns", "command", strings.Join(args, " "), "output", msg)
	}
	return nil
}

// includeFinder is nginx -T's stdout: it looks for one header line without
// keeping the dump, which holds the whole list.
type includeFinder struct {
	want  string
	found bool
	line  []byte
	long  bool
}

func (w *includeFinder) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if !w.long {
			if len(w.line)+len(chunk) > len(w.want) {
				w.long = true
			} else {
				w.line = append(w.line, chunk...)
			}
		}
		if i < 0 {
			break
		}
		if !w.long && string(w.line) == w.want {
			w.found = true
		}
		w.line, w.long = w.line[:0], false
		p = p[i+1:]
	}
	return n, nil
}

// capped keeps the first max bytes written to it.
type capped struct {
	max int
	buf bytes.Buffer
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (c *capped) String() string { return c.buf.String() }

// lock serialises rampart processes editing the same file, so one's
// restore never undoes another's apply. nginx itself does not take it.
func (e *Enforcer) lock() (func(), error) {
	dir := filepath.Dir(e.opts.Path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	name := filepath.Join(dir, "."+filepath.Base(e.opts.Path)+".lock")
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return func() { f.Close() }, nil
}
