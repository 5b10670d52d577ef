package web_test

import (
	"context"
	"crypto/ed25519"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/abuse"
	"github.com/rampart-ids/rampart/internal/abuse/lookup"
	"github.com/rampart-ids/rampart/internal/alertdb"
	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/analytics/cadence"
	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/blocklist"
	"github.com/rampart-ids/rampart/internal/ipclass"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/policy"
	"github.com/rampart-ids/rampart/internal/sample"
	"github.com/rampart-ids/rampart/internal/server"
	"github.com/rampart-ids/rampart/internal/serverdb"
	"github.com/rampart-ids/rampart/internal/web"
)

// Attacker-controlled text planted in every field the UI shows: alert
// logs, the location (agent name), the rule description, the user name,
// the abuse contact a registry returned, a draft's text. Each would run a
// script if a page did not escape it.
const (
	xssScript = `<script>alert("rampart-xss-1")</script>`
	xssImg    = `"><img src=x onerror=alert("rampart-xss-2")>`
	xssJSURL  = `javascript:alert("rampart-xss-3")`
	xssSVG    = `</pre><svg onload=alert("rampart-xss-4")>`
	xssAttr   = `' onmouseover='alert("rampart-xss-5")`
)

var hostile = []string{xssScript, xssImg, xssJSURL, xssSVG, xssAttr}

// hostileAddr is the attacker whose alerts carry the hostile text.
var hostileAddr = netip.MustParseAddr("203.0.113.66")

// hostileAlerts is how many alerts hostileAddr has.
const hostileAlerts = 30

