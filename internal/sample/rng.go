package sample

import (
	"math/bits"
	"math/rand/v2"
)

// rng draws every random decision of a run from one PCG stream. It uses only
// PCG.Uint64 and integer arithmetic, because rand.Rand's bounded helpers take
// another path on 32-bit platforms: the sample must be byte-identical
// everywhere.
type rng struct {
	pcg rand.PCG
}

func newRNG(seed int64) *rng {
	r := &rng{}
	// The second PCG word is a fixed odd constant so that seed 0 is as good
	// as any other.
	r.pcg.Seed(uint64(seed), 0x9e3779b97f4a7c15)
	return r
}

func (r *rng) u64() uint64 { return r.pcg.Uint64() }

// below returns a uniform value in [0, n); 0 when n is 0 (Lemire's method).
func (r *rng) below(n uint64) uint64 {
	if n == 0 {
		return 0
	}
	hi, lo := bits.Mul64(r.u64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(r.u64(), n)
		}
	}
	return hi
}

// intn returns a uniform int in [0, n); 0 when n <= 0.
func (r *rng) intn(n int) int {
	if n <= 0 {
		return 0
	}
	return int(r.below(uint64(n)))
}

// between returns a uniform int64 in [lo, hi]; lo when hi <= lo.
func (r *rng) between(lo, hi int64) int64 {
	if hi <= lo {
		return lo
	}
	return lo + int64(r.below(uint64(hi-lo)+1))
}

// chance reports true with probability num/den.
func (r *rng) chance(num, den int) bool {
	return r.intn(den) < num
}

// pick returns an index drawn with the given integer weights.
func (r *rng) pick(weights []int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	x := r.intn(total)
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}
