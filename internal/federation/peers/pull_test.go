package peers

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/blocklist"
	"github.com/rampart-ids/rampart/internal/federation"
)

func signer(t testing.TB, seed byte) *blocklist.Signer {
	t.Helper()
	s, err := blocklist.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func pfx(s string) netip.Prefix {
	if !strings.Contains(s, "/") {
		a := netip.MustParseAddr(s)
		return netip.PrefixFrom(a, a.BitLen())
	}
	return netip.MustParsePrefix(s)
}

// fakePeer serves /v1/federation/feed like a Rampart server: full feeds,
// deltas between versions it made, long polls, 409 for unknown versions.
type fakePeer struct {
	t      testing.TB
	signer *blocklist.Signer
	token  string
	srv    *httptest.Server

	mu       sync.Mutex
	version  uint64
	history  map[uint64]map[netip.Prefix]federation.FeedEntry
	changed  chan struct{}
	requests int
	// tamper, when set, rewrites every answer after signing.
	tamper func([]byte) []byte
}

func newFakePeer(t testing.TB, seed byte) *fakePeer {
	f := &fakePeer{t: t, signer: signer(t, seed), token: "rpt_peer" + strconv.Itoa(int(seed)), version: 100,
		history: map[uint64]map[netip.Prefix]federation.FeedEntry{100: {}}, changed: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// set publishes a new version with entries.
func (f *fakePeer) set(entries ...federation.FeedEntry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := map[netip.Prefix]federation.FeedEntry{}
	for _, e := range entries {
		m[e.Prefix] = e
	}
	f.version++
	f.history[f.version] = m
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakePeer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		http.Error(w, `{"error":"missing or invalid token"}`, http.StatusUnauthorized)
		return
	}
	since, _ := strconv.ParseUint(r.URL.Query().Get("since"), 10, 64)
	wait, _ := time.ParseDuration(r.URL.Query().Get("wait"))
	f.mu.Lock()
	f.requests++
	cur, ch := f.version, f.changed
	f.mu.Unlock()
	if since == cur {
		select {
		case <-ch:
		case <-time.After(wait):
		case <-r.Context().Done():
			return
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cur = f.version
	now := time.Now().UTC()
	var body []byte
	var err error
	switch _, known := f.history[since]; {
	case since == 0:
		var es []federation.FeedEntry
		for _, e := range f.history[cur] {
			es = append(es, e)
		}
		body, err = federation.SignFeed(f.signer, federation.Feed{Version: cur, Generated: now, Entries: es})
	case since == cur:
		w.WriteHeader(http.StatusNotModified)
		return
	case !known:
		http.Error(w, `{"error":"full feed needed"}`, http.StatusConflict)
		return
	default:
		d := federation.FeedDelta{From: since, To: cur, Generated: now}
		old, neu := f.history[since], f.history[cur]
		for p, e := range neu {
			if o, ok := old[p]; !ok || !o.Equal(e) {
				d.Changed = append(d.Changed, e)
			}
		}
		for p := range old {
			if _, ok := neu[p]; !ok {
				d.Withdrawn = append(d.Withdrawn, p)
			}
		}
		body, err = federation.SignFeedDelta(f.signer, d)
	}
	if err != nil {
		f.t.Errorf("fake peer: %v", err)
		http.Error(w, "internal", 500)
		return
	}
	if f.tamper != nil {
		body = f.tamper(body)
	}
	w.Write(body)
}

func (f *fakePeer) peer(name string, trust float64) Peer {
	return Peer{Name: name, URL: f.srv.URL, Key: f.signer.Public(), Token: f.token, Trust: trust, Wait: 2 * time.Second}
}

// memStore is the decision store in memory.
type memStore struct {
	mu   sync.Mutex
	next int64
	all  []api.Decision
	byID map[int64]int // index in all
}

func (m *memStore) FederationDecisions(_ context.Context, now time.Time) ([]api.Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []api.Decision
	for _, d := range m.all {
		if d.Origin == "federation" && d.Deleted.IsZero() && (d.Expires.IsZero() || d.Expires.After(now)) {
			out = append(out, d)
		}
	}
	return out, nil
}

func (m *memStore) AddDecisions(_ context.Context, ds []api.Decision, now time.Time) ([]api.Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byID == nil {
		m.byID = map[int64]int{}
	}
	var out []api.Decision
	for _, d := range ds {
		m.next++
		d.ID, d.Created = m.next, now
		m.byID[d.ID] = len(m.all)
		m.all = append(m.all, d)
		out = append(out, d)
	}
	return out, nil
}

func (m *memStore) DeleteDecision(_ context.Context, id int64, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i, ok := m.byID[id]; ok && m.all[i].Deleted.IsZero() {
		m.all[i].Deleted = now
	}
	return nil
}

// active returns the prefixes with an active federation ban, sorted.
func (m *memStore) active() []string {
	ds, _ := m.FederationDecisions(context.Background(), time.Now())
	var out []string
	for _, d := range ds {
		if !slices.Contains(out, d.Value.String()) {
			out = append(out, d.Value.String())
		}
	}
	slices.Sort(out)
	return out
}

func (m *memStore) decision(p string) (api.Decision, bool) {
	ds, _ := m.FederationDecisions(context.Background(), time.Now())
	for _, d := range ds {
		if d.Value == pfx(p) {
			return d, true
		}
	}
	return api.Decision{}, false
}

type harness struct {
	t      *testing.T
	store  *memStore
	puller *Puller
	reg    *prometheus.Registry
	done   chan error
}

// run starts a puller over cfg (rules get test defaults) until the test
// ends.
func run(t *testing.T, cfg Config) *harness {
	t.Helper()
	return runWith(t, cfg, nil)
}

// runWith is run with a Suspect callback.
func runWith(t *testing.T, cfg Config, suspect func(netip.Prefix, time.Time, string)) *harness {
	t.Helper()
	def := Default()
	if cfg.Rules.Threshold == 0 {
		cfg.Rules = def.Rules
	}
	if cfg.Action == "" {
		cfg.Action = ActionBan
	}
	h := &harness{t: t, store: &memStore{}, reg: prometheus.NewRegistry(), done: make(chan error, 1)}
	var err error
	h.puller, err = New(Options{Config: cfg, Store: h.store, Registry: h.reg, Sweep: 50 * time.Millisecond,
		Never: []netip.Prefix{pfx("10.0.0.0/8"), pfx("192.0.2.0/24")}, Suspect: suspect})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { h.done <- h.puller.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-h.done; err != nil {
			t.Errorf("puller: %v", err)
		}
	})
	return h
}

// eventually polls cond every 10 ms for up to 5 s.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: not within 5 s; status %+v; decisions %+v", what, h.puller.Status(), h.store.active())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) status(name string) api.PeerStatus {
	for _, s := range h.puller.Status().Peers {
		if s.Name == name {
			return s
		}
	}
	h.t.Fatalf("no status for %s", name)
	return api.PeerStatus{}
}

func ban(p string, alerts int) federation.FeedEntry {
	now := time.Now().UTC()
	e := federation.FeedEntry{Prefix: pfx(p), Banned: true, Expires: now.Add(time.Hour)}
	if alerts > 0 {
		e.Alerts, e.Levels, e.Groups, e.First, e.Last = alerts, federation.Levels{5: alerts}, map[string]int{"sshd": alerts}, now.Add(-time.Minute), now
	}
	return e
}

// The scenario: seen at A and B, banned here, with provenance;
// withdrawn by B, lifted here.
func TestTwoSitesBanAndLift(t *testing.T) {
	a, b := newFakePeer(t, 1), newFakePeer(t, 2)
	a.set(ban("203.0.113.7", 12))
	h := run(t, Config{Peers: []Peer{a.peer("site-a", 0.6), b.peer("site-b", 0.6)}})
	h.eventually("site-a loaded", func() bool { return h.status("site-a").Entries == 1 })
	time.Sleep(100 * time.Millisecond)
	if got := h.store.active(); len(got) != 0 {
		t.Fatalf("one site at trust 0.6 caused bans: %v", got)
	}
	b.set(ban("203.0.113.7", 30))
	h.eventually("ban from A and B", func() bool { return len(h.store.active()) == 1 })
	d, _ := h.store.decision("203.0.113.7")
	peers, _ := d.Why["peers"].([]WhyPeer)
	if d.Origin != "federation" || len(peers) != 2 || peers[0].Peer != "site-a" || peers[1].Alerts != 30 || peers[1].MaxLevel != 5 ||
		!strings.Contains(d.Reason, "site-a (ban, 12 alerts), site-b (ban, 30 alerts)") || !strings.Contains(d.Reason, "from 2 peers") {
		t.Errorf("decision without provenance: %+v", d)
	}
	b.set()
	h.eventually("lift after B withdrew", func() bool { return len(h.store.active()) == 0 })
	if st := h.status("site-b"); st.Version != b.version || st.Errors != 0 || st.Silent || st.LagSeconds < 0 {
		t.Errorf("site-b status: %+v", st)
	}
	if m := metricText(t, h.reg); !strings.Contains(m, `rampart_federation_decisions_total{action="lift"} 1`) {
		t.Errorf("lifts not counted:\n%s", m)
	}
}

func TestBadSignatureRefused(t *testing.T) {
	a, b := newFakePeer(t, 1), newFakePeer(t, 2)
	a.set(ban("203.0.113.7", 0))
	b.set(ban("198.51.100.9", 0))
	evil := b.peer("site-b", 0.6)
	evil.Key = signer(t, 9).Public() // we pinned another key than b signs with
	h := run(t, Config{Peers: []Peer{a.peer("site-a", 0.6), evil}})
	h.eventually("refusal reported", func() bool { return h.status("site-b").Errors > 0 })
	st := h.status("site-b")
	if !strings.Contains(st.LastError, "signature") || st.Entries != 0 || st.Version != 0 {
		t.Errorf("site-b status after a bad signature: %+v", st)
	}
	// A good feed from a, then a tampered delta: nothing of it applies.
	a.mu.Lock()
	a.tamper = func(b []byte) []byte { return bytes.Replace(b, []byte("203.0.113.8"), []byte("203.0.113.9"), 1) }
	a.mu.Unlock()
	a.set(ban("203.0.113.7", 0), ban("203.0.113.8", 0))
	h.eventually("tampered delta refused", func() bool { return strings.Contains(h.status("site-a").LastError, "signature") })
	if st := h.status("site-a"); st.Entries != 1 {
		t.Errorf("a tampered delta was half-applied: %+v", st)
	}
	if got := h.store.active(); len(got) != 0 {
		t.Errorf("bans from refused feeds: %v", got)
	}
	if m := metricText(t, h.reg); strings.Contains(m, `action="ban"`) {
		t.Errorf("bans counted:\n%s", m)
	}
	if !strings.Contains(metricText(t, h.reg), `rampart_federation_peer_up{kind="site",peer="site-b"} 0`) {
		t.Errorf("metrics do not show site-b down:\n%s", metricText(t, h.reg))
	}
}

func TestSilentPeerAgesOut(t *testing.T) {
	a, b := newFakePeer(t, 1), newFakePeer(t, 2)
	a.set(ban("203.0.113.7", 0))
	b.set(ban("203.0.113.7", 0))
	cfg := Config{Rules: Default().Rules, Peers: []Peer{a.peer("site-a", 0.6), b.peer("site-b", 0.6)}}
	cfg.Rules.SilentAfter = 700 * time.Millisecond
	cfg.Peers[0].Wait, cfg.Peers[1].Wait = 200*time.Millisecond, 200*time.Millisecond
	h := run(t, cfg)
	h.eventually("ban from A and B", func() bool { return len(h.store.active()) == 1 })
	// B falls silent: its server stops answering.
	b.srv.CloseClientConnections()
	b.srv.Close()
	start := time.Now()
	h.eventually("B's contribution expired", func() bool { return len(h.store.active()) == 0 })
	if el := time.Since(start); el < 400*time.Millisecond {
		t.Errorf("lifted after %s, before B was silent for 700 ms", el)
	}
	if st := h.status("site-b"); !st.Silent || st.Errors == 0 {
		t.Errorf("site-b status: %+v", st)
	}
	if st := h.status("site-a"); st.Silent {
		t.Errorf("site-a silent: %+v", st)
	}
}

func TestMaliciousPeerCannotBanNeverOrWide(t *testing.T) {
	evil, b := newFakePeer(t, 1), newFakePeer(t, 2)
	bad := []federation.FeedEntry{ban("10.1.2.3", 0), ban("192.0.2.0/25", 0), ban("0.0.0.0/0", 0), ban("11.0.0.0/8", 0),
		ban("203.0.0.0/16", 0), ban("2001:db8::/32", 0)}
	evil.set(append(bad, ban("203.0.113.7", 0))...)
	b.set(bad...)
	ep := evil.peer("evil", 1)
	ep.Alone = true
	h := run(t, Config{Peers: []Peer{ep, b.peer("site-b", 1)}})
	h.eventually("feeds loaded", func() bool {
		return h.status("evil").LastOK.After(time.Time{}) && h.status("site-b").LastOK.After(time.Time{})
	})
	h.eventually("the one legitimate ban", func() bool { return len(h.store.active()) == 1 })
	time.Sleep(150 * time.Millisecond)
	if got := h.store.active(); !slices.Equal(got, []string{"203.0.113.7/32"}) {
		t.Errorf("bans: %v", got)
	}
	if st := h.status("evil"); st.Refused != 6 || st.Entries != 1 {
		t.Errorf("evil status: %+v", st)
	}
}

func TestListsLoadWithBadLines(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain.txt")
	os.WriteFile(file, []byte("# ours\n203.0.113.7\nnot-an-address\n198.51.100.0/24\n10.9.9.9\n203.0.113.300\n"), 0o644)
	var fetches int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fetches++
		mu.Unlock()
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		fmt.Fprint(w, "; Spamhaus DROP\n203.0.113.0/24 ; SBL1\n198.51.100.0/24 ; SBL2\n1.2.3.4/33 ; SBL3\n")
	}))
	t.Cleanup(srv.Close)
	cfg := Config{Lists: []List{
		{Name: "ours", File: file, Format: federation.FormatPlain, Trust: 0.5, Expiry: time.Hour, Interval: 50 * time.Millisecond},
		{Name: "drop", URL: srv.URL + "/drop.txt", Format: federation.FormatSpamhaus, Trust: 0.5, Expiry: time.Hour, Interval: 50 * time.Millisecond},
	}}
	h := run(t, cfg)
	h.eventually("lists loaded", func() bool { return h.status("ours").Entries == 2 && h.status("drop").Entries == 2 })
	st := h.status("ours")
	if st.BadLines != 2 || len(st.Problems) != 2 || st.Refused != 1 ||
		st.Problems[0] != file+`:3: not an address or prefix: "not-an-address"` {
		t.Errorf("ours: %+v", st)
	}
	if st := h.status("drop"); st.BadLines != 1 || !strings.Contains(st.Problems[0], "/drop.txt:4:") {
		t.Errorf("drop: %+v", st)
	}
	// 198.51.100.0/24 is on both lists: 0.5 + 0.5 from two peers.
	h.eventually("ban from two lists", func() bool { return slices.Equal(h.store.active(), []string{"198.51.100.0/24"}) })
	// Unchanged answers (304, same file) keep the lists alive.
	h.eventually("re-fetches", func() bool { mu.Lock(); defer mu.Unlock(); return fetches >= 3 })
	if st := h.status("drop"); st.Entries != 2 || st.Errors != 0 {
		t.Errorf("drop after re-fetches: %+v", st)
	}
}

