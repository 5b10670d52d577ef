package alertsjson

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rampart-ids/rampart/internal/goldentest"
	"github.com/rampart-ids/rampart/internal/ossec"
)

// cmpAddr lets go-cmp compare netip.Addr, whose fields are unexported.
var cmpAddr = cmpopts.EquateComparable(netip.Addr{})

// golden is the reviewed form of one read: every alert with the line it came
// from, every problem, and the final counts.
type golden struct {
	Alerts   []goldenAlert   `json:"alerts"`
	Problems []goldenProblem `json:"problems"`
	Stats    goldenStats     `json:"stats"`
}

type goldenAlert struct {
	Line        int            `json:"line"`
	Offset      int64          `json:"offset"`
	Dialect     string         `json:"dialect"`
	ID          string         `json:"id,omitempty"`
	Time        string         `json:"time,omitempty"`
	Mail        bool           `json:"mail,omitempty"`
	RuleID      int            `json:"rule_id"`
	Level       int            `json:"level"`
	Description string         `json:"description"`
	Groups      []string       `json:"groups"`
	SrcIP       string         `json:"src_ip,omitempty"`
	SrcPort     uint16         `json:"src_port,omitempty"`
	DstIP       string         `json:"dst_ip,omitempty"`
	DstPort     uint16         `json:"dst_port,omitempty"`
	User        string         `json:"user,omitempty"`
	Location    ossec.Location `json:"location"`
	Log         []string       `json:"log"`
}

type goldenProblem struct {
	Line    int    `json:"line"`
	Reason  string `json:"reason"`
	Snippet string `json:"snippet"`
}

type goldenStats struct {
	Lines, Alerts, Malformed, Blank int64
	Dialects                        map[string]int64
	Offset                          int64
}

func toGolden(r *Reader) goldenAlert {
	a := r.Alert()
	g := goldenAlert{
		Line: r.Line(), Offset: r.Offset(), Dialect: r.Dialect().String(),
		ID: a.ID.String(), Mail: a.Mail, RuleID: a.RuleID, Level: a.Level,
		Description: a.Description, Groups: a.Groups,
		SrcPort: a.SrcPort, DstPort: a.DstPort, User: a.User,
		Location: a.Location, Log: a.Log,
	}
	if !a.Time.IsZero() {
		g.Time = a.Time.Format(time.RFC3339)
	}
	if a.SrcIP.IsValid() {
		g.SrcIP = a.SrcIP.String()
	}
	if a.DstIP.IsValid() {
		g.DstIP = a.DstIP.String()
	}
	return g
}

// readAll reads every alert of data and returns the golden form.
func readAll(t testing.TB, data []byte, name string, opts Options) golden {
	t.Helper()
	g := golden{Alerts: []goldenAlert{}, Problems: []goldenProblem{}}
	opts.Problems = func(e *ossec.ParseError) {
		if e.File != name {
			t.Errorf("problem names file %q, want %q", e.File, name)
		}
		g.Problems = append(g.Problems, goldenProblem{e.Line, e.Reason, e.Snippet})
	}
	r := NewReader(bytes.NewReader(data), name, opts)
	for r.Next() {
		g.Alerts = append(g.Alerts, toGolden(r))
	}
	if err := r.Err(); err != nil {
		t.Fatalf("Err = %v", err)
	}
	st := r.Stats()
	g.Stats = goldenStats{Lines: st.Lines, Alerts: st.Alerts, Malformed: st.Malformed, Blank: st.Blank,
		Dialects: map[string]int64{}, Offset: r.Offset()}
	for d, n := range st.Dialects {
		if n > 0 {
			g.Stats.Dialects[Dialect(d).String()] = n
		}
	}
	checkStats(t, st)
	return g
}

func checkStats(t testing.TB, st Stats) {
	t.Helper()
	if st.Lines != st.Alerts+st.Malformed+st.Blank {
		t.Errorf("stats inconsistent: %+v", st)
	}
	var sum int64
	for _, n := range st.Dialects {
		sum += n
	}
	if sum != st.Alerts {
		t.Errorf("dialect counts %v do not add up to %d alerts", st.Dialects, st.Alerts)
	}
}

