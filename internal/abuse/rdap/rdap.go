// Package rdap finds the abuse contact of an IP address by RDAP (RFC 9082
// queries, RFC 9083 answers): the IANA bootstrap data (RFC 9224, kept on disk
// and refreshed after a maximum age) names the registry's RDAP service, the
// query follows the registries' redirects, and the answer's entities are
// walked, at any depth, for the "abuse" role and its jCard e-mail addresses.
//
// Every request has a timeout and a body limit; a missing object (404), a
// rate limit (429) and an answer that is not RDAP JSON are errors that say
// so and name the URL. The package only asks registries: it does not cache
// answers (package lookup does), fall back to whois, or decide whom to
// report to. It keeps no package-level state.
package rdap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/openrdap/rdap/bootstrap"

	"github.com/rampart-ids/rampart/internal/abuse"
)

// DefaultBootstrapURL is IANA's RDAP bootstrap service: ipv4.json and
// ipv6.json live below it.
const DefaultBootstrapURL = bootstrap.DefaultBaseURL

// Defaults of Options.
const (
	DefaultMaxAge    = 24 * time.Hour
	DefaultTimeout   = 15 * time.Second
	DefaultMaxBody   = 4 << 20
	DefaultRedirects = 5
)

// ErrNotFound means the registry has no network object for the address
// (HTTP 404).
var ErrNotFound = errors.New("the registry has no network for this address (HTTP 404)")

// ErrRateLimited means the registry refused the query for now (HTTP 429).
var ErrRateLimited = errors.New("rate limited by the registry (HTTP 429)")

// ErrNoServer means the bootstrap data names no RDAP service for the
// address (reserved, private or unallocated space).
var ErrNoServer = errors.New("no RDAP service for this address in the bootstrap data")

// Options configure a Client. The zero value asks IANA's bootstrap service
// and keeps the bootstrap files in memory only.
type Options struct {
	// BootstrapURL is the base URL of ipv4.json and ipv6.json
	// (DefaultBootstrapURL when empty).
	BootstrapURL string
	// CacheDir keeps the bootstrap files between runs; empty keeps them in
	// memory.
	CacheDir string
	// MaxAge is how long bootstrap files are used before they are fetched
	// again (DefaultMaxAge when zero). An expired file still answers when
	// the fetch fails.
	MaxAge time.Duration
	// HTTP is the client for bootstrap files and queries. When nil a
	// client with Timeout is built; a given client keeps its transport, but
	// gets Timeout if it has none, the redirect bound and the body limit.
	HTTP *http.Client
	// Timeout bounds each HTTP request, redirects included
	// (DefaultTimeout when zero).
	Timeout time.Duration
	// MaxBody bounds each response body in bytes (DefaultMaxBody when
	// zero).
	MaxBody int64
	// UserAgent is sent with every request.
	UserAgent string
	// Now is the clock for the bootstrap files' age and Contact.Fetched
	// (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
}

// Client looks up abuse contacts by RDAP. It is safe for concurrent use.
type Client struct {
	http      *http.Client
	baseURL   *url.URL
	userAgent string
	now       func() time.Time
	logger    *slog.Logger

	mu        sync.Mutex // guards bootstrap, which is not safe for concurrent use
	bootstrap *bootstrap.Client
}

// New returns a client for opts.
func New(opts Options) (*Client, error) {
	raw := opts.BootstrapURL
	if raw == "" {
		raw = DefaultBootstrapURL
	}
	base, err := url.Parse(raw)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("rdap bootstrap URL %q: want an http or https URL", raw)
	}
	if !strings.HasSuffix(base.Path, "/") {
		base.Path += "/"
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "rampart (+https://github.com/rampart-ids/rampart)"
	}
	hc := httpClient(opts.HTTP, opts.Timeout, opts.MaxBody)
	c := &Client{
		http:      hc,
		baseURL:   base,
		userAgent: opts.UserAgent,
		now:       opts.Now,
		logger:    opts.Logger.With("component", "rdap"),
		bootstrap: &bootstrap.Client{
			HTTP:    hc,
			BaseURL: base,
			Cache:   newFileCache(opts.CacheDir, opts.MaxAge, opts.Now),
		},
	}
	return c, nil
}

