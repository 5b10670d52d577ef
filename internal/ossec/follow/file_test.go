package follow

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/alertslog"
)

// TestChunks appends alerts in random pieces while following: every alert
// arrives once, in order, whole, with the offset just after it.
func TestChunks(t *testing.T) {
	for _, format := range []Format{Log, JSON} {
		for seed := range uint64(4) {
			t.Run(format.String()+"/"+string(rune('a'+seed)), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					as := genAlerts(0, 60)
					data, ends := encode(format, as)
					path := filepath.Join(t.TempDir(), "alerts.log")
					appendFile(t, path, nil)
					c := &collector{}
					opts := fileOpts(c, nil)
					opts.Format = Auto
					r := start(t, File(path, opts), c)
					writeChunks(t, path, data, rand.New(rand.NewPCG(seed, 7)))
					if err := r.stop(); err != nil {
						t.Fatal(err)
					}
					if diff := cmp.Diff(idsOf(as), c.ids()); diff != "" {
						t.Fatalf("delivered (-want +got):\n%s", diff)
					}
					ino := inode(t, path)
					for i, d := range c.got {
						if d.pos.Offset != ends[i] || d.pos.Ino != ino || d.pos.Path != path || d.pos.Identity == "" {
							t.Errorf("alert %d: position %+v, want offset %d inode %d", i, d.pos, ends[i], ino)
						}
						if format == Log && d.log != len(as[i].Log) {
							t.Errorf("alert %d: %d log lines, want %d", i, d.log, len(as[i].Log))
						}
					}
					if len(c.problems) != 0 {
						t.Errorf("problems: %v", c.problems)
					}
				})
			})
		}
	}
}

// TestSectionHeld writes a FIM alert in two flushes that meet right before
// its "What changed:" section: the section must not be split off.
func TestSectionHeld(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		as := genAlerts(4, 1) // a FIM alert
		data, _ := encode(Log, as)
		cut := bytes.Index(data, []byte("\n\nWhat changed:")) + 2
		path := filepath.Join(t.TempDir(), "alerts.log")
		appendFile(t, path, data[:cut])
		c := &collector{}
		r := start(t, File(path, fileOpts(c, nil)), c)
		time.Sleep(testGrace - testPoll) // polls happen, the file is not quiet yet
		appendFile(t, path, data[cut:])
		if err := r.stop(); err != nil {
			t.Fatal(err)
		}
		if len(c.got) != 1 || c.got[0].log != len(as[0].Log) || len(c.problems) != 0 {
			t.Fatalf("got %+v, problems %v; want one alert with %d log lines", c.got, c.problems, len(as[0].Log))
		}
	})
}

// TestNightlySwap follows alerts.log across analysisd's day change, which
// unlinks it and links it to the new day file while the last block of the
// old day is still being finished there.
func TestNightlySwap(t *testing.T) {
	for _, format := range []Format{Log, JSON} {
		t.Run(format.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ext := map[Format]string{Log: "log", JSON: "json"}[format]
				tr := newTree(t, ext)
				tr.newDay(27)
				day27, day28 := genAlerts(0, 20), genAlerts(20, 20)
				d27, _ := encode(format, day27)
				d28, _ := encode(format, day28)
				c := &collector{}
				r := start(t, File(tr.live(), fileOpts(c, nil)), c)
				rng := rand.New(rand.NewPCG(1, 2))

				tail := len(d27) - 25 // inside the last block
				writeChunks(t, tr.day(27), d27[:tail], rng)
				ino27 := inode(t, tr.day(27))
				tr.newDay(28)
				appendFile(t, tr.day(28), d28[:100])
				time.Sleep(testPoll + 1) // the follower sees the swap
				appendFile(t, tr.day(27), d27[tail:])
				writeChunks(t, tr.day(28), d28[100:], rng)
				if err := r.stop(); err != nil {
					t.Fatal(err)
				}
				want := append(idsOf(day27), idsOf(day28)...)
				if diff := cmp.Diff(want, c.ids()); diff != "" {
					t.Fatalf("delivered (-want +got):\n%s", diff)
				}
				ino28 := inode(t, tr.day(28))
				for i, d := range c.got {
					if wantIno := map[bool]uint64{true: ino27, false: ino28}[i < len(day27)]; d.pos.Ino != wantIno || d.pos.Path != tr.live() {
						t.Errorf("alert %d: position %+v, want inode %d at %s", i, d.pos, wantIno, tr.live())
					}
				}
				if len(c.problems) != 0 {
					t.Errorf("problems: %v", c.problems)
				}
			})
		})
	}
}