func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.json")
	if err != nil || len(inputs) < 6 {
		t.Fatalf("testdata inputs: %v %v", inputs, err)
	}
	type run struct {
		input, golden string
		opts          Options
	}
	var runs []run
	for _, in := range inputs {
		base := strings.TrimSuffix(in, ".json")
		runs = append(runs, run{in, base + ".golden", Options{}})
	}
	// OSSEC 2.9 lines carry no time: malformed by default, delivered on request.
	runs = append(runs, run{"testdata/ossec29.json", "testdata/ossec29.allownotime.golden", Options{AllowNoTime: true}})

	for _, tc := range runs {
		t.Run(filepath.Base(tc.golden), func(t *testing.T) {
			data, err := os.ReadFile(tc.input)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(readAll(t, data, filepath.Base(tc.input), tc.opts)); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			goldentest.Check(t, tc.golden, got)
		})
	}
}

// The same alerts written by every OSSEC release from 3.0 on must read as the
// same ossec.Alert, and their locations as the alerts.log date lines show
// them (ossec-formats.md §3.3, §4.5): this checks the duplicate-key handling
// of 3.2 and the rebuilding of 3.4+ independently of the golden files.
func TestDialectsAgree(t *testing.T) {
	wantLocation := map[string]string{
		"1700000000.48213": "web1->/var/log/auth.log",
		"1700000123.48765": "(fe02) 198.51.100.20->/var/log/nginx/access.log",
		"1700000450.49106": "web1->/var/log/syslog",
		"1700000600.49400": "(fe02) 198.51.100.20->syscheck",
		"1700000700.49800": "(db3) any->/var/log/secure",
		"1700000750.50100": "web1->(ssh_integrity_check_linux) root@192.0.2.9->syscheck",
		"1700000800.50400": "fw1->/var/log/kern.log",
	}
	byID := map[string]map[string]ossec.Alert{} // id -> file -> alert
	for _, name := range []string{"ossec30.json", "ossec32.json", "ossec34.json", "ossec42.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		r := NewReader(bytes.NewReader(data), name, Options{})
		for r.Next() {
			a := *r.Alert()
			id := a.ID.String()
			if byID[id] == nil {
				byID[id] = map[string]ossec.Alert{}
			}
			byID[id][name] = a
			if want, ok := wantLocation[id]; !ok || a.Location.Raw != want {
				t.Errorf("%s %s: location %q, want %q", name, id, a.Location.Raw, want)
			}
			if a.Location != ossec.ParseLocation(a.Location.Raw) {
				t.Errorf("%s %s: location parts %+v do not match its text", name, id, a.Location)
			}
		}
	}
	if len(byID) != len(wantLocation) {
		t.Fatalf("read %d distinct alerts, want %d", len(byID), len(wantLocation))
	}
	for id, files := range byID {
		if len(files) != 4 {
			t.Errorf("%s read from %d files, want 4", id, len(files))
		}
		ref := files["ossec34.json"]
		for name, a := range files {
			if diff := cmp.Diff(ref, a, cmpAddr); diff != "" {
				t.Errorf("%s: %s differs from ossec34.json (-3.4 +%s):\n%s", id, name, name, diff)
			}
		}
	}
}

// parseOne reads a single line and returns the alert or the problem.
func parseOne(t *testing.T, line string, opts Options) (*ossec.Alert, Dialect, *ossec.ParseError) {
	t.Helper()
	var prob *ossec.ParseError
	opts.Problems = func(e *ossec.ParseError) { prob = e }
	r := NewReader(strings.NewReader(line+"\n"), "t.json", opts)
	if r.Next() {
		a := *r.Alert()
		if r.Next() {
			t.Fatalf("second alert from one line")
		}
		return &a, r.Dialect(), nil
	}
	if r.Err() != nil {
		t.Fatalf("Err = %v", r.Err())
	}
	return nil, DialectUnknown, prob
}

