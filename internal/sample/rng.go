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

// ln2Q64 is ln 2 × 2^64, rounded down.
const ln2Q64 = 0xb17217f7d1cf79ab

// exp1 returns an exponential variate of mean 1 as a Q32 fixed-point value
// (the variate × 2^32), by inversion: −ln U for U = x/2^64, x a random odd
// 64-bit integer, so that U is the midpoint of one of 2^63 equal cells and
// never 0. The largest variate is 64·ln 2 ≈ 44.4.
func (r *rng) exp1() uint64 { return negLn(r.u64() | 1) }

// negLn returns −ln(x/2^64) in Q32 for x ≥ 1, as (64 − log2 x)·ln 2. log2 x
// is computed bit by bit, by repeated squaring of the mantissa, with integer
// multiplications only: math.Log may differ in the last bit between
// platforms, and this must not. The 32 fractional bits of log2 are
// truncated, an error below 2^-31 that no test of the distribution can see.
func negLn(x uint64) uint64 {
	n := bits.Len64(x) - 1
	// m/2^63 is the mantissa y = x/2^n in [1, 2).
	m := x << (63 - n)
	var frac uint64
	for range 32 {
		// y² in [1, 4) is hi:lo / 2^126. If y² ≥ 2, the next bit of the
		// logarithm is 1 and y becomes y²/2.
		hi, lo := bits.Mul64(m, m)
		frac <<= 1
		if hi >= 1<<63 {
			frac |= 1
			m = hi
		} else {
			m = hi<<1 | lo>>63
		}
	}
	// −log2(x/2^64) = 64 − n − frac/2^32, in Q32.
	l := uint64(64-n)<<32 - frac
	e, _ := bits.Mul64(l, ln2Q64)
	return e
}

// expGap returns an exponential gap of the given mean (seconds) in Q16
// fixed point (seconds × 2^16). mean must be below 2^32.
func (r *rng) expGap(mean int64) int64 {
	hi, lo := bits.Mul64(r.exp1(), uint64(mean))
	// exp1 < 2^38 and mean < 2^32, so the Q32 product fits in 70 bits and
	// its Q16 value in 54.
	return int64(hi<<48 | lo>>16)
}
