package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/blocklist"
	"github.com/rampart-ids/rampart/internal/policy"
	"github.com/rampart-ids/rampart/internal/serverdb"
)

// fixture is a server on a temp SQLite file, behind httptest, with one
// token per role.
type fixture struct {
	t                    *testing.T
	srv                  *Server
	http                 *httptest.Server
	pub                  blocklist.PublicKey
	admin, agent, sensor string
	mu                   sync.Mutex
	now                  time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := serverdb.Open(t.Context(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	signer, err := blocklist.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, pub: signer.Public(), now: time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC)}
	p := policy.Policy{Rules: []policy.Rule{{Name: "ssh", MinAlerts: 3, MinLevel: 5, Window: 10 * time.Minute, Ban: time.Hour}}}
	f.srv, err = New(t.Context(), Options{DB: db, Signer: signer, Policy: p, Now: f.clock,
		Never:      []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		Management: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}})
	if err != nil {
		t.Fatal(err)
	}
	f.http = httptest.NewServer(f.srv.Handler())
	t.Cleanup(f.http.Close)
	for _, role := range []string{api.RoleAdmin, api.RoleAgent, api.RoleSensor} {
		secret, digest := NewToken()
		if _, err := db.CreateToken(t.Context(), role+"1", role, digest, f.now); err != nil {
			t.Fatal(err)
		}
		switch role {
		case api.RoleAdmin:
			f.admin = secret
		case api.RoleAgent:
			f.agent = secret
		default:
			f.sensor = secret
		}
	}
	return f
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) do(method, path, token string, body any, hdr ...string) (*http.Response, []byte) {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequestWithContext(f.t.Context(), method, f.http.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

func sshSignal(key string, src string, at time.Time) api.Signal {
	return api.Signal{Key: key, Source: netip.MustParseAddr(src), Time: at, Rule: 5710, Level: 5, Groups: []string{"sshd", "authentication_failed"}, Log: "Failed password for invalid user admin from " + src}
}

func TestAuthAndRoles(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/healthz", "", 200},
		{"GET", "/readyz", "", 200},
		{"GET", "/v1/blocklist", "", 401},
		{"GET", "/v1/blocklist", "rpt_wrong", 401},
		{"GET", "/v1/blocklist", f.sensor, 403},
		{"GET", "/v1/blocklist", f.agent, 200},
		{"GET", "/v1/blocklist", f.admin, 200},
		{"POST", "/v1/signals", f.agent, 403},
		{"GET", "/v1/admin/decisions", f.agent, 403},
		{"GET", "/v1/admin/decisions", f.sensor, 403},
		{"GET", "/v1/admin/decisions", f.admin, 200},
		{"GET", "/v1/admin/tokens", "", 401},
		{"POST", "/v1/agents/report", f.sensor, 403},
	} {
		resp, body := f.do(tt.method, tt.path, tt.token, nil)
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s with %.8q: %d %s, want %d", tt.method, tt.path, tt.token, resp.StatusCode, body, tt.want)
		}
	}
	// A token created through the API works; revoked, it stops.
	resp, body := f.do("POST", "/v1/admin/tokens", f.admin, api.TokenRequest{Role: api.RoleAgent, Name: "fe02"})
	var tok api.Token
	if resp.StatusCode != 201 || json.Unmarshal(body, &tok) != nil || !strings.HasPrefix(tok.Secret, "rpt_") {
		t.Fatalf("create token: %d %s", resp.StatusCode, body)
	}
	if resp, _ := f.do("GET", "/v1/blocklist", tok.Secret, nil); resp.StatusCode != 200 {
		t.Errorf("new token: %d", resp.StatusCode)
	}
	if resp, body := f.do("DELETE", fmt.Sprintf("/v1/admin/tokens/%d", tok.ID), f.admin, nil); resp.StatusCode != 204 {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
	if resp, _ := f.do("GET", "/v1/blocklist", tok.Secret, nil); resp.StatusCode != 401 {
		t.Errorf("revoked token: %d, want 401", resp.StatusCode)
	}
	_, body = f.do("GET", "/v1/admin/tokens", f.admin, nil)
	if strings.Contains(string(body), "rpt_") {
		t.Errorf("token list shows secrets: %s", body)
	}
}

func TestBadInput(t *testing.T) {
	f := newFixture(t)
	big := `{"sensor":"x","signals":[` + strings.Repeat(`{"key":"k"},`, api.MaxBodyBytes/10) + `]}`
	for _, tt := range []struct {
		body any
		want int
		msg  string
	}{
		{`{"sensor":"x","signals":[],"extra":1}`, 400, "unknown field"},
		{`{"sensor":"x"`, 400, "invalid JSON"},
		{`{"sensor":"x","signals":[]} {}`, 400, "trailing"},
		{api.SignalBatch{Signals: []api.Signal{{Key: "a", Time: time.Now(), Rule: 1}}}, 400, "source: missing"},
		{big, 413, "body larger"},
	} {
		resp, body := f.do("POST", "/v1/signals", f.sensor, tt.body)
		if resp.StatusCode != tt.want || !strings.Contains(string(body), tt.msg) {
			t.Errorf("POST signals: %d %.200s, want %d with %q", resp.StatusCode, body, tt.want, tt.msg)
		}
	}
	for _, tt := range []struct {
		req  api.DecisionRequest
		want int
		msg  string
	}{
		{api.DecisionRequest{Value: "10.1.2.3", Duration: "1h", Reason: "x"}, 422, "never banned"},
		{api.DecisionRequest{Value: "10.1.2.3", Duration: "1h", Reason: "x", Force: true}, 422, "never banned"},
		{api.DecisionRequest{Value: "192.0.2.0/25", Duration: "1h", Reason: "x"}, 422, "management network"},
		{api.DecisionRequest{Value: "300.1.2.3", Duration: "1h", Reason: "x"}, 400, "not an address"},
		{api.DecisionRequest{Value: "203.0.113.1", Reason: "x"}, 400, "duration: required"},
		{api.DecisionRequest{Value: "203.0.113.1", Duration: "1h"}, 400, "reason"},
	} {
		resp, body := f.do("POST", "/v1/admin/decisions", f.admin, tt.req)
		if resp.StatusCode != tt.want || !strings.Contains(string(body), tt.msg) {
			t.Errorf("POST decision %+v: %d %s, want %d with %q", tt.req, resp.StatusCode, body, tt.want, tt.msg)
		}
	}
	if resp, _ := f.do("POST", "/v1/admin/decisions", f.admin, api.DecisionRequest{Value: "192.0.2.9", Duration: "1h", Reason: "x", Force: true}); resp.StatusCode != 201 {
		t.Errorf("forced ban of a management address: %d", resp.StatusCode)
	}
	if resp, _ := f.do("GET", "/v1/blocklist/changes?since=x", f.agent, nil); resp.StatusCode != 400 {
		t.Errorf("bad since: %d", resp.StatusCode)
	}
	if resp, _ := f.do("GET", "/v1/blocklist?format=pdf", f.agent, nil); resp.StatusCode != 400 {
		t.Errorf("bad format: %d", resp.StatusCode)
	}
}

func TestSignalsToListToDelta(t *testing.T) {
	f := newFixture(t)
	t0 := f.clock()
	// Two signals: below the threshold of 3.
	batch := api.SignalBatch{Sensor: "mgr", Signals: []api.Signal{sshSignal("m:1", "203.0.113.7", t0), sshSignal("m:2", "203.0.113.7", t0.Add(time.Second))}}
	resp, body := f.do("POST", "/v1/signals", f.sensor, batch)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"accepted":2`) || !strings.Contains(string(body), `"decisions":0`) {
		t.Fatalf("first batch: %d %s", resp.StatusCode, body)
	}
	// The same again (a retry): duplicates, nothing counted twice.
	if _, body = f.do("POST", "/v1/signals", f.sensor, batch); !strings.Contains(string(body), `"duplicates":2`) || !strings.Contains(string(body), `"decisions":0`) {
		t.Fatalf("retry: %s", body)
	}
	// An agent waits for a change from version 0 ...
	type result struct {
		code    int
		body    []byte
		version string
	}
	done := make(chan result, 1)
	go func() {
		resp, body := f.do("GET", "/v1/blocklist/changes?since=0&wait=20s", f.agent, nil, api.HeaderAgentVersion, "0")
		done <- result{resp.StatusCode, body, resp.Header.Get(api.HeaderVersion)}
	}()
	time.Sleep(50 * time.Millisecond) // let the poll start waiting (the test passes either way)
	// ... and the third signal bans the source.
	batch.Signals = []api.Signal{sshSignal("m:3", "203.0.113.7", t0.Add(2*time.Second)), sshSignal("m:4", "10.40.0.5", t0)}
	if _, body = f.do("POST", "/v1/signals", f.sensor, batch); !strings.Contains(string(body), `"decisions":1`) {
		t.Fatalf("third signal: %s", body)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the long poll did not return after the ban")
	}
	if r.code != 200 || r.version != "1" {
		t.Fatalf("changes: %d v%s %s", r.code, r.version, r.body)
	}
	d, err := f.pub.VerifyDelta(r.body)
	if err != nil || len(d.Added) != 1 || d.Added[0].Prefix != netip.MustParsePrefix("203.0.113.7/32") || !d.Added[0].Expires.Equal(t0.Add(2*time.Second+time.Hour)) {
		t.Fatalf("delta = %+v, %v", d, err)
	}
	// The full list, signed; then 304 with its ETag.
	resp, body = f.do("GET", "/v1/blocklist?format=txt", f.agent, nil)
	l, err := f.pub.VerifyList(body)
	if err != nil || l.Version != 1 || len(l.Entries) != 1 {
		t.Fatalf("list = %+v, %v", l, err)
	}
	if resp2, _ := f.do("GET", "/v1/blocklist?format=txt", f.agent, nil, "If-None-Match", resp.Header.Get("ETag")); resp2.StatusCode != 304 {
		t.Errorf("If-None-Match: %d, want 304", resp2.StatusCode)
	}
	// JSON carries a signature over the same list.
	_, body = f.do("GET", "/v1/blocklist?format=json", f.agent, nil)
	if !strings.Contains(string(body), `"prefix":"203.0.113.7/32"`) || !strings.Contains(string(body), `"key_id":"`+f.pub.ID()+`"`) {
		t.Errorf("json = %s", body)
	}
	// The decision says why; deleting it makes version 2 without it.
	_, body = f.do("GET", "/v1/admin/decisions?ip=203.0.113.7", f.admin, nil)
	var ds []api.Decision
	if json.Unmarshal(body, &ds) != nil || len(ds) != 1 || ds[0].Origin != "policy" || ds[0].Rule != "ssh" || ds[0].Why["alerts"] != float64(3) {
		t.Fatalf("decisions = %s", body)
	}
	if resp, _ := f.do("DELETE", fmt.Sprintf("/v1/admin/decisions/%d", ds[0].ID), f.admin, nil); resp.StatusCode != 204 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	resp, body = f.do("GET", "/v1/blocklist/changes?since=1&wait=0s", f.agent, nil)
	d, err = f.pub.VerifyDelta(body)
	if err != nil || d.To != 2 || len(d.Removed) != 1 {
		t.Fatalf("delta after delete: %d %+v %v", resp.StatusCode, d, err)
	}
	// Nothing new: 304 right away with wait=0; a future version: 409.
	if resp, _ := f.do("GET", "/v1/blocklist/changes?since=2&wait=0s", f.agent, nil); resp.StatusCode != 304 {
		t.Errorf("no change: %d", resp.StatusCode)
	}
	if resp, _ := f.do("GET", "/v1/blocklist/changes?since=7", f.agent, nil); resp.StatusCode != 409 {
		t.Errorf("future version: %d", resp.StatusCode)
	}
	// The agent that polled with X-Rampart-Applied is known.
	_, body = f.do("GET", "/v1/admin/agents", f.admin, nil)
	if !strings.Contains(string(body), `"name":"agent1"`) {
		t.Errorf("agents = %s", body)
	}
}

// A restarted server remembers bans and windows: no second decision for
// signals that arrived before the restart.
func TestRestartKeepsState(t *testing.T) {
	f := newFixture(t)
	t0 := f.clock()
	f.do("POST", "/v1/signals", f.sensor, api.SignalBatch{Signals: []api.Signal{sshSignal("a", "198.51.100.1", t0), sshSignal("b", "198.51.100.1", t0.Add(time.Second))}})
	opts := f.srv.opts
	opts.Registry = nil // a new process has a new registry
	srv2, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	f.http.Config.Handler = srv2.Handler()
	_, body := f.do("POST", "/v1/signals", f.sensor, api.SignalBatch{Signals: []api.Signal{sshSignal("c", "198.51.100.1", t0.Add(2*time.Second))}})
	if !strings.Contains(string(body), `"decisions":1`) {
		t.Errorf("the window did not survive the restart: %s", body)
	}
	srv3, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	f.http.Config.Handler = srv3.Handler()
	_, body = f.do("POST", "/v1/signals", f.sensor, api.SignalBatch{Signals: []api.Signal{sshSignal("d", "198.51.100.1", t0.Add(3*time.Second)), sshSignal("e", "198.51.100.1", t0.Add(4*time.Second)), sshSignal("f", "198.51.100.1", t0.Add(5*time.Second))}})
	if !strings.Contains(string(body), `"decisions":0`) {
		t.Errorf("banned again during an active ban after a restart: %s", body)
	}
}
