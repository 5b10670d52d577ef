package server

// CrowdSec bouncer compatibility: the two read paths of CrowdSec's Local API
// (v1) that bouncers use, so that the existing CrowdSec bouncers enforce
// Rampart's decisions unmodified. The protocol facts are in
// shared/reference/peers.md §1; docs/api.md lists the paths.
//
// Mapping: every Rampart ban is one CrowdSec decision of type "ban" with
// origin "rampart"; its scenario is "rampart/<rule>" for a policy ban and
// "rampart/<origin>" otherwise ("rampart/manual"); a single address has
// scope "Ip" and value "192.0.2.7", a wider prefix scope "Range" and value
// "198.51.100.0/24". A permanent ban is announced with a duration of ten
// years (CrowdSec has no permanent decisions).
//
// Where Rampart departs from the Local API, it is to lose nothing:
//   - a pull that fails half-way breaks the response (the client sees an
//     error) instead of closing the JSON as if it were complete;
//   - when the longest ban of a value is deleted while a shorter one stays,
//     the delta announces the shorter one again under "new" (the Local API
//     says nothing, and the bouncer keeps the longer timeout);
//   - live-mode queries do not move the key's LastPull (the Local API does,
//     which makes a stream bouncer on the same key skip decisions);
//   - startup=true lists under "deleted" only the values whose ban was
//     deleted before its expiry, while that expiry has not come (a
//     restarted bouncer's firewall may still hold them); the Local API
//     lists every expired decision it keeps, which the firewall has
//     already timed out by itself;
//   - a delta's "deleted" reaches back at most csEndedWindow, like the
//     Local API's default flush of old decisions;
//   - the delta state (LastPull) is kept per key and client address, so
//     bouncers on several hosts sharing one key do not take each other's
//     deltas (the Local API keys name@ip rows only since 1.6.5, and still
//     mixes bouncers behind one address).

import (
	"bufio"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/serverdb"
)

const (
	// csOrigin is the origin of every decision Rampart serves.
	csOrigin = "rampart"
	// csPermanent is the duration a permanent ban is announced with.
	csPermanent = 10 * 365 * 24 * time.Hour
	// csEndedWindow bounds how far back a delta's "deleted" reports
	// decisions that ended.
	csEndedWindow = 7 * 24 * time.Hour
	// csPullSlack widens every delta window back from the key's last pull:
	// times are whole seconds, a write may commit a little after it was
	// stamped, and replicas' clocks differ. A decision sent twice costs a
	// bouncer nothing; one never sent is a hole.
	csPullSlack = 2 * time.Second
	// csHeaderKey is the header bouncers authenticate with.
	csHeaderKey = "X-Api-Key"
)

// errCSForbidden is the Local API's answer to a bad key.
var errCSForbidden = &httpError{status: http.StatusForbidden, msg: "access forbidden"}

// crowdsec adapts a handler to the Local API's error shape,
// {"message":"..."}, which bouncers log.
func (s *Server) crowdsec(fn handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		err := fn(w, r)
		if err == nil {
			return nil
		}
		var he *httpError
		switch {
		case errors.As(err, &he):
		case r.Context().Err() != nil:
			return nil
		default:
			s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
			he = &httpError{status: http.StatusInternalServerError, msg: "internal error"}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(he.status)
		b := append([]byte(`{"message":`), appendJSONString(nil, he.msg)...)
		_, _ = w.Write(append(b, "}\n"...))
		return nil
	}
}

// bouncer authenticates a CrowdSec bouncer by its X-Api-Key: an agent (or
// admin) token.
func (s *Server) bouncer(r *http.Request) (api.Token, error) {
	tok, err := s.lookup(r, r.Header.Get(csHeaderKey))
	switch {
	case errors.Is(err, errUnauthorized):
		s.metrics.authFailures.WithLabelValues("api_key").Inc()
		return api.Token{}, errCSForbidden
	case err != nil:
		return api.Token{}, err
	case tok.Role != api.RoleAgent && tok.Role != api.RoleAdmin:
		s.metrics.authFailures.WithLabelValues("role").Inc()
		return api.Token{}, errCSForbidden
	}
	return tok, nil
}

// csFilter is the Local API's query filters, applied to each decision.
type csFilter struct {
	ip, rng       bool // scopes
	origins       []string
	containing    []string // lower case
	notContaining []string
	dedup         bool
}

