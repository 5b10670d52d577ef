package follow

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/alertslog"
)

// FuzzChunks writes an alerts.log in random pieces while following it: the
// follower must deliver exactly what one read of the finished file gives,
// whatever the cuts. Seeded with the alertslog reader's test files.
func FuzzChunks(f *testing.F) {
	files, _ := filepath.Glob("../alertslog/testdata/*.log")
	for i, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, uint64(i))
	}
	f.Fuzz(fuzzBody)
}

func fuzzBody(t *testing.T, text []byte, seed uint64) {
	{
		sentinel, _ := encode(Log, genAlerts(1000, 1))
		// Real alerts.log files start with a header; a live reader decides
		// on custom_alert_output from the first line it sees.
		if len(text) > 64<<10 || !bytes.HasPrefix(text, []byte("** Alert ")) {
			t.Skip("the comparison requires an alerts.log that starts with a header, under 64 KiB")
		}
		text = append(append(text, '\n'), sentinel...)
		type item struct {
			ID     string
			Offset int64
		}
		var want []item
		var wantProblems []int
		r := alertslog.NewReader(bytes.NewReader(text), "x", alertslog.Options{
			Problems: func(p *ossec.ParseError) { wantProblems = append(wantProblems, p.Line) },
		})
		for r.Next() {
			want = append(want, item{r.Alert().ID.String(), r.Offset()})
		}
		if r.Err() != nil {
			t.Skip("the comparison requires input the reader accepts")
		}
		synctest.Test(t, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "alerts.log")
			appendFile(t, path, nil)
			c := &collector{}
			opts := fileOpts(c, nil)
			opts.Format = Log
			run := start(t, File(path, opts), c)
			rng := rand.New(rand.NewPCG(seed, seed>>7))
			for off := 0; off < len(text); {
				end := min(off+1+rng.IntN(400), len(text))
				// A pause right before a section marker splits the
				// section from an alert that is not a syscheck one (see
				// alertslog.Options.HoldLast): no writer makes those.
				for end < len(text) && afterBlank(text[:end]) && startsSection(text[end:]) {
					end++
				}
				appendFile(t, path, text[off:end])
				off = end
				time.Sleep(time.Duration(rng.IntN(int(3 * testPoll))))
			}
			if err := run.stop(); err != nil {
				t.Fatal(err)
			}
			var got []item
			for _, d := range c.got {
				got = append(got, item{d.id, d.pos.Offset})
			}
			var gotProblems []int
			for _, p := range c.problems {
				gotProblems = append(gotProblems, p.Line)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("alerts (-whole read +followed):\n%s", diff)
			}
			if diff := cmp.Diff(wantProblems, gotProblems); diff != "" {
				t.Errorf("problem lines (-whole read +followed):\n%s", diff)
			}
		})
	}
}

func startsSection(b []byte) bool {
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	for _, m := range []string{"What changed:", "Attributes:", "Tags:"} {
		if string(line) == m {
			return true
		}
	}
	return false
}

// afterBlank reports whether b ends with an empty line.
func afterBlank(b []byte) bool {
	return bytes.HasSuffix(b, []byte("\n\n")) || bytes.HasSuffix(b, []byte("\n\r\n")) || string(b) == "\n" || string(b) == "\r\n"
}
