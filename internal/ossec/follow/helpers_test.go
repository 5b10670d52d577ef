package follow

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/alertsjson"
	"github.com/rampart-ids/rampart/internal/ossec/alertslog"
)

const (
	testPoll  = 100 * time.Millisecond
	testGrace = 4 * testPoll
)

// genAlerts returns n alerts numbered from first; every fifth is a Wazuh
// FIM alert whose log has sections after empty lines.
func genAlerts(first, n int) []ossec.Alert {
	var out []ossec.Alert
	for i := first; i < first+n; i++ {
		a := ossec.Alert{
			ID:   ossec.ID{Epoch: 1700000000 + int64(i), Seq: int64(i)},
			Time: time.Unix(1700000000+int64(i), 0).UTC(), RuleID: 5716, Level: 5,
			Description: "sshd: authentication failed.", Groups: []string{"syslog", "sshd"},
			SrcIP:    netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}),
			Location: ossec.ParseLocation("web1->/var/log/auth.log"),
			Log:      []string{fmt.Sprintf("Nov 14 22:13:19 web1 sshd[%d]: Failed password for root from 203.0.113.%d port 50122 ssh2", i, byte(i))},
		}
		if i%5 == 4 {
			a.RuleID, a.Description, a.SrcIP = 550, "Integrity checksum changed.", netip.Addr{}
			a.Groups, a.Location = []string{"ossec", "syscheck"}, ossec.ParseLocation("(wz2) 10.0.0.6->syscheck")
			a.Log = []string{fmt.Sprintf("File '/etc/f%d' modified", i), "", "What changed:", "1c1", "< a", "---", "> b", "", "Tags:", " - x"}
		}
		out = append(out, a)
	}
	return out
}

// encode writes alerts in format and returns the text and the offset after
// each alert.
func encode(format Format, as []ossec.Alert) ([]byte, []int64) {
	var b []byte
	var ends []int64
	for i := range as {
		if format == JSON {
			b = alertsjson.AppendAlert(b, &as[i], alertsjson.OSSEC34)
		} else {
			b = alertslog.AppendAlert(b, &as[i], nil)
		}
		ends = append(ends, int64(len(b)))
	}
	return b, ends
}

// delivery is one call of the follower's callback.
type delivery struct {
	id  string
	log int // len(Log)
	pos Position
}

// collector records deliveries and problems. stopAt > 0 makes the
// callback fail on that delivery (1-based), as a caller that cannot commit.
type collector struct {
	mu       sync.Mutex
	got      []delivery
	problems []*ossec.ParseError
	stopAt   int
}

var errStop = fmt.Errorf("stop here")

func (c *collector) fn(a *ossec.Alert, pos Position) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopAt > 0 && len(c.got)+1 == c.stopAt {
		return errStop
	}
	c.got = append(c.got, delivery{a.ID.String(), len(a.Log), pos})
	return nil
}

func (c *collector) problem(p *ossec.ParseError) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.problems = append(c.problems, p)
}

func (c *collector) ids() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, d := range c.got {
		out = append(out, d.id)
	}
	return out
}

func idsOf(as []ossec.Alert) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.ID.String())
	}
	return out
}

// running is a follower started in the background.
type running struct {
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, f *FileFollower, c *collector) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	r := &running{cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- f.Run(ctx, c.fn) }()
	return r
}

// stop lets the follower see everything written (a grace period and a few
// polls of fake time), then cancels it and returns Run's result.
func (r *running) stop() error {
	time.Sleep(testGrace + 3*testPoll)
	r.cancel()
	return <-r.done
}

func fileOpts(c *collector, logs *bytes.Buffer) FileOptions {
	o := FileOptions{Poll: testPoll, Grace: testGrace, Problems: c.problem, FromStart: true}
	if logs != nil {
		o.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	}
	return o
}

func appendFile(t *testing.T, path string, data []byte) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeChunks appends data in random pieces, sleeping up to 3 polls of
// fake time between them, so the follower sees blocks cut anywhere.
func writeChunks(t *testing.T, path string, data []byte, rng *rand.Rand) {
	t.Helper()
	for len(data) > 0 {
		n := min(1+rng.IntN(400), len(data))
		appendFile(t, path, data[:n])
		data = data[n:]
		time.Sleep(time.Duration(rng.IntN(int(3 * testPoll))))
	}
}

// tree is an OSSEC logs/alerts directory.
type tree struct {
	t    *testing.T
	root string
	ext  string
}

func newTree(t *testing.T, ext string) *tree {
	return &tree{t: t, root: t.TempDir(), ext: ext}
}

func (tr *tree) live() string { return filepath.Join(tr.root, "alerts."+tr.ext) }

func (tr *tree) day(d int) string {
	return filepath.Join(tr.root, "2026", "Nov", fmt.Sprintf("ossec-alerts-%02d.%s", d, tr.ext))
}

// newDay does what analysisd does at the first event of a day: create the
// day file, then unlink the live path and link it to the new file.
func (tr *tree) newDay(d int) {
	tr.t.Helper()
	if err := os.MkdirAll(filepath.Dir(tr.day(d)), 0o755); err != nil {
		tr.t.Fatal(err)
	}
	appendFile(tr.t, tr.day(d), nil)
	if err := os.Remove(tr.live()); err != nil && !os.IsNotExist(err) {
		tr.t.Fatal(err)
	}
	if err := os.Link(tr.day(d), tr.live()); err != nil {
		tr.t.Fatal(err)
	}
}

// compress does what monitord does to a past day: write the .gz, remove
// the plain file.
func (tr *tree) compress(d int) {
	tr.t.Helper()
	data, err := os.ReadFile(tr.day(d))
	if err != nil {
		tr.t.Fatal(err)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.WriteFile(tr.day(d)+".gz", b.Bytes(), 0o644); err != nil {
		tr.t.Fatal(err)
	}
	if err := os.Remove(tr.day(d)); err != nil {
		tr.t.Fatal(err)
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	_, ino, _ := fileID(fi)
	return ino
}
