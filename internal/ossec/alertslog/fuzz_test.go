package alertslog

import (
	"bytes"
	"io"
	"path/filepath"
	"testing"
	"testing/iotest"

	"github.com/rampart-ids/rampart/internal/ossec"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.log")
	for _, file := range files {
		f.Add(readTestdata(f, filepath.Base(file)), false, false)
		f.Add(readTestdata(f, filepath.Base(file)), true, true)
	}
	f.Add([]byte(blockA+"** Alert 1.2: - a,\n2023 Nov 14 22:13:20 x\n"), true, false)
	f.Add([]byte("** Alert 1.2:\r\n\r"), true, false)
	f.Add([]byte(blockA+"What changed:\n> x\n\nTags"), true, false)
	f.Fuzz(func(t *testing.T, data []byte, live, hold bool) {
		// Whole or one byte at a time, so that refills land everywhere.
		for _, src := range []io.Reader{bytes.NewReader(data), iotest.OneByteReader(bytes.NewReader(data))} {
			var probs int64
			r := NewReader(src, "fuzz.log", Options{Live: live, HoldLast: hold, Problems: func(p *ossec.ParseError) {
				probs++
				if p.Line < 1 || len(p.Snippet) > ossec.SnippetLen || p.Reason == "" {
					t.Errorf("bad problem %+v", p)
				}
			}})
			alerts, last := int64(0), int64(0)
			for r.Next() {
				alerts++
				a := r.Alert()
				if !a.ID.IsZero() && !a.Time.Equal(ossec.TimeFromID(a.ID)) {
					t.Errorf("alert %v has time %v, not its ID's", a.ID, a.Time)
				}
				if r.Offset() < last {
					t.Fatalf("offset went back from %d to %d", last, r.Offset())
				}
				last = r.Offset()
			}
			if r.Offset() < last || r.Offset() > int64(len(data)) {
				t.Fatalf("final offset %d (last %d, input %d)", r.Offset(), last, len(data))
			}
			st := r.Stats()
			if st.Alerts != alerts || st.Malformed != probs {
				t.Fatalf("stats %+v, saw %d alerts and %d problems", st, alerts, probs)
			}
			if r.Line() > bytes.Count(data, []byte{'\n'})+1 {
				t.Fatalf("line %d beyond input", r.Line())
			}
			// Whatever the reader took, resuming at its offset must not
			// produce anything it already delivered.
			if r.Err() == nil && live {
				off := r.Offset()
				r2 := NewReader(bytes.NewReader(data[off:]), "fuzz.log", Options{Live: true, HoldLast: hold, StartOffset: off, StartLine: r.Line()})
				for r2.Next() {
				}
				if r2.Stats().Alerts != 0 || r2.Stats().Malformed != 0 {
					t.Fatalf("live resume at %d found more: %+v", off, r2.Stats())
				}
			}
		}
	})
}
