package analytics

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/goldentest"
	"github.com/rampart-ids/rampart/internal/ossec"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestParseInterval(t *testing.T) {
	for _, iv := range []Interval{Hour, Day, Week} {
		got, err := ParseInterval(iv.String())
		if err != nil || got != iv {
			t.Errorf("ParseInterval(%q) = %v, %v", iv.String(), got, err)
		}
	}
	for _, bad := range []string{"", "Day", "month", "1d"} {
		if _, err := ParseInterval(bad); err == nil {
			t.Errorf("ParseInterval(%q) accepted", bad)
		}
	}
}

func TestFloor(t *testing.T) {
	for _, tt := range []struct {
		by   Interval
		t    string
		want string
	}{
		{Hour, "2026-10-01T13:59:59Z", "2026-10-01T13:00:00Z"},
		{Hour, "2026-10-01T14:00:00Z", "2026-10-01T14:00:00Z"},
		{Hour, "2026-10-01T13:30:00.999Z", "2026-10-01T13:00:00Z"},
		// Local time of a zone with daylight saving does not matter.
		{Hour, "2026-03-29T02:30:00+02:00", "2026-03-29T00:00:00Z"},
		{Day, "2026-10-01T23:59:59Z", "2026-10-01T00:00:00Z"},
		{Day, "2026-10-02T00:00:00Z", "2026-10-02T00:00:00Z"},
		{Day, "2026-10-01T23:30:00-02:00", "2026-10-02T00:00:00Z"},
		{Day, "1969-12-31T23:59:59Z", "1969-12-31T00:00:00Z"},
		{Day, "1969-12-30T12:00:00Z", "1969-12-30T00:00:00Z"},
		{Day, "1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z"},
		// Weeks start on Monday: 2026-01-05 is a Monday, 2026-01-04 a Sunday.
		{Week, "2026-01-05T00:00:00Z", "2026-01-05T00:00:00Z"},
		{Week, "2026-01-04T23:59:59Z", "2025-12-29T00:00:00Z"},
		{Week, "2026-01-11T23:59:59Z", "2026-01-05T00:00:00Z"},
		{Week, "2026-10-01T12:00:00Z", "2026-09-28T00:00:00Z"},
		{Week, "1970-01-01T00:00:00Z", "1969-12-29T00:00:00Z"},
		{Week, "1970-01-05T00:00:00Z", "1970-01-05T00:00:00Z"},
		{Week, "1969-12-28T23:59:59Z", "1969-12-22T00:00:00Z"},
	} {
		got := tt.by.Floor(utc(tt.t))
		if !got.Equal(utc(tt.want)) || got.Location() != time.UTC {
			t.Errorf("%s Floor(%s) = %s, want %s", tt.by, tt.t, got, tt.want)
		}
		if tt.by == Week && got.Weekday() != time.Monday {
			t.Errorf("week of %s starts on %s", tt.t, got.Weekday())
		}
	}
}

func alertAt(ts string, level int, src string) *ossec.Alert {
	a := &ossec.Alert{Time: utc(ts), Level: level, RuleID: 5700 + level}
	if src != "" {
		a.SrcIP = netip.MustParseAddr(src)
	}
	return a
}

var timelineAlerts = []*ossec.Alert{
	alertAt("2026-10-01T00:00:00Z", 5, "203.0.113.45"),
	alertAt("2026-10-01T00:59:59Z", 10, "203.0.113.45"),
	alertAt("2026-10-01T13:10:00Z", 5, "10.40.0.7"),
	alertAt("2026-10-01T23:59:59Z", 3, ""),
	alertAt("2026-10-04T08:00:00Z", 5, "2001:db8::17"),
	alertAt("2026-10-05T00:00:00Z", 7, "203.0.113.45"),
}

func counts(bs []Bucket) []int64 {
	out := make([]int64, len(bs))
	for i, b := range bs {
		out[i] = b.Count
	}
	return out
}

