package hostsdeny

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/rampart-ids/rampart/internal/enforce"
)

// TestWriteBenchFiles is bench/hostsdeny.sh's way to the enforcer: with
// RAMPART_HOSTSDENY_BENCH=DIR it reads DIR/attackers.txt (one address per
// line), normalises it as Rampart does (IPv6 widened to /64, aggregated)
// and applies it to DIR/include/hosts.deny and DIR/include/hosts.deny.list.
func TestWriteBenchFiles(t *testing.T) {
	dir := os.Getenv("RAMPART_HOSTSDENY_BENCH")
	if dir == "" {
		t.Skip("requires RAMPART_HOSTSDENY_BENCH=DIR (bench/hostsdeny.sh sets it)")
	}
	in := readPrefixes(t, filepath.Join(dir, "attackers.txt"))
	set := enforce.Normalize(in, enforce.NormalizeOptions{IPv6Bits: 64})
	out := filepath.Join(dir, "include")
	e := newTestEnforcer(t, out, func(o *Options) {
		o.ListPath = filepath.Join(out, "hosts.deny.list")
		o.LockDir = filepath.Join(out, "ossec", "host-deny-lock")
	})
	res, err := e.Apply(t.Context(), set)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("entries %d -> %d after aggregation (apply %s)\n", len(in), len(set), res.Duration)
}

func BenchmarkApply100k(b *testing.B) {
	set := make([]enforce.Entry, 0, 100_000)
	for i := range 100_000 {
		a := netip.AddrFrom4([4]byte{byte(1 + i%200), byte(i >> 8), byte(i), byte(i*7 + 1)})
		set = append(set, enforce.Entry{Prefix: netip.PrefixFrom(a, 32)})
	}
	set = enforce.Normalize(set, enforce.NormalizeOptions{})
	dir := b.TempDir()
	e := newTestEnforcer(b, dir, nil)
	b.ResetTimer()
	for i := range b.N {
		// Alternate two sets so every round writes the file.
		if _, err := e.Apply(b.Context(), set[i%2:]); err != nil {
			b.Fatal(err)
		}
	}
}
