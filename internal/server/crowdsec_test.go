package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/api"
)

// csDecision is a decision as a bouncer decodes it (models.Decision).
type csDecision struct {
	Duration string `json:"duration"`
	ID       int64  `json:"id"`
	Origin   string `json:"origin"`
	Scenario string `json:"scenario"`
	Scope    string `json:"scope"`
	Type     string `json:"type"`
	UUID     string `json:"uuid"`
	Value    string `json:"value"`
}

type csStream struct {
	New     []csDecision `json:"new"`
	Deleted []csDecision `json:"deleted"`
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

// stream is one GET of the stream path with an API key, decoded strictly:
// both arrays present, never null.
func (f *fixture) stream(key, query string) csStream {
	f.t.Helper()
	resp, body := f.do("GET", "/v1/decisions/stream"+query, "", nil, csHeaderKey, key)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		f.t.Fatalf("stream%s: %d %s %s", query, resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil || len(raw) != 2 || raw["new"][0] != '[' || raw["deleted"][0] != '[' {
		f.t.Fatalf("stream%s: want {\"new\":[...],\"deleted\":[...]}, got %s (%v)", query, body, err)
	}
	var s csStream
	if err := json.Unmarshal(body, &s); err != nil {
		f.t.Fatal(err)
	}
	return s
}

// bouncer plays a stream bouncer as go-cs-bouncer's StreamBouncer drives it
// and as the firewall bouncer applies each answer. The client asks
// startup=true once, then every tick without the parameter (its options
// struct drops a false startup, "omitempty"); with scopes configured it
// sends them joined by commas, encoded by go-querystring. Each answer:
// deletes by value first, then adds, keeping the longest duration per
// value; an element times out by itself.
type bouncer struct {
	f       *fixture
	key     string
	scopes  []string
	started bool
	// banned maps a value to when its element times out.
	banned map[string]time.Time
}

func newBouncer(f *fixture, key string, scopes ...string) *bouncer {
	return &bouncer{f: f, key: key, scopes: scopes, banned: map[string]time.Time{}}
}

func (b *bouncer) tick() csStream {
	b.f.t.Helper()
	q := url.Values{}
	if len(b.scopes) > 0 {
		q.Set("scopes", strings.Join(b.scopes, ","))
	}
	if !b.started {
		q.Set("startup", "true")
	}
	query := ""
	if len(q) > 0 {
		query = "?" + q.Encode()
	}
	s := b.f.stream(b.key, query)
	b.started = true
	now := b.f.clock()
	for _, d := range s.Deleted {
		delete(b.banned, d.Value)
	}
	add := map[string]time.Time{}
	for _, d := range s.New {
		dur, err := time.ParseDuration(d.Duration)
		if err != nil {
			b.f.t.Fatalf("duration %q: %v", d.Duration, err)
		}
		if until := now.Add(dur); until.After(add[d.Value]) {
			add[d.Value] = until
		}
	}
	for v, until := range add {
		b.banned[v] = until
	}
	for v, until := range b.banned {
		if !until.After(now) {
			delete(b.banned, v)
		}
	}
	return s
}

// forever stands for the timeout of a permanent ban (announced with
// csPermanent, so ending years after whenever it was announced).
var forever = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// holds is what the bouncer's firewall holds now: elements time out by
// themselves between ticks.
func (b *bouncer) holds() map[string]time.Time {
	now := b.f.clock()
	out := map[string]time.Time{}
	for v, until := range b.banned {
		switch {
		case !until.After(now):
		case until.After(now.Add(csPermanent - 365*24*time.Hour)):
			out[v] = forever
		default:
			out[v] = until
		}
	}
	return out
}

// want is what a bouncer should hold now: every value with a ban in force,
// timing out when its longest ban ends.
func (f *fixture) want() map[string]time.Time {
	f.t.Helper()
	_, body := f.do("GET", "/v1/admin/decisions?active=true&limit=100000", f.admin, nil)
	var ds []api.Decision
	if err := json.Unmarshal(body, &ds); err != nil {
		f.t.Fatal(err)
	}
	out := map[string]time.Time{}
	for _, d := range ds {
		v := d.Value.String()
		if d.Value.IsSingleIP() {
			v = d.Value.Addr().String()
		}
		until := d.Expires
		if until.IsZero() {
			until = forever
		}
		if until.After(out[v]) {
			out[v] = until
		}
	}
	return out
}

func (f *fixture) ban(value, duration string) api.Decision {
	f.t.Helper()
	req := api.DecisionRequest{Value: value, Duration: duration, Reason: "test"}
	if duration == "" {
		req.Permanent = true
	}
	resp, body := f.do("POST", "/v1/admin/decisions", f.admin, req)
	var d api.Decision
	if resp.StatusCode != 201 || json.Unmarshal(body, &d) != nil {
		f.t.Fatalf("ban %s: %d %s", value, resp.StatusCode, body)
	}
	return d
}

func (f *fixture) unban(id int64) {
	f.t.Helper()
	if resp, body := f.do("DELETE", fmt.Sprintf("/v1/admin/decisions/%d", id), f.admin, nil); resp.StatusCode != 204 {
		f.t.Fatalf("unban %d: %d %s", id, resp.StatusCode, body)
	}
}

// newAgentToken makes another agent token (a second bouncer's key).
func (f *fixture) newAgentToken(name string) string {
	f.t.Helper()
	resp, body := f.do("POST", "/v1/admin/tokens", f.admin, api.TokenRequest{Role: api.RoleAgent, Name: name})
	var tok api.Token
	if resp.StatusCode != 201 || json.Unmarshal(body, &tok) != nil {
		f.t.Fatalf("token: %d %s", resp.StatusCode, body)
	}
	return tok.Secret
}

func values(ds []csDecision) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.Value)
	}
	slices.Sort(out)
	return out
}

