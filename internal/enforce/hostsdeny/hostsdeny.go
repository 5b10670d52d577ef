package hostsdeny

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/rampart-ids/rampart/internal/atomicfile"
	"github.com/rampart-ids/rampart/internal/enforce"
)

// Defaults for Options.
const (
	DefaultDenyPath = "/etc/hosts.deny"
	DefaultListPath = "/etc/rampart/hosts.deny.list"
	DefaultLockDir  = "/var/ossec/host-deny-lock"
	DefaultDaemons  = "ALL"
)

// Options configure an Enforcer. The zero value of each field means its
// default.
type Options struct {
	// DenyPath is the hosts.deny file (default /etc/hosts.deny).
	DenyPath string
	// ListPath is the list file hosts.deny includes (default
	// /etc/rampart/hosts.deny.list). libwrap only takes it for a file
	// when it starts with a slash, and splits patterns at white space,
	// so it must be absolute and hold no space.
	ListPath string
	// LockDir is OSSEC's lock directory (default
	// /var/ossec/host-deny-lock), held while hosts.deny is edited.
	LockDir string
	// Daemons is the daemon list of the include line (default "ALL").
	Daemons string
	// LockAttempts bounds how often the lock is tried (default 12);
	// LockWait is the first wait between tries (default 20 ms), doubling
	// up to one second: about 5 s in all by default.
	LockAttempts int
	LockWait     time.Duration
	// Now decides which entries have expired (default time.Now).
	Now func() time.Time
	// Logger gets warnings such as a removed stale lock (default: discard).
	Logger *slog.Logger
}

// Enforcer is the hosts.deny back end. It keeps no state between calls:
// everything is read back from the files.
type Enforcer struct {
	opts    Options
	include string
	log     *slog.Logger
}

var _ enforce.Enforcer = (*Enforcer)(nil)

// New checks opts and returns an Enforcer.
func New(opts Options) (*Enforcer, error) {
	if opts.DenyPath == "" {
		opts.DenyPath = DefaultDenyPath
	}
	if opts.ListPath == "" {
		opts.ListPath = DefaultListPath
	}
	if opts.LockDir == "" {
		opts.LockDir = DefaultLockDir
	}
	if opts.Daemons == "" {
		opts.Daemons = DefaultDaemons
	}
	if opts.LockAttempts <= 0 {
		opts.LockAttempts = 12
	}
	if opts.LockWait <= 0 {
		opts.LockWait = 20 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if !strings.HasPrefix(opts.ListPath, "/") || strings.ContainsFunc(opts.ListPath, isSpaceOrControl) {
		return nil, fmt.Errorf("hostsdeny: list path %q: want an absolute path without white space (libwrap splits patterns at it)", opts.ListPath)
	}
	if strings.ContainsAny(opts.Daemons, ":#\\") || strings.ContainsFunc(opts.Daemons, isControl) || strings.TrimSpace(opts.Daemons) != opts.Daemons {
		return nil, fmt.Errorf("hostsdeny: daemons %q: want a libwrap daemon list without ':', '#', '\\' or control characters", opts.Daemons)
	}
	for _, p := range []struct{ name, path string }{{"hosts.deny path", opts.DenyPath}, {"lock dir", opts.LockDir}} {
		if !filepath.IsAbs(p.path) {
			return nil, fmt.Errorf("hostsdeny: %s %q: want an absolute path", p.name, p.path)
		}
	}
	if filepath.Clean(opts.ListPath) == filepath.Clean(opts.DenyPath) {
		return nil, fmt.Errorf("hostsdeny: list path %q is hosts.deny itself", opts.ListPath)
	}
	return &Enforcer{
		opts:    opts,
		include: opts.Daemons + ": " + opts.ListPath,
		log:     opts.Logger.With("component", "enforce.hostsdeny"),
	}, nil
}

func isControl(r rune) bool        { return r < 0x20 || r == 0x7f }
func isSpaceOrControl(r rune) bool { return r == ' ' || isControl(r) }

// Name is "hostsdeny".
func (e *Enforcer) Name() string { return "hostsdeny" }

// IncludeLine is the one line of hosts.deny Rampart owns (without newline).
func (e *Enforcer) IncludeLine() string { return e.include }

// Apply makes the list file hold exactly set (entries that have expired
// are left out) and makes sure hosts.deny includes it. The include line is
// added first: until the list file exists it names a missing file, which
// libwrap ignores, so a failure at any step leaves the previous blocking in
// force. Applying the same set again writes nothing.
func (e *Enforcer) Apply(ctx context.Context, set []enforce.Entry) (enforce.Result, error) {
	// libwrap keeps no expiry, so the file is compared on prefixes alone.
	want, err := enforce.Unexpiring(set, e.opts.Now())
	if err != nil {
		return enforce.Result{}, fmt.Errorf("hostsdeny: apply: %w", err)
	}
	have, err := e.Status(ctx)
	if err != nil {
		// A damaged list is replaced, not trusted.
		e.log.Warn("replacing unreadable list file", "path", e.opts.ListPath, "err", err)
		have = nil
	}
	add, remove, kept := enforce.Diff(want, have)
	res := enforce.Result{Added: len(add), Removed: len(remove), Kept: kept}

	if err := e.ensureInclude(ctx); err != nil {
		return enforce.Result{}, err
	}
	prefixes := enforce.Prefixes(want)
	body := AppendList(make([]byte, 0, 20*len(prefixes)), prefixes)
	if old, err := os.ReadFile(e.opts.ListPath); err == nil && bytes.Equal(old, body) {
		return res, nil
	}
	if err := os.MkdirAll(filepath.Dir(e.opts.ListPath), 0o755); err != nil {
		return enforce.Result{}, fmt.Errorf("hostsdeny: apply: %w", err)
	}
	start := time.Now()
	if err := atomicfile.WriteFile(e.opts.ListPath, body, 0o644); err != nil {
		return enforce.Result{}, fmt.Errorf("hostsdeny: apply: %w", err)
	}
	res.Duration = time.Since(start)
	return res, nil
}

// Status reads the list file back. A missing file blocks nothing. The
// include line is not checked here: a list without it blocks nothing, which
// Check reports (see Included).
func (e *Enforcer) Status(ctx context.Context) ([]enforce.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(e.opts.ListPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("hostsdeny: status: %w", err)
	}
	entries, err := ParseList(e.opts.ListPath, data)
	if err != nil {
		return nil, fmt.Errorf("hostsdeny: status: %w", err)
	}
	return entries, nil
}

// Included reports whether hosts.deny holds Rampart's include line once,
// in the form Apply writes.
func (e *Enforcer) Included(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	data, err := os.ReadFile(e.opts.DenyPath)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("hostsdeny: %w", err)
	}
	return hasInclude(data, e.include, e.opts.ListPath), nil
}

