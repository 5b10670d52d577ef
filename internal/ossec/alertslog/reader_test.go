package alertslog

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/goldentest"
	"github.com/rampart-ids/rampart/internal/ossec"
)

// goldenAlert is an alert as the golden files show it: flat and readable.
type goldenAlert struct {
	ID          string         `json:"id"`
	Time        string         `json:"time"`
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
	// Offset and Line are the reader's position after the alert.
	Offset int64 `json:"offset"`
	Line   int   `json:"line"`
}

type goldenProblem struct {
	Line    int    `json:"line"`
	Reason  string `json:"reason"`
	Snippet string `json:"snippet"`
	// Offset and Line are the reader's position after the report.
	Offset    int64 `json:"offset"`
	AfterLine int   `json:"after_line"`
}

type goldenFile struct {
	Alerts   []goldenAlert   `json:"alerts"`
	Problems []goldenProblem `json:"problems"`
	Stats    Stats           `json:"stats"`
	Offset   int64           `json:"offset"`
	Line     int             `json:"line"`
	Err      string          `json:"err,omitempty"`
}

func toGolden(a *ossec.Alert, r *Reader) goldenAlert {
	g := goldenAlert{
		ID: a.ID.String(), Time: a.Time.Format(time.RFC3339), Mail: a.Mail,
		RuleID: a.RuleID, Level: a.Level, Description: a.Description, Groups: a.Groups,
		SrcPort: a.SrcPort, DstPort: a.DstPort, User: a.User, Location: a.Location,
		Log: append([]string(nil), a.Log...), Offset: r.Offset(), Line: r.Line(),
	}
	if a.SrcIP.IsValid() {
		g.SrcIP = a.SrcIP.String()
	}
	if a.DstIP.IsValid() {
		g.DstIP = a.DstIP.String()
	}
	return g
}

// readAll reads a whole stream the way the golden files record it.
func readAll(t testing.TB, data []byte, name string, opts Options) goldenFile {
	t.Helper()
	var g goldenFile
	var r *Reader
	opts.Problems = func(p *ossec.ParseError) {
		if p.File != name {
			t.Errorf("problem names file %q, want %q", p.File, name)
		}
		g.Problems = append(g.Problems, goldenProblem{
			Line: p.Line, Reason: p.Reason, Snippet: p.Snippet, Offset: r.Offset(), AfterLine: r.Line(),
		})
	}
	r = NewReader(bytes.NewReader(data), name, opts)
	for r.Next() {
		g.Alerts = append(g.Alerts, toGolden(r.Alert(), r))
	}
	g.Stats, g.Offset, g.Line = r.Stats(), r.Offset(), r.Line()
	if err := r.Err(); err != nil {
		g.Err = err.Error()
	}
	return g
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.log")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".log")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			g := readAll(t, data, filepath.Base(file), Options{})
			got, err := json.MarshalIndent(g, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(file, ".log") + ".golden"
			goldentest.Check(t, golden, got)
			checkInvariants(t, data, g)
		})
	}
}

// checkInvariants holds for every input: counts match what was delivered,
// and positions only move forward, inside the input, on line boundaries.
func checkInvariants(t testing.TB, data []byte, g goldenFile) {
	t.Helper()
	if g.Stats.Alerts != int64(len(g.Alerts)) || g.Stats.Malformed != int64(len(g.Problems)) {
		t.Errorf("stats %+v, delivered %d alerts and %d problems", g.Stats, len(g.Alerts), len(g.Problems))
	}
	var last int64
	check := func(off int64, line int) {
		if off < last || off > int64(len(data)) {
			t.Errorf("offset %d after %d (input %d bytes)", off, last, len(data))
			return
		}
		last = off
		if off > 0 && off < int64(len(data)) && data[off-1] != '\n' {
			t.Errorf("offset %d is not at a line start", off)
		}
		if n := bytes.Count(data[:off], []byte{'\n'}); n != line && !(off == int64(len(data)) && n+1 == line) {
			t.Errorf("offset %d has %d lines before it, reader says %d", off, n, line)
		}
	}
	// Alerts and problems interleave; merge them by offset, both lists
	// being in order already.
	i, j := 0, 0
	for i < len(g.Alerts) || j < len(g.Problems) {
		if j == len(g.Problems) || (i < len(g.Alerts) && g.Alerts[i].Offset <= g.Problems[j].Offset) {
			check(g.Alerts[i].Offset, g.Alerts[i].Line)
			i++
		} else {
			check(g.Problems[j].Offset, g.Problems[j].AfterLine)
			j++
		}
	}
	check(g.Offset, g.Line)
}