func TestCrowdSecAuth(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/v1/decisions/stream?startup=true", "/v1/decisions?ip=192.0.2.1"} {
		for _, tt := range []struct {
			name, method string
			hdr          []string
			want         int
		}{
			{"no key", "GET", nil, 403},
			{"wrong key", "GET", []string{csHeaderKey, "rpt_wrong"}, 403},
			{"sensor key", "GET", []string{csHeaderKey, f.sensor}, 403},
			{"agent token as bearer", "GET", []string{"Authorization", "Bearer " + f.agent}, 403},
			{"HEAD, no key", "HEAD", nil, 403},
			{"agent key", "GET", []string{csHeaderKey, f.agent}, 200},
			{"admin key", "GET", []string{csHeaderKey, f.admin}, 200},
			{"HEAD, agent key", "HEAD", []string{csHeaderKey, f.agent}, 200},
		} {
			resp, body := f.do(tt.method, path, "", nil, tt.hdr...)
			if resp.StatusCode != tt.want {
				t.Errorf("%s %s, %s: %d %s, want %d", tt.method, path, tt.name, resp.StatusCode, body, tt.want)
			}
			if tt.want == 403 && tt.method == "GET" && string(body) != `{"message":"access forbidden"}`+"\n" {
				t.Errorf("%s %s, %s: body %q, want the Local API's", tt.method, path, tt.name, body)
			}
			if tt.method == "HEAD" && len(body) != 0 {
				t.Errorf("HEAD %s: body %q", path, body)
			}
		}
	}
}