// Remove deletes the include line (and its marker) from hosts.deny under
// OSSEC's lock, then the list file. Every other line stays.
func (e *Enforcer) Remove(ctx context.Context) error {
	err := e.editDeny(ctx, func(data []byte) ([]byte, bool) {
		return withoutInclude(data, e.include, e.opts.ListPath)
	}, false)
	if err != nil {
		return err
	}
	if err := os.Remove(e.opts.ListPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("hostsdeny: remove: %w", err)
	}
	return nil
}

func (e *Enforcer) ensureInclude(ctx context.Context) error {
	// Most applies find the line in place: look before taking the lock.
	if ok, err := e.Included(ctx); err != nil || ok {
		return err
	}
	return e.editDeny(ctx, func(data []byte) ([]byte, bool) {
		return withInclude(data, e.include, e.opts.ListPath)
	}, true)
}

// editDeny rewrites hosts.deny with edit under OSSEC's lock. The file is
// replaced by rename, so a daemon reading it never sees half a file; its
// mode and owner are kept, and a symbolic link is followed, not replaced.
func (e *Enforcer) editDeny(ctx context.Context, edit func([]byte) ([]byte, bool), create bool) error {
	path, err := filepath.EvalSymlinks(e.opts.DenyPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !create {
			return nil
		}
		path = e.opts.DenyPath
	case err != nil:
		return fmt.Errorf("hostsdeny: %w", err)
	}
	lock, err := acquireLock(ctx, e.opts.LockDir, lockOptions{Attempts: e.opts.LockAttempts, FirstWait: e.opts.LockWait, MaxWait: time.Second}, e.log)
	if err != nil {
		return fmt.Errorf("hostsdeny: %w", err)
	}
	defer func() {
		if err := lock.release(); err != nil {
			e.log.Error("release host-deny lock", "err", err)
		}
	}()
	mode := fs.FileMode(0o644)
	uid, gid := -1, -1
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if !create {
			return nil
		}
	case err != nil:
		return fmt.Errorf("hostsdeny: %w", err)
	default:
		if fi, err := os.Stat(path); err == nil {
			mode = fi.Mode().Perm()
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				uid, gid = int(st.Uid), int(st.Gid)
			}
		}
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		// Debian's libwrap denies every client while this is so; it is
		// the operator's file, so we say it and leave it.
		e.log.Warn("hosts.deny's last line has no newline: libwrap may deny every client or skip the line", "path", path)
	}
	out, changed := edit(data)
	if !changed {
		return nil
	}
	if err := atomicfile.WriteFileOwned(path, out, mode, uid, gid); err != nil {
		return fmt.Errorf("hostsdeny: %w", err)
	}
	return nil
}