func TestCustomFormat(t *testing.T) {
	custom := "2023 Nov 14 22:13:20 1700000000.48213 5712 10 web1 /var/log/auth.log 203.0.113.45 admin sshd brute force\n"
	tests := []struct {
		name    string
		data    string
		opts    Options
		want    error  // nil: no fatal error
		wantMsg string // expected message, if any
	}{
		{"custom", strings.Repeat(custom, 3), Options{}, ErrCustomFormat,
			`read alerts.log:1: not an OSSEC alerts.log (written with custom_alert_output?): "2023 Nov 14 22:13:20 1700000000.48213 5712 10 web1 /var/log/auth.log 203.0.113.4"`},
		{"custom after blank lines", "\n\r\n" + custom, Options{}, ErrCustomFormat, ""},
		{"custom live", custom, Options{Live: true}, ErrCustomFormat, ""},
		{"custom long", strings.Repeat(custom, 5000), Options{}, ErrCustomFormat, ""},
		{"custom mid-file resume is not checked", custom, Options{StartOffset: 100}, nil, ""},
		{"garbage then header", "junk\n" + custom + "\n" + blockA, Options{}, nil, ""},
		{"empty", "", Options{}, nil, ""},
		{"blank lines only", "\n\n\n", Options{}, nil, ""},
		{"live header start", "** Al", Options{Live: true}, nil, ""},
		{"not live header start", "** Al", Options{}, ErrCustomFormat, ""},
		{"header beyond the window", strings.Repeat(custom, 201) + blockA, Options{}, ErrCustomFormat, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.data), "alerts.log", tt.opts)
			n := 0
			for r.Next() {
				n++
			}
			err := r.Err()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Err() = %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Err() = %v, want %v", err, tt.want)
			}
			if n != 0 || r.Stats() != (Stats{}) {
				t.Errorf("read %d alerts, stats %+v before refusing", n, r.Stats())
			}
			if tt.wantMsg != "" && err.Error() != tt.wantMsg {
				t.Errorf("Err() = %q\nwant     %q", err, tt.wantMsg)
			}
		})
	}
}

const blockA = `** Alert 1700000000.48213: mail  - syslog,sshd,authentication_failures,
2023 Nov 14 22:13:20 web1->/var/log/auth.log
Rule: 5712 (level 10) -> 'SSHD brute force: many failed logins from one source.'
Src IP: 203.0.113.45
User: admin
Nov 14 22:13:19 web1 sshd[41877]: Failed password for invalid user admin from 203.0.113.45 port 50122 ssh2

`

// TestMalformedDoesNotShift checks that a malformed block costs exactly one
// problem and leaves the alerts on both sides intact, wherever it sits.
func TestMalformedDoesNotShift(t *testing.T) {
	bad := []string{
		"** Alert x.1: - a,\n2023 Nov 14 22:13:20 h->p\nRule: 1 (level 1) -> 'd'\nlog\n\n",
		"** Alert 1.1: - a,\nRule: 1 (level 1) -> 'd'\nlog\n\n",
		"** Alert 1.1: - a,\n2023 Nov 14 22:13:20 h->p\nnot a rule\n\n",
		"** Alert 1.1: - a,\n\n",
		"stray line\n",
		"stray\n\nrun\n",
	}
	for _, b := range bad {
		data := blockA + b + blockA
		g := readAll(t, []byte(data), "x.log", Options{})
		if len(g.Alerts) != 2 || len(g.Problems) != 1 {
			t.Errorf("%q: %d alerts, %d problems, want 2 and 1: %+v", b, len(g.Alerts), len(g.Problems), g.Problems)
			continue
		}
		if g.Problems[0].Line != 8 {
			t.Errorf("%q: problem at line %d, want 8", b, g.Problems[0].Line)
		}
		for _, a := range g.Alerts {
			if a.ID != "1700000000.48213" || a.SrcIP != "203.0.113.45" || len(a.Log) != 1 {
				t.Errorf("%q: neighbour alert changed: %+v", b, a)
			}
		}
	}
}

func TestTimeFromDateLineWithoutID(t *testing.T) {
	data := "** Alert 0.0: - a,\n2023 Nov 14 22:13:20 web1->/var/log/x\nRule: 1 (level 1) -> 'd'\nlog\n\n"
	tz := time.FixedZone("UTC+2", 2*3600)
	for _, tt := range []struct {
		loc  *time.Location
		want string
	}{{nil, "2023-11-14T22:13:20Z"}, {tz, "2023-11-14T20:13:20Z"}} {
		r := NewReader(strings.NewReader(data), "x", Options{Location: tt.loc})
		if !r.Next() {
			t.Fatalf("no alert: %v", r.Err())
		}
		if got := r.Alert().Time.Format(time.RFC3339); got != tt.want {
			t.Errorf("time in %v = %s, want %s", tt.loc, got, tt.want)
		}
	}
}

type errReader struct {
	data []byte
	err  error
}

func (e *errReader) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

func TestReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := NewReader(&errReader{data: []byte(blockA + blockA[:40]), err: boom}, "x.log", Options{})
	n := 0
	for r.Next() {
		n++
	}
	if n != 1 || !errors.Is(r.Err(), boom) || !strings.Contains(r.Err().Error(), "x.log") {
		t.Errorf("read %d alerts, Err() = %v; want 1 and %v naming the file", n, r.Err(), boom)
	}
}

func TestLongLine(t *testing.T) {
	long := strings.Repeat("x", maxLineLen+10)
	data := blockA + "** Alert 1.1: - a,\n2023 Nov 14 22:13:20 h->p\nRule: 1 (level 1) -> 'd'\n" + long + "\n\n" + blockA
	g := readAll(t, []byte(data), "x.log", Options{})
	if len(g.Alerts) != 2 || len(g.Problems) != 1 || !strings.Contains(g.Problems[0].Reason, "longer than") {
		t.Errorf("%d alerts, problems %+v; want 2 alerts and one long-line problem", len(g.Alerts), g.Problems)
	}
}