// TestCrowdSecBouncerLifecycle drives two bouncers through startup,
// deltas, expiry, manual deletion and de-duplication, and checks after
// every tick that each holds exactly the bans in force, each timing out
// when its longest ban ends.
func TestCrowdSecBouncerLifecycle(t *testing.T) {
	f := newFixture(t)
	t0 := f.clock()
	manual := f.ban("203.0.113.7", "4h")
	rng := f.ban("198.51.100.0/24", "1h")
	perm := f.ban("2001:db8::1", "")
	batch := api.SignalBatch{Sensor: "mgr", Signals: []api.Signal{
		sshSignal("m:1", "203.0.113.9", t0), sshSignal("m:2", "203.0.113.9", t0), sshSignal("m:3", "203.0.113.9", t0)}}
	if _, body := f.do("POST", "/v1/signals", f.sensor, batch); !strings.Contains(string(body), `"decisions":1`) {
		t.Fatalf("signals: %s", body)
	}
	a := newBouncer(f, f.agent)
	b := newBouncer(f, f.newAgentToken("fe02"), "ip", "range")
	// Decisions made less than csPullSlack before a pull come again in
	// the next delta (never lost, sometimes sent twice): start later.
	f.advance(5 * time.Second)
	check := func(step string, bs ...*bouncer) {
		t.Helper()
		want := f.want()
		for i, bc := range bs {
			if diff := cmp.Diff(want, bc.holds()); diff != "" {
				t.Errorf("%s: bouncer %d holds (-want +got):\n%s", step, i, diff)
			}
		}
	}

	// Startup: everything in force, in the Local API's shape.
	_, raw := f.do("GET", "/v1/decisions/stream?startup=true", "", nil, csHeaderKey, a.key)
	wantRaw := fmt.Sprintf(`{"duration":"4h0m0s","id":%d,"origin":"rampart","scenario":"rampart/manual","scope":"Ip","type":"ban","uuid":"72616d70-6172-8074-8000-%012x","value":"203.0.113.7"}`, manual.ID, manual.ID)
	wantRaw = strings.Replace(wantRaw, "4h0m0s", "3h59m55s", 1)
	if !strings.Contains(string(raw), wantRaw) || !strings.HasSuffix(string(raw), `],"deleted":[]}`+"\n") {
		t.Errorf("startup answer %s\nwant it to hold %s and no deletions", raw, wantRaw)
	}
	s := a.tick()
	if got, want := values(s.New), []string{"198.51.100.0/24", "2001:db8::1", "203.0.113.7", "203.0.113.9"}; !slices.Equal(got, want) {
		t.Fatalf("startup new = %v, want %v", got, want)
	}
	for _, d := range s.New {
		switch d.Value {
		case "198.51.100.0/24":
			if d.Scope != "Range" || d.Duration != "59m55s" || d.ID != rng.ID {
				t.Errorf("range = %+v", d)
			}
		case "2001:db8::1":
			if d.Scope != "Ip" || d.Duration != "87600h0m0s" || d.ID != perm.ID {
				t.Errorf("permanent = %+v", d)
			}
		case "203.0.113.9":
			if d.Scenario != "rampart/ssh" || d.Origin != "rampart" || d.Type != "ban" {
				t.Errorf("policy ban = %+v", d)
			}
		}
	}
	b.tick()
	check("startup", a, b)

	// Nothing changed: both arrays empty.
	f.advance(10 * time.Second)
	if s := a.tick(); len(s.New)+len(s.Deleted) != 0 {
		t.Errorf("quiet tick = %+v", s)
	}

	// A new ban reaches the next tick once; its expiry shows in deleted
	// with a negative duration.
	f.advance(10 * time.Second)
	x := f.ban("203.0.113.20", "25s")
	f.advance(10 * time.Second)
	if s := a.tick(); len(s.New) != 1 || s.New[0].Value != "203.0.113.20" || s.New[0].Duration != "15s" || len(s.Deleted) != 0 {
		t.Errorf("tick after a ban = %+v", s)
	}
	check("after a ban", a)
	f.advance(10 * time.Second)
	if s := a.tick(); len(s.New)+len(s.Deleted) != 0 {
		t.Errorf("second tick after a ban = %+v", s)
	}
	f.advance(10 * time.Second)
	if s := a.tick(); len(s.New) != 0 || len(s.Deleted) != 1 || s.Deleted[0].ID != x.ID || s.Deleted[0].Duration != "-5s" {
		t.Errorf("tick after expiry = %+v", s)
	}
	check("after expiry", a)

	// A ban made just before a pull is sent by it and, within the
	// slack, by the next one too.
	f.advance(9 * time.Second)
	y := f.ban("203.0.113.21", "1h")
	f.advance(time.Second)
	if s := a.tick(); len(s.New) != 1 || s.New[0].ID != y.ID {
		t.Errorf("tick a second after a ban = %+v", s)
	}
	f.advance(10 * time.Second)
	if s := a.tick(); len(s.New) != 1 || s.New[0].ID != y.ID {
		t.Errorf("next tick = %+v, want the ban again", s)
	}
	f.advance(10 * time.Second)
	if s := a.tick(); len(s.New) != 0 {
		t.Errorf("third tick = %+v", s)
	}
	f.unban(y.ID)
	f.advance(10 * time.Second)
	if s := a.tick(); len(s.Deleted) != 1 || s.Deleted[0].ID != y.ID {
		t.Errorf("tick after unban = %+v", s)
	}
	check("after a ban and unban", a)

	// HEAD answers without a body and moves nothing: the manual
	// deletion still reaches the next GET.
	f.unban(rng.ID)
	f.advance(3 * time.Second)
	if resp, body := f.do("HEAD", "/v1/decisions/stream?startup=false", "", nil, csHeaderKey, a.key); resp.StatusCode != 200 || len(body) != 0 {
		t.Errorf("HEAD: %d %q", resp.StatusCode, body)
	}
	f.advance(7 * time.Second)
	if s := a.tick(); len(s.New) != 0 || len(s.Deleted) != 1 || s.Deleted[0].Value != "198.51.100.0/24" || s.Deleted[0].Duration != "-10s" {
		t.Errorf("tick after a deletion = %+v", s)
	}
	check("after a deletion", a)

	// De-duplication: a shorter ban on a banned value is not news; a
	// longer one is, once.
	f.ban("203.0.113.7", "2h")
	f.advance(10 * time.Second)
	if s := a.tick(); len(s.New)+len(s.Deleted) != 0 {
		t.Errorf("tick after a shorter ban = %+v", s)
	}
	long := f.ban("203.0.113.7", "8h")
	f.advance(10 * time.Second)
	if s := a.tick(); len(s.New) != 1 || s.New[0].ID != long.ID || s.New[0].Duration != "7h59m50s" {
		t.Errorf("tick after a longer ban = %+v", s)
	}
	check("after a longer ban", a)
	// Deleting the longest ban announces the 4 h one again, so that the
	// bouncer's element times out with it rather than after 8 h.
	f.unban(long.ID)
	f.advance(10 * time.Second)
	s = a.tick()
	if len(s.New) != 1 || s.New[0].ID != manual.ID || len(s.Deleted) != 0 {
		t.Errorf("tick after deleting the longest ban = %+v", s)
	}
	check("after deleting the longest ban", a)

	// The second key kept its own state: one tick catches up on all.
	f.advance(10 * time.Second)
	s = b.tick()
	if got, want := values(s.Deleted), []string{"198.51.100.0/24", "203.0.113.20", "203.0.113.21"}; !slices.Equal(got, want) {
		t.Errorf("second bouncer's deleted = %v, want %v", got, want)
	}
	check("second bouncer's catch-up", a, b)

	// A bouncer starting now learns of the bans deleted before their
	// expiry (its firewall may still hold them), not of those that
	// expired (timed out there by themselves); once their expiry has
	// passed, of none.
	c := newBouncer(f, f.newAgentToken("fe03"))
	if s := c.tick(); !slices.Equal(values(s.Deleted), []string{"198.51.100.0/24", "203.0.113.21"}) {
		t.Errorf("late startup deleted = %v", values(s.Deleted))
	}
	check("late startup", c)
	f.advance(8 * 24 * time.Hour)
	d := newBouncer(f, f.newAgentToken("fe04"))
	if s := d.tick(); len(s.Deleted) != 0 {
		t.Errorf("startup a week on: deleted %v", values(s.Deleted))
	}
	a.tick()
	b.tick()
	check("a week on", a, b, c, d)
}