func TestParseFields(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.FixedZone("CET", 3600)
	}
	const rule = `"rule":{"level":5,"comment":"c","sidid":5716}`
	tests := []struct {
		name  string
		line  string
		opts  Options
		check func(t *testing.T, a *ossec.Alert, d Dialect)
	}{
		{"ports as strings and numbers", `{` + rule + `,"id":"1.2","srcip":"192.0.2.1","srcport":"40022","dstip":"192.0.2.2","dstport":22}`, Options{},
			func(t *testing.T, a *ossec.Alert, _ Dialect) {
				if a.SrcPort != 40022 || a.DstPort != 22 {
					t.Errorf("ports %d %d", a.SrcPort, a.DstPort)
				}
			}},
		{"unusable ports are absent", `{` + rule + `,"id":"1.2","srcport":"ssh","dstport":70000}`, Options{},
			func(t *testing.T, a *ossec.Alert, _ Dialect) {
				if a.SrcPort != 0 || a.DstPort != 0 {
					t.Errorf("ports %d %d", a.SrcPort, a.DstPort)
				}
			}},
		{"mapped and missing addresses", `{` + rule + `,"id":"1.2","srcip":"::ffff:203.0.113.45","dstip":"(none)"}`, Options{},
			func(t *testing.T, a *ossec.Alert, _ Dialect) {
				if a.SrcIP.String() != "203.0.113.45" || a.DstIP.IsValid() {
					t.Errorf("src %v dst %v", a.SrcIP, a.DstIP)
				}
			}},
		{"host name as srcip is no address", `{` + rule + `,"id":"1.2","srcip":"scanner.example.org"}`, Options{},
			func(t *testing.T, a *ossec.Alert, _ Dialect) {
				if a.SrcIP.IsValid() {
					t.Errorf("src %v", a.SrcIP)
				}
			}},
		{"TimeStamp when there is no id", `{` + rule + `,"TimeStamp":1700000123000}`, Options{},
			func(t *testing.T, a *ossec.Alert, d Dialect) {
				if !a.ID.IsZero() || a.Time.Unix() != 1700000123 || a.Time.Location() != time.UTC {
					t.Errorf("id %v time %v", a.ID, a.Time)
				}
				if d != OSSEC30 {
					t.Errorf("dialect %v", d)
				}
			}},
		{"local timestamp in the manager's zone", `{` + rule + `,"timestamp":"2023 Nov 14 23:15:23"}`, Options{Location: berlin},
			func(t *testing.T, a *ossec.Alert, _ Dialect) {
				if a.Time.Unix() != 1700000123 {
					t.Errorf("time %v (%d)", a.Time, a.Time.Unix())
				}
			}},
		{"local timestamp defaults to UTC", `{` + rule + `,"timestamp":"2023 Nov 14 22:15:23"}`, Options{},
			func(t *testing.T, a *ossec.Alert, _ Dialect) {
				if a.Time.Unix() != 1700000123 {
					t.Errorf("time %v", a.Time)
				}
			}},
		{"id wins over the timestamps", `{` + rule + `,"id":"1700000000.1","TimeStamp":1,"timestamp":"2020 Jan 01 00:00:00"}`, Options{},
			func(t *testing.T, a *ossec.Alert, _ Dialect) {
				if a.Time.Unix() != 1700000000 || a.ID.Seq != 1 {
					t.Errorf("id %v time %v", a.ID, a.Time)
				}
			}},
		{"Wazuh ISO timestamp without id", `{"timestamp":"2023-11-14T23:15:23.417+0100","rule":{"level":3,"id":"5402","description":"d"},"location":"/var/log/secure"}`, Options{},
			func(t *testing.T, a *ossec.Alert, d Dialect) {
				if a.Time.Unix() != 1700000123 || d != Wazuh || a.RuleID != 5402 {
					t.Errorf("time %v dialect %v rule %d", a.Time, d, a.RuleID)
				}
			}},
		{"no time allowed", `{` + rule + `,"location":"/var/log/secure"}`, Options{AllowNoTime: true},
			func(t *testing.T, a *ossec.Alert, d Dialect) {
				if !a.Time.IsZero() || !a.ID.IsZero() || d != OSSEC29 || a.Location.Raw != "/var/log/secure" {
					t.Errorf("%+v %v", a, d)
				}
			}},
		{"3.4 location rebuilt from its parts", `{` + rule + `,"id":"1.2","agent_name":"fe02","agentip":"198.51.100.20","logfile":"/var/log/secure"}`, Options{},
			func(t *testing.T, a *ossec.Alert, d Dialect) {
				if a.Location.Raw != "(fe02) 198.51.100.20->/var/log/secure" || d != OSSEC34 {
					t.Errorf("%q %v", a.Location.Raw, d)
				}
			}},
		{"3.4 manager location without hostname", `{` + rule + `,"id":"1.2","location":"/var/log/secure","agent_name":"web1","logfile":"/var/log/secure"}`, Options{},
			func(t *testing.T, a *ossec.Alert, _ Dialect) {
				if a.Location.Raw != "web1->/var/log/secure" {
					t.Errorf("%q", a.Location.Raw)
				}
			}},
		{"location already carries its host", `{` + rule + `,"id":"1.2","location":"web1->/var/log/secure","hostname":"web1"}`, Options{},
			func(t *testing.T, a *ossec.Alert, _ Dialect) {
				if a.Location.Raw != "web1->/var/log/secure" {
					t.Errorf("%q", a.Location.Raw)
				}
			}},
		{"escaped duplicate location", `{` + rule + `,"id":"1.2","location":"/var/log/caf\u00e9 \"x\".log","hostname":"web1","hostname":"web1","location":"wrong"}`, Options{},
			func(t *testing.T, a *ossec.Alert, d Dialect) {
				if a.Location.Raw != `web1->/var/log/café "x".log` || d != OSSEC32 {
					t.Errorf("%q %v", a.Location.Raw, d)
				}
			}},
		{"nested location key is not top level", `{` + rule + `,"id":"1.2","x":{"location":"nested","hostname":"h"},"hostname":"web1","location":"/var/log/a"}`, Options{},
			func(t *testing.T, a *ossec.Alert, _ Dialect) {
				if a.Location.Raw != "web1->/var/log/a" {
					t.Errorf("%q", a.Location.Raw)
				}
			}},
		{"3.0 group string", `{"rule":{"level":5,"comment":"c","sidid":1,"group":" syslog, sshd ,,"},"id":"1.2"}`, Options{},
			func(t *testing.T, a *ossec.Alert, _ Dialect) {
				if !cmp.Equal(a.Groups, []string{"syslog", "sshd"}) {
					t.Errorf("%q", a.Groups)
				}
			}},
		{"4.2 prefers the groups array", `{"rule":{"level":5,"sidid":1,"group":"a,b,pci_dss_10.2.4,","groups":["a","b"]},"id":"1.2","agent_name":"x","logfile":"y"}`, Options{},
			func(t *testing.T, a *ossec.Alert, d Dialect) {
				if !cmp.Equal(a.Groups, []string{"a", "b"}) || d != OSSEC42 {
					t.Errorf("%q %v", a.Groups, d)
				}
			}},
		{"OSSEC data is a string", `{` + rule + `,"id":"1.2","data":"some text","srcip":"192.0.2.1"}`, Options{},
			func(t *testing.T, a *ossec.Alert, _ Dialect) {
				if a.SrcIP.String() != "192.0.2.1" {
					t.Errorf("src %v", a.SrcIP)
				}
			}},
		{"Wazuh manager event without manager name", `{"rule":{"level":3,"id":"1002","description":"d","mail":true},"agent":{"id":"000","name":"wm"},"id":"1.2","location":"/var/log/syslog","data":{"srcip":"192.0.2.1","srcport":"22","dstuser":"root"}}`, Options{},
			func(t *testing.T, a *ossec.Alert, _ Dialect) {
				if a.Location.Raw != "wm->/var/log/syslog" || a.Location.Manager != "wm" || !a.Mail || a.User != "root" || a.SrcPort != 22 {
					t.Errorf("%+v", a)
				}
			}},
		{"Wazuh agent without address", `{"rule":{"level":3,"id":"1002"},"agent":{"id":"004","name":"db3"},"manager":{"name":"wm"},"id":"1.2","location":"/var/log/secure"}`, Options{},
			func(t *testing.T, a *ossec.Alert, _ Dialect) {
				if a.Location.Raw != "(db3) any->/var/log/secure" || a.Location.Agent != "db3" {
					t.Errorf("%+v", a.Location)
				}
			}},
		{"Wazuh top-level srcip as fallback", `{"rule":{"level":3,"id":"1002"},"id":"1.2","srcip":"192.0.2.7","location":"x"}`, Options{},
			func(t *testing.T, a *ossec.Alert, _ Dialect) {
				if a.SrcIP.String() != "192.0.2.7" || a.Location.Raw != "x" {
					t.Errorf("%+v", a)
				}
			}},
		{"log lines from full_log and previous_output", `{` + rule + `,"id":"1.2","full_log":"a\nb\n","previous_output":"c\n\nd"}`, Options{},
			func(t *testing.T, a *ossec.Alert, _ Dialect) {
				if !cmp.Equal(a.Log, []string{"a", "b", "c", "d"}) {
					t.Errorf("%q", a.Log)
				}
			}},
		{"byte order mark", "\uFEFF{" + rule + `,"id":"1.2"}`, Options{},
			func(t *testing.T, a *ossec.Alert, _ Dialect) {
				if a.RuleID != 5716 {
					t.Errorf("%+v", a)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, d, prob := parseOne(t, tt.line, tt.opts)
			if prob != nil {
				t.Fatalf("malformed: %v", prob)
			}
			tt.check(t, a, d)
		})
	}
}

