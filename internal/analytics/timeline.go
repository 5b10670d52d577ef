package analytics

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// Interval is the width of a timeline's buckets. Buckets are UTC: hours and
// days start on the hour and at midnight UTC, weeks on Monday at midnight
// UTC (ISO 8601). Daylight saving time never enters.
type Interval uint8

// Bucket widths.
const (
	Hour Interval = iota + 1
	Day
	Week
)

// ParseInterval reads "hour", "day" or "week".
func ParseInterval(s string) (Interval, error) {
	switch s {
	case "hour":
		return Hour, nil
	case "day":
		return Day, nil
	case "week":
		return Week, nil
	}
	return 0, fmt.Errorf("unknown interval %q: want hour, day or week", s)
}

// String returns "hour", "day" or "week".
func (iv Interval) String() string {
	switch iv {
	case Hour:
		return "hour"
	case Day:
		return "day"
	case Week:
		return "week"
	}
	return fmt.Sprintf("Interval(%d)", uint8(iv))
}

// Seconds returns the bucket width in seconds.
func (iv Interval) Seconds() int64 {
	switch iv {
	case Hour:
		return 3600
	case Week:
		return 7 * 86400
	default:
		return 86400
	}
}

// Duration returns the bucket width.
func (iv Interval) Duration() time.Duration { return time.Duration(iv.Seconds()) * time.Second }

// mondayEpoch is 1969-12-29T00:00:00Z, the Monday before the Unix epoch
// (a Thursday): weeks are counted from it.
const mondayEpoch = -3 * 86400

// FloorUnix returns the start, in Unix seconds, of the bucket holding the
// Unix second s. It floors (never truncates toward zero), so times before
// 1970 fall into the right bucket too.
func (iv Interval) FloorUnix(s int64) int64 {
	w := iv.Seconds()
	off := int64(0)
	if iv == Week {
		off = mondayEpoch
	}
	r := (s - off) % w
	if r < 0 {
		r += w
	}
	return s - r
}

// Floor returns the start of the bucket holding t, in UTC. Fractions of a
// second belong to their second.
func (iv Interval) Floor(t time.Time) time.Time {
	return time.Unix(iv.FloorUnix(t.Unix()), 0).UTC()
}

// TimelineQuery says what a timeline counts.
type TimelineQuery struct {
	Filter Filter
	By     Interval
	// Addr, when valid, counts only the alerts of this source.
	Addr netip.Addr
	// InScope, when not nil, counts only alerts whose source address it
	// accepts; alerts without a source address are then left out. With
	// neither Addr nor InScope every alert the filter selects counts,
	// with or without a source address.
	InScope func(netip.Addr) bool
}

// MatchSource reports whether an alert from src (invalid: no source) counts,
// leaving the filter aside.
func (q TimelineQuery) MatchSource(src netip.Addr) bool {
	if q.Addr.IsValid() {
		return src == q.Addr
	}
	if q.InScope != nil {
		return src.IsValid() && q.InScope(src)
	}
	return true
}

// Bucket is one interval of a timeline.
type Bucket struct {
	Start time.Time // UTC
	Count int64
	// ByLevel splits Count by alert level, highest level first; levels
	// without alerts are left out.
	ByLevel []LevelCount
}

// TimelineCounter counts alerts into buckets. Back ends that stream alerts
// call Add; those that read rollups call AddCount.
type TimelineCounter struct {
	q       TimelineQuery
	buckets map[int64]map[int]int64 // bucket start -> level -> count
}

// NewTimelineCounter returns a counter for q. A zero q.By means Day.
func NewTimelineCounter(q TimelineQuery) *TimelineCounter {
	if q.By == 0 {
		q.By = Day
	}
	return &TimelineCounter{q: q, buckets: map[int64]map[int]int64{}}
}

// Add counts a if the query selects it.
func (c *TimelineCounter) Add(a *ossec.Alert) {
	if !c.q.MatchSource(a.SrcIP) || !c.q.Filter.Match(a) {
		return
	}
	c.AddCount(a.Time.Unix(), a.Level, 1)
}

// AddCount counts n alerts of level at Unix second t (or anywhere in the
// bucket that holds t). It does not filter.
func (c *TimelineCounter) AddCount(t int64, level int, n int64) {
	if n == 0 {
		return
	}
	start := c.q.By.FloorUnix(t)
	b := c.buckets[start]
	if b == nil {
		b = make(map[int]int64, 4)
		c.buckets[start] = b
	}
	b[level] += n
}

// Span returns the starts of the first and the last bucket with alerts;
// ok is false when nothing was counted.
func (c *TimelineCounter) Span() (first, last time.Time, ok bool) {
	var lo, hi int64
	for s := range c.buckets {
		if !ok {
			lo, hi, ok = s, s, true
		}
		lo, hi = min(lo, s), max(hi, s)
	}
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	return time.Unix(lo, 0).UTC(), time.Unix(hi, 0).UTC(), true
}

// MaxBuckets bounds the length of a timeline: an hourly timeline over
// eleven years, a daily one over 270 years.
const MaxBuckets = 100_000

// Timeline returns the buckets from the one holding lo to the one holding
// the last second before hi, every bucket in between included, those without
// alerts as zero. A zero lo starts at the first bucket with alerts, a zero
// hi ends at the last one; with an open end and no alerts counted the
// timeline is empty. Alerts outside [lo, hi) are not in the result (the
// back ends do not count them anyway).
func (c *TimelineCounter) Timeline(lo, hi time.Time) ([]Bucket, error) {
	iv := c.q.By
	f, l, have := c.Span()
	first, last := f.Unix(), l.Unix()
	if !lo.IsZero() {
		first = iv.FloorUnix(ceilSecond(lo))
	}
	if !hi.IsZero() {
		last = iv.FloorUnix(ceilSecond(hi) - 1)
	}
	if (lo.IsZero() || hi.IsZero()) && !have {
		return []Bucket{}, nil
	}
	if last < first {
		return []Bucket{}, nil
	}
	w := iv.Seconds()
	n := (last-first)/w + 1
	if n > MaxBuckets {
		return nil, fmt.Errorf("%d %ss from %s to %s: more than %d buckets; choose a wider interval or a shorter period",
			n, iv, time.Unix(first, 0).UTC().Format(time.RFC3339), time.Unix(last, 0).UTC().Format(time.RFC3339), MaxBuckets)
	}
	out := make([]Bucket, 0, n)
	for s := first; s <= last; s += w {
		b := Bucket{Start: time.Unix(s, 0).UTC()}
		levels := c.buckets[s]
		for _, l := range slices.Sorted(maps.Keys(levels)) {
			b.Count += levels[l]
			b.ByLevel = append(b.ByLevel, LevelCount{Level: l, Count: levels[l]})
		}
		slices.SortFunc(b.ByLevel, func(x, y LevelCount) int { return cmp.Compare(y.Level, x.Level) })
		out = append(out, b)
	}
	return out, nil
}

// ceilSecond returns t in Unix seconds, rounded up: alert times are whole
// seconds, so a bound with a fraction selects from the next second on.
func ceilSecond(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}
