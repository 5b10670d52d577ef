package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/blocklist"
	"github.com/rampart-ids/rampart/internal/enforce"
	"github.com/rampart-ids/rampart/internal/server/servertest"
)

// recorder is an enforcer that keeps the applied set in memory: the agent's
// own logic is under test here; real enforcers are tested in their
// packages and in the namespace test.
type recorder struct {
	mu      sync.Mutex
	set     []enforce.Entry
	applies int
	fail    error
}

func (r *recorder) Name() string { return "memory" }

func (r *recorder) Apply(_ context.Context, set []enforce.Entry) (enforce.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return enforce.Result{}, r.fail
	}
	r.set = append([]enforce.Entry(nil), set...)
	r.applies++
	return enforce.Result{}, nil
}

func (r *recorder) has(p string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.set {
		if e.Prefix.Contains(netip.MustParseAddr(p)) {
			return true
		}
	}
	return false
}

type env struct {
	t      *testing.T
	http   *httptest.Server
	key    blocklist.PublicKey
	admin  string
	agent  string
	tamper func([]byte) []byte
	down   bool
	mu     sync.Mutex
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st := servertest.New(t, 9)
	srv := st.Server
	e := &env{t: t, key: st.Signer.Public()}
	// A proxy in front of the server that can tamper with bodies or play
	// dead.
	e.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		down, tamper := e.down, e.tamper
		e.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if tamper != nil && rec.Code == 200 {
			body = tamper(body)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		w.Write(body)
	}))
	t.Cleanup(e.http.Close)
	e.admin, e.agent = st.Token(api.RoleAdmin, "admin1"), st.Token(api.RoleAgent, "agent1")
	return e
}

func (e *env) ban(value string) {
	e.t.Helper()
	body := fmt.Sprintf(`{"value":%q,"duration":"1h","reason":"test"}`, value)
	req, _ := http.NewRequest("POST", e.http.URL+"/v1/admin/decisions", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		e.t.Fatalf("ban %s: %d %s", value, resp.StatusCode, b)
	}
}

func (e *env) newAgent(rec *recorder, dir string, mod func(*Options)) *Agent {
	e.t.Helper()
	o := Options{Server: e.http.URL, Token: e.agent, Key: e.key, Enforcers: []Enforcer{rec}, StateDir: dir, Wait: 2 * time.Second,
		Never: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, MaxChange: 0.5}
	if mod != nil {
		mod(&o)
	}
	a, err := New(o)
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func TestPullApplyAndBoot(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	rec := &recorder{}
	a := e.newAgent(rec, dir, nil)
	ctx := t.Context()
	if err := a.Boot(ctx); err != nil || rec.applies != 0 {
		t.Fatalf("boot without a last good list: %v, %d applies", err, rec.applies)
	}
	e.ban("203.0.113.7")
	if err := a.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if !rec.has("203.0.113.7") || a.list.Version != 1 {
		t.Fatalf("after the first pull: %+v, version %d", rec.set, a.list.Version)
	}
	// A long poll returns the next ban as a delta.
	done := make(chan error, 1)
	go func() { done <- a.Step(ctx) }()
	time.Sleep(100 * time.Millisecond)
	e.ban("198.51.100.0/24")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !rec.has("198.51.100.77") || !rec.has("203.0.113.7") || a.list.Version != 2 {
		t.Fatalf("after the delta: %+v, version %d", rec.set, a.list.Version)
	}
	// The server is gone; a new agent process boots from the last good
	// list before any request succeeds.
	e.mu.Lock()
	e.down = true
	e.mu.Unlock()
	rec2 := &recorder{}
	a2 := e.newAgent(rec2, dir, nil)
	if err := a2.Boot(ctx); err != nil {
		t.Fatal(err)
	}
	if !rec2.has("198.51.100.77") || !rec2.has("203.0.113.7") {
		t.Fatalf("boot did not re-apply the last good list: %+v", rec2.set)
	}
	if err := a2.Step(ctx); err == nil {
		t.Error("a step against a dead server reported success")
	}
	if !rec2.has("203.0.113.7") {
		t.Error("the failed step opened the firewall")
	}
}

func TestTamperedRefused(t *testing.T) {
	e := newEnv(t)
	rec := &recorder{}
	a := e.newAgent(rec, t.TempDir(), nil)
	e.ban("203.0.113.7")
	e.mu.Lock()
	e.tamper = func(b []byte) []byte { return bytes.Replace(b, []byte("203.0.113.7"), []byte("203.0.113.8"), 1) }
	e.mu.Unlock()
	err := a.Step(t.Context())
	if !errors.Is(err, blocklist.ErrSignature) || rec.applies != 0 {
		t.Fatalf("tampered list: %v, %d applies", err, rec.applies)
	}
	// A wrong pinned key refuses the genuine list too.
	e.mu.Lock()
	e.tamper = nil
	e.mu.Unlock()
	other, _ := blocklist.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)))
	a2 := e.newAgent(rec, t.TempDir(), func(o *Options) { o.Key = other.Public() })
	if err := a2.Step(t.Context()); !errors.Is(err, blocklist.ErrSignature) {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestGuards(t *testing.T) {
	e := newEnv(t)
	rec := &recorder{}
	var refused []error
	a := e.newAgent(rec, t.TempDir(), func(o *Options) {
		o.Applied = func(_ uint64, err error) {
			if err != nil {
				refused = append(refused, err)
			}
		}
	})
	ctx := t.Context()
	e.ban("203.0.113.0/30")
	if err := a.Step(ctx); err != nil || !rec.has("203.0.113.1") {
		t.Fatalf("first list: %v %+v", err, rec.set)
	}
	// 40 new bans at once on a list of one: more than half changes.
	for i := range 40 {
		e.ban(fmt.Sprintf("198.51.100.%d", i+1))
	}
	if err := a.Step(ctx); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("mass change: %v", err)
	}
	if rec.has("198.51.100.1") || len(refused) != 1 || !strings.Contains(refused[0].Error(), "too many") && !strings.Contains(refused[0].Error(), "changes") {
		t.Fatalf("mass change applied or not refused: %v", refused)
	}
	// A list covering a never-blocked network is refused whole (the
	// server refuses it too, so the agent's own Never decides here).
	a3 := e.newAgent(rec, t.TempDir(), func(o *Options) { o.Never = []netip.Prefix{netip.MustParsePrefix("203.0.113.2/32")} })
	rec.applies = 0
	if err := a3.Step(ctx); err == nil || rec.applies != 0 {
		t.Fatalf("list with a never-blocked address applied: %v, %d applies", err, rec.applies)
	}
}