func TestMalformed(t *testing.T) {
	tests := []struct {
		name, line, reason string
	}{
		{"not JSON", `ossec: hello`, "invalid JSON"},
		{"truncated", `{"rule":{"level":5,"sidid":1},"id":"1.`, "invalid JSON"},
		{"array", `[1,2]`, "not a JSON object"},
		{"string", `"x"`, "not a JSON object"},
		{"rule is a string", `{"rule":"x","id":"1.2"}`, `field "rule"`},
		{"level is a string of letters", `{"rule":{"level":"high","sidid":1},"id":"1.2"}`, "want a non-negative integer"},
		{"negative rule id", `{"rule":{"sidid":-5},"id":"1.2"}`, "want a non-negative integer"},
		{"groups not an array", `{"rule":{"sidid":1,"groups":"a,b"},"id":"1.2"}`, `field "rule.groups"`},
		{"srcip a number", `{"rule":{"sidid":1},"id":"1.2","srcip":5}`, `field "srcip"`},
		{"port an object", `{"rule":{"sidid":1},"id":"1.2","srcport":{}}`, "port"},
		{"no rule", `{"id":"1.2","full_log":"x"}`, "missing rule id"},
		{"rule without id", `{"rule":{"level":3},"id":"1.2"}`, "missing rule id"},
		{"bad id", `{"rule":{"sidid":1},"id":"1700000000"}`, `field "id"`},
		{"bad TimeStamp", `{"rule":{"sidid":1},"TimeStamp":-5}`, `field "TimeStamp"`},
		{"bad timestamp", `{"rule":{"sidid":1},"timestamp":"yesterday"}`, `field "timestamp"`},
		{"timestamp before 1970", `{"rule":{"sidid":1},"timestamp":"0000 Nov 01 00:00:00"}`, "before 1970"},
		{"no time", `{"rule":{"sidid":1},"location":"x"}`, "no alert time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _, prob := parseOne(t, tt.line, Options{})
			if a != nil {
				t.Fatalf("parsed: %+v", a)
			}
			if prob == nil {
				t.Fatal("no problem reported")
			}
			if !strings.Contains(prob.Reason, tt.reason) {
				t.Errorf("reason %q does not mention %q", prob.Reason, tt.reason)
			}
			if prob.Line != 1 || prob.File != "t.json" || !strings.HasPrefix(tt.line, prob.Snippet) {
				t.Errorf("problem %+v", prob)
			}
			if msg := prob.Error(); !strings.HasPrefix(msg, "t.json:1: ") {
				t.Errorf("error text %q", msg)
			}
		})
	}
}