func TestCrowdSecStreamFilters(t *testing.T) {
	f := newFixture(t)
	f.ban("203.0.113.7", "4h")
	f.ban("203.0.113.7", "1h")
	f.ban("198.51.100.0/24", "1h")
	t0 := f.clock()
	batch := api.SignalBatch{Sensor: "mgr", Signals: []api.Signal{
		sshSignal("m:1", "203.0.113.9", t0), sshSignal("m:2", "203.0.113.9", t0), sshSignal("m:3", "203.0.113.9", t0)}}
	f.do("POST", "/v1/signals", f.sensor, batch)
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"", []string{"198.51.100.0/24", "203.0.113.7", "203.0.113.9"}},
		{"&scopes=ip", []string{"203.0.113.7", "203.0.113.9"}},
		{"&scopes=Range", []string{"198.51.100.0/24"}},
		{"&scopes=IP,RANGE", []string{"198.51.100.0/24", "203.0.113.7", "203.0.113.9"}},
		{"&scopes=country", []string{}},
		{"&origins=crowdsec,cscli", []string{}},
		{"&origins=cscli,Rampart", []string{"198.51.100.0/24", "203.0.113.7", "203.0.113.9"}},
		{"&scenarios_containing=SSH", []string{"203.0.113.9"}},
		{"&scenarios_not_containing=ssh", []string{"198.51.100.0/24", "203.0.113.7"}},
		{"&scenarios_containing=ssh,manual&scopes=ip", []string{"203.0.113.7", "203.0.113.9"}},
		{"&dedup=false", []string{"198.51.100.0/24", "203.0.113.7", "203.0.113.7", "203.0.113.9"}},
	} {
		s := f.stream(f.agent, "?startup=true"+tt.query)
		if got := values(s.New); !slices.Equal(got, tt.want) {
			t.Errorf("startup%s: new %v, want %v", tt.query, got, tt.want)
		}
	}
	// De-duplicated, the 4 h ban wins.
	for _, d := range f.stream(f.agent, "?startup=true&scopes=ip").New {
		if d.Value == "203.0.113.7" && d.Duration != "4h0m0s" {
			t.Errorf("dedup kept %+v", d)
		}
	}
}