func parseCSFilter(q url.Values, defaultScopes string) csFilter {
	f := csFilter{dedup: q.Get("dedup") != "false"}
	scopes := defaultScopes
	if q.Has("scopes") {
		scopes = q.Get("scopes")
	} else if q.Has("scope") {
		scopes = q.Get("scope")
	}
	for sc := range strings.SplitSeq(scopes, ",") {
		switch strings.ToLower(strings.TrimSpace(sc)) {
		case "ip":
			f.ip = true
		case "range":
			f.rng = true
		}
	}
	if o := q.Get("origins"); o != "" {
		f.origins = strings.Split(o, ",")
	}
	if c := q.Get("scenarios_containing"); c != "" {
		f.containing = strings.Split(strings.ToLower(c), ",")
	}
	if c := q.Get("scenarios_not_containing"); c != "" {
		f.notContaining = strings.Split(strings.ToLower(c), ",")
	}
	return f
}

func (f csFilter) match(d serverdb.BouncerDecision) bool {
	if d.Value.IsSingleIP() && !f.ip || !d.Value.IsSingleIP() && !f.rng {
		return false
	}
	if f.origins != nil && !containsFold(f.origins, csOrigin) {
		return false
	}
	if f.containing == nil && f.notContaining == nil {
		return true
	}
	sc := strings.ToLower(csScenario(d))
	if f.containing != nil && !anyIn(sc, f.containing) {
		return false
	}
	return f.notContaining == nil || !anyIn(sc, f.notContaining)
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(strings.TrimSpace(v), s) {
			return true
		}
	}
	return false
}