// A malformed line costs only itself: the alerts around it, their lines and
// the counts are as if it were not there.
func TestMalformedDoesNotShift(t *testing.T) {
	good := []string{
		`{"rule":{"sidid":1},"id":"1.1"}`,
		`{"rule":{"sidid":2},"id":"1.2"}`,
		`{"rule":{"sidid":3},"id":"1.3"}`,
	}
	in := good[0] + "\n{broken\n\n" + good[1] + "\r\n" + strings.Repeat("x", 200) + "\n" + good[2] + "\n"
	var lines []int
	var probs []int
	r := NewReader(strings.NewReader(in), "t", Options{Problems: func(e *ossec.ParseError) { probs = append(probs, e.Line) }})
	var rules []int
	for r.Next() {
		rules = append(rules, r.Alert().RuleID)
		lines = append(lines, r.Line())
	}
	if !cmp.Equal(rules, []int{1, 2, 3}) || !cmp.Equal(lines, []int{1, 4, 6}) || !cmp.Equal(probs, []int{2, 5}) {
		t.Errorf("rules %v lines %v problems %v", rules, lines, probs)
	}
	st := r.Stats()
	if st.Lines != 6 || st.Alerts != 3 || st.Malformed != 2 || st.Blank != 1 || r.Offset() != int64(len(in)) {
		t.Errorf("stats %+v offset %d of %d", st, r.Offset(), len(in))
	}
}

