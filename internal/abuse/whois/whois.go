// Package whois finds the abuse contact of an IP address over whois
// (RFC 3912): it asks the IANA whois server, follows the referrals to the
// regional registry and on to the national one (refer:, whois:,
// ReferralServer:, LACNIC's joint-whois hand-off, APNIC's mirrored NIR
// ranges, JPNIC's enclosing allocation), asks each server in the form it
// expects, and reads every registry's spelling of the answer into an
// abuse.Contact.
//
// Every hop is bounded: a timeout per server, a maximum answer size, a
// maximum number of referrals and a loop check; an answer that is binary,
// empty or carries no network is an error that names the server. The
// package only asks whois servers: it does not use RDAP, cache answers or
// decide whom to report to, and it keeps no package-level state.
package whois

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/abuse"
)

// Defaults of the Client fields.
const (
	DefaultStart       = "whois.iana.org:43"
	DefaultTimeout     = 10 * time.Second
	DefaultMaxDepth    = 5
	DefaultMaxResponse = 1 << 20
)

// Errors a caller may branch on; each is wrapped with the server's name.
var (
	// ErrNotFound: the server holds no network for the address.
	ErrNotFound = errors.New("no network for the address in the answer")
	// ErrRateLimited: the server refused the query for now (query or
	// personal-data limit).
	ErrRateLimited = errors.New("rate limited or access denied by the server")
	// ErrMalformed: the answer is not whois text (binary, empty, no
	// attributes at all).
	ErrMalformed = errors.New("malformed answer")
	// ErrTooLarge: the answer exceeds MaxResponse.
	ErrTooLarge = errors.New("answer too large")
	// ErrTimeout: the server did not answer within Timeout.
	ErrTimeout = errors.New("timed out")
	// ErrReferralLoop: a referral leads back to a server already asked
	// the same query.
	ErrReferralLoop = errors.New("referral loop")
	// ErrTooManyReferrals: the chain is longer than MaxDepth.
	ErrTooManyReferrals = errors.New("too many referrals")
	// ErrRefused: a referral names a loopback, private or otherwise
	// non-public address while the start server is public.
	ErrRefused = errors.New("referral to a non-public address refused")
)

// Client looks up abuse contacts by whois. The zero value asks IANA's
// server with the defaults above; a Client is safe for concurrent use as
// long as its fields are not changed.
type Client struct {
	// Start is the first server asked, host[:port] (DefaultStart when
	// empty; port 43 when none is given).
	Start string
	// Dial opens the TCP connection to host:port; a net.Dialer when nil.
	// Tests map the registries' names to loopback listeners here.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Timeout bounds each server: connect, query and the whole answer
	// (DefaultTimeout when zero).
	Timeout time.Duration
	// MaxDepth is the number of referrals followed at most
	// (DefaultMaxDepth when zero).
	MaxDepth int
	// MaxResponse bounds each answer in bytes (DefaultMaxResponse when
	// zero).
	MaxResponse int64
	// Now stamps Contact.Fetched (time.Now when nil).
	Now func() time.Time
	// Logger gets a warning when a hop fails but an earlier answer stands
	// (nil: no logging).
	Logger *slog.Logger
}

// Hop is one server asked (or, for a loop, depth or refused referral, the
// one that was not asked).
type Hop struct {
	// Server is host:port, Query the line sent without CRLF.
	Server string
	Query  string
	// Answer is what the server sent (at most MaxResponse bytes); nil when
	// nothing was read.
	Answer []byte
	// Contact is the answer read for the address (zero on error); its
	// Fetched is set.
	Contact abuse.Contact
	// Referral is where the answer points next (zero for none).
	Referral Referral
	Err      error
	Duration time.Duration
}

// Result is the contact and the way it was found.
type Result struct {
	// Contact is the answer that stands (zero when Trace returns an
	// error).
	Contact abuse.Contact
	// Hops are the servers asked, in order.
	Hops []Hop
}

// Lookup returns the abuse contact of addr (see Trace for which answer
// stands). A registry that names no abuse mailbox gives a Contact without
// Emails, not an error; on error the Contact is zero.
func (c *Client) Lookup(ctx context.Context, addr netip.Addr) (abuse.Contact, error) {
	r, err := c.Trace(ctx, addr)
	return r.Contact, err
}