// httpClient returns a copy of hc (or a new client) with a timeout, a
// bounded number of redirects and a body limit.
func httpClient(hc *http.Client, timeout time.Duration, maxBody int64) *http.Client {
	var c http.Client
	if hc != nil {
		c = *hc
	}
	if c.Timeout <= 0 {
		c.Timeout = timeout
	}
	base := c.Transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		t.TLSHandshakeTimeout = 10 * time.Second
		t.ResponseHeaderTimeout = timeout
		base = t
	}
	c.Transport = &limitTransport{base: base, max: maxBody}
	if c.CheckRedirect == nil {
		c.CheckRedirect = checkRedirect
	}
	return &c
}

// checkRedirect bounds redirects: registries redirect queries for space
// transferred to another registry, once; a chain longer than a few is
// broken or hostile, and so is a public server sending us to our own
// network.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= DefaultRedirects {
		return fmt.Errorf("stopped after %d redirects", len(via))
	}
	if len(via) > 0 && !localHost(via[0].URL.Hostname()) && localHost(req.URL.Hostname()) {
		return fmt.Errorf("redirect to the non-public host %q refused", req.URL.Hostname())
	}
	return nil
}

// localHost reports whether host is localhost or a loopback, private,
// link-local or unspecified address literal. (Names are not resolved: the
// guard covers literals.)
func localHost(host string) bool {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	if err != nil {
		return false
	}
	a = a.Unmap()
	return !a.IsGlobalUnicast() || a.IsPrivate()
}

// Refresh fetches the bootstrap files now, whatever their age.
func (c *Client) Refresh(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range []bootstrap.RegistryType{bootstrap.IPv4, bootstrap.IPv6} {
		if err := c.bootstrap.DownloadWithContext(ctx, r); err != nil {
			return fmt.Errorf("rdap bootstrap %s: %w", c.bootstrapFile(r), err)
		}
	}
	return nil
}

func (c *Client) bootstrapFile(r bootstrap.RegistryType) string {
	return c.baseURL.ResolveReference(&url.URL{Path: r.Filename()}).String()
}

// servers returns the RDAP base URLs the bootstrap data names for addr.
func (c *Client) servers(ctx context.Context, addr netip.Addr) ([]*url.URL, error) {
	typ := bootstrap.IPv4
	if addr.Is6() {
		typ = bootstrap.IPv6
	}
	q := (&bootstrap.Question{RegistryType: typ, Query: addr.String()}).WithContext(ctx)
	c.mu.Lock()
	ans, err := c.bootstrap.Lookup(q)
	c.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("rdap bootstrap %s: %w", c.bootstrapFile(typ), err)
	}
	if ans == nil || len(ans.URLs) == 0 {
		return nil, fmt.Errorf("rdap %s: %w (%s)", addr, ErrNoServer, c.bootstrapFile(typ))
	}
	// IANA lists the https URL of a service before its http one; a
	// service with both is asked over https first.
	urls := make([]*url.URL, 0, len(ans.URLs))
	for _, u := range ans.URLs {
		if u.Scheme == "https" {
			urls = append(urls, u)
		}
	}
	for _, u := range ans.URLs {
		if u.Scheme == "http" {
			urls = append(urls, u)
		}
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("rdap %s: %w (%s names only non-http URLs)", addr, ErrNoServer, c.bootstrapFile(typ))
	}
	return urls, nil
}

// Lookup asks the registry responsible for addr for the network that
// contains it. An answer without an abuse mailbox is not an error: the
// Contact's Emails are empty.
func (c *Client) Lookup(ctx context.Context, addr netip.Addr) (abuse.Contact, error) {
	addr = addr.Unmap()
	if !addr.IsValid() {
		return abuse.Contact{}, errors.New("rdap: invalid address")
	}
	bases, err := c.servers(ctx, addr)
	if err != nil {
		return abuse.Contact{}, err
	}
	var errs []error
	if len(bases) > maxServers {
		bases = bases[:maxServers]
	}
	for _, base := range bases {
		u := base.JoinPath("ip", addr.String())
		con, err := c.query(ctx, addr, u.String())
		if err == nil {
			return con, nil
		}
		// A definite answer (no such object, rate limited, garbage) is the
		// registry's; another URL of the same service would say the same.
		// So is a timeout: the next URL is the same slow service.
		var ue *url.Error
		if !errors.As(err, &ue) || ue.Timeout() || ctx.Err() != nil {
			return abuse.Contact{}, err
		}
		c.logger.Debug("rdap server failed, trying the next", "url", u.String(), "error", err)
		errs = append(errs, err)
	}
	if len(errs) == 1 {
		return abuse.Contact{}, errs[0]
	}
	return abuse.Contact{}, joined(errs)
}

