package alertslog

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// TestLivePartialBlock cuts the last alert at every byte: a live reader must
// stop before it without error and resume exactly there; a reader of a
// finished file must report it once.
func TestLivePartialBlock(t *testing.T) {
	all := sampleAlerts()
	var full []byte
	for i := range all[:3] {
		full = AppendAlert(full, &all[i], nil)
	}
	start := len(full)
	full = AppendAlert(full, &all[3], nil)
	path := filepath.Join(t.TempDir(), "alerts.log")

	for cut := start; cut < len(full); cut++ {
		if err := os.WriteFile(path, full[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		r, c, err := Open(path, Options{Live: true})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for r.Next() {
			n++
		}
		c.Close()
		if n != 3 || r.Err() != nil || r.Stats().Malformed != 0 || r.Offset() != int64(start) {
			t.Fatalf("live cut at %d: %d alerts, err %v, stats %+v, offset %d; want 3 alerts, offset %d",
				cut, n, r.Err(), r.Stats(), r.Offset(), start)
		}

		// The writer finishes the block; a new reader from Offset gets it.
		if err := os.WriteFile(path, full, 0o644); err != nil {
			t.Fatal(err)
		}
		r2, c2, err := Open(path, Options{Live: true, StartOffset: r.Offset(), StartLine: r.Line()})
		if err != nil {
			t.Fatal(err)
		}
		var got []ossec.ID
		for r2.Next() {
			got = append(got, r2.Alert().ID)
		}
		c2.Close()
		if len(got) != 1 || got[0] != all[3].ID || r2.Err() != nil || r2.Offset() != int64(len(full)) {
			t.Fatalf("resume after cut at %d: %v, err %v, offset %d", cut, got, r2.Err(), r2.Offset())
		}

		// Not live: the cut block is one malformed alert.
		var probs []*ossec.ParseError
		r3 := NewReader(bytes.NewReader(full[:cut]), "rotated.log", Options{Problems: func(p *ossec.ParseError) { probs = append(probs, p) }})
		n = 0
		for r3.Next() {
			n++
		}
		if cut == start {
			if n != 3 || len(probs) != 0 {
				t.Fatalf("not live, cut at block start: %d alerts, %d problems", n, len(probs))
			}
			continue
		}
		wantLine := bytes.Count(full[:start], []byte{'\n'}) + 1
		if n != 3 || r3.Err() != nil || len(probs) != 1 || probs[0].Line != wantLine || r3.Stats().Malformed != 1 {
			t.Fatalf("not live, cut at %d: %d alerts, err %v, problems %v; want 3 and one at line %d", cut, n, r3.Err(), probs, wantLine)
		}
	}
}

func TestLiveStrayTextWaits(t *testing.T) {
	all := sampleAlerts()
	data := AppendAlert(nil, &all[0], nil)
	off := len(data)
	data = append(data, "stray text\n> x\n"...)
	r := NewReader(bytes.NewReader(data), "x", Options{Live: true})
	for r.Next() {
	}
	if r.Offset() != int64(off) || r.Stats() != (Stats{Alerts: 1}) || r.Err() != nil {
		t.Errorf("offset %d stats %+v err %v; want %d, 1 alert", r.Offset(), r.Stats(), r.Err(), off)
	}
}

// fimAlert is a Wazuh FIM alert whose log has sections after empty lines.
func fimAlert() ossec.Alert {
	a := ossec.Alert{
		ID: ossec.ID{Epoch: 1700003060, Seq: 900}, RuleID: 550, Level: 7,
		Description: "Integrity checksum changed.", Groups: []string{"ossec", "syscheck"},
		Location: ossec.ParseLocation("(wz2) 10.0.0.6->syscheck"),
		Log: []string{
			"File '/etc/hosts' modified", "Mode: realtime", "Old md5sum was: 'aa'", "New md5sum is : 'bb'",
			"", "Attributes:", " - Size: 214",
			"", "What changed:", "3a4", "> 203.0.113.5 evil.example",
			"", "Tags:", " - hosts",
		},
	}
	a.Time = ossec.TimeFromID(a.ID)
	return a
}

func TestSections(t *testing.T) {
	fim := string(AppendAlert(nil, new(fimAlert()), nil))
	head := fim[:strings.Index(fim, "\n\nAttributes:")+2]
	tests := []struct {
		name     string
		data     string
		alerts   int
		problems int
		logs     []int // len(Log) of each alert
	}{
		{"fim", blockA + fim + blockA, 3, 0, []int{1, 14, 1}},
		{"fim at end", blockA + fim, 2, 0, []int{1, 14}},
		{"fim then header without blank", blockA + strings.TrimSuffix(fim, "\n") + blockA, 3, 0, []int{1, 14, 1}},
		{"fim cut after its first section, at end", head + "Attributes:\n - Size: 214\n", 0, 1, nil},
		{"marker after two empty lines is stray", head + "\nTags:\n - x\n\n" + blockA, 2, 1, []int{4, 1}},
		{"marker with more text is stray", head + "Tags: x\n\n" + blockA, 2, 1, []int{4, 1}},
		{"section cut at the end of a finished file", blockA + "Tags:\n - x", 0, 1, nil},
		{"section of a malformed block is part of it", blockA + "** Alert 1.1: - a,\n\nWhat changed:\n> x\n\n" + blockA, 2, 1, []int{1, 1}},
		{"old and new lines are not markers", blockA + "Old md5sum was: 'aa'\n\n" + blockA, 2, 1, []int{1, 1}},
		{"crlf", strings.ReplaceAll(blockA+fim+blockA, "\n", "\r\n"), 3, 0, []int{1, 14, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := readAll(t, []byte(tt.data), "x.log", Options{})
			if len(g.Alerts) != tt.alerts || len(g.Problems) != tt.problems {
				t.Fatalf("%d alerts, problems %+v; want %d and %d", len(g.Alerts), g.Problems, tt.alerts, tt.problems)
			}
			var logs []int
			for _, a := range g.Alerts {
				logs = append(logs, len(a.Log))
			}
			if !slices.Equal(logs, tt.logs) {
				t.Errorf("log lengths %v, want %v", logs, tt.logs)
			}
			checkInvariants(t, []byte(tt.data), g)
		})
	}
}

func TestSectionsRoundTrip(t *testing.T) {
	want := fimAlert()
	data := AppendAlert(nil, &want, nil)
	r := NewReader(bytes.NewReader(data), "x", Options{})
	if !r.Next() {
		t.Fatalf("no alert: %v", r.Err())
	}
	if diff := cmp.Diff(&want, r.Alert(), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if r.Offset() != int64(len(data)) {
		t.Errorf("offset %d, want %d", r.Offset(), len(data))
	}
}

// TestSectionsLive cuts a stream holding a FIM alert at every byte, as a
// writer's partial flush may, reads the part live, then reads the rest of
// the whole stream from the live reader's Offset: together they must give
// exactly what one read of the whole stream gives. With HoldLast that holds
// at every cut; without it, only a cut right before a section splits the
// alert from it (the section is then reported as stray text).
func TestSectionsLive(t *testing.T) {
	fim := fimAlert()
	full := []byte(blockA)
	full = AppendAlert(full, &fim, nil)
	full = append(full, blockA...)
	whole := readAll(t, full, "x.log", Options{})
	if len(whole.Alerts) != 3 || len(whole.Problems) != 0 {
		t.Fatalf("whole stream: %d alerts, %d problems", len(whole.Alerts), len(whole.Problems))
	}
	splits := map[int]bool{} // cuts right after an empty line that a marker follows
	for i := 2; i < len(full); i++ {
		if full[i-1] == '\n' && full[i-2] == '\n' && isSection(bytes.SplitN(full[i:], []byte{'\n'}, 2)[0]) {
			splits[i] = true
		}
	}
	if len(splits) != 3 {
		t.Fatalf("found %d section starts, want 3", len(splits))
	}
	for _, hold := range []bool{true, false} {
		for cut := 0; cut <= len(full); cut++ {
			first := readAll(t, full[:cut], "x.log", Options{Live: true, HoldLast: hold})
			if first.Err != "" || len(first.Problems) != 0 {
				t.Fatalf("hold %v cut %d: err %q problems %+v", hold, cut, first.Err, first.Problems)
			}
			rest := readAll(t, full[first.Offset:], "x.log", Options{StartOffset: first.Offset, StartLine: first.Line})
			got := append(first.Alerts, rest.Alerts...)
			same := len(rest.Problems) == 0 && cmp.Equal(whole.Alerts, got)
			if hold || !splits[cut] {
				if !same {
					t.Fatalf("hold %v cut %d: alerts differ from one whole read (-want +got):\n%s\nproblems %+v",
						hold, cut, cmp.Diff(whole.Alerts, got), rest.Problems)
				}
				continue
			}
			if same || len(got) != 3 || len(rest.Problems) != 1 {
				t.Fatalf("no hold, cut %d before a section: %d alerts, problems %+v; want the section split off", cut, len(got), rest.Problems)
			}
		}
	}

	// HoldLast keeps back a complete syscheck alert at the end; a read
	// without it, as a follower does when the file has gone quiet,
	// delivers it. Other alerts are never held.
	withFIM := full[:whole.Alerts[1].Offset]
	held := readAll(t, withFIM, "x.log", Options{Live: true, HoldLast: true})
	if len(held.Alerts) != 1 || held.Offset != whole.Alerts[0].Offset {
		t.Fatalf("HoldLast on a stream ending in a FIM alert: %d alerts, offset %d; want 1, %d", len(held.Alerts), held.Offset, whole.Alerts[0].Offset)
	}
	last := readAll(t, withFIM[held.Offset:], "x.log", Options{Live: true, StartOffset: held.Offset, StartLine: held.Line})
	if len(last.Alerts) != 1 || last.Offset != int64(len(withFIM)) {
		t.Fatalf("quiet read: %d alerts, offset %d", len(last.Alerts), last.Offset)
	}
	if all := readAll(t, full, "x.log", Options{Live: true, HoldLast: true}); len(all.Alerts) != 3 {
		t.Fatalf("HoldLast held back a non-syscheck alert: %d alerts", len(all.Alerts))
	}
}
