//go:build linux

package ipset

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/enforce"
)

// state is what the namespace holds of ours.
type state struct {
	names map[string]bool // every set name (ours or not)
	sets  [2]setState     // by family, as e.fams
	rules [2][]string     // our rules per family, as `iptables -S` prints them
}

// setState is one set as `ipset save` shows it.
type setState struct {
	exists           bool
	typ, family      string
	maxelem          int
	timeout, comment bool
	entries          []enforce.Entry
	// dirty marks entries Apply never writes (nomatch, duplicates):
	// the set is rebuilt even when the blocked prefixes match.
	dirty bool
}

// fits reports whether the set can hold want as it is: no stray entries,
// room enough, and the extensions expiring entries need.
func (s *setState) fits(want []enforce.Entry) bool {
	if s.dirty || s.maxelem < len(want) {
		return false
	}
	if slices.ContainsFunc(want, func(e enforce.Entry) bool { return !e.Expires.IsZero() }) {
		return s.timeout && s.comment
	}
	return true
}

func (e *Enforcer) read(ctx context.Context, now time.Time) (state, error) {
	var st state
	names, err := e.listNames(ctx)
	if err != nil {
		return st, err
	}
	st.names = names
	for i, f := range e.fams {
		if names[f.set] {
			out, err := e.run(ctx, nil, e.opts.IPSet, "save", f.set)
			if err != nil {
				return st, err
			}
			if st.sets[i], err = parseSave(out, f.set, now); err != nil {
				return st, err
			}
		}
		if st.rules[i], err = e.listRules(ctx, f); err != nil {
			return st, err
		}
	}
	return st, nil
}

func (e *Enforcer) listNames(ctx context.Context) (map[string]bool, error) {
	out, err := e.run(ctx, nil, e.opts.IPSet, "list", "-n")
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for l := range strings.Lines(string(out)) {
		if l = strings.TrimSpace(l); l != "" {
			names[l] = true
		}
	}
	return names, nil
}

// parseSave reads the output of `ipset save NAME`. Entries are returned
// sorted; their expiry is the absolute one from our comment, or, for an
// entry written by hand, now plus the remaining timeout.
func parseSave(out []byte, name string, now time.Time) (setState, error) {
	var s setState
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		bad := func(why string) error {
			return fmt.Errorf("ipset save %s: line %d: %s: %q", name, n, why, line)
		}
		// The common line, "add NAME ELEM", without the general split.
		if rest, ok := strings.CutPrefix(line, "add "+name+" "); ok && !strings.ContainsAny(rest, " \t") {
			p, err := parseElem(rest)
			if err != nil {
				return s, bad(err.Error())
			}
			s.entries = append(s.entries, enforce.Entry{Prefix: p})
			continue
		}
		f, err := fields(line)
		if err != nil {
			return s, bad(err.Error())
		}
		if len(f) == 0 {
			continue
		}
		if len(f) < 3 || f[1] != name {
			return s, bad("not a line of set " + name)
		}
		switch f[0] {
		case "create":
			s.exists = true
			s.typ = f[2]
			for i := 3; i < len(f); i++ {
				switch f[i] {
				case "family", "maxelem", "timeout":
					if i+1 >= len(f) {
						return s, bad(f[i] + " has no value")
					}
					switch f[i] {
					case "family":
						s.family = f[i+1]
					case "maxelem":
						if s.maxelem, err = strconv.Atoi(f[i+1]); err != nil {
							return s, bad("maxelem " + strconv.Quote(f[i+1]))
						}
					case "timeout":
						s.timeout = true
					}
					i++
				case "comment":
					s.comment = true
				}
			}
		case "add":
			en, dirty, err := parseAdd(f[2:], now)
			if err != nil {
				return s, bad(err.Error())
			}
			if dirty {
				s.dirty = true
				continue
			}
			s.entries = append(s.entries, en)
		default:
			return s, bad("unknown command " + strconv.Quote(f[0]))
		}
	}
	if err := sc.Err(); err != nil {
		return s, fmt.Errorf("ipset save %s: %w", name, err)
	}
	slices.SortFunc(s.entries, func(a, b enforce.Entry) int { return enforce.ComparePrefix(a.Prefix, b.Prefix) })
	// ipset refuses duplicates; one here means a line was misread, and a
	// rebuild puts the set right.
	if len(s.entries) > 1 {
		n := len(s.entries)
		s.entries = slices.CompactFunc(s.entries, func(a, b enforce.Entry) bool { return a.Prefix == b.Prefix })
		s.dirty = s.dirty || len(s.entries) != n
	}
	return s, nil
}

