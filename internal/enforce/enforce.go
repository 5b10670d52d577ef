package enforce

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"go4.org/netipx"
)

// Entry is one blocked address or prefix. A single address is a /32 or
// /128 prefix. The zero Expires means the entry never expires.
type Entry struct {
	Prefix  netip.Prefix
	Expires time.Time
}

// Enforcer converges the host's blocking state to a desired set.
//
// Apply receives a normalised set (see Normalize): disjoint, masked prefixes
// sorted by Compare, expired entries already dropped. It makes the host block
// exactly that set in one atomic step and reports what changed; on error the
// state before the call is still in place. Apply must be idempotent: applying
// the same set twice changes nothing the second time.
type Enforcer interface {
	// Name is the back end's name as used on the command line (nft,
	// ipset, hostsdeny, nginx).
	Name() string
	Apply(ctx context.Context, set []Entry) (Result, error)
	// Status reports the entries the back end has in place now, read
	// from the system (not from memory), normalised like Apply's input.
	Status(ctx context.Context) ([]Entry, error)
	// Remove deletes everything the back end owns (tables, sets, rules,
	// include lines, files), leaving what others wrote untouched.
	Remove(ctx context.Context) error
}

// Result says what an Apply changed.
type Result struct {
	Added, Removed, Kept int
	// Duration is the time the atomic step itself took.
	Duration time.Duration
}

// NormalizeOptions tune Normalize.
type NormalizeOptions struct {
	// Now decides which entries have expired (zero: never drop any).
	Now time.Time
	// IPv6Bits widens IPv6 addresses and longer prefixes to this length
	// (0: keep them as given; Rampart's default is 64, because one host
	// holds a whole /64).
	IPv6Bits int
	// Never holds networks that must never be blocked (allowlist, local
	// networks); they are cut out of every entry.
	Never []netip.Prefix
}

// Normalize turns a wish list into the set an Enforcer applies: addresses
// unmapped (::ffff:a.b.c.d is a.b.c.d), IPv6 widened to opts.IPv6Bits,
// expired entries dropped, the Never networks cut out, and overlapping or
// adjacent prefixes aggregated (netipx). Where entries with different expiries
// overlap, each address keeps the longest expiry that covers it (no expiry is
// the longest). The result is disjoint, sorted, and has one expiry per prefix.
func Normalize(entries []Entry, opts NormalizeOptions) []Entry {
	groups := map[time.Time]*netipx.IPSetBuilder{}
	for _, e := range entries {
		if !e.Prefix.IsValid() {
			continue
		}
		if !e.Expires.IsZero() && !opts.Now.IsZero() && !e.Expires.After(opts.Now) {
			continue
		}
		p := unmapPrefix(e.Prefix)
		if p.Addr().Is6() && opts.IPv6Bits > 0 && p.Bits() > opts.IPv6Bits {
			p = netip.PrefixFrom(p.Addr(), opts.IPv6Bits)
		}
		exp := e.Expires.UTC().Truncate(time.Second)
		b := groups[exp]
		if b == nil {
			b = &netipx.IPSetBuilder{}
			groups[exp] = b
		}
		b.AddPrefix(p.Masked())
	}
	// Longest-lived first: the zero time (never) sorts before all others.
	expiries := make([]time.Time, 0, len(groups))
	for t := range groups {
		expiries = append(expiries, t)
	}
	slices.SortFunc(expiries, func(a, b time.Time) int {
		switch {
		case a.IsZero() && b.IsZero():
			return 0
		case a.IsZero():
			return -1
		case b.IsZero():
			return 1
		}
		return b.Compare(a)
	})
	var covered netipx.IPSetBuilder
	for _, p := range opts.Never {
		covered.AddPrefix(unmapPrefix(p).Masked())
	}
	var out []Entry
	for _, exp := range expiries {
		b := groups[exp]
		coveredSet, _ := covered.IPSet()
		b.RemoveSet(coveredSet)
		set, _ := b.IPSet()
		for _, p := range set.Prefixes() {
			out = append(out, Entry{Prefix: p, Expires: exp})
		}
		covered.AddSet(set)
	}
	slices.SortFunc(out, func(a, b Entry) int { return ComparePrefix(a.Prefix, b.Prefix) })
	return out
}

// ComparePrefix orders prefixes by address, then by length: IPv4 first.
func ComparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() {
		bits := max(p.Bits()-96, 0)
		return netip.PrefixFrom(a.Unmap(), bits)
	}
	return p
}

// Diff compares a desired set with the applied one: what to add, what to
// remove, and how many entries stay. Entries are equal when prefix and
// expiry are equal (an expiry change is a remove plus an add).
func Diff(desired, applied []Entry) (add, remove []Entry, kept int) {
	have := make(map[Entry]bool, len(applied))
	for _, e := range applied {
		have[e] = true
	}
	want := make(map[Entry]bool, len(desired))
	for _, e := range desired {
		want[e] = true
		if have[e] {
			kept++
		} else {
			add = append(add, e)
		}
	}
	for _, e := range applied {
		if !want[e] {
			remove = append(remove, e)
		}
	}
	return add, remove, kept
}

// Action is what a firewall back end does with a packet from a blocked
// source.
type Action int

const (
	// Drop discards the packet silently: the client sees a timeout.
	Drop Action = iota
	// Reject answers with ICMP(v6) administratively prohibited.
	Reject
)

func (a Action) String() string {
	switch a {
	case Drop:
		return "drop"
	case Reject:
		return "reject"
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// Unexpiring is the set a back end without expiry (hosts.deny, nginx)
// writes: entries expired at now dropped, the other expiries forgotten, the
// rest re-aggregated, since without expiries adjacent prefixes merge. An
// invalid prefix is an error naming its index.
func Unexpiring(set []Entry, now time.Time) ([]Entry, error) {
	want := make([]Entry, 0, len(set))
	for i, e := range set {
		if !e.Prefix.IsValid() {
			return nil, fmt.Errorf("entry %d: invalid prefix %q", i, e.Prefix.String())
		}
		if !e.Expires.IsZero() && !e.Expires.After(now) {
			continue
		}
		want = append(want, Entry{Prefix: e.Prefix})
	}
	return Normalize(want, NormalizeOptions{}), nil
}

// Prefixes returns the prefixes of set, in order.
func Prefixes(set []Entry) []netip.Prefix {
	out := make([]netip.Prefix, len(set))
	for i, e := range set {
		out[i] = e.Prefix
	}
	return out
}