// fixture is a store filled by package sample (5,000 alerts over 14 days
// with its planted traps) plus hostileAddr's alerts, a cached abuse
// contact and a draft with hostile text.
type fixture struct {
	store   *alertdb.Store
	truth   *sample.Truth
	total   int64
	inScope func(netip.Addr) bool
	// busiest is the busiest source in scope.
	busiest netip.Addr
	draftID int64
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := alertdb.Open(ctx, filepath.Join(t.TempDir(), "rampart.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w, err := st.NewWriter(ctx, "sample")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	g := sample.Generate(sample.DefaultConfig())
	n := 0
	for a := range g.All() {
		if err := w.Add(a); err != nil {
			t.Fatal(err)
		}
		n++
	}
	truth := g.Truth()
	start := sample.DefaultConfig().Start
	for i := range hostileAlerts {
		tm := start.Add(3*24*time.Hour + time.Duration(i)*7*time.Minute)
		a := ossec.Alert{
			ID: ossec.ID{Epoch: tm.Unix(), Seq: 900 + int64(i)}, Time: tm,
			RuleID: 5712, Level: 10, Description: "SSHD brute force " + xssAttr + xssScript, Groups: []string{"syslog", "sshd"},
			SrcIP: hostileAddr, SrcPort: 4242, User: xssJSURL,
			Location: ossec.ParseLocation("(web" + xssSVG + ") 10.40.0.11->/var/log/auth.log"),
			Log: []string{
				"Oct  4 00:00:00 web sshd[1]: Failed password for invalid user " + xssJSURL + " from 203.0.113.66 port 4242 ssh2",
				"GET /" + xssScript + " HTTP/1.1 " + xssImg,
				xssSVG + " " + xssAttr,
			},
		}
		if err := w.Add(&a); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(alertdb.Checkpoint{Offset: int64(n + hostileAlerts), Line: n + hostileAlerts}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	c := abuse.Contact{Addr: hostileAddr, Emails: []string{"abuse@example.net"}, NetName: "EVIL-NET" + xssImg, Org: "Evil " + xssScript,
		Country: "ZZ", Registry: "APNIC", Source: "rdap", Fetched: start}
	if err := st.PutAbuseContact(ctx, c, []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}, time.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	ids, err := st.CreateAbuseDrafts(ctx, []alertdb.AbuseDraft{{
		Created: start, Emails: []string{"abuse@example.net"}, Addrs: []netip.Addr{hostileAddr},
		Subject: "Abuse from 203.0.113.66 " + xssScript,
		Text:    "Dear abuse team,\n\n" + strings.Join(hostile, "\n") + "\n\nRegards\n",
		XARF:    []byte("[]"), ARF: []byte(""), Evidence: []byte("{}"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	cls, err := ipclass.New(sample.LocalNetworks())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := truth.Sources[hostileAddr]; ok {
		t.Fatalf("the sample has %s: choose another hostile address", hostileAddr)
	}
	f := &fixture{store: st, truth: truth, total: truth.Total + hostileAlerts, inScope: cls.InScope(ipclass.Internet), draftID: ids[0]}
	var best *sample.SourceTruth
	for _, s := range truth.Sources {
		if f.inScope(s.Addr) && (best == nil || s.Count > best.Count || s.Count == best.Count && s.Addr.Less(best.Addr)) {
			best = s
		}
	}
	f.busiest = best.Addr
	return f
}

// analyzer is cadence's stock policy (level ≥ 6 blocks for 600 s), with
// detail for the histogram.
func analyzer() *cadence.Analyzer {
	o := cadence.DefaultOptions()
	o.Detail = true
	return cadence.New(cadence.StockPolicy(0), o)
}

// returners600 are the planted returners that meet a 600 s block.
func (f *fixture) returners600() []netip.Addr {
	var out []netip.Addr
	for _, s := range f.truth.Sources {
		if s.Kind == sample.Returner && s.Block == 600*time.Second {
			out = append(out, s.Addr)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// fakeLookup answers every address with a hostile registry answer.
type fakeLookup struct{}

func (fakeLookup) Resolve(_ context.Context, addr netip.Addr) (lookup.Result, error) {
	return lookup.Result{Contact: abuse.Contact{Addr: addr, Emails: []string{"abuse@" + xssImg + ".example"}, Source: "rdap"}}, nil
}

// env is the central server with the UI mounted, over a fixture.
type env struct {
	f      *fixture
	db     *serverdb.DB
	srv    *server.Server
	http   *httptest.Server
	secret string // an admin token
	agent  string // an agent token
	base   string // the UI's URL
}

func newEnv(t testing.TB, f *fixture, o web.Options) *env {
	t.Helper()
	ctx := context.Background()
	db, err := serverdb.Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	signer, err := blocklist.NewSigner(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	secret, digest := server.NewToken()
	if _, err := db.CreateToken(ctx, "alice", api.RoleAdmin, digest, time.Now()); err != nil {
		t.Fatal(err)
	}
	// A policy decision (its reason hostile too) makes list version v1;
	// agent fe01 has applied it, fe02 is still at v0.
	v0, _, err := db.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, v1, err := db.AddDecisions(ctx, []api.Decision{{Value: netip.MustParsePrefix("192.0.2.99/32"), Action: "ban", Origin: "policy",
		Rule: "ssh", Reason: "5 alerts in 10m " + xssImg, Expires: time.Now().Add(time.Hour)}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	agentSecret, agentDigest := server.NewToken()
	for i, name := range []string{"fe01", "fe02"} {
		d, applied := agentDigest, v1
		if i == 1 {
			_, d = server.NewToken()
			applied = v0
		}
		tok, err := db.CreateToken(ctx, name, api.RoleAgent, d, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SeeAgent(ctx, tok.ID, name, applied, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := server.New(ctx, server.Options{DB: db, Signer: signer, Policy: policy.Default(),
		Never: sample.LocalNetworks(), Management: []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}})
	if err != nil {
		t.Fatal(err)
	}
	if f != nil {
		o.Alerts, o.Hits, o.Contacts, o.Drafts = f.store, f.store, f.store, f.store
		o.Analyzer, o.InScope = analyzer(), f.inScope
		o.ReturnersWait = 30 * time.Second
	}
	if err := srv.MountUI(o); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &env{f: f, db: db, srv: srv, http: hs, secret: secret, agent: agentSecret, base: hs.URL + server.UIPrefix}
}

// client is a browser-like HTTP client: a cookie jar, no automatic
// redirects (tests follow them where they mean to).
func client(t testing.TB) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// formToken returns the CSRF token of the first form in a page.
func formToken(t testing.TB, body string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field in:\n%s", body)
	}
	return m[1]
}

// wantTop returns the sources in scope by count, as the overview orders
// them.
func (f *fixture) wantTop() []analytics.SourceCount {
	var out []analytics.SourceCount
	for _, s := range f.truth.Sources {
		out = append(out, analytics.SourceCount{Addr: s.Addr, Count: s.Count})
	}
	out = append(out, analytics.SourceCount{Addr: hostileAddr, Count: hostileAlerts})
	return analytics.Finish(out, analytics.Selection{InScope: f.inScope})
}

func urlJoin(base, rel string) string {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	r, err := url.Parse(rel)
	if err != nil {
		panic(err)
	}
	return u.ResolveReference(r).String()
}
