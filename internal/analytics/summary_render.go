package analytics

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Report is a summary laid out for people and programs: a title, the
// period, and sections, each a table in text and Markdown and a member of
// the JSON object. A caller adds a section of its own by inserting it into
// Sections; the renderers need nothing else.
type Report struct {
	Title        string
	Since, Until time.Time
	Sections     []Section
}

// Section is one part of a report.
type Section struct {
	// Key names the section's member in JSON ("by_level").
	Key string
	// Title heads the section in text and Markdown.
	Title string
	// Columns and Rows are the section's table.
	Columns []Column
	Rows    [][]string
	// Rest, when not empty, follows the table: what the rows leave out.
	Rest string
	// Empty is said instead of a table without rows.
	Empty string
	// Data is the section's JSON value.
	Data any
}

// Column is a table column; numbers align right.
type Column struct {
	Name  string
	Right bool
}

// JSON shapes of the summary's sections.
type (
	totalsJSON struct {
		Alerts       int64 `json:"alerts"`
		NoSource     int64 `json:"no_source"`
		Sources      int   `json:"sources"`
		SourceAlerts int64 `json:"source_alerts"`
		NewSources   int   `json:"new_sources"`
	}
	levelJSON struct {
		Level int   `json:"level"`
		Count int64 `json:"count"`
	}
	ruleJSON struct {
		Rule        int    `json:"rule"`
		Level       int    `json:"level"`
		Description string `json:"description"`
		Count       int64  `json:"count"`
	}
	agentJSON struct {
		Agent string `json:"agent"`
		Count int64  `json:"count"`
	}
	sourceJSON struct {
		IP        string    `json:"ip"`
		Count     int64     `json:"count"`
		FirstSeen time.Time `json:"first_seen"`
		LastSeen  time.Time `json:"last_seen"`
		MaxLevel  int       `json:"max_level"`
		Rules     int       `json:"rules"`
	}
	prefixJSON struct {
		Prefix    string    `json:"prefix"`
		Count     int64     `json:"count"`
		Sources   int       `json:"sources"`
		FirstSeen time.Time `json:"first_seen"`
		LastSeen  time.Time `json:"last_seen"`
		MaxLevel  int       `json:"max_level"`
		Top       []string  `json:"top"`
	}
)

