package alertdb

import (
	"testing"
)

func TestDays(t *testing.T) {
	for _, tt := range []int64{-200000, -172800, -172799, -86401, -86400, -86399, -1, 0, 1, 86399, 86400, 1700000000} {
		d := dayOf(tt)
		if tt < dayStart(d) || tt >= dayStart(d+1) {
			t.Errorf("time %d: day %d spans [%d, %d)", tt, d, dayStart(d), dayStart(d+1))
		}
	}
}

// TestSplit checks span.split against brute force: every second of the span
// is in exactly one whole day or one edge.
func TestSplit(t *testing.T) {
	const day = 86400
	spans := []span{
		{0, day}, {1, day}, {0, day - 1}, {5, 3*day + 7}, {day, 3 * day}, {-day - 5, 2*day + 1},
		{100, 200}, {day - 10, day + 10}, {-2 * day, -day}, {7, 7},
	}
	for _, sp := range spans {
		d0, d1, edges := sp.split()
		covered := map[int64]int{}
		for d := d0; d < d1; d++ {
			for s := dayStart(d); s < dayStart(d+1); s++ {
				covered[s]++
			}
		}
		for _, e := range edges {
			if dayOf(e.lo) != dayOf(e.hi-1) && d0 < d1 {
				t.Errorf("%+v: edge %+v spans days", sp, e)
			}
			for s := e.lo; s < e.hi; s++ {
				covered[s]++
			}
		}
		for s := sp.lo - 2; s < sp.hi+2; s++ {
			want := 0
			if s >= sp.lo && s < sp.hi {
				want = 1
			}
			if covered[s] != want {
				t.Fatalf("%+v: second %d covered %d times, want %d (days [%d,%d), edges %+v)", sp, s, covered[s], want, d0, d1, edges)
			}
		}
		if len(covered) != int(max(sp.hi-sp.lo, 0)) {
			t.Errorf("%+v: %d seconds covered", sp, len(covered))
		}
	}
}
