package web_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/alertdb"
	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/serverdb"
	"github.com/rampart-ids/rampart/internal/web"
	"github.com/rampart-ids/rampart/internal/web/browsertest"
)

// ScreenshotEnv names a directory where the browser test leaves its
// screenshots (CI keeps it as an artefact); without it they go to the
// test's temporary directory.
const ScreenshotEnv = "RAMPART_UI_SCREENSHOTS"

// chromium returns the browser, skipping the test without one locally and
// failing it in CI.
func chromium(t *testing.T) string {
	t.Helper()
	path, err := browsertest.Find()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the browser tests need Chromium in CI: %v", err)
		}
		t.Skipf("skipping the browser tests: %v", err)
	}
	return path
}

// browserPage is a tab and what a test needs around it.
type browserPage struct {
	t     *testing.T
	ctx   context.Context
	p     *browsertest.Page
	shots string
	base  string
}

func (b *browserPage) must(err error) {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
}

func (b *browserPage) open(rel string) {
	b.t.Helper()
	b.must(b.p.Navigate(b.ctx, b.base+rel))
}

func (b *browserPage) count(sel string) int {
	b.t.Helper()
	n, err := b.p.Count(b.ctx, sel)
	b.must(err)
	return n
}

func (b *browserPage) text(sel string) string {
	b.t.Helper()
	s, err := b.p.Text(b.ctx, sel)
	b.must(err)
	return s
}

func (b *browserPage) wantCount(sel string, want int) {
	b.t.Helper()
	if got := b.count(sel); got != want {
		b.t.Errorf("%s: %d elements, want %d", sel, got, want)
	}
}

func (b *browserPage) wantText(sel, want string) {
	b.t.Helper()
	if got := b.text(sel); !strings.Contains(got, want) {
		b.t.Errorf("%s reads %q, want it to contain %q", sel, got, want)
	}
}

// shot saves a screenshot of the whole page.
func (b *browserPage) shot(name string) {
	b.t.Helper()
	b.must(b.p.Screenshot(b.ctx, filepath.Join(b.shots, name+".png")))
}

// noScript checks the DOM the browser built: no element or attribute the
// hostile text would have made, and nothing ran.
func (b *browserPage) noScript(what string) {
	b.t.Helper()
	for _, sel := range []string{"script", "img", "iframe", "[onerror]", "[onload]", "[onmouseover]", `a[href^="javascript:"]`} {
		if n := b.count(sel); n != 0 {
			b.t.Errorf("%s: %d %s elements in the DOM", what, n, sel)
		}
	}
	html, err := b.p.HTML(b.ctx)
	b.must(err)
	assertEscaped(b.t, what+" (DOM)", html)
	if d := b.p.Dialogs(); len(d) > 0 {
		b.t.Errorf("%s: dialogs opened: %q", what, d)
	}
}