func anyIn(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func csScenario(d serverdb.BouncerDecision) string {
	if d.Rule != "" {
		return "rampart/" + d.Rule
	}
	return "rampart/" + d.Origin
}

// csUntil is a decision's end for comparisons; a permanent ban ends never.
func csUntil(d serverdb.BouncerDecision) time.Time {
	if end, ok := d.End(); ok {
		return end
	}
	return time.Unix(1<<62, 0)
}

// csPromised is the end a bouncer was told when the decision was new: the
// expiry, whatever happened since.
func csPromised(d serverdb.BouncerDecision) time.Time {
	if d.Expires.IsZero() {
		return time.Unix(1<<62, 0)
	}
	return d.Expires
}

// longer orders decisions as the Local API's de-duplication does: the later
// end wins, then the greater scenario; Rampart breaks the last tie by id.
func longer(a, b serverdb.BouncerDecision) bool {
	ua, ub := csUntil(a), csUntil(b)
	if !ua.Equal(ub) {
		return ua.After(ub)
	}
	if sa, sb := csScenario(a), csScenario(b); sa != sb {
		return sa > sb
	}
	return a.ID > b.ID
}

// csPull is one stream answer's rules: which decisions of a value's group
// go under "new" and which under "deleted".
type csPull struct {
	filter  csFilter
	now     time.Time
	startup bool
	// since: decisions created from then on are new (deltas).
	since time.Time
	// endedSince: decisions that ended from then on are deleted (zero
	// at startup: the selection bounds them).
	endedSince time.Time
}

// group keeps the decisions of one value the filter lets through.
func (p *csPull) group(all []serverdb.BouncerDecision, keep []serverdb.BouncerDecision) []serverdb.BouncerDecision {
	keep = keep[:0]
	for _, d := range all {
		if p.filter.match(d) {
			keep = append(keep, d)
		}
	}
	return keep
}

// newOf appends what a group contributes to "new".
func (p *csPull) newOf(g []serverdb.BouncerDecision, out []serverdb.BouncerDecision) []serverdb.BouncerDecision {
	var best serverdb.BouncerDecision
	found := false
	for _, d := range g {
		if !d.Active(p.now) {
			continue
		}
		if !p.filter.dedup {
			if p.startup || !d.Created.Before(p.since) {
				out = append(out, d)
			}
			continue
		}
		if !found || longer(d, best) {
			best, found = d, true
		}
	}
	if !found {
		return out
	}
	if p.startup || !best.Created.Before(p.since) {
		return append(out, best)
	}
	// The longest ban is old, but a longer one the bouncer was told of
	// was deleted since: announce the one in force again, so that the
	// bouncer shortens its timeout to it.
	for _, d := range g {
		if !d.Deleted.IsZero() && !d.Deleted.Before(p.endedSince) && csPromised(d).After(csUntil(best)) {
			return append(out, best)
		}
	}
	return out
}

// deletedOf appends what a group contributes to "deleted": with
// de-duplication, the decision that ended last, when none is in force.
func (p *csPull) deletedOf(g []serverdb.BouncerDecision, out []serverdb.BouncerDecision) []serverdb.BouncerDecision {
	var last serverdb.BouncerDecision
	found := false
	for _, d := range g {
		if d.Active(p.now) {
			if p.filter.dedup {
				return out
			}
			continue
		}
		end := csUntil(d)
		if end.Before(p.endedSince) || end.After(p.now) {
			continue
		}
		if !p.filter.dedup {
			out = append(out, d)
			continue
		}
		if !found || longer(d, last) {
			last, found = d, true
		}
	}
	if found {
		out = append(out, last)
	}
	return out
}

// getDecisionsStream serves GET and HEAD /v1/decisions/stream: with
// startup=true every decision in force (and under "deleted" the bans
// deleted before their expiry), otherwise what changed since this key's
// last complete pull.
// The answer streams: the database is read a page at a time and each
// decision is encoded as it is read.
func (s *Server) getDecisionsStream(w http.ResponseWriter, r *http.Request) error {
	tok, err := s.bouncer(r)
	if err != nil {
		return err
	}
	if r.Method == http.MethodHead {
		// No body and no state change: the Local API answers HEAD
		// without touching the key's LastPull.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		return nil
	}
	q := r.URL.Query()
	start := s.now()
	p := &csPull{filter: parseCSFilter(q, "ip,range"), now: start, startup: q.Get("startup") == "true"}
	newSel := serverdb.BouncerSelection{Kind: serverdb.BouncerActive, Now: start}
	delSel := serverdb.BouncerSelection{Kind: serverdb.BouncerUnbanned, Now: start}
	if !p.startup {
		last, err := s.db.LastPull(r.Context(), tok.ID, bouncerClient(r))
		if err != nil {
			return err
		}
		p.endedSince = start.Add(-csEndedWindow)
		if !last.IsZero() {
			p.since = last.Add(-csPullSlack)
			if p.since.After(p.endedSince) {
				p.endedSince = p.since
			}
		}
		newSel = serverdb.BouncerSelection{Kind: serverdb.BouncerNew, Now: start, Since: p.since, EndedSince: p.endedSince}
		delSel = serverdb.BouncerSelection{Kind: serverdb.BouncerEnded, Now: start, EndedSince: p.endedSince}
	}

	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := newCSEncoder(w, start)
	var keep, out []serverdb.BouncerDecision
	section := func(sel serverdb.BouncerSelection, pick func(g, out []serverdb.BouncerDecision) []serverdb.BouncerDecision) error {
		enc.n = 0
		return s.db.BouncerGroups(r.Context(), sel, func(all []serverdb.BouncerDecision) error {
			keep = p.group(all, keep)
			out = pick(keep, out[:0])
			for _, d := range out {
				if err := enc.decision(d); err != nil {
					return err
				}
			}
			// A slow bouncer gets time per part of the answer, not
			// for the whole of it.
			if enc.written >= 1<<20 {
				enc.written = 0
				_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
			}
			return nil
		})
	}
	_, err = enc.w.WriteString(`{"new":[`)
	if err == nil {
		err = section(newSel, p.newOf)
	}
	if err == nil {
		_, err = enc.w.WriteString(`],"deleted":[`)
	}
	if err == nil {
		err = section(delSel, p.deletedOf)
	}
	if err == nil {
		_, err = enc.w.WriteString("]}\n")
	}
	if err == nil {
		err = enc.w.Flush()
	}
	if err != nil {
		if r.Context().Err() == nil {
			s.log.Warn("crowdsec stream broken off", "token", tok.Name, "startup", p.startup, "error", err)
		}
		// The status is sent: break the response so that the bouncer
		// sees an error rather than a list that looks complete.
		panic(http.ErrAbortHandler)
	}
	// Only a complete answer moves the key's state: a broken one is sent
	// again in full by the next delta.
	if err := s.db.SetLastPull(r.Context(), tok.ID, bouncerClient(r), start); err != nil {
		s.log.Warn("record bouncer pull", "token", tok.Name, "error", err)
	}
	return nil
}

// getDecisions serves GET and HEAD /v1/decisions, the live mode: the
// decisions in force that match (by default those containing ip= or
// range=), as a JSON array, or null when none does.
func (s *Server) getDecisions(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.bouncer(r); err != nil {
		return err
	}
	q := r.URL.Query()
	f := parseCSFilter(q, "ip,range")
	contains := true
	if c := q.Get("contains"); c != "" {
		var err error
		if contains, err = strconv.ParseBool(c); err != nil {
			return badRequest("contains %q: want true or false", c)
		}
	}
	var target, value netip.Prefix
	for _, key := range []string{"ip", "range"} {
		if v := q.Get(key); v != "" {
			p, err := parseValue(v)
			if err != nil {
				return badRequest("%s %q: not an address or CIDR prefix", key, v)
			}
			target = p
		}
	}
	if v := q.Get("value"); v != "" {
		p, err := parseValue(v)
		if err != nil {
			return badRequest("value %q: not an address or CIDR prefix", v)
		}
		value = p
	}
	none := q.Has("type") && !strings.EqualFold(q.Get("type"), "ban")
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		return nil
	}
	match := func(d serverdb.BouncerDecision) bool {
		switch {
		case !f.match(d):
			return false
		case value.IsValid() && d.Value != value:
			return false
		case target.IsValid() && !contains:
			return d.Value.Bits() >= target.Bits() && target.Contains(d.Value.Addr())
		}
		return true
	}
	now := s.now()
	enc := newCSEncoder(w, now)
	var err error
	write := func(d serverdb.BouncerDecision) error {
		if !match(d) {
			return nil
		}
		if enc.n == 0 {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusOK)
			if _, err := enc.w.WriteString("["); err != nil {
				return err
			}
		}
		return enc.decision(d)
	}
	switch {
	case none:
	case target.IsValid() && contains:
		var ds []serverdb.BouncerDecision
		if ds, err = s.db.BouncerContaining(r.Context(), target, now); err != nil {
			return err
		}
		for _, d := range ds {
			if err = write(d); err != nil {
				break
			}
		}
	default:
		err = s.db.BouncerGroups(r.Context(), serverdb.BouncerSelection{Kind: serverdb.BouncerActive, Now: now}, func(g []serverdb.BouncerDecision) error {
			for _, d := range g {
				if err := write(d); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err != nil {
		if enc.n == 0 {
			return err
		}
		panic(http.ErrAbortHandler)
	}
	if enc.n == 0 {
		// The Local API answers an empty result with null.
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_, err = enc.w.WriteString("null\n")
	} else {
		_, err = enc.w.WriteString("]\n")
	}
	if err == nil {
		err = enc.w.Flush()
	}
	if err != nil && r.Context().Err() == nil {
		s.log.Warn("crowdsec live answer broken off", "error", err)
	}
	return nil
}

// csEncoder writes decisions in the Local API's JSON, without reflection.
type csEncoder struct {
	w       *bufio.Writer
	buf     []byte
	now     time.Time
	n       int // decisions in the current array
	written int // bytes since the last write deadline
}

func newCSEncoder(w http.ResponseWriter, now time.Time) *csEncoder {
	return &csEncoder{w: bufio.NewWriterSize(w, 32<<10), buf: make([]byte, 0, 512), now: now}
}

func (e *csEncoder) decision(d serverdb.BouncerDecision) error {
	b := e.buf[:0]
	if e.n > 0 {
		b = append(b, ',')
	}
	e.n++
	b = appendCSDecision(b, d, e.now)
	e.buf = b
	e.written += len(b)
	_, err := e.w.Write(b)
	return err
}

// appendCSDecision appends one decision as models.Decision marshals it
// (fields in its order; until and simulated are left out, as the Local
// API's FormatDecisions leaves them).
func appendCSDecision(b []byte, d serverdb.BouncerDecision, now time.Time) []byte {
	b = append(b, `{"duration":"`...)
	if end, ok := d.End(); ok {
		b = append(b, end.Sub(now).Round(time.Second).String()...)
	} else {
		b = append(b, csPermanent.String()...)
	}
	b = append(b, `","id":`...)
	b = strconv.AppendInt(b, d.ID, 10)
	b = append(b, `,"origin":"`+csOrigin+`","scenario":`...)
	if d.Rule != "" {
		b = appendJSONString(b, "rampart/"+d.Rule)
	} else {
		b = appendJSONString(b, "rampart/"+d.Origin)
	}
	if d.Value.IsSingleIP() {
		b = append(b, `,"scope":"Ip","type":"ban","uuid":"`...)
	} else {
		b = append(b, `,"scope":"Range","type":"ban","uuid":"`...)
	}
	b = appendCSUUID(b, d.ID)
	b = append(b, `","value":"`...)
	if d.Value.IsSingleIP() {
		b = d.Value.Addr().AppendTo(b)
	} else {
		b = d.Value.AppendTo(b)
	}
	return append(b, `"}`...)
}

// appendCSUUID appends a stable UUID (version 8) for a decision id: every
// replica on one database names a decision alike, and nothing is stored.
// The first 14 hex digits spell "rampart".
func appendCSUUID(b []byte, id int64) []byte {
	const hex = "0123456789abcdef"
	b = append(b, "72616d70-6172-8074-8000-"...)
	for shift := 44; shift >= 0; shift -= 4 {
		b = append(b, hex[(uint64(id)>>shift)&0xf])
	}
	return b
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			b = append(b, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\t':
				b = append(b, '\\', 't')
			case '\r':
				b = append(b, '\\', 'r')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// bouncerClient names a bouncer within its key: the address it connects
// from, so that bouncers on several hosts sharing one key each keep their
// own delta state (CrowdSec keys name@ip rows the same way since 1.6.5).
func bouncerClient(r *http.Request) string {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap().String()
	}
	return r.RemoteAddr
}
