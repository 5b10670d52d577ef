package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/federation"
	"github.com/rampart-ids/rampart/internal/federation/peers"
)

// fedToken creates a token of role named name and returns its secret.
func fedToken(t *testing.T, f *fixture, role, name string) string {
	t.Helper()
	secret, digest := NewToken()
	if _, err := f.srv.db.CreateToken(t.Context(), name, role, digest, f.clock()); err != nil {
		t.Fatal(err)
	}
	return secret
}

// fedConfig sets a site's peers file without peers (the feed's side).
func fedConfig(t *testing.T, f *fixture, cfg peers.Config) {
	t.Helper()
	if err := f.srv.Federate(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
}

// fedShare shares scope with the peer whose token is named name, without
// pulling anyone.
func fedShare(f *fixture, name string, scope federation.Scope) {
	cfg := peers.Default()
	cfg.Peers = []peers.Peer{{Name: name, Scope: scope}}
	f.srv.fed.mu.Lock()
	f.srv.fed.cfg = cfg
	f.srv.fed.mu.Unlock()
}

func fedStep(f *fixture, d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func TestFeedContents(t *testing.T) {
	f := newFixture(t)
	cfg := peers.Default()
	cfg.Feed.MinAlerts = 4
	cfg.Peers = []peers.Peer{{Name: "site-b", Scope: federation.ScopeSummaries}, {Name: "site-c"}} // c: nothing shared
	// Federate with peers would pull them: set the feed's config only.
	f.srv.fed.mu.Lock()
	f.srv.fed.cfg = cfg
	f.srv.fed.mu.Unlock()
	t0 := f.clock()

	// A policy ban (3 ssh alerts), a busy source without a ban (5 alerts),
	// a quiet one (1 alert), and a local address with many alerts.
	var sigs []api.Signal
	for i := range 3 {
		s := sshSignal(fmt.Sprintf("p%d", i), "203.0.113.7", t0.Add(time.Duration(i)*time.Second))
		s.Agent = "web1.internal.example"
		sigs = append(sigs, s)
	}
	for i := range 5 {
		s := sshSignal(fmt.Sprintf("b%d", i), "198.51.100.20", t0)
		s.Level, s.Groups = 3, []string{"web", "accesslog"}
		sigs = append(sigs, s)
	}
	sigs = append(sigs, sshSignal("q", "198.51.100.30", t0))
	for i := range 6 {
		sigs = append(sigs, sshSignal(fmt.Sprintf("l%d", i), "10.1.2.3", t0))
	}
	if resp, body := f.do("POST", "/v1/signals", f.sensor, api.SignalBatch{Sensor: "mgr.internal.example", Signals: sigs}); resp.StatusCode != 200 {
		t.Fatalf("signals: %d %s", resp.StatusCode, body)
	}
	// A manual ban, a forced ban in the management network, and bans of
	// origin federation and list: the last three never leave the site.
	f.do("POST", "/v1/admin/decisions", f.admin, api.DecisionRequest{Value: "2001:db8:bad::/48", Permanent: true, Reason: "manual"})
	f.do("POST", "/v1/admin/decisions", f.admin, api.DecisionRequest{Value: "192.0.2.9", Duration: "1h", Reason: "forced", Force: true})
	if _, _, err := f.srv.db.AddDecisions(t.Context(), []api.Decision{
		{Value: netip.MustParsePrefix("203.0.113.99/32"), Origin: "federation", Reason: "peers", Expires: t0.Add(time.Hour)},
		{Value: netip.MustParsePrefix("203.0.113.98/32"), Origin: "list", Reason: "drop", Expires: t0.Add(time.Hour)},
	}, t0); err != nil {
		t.Fatal(err)
	}

	siteB := fedToken(t, f, api.RoleAgent, "site-b")
	siteC := fedToken(t, f, api.RoleAgent, "site-c")
	resp, body := f.do("GET", "/v1/federation/feed", siteB, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("feed: %d %s", resp.StatusCode, body)
	}
	feed, err := federation.VerifyFeed(f.pub, body)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range feed.Entries {
		got = append(got, e.Prefix.String())
	}
	if want := "198.51.100.20/32 203.0.113.7/32 2001:db8:bad::/48"; strings.Join(got, " ") != want {
		t.Errorf("feed prefixes %v, want %s", got, want)
	}
	e := feed.Entries[1]
	if !e.Banned || !e.Expires.Equal(t0.Add(2*time.Second+time.Hour)) || e.Alerts != 3 || e.Levels[5] != 3 || e.Groups["sshd"] != 3 ||
		!e.First.Equal(t0) || !e.Last.Equal(t0.Add(2*time.Second)) {
		t.Errorf("banned entry: %+v", e)
	}
	if e := feed.Entries[0]; e.Banned || e.Alerts != 5 || e.Groups["web"] != 5 {
		t.Errorf("busy entry: %+v", e)
	}
	if e := feed.Entries[2]; !e.Banned || !e.Expires.IsZero() {
		t.Errorf("permanent entry: %+v", e)
	}
	for _, secret := range []string{"web1", "mgr", "internal.example", "Failed password", "manual", "10.1.2.3", "192.0.2.9"} {
		if strings.Contains(string(body), secret) {
			t.Errorf("the feed leaks %q:\n%s", secret, body)
		}
	}
	if resp.Header.Get(api.HeaderVersion) != fmt.Sprint(feed.Version) || feed.Version < uint64(t0.UnixMicro()) {
		t.Errorf("version header %s, feed version %d", resp.Header.Get(api.HeaderVersion), feed.Version)
	}

	// An agent token that is no peer sees decisions only; site-c nothing.
	_, body = f.do("GET", "/v1/federation/feed", f.agent, nil)
	dfeed, err := federation.VerifyFeed(f.pub, body)
	if err != nil || len(dfeed.Entries) != 2 || dfeed.Entries[0].Alerts != 0 || dfeed.Version != feed.Version {
		t.Errorf("decisions scope: %+v %v", dfeed, err)
	}
	if resp, body := f.do("GET", "/v1/federation/feed", siteC, nil); resp.StatusCode != 403 || !strings.Contains(string(body), "shares nothing") {
		t.Errorf("site-c: %d %s", resp.StatusCode, body)
	}
	for _, tok := range []string{"", f.sensor} {
		if resp, _ := f.do("GET", "/v1/federation/feed", tok, nil); resp.StatusCode != 401 && resp.StatusCode != 403 {
			t.Errorf("feed with %.8q: %d", tok, resp.StatusCode)
		}
	}
}

func TestFeedDeltasAndLongPoll(t *testing.T) {
	f := newFixture(t)
	fedConfig(t, f, peers.Default())
	_, body := f.do("GET", "/v1/federation/feed", f.admin, nil)
	feed, err := federation.VerifyFeed(f.pub, body)
	if err != nil || len(feed.Entries) != 0 {
		t.Fatalf("empty feed: %+v %v", feed, err)
	}
	v0 := feed.Version
	// Nothing changes: 304 after the wait.
	resp, _ := f.do("GET", fmt.Sprintf("/v1/federation/feed?since=%d&wait=100ms", v0), f.admin, nil)
	if resp.StatusCode != 304 {
		t.Fatalf("unchanged: %d", resp.StatusCode)
	}
	// A ban wakes a waiting poll at once.
	type result struct {
		code int
		body []byte
		took time.Duration
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		resp, body := f.do("GET", fmt.Sprintf("/v1/federation/feed?since=%d&wait=20s", v0), f.admin, nil)
		done <- result{resp.StatusCode, body, time.Since(start)}
	}()
	time.Sleep(50 * time.Millisecond)
	fedStep(f, time.Second)
	if resp, body := f.do("POST", "/v1/admin/decisions", f.admin, api.DecisionRequest{Value: "203.0.113.50", Duration: "1h", Reason: "x"}); resp.StatusCode != 201 {
		t.Fatalf("ban: %d %s", resp.StatusCode, body)
	}
	r := <-done
	if r.code != 200 || r.took > 5*time.Second {
		t.Fatalf("long poll: %d after %s: %s", r.code, r.took, r.body)
	}
	d, err := federation.VerifyFeedDelta(f.pub, r.body)
	if err != nil || d.From != v0 || len(d.Changed) != 1 || d.Changed[0].Prefix != netip.MustParsePrefix("203.0.113.50/32") || len(d.Withdrawn) != 0 {
		t.Fatalf("delta: %+v %v", d, err)
	}
	t.Logf("ban → feed delta in %s", r.took)
	// The unban is withdrawn in the next delta.
	var ds []api.Decision
	_, body = f.do("GET", "/v1/admin/decisions?ip=203.0.113.50", f.admin, nil)
	json.Unmarshal(body, &ds)
	fedStep(f, time.Second)
	f.do("DELETE", fmt.Sprintf("/v1/admin/decisions/%d", ds[0].ID), f.admin, nil)
	_, body = f.do("GET", fmt.Sprintf("/v1/federation/feed?since=%d&wait=5s", d.To), f.admin, nil)
	d2, err := federation.VerifyFeedDelta(f.pub, body)
	if err != nil || len(d2.Withdrawn) != 1 || len(d2.Changed) != 0 {
		t.Fatalf("withdrawal: %+v %v", d2, err)
	}
	// From the first version: the net change (nothing), still a delta.
	_, body = f.do("GET", fmt.Sprintf("/v1/federation/feed?since=%d&wait=0s", v0), f.admin, nil)
	if d3, err := federation.VerifyFeedDelta(f.pub, body); err != nil || d3.To != d2.To || len(d3.Changed) != 0 {
		t.Errorf("net delta: %+v %v", d3, err)
	}
	// Versions it never made: 409.
	for _, since := range []uint64{v0 + 1, d2.To + 5} {
		if resp, _ := f.do("GET", fmt.Sprintf("/v1/federation/feed?since=%d&wait=0s", since), f.admin, nil); resp.StatusCode != 409 {
			t.Errorf("since %d: %d, want 409", since, resp.StatusCode)
		}
	}
	if resp, _ := f.do("GET", "/v1/federation/feed?since=x", f.admin, nil); resp.StatusCode != 400 {
		t.Errorf("bad since: %d", resp.StatusCode)
	}
}

// Three servers in one process: A and B ban a source through their own
// policy, C pulls both and bans it with provenance; the admin API shows
// the peers' state.
func TestThreeSitesInProcess(t *testing.T) {
	a, b, c := newFixture(t), newFixture(t), newFixture(t)
	t0 := a.clock()
	ban := func(f *fixture, src string) {
		var sigs []api.Signal
		for i := range 3 {
			sigs = append(sigs, sshSignal(fmt.Sprintf("%s-%d", src, i), src, t0.Add(time.Duration(i)*time.Second)))
		}
		if _, body := f.do("POST", "/v1/signals", f.sensor, api.SignalBatch{Signals: sigs}); !strings.Contains(string(body), `"decisions":1`) {
			t.Fatalf("policy ban: %s", body)
		}
	}
	ban(a, "203.0.113.7")
	fedShare(a, "site-c", federation.ScopeSummaries)
	fedShare(b, "site-c", federation.ScopeSummaries)
	cfg := peers.Default()
	cfg.Rules.SilentAfter = time.Hour
	for _, site := range []struct {
		name string
		f    *fixture
	}{{"site-a", a}, {"site-b", b}} {
		cfg.Peers = append(cfg.Peers, peers.Peer{Name: site.name, URL: site.f.http.URL, Key: site.f.pub,
			Token: fedToken(t, site.f, api.RoleAgent, "site-c"), Trust: 0.6, Wait: 2 * time.Second})
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.srv.Federate(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	status := func() api.FederationStatus {
		_, body := c.do("GET", "/v1/admin/peers", c.admin, nil)
		var st api.FederationStatus
		if err := json.Unmarshal(body, &st); err != nil {
			t.Fatalf("peers status: %v: %s", err, body)
		}
		return st
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 5 s: %+v", what, status())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	wait("feeds pulled", func() bool {
		st := status()
		return len(st.Peers) == 2 && st.Peers[0].Entries == 1 && !st.Peers[1].LastOK.IsZero()
	})
	if _, body := c.do("GET", "/v1/blocklist?format=txt", c.agent, nil); strings.Contains(string(body), "203.0.113.7") {
		t.Fatalf("C banned on A's word alone:\n%s", body)
	}
	start := time.Now()
	ban(b, "203.0.113.7")
	wait("C bans", func() bool {
		_, body := c.do("GET", "/v1/blocklist?format=txt", c.agent, nil)
		return strings.Contains(string(body), "\n203.0.113.7 # expires")
	})
	t.Logf("ban at B → in C's list in %s", time.Since(start))
	_, body := c.do("GET", "/v1/admin/decisions?ip=203.0.113.7", c.admin, nil)
	var ds []api.Decision
	if json.Unmarshal(body, &ds) != nil || len(ds) != 1 || ds[0].Origin != "federation" || !strings.Contains(ds[0].Reason, "site-a (ban, 3 alerts), site-b (ban, 3 alerts)") {
		t.Fatalf("C's decision: %s", body)
	}
	// C's own feed does not echo the federation ban.
	_, body = c.do("GET", "/v1/federation/feed", c.admin, nil)
	if strings.Contains(string(body), "203.0.113.7") {
		t.Errorf("C echoes a federation ban:\n%s", body)
	}
	st := status()
	if !st.Enabled || st.Bans != 1 || st.Peers[0].Name != "site-a" || st.Peers[0].Version == 0 || st.Peers[0].Errors != 0 || st.FeedVersion == 0 {
		t.Errorf("status: %+v", st)
	}
	if resp, _ := c.do("GET", "/v1/admin/peers", c.agent, nil); resp.StatusCode != 403 {
		t.Errorf("peers status with an agent token: %d", resp.StatusCode)
	}
	_, metrics := c.do("GET", "/metrics", "", nil)
	for _, want := range []string{`rampart_federation_peer_up{kind="site",peer="site-a"} 1`, `rampart_federation_bans 1`, `rampart_federation_decisions_total{action="ban"} 1`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	// B lifts its ban: C lifts its own.
	_, body = b.do("GET", "/v1/admin/decisions?ip=203.0.113.7", b.admin, nil)
	json.Unmarshal(body, &ds)
	b.do("DELETE", fmt.Sprintf("/v1/admin/decisions/%d", ds[0].ID), b.admin, nil)
	wait("C lifts", func() bool {
		_, body := c.do("GET", "/v1/blocklist?format=txt", c.agent, nil)
		return !strings.Contains(string(body), "203.0.113.7")
	})
}
