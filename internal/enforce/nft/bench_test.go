//go:build linux

package nft

import (
	"testing"

	"github.com/rampart-ids/rampart/internal/enforce"
	"github.com/rampart-ids/rampart/internal/enforce/enforcetest"
)

// BenchmarkApply100k loads 100,000 entries into an empty table: the whole
// Apply, read and batch included (the table is removed between rounds,
// outside the timer). Compare with bench/nft.sh's nft -f of the same set.
func BenchmarkApply100k(b *testing.B) {
	_, e := newLab(b, Options{})
	enforcetest.BenchApply(b, e, enforcetest.BenchN)
}

// BenchmarkUpdate1k applies 1,000 changes (500 out, 500 in) to a
// 100,000-entry table, alternating between two sets.
func BenchmarkUpdate1k(b *testing.B) {
	_, e := newLab(b, Options{})
	enforcetest.BenchUpdate(b, e, enforcetest.BenchN, 500)
}

// BenchmarkUpdate1kCold is BenchmarkUpdate1k for an enforcer that has not
// applied the set itself (a fresh process): it reads the whole set first.
func BenchmarkUpdate1kCold(b *testing.B) {
	_, e := newLab(b, Options{})
	sets := [2][]enforce.Entry{enforcetest.BigSet(enforcetest.BenchN, 0), enforcetest.BigSet(enforcetest.BenchN, 500)}
	if _, err := e.Apply(b.Context(), sets[0]); err != nil {
		b.Fatal(err)
	}
	i := 1
	for b.Loop() {
		e.mu.Lock()
		e.cache = nil
		e.mu.Unlock()
		if _, err := e.Apply(b.Context(), sets[i%2]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