// TestRotatedPartialBlock: the old day file ends in a block that is never
// finished. Once the file is quiet it is one malformed alert, and the new
// day follows.
func TestRotatedPartialBlock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTree(t, "log")
		tr.newDay(27)
		day27, day28 := genAlerts(0, 5), genAlerts(5, 5)
		d27, _ := encode(Log, day27)
		d28, _ := encode(Log, day28)
		c := &collector{}
		r := start(t, File(tr.live(), fileOpts(c, nil)), c)
		appendFile(t, tr.day(27), d27[:len(d27)-30])
		time.Sleep(2 * testPoll)
		tr.newDay(28)
		appendFile(t, tr.day(28), d28)
		if err := r.stop(); err != nil {
			t.Fatal(err)
		}
		// Alert 4, a FIM alert, is cut inside its last section.
		want := append(idsOf(day27[:4]), idsOf(day28)...)
		if diff := cmp.Diff(want, c.ids()); diff != "" {
			t.Fatalf("delivered (-want +got):\n%s", diff)
		}
		if len(c.problems) != 1 || !strings.Contains(c.problems[0].Reason, "cut short") {
			t.Fatalf("problems %v, want one cut-short alert", c.problems)
		}
	})
}

// TestTruncation covers copytruncate and rewriting in place.
func TestTruncation(t *testing.T) {
	tests := []struct {
		name string
		// unread is how much of the next alert is written before the
		// truncation; rewriteFast writes the new content before the
		// follower looks again, so only the identity shows the change.
		unread      int
		rewriteFast bool
		wantLost    string
	}{
		{"copytruncate", 0, false, `"lost_bytes":0`},
		{"copytruncate with an unfinished alert", 40, false, `"lost_bytes":40`},
		{"rewrite before the next poll", 0, true, `"msg":"file rewritten`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				before, after := genAlerts(0, 4), genAlerts(100, 6)
				b, _ := encode(Log, before)
				a, _ := encode(Log, after)
				next, _ := encode(Log, genAlerts(50, 1))
				path := filepath.Join(t.TempDir(), "alerts.log")
				appendFile(t, path, b)
				var logs bytes.Buffer
				c := &collector{}
				r := start(t, File(path, fileOpts(c, &logs)), c)
				time.Sleep(2 * testPoll)
				appendFile(t, path, next[:tt.unread])
				// Half a poll off the follower's ticks: it has looked at
				// 4 polls and is blocked until 5 when the file changes, so
				// a rewrite is never seen half done.
				time.Sleep(2*testPoll + testPoll/2)
				if err := os.Truncate(path, 0); err != nil {
					t.Fatal(err)
				}
				if !tt.rewriteFast {
					time.Sleep(2 * testPoll)
				}
				appendFile(t, path, a)
				if err := r.stop(); err != nil {
					t.Fatal(err)
				}
				want := append(idsOf(before), idsOf(after)...)
				if diff := cmp.Diff(want, c.ids()); diff != "" {
					t.Fatalf("delivered (-want +got):\n%s", diff)
				}
				if !strings.Contains(logs.String(), tt.wantLost) {
					t.Errorf("log does not say %s:\n%s", tt.wantLost, logs.String())
				}
			})
		})
	}
}