// parseAdd reads the element and options of an add line. dirty is set for
// an entry that does not block (nomatch).
func parseAdd(f []string, now time.Time) (en enforce.Entry, dirty bool, err error) {
	p, err := parseElem(f[0])
	if err != nil {
		return en, false, err
	}
	en.Prefix = p
	var timeout int64
	var comment string
	for i := 1; i < len(f); i++ {
		switch f[i] {
		case "timeout", "comment":
			if i+1 >= len(f) {
				return en, false, fmt.Errorf("%s has no value", f[i])
			}
			if f[i] == "comment" {
				comment = f[i+1]
			} else if timeout, err = strconv.ParseInt(f[i+1], 10, 64); err != nil || timeout < 0 {
				return en, false, fmt.Errorf("timeout %q", f[i+1])
			}
			i++
		case "nomatch":
			dirty = true
		}
	}
	// Timeout 0 in a set with timeouts is a permanent entry, whatever
	// the comment says: the kernel will not drop it.
	if timeout > 0 {
		if v, ok := strings.CutPrefix(comment, commentPrefix); ok {
			if sec, err := strconv.ParseInt(v, 10, 64); err == nil && sec > 0 {
				en.Expires = time.Unix(sec, 0).UTC()
			}
		}
		if en.Expires.IsZero() {
			en.Expires = now.Add(time.Duration(timeout) * time.Second).UTC().Truncate(time.Second)
		}
	}
	return en, dirty, nil
}

