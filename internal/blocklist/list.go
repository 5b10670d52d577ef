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
		out[i] = Entry{Prefix: canonPrefix(e.Prefix), Expires: canonTime(e.Expires)}
	}
	slices.SortFunc(out, compareEntries)
	for i := 1; i < len(out); i++ {
		if out[i].Prefix == out[i-1].Prefix {
			return nil, fmt.Errorf("prefix %s listed twice", out[i].Prefix)
		}
	}
	return out, nil
}

// canonPrefix masks p and unmaps an IPv4-mapped address.
func canonPrefix(p netip.Prefix) netip.Prefix {
	p = p.Masked()
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0)).Masked()
	}
	return p
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
// delta's From and its entries canonical; the result is canonical. It is
// one merge of the sorted list with the sorted changes, linear in the list:
// an agent applies every delta to a list of up to a million entries.
func (d Delta) Apply(l List) (List, error) {
	if l.Version != d.From {
		return List{}, fmt.Errorf("delta from version %d does not apply to version %d", d.From, l.Version)
	}
	if d.To <= d.From {
		return List{}, fmt.Errorf("delta goes from version %d back to %d", d.From, d.To)
	}
	added, err := Canon(d.Added)
	if err != nil {
		return List{}, fmt.Errorf("delta to version %d: %w", d.To, err)
	}
	removed := make([]netip.Prefix, len(d.Removed))
	for i, p := range d.Removed {
		removed[i] = canonPrefix(p)
	}
	slices.SortFunc(removed, comparePrefixes)
	out := make([]Entry, 0, len(l.Entries)+len(added))
	i, j, k := 0, 0, 0
	for i < len(l.Entries) || j < len(added) {
		c := 0
		switch {
		case i == len(l.Entries):
			c = 1
		case j == len(added):
			c = -1
		default:
			c = compareEntries(l.Entries[i], added[j])
		}
		switch {
		case c < 0:
			// Kept unless removed.
			p := l.Entries[i].Prefix
			for k < len(removed) && comparePrefixes(removed[k], p) < 0 {
				k++
			}
			if k == len(removed) || removed[k] != p {
				out = append(out, l.Entries[i])
			}
			i++
		case c > 0:
			out = append(out, added[j])
			j++
		default:
			// Re-timed.
			out = append(out, added[j])
			i++
			j++
		}
	}
	return List{Version: d.To, Generated: d.Generated, Intended: d.Intended, Entries: out}, nil
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