// maxServers bounds the URLs of one bootstrap entry that are tried (IANA
// lists one or two: https and http).
const maxServers = 4

// joined is several errors on one line.
type joined []error

func (j joined) Error() string {
	s := make([]string, len(j))
	for i, e := range j {
		s[i] = e.Error()
	}
	return strings.Join(s, "; ")
}

func (j joined) Unwrap() []error { return j }

// query GETs one RDAP URL and parses the answer.
func (c *Client) query(ctx context.Context, addr netip.Addr, rawURL string) (abuse.Contact, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, http.NoBody)
	if err != nil {
		return abuse.Contact{}, fmt.Errorf("rdap %s: %w", rawURL, err)
	}
	req.Header.Set("Accept", "application/rdap+json, application/json")
	req.Header.Set("User-Agent", c.userAgent)
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return abuse.Contact{}, &requestError{url: rawURL, err: ue}
		}
		return abuse.Contact{}, fmt.Errorf("rdap %s: %w", rawURL, err)
	}
	defer resp.Body.Close()
	final := resp.Request.URL.String()
	where := rawURL
	if final != rawURL {
		where = fmt.Sprintf("%s (redirected to %s)", rawURL, final)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return abuse.Contact{}, fmt.Errorf("rdap %s: read answer: %w", where, err)
	}
	c.logger.Debug("rdap answer", "url", final, "status", resp.StatusCode, "bytes", len(body),
		"duration_seconds", time.Since(start).Seconds())
	switch {
	case resp.StatusCode == http.StatusNotFound:
		if t := errorTitle(body); t != "" {
			return abuse.Contact{}, fmt.Errorf("rdap %s: %w: %s", where, ErrNotFound, quoteShort(t))
		}
		return abuse.Contact{}, fmt.Errorf("rdap %s: %w", where, ErrNotFound)
	case resp.StatusCode == http.StatusTooManyRequests:
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			return abuse.Contact{}, fmt.Errorf("rdap %s: %w, retry after %s", where, ErrRateLimited, quoteShort(ra))
		}
		return abuse.Contact{}, fmt.Errorf("rdap %s: %w", where, ErrRateLimited)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		msg := resp.Status
		if t := errorTitle(body); t != "" {
			msg += ": " + t
		}
		return abuse.Contact{}, fmt.Errorf("rdap %s: HTTP %s", where, msg)
	}
	con, err := Parse(addr, body, final)
	if err != nil {
		return abuse.Contact{}, fmt.Errorf("rdap %s: %w", where, err)
	}
	con.Fetched = c.now().UTC()
	return con, nil
}

// requestError is a failed HTTP exchange (no answer): it names the URL
// asked, not the one a redirect led to, and unwraps to the url.Error.
type requestError struct {
	url string
	err *url.Error
}

func (e *requestError) Error() string {
	if e.err.Timeout() {
		// The client's deadline and the transport's header timeout say
		// it in different words; the operator needs one.
		return fmt.Sprintf("rdap %s: no answer in time (Timeout): %v", e.url, e.err.Err)
	}
	return fmt.Sprintf("rdap %s: %v", e.url, e.err.Err)
}
func (e *requestError) Unwrap() error { return e.err }

// limitTransport fails a response body that grows past max bytes, so a
// hostile or broken server cannot fill memory.
type limitTransport struct {
	base http.RoundTripper
	max  int64
}

func (t *limitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > t.max {
		resp.Body.Close()
		return nil, fmt.Errorf("answer of %d bytes exceeds the limit of %d", resp.ContentLength, t.max)
	}
	resp.Body = &limitBody{rc: resp.Body, left: t.max, max: t.max}
	return resp, nil
}

type limitBody struct {
	rc   io.ReadCloser
	left int64
	max  int64
}

func (b *limitBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, fmt.Errorf("answer exceeds the limit of %d bytes", b.max)
	}
	// Read one byte beyond the limit to tell "exactly max" from "more".
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, fmt.Errorf("answer exceeds the limit of %d bytes", b.max)
	}
	return n, err
}

func (b *limitBody) Close() error { return b.rc.Close() }
