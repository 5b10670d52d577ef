package sensor

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/alertslog"
	"github.com/rampart-ids/rampart/internal/ossec/follow"
	"github.com/rampart-ids/rampart/internal/server/servertest"
	"github.com/rampart-ids/rampart/internal/serverdb"
)

type env struct {
	url    string
	db     *serverdb.DB
	sensor string
	down   atomic.Bool
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st := servertest.New(t, 3)
	srv := st.Server
	e := &env{db: st.DB}
	h := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		srv.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(h.Close)
	e.url = h.URL
	e.sensor = st.Token(api.RoleSensor, "mgr1")
	return e
}

func (e *env) signals(t *testing.T) int {
	t.Helper()
	n := 0
	if err := e.db.SignalsSince(t.Context(), time.Unix(0, 0), func(string, api.Signal) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func alert(i int, src string) *ossec.Alert {
	a := &ossec.Alert{ID: ossec.ID{Epoch: 1796972400 + int64(i), Seq: int64(i * 100)}, RuleID: 5710, Level: 5,
		Description: "sshd: Attempt to login using a non-existent user", Groups: []string{"syslog", "sshd", "invalid_login", "authentication_failed"},
		Location: ossec.Location{Raw: "mgr->/var/log/auth.log", Manager: "mgr"},
		Log:      []string{"Nov 27 07:00:00 mgr sshd[1]: Invalid user admin from " + src}}
	a.Time = time.Unix(a.ID.Epoch, 0).UTC()
	if src != "" {
		a.SrcIP = netip.MustParseAddr(src)
	}
	return a
}

func appendAlerts(t *testing.T, path string, as ...*ossec.Alert) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	var b []byte
	for _, a := range as {
		b = alertslog.AppendAlert(b, a, time.UTC)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// run follows path with a sensor until stop is called.
func run(t *testing.T, e *env, path, state string) (stop func()) {
	t.Helper()
	s, err := New(Options{Server: e.url, Token: e.sensor, Manager: "mgr", StateFile: state, Linger: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var pos follow.Position
	found, err := s.LoadPosition(&pos)
	if err != nil {
		t.Fatal(err)
	}
	opts := follow.FileOptions{Poll: 20 * time.Millisecond, Grace: 60 * time.Millisecond, FromStart: true}
	if found {
		opts.Start = &pos
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		follow.File(path, opts).Run(ctx, func(a *ossec.Alert, p follow.Position) error { return s.Offer(ctx, a, p) })
	}()
	go func() { defer wg.Done(); s.Run(ctx) }()
	return func() { cancel(); wg.Wait() }
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFollowSendResume(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	path, state := filepath.Join(dir, "alerts.log"), filepath.Join(dir, "sensor.json")
	appendAlerts(t, path, alert(1, "203.0.113.7"), alert(2, ""), alert(3, "::ffff:198.51.100.4"))
	stop := run(t, e, path, state)
	waitFor(t, "two signals", func() bool { return e.signals(t) == 2 })

	// The server goes down: new alerts wait, the position stays behind.
	e.down.Store(true)
	appendAlerts(t, path, alert(4, "203.0.113.8"), alert(5, "203.0.113.9"))
	time.Sleep(300 * time.Millisecond)
	stop()
	var pos follow.Position
	data, _ := os.ReadFile(state)
	if err := json.Unmarshal(data, &pos); err != nil {
		t.Fatalf("position file %q: %v", data, err)
	}
	if e.signals(t) != 2 {
		t.Fatalf("signals stored while the server was down: %d", e.signals(t))
	}

	// Back up, a new sensor process resumes from the stored position:
	// everything arrives, nothing twice.
	e.down.Store(false)
	appendAlerts(t, path, alert(6, "203.0.113.10"))
	stop = run(t, e, path, state)
	defer stop()
	waitFor(t, "five signals", func() bool { return e.signals(t) == 5 })
	time.Sleep(200 * time.Millisecond)
	if n := e.signals(t); n != 5 {
		t.Errorf("%d signals, want 5", n)
	}
	var srcs []string
	e.db.SignalsSince(t.Context(), time.Unix(0, 0), func(_ string, s api.Signal) error { srcs = append(srcs, s.Source.String()); return nil })
	if srcs[1] != "198.51.100.4" {
		t.Errorf("mapped source not unmapped: %v", srcs)
	}
}

func TestSignalKeysDifferPerManager(t *testing.T) {
	a, _ := New(Options{Server: "http://x", Token: "t", Manager: "m1"})
	b, _ := New(Options{Server: "http://x", Token: "t", Manager: "m2", MinLevel: 6})
	sa, ok := a.Signal(alert(1, "203.0.113.7"))
	if !ok {
		t.Fatal("no signal")
	}
	if _, ok := b.Signal(alert(1, "203.0.113.7")); ok {
		t.Error("a level 5 alert passed MinLevel 6")
	}
	b2, _ := New(Options{Server: "http://x", Token: "t", Manager: "m2"})
	sb, _ := b2.Signal(alert(1, "203.0.113.7"))
	if sa.Key == sb.Key {
		t.Errorf("two managers' alerts share key %q", sa.Key)
	}
	if err := sa.Validate(); err != nil {
		t.Error(err)
	}
}
