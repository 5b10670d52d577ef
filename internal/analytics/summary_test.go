package analytics

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/goldentest"
	"github.com/rampart-ids/rampart/internal/ossec"
)

func TestAgentName(t *testing.T) {
	for _, tt := range []struct{ loc, want string }{
		{"(fe01) 10.40.0.11->/var/log/nginx/access.log", "fe01"},
		{"(web any) any->/var/log/secure", "web any"},
		{"ossec-mgr->/var/log/auth.log", "ossec-mgr"},
		{"ossec-mgr->syscheck", "ossec-mgr"},
		{"ossec-mgr->(ssh_integrity_check_linux) root@10.40.0.9->syscheck", "(ssh_integrity_check_linux) root@10.40.0.9"},
		{"/var/log/messages", ""},
		{"", ""},
	} {
		if got := AgentName(tt.loc); got != tt.want {
			t.Errorf("AgentName(%q) = %q, want %q", tt.loc, got, tt.want)
		}
	}
}

type summaryAlert struct {
	at, src, loc string
	rule, level  int
	desc         string
}

// summaryAlerts: a week from 2026-10-08 with alerts before it, so that some
// sources are new and others return.
var summaryAlerts = []summaryAlert{
	// Before the period: 203.0.113.45 and 10.40.0.7 are known.
	{"2026-09-30T10:00:00Z", "203.0.113.45", "ossec-mgr->/var/log/auth.log", 5710, 5, "Attempt to login using a non-existent user"},
	{"2026-10-07T23:59:59Z", "10.40.0.7", "ossec-mgr->/var/log/auth.log", 5710, 5, "Attempt to login using a non-existent user"},
	// The period.
	{"2026-10-08T00:00:00Z", "203.0.113.45", "ossec-mgr->/var/log/auth.log", 5710, 5, "Attempt to login using a non-existent user"},
	{"2026-10-08T00:00:05Z", "203.0.113.45", "ossec-mgr->/var/log/auth.log", 5712, 10, "SSHD brute force: many failed logins | from one <source>."},
	{"2026-10-09T08:00:00Z", "203.0.113.77", "(fe01) 10.40.0.11->/var/log/auth.log", 5710, 5, "Attempt to login using a non-existent user"},
	{"2026-10-09T09:00:00Z", "203.0.113.77", "(fe01) 10.40.0.11->/var/log/auth.log", 5710, 5, "Attempt to login using a non-existent user"},
	{"2026-10-09T09:30:00Z", "203.0.113.77", "(fe01) 10.40.0.11->/var/log/auth.log", 5710, 5, "Attempt to login using a non-existent user"},
	{"2026-10-10T12:00:00Z", "2a01:4f8:c17:2d4e::5", "(fe02) 10.40.0.12->/var/log/nginx/access.log", 31104, 6, "Common web attack."},
	{"2026-10-10T12:00:01Z", "2a01:4f8:c17:2d4e::9", "(fe02) 10.40.0.12->/var/log/nginx/access.log", 31104, 6, "Common web attack."},
	{"2026-10-11T01:00:00Z", "10.40.0.7", "ossec-mgr->/var/log/auth.log", 5710, 5, "Attempt to login using a non-existent user"},
	{"2026-10-12T06:25:00Z", "", "ossec-mgr->syscheck", 550, 7, "Integrity checksum changed."},
	// An operator raised rule 5710's level: the variant with most alerts names it.
	{"2026-10-13T03:00:00Z", "198.51.100.3", "(db1) 10.40.0.21->/var/log/secure", 5710, 7, "Attempt to login using a non-existent user (raised)"},
	// After the period.
	{"2026-10-15T00:00:00Z", "192.0.2.99", "ossec-mgr->/var/log/auth.log", 5710, 5, "Attempt to login using a non-existent user"},
}

func buildSummary(limit int) Summary {
	f := Filter{Since: utc("2026-10-08T00:00:00Z"), Until: utc("2026-10-15T00:00:00Z")}
	b := NewSummaryBuilder(f)
	for _, sa := range summaryAlerts {
		a := &ossec.Alert{Time: utc(sa.at), RuleID: sa.rule, Level: sa.level, Description: sa.desc, Location: ossec.ParseLocation(sa.loc)}
		if sa.src != "" {
			a.SrcIP = netip.MustParseAddr(sa.src)
		}
		b.Add(a)
	}
	in := b.Input()
	in.Since, in.Until, in.Limit = f.Since, f.Until, limit
	local := netip.MustParsePrefix("10.0.0.0/8")
	in.InScope = func(a netip.Addr) bool { return !local.Contains(a) }
	return Summarize(in)
}

