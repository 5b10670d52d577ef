package analytics

import (
	"cmp"
	"net/netip"
	"slices"
	"time"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// SourceReport is one source's history: the drill-down the seed does by hand
// with "SELECT ... WHERE src_ip = ...".
type SourceReport struct {
	Addr      netip.Addr
	Count     int64
	FirstSeen time.Time
	LastSeen  time.Time
	// ByRule is ordered by count descending, then rule id.
	ByRule []RuleCount
	// ByLevel is ordered by level descending.
	ByLevel []LevelCount
	// ByLocation is ordered by count descending, then location.
	ByLocation []LocationCount
	// ByDay is ordered by day ascending (UTC days).
	ByDay []DayCount
	// Alerts are the newest alerts first, at most the requested limit;
	// among alerts of the same second, the one read (or stored) later first.
	Alerts []AlertLine
}

// RuleCount counts a source's alerts of one rule. Description is empty when
// the back end does not know it (ossec-dbd 2.9+ never fills "signature").
type RuleCount struct {
	RuleID      int
	Description string
	Level       int
	Count       int64
}

// LevelCount counts a source's alerts of one level.
type LevelCount struct {
	Level int
	Count int64
}

// LocationCount counts a source's alerts by OSSEC location.
type LocationCount struct {
	Location string
	Count    int64
}

// DayCount counts a source's alerts on one UTC day.
type DayCount struct {
	Day   time.Time // midnight UTC
	Count int64
}

// AlertLine is one alert as the drill-down lists it.
type AlertLine struct {
	Time     time.Time
	RuleID   int
	Level    int
	Location string
	Log      string // the alert's log lines joined by "\n"
}

// ReportBuilder builds a SourceReport from alerts streaming past.
type ReportBuilder struct {
	filter Filter
	addr   netip.Addr
	limit  int
	rep    SourceReport
	rules  map[int]*RuleCount
	levels map[int]int64
	locs   map[string]int64
	days   map[int64]int64
	newest []AlertLine // kept sorted newest first, at most limit
}

// NewReportBuilder returns a builder for addr's alerts selected by f, keeping
// the limit newest alerts.
func NewReportBuilder(addr netip.Addr, f Filter, limit int) *ReportBuilder {
	return &ReportBuilder{
		filter: f, addr: addr, limit: limit,
		rep:   SourceReport{Addr: addr},
		rules: map[int]*RuleCount{}, levels: map[int]int64{},
		locs: map[string]int64{}, days: map[int64]int64{},
	}
}

// Add takes a into the report if it is from the builder's address and the
// filter selects it.
func (b *ReportBuilder) Add(a *ossec.Alert) {
	if a.SrcIP != b.addr || !b.filter.Match(a) {
		return
	}
	r := &b.rep
	if r.Count == 0 || a.Time.Before(r.FirstSeen) {
		r.FirstSeen = a.Time
	}
	if r.Count == 0 || a.Time.After(r.LastSeen) {
		r.LastSeen = a.Time
	}
	r.Count++
	rc := b.rules[a.RuleID]
	if rc == nil {
		rc = &RuleCount{RuleID: a.RuleID, Description: a.Description, Level: a.Level}
		b.rules[a.RuleID] = rc
	}
	rc.Count++
	b.levels[a.Level]++
	b.locs[a.Location.Raw]++
	b.days[a.Time.Unix()/86400]++
	if b.limit <= 0 {
		return
	}
	line := AlertLine{Time: a.Time, RuleID: a.RuleID, Level: a.Level, Location: a.Location.Raw}
	// Newest first; among alerts of the same second the one read later
	// counts as newer, as it does in a file, the store and the database.
	if len(b.newest) == b.limit && line.Time.Before(b.newest[len(b.newest)-1].Time) {
		return
	}
	line.Log = joinLines(a.Log)
	// Insert before every alert of the same time or older.
	i, _ := slices.BinarySearchFunc(b.newest, line, func(x, y AlertLine) int {
		return y.Time.Compare(x.Time)
	})
	b.newest = slices.Insert(b.newest, i, line)
	if len(b.newest) > b.limit {
		b.newest = b.newest[:b.limit]
	}
}

func joinLines(lines []string) string {
	n := 0
	for _, l := range lines {
		n += len(l) + 1
	}
	buf := make([]byte, 0, n)
	for i, l := range lines {
		if i > 0 {
			buf = append(buf, '\n')
		}
		buf = append(buf, l...)
	}
	return string(buf)
}

// Report returns the finished report.
func (b *ReportBuilder) Report() SourceReport {
	r := b.rep
	r.ByRule = r.ByRule[:0]
	for _, rc := range b.rules {
		r.ByRule = append(r.ByRule, *rc)
	}
	r.ByLevel = nil
	for l, n := range b.levels {
		r.ByLevel = append(r.ByLevel, LevelCount{Level: l, Count: n})
	}
	r.ByLocation = nil
	for l, n := range b.locs {
		r.ByLocation = append(r.ByLocation, LocationCount{Location: l, Count: n})
	}
	r.ByDay = nil
	for d, n := range b.days {
		r.ByDay = append(r.ByDay, DayCount{Day: time.Unix(d*86400, 0).UTC(), Count: n})
	}
	r.Alerts = slices.Clone(b.newest)
	SortReport(&r)
	return r
}

// SortReport puts a report's breakdowns in their documented order. Back ends
// that build reports in SQL call it so every back end orders alike.
func SortReport(r *SourceReport) {
	slices.SortFunc(r.ByRule, func(a, b RuleCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.RuleID, b.RuleID)
	})
	slices.SortFunc(r.ByLevel, func(a, b LevelCount) int { return cmp.Compare(b.Level, a.Level) })
	slices.SortFunc(r.ByLocation, func(a, b LocationCount) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Location, b.Location)
	})
	slices.SortFunc(r.ByDay, func(a, b DayCount) int { return a.Day.Compare(b.Day) })
}