func TestCrowdSecLive(t *testing.T) {
	f := newFixture(t)
	long := f.ban("203.0.113.7", "4h")
	short := f.ban("203.0.113.7", "1h")
	rng := f.ban("198.51.100.0/24", "1h")
	v6 := f.ban("2001:db8:1::/48", "1h")
	gone := f.ban("203.0.113.8", "1h")
	f.unban(gone.ID)
	for _, tt := range []struct {
		query string
		want  []int64 // nil: the literal null
	}{
		{"ip=203.0.113.7", []int64{long.ID, short.ID}},
		{"ip=198.51.100.77", []int64{rng.ID}},
		{"ip=::ffff:198.51.100.77", []int64{rng.ID}},
		{"ip=2001:db8:1:2::9", []int64{v6.ID}},
		{"ip=203.0.113.8", nil},
		{"ip=192.0.2.1", nil},
		{"range=198.51.100.0/25", []int64{rng.ID}},
		{"range=198.51.0.0/16", nil},
		{"range=198.51.0.0/16&contains=false", []int64{rng.ID}},
		{"range=203.0.113.0/24&contains=false", []int64{long.ID, short.ID}},
		{"ip=203.0.113.7&type=captcha", nil},
		{"ip=203.0.113.7&type=ban", []int64{long.ID, short.ID}},
		{"ip=198.51.100.77&scope=ip", nil},
		{"value=198.51.100.0/24", []int64{rng.ID}},
		{"value=203.0.113.7&scopes=range", nil},
	} {
		resp, body := f.do("GET", "/v1/decisions?"+tt.query, "", nil, csHeaderKey, f.agent)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s", tt.query, resp.StatusCode, body)
			continue
		}
		if tt.want == nil {
			if string(body) != "null\n" {
				t.Errorf("%s: %s, want null", tt.query, body)
			}
			continue
		}
		var ds []csDecision
		if err := json.Unmarshal(body, &ds); err != nil {
			t.Fatalf("%s: %s: %v", tt.query, body, err)
		}
		var ids []int64
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
		slices.Sort(ids)
		if !slices.Equal(ids, tt.want) {
			t.Errorf("%s: ids %v, want %v (%s)", tt.query, ids, tt.want, body)
		}
	}
	for _, q := range []string{"ip=300.1.2.3", "range=198.51.100.0/33", "contains=maybe"} {
		resp, body := f.do("GET", "/v1/decisions?"+q, "", nil, csHeaderKey, f.agent)
		var m map[string]string
		if resp.StatusCode != 400 || json.Unmarshal(body, &m) != nil || m["message"] == "" {
			t.Errorf("%s: %d %s, want 400 with a message", q, resp.StatusCode, body)
		}
	}
	// Live queries leave the key's stream state alone.
	f.advance(5 * time.Second)
	a := newBouncer(f, f.agent)
	a.tick()
	f.advance(10 * time.Second)
	x := f.ban("203.0.113.30", "1h")
	f.advance(90 * time.Second)
	if resp, _ := f.do("GET", "/v1/decisions?ip=203.0.113.30", "", nil, csHeaderKey, f.agent); resp.StatusCode != 200 {
		t.Fatalf("live: %d", resp.StatusCode)
	}
	if s := a.tick(); len(s.New) != 1 || s.New[0].ID != x.ID {
		t.Errorf("delta after a live query = %+v", s)
	}
}