// Trace is Lookup that also returns every hop, with the raw answers, so a
// caller can show the registry's own words. The hops are returned on error
// too.
//
// The answer that stands is the last one: an answer that refers onwards is
// not used, with two exceptions. When the referring answer already holds
// the network's data and the referral only promises more detail
// (Referral.Detail), a failure of the next server leaves the referring
// answer standing; and when the referral asks the same registry for the
// enclosing allocation (Referral.Parent), only that answer's mailboxes are
// taken, the range and names staying those of the more specific network.
func (c *Client) Trace(ctx context.Context, addr netip.Addr) (Result, error) {
	var res Result
	addr = addr.Unmap()
	if !addr.IsValid() || addr.Zone() != "" {
		return res, fmt.Errorf("whois: invalid address %q", addr)
	}
	start, err := hostPort(c.start())
	if err != nil {
		return res, fmt.Errorf("whois: start server %q: %w", c.start(), err)
	}
	privateStart := !publicHost(start)
	maxDepth := c.MaxDepth
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	asked := map[string]bool{}
	next := Referral{Server: start}
	for {
		query := next.Query
		if query == "" {
			query = Query(next.Server, addr)
		}
		key := next.Server + " " + query
		var stop error
		switch {
		case asked[key]:
			stop = ErrReferralLoop
		case len(res.Hops) > maxDepth:
			stop = fmt.Errorf("%w (more than %d)", ErrTooManyReferrals, maxDepth)
		case !privateStart && !publicHost(next.Server):
			stop = ErrRefused
		}
		if stop != nil {
			res.Hops = append(res.Hops, Hop{Server: next.Server, Query: query,
				Err: fmt.Errorf("whois %s: %w (referred by %s)", next.Server, stop, res.Hops[len(res.Hops)-1].Server)})
			break
		}
		asked[key] = true
		h := c.ask(ctx, next.Server, query, addr)
		res.Hops = append(res.Hops, h)
		if h.Err != nil || h.Referral.IsZero() {
			break
		}
		if len(res.Hops) > 1 && res.Hops[len(res.Hops)-2].Referral.Parent && !h.Referral.Parent {
			// An enclosing allocation is asked for its mailboxes only:
			// the way up is followed, nothing else it points to.
			break
		}
		next = h.Referral
	}
	con, err := c.settle(res.Hops)
	if err != nil {
		return res, err
	}
	res.Contact = con
	return res, nil
}

// settle picks the answer that stands from the hops (see Trace).
func (c *Client) settle(hops []Hop) (abuse.Contact, error) {
	last := len(hops) - 1
	var con abuse.Contact
	j := last
	if err := hops[last].Err; err != nil {
		if last == 0 {
			return abuse.Contact{}, err
		}
		j = last - 1
		ref := hops[j].Referral
		if !ref.Detail && !ref.Parent {
			return abuse.Contact{}, err
		}
		if c.Logger != nil {
			c.Logger.Warn("whois referral failed, the earlier answer stands",
				"component", "whois", "server", hops[last].Server, "earlier", hops[j].Server, "error", err)
		}
		con = hops[j].Contact
	} else {
		con = hops[last].Contact
	}
	for j > 0 && hops[j-1].Referral.Parent {
		specific := hops[j-1].Contact
		if len(con.Emails) > 0 {
			specific.Emails = con.Emails
		}
		con = specific
		j--
	}
	return con, nil
}

func (c *Client) start() string {
	if c.Start == "" {
		return DefaultStart
	}
	return c.Start
}

// ask sends one query and reads the answer.
func (c *Client) ask(ctx context.Context, server, query string, addr netip.Addr) Hop {
	h := Hop{Server: server, Query: query}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	began := time.Now()
	h.Answer, h.Err = c.fetch(ctx, server, query)
	h.Duration = time.Since(began)
	if h.Err != nil {
		return h
	}
	con, ref, err := Parse(server, h.Answer, addr)
	if err != nil {
		h.Err = err
		return h
	}
	con.Fetched = now()
	h.Contact, h.Referral = con, ref
	return h
}