// TestResume stops a follower mid-stream, writes and rotates while it is
// down, and resumes from the last committed position.
func TestResume(t *testing.T) {
	tests := []struct {
		name string
		// days is how many day changes happen while stopped; gz
		// compresses the days left behind.
		days int
		gz   bool
	}{
		{"same file", 0, false},
		{"one swap", 1, false},
		{"one swap, old day gzipped", 1, true},
		{"two swaps, both old days gzipped", 2, true},
		{"two swaps", 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tr := newTree(t, "log")
				tr.newDay(27)
				as := genAlerts(0, 10+10*tt.days+5)
				first, _ := encode(Log, as[:10])
				appendFile(t, tr.day(27), first)

				c := &collector{stopAt: 7}
				f := File(tr.live(), fileOpts(c, nil))
				if err := f.Run(t.Context(), c.fn); !errors.Is(err, errStop) {
					t.Fatalf("Run = %v, want the callback's error", err)
				}
				saved := c.got[len(c.got)-1].pos

				// While stopped: the day goes on, then changes.
				more, _ := encode(Log, as[10:12])
				appendFile(t, tr.day(27), more)
				next := 12
				for d := range tt.days {
					tr.newDay(28 + d)
					n := 10
					if d == 0 {
						n = 8
					}
					b, _ := encode(Log, as[next:next+n])
					appendFile(t, tr.day(28+d), b)
					next += n
				}
				if tt.gz {
					for d := range tt.days {
						tr.compress(27 + d)
					}
				}

				c2 := &collector{}
				opts := fileOpts(c2, nil)
				opts.Start = &saved
				r := start(t, File(tr.live(), opts), c2)
				b, _ := encode(Log, as[next:])
				appendFile(t, tr.live(), b)
				if err := r.stop(); err != nil {
					t.Fatal(err)
				}
				got := append(c.ids(), c2.ids()...)
				if diff := cmp.Diff(idsOf(as), got); diff != "" {
					t.Fatalf("delivered before and after the restart (-want +got):\n%s", diff)
				}
				if len(c2.problems) != 0 {
					t.Errorf("problems: %v", c2.problems)
				}
			})
		})
	}
}

// TestResumeMidGzip stops inside a gzipped day and resumes inside it again.
func TestResumeMidGzip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTree(t, "log")
		tr.newDay(27)
		as := genAlerts(0, 20)
		d27, _ := encode(Log, as[:10])
		d28, _ := encode(Log, as[10:])
		appendFile(t, tr.day(27), d27)
		tr.newDay(28)
		appendFile(t, tr.day(28), d28)
		tr.compress(27)

		// Restart after every third alert; each run ends by its callback
		// or, once nothing is left, by its deadline.
		var got []string
		pos := &Position{Path: tr.live(), Identity: mustIdentity(t, d27)}
		for range 10 {
			c := &collector{stopAt: 4}
			opts := fileOpts(c, nil)
			opts.Start = pos
			ctx, cancel := context.WithTimeout(t.Context(), testGrace+3*testPoll)
			err := File(tr.live(), opts).Run(ctx, c.fn)
			cancel()
			got = append(got, c.ids()...)
			if len(c.got) > 0 {
				pos = &c.got[len(c.got)-1].pos
			}
			if err == nil {
				break
			}
		}
		if diff := cmp.Diff(idsOf(as), got); diff != "" {
			t.Fatalf("delivered over restarts (-want +got):\n%s", diff)
		}
	})
}

func mustIdentity(t *testing.T, data []byte) string {
	t.Helper()
	id, err := identityOf(bytes.NewReader(data))
	if err != nil || id == "" {
		t.Fatalf("identity: %q, %v", id, err)
	}
	return id
}

