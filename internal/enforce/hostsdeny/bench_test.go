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
// and applies it in each form: DIR/sharded/hosts.deny with the directory
// DIR/sharded/hosts.deny.list.d, and DIR/single/hosts.deny with the file
// DIR/single/hosts.deny.list.
func TestWriteBenchFiles(t *testing.T) {
	dir := os.Getenv("RAMPART_HOSTSDENY_BENCH")
	if dir == "" {
		t.Skip("requires RAMPART_HOSTSDENY_BENCH=DIR (bench/hostsdeny.sh sets it)")
	}
	in := readPrefixes(t, filepath.Join(dir, "attackers.txt"))
	set := enforce.Normalize(in, enforce.NormalizeOptions{IPv6Bits: 64})
	fmt.Printf("entries %d -> %d after aggregation\n", len(in), len(set))
	for _, form := range forms {
		out := filepath.Join(dir, string(form))
		e := newTestEnforcer(t, out, func(o *Options) {
			o.ListPath = filepath.Join(out, "hosts.deny.list")
			o.LockDir = filepath.Join(out, "ossec", "host-deny-lock")
			o.Form = form
		})
		res, err := e.Apply(t.Context(), set)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("apply %s %s\n", form, res.Duration)
	}
}

func BenchmarkApply100k(b *testing.B) {
	set := make([]enforce.Entry, 0, 100_000)
	for i := range 100_000 {
		a := netip.AddrFrom4([4]byte{byte(1 + i%200), byte(i >> 8), byte(i), byte(i*7 + 1)})
		set = append(set, enforce.Entry{Prefix: netip.PrefixFrom(a, 32)})
	}
	set = enforce.Normalize(set, enforce.NormalizeOptions{})
	for _, form := range forms {
		b.Run(string(form), func(b *testing.B) {
			e := newTestEnforcer(b, b.TempDir(), func(o *Options) { o.Form = form })
			for i := 0; b.Loop(); i++ {
				// Alternate two sets so every round writes the list.
				if _, err := e.Apply(b.Context(), set[i%2:]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