// failingWriter breaks after a number of bytes, like a connection that
// drops.
type failingWriter struct {
	header http.Header
	left   int
}

func (w *failingWriter) Header() http.Header { return w.header }
func (w *failingWriter) WriteHeader(int)     {}
func (w *failingWriter) Write(b []byte) (int, error) {
	if len(b) > w.left {
		return 0, errors.New("connection reset")
	}
	w.left -= len(b)
	return len(b), nil
}

// A pull that breaks off aborts the response (the client sees an error,
// not a short list that looks whole) and leaves the key's state alone.
func TestCrowdSecBrokenPull(t *testing.T) {
	f := newFixture(t)
	ds := make([]api.Decision, 2000)
	for i := range ds {
		ds[i] = api.Decision{Value: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 32), Origin: "manual", Reason: "load", Expires: f.clock().Add(time.Hour)}
	}
	if _, _, err := f.srv.db.AddDecisions(t.Context(), ds, f.clock()); err != nil {
		t.Fatal(err)
	}
	tok, err := f.srv.db.TokenByHash(t.Context(), Digest(f.agent))
	if err != nil {
		t.Fatal(err)
	}
	for _, query := range []string{"?startup=true", "?startup=false"} {
		req := httptest.NewRequestWithContext(t.Context(), "GET", "/v1/decisions/stream"+query, nil)
		req.Header.Set(csHeaderKey, f.agent)
		aborted := func() (aborted bool) {
			defer func() { aborted = recover() == http.ErrAbortHandler }()
			f.srv.Handler().ServeHTTP(&failingWriter{header: http.Header{}, left: 50 << 10}, req)
			return false
		}()
		if !aborted {
			t.Errorf("%s: a broken pull did not abort the response", query)
		}
		// httptest requests come from 192.0.2.1.
		if last, err := f.srv.db.LastPull(t.Context(), tok.ID, "192.0.2.1"); err != nil || !last.IsZero() {
			t.Errorf("%s: LastPull = %v, %v after a broken pull", query, last, err)
		}
	}
	// Through a real connection the client sees an error.
	f.do("GET", "/v1/decisions/stream?startup=true", "", nil, csHeaderKey, f.agent) // the whole list works
	if last, _ := f.srv.db.LastPull(t.Context(), tok.ID, "127.0.0.1"); !last.Equal(f.clock()) {
		t.Errorf("LastPull after a whole pull = %v, want %v", last, f.clock())
	}
}