func TestLongLine(t *testing.T) {
	long := `{"rule":{"sidid":1},"id":"1.1","full_log":"` + strings.Repeat("a", MaxLineBytes) + `"}`
	in := long + "\n" + `{"rule":{"sidid":2},"id":"1.2"}` + "\n"
	var prob *ossec.ParseError
	r := NewReader(strings.NewReader(in), "t", Options{Problems: func(e *ossec.ParseError) { prob = e }})
	if !r.Next() || r.Alert().RuleID != 2 || r.Line() != 2 {
		t.Fatalf("alert after long line: %v %v", r.Err(), r.Alert())
	}
	if prob == nil || !strings.Contains(prob.Reason, "longer than") || prob.Line != 1 || len(prob.Snippet) != ossec.SnippetLen {
		t.Errorf("problem %+v", prob)
	}
	if r.Offset() != int64(len(in)) {
		t.Errorf("offset %d, want %d", r.Offset(), len(in))
	}
}

// growing is a file being appended to: EOF now, more bytes later.
type growing struct{ buf bytes.Buffer }

func (g *growing) Read(p []byte) (int, error) { return g.buf.Read(p) }

func TestLivePartialLine(t *testing.T) {
	l1 := `{"rule":{"sidid":1},"id":"1700000000.1"}` + "\n"
	l2 := `{"rule":{"sidid":2},"id":"1700000000.2"}` + "\n"
	l3 := `{"rule":{"sidid":3},"id":"1700000000.3","full_log":"` + strings.Repeat("z", 3*bufSize) + `"}` + "\n"
	cut := len(l3) - 10

	var probs int
	g := &growing{}
	g.buf.WriteString(l1 + l2 + l3[:cut])
	r := NewReader(g, "alerts.json", Options{Live: true, Problems: func(*ossec.ParseError) { probs++ }})
	for i := 1; i <= 2; i++ {
		if !r.Next() || r.Alert().RuleID != i {
			t.Fatalf("alert %d missing", i)
		}
	}
	if r.Next() {
		t.Fatal("partial line delivered")
	}
	if r.Err() != nil || probs != 0 {
		t.Fatalf("partial line: err %v, %d problems", r.Err(), probs)
	}
	wantOff := int64(len(l1) + len(l2))
	if r.Offset() != wantOff || r.Line() != 2 {
		t.Fatalf("offset %d line %d, want %d 2", r.Offset(), r.Line(), wantOff)
	}

	// The same reader continues once the writer finishes the line.
	g.buf.WriteString(l3[cut:])
	if !r.Next() || r.Alert().RuleID != 3 || r.Line() != 3 {
		t.Fatalf("completed line not delivered: %v", r.Err())
	}
	if r.Offset() != int64(len(l1+l2+l3)) {
		t.Errorf("offset %d", r.Offset())
	}

	// So does a new reader started at the saved offset.
	r2 := NewReader(strings.NewReader(l3), "alerts.json", Options{Live: true, StartOffset: wantOff, StartLine: 2})
	if !r2.Next() || r2.Alert().RuleID != 3 || r2.Line() != 3 || r2.Offset() != int64(len(l1+l2+l3)) || r2.Next() {
		t.Errorf("resumed reader: line %d offset %d err %v", r2.Line(), r2.Offset(), r2.Err())
	}
	if probs != 0 {
		t.Errorf("%d problems", probs)
	}
}

