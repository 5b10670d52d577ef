package blocklist

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Entry is one blocked address or prefix. A single address is a /32 or
// /128. The zero Expires means the entry never expires.
type Entry struct {
	Prefix  netip.Prefix
	Expires time.Time
}

// compareEntries orders entries by prefix: address, then length.
func compareEntries(a, b Entry) int {
	if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits())
}

// List is one version of the block list. Entries are sorted by prefix and
// hold each prefix once; expiries are whole seconds in UTC.
type List struct {
	Version   uint64
	Generated time.Time
	// Intended marks a version whose change from the previous one the
	// server's operator approved although it is large: agents skip their
	// max-change guard for it.
	Intended bool
	Entries  []Entry
}

// Delta turns version From of a list into version To. Added holds new
// prefixes and prefixes whose expiry changed; Removed the prefixes that
// left the list.
type Delta struct {
	From, To  uint64
	Generated time.Time
	Intended  bool
	Added     []Entry
	Removed   []netip.Prefix
}

// Canon sorts entries, masks their prefixes, truncates expiries to whole UTC
// seconds and checks that no prefix appears twice. The result is the form
// List.Entries holds.
func Canon(entries []Entry) ([]Entry, error) {
	out := make([]Entry, len(entries))
	for i, e := range entries {
		if !e.Prefix.IsValid() {
			return nil, fmt.Errorf("entry %d: invalid prefix", i)
		}
		p := e.Prefix.Masked()
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out[i] = Entry{Prefix: p, Expires: canonTime(e.Expires)}
	}
	slices.SortFunc(out, compareEntries)
	for i := 1; i < len(out); i++ {
		if out[i].Prefix == out[i-1].Prefix {
			return nil, fmt.Errorf("prefix %s listed twice", out[i].Prefix)
		}
	}
	return out, nil
}

func canonTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Second)
}

// Diff returns the delta from old to new; both must be in canonical form
// (see Canon).
func Diff(old, new List) Delta {
	d := Delta{From: old.Version, To: new.Version, Generated: new.Generated, Intended: new.Intended}
	i, j := 0, 0
	for i < len(old.Entries) || j < len(new.Entries) {
		switch {
		case j == len(new.Entries) || (i < len(old.Entries) && compareEntries(old.Entries[i], new.Entries[j]) < 0):
			d.Removed = append(d.Removed, old.Entries[i].Prefix)
			i++
		case i == len(old.Entries) || compareEntries(old.Entries[i], new.Entries[j]) > 0:
			d.Added = append(d.Added, new.Entries[j])
			j++
		default:
			if !old.Entries[i].Expires.Equal(new.Entries[j].Expires) {
				d.Added = append(d.Added, new.Entries[j])
			}
			i++
			j++
		}
	}
	return d
}

// Apply returns the list the delta turns l into. l's version must be the
// delta's From; the result is canonical.
func (d Delta) Apply(l List) (List, error) {
	if l.Version != d.From {
		return List{}, fmt.Errorf("delta from version %d does not apply to version %d", d.From, l.Version)
	}
	if d.To <= d.From {
		return List{}, fmt.Errorf("delta goes from version %d back to %d", d.From, d.To)
	}
	gone := make(map[netip.Prefix]bool, len(d.Removed))
	for _, p := range d.Removed {
		gone[p] = true
	}
	set := make(map[netip.Prefix]Entry, len(l.Entries)+len(d.Added))
	for _, e := range l.Entries {
		if !gone[e.Prefix] {
			set[e.Prefix] = e
		}
	}
	for _, e := range d.Added {
		set[e.Prefix] = e
	}
	entries := make([]Entry, 0, len(set))
	for _, e := range set {
		entries = append(entries, e)
	}
	entries, err := Canon(entries)
	if err != nil {
		return List{}, err
	}
	return List{Version: d.To, Generated: d.Generated, Intended: d.Intended, Entries: entries}, nil
}

// Changes is the number of prefixes a delta adds, re-times or removes.
func (d Delta) Changes() int { return len(d.Added) + len(d.Removed) }

// Active returns the entries that have not expired at now.
func (l List) Active(now time.Time) []Entry {
	out := make([]Entry, 0, len(l.Entries))
	for _, e := range l.Entries {
		if e.Expires.IsZero() || e.Expires.After(now) {
			out = append(out, e)
		}
	}
	return out
}

func comparePrefixes(a, b netip.Prefix) int {
	return compareEntries(Entry{Prefix: a}, Entry{Prefix: b})
}