// discard is a ResponseWriter that counts and drops the body.
type discard struct {
	header http.Header
	n      int
}

func (w *discard) Header() http.Header         { return w.header }
func (w *discard) WriteHeader(int)             {}
func (w *discard) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

// More decisions than a database page (10,000 rows): every value comes
// once, the longest of its decisions, whichever page its decisions fell in.
func TestCrowdSecStartupPages(t *testing.T) {
	f := newFixture(t)
	now := f.clock()
	const n = 10100
	ds := make([]api.Decision, 0, n+n/100)
	for i := range n {
		v := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 32)
		ds = append(ds, api.Decision{Value: v, Origin: "manual", Reason: "load", Expires: now.Add(time.Hour)})
	}
	// Every hundredth value gets a second, longer ban, stored (by id)
	// far from the first.
	for i := 0; i < n; i += 100 {
		ds = append(ds, api.Decision{Value: ds[i].Value, Origin: "manual", Reason: "longer", Expires: now.Add(2 * time.Hour)})
	}
	if _, _, err := f.srv.db.AddDecisions(t.Context(), ds, now); err != nil {
		t.Fatal(err)
	}
	f.advance(5 * time.Second)
	s := f.stream(f.agent, "?startup=true")
	seen := map[string]bool{}
	for _, d := range s.New {
		if seen[d.Value] {
			t.Fatalf("%s twice", d.Value)
		}
		seen[d.Value] = true
		a := netip.MustParseAddr(d.Value).As4()
		i := int(a[2])<<8 | int(a[3])
		if want := map[bool]string{true: "1h59m55s", false: "59m55s"}[i%100 == 0]; d.Duration != want {
			t.Errorf("%s: duration %s, want %s", d.Value, d.Duration, want)
		}
	}
	if len(seen) != n || len(s.Deleted) != 0 {
		t.Errorf("startup: %d values, %d deleted; want %d and none", len(seen), len(s.Deleted), n)
	}
}

// Two bouncers on two hosts sharing one key keep their own delta state: a
// pull by one never takes a new decision away from the other's next delta
// (CrowdSec's shared-key failure).
func TestCrowdSecSharedKey(t *testing.T) {
	f := newFixture(t)
	pull := func(client, query string) csStream {
		t.Helper()
		req := httptest.NewRequestWithContext(t.Context(), "GET", "/v1/decisions/stream"+query, nil)
		req.RemoteAddr = client + ":40000"
		req.Header.Set(csHeaderKey, f.agent)
		rec := httptest.NewRecorder()
		f.srv.Handler().ServeHTTP(rec, req)
		var s csStream
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &s) != nil {
			t.Fatalf("pull from %s: %d %s", client, rec.Code, rec.Body)
		}
		return s
	}
	pull("192.0.2.10", "?startup=true")
	pull("192.0.2.11", "?startup=true")
	f.advance(10 * time.Second)
	f.ban("203.0.113.7", "1h")
	f.advance(10 * time.Second)
	if got := values(pull("192.0.2.10", "").New); len(got) != 1 || got[0] != "203.0.113.7" {
		t.Fatalf("first host's delta: %v", got)
	}
	if got := values(pull("192.0.2.11", "").New); len(got) != 1 || got[0] != "203.0.113.7" {
		t.Errorf("second host's delta after the first host pulled: %v, want the ban too", got)
	}
}