// fetch is the RFC 3912 exchange: connect, send the query and CRLF, read
// until the server closes.
func (c *Client) fetch(ctx context.Context, server, query string) ([]byte, error) {
	if strings.ContainsAny(query, "\r\n") {
		return nil, fmt.Errorf("whois %s: query %q holds a line break", server, query)
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	max := c.MaxResponse
	if max <= 0 {
		max = DefaultMaxResponse
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dial := c.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	conn, err := dial(ctx, "tcp", server)
	if err != nil {
		return nil, c.netError(ctx, server, "connect", timeout, err)
	}
	defer conn.Close()
	// The deadline bounds reads and writes; AfterFunc also ends them when
	// the caller cancels.
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := io.WriteString(conn, query+"\r\n"); err != nil {
		return nil, c.netError(ctx, server, "send query", timeout, err)
	}
	b, err := io.ReadAll(io.LimitReader(conn, max+1))
	if int64(len(b)) > max {
		return b[:max], fmt.Errorf("whois %s: %w (more than %d bytes)", server, ErrTooLarge, max)
	}
	if err != nil {
		return b, c.netError(ctx, server, "read answer", timeout, err)
	}
	return b, nil
}

// netError names the server and turns deadlines into ErrTimeout; the
// caller's cancellation stays context.Canceled.
func (c *Client) netError(ctx context.Context, server, what string, timeout time.Duration, err error) error {
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("whois %s: %s: %w", server, what, ctx.Err())
	}
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("whois %s: %s: %w after %s", server, what, ErrTimeout, timeout)
	}
	return fmt.Errorf("whois %s: %s: %w", server, what, err)
}

// hostPort returns s as host:port, lower-cased, port 43 when s has none.
func hostPort(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("empty server name")
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port: a name, an IPv4 address or a bare IPv6 address.
		host, port = strings.Trim(s, "[]"), "43"
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" || !validHost(host) {
		return "", fmt.Errorf("%q is not a host name or address", s)
	}
	if !validPort(port) {
		return "", fmt.Errorf("%q has no valid port", s)
	}
	return net.JoinHostPort(host, port), nil
}

// validPort accepts 1 to 65535 in decimal.
func validPort(p string) bool {
	if p == "" || len(p) > 5 {
		return false
	}
	n := 0
	for _, r := range p {
		if r < '0' || r > '9' {
			return false
		}
		n = n*10 + int(r-'0')
	}
	return n > 0 && n < 65536
}

// validHost accepts an IP address or a DNS name of letters, digits, dots,
// hyphens and underscores.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	if len(h) > 253 || strings.HasPrefix(h, ".") || strings.HasPrefix(h, "-") || strings.Contains(h, "..") {
		return false
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// publicHost reports whether host:port is a name or a globally routed
// address. A referral to a loopback, private or link-local literal from a
// public server is refused: an answer must not make us talk to our own
// network. (Names are not resolved here; the guard covers literals only.)
func publicHost(server string) bool {
	host, _, err := net.SplitHostPort(server)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host != "localhost" && !strings.HasSuffix(host, ".localhost")
	}
	a = a.Unmap()
	return a.IsGlobalUnicast() && !a.IsPrivate()
}

// Query returns the line server (host:port) expects for addr. The
// registries that want more than the bare address:
//
//   - ARIN, "n + ADDR": "n" restricts the search to network records (an
//     address can also match customer and POC handles); "+" expands the
//     answer with the organisation and its POCs, which is where
//     OrgAbuseEmail is, and lists every network containing the address
//     instead of a summary.
//   - RIPE, "-r ADDR": -r (--no-referenced) leaves out person and role
//     objects. The abuse contact still comes, as the "% Abuse contact for
//     ... is" comment RIPE computes over the hierarchy, while queries that
//     return personal data count towards RIPE's daily limit (1000; over it
//     the address is blocked, %ERROR:201). -B is not wanted: it only lifts
//     the filtering of e-mail and notify attributes, for database updates.
//   - JPNIC, "ADDR/e": without /e the answer is Japanese, in ISO-2022-JP.
//
// APNIC and AFRINIC get the bare address: their abuse-mailbox is in the
// referenced irt and role objects. LACNIC, NIC.BR, KRNIC (whose answer
// holds an English part after the Korean one) and IANA take nothing else.
func Query(server string, addr netip.Addr) string {
	host, _, err := net.SplitHostPort(server)
	if err != nil {
		host = server
	}
	a := addr.Unmap().String()
	switch strings.ToLower(host) {
	case "whois.arin.net":
		return "n + " + a
	case "whois.ripe.net":
		return "-r " + a
	case "whois.nic.ad.jp":
		return a + "/e"
	}
	return a
}