func TestNotLiveLastLine(t *testing.T) {
	l1 := `{"rule":{"sidid":1},"id":"1700000000.1"}`
	tests := []struct {
		name       string
		in         string
		alerts     int
		malformed  int64
		wantReason string
	}{
		{"complete object without newline", l1 + "\n" + l1, 2, 0, ""},
		{"cut object", l1 + "\n" + l1[:20], 1, 1, "last line has no newline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reason string
			r := NewReader(strings.NewReader(tt.in), "t", Options{Problems: func(e *ossec.ParseError) { reason = e.Reason }})
			n := 0
			for r.Next() {
				n++
			}
			if n != tt.alerts || r.Stats().Malformed != tt.malformed || r.Err() != nil || r.Offset() != int64(len(tt.in)) {
				t.Errorf("alerts %d stats %+v err %v offset %d", n, r.Stats(), r.Err(), r.Offset())
			}
			if !strings.Contains(reason, tt.wantReason) {
				t.Errorf("reason %q", reason)
			}
		})
	}
}

// Resuming from the Offset and Line after any alert yields exactly the rest
// of the file, with the same line numbers in alerts and problems.
func TestResumeFromOffset(t *testing.T) {
	for _, name := range []string{"ossec34.json", "ossec42.json", "wazuh4.json"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			full := readAll(t, data, name, Options{})
			for i, a := range full.Alerts {
				rest := readAll(t, data[a.Offset:], name, Options{StartOffset: a.Offset, StartLine: a.Line})
				if diff := cmp.Diff(full.Alerts[i+1:], rest.Alerts, cmpopts.EquateEmpty(), cmpAddr); diff != "" {
					t.Errorf("resume after line %d (-want +got):\n%s", a.Line, diff)
				}
				var wantProbs []goldenProblem
				for _, p := range full.Problems {
					if p.Line > a.Line {
						wantProbs = append(wantProbs, p)
					}
				}
				if diff := cmp.Diff(wantProbs, rest.Problems, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("problems after line %d (-want +got):\n%s", a.Line, diff)
				}
				if rest.Stats.Offset != int64(len(data)) {
					t.Errorf("final offset %d, want %d", rest.Stats.Offset, len(data))
				}
			}
		})
	}
}

func TestOpen(t *testing.T) {
	data, err := os.ReadFile("testdata/ossec42.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	plain := filepath.Join(dir, "ossec-alerts-14.json")
	if err := os.WriteFile(plain, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var zbuf bytes.Buffer
	zw := gzip.NewWriter(&zbuf)
	zw.Write(data)
	zw.Close()
	// Named without .gz: the magic decides.
	zipped := filepath.Join(dir, "ossec-alerts-13.json.old")
	if err := os.WriteFile(zipped, zbuf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	want := readAll(t, data, "x", Options{})
	third := want.Alerts[2]

	for _, path := range []string{plain, zipped} {
		for _, start := range []goldenAlert{{}, third} {
			r, c, err := Open(path, Options{StartOffset: start.Offset, StartLine: start.Line, Live: true})
			if err != nil {
				t.Fatal(err)
			}
			var got []goldenAlert
			for r.Next() {
				got = append(got, toGolden(r))
			}
			if err := r.Err(); err != nil {
				t.Errorf("%s: %v", path, err)
			}
			if err := c.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			skip := 0
			if start.Offset > 0 {
				skip = 3
			}
			if diff := cmp.Diff(want.Alerts[skip:], got, cmpAddr); diff != "" {
				t.Errorf("%s from %d (-want +got):\n%s", path, start.Offset, diff)
			}
		}
	}

	if _, _, err := Open(filepath.Join(dir, "missing.json"), Options{}); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
	// A cut gzip stream is a read error naming the file, not a silent end.
	cut := filepath.Join(dir, "cut.json.gz")
	if err := os.WriteFile(cut, zbuf.Bytes()[:zbuf.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	r, c, err := Open(cut, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for r.Next() {
	}
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), "cut.json.gz") || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut gzip: %v", err)
	}
}

func TestDialectNames(t *testing.T) {
	for d := OSSEC29; d <= Wazuh; d++ {
		got, err := ParseDialect(d.String())
		if err != nil || got != d {
			t.Errorf("ParseDialect(%q) = %v, %v", d.String(), got, err)
		}
	}
	if _, err := ParseDialect("ossec-9"); err == nil || !strings.Contains(err.Error(), `"ossec-9"`) {
		t.Errorf("bad name: %v", err)
	}
	if s := Dialect(99).String(); s != "Dialect(99)" {
		t.Errorf("String = %q", s)
	}
}
