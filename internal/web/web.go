package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rampart-ids/rampart/internal/analytics/cadence"
)

// Options configure the UI. Auth is required; every data source is
// optional, and pages whose source is missing are left out.
type Options struct {
	// Prefix is the path the UI is served under: "/" (rampart ui) or
	// "/ui/" (inside the server). It starts and ends with "/".
	Prefix string
	// Auth checks admin tokens.
	Auth Authenticator

	// Alerts is the alert store: overview charts, top sources and
	// prefixes, source pages.
	Alerts Alerts
	// Hits and Analyzer give the cadence (flagged returners, a source's
	// return histogram). Analyzer must have Options.Detail set; it is
	// used under a mutex.
	Hits     Hits
	Analyzer *cadence.Analyzer
	// Contacts is the abuse contact cache, Lookup asks the registries.
	Contacts Contacts
	Lookup   Lookup
	// Drafts are the abuse report drafts.
	Drafts Drafts
	// Decisions and Agents come from the central server.
	Decisions Decisions
	Agents    Agents

	// InScope selects the sources listed (top sources, prefixes,
	// returners); nil lists all. The alerts-per-day chart counts every
	// alert.
	InScope func(netip.Addr) bool
	// SecureCookies marks cookies Secure even for requests that did not
	// come over TLS here (TLS ends at a proxy in front).
	SecureCookies bool
	// NoCache recomputes the overview at every view (benchmarks measure
	// the cold path with it).
	NoCache bool
	// ReturnersEvery is the least time between two cadence runs over
	// all sources (default 10 min); a run starts when the store changed.
	ReturnersEvery time.Duration
	// ReturnersWait is how long an overview waits for a running cadence
	// analysis before showing the previous one (default 0: never).
	ReturnersWait time.Duration

	Now    func() time.Time
	Logger *slog.Logger
}

// Request limits.
const (
	// maxBody bounds a form post (a draft's edited text is the largest).
	maxBody = 256 << 10
	// pageTimeout bounds the work of one page; lookups get lookupTimeout.
	pageTimeout   = 20 * time.Second
	lookupTimeout = 25 * time.Second
)

// ui is the UI's handler.
type ui struct {
	o        Options
	log      *slog.Logger
	now      func() time.Time
	mux      *http.ServeMux
	pages    map[string]*template.Template
	sessions *sessionStore
	failures *failureLimiter

	// cadMu serialises the Analyzer, which is not concurrent.
	cadMu sync.Mutex

	overview  overviewCache
	returners returnersJob
}