func TestSummarize(t *testing.T) {
	s := buildSummary(10)
	if s.Alerts != 10 || s.NoSource != 1 {
		t.Errorf("alerts %d, without source %d; want 10 and 1", s.Alerts, s.NoSource)
	}
	// In scope: 203.0.113.45, .77, two IPv6, 198.51.100.3 (10.40.0.7 is local).
	if s.Sources != 5 || s.SourceAlerts != 8 {
		t.Errorf("sources %d with %d alerts, want 5 with 8", s.Sources, s.SourceAlerts)
	}
	var fresh []string
	for _, src := range s.TopNew {
		fresh = append(fresh, src.Addr.String())
	}
	if diff := gocmp.Diff([]string{"203.0.113.77", "198.51.100.3", "2a01:4f8:c17:2d4e::5", "2a01:4f8:c17:2d4e::9"}, fresh); diff != "" || s.NewSources != 4 {
		t.Errorf("new sources %d (-want +got):\n%s", s.NewSources, diff)
	}
	if p := s.TopPrefixes[0]; p.Key != "203.0.113.0/24" || p.Count != 5 || p.Sources != 2 {
		t.Errorf("top prefix %+v, want 203.0.113.0/24 with 5 alerts from 2 sources", p)
	}
	if p := s.TopPrefixes[1]; p.Key != "2a01:4f8:c17:2d4e::/64" || p.Count != 2 || p.Sources != 2 {
		t.Errorf("second prefix %+v, want 2a01:4f8:c17:2d4e::/64 with 2 alerts from 2 sources", p)
	}
	want := RuleCount{RuleID: 5710, Level: 5, Description: "Attempt to login using a non-existent user", Count: 6}
	if diff := gocmp.Diff(want, s.ByRule[0]); diff != "" {
		t.Errorf("rule 5710 (-want +got):\n%s", diff)
	}
	wantAgents := []AgentCount{{"ossec-mgr", 4}, {"fe01", 3}, {"fe02", 2}, {"db1", 1}}
	if diff := gocmp.Diff(wantAgents, s.ByAgent); diff != "" {
		t.Errorf("agents (-want +got):\n%s", diff)
	}
}

// TestSummaryRender pins the text, Markdown and JSON renderings, once with
// every list whole and once cut to two entries.
func TestSummaryRender(t *testing.T) {
	for _, limit := range []int{10, 2} {
		rep := buildSummary(limit).Report()
		name := "testdata/summary"
		if limit == 2 {
			name += "-limit2"
		}
		var text, md, js bytes.Buffer
		if err := rep.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		goldentest.Check(t, name+".txt", text.Bytes())
		if err := rep.WriteMarkdown(&md); err != nil {
			t.Fatal(err)
		}
		goldentest.Check(t, name+".md", md.Bytes())
		enc := json.NewEncoder(&js)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			t.Fatal(err)
		}
		goldentest.Check(t, name+".json", js.Bytes())
	}
}

// TestReportSection shows how a caller adds a section of its own: the
// renderers need nothing else.
func TestReportSection(t *testing.T) {
	rep := buildSummary(10).Report()
	rep.Sections = append(rep.Sections, Section{
		Key: "extra", Title: "Extra", Columns: []Column{{Name: "IP"}, {Name: "N", Right: true}},
		Rows: [][]string{{"192.0.2.1", "7"}}, Data: []int{7},
	})
	var text, md bytes.Buffer
	rep.WriteText(&text)
	rep.WriteMarkdown(&md)
	js, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(text.String(), "Extra\n=====\nIP         N\n192.0.2.1  7\n") {
		t.Errorf("text ends %q", text.String()[max(0, text.Len()-80):])
	}
	if !strings.HasSuffix(md.String(), "## Extra\n\n| IP | N |\n| --- | --: |\n| 192.0.2.1 | 7 |\n") {
		t.Errorf("markdown ends %q", md.String()[max(0, md.Len()-80):])
	}
	if !strings.HasSuffix(string(js), `,"extra":[7]}`) {
		t.Errorf("json ends %q", js[max(0, len(js)-40):])
	}
}

func TestMarkdownEscape(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"a | b", `a \| b`},
		{"<script>", `\<script\>`},
		{"*x* _y_ `z`", "\\*x\\* \\_y\\_ \\`z\\`"},
		{"C:\\dir", `C:\\dir`},
		{"two\nlines", "two lines"},
		{"2a01:4f8::/64", "2a01:4f8::/64"},
	} {
		if got := mdEscape(tt.in); got != tt.want {
			t.Errorf("mdEscape(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