func TestApplyFailureKeepsVersion(t *testing.T) {
	e := newEnv(t)
	rec := &recorder{fail: errors.New("netlink: operation not permitted")}
	a := e.newAgent(rec, t.TempDir(), nil)
	e.ban("203.0.113.7")
	if err := a.Step(t.Context()); err == nil || !strings.Contains(err.Error(), "not permitted") {
		t.Fatalf("apply failure: %v", err)
	}
	if a.list.Version != 0 {
		t.Errorf("version %d recorded although nothing was applied", a.list.Version)
	}
}

func TestJournalTamperedAtBoot(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	rec := &recorder{}
	a := e.newAgent(rec, dir, nil)
	e.ban("203.0.113.7")
	if err := a.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Step(t.Context()) }()
	time.Sleep(100 * time.Millisecond)
	e.ban("198.51.100.9")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(dir, "last-good.deltas")
	data, err := os.ReadFile(journal)
	if err != nil || !bytes.Contains(data, []byte("198.51.100.9")) {
		t.Fatalf("journal: %q, %v", data, err)
	}
	if err := os.WriteFile(journal, bytes.Replace(data, []byte("198.51.100.9"), []byte("198.51.100.8"), 1), 0o640); err != nil {
		t.Fatal(err)
	}
	a2 := e.newAgent(&recorder{}, dir, nil)
	if err := a2.Boot(t.Context()); !errors.Is(err, blocklist.ErrSignature) {
		t.Errorf("boot with a tampered journal: %v, want a signature error", err)
	}
}

func scrape(t *testing.T, a *Agent, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	a.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Code, rec.Body.String()
}

func TestMetricsAndReadiness(t *testing.T) {
	e := newEnv(t)
	a := e.newAgent(&recorder{}, t.TempDir(), nil)
	if code, _ := scrape(t, a, "/readyz"); code != 503 {
		t.Errorf("readyz before any list: %d, want 503", code)
	}
	e.ban("203.0.113.7")
	if err := a.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	if code, _ := scrape(t, a, "/readyz"); code != 200 {
		t.Errorf("readyz after the first list: %d", code)
	}
	for i := range 40 {
		e.ban(fmt.Sprintf("198.51.100.%d", i+1))
	}
	if err := a.Step(t.Context()); err == nil {
		t.Fatal("mass change not refused")
	}
	_, body := scrape(t, a, "/metrics")
	for _, want := range []string{"rampart_agent_list_version 1", "rampart_agent_entries 1", `rampart_agent_refused_total{reason="max_change"} 1`, "rampart_agent_apply_duration_seconds_count 1"} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// Status makes the recorder a back end the agent can read back.
func (r *recorder) Status(context.Context) ([]enforce.Entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]enforce.Entry(nil), r.set...), nil
}

// A back end flushed behind the agent's back is found at the next idle
// poll, re-applied and reported as drift.
func TestDriftRepaired(t *testing.T) {
	e := newEnv(t)
	rec := &recorder{}
	a := e.newAgent(rec, t.TempDir(), func(o *Options) { o.Wait = time.Second; o.DriftCheck = time.Nanosecond })
	e.ban("203.0.113.7")
	if err := a.Step(t.Context()); err != nil || !rec.has("203.0.113.7") {
		t.Fatalf("first list: %v", err)
	}
	rec.mu.Lock()
	rec.set = nil // "nft flush ruleset"
	rec.mu.Unlock()
	if err := a.Step(t.Context()); err != nil { // 304 after a second, then the read-back
		t.Fatal(err)
	}
	if !rec.has("203.0.113.7") || a.drift != 1 {
		t.Fatalf("after the drift check: has %v, drift %d", rec.has("203.0.113.7"), a.drift)
	}
	if _, body := scrape(t, a, "/metrics"); !strings.Contains(body, "rampart_agent_drift_entries 1\n") {
		t.Errorf("drift not in the metrics")
	}
	req, _ := http.NewRequest("GET", e.http.URL+"/v1/admin/agents", nil)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"drift":1`) {
		t.Errorf("the server was not told of the drift: %s", b)
	}
	// Nothing differs any more: the next check finds no drift.
	if err := a.Step(t.Context()); err != nil || a.drift != 0 {
		t.Errorf("second check: %v, drift %d", err, a.drift)
	}
}
