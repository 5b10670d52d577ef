package enforcetest

import (
	"testing"

	"github.com/rampart-ids/rampart/internal/enforce"
)

// TestBigSet checks the promises the benchmarks rely on: the set is
// already normalised (nothing aggregates), and a shifted window differs by
// exactly shift entries each way.
func TestBigSet(t *testing.T) {
	const n, shift = 2_000, 50
	set := BigSet(n, 0)
	norm := enforce.Normalize(set, enforce.NormalizeOptions{})
	if len(norm) != n {
		t.Fatalf("BigSet(%d, 0) normalises to %d entries, want %d", n, len(norm), n)
	}
	v6 := 0
	for _, e := range set {
		if e.Prefix.Addr().Is6() {
			v6++
		}
	}
	if v6 != n/5 {
		t.Errorf("BigSet(%d, 0) has %d IPv6 entries, want %d", n, v6, n/5)
	}
	add, remove, kept := enforce.Diff(BigSet(n, shift), set)
	if len(add) != shift || len(remove) != shift || kept != n-shift {
		t.Errorf("BigSet(%d, %d) vs BigSet(%d, 0): %d added, %d removed, %d kept; want %d, %d, %d",
			n, shift, n, len(add), len(remove), kept, shift, shift, n-shift)
	}
}