// Report lays the summary out: totals, alerts by level, rule and agent, top
// sources, top prefixes, new sources. Rules and agents beyond the limit are
// summed up in a closing line (JSON has them all).
func (s Summary) Report() Report {
	r := Report{Title: "Rampart summary", Since: s.Since, Until: s.Until}
	pct := func(n int64) string {
		if s.Alerts == 0 {
			return "-"
		}
		return strconv.FormatFloat(float64(n)*100/float64(s.Alerts), 'f', 1, 64) + "%"
	}
	num := func(n int64) string { return strconv.FormatInt(n, 10) }

	r.Sections = append(r.Sections, Section{
		Key: "totals", Title: "Totals",
		Columns: []Column{{Name: "Total"}, {Name: "Count", Right: true}},
		Rows: [][]string{
			{"alerts", num(s.Alerts)},
			{"alerts without a source address", num(s.NoSource)},
			{"sources", strconv.Itoa(s.Sources)},
			{"alerts from these sources", num(s.SourceAlerts)},
			{"new sources (first seen in this period)", strconv.Itoa(s.NewSources)},
		},
		Data: totalsJSON{Alerts: s.Alerts, NoSource: s.NoSource, Sources: s.Sources, SourceAlerts: s.SourceAlerts, NewSources: s.NewSources},
	})

	levels := Section{Key: "by_level", Title: "Alerts by level", Empty: "No alerts.",
		Columns: []Column{{Name: "Level", Right: true}, {Name: "Alerts", Right: true}, {Name: "Share", Right: true}},
		Data:    []levelJSON{}}
	for _, l := range s.ByLevel {
		levels.Rows = append(levels.Rows, []string{strconv.Itoa(l.Level), num(l.Count), pct(l.Count)})
		levels.Data = append(levels.Data.([]levelJSON), levelJSON{l.Level, l.Count})
	}
	r.Sections = append(r.Sections, levels)

	rules := Section{Key: "by_rule", Title: "Alerts by rule", Empty: "No alerts.",
		Columns: []Column{{Name: "Rule", Right: true}, {Name: "Level", Right: true}, {Name: "Alerts", Right: true}, {Name: "Share", Right: true}, {Name: "Description"}},
		Data:    []ruleJSON{}}
	var restN, restAlerts int64
	for i, rc := range s.ByRule {
		rules.Data = append(rules.Data.([]ruleJSON), ruleJSON{rc.RuleID, rc.Level, rc.Description, rc.Count})
		if i >= s.Limit {
			restN, restAlerts = restN+1, restAlerts+rc.Count
			continue
		}
		rules.Rows = append(rules.Rows, []string{strconv.Itoa(rc.RuleID), strconv.Itoa(rc.Level), num(rc.Count), pct(rc.Count), rc.Description})
	}
	if restN > 0 {
		rules.Rest = fmt.Sprintf("and %s with %s (%s)", plural(restN, "more rule"), plural(restAlerts, "alert"), pct(restAlerts))
	}
	r.Sections = append(r.Sections, rules)

	agents := Section{Key: "by_agent", Title: "Alerts by agent", Empty: "No alerts.",
		Columns: []Column{{Name: "Agent"}, {Name: "Alerts", Right: true}, {Name: "Share", Right: true}},
		Data:    []agentJSON{}}
	restN, restAlerts = 0, 0
	for i, a := range s.ByAgent {
		agents.Data = append(agents.Data.([]agentJSON), agentJSON{a.Agent, a.Count})
		if i >= s.Limit {
			restN, restAlerts = restN+1, restAlerts+a.Count
			continue
		}
		name := a.Agent
		if name == "" {
			name = "(none)"
		}
		agents.Rows = append(agents.Rows, []string{name, num(a.Count), pct(a.Count)})
	}
	if restN > 0 {
		agents.Rest = fmt.Sprintf("and %s with %s (%s)", plural(restN, "more agent"), plural(restAlerts, "alert"), pct(restAlerts))
	}
	r.Sections = append(r.Sections, agents)

	r.Sections = append(r.Sections, sourcesSection("top_sources", "Top sources", s.TopSources, s.Sources, "No sources.", false))

	prefixes := Section{Key: "top_prefixes", Title: fmt.Sprintf("Top prefixes (/%d, /%d)", s.V4Prefix, s.V6Prefix), Empty: "No sources.",
		Columns: []Column{{Name: "Prefix"}, {Name: "Alerts", Right: true}, {Name: "Sources", Right: true}, {Name: "Max level", Right: true}, {Name: "Top sources"}},
		Data:    []prefixJSON{}}
	for _, g := range s.TopPrefixes {
		top := make([]string, len(g.Top))
		for i, m := range g.Top {
			top[i] = m.Addr.String()
		}
		prefixes.Rows = append(prefixes.Rows, []string{g.Key, num(g.Count), strconv.Itoa(g.Sources), strconv.Itoa(g.MaxLevel), strings.Join(top, " ")})
		prefixes.Data = append(prefixes.Data.([]prefixJSON), prefixJSON{g.Key, g.Count, g.Sources, g.FirstSeen.UTC(), g.LastSeen.UTC(), g.MaxLevel, top})
	}
	if more := s.Prefixes - len(s.TopPrefixes); more > 0 {
		prefixes.Rest = fmt.Sprintf("and %d more", more)
	}
	r.Sections = append(r.Sections, prefixes)

	r.Sections = append(r.Sections, sourcesSection("new_sources", "New sources (first seen in this period)", s.TopNew, s.NewSources, "No new sources.", true))
	return r
}

// plural says n things: "1 alert", "2 alerts".
func plural(n int64, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.FormatInt(n, 10) + " " + thing + "s"
}

// sourcesSection lists sources; of all (total) sources the list shows the
// first ones.
func sourcesSection(key, title string, srcs []SourceCount, total int, empty string, firstEver bool) Section {
	first := "First seen"
	if firstEver {
		first = "First seen ever"
	}
	sec := Section{Key: key, Title: title, Empty: empty,
		Columns: []Column{{Name: "IP"}, {Name: "Alerts", Right: true}, {Name: first}, {Name: "Last seen"}, {Name: "Max level", Right: true}, {Name: "Rules", Right: true}},
		Data:    []sourceJSON{}}
	for _, s := range srcs {
		sec.Rows = append(sec.Rows, []string{s.Addr.String(), strconv.FormatInt(s.Count, 10), s.FirstSeen.UTC().Format(time.RFC3339),
			s.LastSeen.UTC().Format(time.RFC3339), strconv.Itoa(s.MaxLevel), strconv.Itoa(s.Rules)})
		sec.Data = append(sec.Data.([]sourceJSON), sourceJSON{s.Addr.String(), s.Count, s.FirstSeen.UTC(), s.LastSeen.UTC(), s.MaxLevel, s.Rules})
	}
	if more := total - len(srcs); more > 0 {
		sec.Rest = fmt.Sprintf("and %d more", more)
	}
	return sec
}