func TestWatchOnly(t *testing.T) {
	a, b := newFakePeer(t, 1), newFakePeer(t, 2)
	a.set(ban("203.0.113.7", 0))
	b.set(ban("203.0.113.7", 0))
	h := run(t, Config{Action: ActionWatch, Peers: []Peer{a.peer("site-a", 0.6), b.peer("site-b", 0.6)}})
	h.eventually("watched", func() bool { return h.puller.Status().Watched == 1 })
	if got := h.store.active(); len(got) != 0 {
		t.Errorf("watch-only banned: %v", got)
	}
}

// The feed action makes no ban of its own: it hands the verdict to the local
// policy as a suspicion, renewed while the verdict holds and ended with it.
func TestFeedAction(t *testing.T) {
	a, b := newFakePeer(t, 1), newFakePeer(t, 2)
	a.set(ban("203.0.113.7", 0))
	b.set(ban("203.0.113.7", 0))
	var mu sync.Mutex
	suspects := map[netip.Prefix]time.Time{}
	h := runWith(t, Config{Action: ActionFeed, Peers: []Peer{a.peer("site-a", 0.6), b.peer("site-b", 0.6)}},
		func(p netip.Prefix, until time.Time, why string) {
			mu.Lock()
			defer mu.Unlock()
			if until.IsZero() {
				delete(suspects, p)
				return
			}
			suspects[p] = until
		})
	suspected := func() bool {
		mu.Lock()
		defer mu.Unlock()
		_, ok := suspects[pfx("203.0.113.7")]
		return ok
	}
	h.eventually("suspected", suspected)
	if got := h.store.active(); len(got) != 0 {
		t.Errorf("the feed action banned by itself: %v", got)
	}
	b.set()
	h.eventually("suspicion ended after B withdrew", func() bool { return !suspected() })
}

func TestAdminDeletionRespected(t *testing.T) {
	a, b := newFakePeer(t, 1), newFakePeer(t, 2)
	a.set(ban("203.0.113.7", 0))
	b.set(ban("203.0.113.7", 0))
	h := run(t, Config{Peers: []Peer{a.peer("site-a", 0.6), b.peer("site-b", 0.6)}})
	h.eventually("ban", func() bool { return len(h.store.active()) == 1 })
	d, _ := h.store.decision("203.0.113.7")
	h.store.DeleteDecision(context.Background(), d.ID, time.Now())
	time.Sleep(300 * time.Millisecond) // several sweeps
	if got := h.store.active(); len(got) != 0 {
		t.Errorf("an admin's unban was overridden: %v", got)
	}
}

func metricText(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			fmt.Fprintf(&b, "%s{%s} %g\n", mf.GetName(), strings.Join(labels, ","), v)
		}
	}
	return b.String()
}
