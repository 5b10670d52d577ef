package web_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/serverdb"
	"github.com/rampart-ids/rampart/internal/web"
)

func get(t testing.TB, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func post(t testing.TB, c *http.Client, u string, form url.Values, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// signIn signs c in with secret through the form and returns the
// session's CSRF token.
func (e *env) signIn(t testing.TB, c *http.Client, secret string) string {
	t.Helper()
	_, body := get(t, c, e.base+"signin")
	resp, body := post(t, c, e.base+"signin", url.Values{"token": {secret}, "csrf": {formToken(t, body)}, "next": {e.base[len(e.http.URL):]}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: status %d, want 303:\n%s", resp.StatusCode, body)
	}
	_, body = get(t, c, e.base)
	return formToken(t, body)
}

// sharedDir holds what TestMain removes at the end.
var sharedDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rampart-web-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sharedDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sharedFixture is built once for the tests that only read it: filling
// the store takes a while.
var sharedFixture = sync.OnceValue(func() *fixture { return newFixture(&onceTB{}) })

// onceTB lets newFixture run outside a test, in sharedDir; it panics on
// failure, which fails the test that asked first.
type onceTB struct{ testing.TB }

func (*onceTB) Helper() {}
func (*onceTB) TempDir() string {
	d, err := os.MkdirTemp(sharedDir, "fixture-")
	if err != nil {
		panic(err)
	}
	return d
}
func (*onceTB) Cleanup(func())            {}
func (*onceTB) Fatal(args ...any)         { panic(fmt.Sprint(args...)) }
func (*onceTB) Fatalf(f string, a ...any) { panic(fmt.Sprintf(f, a...)) }

func sha256Of(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, nil, web.Options{})
	c := client(t)
	for _, path := range []string{"", "signin", "static/style.css", "no/such/page", "ip/1.2.3.4"} {
		resp, _ := get(t, c, e.base+path)
		h := resp.Header
		for k, want := range map[string]string{
			"Content-Security-Policy": "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"X-Frame-Options":         "DENY",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", path, k, got, want)
			}
		}
	}
}

