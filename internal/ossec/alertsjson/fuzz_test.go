package alertsjson

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// FuzzParse feeds arbitrary bytes to the reader, live and not: it must never
// panic, its counts must add up, offsets must grow and stay in the input,
// and every alert it delivers must survive AppendAlert and a second read.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			f.Add(line)
		}
	}
	f.Add([]byte(alertB))
	f.Add([]byte(`{"rule":{"sidid":1},"id":"1.1","location":"a","hostname":"b","location":"c","hostname":"d"}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, live := range []bool{false, true} {
			var probs int64
			r := NewReader(bytes.NewReader(data), "fuzz.json", Options{Live: live, AllowNoTime: true,
				Problems: func(e *ossec.ParseError) {
					probs++
					if e.Line < 1 || len(e.Snippet) > ossec.SnippetLen {
						t.Errorf("problem %+v", e)
					}
				}})
			var last int64
			for r.Next() {
				if r.Offset() < last || r.Offset() > int64(len(data)) {
					t.Fatalf("offset %d after %d, input %d", r.Offset(), last, len(data))
				}
				last = r.Offset()
				checkRoundTrip(t, r.Alert())
			}
			if r.Err() != nil {
				t.Fatalf("Err on in-memory input: %v", r.Err())
			}
			st := r.Stats()
			if st.Lines != st.Alerts+st.Malformed+st.Blank || st.Malformed != probs || int64(r.Line()) != st.Lines {
				t.Fatalf("stats %+v, %d problems, line %d", st, probs, r.Line())
			}
			if r.Offset() < last || r.Offset() > int64(len(data)) || (!live && r.Offset() != int64(len(data))) {
				t.Fatalf("final offset %d of %d (live %v)", r.Offset(), len(data), live)
			}
		}
	})
}

func checkRoundTrip(t *testing.T, a *ossec.Alert) {
	t.Helper()
	if l := a.Location; a.RuleID == 0 || l.Manager != "" && (l.Source == l.Manager || strings.HasPrefix(l.Source, l.Manager+"->")) {
		// OSSEC omits a zero rule id; "h->h" and "h->h->p" cannot be told
		// from a location equal to, or already prefixed with, its
		// hostname. None of them round-trips.
		return
	}
	want := *a
	want.Mail = false
	for _, d := range []Dialect{OSSEC32, OSSEC34, OSSEC42} {
		line := AppendAlert(nil, a, d)
		r := NewReader(bytes.NewReader(line), "rt", Options{AllowNoTime: true})
		if !r.Next() {
			t.Fatalf("%v: written line does not read back: %s", d, line)
		}
		if got := r.Alert(); !sameAlert(&want, got) {
			t.Fatalf("%v round trip (-want +got):\n%s\n%s", d, cmp.Diff(want, *got, cmpAddr), line)
		}
	}
}

// sameAlert is a cheap equality for the fuzz loop; cmp.Diff explains a
// mismatch.
func sameAlert(a, b *ossec.Alert) bool {
	return a.ID == b.ID && a.Time.Equal(b.Time) && a.Mail == b.Mail &&
		a.RuleID == b.RuleID && a.Level == b.Level && a.Description == b.Description &&
		slices.Equal(a.Groups, b.Groups) && a.SrcIP == b.SrcIP && a.SrcPort == b.SrcPort &&
		a.DstIP == b.DstIP && a.DstPort == b.DstPort && a.User == b.User &&
		a.Location == b.Location && slices.Equal(a.Log, b.Log)
}
