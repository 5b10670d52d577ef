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
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unicode"

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

// Form is how hosts.deny reaches the list.
type Form string

const (
	// FormSharded (the default) writes a fixed block of 257 lines, one per
	// first IPv4 octet and one for IPv6, each naming its own list file in
	// ListPath+".d": a client only reads the file of its octet.
	FormSharded Form = "sharded"
	// FormSingle writes one include line naming ListPath, which holds the
	// whole list: every client reads all of it.
	FormSingle Form = "single"
)

// ParseForm parses "sharded" or "single".
func ParseForm(s string) (Form, error) {
	switch f := Form(s); f {
	case FormSharded, FormSingle:
		return f, nil
	}
	return "", fmt.Errorf("hosts.deny form %q: want sharded or single", s)
}

// Options configure an Enforcer. The zero value of each field means its
// default.
type Options struct {
	// DenyPath is the hosts.deny file (default /etc/hosts.deny).
	DenyPath string
	// ListPath locates the list (default /etc/rampart/hosts.deny.list):
	// the list file itself in the single form, the directory ListPath+".d"
	// in the sharded form. hosts.deny names it in host patterns, which
	// libwrap takes for a file only when they start with a slash and splits
	// at white space and commas (and the line at colons), so it must be
	// absolute and hold none of these.
	ListPath string
	// Form is FormSharded (the default) or FormSingle.
	Form Form
	// LockDir is OSSEC's lock directory (default
	// /var/ossec/host-deny-lock), held while hosts.deny is edited.
	LockDir string
	// Daemons is the daemon list of Rampart's lines (default "ALL").
	Daemons string
	// LockAttempts bounds how often the lock is tried (default 12);
	// LockWait is the first wait between tries (default 20 ms), doubling
	// up to one second: about 5 s in all by default.
	LockAttempts int
	LockWait     time.Duration
	// GenerationGrace is how long a replaced generation of list files is
	// kept after it stopped being current, for checks that resolved the
	// link just before (default 10 s; negative: none).
	GenerationGrace time.Duration
	// Now decides which entries have expired (default time.Now).
	Now func() time.Time
	// Logger gets warnings such as a removed stale lock (default: discard).
	Logger *slog.Logger
}