// period says the report's period in words.
func (r Report) period() string {
	const layout = "2006-01-02 15:04"
	return fmt.Sprintf("%s to %s UTC", r.Since.UTC().Format(layout), r.Until.UTC().Format(layout))
}

// WriteText writes the report as plain text: tables in aligned columns,
// fit for a mail body in a fixed-width font.
func (r Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s, %s\n", r.Title, r.period())
	for _, s := range r.Sections {
		fmt.Fprintf(bw, "\n%s\n%s\n", s.Title, strings.Repeat("=", len([]rune(s.Title))))
		if len(s.Rows) == 0 {
			fmt.Fprintf(bw, "%s\n", s.Empty)
			continue
		}
		header := make([]string, len(s.Columns))
		for i, c := range s.Columns {
			header[i] = strings.ToUpper(c.Name)
		}
		widths := make([]int, len(s.Columns))
		for _, row := range append([][]string{header}, s.Rows...) {
			for i, cell := range row {
				widths[i] = max(widths[i], len([]rune(cell)))
			}
		}
		for _, row := range append([][]string{header}, s.Rows...) {
			var line strings.Builder
			for i, cell := range row {
				if i > 0 {
					line.WriteString("  ")
				}
				pad := strings.Repeat(" ", widths[i]-len([]rune(cell)))
				if s.Columns[i].Right {
					line.WriteString(pad + cell)
				} else {
					line.WriteString(cell + pad)
				}
			}
			bw.WriteString(strings.TrimRight(line.String(), " "))
			bw.WriteByte('\n')
		}
		if s.Rest != "" {
			fmt.Fprintf(bw, "%s\n", s.Rest)
		}
	}
	return bw.Flush()
}

// WriteMarkdown writes the report as CommonMark/GFM: a heading per section
// and a pipe table, which mail clients and chat tools render.
func (r Report) WriteMarkdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# %s\n\n%s\n", mdEscape(r.Title), r.period())
	for _, s := range r.Sections {
		fmt.Fprintf(bw, "\n## %s\n\n", mdEscape(s.Title))
		if len(s.Rows) == 0 {
			fmt.Fprintf(bw, "%s\n", mdEscape(s.Empty))
			continue
		}
		bw.WriteString("|")
		for _, c := range s.Columns {
			fmt.Fprintf(bw, " %s |", mdEscape(c.Name))
		}
		bw.WriteString("\n|")
		for _, c := range s.Columns {
			if c.Right {
				bw.WriteString(" --: |")
			} else {
				bw.WriteString(" --- |")
			}
		}
		bw.WriteString("\n")
		for _, row := range s.Rows {
			bw.WriteString("|")
			for _, cell := range row {
				fmt.Fprintf(bw, " %s |", mdEscape(cell))
			}
			bw.WriteString("\n")
		}
		if s.Rest != "" {
			fmt.Fprintf(bw, "\n%s\n", mdEscape(s.Rest))
		}
	}
	return bw.Flush()
}

// mdEscape makes text literal in Markdown, table cells included: every
// ASCII punctuation Markdown gives a meaning gets a backslash, and line
// breaks become spaces.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '#', '~', '&', '!':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n', '\r':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// MarshalJSON writes the report as one object: "since", "until", then each
// section's Data under its Key, in order.
func (r Report) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"since":`)
	v, _ := json.Marshal(r.Since.UTC())
	b.Write(v)
	b.WriteString(`,"until":`)
	v, _ = json.Marshal(r.Until.UTC())
	b.Write(v)
	for _, s := range r.Sections {
		k, _ := json.Marshal(s.Key)
		v, err := json.Marshal(s.Data)
		if err != nil {
			return nil, fmt.Errorf("section %s: %w", s.Key, err)
		}
		b.WriteByte(',')
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