// New returns the UI's handler. The server embedding it should give it
// the timeouts a UI needs (WriteTimeout of at least 30 s: a registry
// lookup takes up to 25 s).
func New(o Options) (http.Handler, error) {
	if o.Auth == nil {
		return nil, errors.New("web: an Authenticator is required")
	}
	if o.Prefix == "" {
		o.Prefix = "/"
	}
	if !strings.HasPrefix(o.Prefix, "/") || !strings.HasSuffix(o.Prefix, "/") || strings.ContainsAny(o.Prefix, " {}") {
		return nil, fmt.Errorf("web: prefix %q: want a path that starts and ends with /", o.Prefix)
	}
	if o.Analyzer != nil && !o.Analyzer.Options().Detail {
		return nil, errors.New("web: the cadence Analyzer needs Options.Detail")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ReturnersEvery <= 0 {
		o.ReturnersEvery = 10 * time.Minute
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	u := &ui{
		o: o, log: o.Logger.With("component", "web"), now: o.Now, pages: pages,
		sessions: newSessionStore(),
		failures: &failureLimiter{burst: 20, window: time.Minute},
	}
	u.routes()
	return u, nil
}

func (u *ui) routes() {
	p := u.o.Prefix
	m := http.NewServeMux()
	m.HandleFunc("GET "+p+"static/{file}", u.static)
	m.HandleFunc("GET "+p+"favicon.ico", http.NotFound)
	m.HandleFunc("GET "+p+"signin", u.signInForm)
	m.HandleFunc("POST "+p+"signin", u.signIn)
	m.Handle("POST "+p+"signout", u.action(u.signOut))
	m.Handle("GET "+p+"{$}", u.page(u.overviewPage))
	if u.o.Alerts != nil {
		m.Handle("GET "+p+"sources", u.page(u.sourcesPage))
		m.Handle("GET "+p+"prefixes", u.page(u.prefixesPage))
		m.Handle("GET "+p+"ip/{addr}", u.page(u.sourcePage))
		m.Handle("GET "+p+"ip", u.page(u.findSource))
	}
	if u.hasCadence() {
		m.Handle("GET "+p+"returners", u.page(u.returnersPage))
	}
	if u.o.Lookup != nil {
		m.Handle("POST "+p+"ip/{addr}/lookup", u.action(u.lookupContact))
	}
	if u.o.Decisions != nil {
		m.Handle("GET "+p+"decisions", u.page(u.decisionsPage))
		m.Handle("POST "+p+"decisions", u.action(u.ban))
		m.Handle("POST "+p+"decisions/{id}/unban", u.action(u.unban))
	}
	if u.o.Drafts != nil {
		m.Handle("GET "+p+"drafts", u.page(u.draftsPage))
		m.Handle("GET "+p+"drafts/{id}", u.page(u.draftPage))
		m.Handle("POST "+p+"drafts/{id}/state", u.action(u.draftState))
		m.Handle("POST "+p+"drafts/{id}/text", u.action(u.draftText))
	}
	m.Handle(p, u.page(func(w http.ResponseWriter, r *http.Request, s *session) error {
		return &httpError{status: http.StatusNotFound, msg: "No such page."}
	}))
	u.mux = m
}

func (u *ui) hasCadence() bool { return u.o.Alerts != nil && u.o.Hits != nil && u.o.Analyzer != nil }

// securityHeaders are set on every answer. The policy allows the
// embedded style sheet and nothing inline: no script runs, whatever a
// page shows.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

func (u *ui) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	r = r.WithContext(context.WithValue(r.Context(), startKey{}, time.Now()))
	u.mux.ServeHTTP(w, r)
}

// path returns the UI's absolute path for rel ("ip/1.2.3.4").
func (u *ui) path(rel string) string { return u.o.Prefix + rel }

// httpError is an error with its status and the message the admin sees.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, a ...any) error {
	return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, a...)}
}

// handlerFunc renders a page or acts for a signed-in admin.
type handlerFunc func(w http.ResponseWriter, r *http.Request, s *session) error

// cookieName is the session cookie's name.
const cookieName = "rampart_ui"

func (u *ui) secure(r *http.Request) bool { return u.o.SecureCookies || r.TLS != nil }

// current returns the request's session, checking its token again when
// due; nil when there is none.
func (u *ui) current(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	now := u.now()
	s, due := u.sessions.get(c.Value, now)
	if s == nil {
		return nil
	}
	if due {
		err := u.o.Auth.Check(r.Context(), s.id)
		switch {
		case errors.Is(err, ErrInvalidToken):
			u.log.Info("session ended: token no longer valid", "admin", s.id.Name)
			u.sessions.delete(c.Value)
			return nil
		case err != nil:
			// A database hiccup: keep the session, check again next time.
			u.log.Warn("check session token", "admin", s.id.Name, "error", err)
		default:
			u.sessions.checked(s, now)
		}
	}
	return s
}

// page wraps a GET handler: signed-in admins only, others are sent to the
// sign-in form.
func (u *ui) page(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := u.current(r)
		if s == nil {
			u.redirect(w, r, u.path("signin")+"?next="+url.QueryEscape(r.URL.RequestURI()))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), pageTimeout)
		defer cancel()
		if err := fn(w, r.WithContext(ctx), s); err != nil {
			u.fail(w, r, s, err)
		}
	})
}

// action wraps a POST handler: a signed-in admin, the session's CSRF
// token, a same-origin request. It ends with a redirect (post, redirect,
// get), the outcome passed on as the session's flash message.
func (u *ui) action(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := u.current(r)
		if s == nil {
			u.fail(w, r, nil, &httpError{status: http.StatusForbidden, msg: "Not signed in (or the session ended): sign in and try again."})
			return
		}
		if err := r.ParseForm(); err != nil {
			u.fail(w, r, s, badRequest("Unreadable form."))
			return
		}
		if !sameToken(r.PostForm.Get("csrf"), s.csrf) || !sameOrigin(r) {
			u.log.Warn("form post refused: CSRF token or origin mismatch", "path", r.URL.Path, "admin", s.id.Name)
			u.fail(w, r, s, &httpError{status: http.StatusForbidden, msg: "This form is stale or did not come from this site: reload the page and try again."})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), lookupTimeout)
		defer cancel()
		if err := fn(w, r.WithContext(ctx), s); err != nil {
			var ue *UserError
			var he *httpError
			switch {
			case errors.As(err, &ue):
				u.sessions.setFlash(s, ue.Msg, true)
				u.redirect(w, r, u.back(r))
			case errors.As(err, &he) && he.status < 500:
				u.sessions.setFlash(s, he.msg, true)
				u.redirect(w, r, u.back(r))
			default:
				u.fail(w, r, s, err)
			}
		}
	})
}