// Enforcer is the hosts.deny back end. It keeps no state between calls:
// everything is read back from the files.
type Enforcer struct {
	opts Options
	dir  string // the sharded form's directory
	own  *owner
	log  *slog.Logger
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
	if opts.Form == "" {
		opts.Form = FormSharded
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
	if _, err := ParseForm(string(opts.Form)); err != nil {
		return nil, fmt.Errorf("hostsdeny: %w", err)
	}
	if !filepath.IsAbs(opts.ListPath) || strings.ContainsFunc(opts.ListPath, notInPattern) || filepath.Clean(opts.ListPath) == "/" {
		return nil, fmt.Errorf("hostsdeny: list path %q: want an absolute file path without white space, ',', ':' or '\\' (hosts.deny names it in a host pattern)", opts.ListPath)
	}
	opts.ListPath = filepath.Clean(opts.ListPath)
	if strings.ContainsAny(opts.Daemons, ":#\\") || strings.ContainsFunc(opts.Daemons, isControl) || strings.TrimSpace(opts.Daemons) != opts.Daemons {
		return nil, fmt.Errorf("hostsdeny: daemons %q: want a libwrap daemon list without ':', '#', '\\' or control characters", opts.Daemons)
	}
	for _, p := range []struct{ name, path string }{{"hosts.deny path", opts.DenyPath}, {"lock dir", opts.LockDir}} {
		if !filepath.IsAbs(p.path) {
			return nil, fmt.Errorf("hostsdeny: %s %q: want an absolute path", p.name, p.path)
		}
	}
	dir := opts.ListPath + ".d"
	if deny := filepath.Clean(opts.DenyPath); deny == opts.ListPath || deny == dir || strings.HasPrefix(deny, dir+"/") {
		return nil, fmt.Errorf("hostsdeny: list path %q: hosts.deny %q is or lies in the list", opts.ListPath, opts.DenyPath)
	}
	want := []string{Marker, singleLine(opts.Daemons, opts.ListPath)}
	if opts.Form == FormSharded {
		want = append(append([]string{BlockBegin}, shardLines(opts.Daemons, dir)...), BlockEnd)
	}
	return &Enforcer{
		opts: opts,
		dir:  dir,
		own:  newOwner(opts.Daemons, opts.ListPath, dir, want),
		log:  opts.Logger.With("component", "enforce.hostsdeny"),
	}, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// notInPattern are the runes a path in a host pattern cannot hold: libwrap
// splits a client list at ", \t\r\n" and a rule at ':', and a final
// backslash continues the line.
func notInPattern(r rune) bool {
	return unicode.IsSpace(r) || isControl(r) || r == ',' || r == ':' || r == '\\'
}

// singleLine is the single form's include line.
func singleLine(daemons, listPath string) string { return daemons + ": " + listPath }

// Name is "hostsdeny".
func (e *Enforcer) Name() string { return "hostsdeny" }

// Form is the form this Enforcer writes.
func (e *Enforcer) Form() Form { return e.opts.Form }

// ListDir is the sharded form's directory, ListPath+".d".
func (e *Enforcer) ListDir() string { return e.dir }

// Block is what Rampart owns in hosts.deny in this Enforcer's form: the
// marker comments and the lines between them, each with its newline.
func (e *Enforcer) Block() string {
	var b strings.Builder
	for _, l := range e.own.want {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// Apply makes the list hold exactly set (entries that have expired are left
// out) and makes sure hosts.deny refers to it. The list is written first:
// until hosts.deny refers to it, it blocks nothing, and until then the lines
// of a previous form (a single include line of an older Rampart) stay in
// force; they are replaced in one rename of hosts.deny. A failure at any
// step leaves the previous blocking in force. Applying the same set again
// writes nothing.
func (e *Enforcer) Apply(ctx context.Context, set []enforce.Entry) (enforce.Result, error) {
	// libwrap keeps no expiry, so the list is compared on prefixes alone.
	want, err := enforce.Unexpiring(set, e.opts.Now())
	if err != nil {
		return enforce.Result{}, fmt.Errorf("hostsdeny: apply: %w", err)
	}
	cur, err := e.read(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return enforce.Result{}, fmt.Errorf("hostsdeny: apply: %w", err)
		}
		// A damaged list is replaced, not trusted.
		e.log.Warn("replacing unreadable list", "path", e.listLocation(), "err", err)
		cur.entries = nil
	}
	add, remove, kept := enforce.Diff(want, cur.entries)
	res := enforce.Result{Added: len(add), Removed: len(remove), Kept: kept}

	start := time.Now()
	wrote, err := e.writeList(ctx, cur, enforce.Prefixes(want))
	if err != nil {
		return enforce.Result{}, fmt.Errorf("hostsdeny: apply: %w", err)
	}
	if wrote {
		res.Duration = time.Since(start)
	}
	if err := e.ensureBlock(ctx); err != nil {
		return enforce.Result{}, err
	}
	// hosts.deny no longer names the other form's list.
	if e.opts.Form == FormSharded {
		err = removeFile(e.opts.ListPath)
	} else {
		err = e.removeDir(ctx)
	}
	if err != nil {
		e.log.Warn("remove the other form's list", "err", err)
	}
	return res, nil
}

// listLocation is where this form keeps the list.
func (e *Enforcer) listLocation() string {
	if e.opts.Form == FormSharded {
		return e.dir
	}
	return e.opts.ListPath
}

// current is the list as read back: its files as they are (nil when
// missing or unreadable), and their patterns.
type current struct {
	single  []byte     // the single form's file
	shards  generation // the sharded form's current generation
	entries []enforce.Entry
}

// read reads the list of this form. When the files were read but a pattern
// in them was not, the files come back with the error.
func (e *Enforcer) read(ctx context.Context) (current, error) {
	var cur current
	if err := ctx.Err(); err != nil {
		return cur, err
	}
	if e.opts.Form == FormSharded {
		g, err := readShards(ctx, e.dir)
		if err != nil {
			return cur, err
		}
		cur.shards = g
		cur.entries, err = parseShards(e.dir, g.files)
		return cur, err
	}
	data, err := os.ReadFile(e.opts.ListPath)
	if errors.Is(err, fs.ErrNotExist) {
		return cur, nil
	}
	if err != nil {
		return cur, err
	}
	cur.single = data
	cur.entries, err = ParseList(e.opts.ListPath, data)
	return cur, err
}

// writeList writes the list in this form unless cur already holds exactly
// prefixes, and reports whether it wrote.
func (e *Enforcer) writeList(ctx context.Context, cur current, prefixes []netip.Prefix) (bool, error) {
	if e.opts.Form == FormSingle {
		body := AppendList(make([]byte, 0, 20*len(prefixes)), prefixes)
		if cur.single != nil && bytes.Equal(cur.single, body) {
			return false, nil
		}
		if err := os.MkdirAll(filepath.Dir(e.opts.ListPath), 0o755); err != nil {
			return false, err
		}
		return true, atomicfile.WriteFile(e.opts.ListPath, body, 0o644)
	}
	var files [shards][]byte
	AppendShards(&files, prefixes)
	if sameShards(cur.shards.files, &files) {
		return false, nil
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	grace := e.opts.GenerationGrace
	switch {
	case grace == 0:
		grace = defaultGenGrace
	case grace < 0:
		grace = 0
	}
	return true, writeShards(ctx, e.dir, &files, cur.shards, grace, e.log.Warn)
}

// Status reads the list back: the list file in the single form, the files
// of the current generation in the sharded form. A missing list blocks
// nothing. Whether hosts.deny refers to the list is not checked here: a list
// without it blocks nothing, which Included reports.
func (e *Enforcer) Status(ctx context.Context) ([]enforce.Entry, error) {
	cur, err := e.read(ctx)
	if err != nil {
		return nil, fmt.Errorf("hostsdeny: status: %w", err)
	}
	return cur.entries, nil
}

// Included reports whether hosts.deny holds Rampart's lines once, in the
// form Apply writes.
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
	return e.own.has(data), nil
}

// Remove deletes Rampart's lines (of either form, markers included) from
// hosts.deny under OSSEC's lock, then the list file and the list directory.
// Every other line stays.
func (e *Enforcer) Remove(ctx context.Context) error {
	if err := e.editDeny(ctx, e.own.without, false); err != nil {
		return err
	}
	if err := removeFile(e.opts.ListPath); err != nil {
		return fmt.Errorf("hostsdeny: remove: %w", err)
	}
	if err := e.removeDir(ctx); err != nil {
		return fmt.Errorf("hostsdeny: remove: %w", err)
	}
	return nil
}

func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// removeDir deletes the sharded form's directory: the current link, the
// generations and links Rampart made, then the directory if that left it
// empty. Anything else in it is not ours and stays, and so does the
// directory then.
func (e *Enforcer) removeDir(ctx context.Context) error {
	unlock, err := lockDir(ctx, e.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer unlock()
	ents, err := os.ReadDir(e.dir)
	if err != nil {
		return err
	}
	// current first, so no check finds half a generation.
	if err := os.RemoveAll(filepath.Join(e.dir, currentName)); err != nil {
		return err
	}
	for _, ent := range ents {
		if n := ent.Name(); strings.HasPrefix(n, genPrefix) || strings.HasPrefix(n, linkPrefix) {
			if err := os.RemoveAll(filepath.Join(e.dir, n)); err != nil {
				return err
			}
		}
	}
	if err := os.Remove(e.dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		e.log.Warn("list directory holds files Rampart did not write; left in place", "path", e.dir, "err", err)
	}
	return nil
}

func (e *Enforcer) ensureBlock(ctx context.Context) error {
	// Most applies find the lines in place: look before taking the lock.
	if ok, err := e.Included(ctx); err != nil || ok {
		return err
	}
	return e.editDeny(ctx, e.own.with, true)
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