// parseElem reads a hash:net element: a prefix, or an address for a full
// length prefix (ipset prints /32 and /128 without the length).
func parseElem(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil || p != p.Masked() {
			return netip.Prefix{}, fmt.Errorf("element %q is not a masked prefix", s)
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("element %q is not an address", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// fields splits a save line at spaces, keeping a double-quoted comment
// (which may hold spaces) as one field without its quotes.
func fields(line string) ([]string, error) {
	var out []string
	for {
		line = strings.TrimLeft(line, " \t")
		if line == "" {
			return out, nil
		}
		if line[0] == '"' {
			end := strings.IndexByte(line[1:], '"')
			if end < 0 {
				return nil, errors.New("unterminated quote")
			}
			out = append(out, line[1:1+end])
			line = line[2+end:]
			continue
		}
		end := strings.IndexAny(line, " \t")
		if end < 0 {
			end = len(line)
		}
		out = append(out, line[:end])
		line = line[end:]
	}
}

// Status reads both sets back: sorted entries with their expiries. No
// sets means nothing is blocked.
func (e *Enforcer) Status(ctx context.Context) ([]enforce.Entry, error) {
	st, err := e.read(ctx, e.opts.Now())
	if err != nil {
		return nil, fmt.Errorf("ipset: status: %w", err)
	}
	return slices.Concat(st.sets[0].entries, st.sets[1].entries), nil
}

// spec is our rule in chain for f, as iptables -S prints it without the
// leading "-A CHAIN".
func (e *Enforcer) spec(f family) []string {
	s := []string{"-m", "set", "--match-set", f.set, "src", "-j"}
	if e.opts.Action == enforce.Reject {
		return append(s, "REJECT", "--reject-with", f.reject)
	}
	return append(s, "DROP")
}

func (e *Enforcer) chains() []string {
	if e.opts.Forward {
		return []string{"INPUT", "FORWARD"}
	}
	return []string{"INPUT"}
}

// listRules returns the rules of the filter table that match on one of
// f's sets, as `iptables -S` prints them.
func (e *Enforcer) listRules(ctx context.Context, f family) ([]string, error) {
	out, err := e.run(ctx, nil, f.ipt, "-w", "-S")
	if err != nil {
		return nil, err
	}
	var ours []string
	for l := range strings.Lines(string(out)) {
		l = strings.TrimSpace(l)
		fs := strings.Fields(l)
		if len(fs) < 2 || fs[0] != "-A" {
			continue
		}
		if i := slices.Index(fs, "--match-set"); i >= 0 && i+1 < len(fs) && (fs[i+1] == f.set || fs[i+1] == f.tmp) {
			ours = append(ours, l)
		}
	}
	return ours, nil
}

// ensureRules makes each family hold exactly one of our rules per chain:
// missing ones are checked with -C and inserted at the top, then stray ones
// (duplicates, another action, a chain no longer wanted) deleted, in that
// order, so that a change of action leaves no moment unprotected.
func (e *Enforcer) ensureRules(ctx context.Context, st state) (changed bool, err error) {
	for i, f := range e.fams {
		spec := e.spec(f)
		keep := map[string]bool{}
		var missing []string
		for _, ch := range e.chains() {
			line := "-A " + ch + " " + strings.Join(spec, " ")
			if slices.Contains(st.rules[i], line) {
				keep[line] = true
			} else {
				missing = append(missing, ch)
			}
		}
		for _, ch := range missing {
			check := append([]string{"-w", "-C", ch}, spec...)
			if _, err := e.run(ctx, nil, f.ipt, check...); err == nil {
				continue
			} else if !isExit(err, 1) {
				return changed, err
			}
			if _, err := e.run(ctx, nil, f.ipt, append([]string{"-w", "-I", ch, "1"}, spec...)...); err != nil {
				return changed, err
			}
			changed = true
		}
		for _, line := range st.rules[i] {
			if keep[line] {
				delete(keep, line) // a second copy is a duplicate
				continue
			}
			if err := e.deleteRule(ctx, f, line); err != nil {
				return changed, err
			}
			changed = true
		}
	}
	return changed, nil
}

// deleteRule deletes a rule given as iptables -S printed it: the same
// words, with -D for -A.
func (e *Enforcer) deleteRule(ctx context.Context, f family, line string) error {
	fs := strings.Fields(line)
	_, err := e.run(ctx, nil, f.ipt, append([]string{"-w", "-D"}, fs[1:]...)...)
	return err
}

// Remove deletes our rules, then both sets and any temporary set. Nothing
// in place is not an error.
func (e *Enforcer) Remove(ctx context.Context) error {
	for _, f := range e.fams {
		rules, err := e.listRules(ctx, f)
		if err != nil {
			return fmt.Errorf("ipset: remove: %w", err)
		}
		for _, l := range rules {
			if err := e.deleteRule(ctx, f, l); err != nil {
				return fmt.Errorf("ipset: remove: %w", err)
			}
		}
	}
	names, err := e.listNames(ctx)
	if err != nil {
		return fmt.Errorf("ipset: remove: %w", err)
	}
	for _, f := range e.fams {
		for _, s := range []string{f.set, f.tmp} {
			if !names[s] {
				continue
			}
			// iptables-nft releases a deleted rule's reference to the set
			// after the commit, in a kernel work queue: a destroy right
			// after the delete can still find the set in use.
			for attempt := 0; ; attempt++ {
				_, err = e.run(ctx, nil, e.opts.IPSet, "destroy", s)
				if err == nil || !busy(err) || attempt == 50 {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err != nil {
				return fmt.Errorf("ipset: remove: %w", err)
			}
		}
	}
	e.log.Info("removed", "sets", []string{Set4Name, Set6Name})
	return nil
}

// run runs name with args (inside Options.NetNS if set), stdin as its
// standard input, and returns its standard output. The error carries the
// command and its standard error, and names the missing piece when a
// command or kernel module is missing.
func (e *Enforcer) run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	argv := append([]string{name}, args...)
	if e.opts.NetNS != "" {
		argv = append([]string{"ip", "netns", "exec", e.opts.NetNS}, argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		shown := strings.Join(args, " ")
		if len(shown) > 200 {
			shown = shown[:200] + "..."
		}
		return stdout.Bytes(), fmt.Errorf("%s %s: %w: %s%s", name, shown, err, msg, hint(name, err, msg))
	}
	return stdout.Bytes(), nil
}

// hint names the missing piece behind the errors a host without ipset or
// iptables support gets.
func hint(name string, err error, msg string) string {
	switch {
	case errors.Is(err, exec.ErrNotFound) || strings.Contains(msg, "No such file or directory") && strings.Contains(msg, "exec"):
		return fmt.Sprintf(" (%s is not installed: Debian packages ipset and iptables)", name)
	case strings.Contains(msg, "Cannot open session to kernel"), strings.Contains(msg, "Kernel support protocol"):
		return " (the kernel has no ipset support: load the ip_set and ip_set_hash_net modules)"
	case strings.Contains(msg, "match `set'"), strings.Contains(msg, "match \"set\""):
		return " (the kernel has no set match for iptables: load the xt_set module)"
	case strings.Contains(msg, "Permission denied"), strings.Contains(msg, "Operation not permitted"):
		return " (needs CAP_NET_ADMIN in the target network namespace: run as root)"
	}
	return ""
}

func isExit(err error, code int) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.ExitCode() == code
}
