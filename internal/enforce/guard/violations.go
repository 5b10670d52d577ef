package guard

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/rampart-ids/rampart/internal/enforce"
)

// Violation is an entry of a block list that covers a protected address,
// or overlaps a protected network.
type Violation struct {
	Entry     enforce.Entry
	Protected Protected
}

func (v Violation) String() string {
	return fmt.Sprintf("%s covers %s", v.Entry.Prefix, v.Protected)
}

// Violations returns the entries of set that cover a protected address or
// overlap a protected network, one Violation per pair, sorted by entry and
// then by protected address. Invalid prefixes are ignored.
//
// Block lists reach a million entries while few addresses are protected,
// so it does not compare every pair: two prefixes overlap only if one
// contains the other, and both cases are found by binary search in the
// set sorted by address — the entries containing p are p's own address
// masked to each shorter length, the entries inside p follow p's first
// address.
func Violations(set []enforce.Entry, protected []Protected) []Violation {
	type item struct {
		p netip.Prefix
		i int
	}
	items := make([]item, 0, len(set))
	for i, e := range set {
		if e.Prefix.IsValid() {
			items = append(items, item{unmapPrefix(e.Prefix), i})
		}
	}
	byPrefix := func(a, b item) int { return cmp.Or(enforce.ComparePrefix(a.p, b.p), cmp.Compare(a.i, b.i)) }
	if !slices.IsSortedFunc(items, byPrefix) {
		slices.SortFunc(items, byPrefix)
	}
	// first returns the index of the first item not before q.
	first := func(q netip.Prefix) int {
		n, _ := slices.BinarySearchFunc(items, q, func(it item, q netip.Prefix) int { return enforce.ComparePrefix(it.p, q) })
		return n
	}
	var out []Violation
	add := func(it item, pr Protected) { out = append(out, Violation{Entry: set[it.i], Protected: pr}) }
	for _, pr := range protected {
		if !pr.Addr.IsValid() {
			continue
		}
		p := unmapPrefix(pr.Addr)
		for bits := 0; bits <= p.Bits(); bits++ {
			q := netip.PrefixFrom(p.Addr(), bits).Masked()
			for n := first(q); n < len(items) && items[n].p == q; n++ {
				add(items[n], pr)
			}
		}
		for n := first(p); n < len(items) && p.Contains(items[n].p.Addr()); n++ {
			if items[n].p.Bits() > p.Bits() {
				add(items[n], pr)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Violation) int {
		return cmp.Or(
			enforce.ComparePrefix(a.Entry.Prefix, b.Entry.Prefix),
			enforce.ComparePrefix(a.Protected.Addr, b.Protected.Addr),
			strings.Compare(a.Protected.Why, b.Protected.Why))
	})
	return out
}

// LockoutError refuses a block list that has violations.
type LockoutError struct {
	Violations []Violation
}

// maxListed bounds the violations an error message lists.
const maxListed = 10

func (e *LockoutError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "lockout guard: the list covers protected addresses (%d conflicts; --force overrides):", len(e.Violations))
	for i, v := range e.Violations {
		if i == maxListed {
			fmt.Fprintf(&b, "\n  and %d more", len(e.Violations)-maxListed)
			break
		}
		b.WriteString("\n  ")
		b.WriteString(v.String())
	}
	return b.String()
}