func TestBrowser(t *testing.T) {
	path := chromium(t)
	f := newFixture(t) // its own: the test bans and approves
	e := newEnv(t, f, web.Options{Lookup: fakeLookup{}})
	shots := os.Getenv(ScreenshotEnv)
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	br, err := browsertest.Start(path, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := br.Close(); err != nil {
			t.Errorf("close browser: %v", err)
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	pg, err := br.NewPage(ctx, 1280, 900)
	if err != nil {
		t.Fatalf("%v\nbrowser stderr:\n%s", err, br.Stderr())
	}
	b := &browserPage{t: t, ctx: ctx, p: pg, shots: shots, base: e.base}
	t.Logf("screenshots in %s", shots)

	// Sign-in: the overview sends us to the form; the form signs in.
	b.open("")
	if u, _ := pg.URL(ctx); !strings.HasPrefix(u, e.base+"signin?next=") {
		t.Fatalf("signed out, the overview went to %s", u)
	}
	b.shot("01-signin")
	b.must(pg.SetValue(ctx, "#token", e.secret))
	b.must(pg.Click(ctx, `form[action$="/signin"] button[type=submit]`))
	if u, _ := pg.URL(ctx); u != e.base {
		t.Fatalf("after sign-in the browser is at %s, want %s", u, e.base)
	}

	// Overview: 30 daily bars, the busiest source first, the planted
	// returners flagged, the agents' list versions, recent decisions.
	b.wantCount("svg.chart-days rect.bar", 30)
	b.wantText("#top-sources tbody tr:first-child a.addr", f.busiest.String())
	for _, a := range f.returners600() {
		b.wantCount(fmt.Sprintf(`#returners a.addr[href="/ui/ip/%s"]`, a), 1)
	}
	b.wantCount("#agents tbody tr", 2)
	b.wantCount("#agents tr.agent-behind", 1)
	b.wantText("#agents tr.agent-behind td:first-child", "fe02")
	b.wantText("#agents h2", "1 of 2 have the current list")
	b.wantCount("#recent-decisions tbody tr", 1)
	b.noScript("overview")
	b.shot("02-overview")

	want := f.wantTop()
	b.open("sources")
	b.wantCount("table.sources tbody tr", min(50, len(want)))
	b.noScript("sources")
	b.shot("03-sources")
	b.open("prefixes")
	b.wantCount("table.prefixes tbody tr", min(50, b.count("table.prefixes tbody tr")))
	b.shot("04-prefixes")
	b.open("returners")
	b.wantCount("table.returners tbody tr", len(f.returners600()))
	b.shot("05-returners")

	// A returner's page: a bar per day from its first to its last alert,
	// the cadence histogram with the bar just after the block marked.
	ret := f.returners600()[0]
	b.open("ip/" + ret.String())
	rep, err := f.store.SourceReport(ctx, ret, analytics.Filter{}, 0)
	b.must(err)
	days := int(rep.ByDay[len(rep.ByDay)-1].Day.Sub(rep.ByDay[0].Day)/(24*time.Hour)) + 1
	b.wantCount("svg.chart-source rect.bar", days)
	rules, hits, err := f.store.SourceHitsOf(ctx, ret, analytics.Filter{})
	b.must(err)
	res := analyzer().Analyze(rules, ret, hits)
	b.wantCount("svg.chart-cadence rect.bar", len(res.Histogram))
	b.wantCount("svg.chart-cadence rect.bar.after", 1)
	b.wantText("#cadence", "flagged")
	b.wantCount("#rules tbody tr", len(rep.ByRule))
	b.wantCount("#log ol.lines li", min(25, int(rep.Count)))
	b.shot("06-source-returner")

	// The hostile source: every hostile string shows as text, none runs.
	b.open("ip/" + hostileAddr.String())
	log := b.text("#log pre.log")
	for _, h := range []string{xssScript, xssImg, xssJSURL, xssSVG, xssAttr} {
		if !strings.Contains(log, h) {
			t.Errorf("the hostile log line does not show %q as text: %q", h, log)
		}
	}
	b.wantText("#rules tbody", xssScript)
	b.wantText("#locations tbody", "(web"+xssSVG+")")
	b.wantText("#abuse dl", "EVIL-NET"+xssImg)
	b.noScript("hostile source")
	b.shot("07-source-hostile")
	// The lookup button: the registry's hostile answer comes back as text.
	b.must(pg.Click(ctx, "#abuse button.lookup"))
	b.wantText("p.flash", "abuse@"+xssImg+".example")
	b.noScript("lookup answer")

	// Ban and unban through the UI, against the server's state.
	busiest := f.busiest
	b.open("ip/" + busiest.String())
	b.must(pg.SetValue(ctx, `form.ban input[name="reason"]`, "brute force, seen in the UI test"))
	b.must(pg.SetValue(ctx, `form.ban select[name="duration"]`, "6h"))
	before := time.Now()
	b.must(pg.Click(ctx, "form.ban button[type=submit]"))
	if u, _ := pg.URL(ctx); u != e.base+"ip/"+busiest.String() {
		t.Errorf("after the ban the browser is at %s", u)
	}
	b.wantText("p.flash", "Banned "+busiest.String()+"/32")
	b.wantCount("#decisions tr.on button.unban", 1)
	act := activeBans(t, e.db, busiest)
	if len(act) != 1 || act[0].Author != "alice" || act[0].Origin != "manual" || act[0].Reason != "brute force, seen in the UI test" ||
		act[0].Expires.Before(before.Add(6*time.Hour-time.Minute)) || act[0].Expires.After(time.Now().Add(6*time.Hour+time.Minute)) {
		t.Fatalf("after the ban the server holds %+v, want one manual 6h ban by alice", act)
	}
	b.shot("08-source-banned")
	b.must(pg.Click(ctx, "#decisions tr.on button.unban"))
	b.wantText("p.flash", "Lifted the ban on "+busiest.String()+"/32")
	b.wantCount("#decisions tr.on", 0)
	if act := activeBans(t, e.db, busiest); len(act) != 0 {
		t.Fatalf("after the unban the server still holds %+v", act)
	}

	// Decisions page: the ban form there too, and the lifted ban listed.
	b.open("decisions?show=all")
	b.wantCount("table.decisions tbody tr", 2)
	b.noScript("decisions")
	b.shot("09-decisions")

	// Drafts: review, then approve.
	b.open("drafts")
	b.wantCount("table.drafts tbody tr", 1)
	b.noScript("drafts")
	b.shot("10-drafts")
	b.open(fmt.Sprintf("drafts/%d", f.draftID))
	if v, err := evalString(b, `document.querySelector("#draft-text").value`); err != nil || !strings.Contains(v, xssScript) {
		t.Errorf("draft text area: %q, %v; want the hostile text as text", v, err)
	}
	b.noScript("draft")
	b.must(pg.Click(ctx, "button.approve"))
	b.wantText("p.flash", "is now approved")
	d, err := f.store.AbuseDraft(ctx, f.draftID)
	b.must(err)
	if d.State != alertdb.AbuseDraftApproved {
		t.Errorf("draft state %s after Approve, want approved", d.State)
	}
	b.shot("11-draft-approved")

	if p := pg.Problems(); len(p) > 0 {
		t.Errorf("the browser reported problems (a CSP violation means markup from data reached a page): %q", p)
	}
	if d := pg.Dialogs(); len(d) > 0 {
		t.Errorf("dialogs opened: %q", d)
	}
}

func evalString(b *browserPage, expr string) (string, error) {
	var s string
	err := b.p.Eval(b.ctx, expr, &s)
	return s, err
}

func activeBans(t *testing.T, db *serverdb.DB, a netip.Addr) []api.Decision {
	t.Helper()
	ds, err := db.Decisions(t.Context(), serverdb.DecisionFilter{Contains: a, Active: true, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}