func TestTimeline(t *testing.T) {
	local := netip.MustParsePrefix("10.0.0.0/8")
	for _, tt := range []struct {
		name   string
		q      TimelineQuery
		lo, hi string
		start  string
		want   []int64
	}{
		{name: "days, empty ones zero", q: TimelineQuery{By: Day}, start: "2026-10-01T00:00:00Z", want: []int64{4, 0, 0, 1, 1}},
		{name: "hours", q: TimelineQuery{By: Hour, Filter: Filter{Until: utc("2026-10-01T14:00:00Z")}}, start: "2026-10-01T00:00:00Z",
			want: []int64{2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}},
		// 2026-10-01 is a Thursday: its week starts on Monday 09-28; 10-05 is the next Monday.
		{name: "weeks", q: TimelineQuery{By: Week}, start: "2026-09-28T00:00:00Z", want: []int64{5, 1}},
		{name: "since inside a bucket", q: TimelineQuery{By: Day, Filter: Filter{Since: utc("2026-10-01T00:30:00Z")}},
			hi: "2026-10-06T00:00:00Z", start: "2026-10-01T00:00:00Z", want: []int64{3, 0, 0, 1, 1}},
		{name: "until on a boundary is exclusive", q: TimelineQuery{By: Day, Filter: Filter{Until: utc("2026-10-05T00:00:00Z")}},
			start: "2026-10-01T00:00:00Z", want: []int64{4, 0, 0, 1}},
		{name: "until just after a boundary", q: TimelineQuery{By: Day, Filter: Filter{Until: utc("2026-10-05T00:00:00.5Z")}},
			start: "2026-10-01T00:00:00Z", want: []int64{4, 0, 0, 1, 1}},
		{name: "range wider than the alerts", q: TimelineQuery{By: Day}, lo: "2026-09-29T12:00:00Z", hi: "2026-10-07T00:00:01Z",
			start: "2026-09-29T00:00:00Z", want: []int64{0, 0, 4, 0, 0, 1, 1, 0, 0}},
		{name: "scope leaves out alerts without a source", q: TimelineQuery{By: Day, InScope: func(a netip.Addr) bool { return !local.Contains(a) }},
			start: "2026-10-01T00:00:00Z", want: []int64{2, 0, 0, 1, 1}},
		{name: "one source", q: TimelineQuery{By: Day, Addr: netip.MustParseAddr("203.0.113.45")}, start: "2026-10-01T00:00:00Z",
			want: []int64{2, 0, 0, 0, 1}},
		{name: "level", q: TimelineQuery{By: Week, Filter: Filter{MinLevel: 7}}, start: "2026-09-28T00:00:00Z", want: []int64{1, 1}},
		{name: "nothing matches, open range", q: TimelineQuery{By: Day, Addr: netip.MustParseAddr("192.0.2.1")}, want: []int64{}},
		{name: "nothing matches, closed range", q: TimelineQuery{By: Day, Addr: netip.MustParseAddr("192.0.2.1")},
			lo: "2026-10-01T00:00:00Z", hi: "2026-10-03T00:00:00Z", start: "2026-10-01T00:00:00Z", want: []int64{0, 0}},
		{name: "empty range", q: TimelineQuery{By: Day}, lo: "2026-10-03T00:00:00Z", hi: "2026-10-03T00:00:00Z", want: []int64{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := NewTimelineCounter(tt.q)
			for _, a := range timelineAlerts {
				c.Add(a)
			}
			lo, hi := tt.q.Filter.Since, tt.q.Filter.Until
			if tt.lo != "" {
				lo = utc(tt.lo)
			}
			if tt.hi != "" {
				hi = utc(tt.hi)
			}
			got, err := c.Timeline(lo, hi)
			if err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(tt.want, counts(got)); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
			for i, b := range got {
				want := utc(tt.start).Add(time.Duration(i) * tt.q.By.Duration())
				if !b.Start.Equal(want) || b.Start.Location() != time.UTC {
					t.Errorf("bucket %d starts %s, want %s", i, b.Start, want)
				}
				var sum int64
				for j, l := range b.ByLevel {
					sum += l.Count
					if l.Count == 0 || j > 0 && l.Level >= b.ByLevel[j-1].Level {
						t.Errorf("bucket %d levels %v: want non-zero, highest first", i, b.ByLevel)
					}
				}
				if sum != b.Count {
					t.Errorf("bucket %d: levels sum to %d, count %d", i, sum, b.Count)
				}
			}
		})
	}
}

func TestTimelineTooManyBuckets(t *testing.T) {
	c := NewTimelineCounter(TimelineQuery{By: Hour})
	_, err := c.Timeline(utc("2000-01-01T00:00:00Z"), utc("2026-01-01T00:00:00Z"))
	if err == nil || !strings.Contains(err.Error(), "buckets") {
		t.Errorf("26 years by hour: err = %v, want too many buckets", err)
	}
	c = NewTimelineCounter(TimelineQuery{By: Week})
	if _, err := c.Timeline(utc("2000-01-01T00:00:00Z"), utc("2026-01-01T00:00:00Z")); err != nil {
		t.Errorf("26 years by week: %v", err)
	}
}

func TestBar(t *testing.T) {
	for _, tt := range []struct {
		n, peak int64
		width   int
		want    string
	}{
		{0, 10, 10, ""},
		{10, 10, 4, "████"},
		{5, 10, 4, "██"},
		{1, 1000, 4, "▏"}, // never invisible
		{3, 8, 1, "▍"},
		{7, 8, 1, "▉"},
		{1, 0, 4, ""},
	} {
		if got := Bar(tt.n, tt.peak, tt.width); got != tt.want {
			t.Errorf("Bar(%d, %d, %d) = %q, want %q", tt.n, tt.peak, tt.width, got, tt.want)
		}
	}
}

// TestTimelineRender pins the chart, JSON and CSV of a small timeline.
func TestTimelineRender(t *testing.T) {
	for _, by := range []Interval{Hour, Day, Week} {
		c := NewTimelineCounter(TimelineQuery{By: by})
		for _, a := range timelineAlerts {
			c.Add(a)
		}
		hi := utc("2026-10-01T15:00:00Z")
		if by != Hour {
			hi = utc("2026-10-12T00:00:00Z")
		}
		buckets, err := c.Timeline(time.Time{}, hi)
		if err != nil {
			t.Fatal(err)
		}
		var chart, csv bytes.Buffer
		if err := WriteTimelineChart(&chart, by, buckets, 20); err != nil {
			t.Fatal(err)
		}
		goldentest.Check(t, "testdata/timeline-"+by.String()+".txt", chart.Bytes())
		goldentest.Check(t, "testdata/timeline-"+by.String()+".json", AppendTimelineJSON(nil, buckets))
		if err := WriteTimelineCSV(&csv, buckets); err != nil {
			t.Fatal(err)
		}
		goldentest.Check(t, "testdata/timeline-"+by.String()+".csv", csv.Bytes())
	}
	if got := string(AppendTimelineJSON(nil, nil)); got != "[]\n" {
		t.Errorf("empty timeline JSON = %q", got)
	}
}