// TestStartAtEnd: without a start position only what is new is delivered,
// and an alert being written at the start is not cut.
func TestStartAtEnd(t *testing.T) {
	for _, tt := range []struct {
		name    string
		partial int // bytes of alert 3 present at start
	}{{"at a boundary", 0}, {"inside an alert", 50}} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				as := genAlerts(0, 6)
				data, ends := encode(Log, as)
				path := filepath.Join(t.TempDir(), "alerts.log")
				appendFile(t, path, data[:ends[2]+int64(tt.partial)])
				c := &collector{}
				opts := fileOpts(c, nil)
				opts.FromStart = false
				r := start(t, File(path, opts), c)
				time.Sleep(2 * testPoll)
				appendFile(t, path, data[ends[2]+int64(tt.partial):])
				if err := r.stop(); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(idsOf(as[3:]), c.ids()); diff != "" {
					t.Fatalf("delivered (-want +got):\n%s", diff)
				}
				if c.got[0].pos.Line != strings.Count(string(data[:ends[3]]), "\n") {
					t.Errorf("line %d after alert 3", c.got[0].pos.Line)
				}
			})
		})
	}
}

// TestFileAppearsLater: a path that does not exist yet is waited for and
// read from its start.
func TestFileAppearsLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := newTree(t, "log")
		as := genAlerts(0, 3)
		data, _ := encode(Log, as)
		c := &collector{}
		opts := fileOpts(c, nil)
		opts.FromStart = false
		r := start(t, File(tr.live(), opts), c)
		time.Sleep(3 * testPoll)
		tr.newDay(27)
		appendFile(t, tr.day(27), data)
		if err := r.stop(); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(idsOf(as), c.ids()); diff != "" {
			t.Fatalf("delivered (-want +got):\n%s", diff)
		}
	})
}

func TestCustomFormatFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "alerts.log")
		appendFile(t, path, []byte(strings.Repeat("2023 Nov 14 22:13:20 1700000000.1 5712 10 web1 x\n", 300)))
		c := &collector{}
		err := File(path, fileOpts(c, nil)).Run(t.Context(), c.fn)
		if !errors.Is(err, alertslog.ErrCustomFormat) {
			t.Fatalf("Run = %v, want ErrCustomFormat", err)
		}
	})
}

func TestDayFiles(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{
		"2025/Dec/ossec-alerts-31.log.gz", "2025/Dec/ossec-alerts-31.log.sum", "2025/Dec/ossec-alerts-31.json.gz",
		"2026/Jan/ossec-alerts-01.log", "2026/Jan/ossec-alerts-01.log.gz", "2026/Jan/ossec-alerts-02.json",
		"2026/Jan/ossec-alerts-1.log", "2026/Jan/notes.txt", "2026/Foo/ossec-alerts-03.log", "alerts.log",
	} {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		appendFile(t, full, nil)
	}
	files, err := dayFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		rel, _ := filepath.Rel(root, f.path)
		got = append(got, rel)
	}
	want := []string{"2025/Dec/ossec-alerts-31.json.gz", "2025/Dec/ossec-alerts-31.log.gz", "2026/Jan/ossec-alerts-01.log", "2026/Jan/ossec-alerts-02.json"}
	if !slices.Equal(got, want) {
		t.Errorf("dayFiles = %q\nwant %q", got, want)
	}
}

func TestIdentity(t *testing.T) {
	long := strings.Repeat("x", identityLen+10)
	for _, tt := range []struct {
		a, b string
		same bool
	}{
		{"** Alert 1.1: - a,\nrest", "** Alert 1.1: - a,\nother", true},
		{"** Alert 1.1: - a,\n", "** Alert 1.2: - a,\n", false},
		{long, long + "\nmore", true},
	} {
		ia, _ := identityOf(strings.NewReader(tt.a))
		ib, _ := identityOf(strings.NewReader(tt.b))
		if ia == "" || (ia == ib) != tt.same {
			t.Errorf("identity(%.20q)=%s identity(%.20q)=%s, same=%v", tt.a, ia, tt.b, ib, tt.same)
		}
	}
	if id, _ := identityOf(strings.NewReader("** Alert 1.1: - a,")); id != "" {
		t.Errorf("unfinished first line has identity %s", id)
	}
}

var _ = ossec.Alert{}