// back is where an action returns: the form's "back" field when it is a
// page of this UI, else the overview.
func (u *ui) back(r *http.Request) string {
	if b := r.PostForm.Get("back"); u.local(b) {
		return b
	}
	return u.o.Prefix
}

// local reports whether target is a path of this UI, safe to redirect to
// (no scheme, no host, no "//" or "\" tricks).
func (u *ui) local(target string) bool {
	if !strings.HasPrefix(target, u.o.Prefix) || strings.HasPrefix(target, "//") || strings.ContainsAny(target, "\\\r\n") {
		return false
	}
	p, err := url.Parse(target)
	return err == nil && p.Scheme == "" && p.Host == "" && p.User == nil
}

func (u *ui) redirect(w http.ResponseWriter, r *http.Request, to string) {
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// fail shows an error page: the message for the admin's own mistakes,
// "internal error" (and a log line) for everything else.
func (u *ui) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
	case errors.As(err, &mbe):
		he = &httpError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("The form is larger than %d bytes.", mbe.Limit)}
	case r.Context().Err() != nil && errors.Is(err, context.Canceled):
		return // the browser went away
	case errors.Is(err, context.DeadlineExceeded):
		u.log.Error("page timed out", "method", r.Method, "path", r.URL.Path, "error", err)
		he = &httpError{status: http.StatusServiceUnavailable, msg: "This page took too long to compute."}
	default:
		u.log.Error("page failed", "method", r.Method, "path", r.URL.Path, "error", err)
		he = &httpError{status: http.StatusInternalServerError, msg: "Internal error (the server's log has the details)."}
	}
	data := struct {
		Status  int
		Message string
	}{he.status, he.msg}
	u.render(w, r, s, he.status, "error", "Error", data)
}

// view is what every page template gets.
type view struct {
	Title  string
	Prefix string
	// Admin is the signed-in admin's name, CSRF the session's token for
	// forms; both empty on the sign-in page.
	Admin string
	CSRF  string
	// Here is the page's own path and query, where its forms come back.
	Here       string
	Flash      string
	FlashError bool
	Nav        nav
	// Elapsed is how long the page took to compute, for the footer.
	Elapsed string
	Data    any
}

// nav says which sections exist.
type nav struct {
	Alerts, Returners, Decisions, Drafts bool
}

// render executes a page into a buffer and sends it, so that a template
// error becomes an error page rather than half a page.
func (u *ui) render(w http.ResponseWriter, r *http.Request, s *session, status int, page, title string, data any) {
	start, _ := r.Context().Value(startKey{}).(time.Time)
	v := view{
		Title: title, Prefix: u.o.Prefix, Here: r.URL.RequestURI(), Data: data,
		Nav: nav{Alerts: u.o.Alerts != nil, Returners: u.hasCadence(), Decisions: u.o.Decisions != nil, Drafts: u.o.Drafts != nil},
	}
	if s != nil {
		v.Admin, v.CSRF = s.id.Name, s.csrf
		v.Flash, v.FlashError = u.sessions.takeFlash(s)
	}
	t := u.pages[page]
	if t == nil {
		u.log.Error("no such template", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var elapsed time.Duration
	if !start.IsZero() {
		elapsed = time.Since(start)
		v.Elapsed = fmtMillis(elapsed)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		u.log.Error("render page", "page", page, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if !start.IsZero() {
		// The time to gather the page's data and render it, for
		// benchmarks and the curious (bench/ui.sh reads it).
		h.Set("Server-Timing", "page;dur="+strconv.FormatFloat(float64(time.Since(start).Microseconds())/1000, 'f', 2, 64))
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // a write error means the browser left
}

// startKey carries the request's start time in its context.
type startKey struct{}

func fmtMillis(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
}