func TestSignIn(t *testing.T) {
	e := newEnv(t, nil, web.Options{})
	c := client(t)
	// Pages need a session.
	resp, _ := get(t, c, e.base+"decisions?show=all")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/ui/signin?next="+url.QueryEscape("/ui/decisions?show=all") {
		t.Fatalf("signed out: status %d, Location %q", resp.StatusCode, loc)
	}
	_, form := get(t, c, e.base+"signin")
	tok := formToken(t, form)
	if wrong := flipLast(tok); wrong == tok {
		t.Fatal("flipLast changed nothing")
	}
	tests := []struct {
		name   string
		form   url.Values
		hdr    []string
		status int
	}{
		{"wrong token", url.Values{"token": {"rpt_nope"}, "csrf": {tok}}, nil, http.StatusUnauthorized},
		{"agent token", url.Values{"token": {e.agent}, "csrf": {tok}}, nil, http.StatusUnauthorized},
		{"no form token", url.Values{"token": {e.secret}}, nil, http.StatusForbidden},
		{"wrong form token", url.Values{"token": {e.secret}, "csrf": {flipLast(tok)}}, nil, http.StatusForbidden},
		{"cross-site", url.Values{"token": {e.secret}, "csrf": {tok}}, []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"other origin", url.Values{"token": {e.secret}, "csrf": {tok}}, []string{"Origin", "http://evil.example"}, http.StatusForbidden},
		{"bearer header is not a sign-in", url.Values{"csrf": {tok}}, []string{"Authorization", "Bearer " + e.secret}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		resp, body := post(t, c, e.base+"signin", tt.form, tt.hdr...)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.status)
		}
		if strings.Contains(body, e.secret) {
			t.Errorf("%s: the page repeats the token", tt.name)
		}
	}
	// The API's bearer token does not open the UI.
	req, _ := http.NewRequest(http.MethodGet, e.base, nil)
	req.Header.Set("Authorization", "Bearer "+e.secret)
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("UI with a bearer token: %v %v, want a redirect to sign-in", resp.StatusCode, err)
	}
	resp, _ = post(t, c, e.base+"signin", url.Values{"token": {e.secret}, "csrf": {tok}, "next": {"//evil.example/x"}}, "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("sign-in with an off-site next: status %d, Location %q; want 303 to /ui/", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "rampart_ui" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/ui/" || session.Secure {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/ui/, not Secure over plain HTTP", session)
	}
	// The session cookie does not open the API.
	resp, _ = get(t, c, e.http.URL+"/v1/admin/decisions")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API with the UI's cookie: status %d, want 401", resp.StatusCode)
	}
	// Sign-out ends the session.
	_, body := get(t, c, e.base)
	csrf := formToken(t, body)
	resp, _ = post(t, c, e.base+"signout", url.Values{"csrf": {csrf}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: status %d", resp.StatusCode)
	}
	c.Jar.SetCookies(mustURL(e.base), []*http.Cookie{session})
	if resp, _ := get(t, c, e.base); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after sign-out the old cookie still works: status %d", resp.StatusCode)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, nil, web.Options{})
	c := client(t)
	csrf := e.signIn(t, c, e.secret)
	ban := url.Values{"value": {"192.0.2.7"}, "duration": {"1h"}, "reason": {"test"}}
	tests := []struct {
		name string
		csrf string
		hdr  []string
	}{
		{"no token", "", nil},
		{"wrong token", flipLast(csrf), nil},
		{"cross-site", csrf, []string{"Sec-Fetch-Site", "cross-site"}},
		{"other origin", csrf, []string{"Origin", "https://evil.example"}},
	}
	for _, tt := range tests {
		form := url.Values{}
		for k, v := range ban {
			form[k] = v
		}
		if tt.csrf != "" {
			form.Set("csrf", tt.csrf)
		}
		resp, _ := post(t, c, e.base+"decisions", form, tt.hdr...)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", tt.name, resp.StatusCode)
		}
	}
	ds, err := e.db.Decisions(t.Context(), serverdb.DecisionFilter{Contains: netip.MustParseAddr("192.0.2.7")})
	if err != nil || len(ds) != 0 {
		t.Fatalf("refused posts made decisions: %v %v", ds, err)
	}
	// Signed out, a post is refused too.
	resp, _ := post(t, client(t), e.base+"decisions", ban)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("signed out: status %d, want 403", resp.StatusCode)
	}
	// With the token it works.
	form := url.Values{"csrf": {csrf}, "back": {"/ui/decisions"}}
	for k, v := range ban {
		form[k] = v
	}
	resp, _ = post(t, c, e.base+"decisions", form, "Sec-Fetch-Site", "same-origin")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("ban: status %d", resp.StatusCode)
	}
	_, body := get(t, c, e.base+"decisions")
	if !strings.Contains(body, "Banned 192.0.2.7/32") {
		t.Errorf("no flash after the ban:\n%s", body)
	}
}

// flipLast changes a token's last character.
func flipLast(s string) string {
	last := "A"
	if strings.HasSuffix(s, "A") {
		last = "B"
	}
	return s[:len(s)-1] + last
}

// revocable is an Authenticator whose token can be revoked.
type revocable struct {
	mu      sync.Mutex
	revoked bool
}

func (r *revocable) Authenticate(_ context.Context, secret string) (web.Identity, error) {
	if secret != "good" {
		return web.Identity{}, web.ErrInvalidToken
	}
	return web.Identity{Name: "bob", Key: "k"}, nil
}

func (r *revocable) Check(context.Context, web.Identity) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.revoked {
		return web.ErrInvalidToken
	}
	return nil
}

