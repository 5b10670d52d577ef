package enforce

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"
)

// LineError is an entry of a block list that is not an address or prefix.
type LineError struct {
	File  string
	Line  int
	Input string
}

func (e *LineError) Error() string {
	return fmt.Sprintf("%s:%d: invalid address or prefix %q", e.File, e.Line, e.Input)
}

// ReadList reads a block list: one address or CIDR prefix per line; blank
// lines and text after '#' are ignored. Every entry gets the expiry exp
// (zero: none). Invalid lines are returned as LineErrors, after the valid
// entries; the caller decides whether they stop the apply.
func ReadList(r io.Reader, name string, exp time.Time) ([]Entry, []*LineError, error) {
	var entries []Entry
	var bad []*LineError
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		p, err := ParseEntry(line)
		if err != nil {
			bad = append(bad, &LineError{File: name, Line: n, Input: line})
			continue
		}
		entries = append(entries, Entry{Prefix: p, Expires: exp})
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", name, err)
	}
	return entries, bad, nil
}

// ParseEntry parses an address (a /32 or /128) or a CIDR prefix.
func ParseEntry(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return unmapPrefix(p).Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("address %q has a zone", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ErrTooManyChanges is returned by CheckChange.
type ErrTooManyChanges struct {
	Added, Removed, Applied int
	MaxShare                float64
}

func (e *ErrTooManyChanges) Error() string {
	return fmt.Sprintf("refusing to add %d and remove %d entries at once with %d applied: more than %.0f%% of the list changes (raise --max-change or pass --force)",
		e.Added, e.Removed, e.Applied, e.MaxShare*100)
}

// MinGuardedChange is the number of added or removed entries below which
// the max-change guard never refuses: a ban on a three-entry list is not a
// mass change.
const MinGuardedChange = 10

// CheckChange is the max-change guard: it refuses an update that adds or
// removes more than maxShare of the applied list at once (a truncated input
// file must not unblock everything). A first apply (nothing applied yet),
// maxShare <= 0, and changes of at most MinGuardedChange entries always pass.
func CheckChange(added, removed, applied int, maxShare float64) error {
	if maxShare <= 0 || applied == 0 || max(added, removed) <= MinGuardedChange {
		return nil
	}
	limit := maxShare * float64(applied)
	if float64(added) > limit || float64(removed) > limit {
		return &ErrTooManyChanges{Added: added, Removed: removed, Applied: applied, MaxShare: maxShare}
	}
	return nil
}
