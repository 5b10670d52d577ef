package enforcetest

import (
	"net/netip"
	"testing"

	"github.com/rampart-ids/rampart/internal/enforce"
)

// BenchN is the size of the benchmark set, the same for every back end so
// their numbers compare.
const BenchN = 100_000

// BigSet returns n disjoint entries, deterministic, none adjacent (so no two
// aggregate and Normalize leaves the set as it is): four in five IPv4 (/32s,
// every tenth a /28), one in five an IPv6 /64. shift moves the window of
// entries, so BigSet(n, k) and BigSet(n, 0) differ by k removed and k added
// entries (for k < n).
func BigSet(n, shift int) []enforce.Entry {
	out := make([]enforce.Entry, 0, n)
	for i := shift; i < n+shift; i++ {
		var p netip.Prefix
		if i%5 == 4 {
			var a [16]byte
			a[0], a[1], a[2], a[3] = 0x20, 0x01, 0x0d, 0xb8
			a[4], a[5], a[6], a[7] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
			p = netip.PrefixFrom(netip.AddrFrom16(a), 64)
		} else {
			// 32 addresses per entry: room for a /28 with gaps around it.
			v := uint32(0x0b000000) + uint32(i)*32
			a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
			bits := 32
			if i%10 == 0 {
				bits = 28
			}
			p = netip.PrefixFrom(a, bits)
		}
		out = append(out, enforce.Entry{Prefix: p})
	}
	return out
}

// BenchApply times loading BigSet(n, 0) where there was nothing: the whole
// Apply. e.Remove runs between rounds, outside the timer.
func BenchApply(b *testing.B, e enforce.Enforcer, n int) {
	b.Helper()
	set := BigSet(n, 0)
	for b.Loop() {
		b.StopTimer()
		if err := e.Remove(b.Context()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := e.Apply(b.Context(), set); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchUpdate times 2*shift changes (shift out, shift in) to an n-entry
// set, alternating between BigSet(n, 0) and BigSet(n, shift), and fails
// when an Apply reports another number of changes.
func BenchUpdate(b *testing.B, e enforce.Enforcer, n, shift int) {
	b.Helper()
	sets := [2][]enforce.Entry{BigSet(n, 0), BigSet(n, shift)}
	if _, err := e.Apply(b.Context(), sets[0]); err != nil {
		b.Fatal(err)
	}
	i := 1
	for b.Loop() {
		res, err := e.Apply(b.Context(), sets[i%2])
		if err != nil {
			b.Fatal(err)
		}
		if res.Added+res.Removed != 2*shift {
			b.Fatalf("update changed %+v, want %d changes", res, 2*shift)
		}
		i++
	}
}