func TestSessionEnds(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	auth := &revocable{}
	h, err := web.New(web.Options{Auth: auth, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	defer hs.Close()
	e := &env{http: hs, base: hs.URL + "/"}
	signedIn := func(c *http.Client) bool {
		resp, _ := get(t, c, e.base)
		return resp.StatusCode == http.StatusOK
	}
	c := client(t)
	e.signIn(t, c, "good")
	advance(7 * time.Hour)
	if !signedIn(c) {
		t.Fatal("signed out after 7 h of use")
	}
	advance(8*time.Hour + time.Minute)
	if signedIn(c) {
		t.Error("still signed in after 8 h idle")
	}
	c = client(t)
	e.signIn(t, c, "good")
	auth.mu.Lock()
	auth.revoked = true
	auth.mu.Unlock()
	if !signedIn(c) {
		t.Error("the token is checked again before a minute passed")
	}
	advance(2 * time.Minute)
	if signedIn(c) {
		t.Error("still signed in a minute after the token was revoked")
	}
}

func TestBadInput(t *testing.T) {
	f := sharedFixture()
	e := newEnv(t, f, web.Options{Lookup: fakeLookup{}})
	c := client(t)
	csrf := e.signIn(t, c, e.secret)
	tests := []struct {
		path   string
		status int
		want   string // in the page, as the browser shows it
	}{
		{"ip/not-an-address", 400, `"not-an-address" is not an IP address.`},
		{"ip/" + url.PathEscape(xssScript), 400, "is not an IP address."},
		{"ip/fe80::1%25eth0", 400, "is not an IP address."},
		{"ip?addr=" + url.QueryEscape(xssImg), 400, "is not an IP address."},
		{"?days=5", 400, `days="5": want 7, 30 or all.`},
		{"?days=0", 400, `days="0": want 7, 30 or all.`},
		{"?days=" + url.QueryEscape(xssScript), 400, "want 7, 30 or all."},
		{"sources?page=0", 400, `page="0": want a page number from 1.`},
		{"sources?page=-1", 400, "want a page number"},
		{"prefixes?page=99999999999", 400, "want a page number"},
		{"returners?page=x", 400, "want a page number"},
		{"decisions?show=" + url.QueryEscape(xssSVG), 400, "want active or all."},
		{"decisions?page=201", 400, "at most 200 pages of decisions"},
		{"ip/" + f.busiest.String() + "?before=yesterday", 400, "want a Unix time."},
		{"ip/" + f.busiest.String() + "?before=1&skip=-3", 400, "want a count of lines."},
		{"drafts?state=" + url.QueryEscape(xssImg), 400, "want draft, approved, sent, discarded or all."},
		{"drafts/0", 400, "want a draft number."},
		{"drafts/999999", 404, "No such draft."},
		{"sources?page=1000", 200, "Top sources"}, // past the end: the last page
		{"no/such/page", 404, "No such page."},
	}
	for _, tt := range tests {
		resp, body := get(t, c, e.base+tt.path)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status %d, want %d", tt.path, resp.StatusCode, tt.status)
		}
		if !strings.Contains(html.UnescapeString(body), tt.want) {
			t.Errorf("%s: page lacks %q", tt.path, tt.want)
		}
		assertEscaped(t, tt.path, body)
	}
	// Non-canonical spellings of an address redirect to the canonical page.
	for in, want := range map[string]string{"::ffff:" + f.busiest.String(): "/ui/ip/" + f.busiest.String(), "2001:DB8::1": "/ui/ip/2001:db8::1"} {
		resp, _ := get(t, c, e.base+"ip/"+in)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("ip/%s: status %d, Location %q; want 303 to %s", in, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	// Refused actions come back as a message on the page they came from.
	actions := []struct {
		path string
		form url.Values
		want string
	}{
		{"decisions", url.Values{"value": {"not-an-ip"}, "duration": {"1h"}, "reason": {"x"}}, "not an address or CIDR prefix"},
		{"decisions", url.Values{"value": {"10.40.0.5"}, "duration": {"1h"}, "reason": {"x"}}, "which is never banned"},
		{"decisions", url.Values{"value": {"198.51.100.9"}, "duration": {"1h"}, "reason": {"x"}}, "overlaps management network"},
		{"decisions", url.Values{"value": {"192.0.2.1"}, "duration": {"17m"}, "reason": {"x"}}, "choose a duration from the list"},
		{"decisions", url.Values{"value": {"192.0.2.1"}, "duration": {"1h"}}, "give a reason"},
		{"decisions", url.Values{"value": {xssScript}, "duration": {"1h"}, "reason": {"x"}}, "not an address or CIDR prefix"},
		{"decisions/999/unban", nil, "No such decision."},
		{"decisions/x/unban", nil, "want a decision number."},
		{"ip/10.40.0.5/lookup", nil, "is not a public address"},
		{"drafts/" + strconv.FormatInt(f.draftID, 10) + "/state", url.Values{"to": {"sent"}}, "want approved, discarded or draft."},
		{"drafts/" + strconv.FormatInt(f.draftID, 10) + "/text", url.Values{"text": {"  "}}, "cannot be empty"},
	}
	for _, a := range actions {
		form := url.Values{"csrf": {csrf}, "back": {"/ui/decisions?show=all"}}
		for k, v := range a.form {
			form[k] = v
		}
		resp, _ := post(t, c, e.base+a.path, form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("POST %s: status %d, want 303", a.path, resp.StatusCode)
			continue
		}
		_, body := get(t, c, urlJoin(e.base, resp.Header.Get("Location")))
		if !strings.Contains(html.UnescapeString(body), a.want) || !strings.Contains(body, "flash-error") {
			t.Errorf("POST %s: the next page lacks the error %q", a.path, a.want)
		}
		assertEscaped(t, a.path, body)
	}
	// An oversized form is refused.
	big := url.Values{"csrf": {csrf}, "text": {strings.Repeat("x", 300<<10)}}
	if resp, _ := post(t, c, e.base+"drafts/"+strconv.FormatInt(f.draftID, 10)+"/text", big); resp.StatusCode < 400 {
		t.Errorf("300 KiB form: status %d, want an error", resp.StatusCode)
	}
}

var (
	// rawTag is a tag as the browser parses it: escaped text has no raw
	// "<".
	rawTag = regexp.MustCompile(`<[a-zA-Z][^<>]*>`)
	// quoted strips attribute values before attribute names are checked.
	quoted = regexp.MustCompile(`"[^"]*"|'[^']*'`)
	// handler is an event-handler attribute; badTag an element the UI
	// never writes; jsURL a javascript: link.
	handler = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	badTag  = regexp.MustCompile(`(?i)^<(script|img|iframe|object|embed|base|meta http-equiv)\b`)
	jsURL   = regexp.MustCompile(`(?i)(href|src|action|formaction)\s*=\s*["']?\s*javascript:`)
)

// markupFromData returns the tags of a page that only data could have
// put there: script or img elements, event handlers, javascript: links
// (the UI's own pages have none of them).
func markupFromData(body string) []string {
	var bad []string
	for _, tag := range rawTag.FindAllString(body, -1) {
		if badTag.MatchString(tag) || handler.MatchString(quoted.ReplaceAllString(tag, `""`)) || jsURL.MatchString(tag) {
			bad = append(bad, tag)
		}
	}
	return bad
}

func assertEscaped(t *testing.T, what, body string) {
	t.Helper()
	for _, tag := range markupFromData(body) {
		t.Errorf("%s: markup from data: %s", what, tag)
	}
}

func TestMarkupFromData(t *testing.T) {
	tests := []struct {
		body string
		bad  bool
	}{
		{`<p>` + html.EscapeString(strings.Join(hostile, " ")) + `</p>`, false},
		{`<input name="next" value="/ui/?q= onerror=x">`, false},
		{`<td>` + xssScript + `</td>`, true},
		{`<td>` + xssImg + `</td>`, true},
		{`<pre>` + xssSVG + `</pre>`, true},
		{`<a href="` + xssJSURL + `">x</a>`, true},
		{`<td title="` + html.EscapeString(xssAttr) + `">x</td>`, false},
		{`<td title='` + xssAttr + `'>x</td>`, true},
	}
	for _, tt := range tests {
		if got := markupFromData(tt.body) != nil; got != tt.bad {
			t.Errorf("markupFromData(%q) found %v, want %v", tt.body, got, tt.bad)
		}
	}
}

func TestHostileTextIsEscaped(t *testing.T) {
	f := sharedFixture()
	e := newEnv(t, f, web.Options{Lookup: fakeLookup{}})
	c := client(t)
	csrf := e.signIn(t, c, e.secret)
	// The lookup's hostile answer becomes the next page's message.
	if resp, _ := post(t, c, e.base+"ip/"+hostileAddr.String()+"/lookup", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("lookup: status %d", resp.StatusCode)
	}
	pages := []string{"", "?days=7", "?days=all", "sources?days=all", "prefixes", "returners", "decisions?show=all", "drafts", "drafts?state=all",
		"drafts/" + strconv.FormatInt(f.draftID, 10), "ip/" + hostileAddr.String(), "ip/" + hostileAddr.String() + "?before=" + strconv.FormatInt(time.Now().Unix(), 10)}
	for _, p := range pages {
		resp, body := get(t, c, e.base+p)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", p, resp.StatusCode)
		}
		assertEscaped(t, p, body)
	}
	// The hostile text is shown, as text.
	_, body := get(t, c, e.base+"ip/"+hostileAddr.String())
	text := html.UnescapeString(body)
	for _, h := range hostile {
		if !strings.Contains(text, h) {
			t.Errorf("source page does not show %q as text", h)
		}
	}
	for _, want := range []string{"EVIL-NET" + xssImg, "Evil " + xssScript, "(web" + xssSVG + ")"} {
		if !strings.Contains(text, want) {
			t.Errorf("source page does not show %q", want)
		}
	}
}

func TestPages(t *testing.T) {
	f := sharedFixture()
	e := newEnv(t, f, web.Options{})
	c := client(t)
	e.signIn(t, c, e.secret)
	_, body := get(t, c, e.base)
	text := html.UnescapeString(body)
	want := f.wantTop()
	for _, s := range []string{fmtInt(f.total) + "</strong> alerts stored", "1 of 2 have the current list"} {
		if !strings.Contains(text, s) {
			t.Errorf("overview lacks %q", s)
		}
	}
	// The top sources table lists the busiest first, as the truth says.
	if i, j := strings.Index(text, `id="top-sources"`), strings.Index(text, "/ui/ip/"+want[0].Addr.String()+`"`); i < 0 || j < i {
		t.Errorf("overview's top sources do not start with %s", want[0].Addr)
	}
	// The per-day chart: one bar per day of the 30-day window, summing to
	// every alert (the sample spans 14 days).
	bars := regexp.MustCompile(`<rect class="bar" [^>]*><title>[^<]*: ([0-9,]+)</title>`).FindAllStringSubmatch(sectionOf(body, "per-day"), -1)
	var sum int64
	for _, b := range bars {
		n, _ := strconv.ParseInt(strings.ReplaceAll(b[1], ",", ""), 10, 64)
		sum += n
	}
	if len(bars) != 30 || sum != f.total {
		t.Errorf("per-day chart: %d bars summing to %d; want 30 summing to %d", len(bars), sum, f.total)
	}
	// All time: one bar per day of the sample's 14.
	_, all := get(t, c, e.base+"?days=all")
	if n := strings.Count(sectionOf(all, "per-day"), `<rect class="bar"`); n != 14 {
		t.Errorf("all-time chart: %d bars, want 14", n)
	}
	// Returners: the planted 600 s returners are flagged.
	for _, a := range f.returners600() {
		if !strings.Contains(sectionOf(body, "returners"), "/ui/ip/"+a.String()+`"`) {
			t.Errorf("returner %s is not among the flagged returners", a)
		}
	}
	// Sources: every source in scope, 50 a page.
	_, body = get(t, c, e.base+"sources?page=2")
	if want := "51–100 of " + fmtInt(int64(len(want))); !strings.Contains(body, want) {
		t.Errorf("sources page 2 lacks %q", want)
	}
	if got := strings.Count(sectionOf(body, ""), `<a class="addr"`); got != 50 {
		t.Errorf("sources page 2 lists %d sources, want 50", got)
	}
	if !strings.Contains(body, `/ui/ip/`+want[50].Addr.String()+`"`) {
		t.Errorf("sources page 2 does not start with the 51st source %s", want[50].Addr)
	}
}

// sectionOf returns the section with id in a page (the whole page for "").
func sectionOf(body, id string) string {
	if id == "" {
		return body
	}
	i := strings.Index(body, `<section id="`+id+`"`)
	if i < 0 {
		return ""
	}
	j := strings.Index(body[i:], "</section>")
	if j < 0 {
		return body[i:]
	}
	return body[i : i+j]
}

func fmtInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	var b []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return string(b)
}

func TestSourceLogPages(t *testing.T) {
	f := sharedFixture()
	e := newEnv(t, f, web.Options{})
	c := client(t)
	e.signIn(t, c, e.secret)
	rep, err := f.store.SourceReport(t.Context(), f.busiest, analytics.Filter{}, 75)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	next := e.base + "ip/" + f.busiest.String()
	older := regexp.MustCompile(`<a rel="next" href="([^"]+)">Older`)
	stamp := regexp.MustCompile(`<time>([^<]+)</time>`)
	for range 3 {
		_, body := get(t, c, next)
		for _, m := range stamp.FindAllStringSubmatch(sectionOf(body, "log"), -1) {
			got = append(got, m[1])
		}
		m := older.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no Older link after %d lines", len(got))
		}
		next = urlJoin(e.base, html.UnescapeString(m[1]))
	}
	if len(got) != 75 {
		t.Fatalf("three pages of log lines hold %d lines, want 75", len(got))
	}
	for i, a := range rep.Alerts {
		if want := a.Time.UTC().Format("2006-01-02 15:04:05 UTC"); got[i] != want {
			t.Fatalf("line %d: %s, want %s (the store's %dth newest)", i+1, got[i], want, i+1)
		}
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	auth := web.StaticToken{Name: "a"}
	for _, o := range []web.Options{
		{},
		{Auth: auth, Prefix: "ui"},
		{Auth: auth, Prefix: "/ui"},
		{Auth: auth, Prefix: "/u i/"},
	} {
		if _, err := web.New(o); err == nil {
			t.Errorf("New(%+v) = nil error", o)
		}
	}
}

func TestStaticToken(t *testing.T) {
	tok := web.StaticToken{Name: "admin"}
	copy(tok.Digest[:], sha256Of("rpt_ui_secret"))
	id, err := tok.Authenticate(t.Context(), "rpt_ui_secret")
	if err != nil || id.Name != "admin" {
		t.Fatalf("Authenticate = %+v, %v", id, err)
	}
	if err := tok.Check(t.Context(), id); err != nil {
		t.Errorf("Check = %v", err)
	}
	for _, s := range []string{"", "rpt_ui_secreT", "rpt_ui_secret "} {
		if _, err := tok.Authenticate(t.Context(), s); !errors.Is(err, web.ErrInvalidToken) {
			t.Errorf("Authenticate(%q) = %v, want ErrInvalidToken", s, err)
		}
	}
	renewed := web.StaticToken{Name: "admin"}
	copy(renewed.Digest[:], sha256Of("rpt_ui_other"))
	if err := renewed.Check(t.Context(), id); !errors.Is(err, web.ErrInvalidToken) {
		t.Errorf("Check after a new token = %v, want ErrInvalidToken", err)
	}
}
