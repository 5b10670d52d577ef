package analytics

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/ossec"
)

var t0 = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

func alert(sec int64, src string, rule, level int, loc string, log ...string) *ossec.Alert {
	a := &ossec.Alert{ID: ossec.ID{Epoch: t0.Unix() + sec, Seq: sec}, RuleID: rule, Level: level,
		Description: "rule " + string(rune('A'+rule%26)), Location: ossec.ParseLocation(loc), Log: log}
	a.Time = ossec.TimeFromID(a.ID)
	if src != "" {
		a.SrcIP, _ = ossec.ParseAddr(src)
	}
	return a
}

func fixture() []*ossec.Alert {
	return []*ossec.Alert{
		alert(0, "203.0.113.5", 5710, 5, "web1->/var/log/auth.log", "a"),
		alert(10, "203.0.113.5", 5712, 10, "web1->/var/log/auth.log", "b"),
		alert(20, "::ffff:203.0.113.5", 5710, 5, "(fe01) 10.0.0.1->/var/log/secure", "c"),
		alert(86400+5, "203.0.113.5", 5710, 5, "web1->/var/log/auth.log", "d"),
		alert(30, "10.40.0.7", 5710, 5, "web1->/var/log/auth.log", "e"),
		alert(40, "", 550, 7, "web1->syscheck", "f"),
		alert(50, "2001:db8::1", 31104, 6, "(fe01) 10.0.0.1->/var/log/nginx/access.log", "g"),
		alert(60, "2001:db8::1", 31104, 6, "(fe01) 10.0.0.1->/var/log/nginx/access.log", "h"),
		alert(70, "110.40.0.5", 5710, 5, "web1->/var/log/auth.log", "i"),
		alert(80, "110.40.0.5", 5710, 5, "web1->/var/log/auth.log", "j"),
	}
}

func count(f Filter, sel Selection) ([]SourceCount, int64) {
	c := NewCounter(f)
	for _, a := range fixture() {
		c.Add(a)
	}
	return Finish(c.Sources(), sel), c.NoSource
}

func TestTop(t *testing.T) {
	local := netip.MustParsePrefix("10.0.0.0/8")
	internet := func(a netip.Addr) bool { return !local.Contains(a) }
	got, noSrc := count(Filter{}, Selection{InScope: internet})
	want := []SourceCount{
		{Addr: netip.MustParseAddr("203.0.113.5"), Count: 4, FirstSeen: t0, LastSeen: t0.Add(86405 * time.Second), MaxLevel: 10, Rules: 2},
		{Addr: netip.MustParseAddr("110.40.0.5"), Count: 2, FirstSeen: t0.Add(70 * time.Second), LastSeen: t0.Add(80 * time.Second), MaxLevel: 5, Rules: 1},
		{Addr: netip.MustParseAddr("2001:db8::1"), Count: 2, FirstSeen: t0.Add(50 * time.Second), LastSeen: t0.Add(60 * time.Second), MaxLevel: 6, Rules: 1},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("top (-want +got):\n%s", diff)
	}
	if noSrc != 1 {
		t.Errorf("NoSource = %d, want 1", noSrc)
	}
}

func TestTopFilters(t *testing.T) {
	tests := []struct {
		name  string
		f     Filter
		sel   Selection
		addrs []string
	}{
		{"all", Filter{}, Selection{}, []string{"203.0.113.5", "110.40.0.5", "2001:db8::1", "10.40.0.7"}},
		{"min", Filter{}, Selection{Min: 2}, []string{"203.0.113.5", "110.40.0.5", "2001:db8::1"}},
		{"limit", Filter{}, Selection{Limit: 1}, []string{"203.0.113.5"}},
		{"level", Filter{MinLevel: 6}, Selection{}, []string{"2001:db8::1", "203.0.113.5"}},
		{"rule", Filter{RuleID: 31104}, Selection{}, []string{"2001:db8::1"}},
		{"since", Filter{Since: t0.Add(60 * time.Second)}, Selection{}, []string{"110.40.0.5", "203.0.113.5", "2001:db8::1"}},
		{"until exclusive", Filter{Until: t0.Add(10 * time.Second)}, Selection{}, []string{"203.0.113.5"}},
		{"window", Filter{Since: t0.Add(20 * time.Second), Until: t0.Add(71 * time.Second)}, Selection{}, []string{"2001:db8::1", "10.40.0.7", "110.40.0.5", "203.0.113.5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := count(tt.f, tt.sel)
			var addrs []string
			for _, s := range got {
				addrs = append(addrs, s.Addr.String())
			}
			if diff := cmp.Diff(tt.addrs, addrs); diff != "" {
				t.Errorf("sources (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReport(t *testing.T) {
	b := NewReportBuilder(netip.MustParseAddr("203.0.113.5"), Filter{}, 2)
	for _, a := range fixture() {
		b.Add(a)
	}
	r := b.Report()
	if r.Count != 4 || !r.FirstSeen.Equal(t0) || !r.LastSeen.Equal(t0.Add(86405*time.Second)) {
		t.Errorf("summary = %d %v %v", r.Count, r.FirstSeen, r.LastSeen)
	}
	wantRules := []RuleCount{{5710, "rule Q", 5, 3}, {5712, "rule S", 10, 1}}
	if diff := cmp.Diff(wantRules, r.ByRule); diff != "" {
		t.Errorf("ByRule (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]LevelCount{{10, 1}, {5, 3}}, r.ByLevel); diff != "" {
		t.Errorf("ByLevel (-want +got):\n%s", diff)
	}
	wantLoc := []LocationCount{{"web1->/var/log/auth.log", 3}, {"(fe01) 10.0.0.1->/var/log/secure", 1}}
	if diff := cmp.Diff(wantLoc, r.ByLocation); diff != "" {
		t.Errorf("ByLocation (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]DayCount{{t0, 3}, {t0.AddDate(0, 0, 1), 1}}, r.ByDay); diff != "" {
		t.Errorf("ByDay (-want +got):\n%s", diff)
	}
	if len(r.Alerts) != 2 || r.Alerts[0].Log != "d" || r.Alerts[1].Log != "c" {
		t.Errorf("Alerts = %+v, want d then c", r.Alerts)
	}
}

func TestReportTiesKeepLaterAlerts(t *testing.T) {
	b := NewReportBuilder(netip.MustParseAddr("203.0.113.5"), Filter{}, 2)
	for _, log := range []string{"first", "second", "third"} {
		b.Add(alert(100, "203.0.113.5", 5710, 5, "web1->/var/log/auth.log", log))
	}
	b.Add(alert(50, "203.0.113.5", 5710, 5, "web1->/var/log/auth.log", "older"))
	r := b.Report()
	if len(r.Alerts) != 2 || r.Alerts[0].Log != "third" || r.Alerts[1].Log != "second" {
		t.Errorf("Alerts = %+v, want third then second", r.Alerts)
	}
}
