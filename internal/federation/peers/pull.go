package peers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/federation"
)

// Store is what the puller needs of the decision store.
type Store interface {
	// FederationDecisions returns the decisions of origin "federation"
	// in force at now.
	FederationDecisions(ctx context.Context, now time.Time) ([]api.Decision, error)
	// AddDecisions stores bans (one list version for all).
	AddDecisions(ctx context.Context, ds []api.Decision, now time.Time) ([]api.Decision, error)
	// DeleteDecision ends a decision early.
	DeleteDecision(ctx context.Context, id int64, now time.Time) error
}

// Options configure a Puller.
type Options struct {
	Config Config
	// Never holds the networks never banned (allowlist, local and
	// management networks): they join Config.Rules.Never.
	Never []netip.Prefix
	Store Store
	// Client makes the requests (default: one with connection and TLS
	// timeouts; each request gets its own deadline).
	Client *http.Client
	// Registry receives the per-peer metrics (nil: none).
	Registry prometheus.Registerer
	Logger   *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Suspect receives the verdicts when Config.Action is ActionFeed: the
	// prefix is suspected until then, and why (the server passes them to
	// its policy engine). A zero until ends the suspicion.
	Suspect func(p netip.Prefix, until time.Time, why string)
	// Sweep is how often every verdict is re-evaluated, so that expired
	// reports and silent peers age out (default 5 s). Deltas are merged
	// and evaluated as they arrive.
	Sweep time.Duration
}

// MaxListBytes bounds an external list.
const MaxListBytes = 32 << 20

// Puller pulls the peers' feeds and the external lists and keeps the
// federation decisions in line with the merged verdicts.
type Puller struct {
	o     Options
	log   *slog.Logger
	now   func() time.Time
	start time.Time

	// wake is signalled when pending work waits for the evaluator.
	wake chan struct{}

	mu      sync.Mutex
	merger  *federation.Merger
	sources map[string]*source
	order   []string
	pending map[netip.Prefix]struct{}
	full    bool
	bans    int
	watched int

	// Owned by the evaluator goroutine.
	decisions  map[netip.Prefix]held
	suppressed map[netip.Prefix]bool

	decisionsTotal *prometheus.CounterVec
}

// held is the federation decisions in force for one prefix.
type held struct {
	ids     []int64
	expires time.Time
}

// source is one peer's or list's state, guarded by Puller.mu.
type source struct {
	name, kind, src string
	trust           float64
	alone           bool
	silentAfter     time.Duration
	// every is how often a healthy source answers: the long-poll wait,
	// or the list's interval.
	every time.Duration

	version            uint64
	generated          time.Time
	lastPull, lastOK   time.Time
	lastErr            string
	lastErrAt          time.Time
	pulls, errs, refus int64
	okSinceStart       bool
	badLines           int
	problems           []string
}

// New checks the options and builds a puller.
func New(o Options) (*Puller, error) {
	if o.Store == nil {
		return nil, errors.New("federation: a decision store is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 4
		o.Client = &http.Client{Transport: t}
	}
	o.Sweep = cmp.Or(o.Sweep, 5*time.Second)
	if o.Config.Action == "" {
		o.Config.Action = ActionBan
	}
	rules := o.Config.Rules
	rules.Never = slices.Concat(rules.Never, o.Never)
	m, err := federation.NewMerger(rules)
	if err != nil {
		return nil, err
	}
	o.Config.Rules = rules
	p := &Puller{
		o: o, log: o.Logger.With("component", "federation"), now: o.Now,
		wake: make(chan struct{}, 1), merger: m, sources: map[string]*source{}, pending: map[netip.Prefix]struct{}{},
		decisions: map[netip.Prefix]held{}, suppressed: map[netip.Prefix]bool{},
	}
	for _, pc := range o.Config.Peers {
		if err := m.SetPeer(federation.Peer{Name: pc.Name, Trust: pc.Trust, Alone: pc.Alone, MaxBits4: pc.MaxBits4, MaxBits6: pc.MaxBits6}); err != nil {
			return nil, err
		}
		p.addSource(&source{name: pc.Name, kind: pc.Kind(), src: pc.URL, trust: pc.Trust, alone: pc.Alone, silentAfter: rules.SilentAfter, every: pc.Wait})
	}
	for _, l := range o.Config.Lists {
		if err := m.SetPeer(federation.Peer{Name: l.Name, Trust: l.Trust, Alone: l.Alone, MaxBits4: l.MaxBits4, MaxBits6: l.MaxBits6, SilentAfter: l.Expiry}); err != nil {
			return nil, err
		}
		p.addSource(&source{name: l.Name, kind: l.Kind(), src: cmp.Or(l.URL, l.File), trust: l.Trust, alone: l.Alone, silentAfter: l.Expiry, every: l.Interval})
	}
	p.decisionsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "rampart_federation_decisions_total", Help: "Federation decisions made (ban, renew) and lifted (lift).",
	}, []string{"action"})
	if o.Registry != nil {
		if err := o.Registry.Register(p.decisionsTotal); err != nil {
			return nil, fmt.Errorf("federation metrics: %w", err)
		}
		if err := o.Registry.Register(newCollector(p)); err != nil {
			return nil, fmt.Errorf("federation metrics: %w", err)
		}
	}
	return p, nil
}

func (p *Puller) addSource(s *source) {
	p.sources[s.name] = s
	p.order = append(p.order, s.name)
}

// Config is the configuration the puller runs with (Never included).
func (p *Puller) Config() Config { return p.o.Config }

// Run pulls every peer and list and keeps the decisions in line until ctx
// ends.
func (p *Puller) Run(ctx context.Context) error {
	p.start = p.now()
	if err := p.reload(ctx, p.start); err != nil {
		return fmt.Errorf("federation: load decisions: %w", err)
	}
	var wg sync.WaitGroup
	for _, pc := range p.o.Config.Peers {
		wg.Go(func() { p.peerLoop(ctx, pc) })
	}
	for _, l := range p.o.Config.Lists {
		wg.Go(func() { p.listLoop(ctx, l) })
	}
	p.log.Info("federation running", "peers", len(p.o.Config.Peers), "lists", len(p.o.Config.Lists), "action", p.o.Config.Action)
	p.evaluateLoop(ctx)
	wg.Wait()
	return nil
}

// kick wakes the evaluator.
func (p *Puller) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// backoff doubles from 1 s up to a minute: a peer back from an outage is
// heard again within a minute.
func backoff(prev time.Duration) time.Duration {
	return min(max(2*prev, time.Second), time.Minute)
}

// fail records a failed pull.
func (p *Puller) fail(name string, err error) {
	now := p.now()
	p.mu.Lock()
	s := p.sources[name]
	s.errs++
	s.lastErr, s.lastErrAt = err.Error(), now
	p.mu.Unlock()
	if errors.Is(err, errRefused) {
		p.log.Error("peer answer refused", "peer", name, "error", err)
	} else {
		p.log.Warn("pull failed", "peer", name, "error", err)
	}
}

// errRefused marks answers that arrived but were refused whole (bad
// signature, stale, malformed).
var errRefused = errors.New("refused")

// peerLoop long-polls one peer's feed until ctx ends.
func (p *Puller) peerLoop(ctx context.Context, pc Peer) {
	var version uint64
	var generated time.Time
	var wait time.Duration
	for ctx.Err() == nil {
		start := time.Now()
		status, err := p.pullPeer(ctx, pc, &version, &generated)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			p.fail(pc.Name, err)
			wait = backoff(wait)
		case status == http.StatusNotModified && time.Since(start) < pc.Wait/2:
			// A peer that answers "unchanged" without holding the poll
			// must not make us spin.
			wait = time.Second
		default:
			wait = 0
		}
		if wait > 0 && !sleep(ctx, wait) {
			return
		}
		if err == nil {
			wait = 0
		}
	}
}

// pullPeer makes one request: the full feed without a version, else the
// changes since it (held by the peer up to pc.Wait).
func (p *Puller) pullPeer(ctx context.Context, pc Peer, version *uint64, generated *time.Time) (int, error) {
	u := pc.URL + "/v1/federation/feed"
	if *version > 0 {
		u += "?since=" + strconv.FormatUint(*version, 10) + "&wait=" + pc.Wait.String()
	}
	rctx, cancel := context.WithTimeout(ctx, pc.Wait+30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+pc.Token)
	p.mu.Lock()
	p.sources[pc.Name].pulls++
	p.sources[pc.Name].lastPull = p.now()
	p.mu.Unlock()
	resp, err := p.o.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("pull %s: %w", pc.URL, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified:
		p.heard(pc.Name)
		return resp.StatusCode, nil
	case http.StatusConflict:
		// The peer's change log does not reach back to our version (it
		// restarted, or we were away long): take the whole feed next.
		*version = 0
		return resp.StatusCode, nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return resp.StatusCode, fmt.Errorf("pull %s: the peer refused our token (HTTP %d)", pc.URL, resp.StatusCode)
	default:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return resp.StatusCode, fmt.Errorf("pull %s: HTTP %d: %s", pc.URL, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	body, err := readLimited(resp.Body, api.MaxFeedBytes)
	if err != nil {
		return resp.StatusCode, fmt.Errorf("pull %s: %w", pc.URL, err)
	}
	if *version == 0 {
		f, err := federation.VerifyFeed(pc.Key, body)
		if err != nil {
			return resp.StatusCode, fmt.Errorf("%w: feed of %s: %w", errRefused, pc.URL, err)
		}
		if f.Generated.Before(*generated) {
			return resp.StatusCode, fmt.Errorf("%w: feed of %s generated %s, before the one we hold (%s): a replay?", errRefused, pc.URL, f.Generated, *generated)
		}
		p.applyFeed(pc.Name, f)
		*version, *generated = f.Version, f.Generated
		return resp.StatusCode, nil
	}
	d, err := federation.VerifyFeedDelta(pc.Key, body)
	if err != nil {
		return resp.StatusCode, fmt.Errorf("%w: delta of %s: %w", errRefused, pc.URL, err)
	}
	if d.From != *version || d.Generated.Before(*generated) {
		err := fmt.Errorf("%w: delta of %s from version %d (generated %s), we hold %d (%s)", errRefused, pc.URL, d.From, d.Generated, *version, *generated)
		*version = 0
		return resp.StatusCode, err
	}
	p.applyDelta(pc.Name, d)
	*version, *generated = d.To, d.Generated
	return resp.StatusCode, nil
}

func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("answer larger than %d bytes", limit)
	}
	return b, nil
}

// heard records an unchanged answer: we hold the peer's current data.
func (p *Puller) heard(name string) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.merger.Heard(name, now)
	p.ok(p.sources[name], now)
}

func (p *Puller) ok(s *source, now time.Time) {
	s.lastOK, s.okSinceStart = now, true
	s.lastErr = ""
}

func reportsOf(es []federation.FeedEntry) []federation.Report {
	out := make([]federation.Report, len(es))
	for i, e := range es {
		out[i] = e.Report()
	}
	return out
}

// applyFeed replaces a peer's reports with a full feed.
func (p *Puller) applyFeed(name string, f federation.Feed) {
	now := p.now()
	p.mu.Lock()
	refused, _ := p.merger.Replace(name, reportsOf(f.Entries), now)
	s := p.sources[name]
	s.version, s.generated = f.Version, f.Generated
	p.ok(s, now)
	s.refus += int64(len(refused))
	p.full = true
	p.mu.Unlock()
	p.logRefused(refused)
	p.log.Info("feed loaded", "peer", name, "version", f.Version, "entries", len(f.Entries), "refused", len(refused))
	p.kick()
}

// applyDelta merges a delta: only the prefixes it touches are evaluated.
func (p *Puller) applyDelta(name string, d federation.FeedDelta) {
	now := p.now()
	p.mu.Lock()
	refused, _ := p.merger.Update(name, reportsOf(d.Changed), d.Withdrawn, now)
	s := p.sources[name]
	s.version, s.generated = d.To, d.Generated
	p.ok(s, now)
	s.refus += int64(len(refused))
	for _, e := range d.Changed {
		p.pending[e.Prefix] = struct{}{}
	}
	for _, w := range d.Withdrawn {
		p.pending[w] = struct{}{}
	}
	p.mu.Unlock()
	p.logRefused(refused)
	p.log.Debug("delta merged", "peer", name, "from", d.From, "to", d.To, "changed", len(d.Changed), "withdrawn", len(d.Withdrawn))
	p.kick()
}

func (p *Puller) logRefused(rs []federation.Refusal) {
	for i, r := range rs {
		if i == 5 {
			p.log.Warn("more reports refused", "peer", r.Peer, "count", len(rs)-5)
			break
		}
		p.log.Warn("report refused", "peer", r.Peer, "prefix", r.Prefix, "reason", r.Reason)
	}
}

// listLoop fetches one external list every interval until ctx ends.
func (p *Puller) listLoop(ctx context.Context, l List) {
	var st listState
	for ctx.Err() == nil {
		wait, err := p.fetchList(ctx, l, &st)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			p.fail(l.Name, err)
		}
		if !sleep(ctx, wait) {
			return
		}
	}
}

// listState is what a list fetch remembers for the next one.
type listState struct {
	etag, lastModified string
	modTime            time.Time
	size               int64
	loaded             bool
}

// fetchList fetches (or reads) a list and merges it when it changed. It
// returns how long to wait before the next fetch.
func (p *Puller) fetchList(ctx context.Context, l List, st *listState) (time.Duration, error) {
	now := p.now()
	p.mu.Lock()
	p.sources[l.Name].pulls++
	p.sources[l.Name].lastPull = now
	p.mu.Unlock()
	// After a failure, try again sooner than the interval, but never
	// sooner than the provider allows.
	retry := max(MinInterval(l.URL), min(l.Interval, 15*time.Minute))
	var res federation.ListResult
	if l.File != "" {
		fi, err := os.Stat(l.File)
		if err != nil {
			return retry, fmt.Errorf("list %s: %w", l.File, err)
		}
		if st.loaded && fi.ModTime().Equal(st.modTime) && fi.Size() == st.size {
			p.listUnchanged(l)
			return l.Interval, nil
		}
		f, err := os.Open(l.File)
		if err != nil {
			return retry, fmt.Errorf("list %s: %w", l.File, err)
		}
		defer f.Close()
		if fi.Size() > MaxListBytes {
			return retry, fmt.Errorf("list %s: %d bytes, at most %d", l.File, fi.Size(), MaxListBytes)
		}
		if res, err = federation.ParseList(l.File, l.Format, io.LimitReader(f, MaxListBytes)); err != nil {
			return retry, err
		}
		st.modTime, st.size = fi.ModTime(), fi.Size()
	} else {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		req, err := http.NewRequestWithContext(rctx, http.MethodGet, l.URL, nil)
		if err != nil {
			return retry, err
		}
		if st.etag != "" {
			req.Header.Set("If-None-Match", st.etag)
		}
		if st.lastModified != "" {
			req.Header.Set("If-Modified-Since", st.lastModified)
		}
		resp, err := p.o.Client.Do(req)
		if err != nil {
			return retry, fmt.Errorf("list %s: %w", l.URL, err)
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusNotModified && st.loaded:
			p.listUnchanged(l)
			return l.Interval, nil
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				retry = max(retry, time.Duration(s)*time.Second)
			}
			return retry, fmt.Errorf("list %s: HTTP %d, retrying in %s", l.URL, resp.StatusCode, retry)
		case resp.StatusCode != http.StatusOK:
			return retry, fmt.Errorf("list %s: HTTP %d", l.URL, resp.StatusCode)
		}
		body, err := readLimited(resp.Body, MaxListBytes)
		if err != nil {
			return retry, fmt.Errorf("list %s: %w", l.URL, err)
		}
		if res, err = federation.ParseList(l.URL, l.Format, strings.NewReader(string(body))); err != nil {
			return retry, err
		}
		st.etag, st.lastModified = resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	}
	st.loaded = true
	p.applyList(l, res)
	return l.Interval, nil
}

func (p *Puller) listUnchanged(l List) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	// An unchanged list is renewed: its entries count for another
	// expiry.
	p.merger.Heard(l.Name, now)
	s := p.sources[l.Name]
	p.ok(s, now)
	if !s.generated.IsZero() && now.Sub(s.generated) > l.Expiry/2 {
		// Re-stamp the reports' expiry so they do not lapse while the
		// provider keeps answering "unchanged".
		prefixes := p.merger.Prefixes(l.Name)
		reports := make([]federation.Report, len(prefixes))
		for i, pf := range prefixes {
			reports[i] = federation.Report{Prefix: pf, Banned: true, Expires: now.Add(l.Expiry), First: now, Last: now}
		}
		p.merger.Replace(l.Name, reports, now)
		s.generated = now
		p.full = true
		defer p.kick()
	}
}

// applyList replaces a list's reports: every entry a ban until now +
// expiry.
func (p *Puller) applyList(l List, res federation.ListResult) {
	now := p.now()
	reports := make([]federation.Report, len(res.Prefixes))
	for i, pf := range res.Prefixes {
		reports[i] = federation.Report{Prefix: pf, Banned: true, Expires: now.Add(l.Expiry), First: now, Last: now}
	}
	problems := make([]string, 0, min(len(res.Problems), 10))
	for _, e := range res.Problems[:min(len(res.Problems), 10)] {
		problems = append(problems, e.Error())
	}
	p.mu.Lock()
	refused, _ := p.merger.Replace(l.Name, reports, now)
	s := p.sources[l.Name]
	s.generated = now
	p.ok(s, now)
	s.refus += int64(len(refused))
	s.badLines, s.problems = res.BadLines, problems
	p.full = true
	p.mu.Unlock()
	p.logRefused(refused)
	for _, e := range res.Problems {
		p.log.Warn("list line skipped", "list", l.Name, "error", e)
	}
	p.log.Info("list loaded", "list", l.Name, "entries", len(res.Prefixes), "bad_lines", res.BadLines, "refused", len(refused))
	p.kick()
}

// evaluateLoop merges what arrived and keeps the decisions in line.
func (p *Puller) evaluateLoop(ctx context.Context) {
	t := time.NewTicker(p.o.Sweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-t.C:
			p.mu.Lock()
			p.full = true
			p.mu.Unlock()
		}
		if err := p.evaluate(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("federation decisions", "error", err)
			// Try the whole set again on the next sweep.
			p.mu.Lock()
			p.full = true
			p.mu.Unlock()
		}
	}
}

// Evaluate runs one evaluation now (tests and benchmarks; Run does it on
// its own).
func (p *Puller) Evaluate(ctx context.Context) error { return p.evaluate(ctx) }

func (p *Puller) evaluate(ctx context.Context) error {
	p.mu.Lock()
	now := p.now()
	full := p.full
	var vs []federation.Verdict
	switch {
	case full:
		vs = p.merger.Evaluate(now)
	case len(p.pending) > 0:
		vs = p.merger.Verdicts(slices.Collect(maps.Keys(p.pending)), now)
	}
	p.full = false
	clear(p.pending)
	liftOK := p.liftAllowed(now)
	p.mu.Unlock()
	if !full && len(vs) == 0 {
		return nil
	}
	return p.reconcile(ctx, vs, full, liftOK, now)
}

// liftAllowed: after a restart, bans are lifted only once every source
// answered, or once a silent source would have aged out anyway, so that a
// restart does not lift bans whose reports have not been pulled yet.
func (p *Puller) liftAllowed(now time.Time) bool {
	if now.Sub(p.start) >= p.o.Config.Rules.SilentAfter {
		return true
	}
	for _, s := range p.sources {
		if !s.okSinceStart {
			return false
		}
	}
	return true
}

// reload reads the federation decisions in force from the store. A
// decision we held that vanished before its expiry was deleted by an
// admin: its prefix is not banned again until its verdict ends.
func (p *Puller) reload(ctx context.Context, now time.Time) error {
	ds, err := p.o.Store.FederationDecisions(ctx, now)
	if err != nil {
		return err
	}
	cur := map[netip.Prefix]held{}
	for _, d := range ds {
		h := cur[d.Value]
		h.ids = append(h.ids, d.ID)
		if d.Expires.After(h.expires) {
			h.expires = d.Expires
		}
		cur[d.Value] = h
	}
	for pf, h := range p.decisions {
		if _, ok := cur[pf]; !ok && h.expires.After(now) {
			p.suppressed[pf] = true
			p.log.Info("federation ban deleted by an admin: not banned again while its verdict lasts", "prefix", pf)
		}
	}
	p.decisions = cur
	return nil
}

func (p *Puller) reconcile(ctx context.Context, vs []federation.Verdict, full, liftOK bool, now time.Time) error {
	if full {
		if err := p.reload(ctx, now); err != nil {
			return err
		}
	}
	rules := p.o.Config.Rules
	var add []api.Decision
	var lift []netip.Prefix
	seen := make(map[netip.Prefix]bool, len(vs))
	watched := 0
	for _, v := range vs {
		seen[v.Prefix] = true
		h, have := p.decisions[v.Prefix]
		if p.o.Config.Action == ActionFeed && p.o.Suspect != nil {
			// Suspicions are renewed at every evaluation and end with
			// their verdict.
			if v.Ban && !overlapsAny(v.Prefix, rules.Never) {
				p.o.Suspect(v.Prefix, now.Add(rules.Ban), v.Why)
				watched++
			} else {
				p.o.Suspect(v.Prefix, time.Time{}, "")
			}
			continue
		}
		if !v.Ban {
			delete(p.suppressed, v.Prefix)
			if have && liftOK {
				lift = append(lift, v.Prefix)
			}
			continue
		}
		if overlapsAny(v.Prefix, rules.Never) || p.suppressed[v.Prefix] {
			continue
		}
		if p.o.Config.Action == ActionWatch {
			watched++
			continue
		}
		// Renew a ban whose verdict holds once half of it has run.
		if have && h.expires.Sub(now) > rules.Ban/2 {
			continue
		}
		add = append(add, p.decisionFor(v, have))
	}
	if full {
		for pf := range p.decisions {
			if !seen[pf] && liftOK {
				lift = append(lift, pf)
			}
		}
		for pf := range p.suppressed {
			if !seen[pf] {
				delete(p.suppressed, pf)
			}
		}
	}
	var errs []error
	if len(add) > 0 {
		stored, err := p.o.Store.AddDecisions(ctx, add, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("store federation bans: %w", err))
		}
		for _, d := range stored {
			h, renewed := p.decisions[d.Value]
			h.ids = append(h.ids, d.ID)
			h.expires = d.Expires
			p.decisions[d.Value] = h
			action := "ban"
			if renewed {
				action = "renew"
			}
			p.decisionsTotal.WithLabelValues(action).Inc()
			p.log.Info("federation "+action, "prefix", d.Value, "expires", d.Expires, "reason", d.Reason, "decision", d.ID)
		}
	}
	slices.SortFunc(lift, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	for _, pf := range lift {
		h := p.decisions[pf]
		var failed bool
		for _, id := range h.ids {
			if err := p.o.Store.DeleteDecision(ctx, id, now); err != nil {
				errs = append(errs, fmt.Errorf("lift federation ban %d of %s: %w", id, pf, err))
				failed = true
			}
		}
		if !failed {
			delete(p.decisions, pf)
			p.decisionsTotal.WithLabelValues("lift").Inc()
			p.log.Info("federation lift", "prefix", pf, "decisions", h.ids)
		}
	}
	p.mu.Lock()
	p.bans = len(p.decisions)
	if full {
		p.watched = watched
	}
	p.mu.Unlock()
	return errors.Join(errs...)
}

func overlapsAny(p netip.Prefix, nets []netip.Prefix) bool {
	for _, n := range nets {
		if n.Overlaps(p) {
			return true
		}
	}
	return false
}

// WhyPeer is one peer's part in a federation decision: the decision's
// Why["peers"] lists them.
type WhyPeer struct {
	Peer     string         `json:"peer"`
	Trust    float64        `json:"trust"`
	Evidence float64        `json:"evidence"`
	Alerts   int            `json:"alerts"`
	MaxLevel int            `json:"max_level,omitempty"`
	Groups   map[string]int `json:"groups,omitempty"`
	First    time.Time      `json:"first,omitzero"`
	Last     time.Time      `json:"last,omitzero"`
	Banned   bool           `json:"banned"`
	Expires  time.Time      `json:"expires,omitzero"`
	Alone    bool           `json:"alone,omitempty"`
}

// decisionFor turns a ban verdict into a decision that says why: the
// rule, the score and every peer's part.
func (p *Puller) decisionFor(v federation.Verdict, renew bool) api.Decision {
	rules := p.o.Config.Rules
	var reason strings.Builder
	reason.WriteString("reported by ")
	peers := make([]WhyPeer, len(v.Contributions))
	for i, c := range v.Contributions {
		r := c.Report
		if i > 0 {
			reason.WriteString(", ")
		}
		reason.WriteString(c.Peer)
		switch {
		case r.Banned && r.Alerts > 0:
			reason.WriteString(" (ban, " + alerts(r.Alerts) + ")")
		case r.Banned:
			reason.WriteString(" (ban)")
		default:
			reason.WriteString(" (" + alerts(r.Alerts) + ")")
		}
		peers[i] = WhyPeer{Peer: c.Peer, Trust: c.Trust, Evidence: round2(c.Evidence), Alerts: r.Alerts, MaxLevel: r.MaxLevel,
			Groups: r.Groups, First: r.First, Last: r.Last, Banned: r.Banned, Alone: c.Alone}
		if r.Banned {
			peers[i].Expires = r.Expires
		}
	}
	reason.WriteString(": " + v.Why)
	why := map[string]any{
		"rule": v.Why, "score": round2(v.Score), "threshold": rules.Threshold, "min_peers": rules.MinPeers,
		"peers": peers,
	}
	if rules.Quorum > 0 {
		why["quorum"] = rules.Quorum
	}
	if renew {
		why["renewed"] = true
	}
	return api.Decision{
		Value: v.Prefix, Action: "ban", Origin: "federation", Rule: "federation", Author: "federation",
		Reason: reason.String(), Expires: v.Expires, Why: why,
	}
}

func alerts(n int) string {
	if n == 1 {
		return "1 alert"
	}
	return strconv.Itoa(n) + " alerts"
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// Status is every source's state, in configuration order.
func (p *Puller) Status() api.FederationStatus {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	st := api.FederationStatus{Enabled: true, Action: p.o.Config.Action, Bans: p.bans, Watched: p.watched, Peers: make([]api.PeerStatus, 0, len(p.order))}
	for _, name := range p.order {
		s := p.sources[name]
		ps := api.PeerStatus{
			Name: s.name, Kind: s.kind, Source: s.src, Trust: s.trust, Alone: s.alone,
			Version: s.version, Generated: s.generated, LastPull: s.lastPull, LastOK: s.lastOK, LagSeconds: -1,
			Entries: p.merger.Reports(name), Refused: s.refus, Pulls: s.pulls, Errors: s.errs,
			LastError: s.lastErr, LastErrorAt: s.lastErrAt, BadLines: s.badLines, Problems: s.problems,
			Silent: s.lastOK.IsZero() || now.Sub(s.lastOK) > s.silentAfter,
		}
		if !s.lastOK.IsZero() {
			// A long poll in progress means we are current: the peer
			// answers as soon as something changes. Lag is how overdue
			// its next answer is.
			ps.LagSeconds = max(now.Sub(s.lastOK)-s.every, 0).Seconds()
		}
		st.Peers = append(st.Peers, ps)
	}
	return st
}

// collector exports Status as Prometheus series at scrape time.
type collector struct {
	p                                                *Puller
	up, version, lag, lastOK, entries, pulls, errors *prometheus.Desc
	refused, badLines, bans, watched                 *prometheus.Desc
}

func newCollector(p *Puller) *collector {
	peer := []string{"peer"}
	return &collector{p: p,
		up:       prometheus.NewDesc("rampart_federation_peer_up", "1 when the peer's last pull worked and its contribution counts.", []string{"peer", "kind"}, nil),
		version:  prometheus.NewDesc("rampart_federation_peer_version", "The peer's feed version we hold.", peer, nil),
		lag:      prometheus.NewDesc("rampart_federation_peer_lag_seconds", "How overdue the peer's next answer is: seconds since we last held its current data, beyond its poll wait or fetch interval.", peer, nil),
		lastOK:   prometheus.NewDesc("rampart_federation_peer_last_success_timestamp_seconds", "When we last held the peer's current data.", peer, nil),
		entries:  prometheus.NewDesc("rampart_federation_peer_entries", "Reports of the peer the merger holds.", peer, nil),
		pulls:    prometheus.NewDesc("rampart_federation_peer_pulls_total", "Pulls (feeds, deltas, long polls, list fetches) attempted.", peer, nil),
		errors:   prometheus.NewDesc("rampart_federation_peer_errors_total", "Pulls that failed or were refused (bad signature, stale, unreachable).", peer, nil),
		refused:  prometheus.NewDesc("rampart_federation_peer_refused_reports_total", "Reports refused by the rules (never-blocked networks, too wide).", peer, nil),
		badLines: prometheus.NewDesc("rampart_federation_list_bad_lines", "Unreadable lines in the list's last fetch.", peer, nil),
		bans:     prometheus.NewDesc("rampart_federation_bans", "Federation decisions in force.", nil, nil),
		watched:  prometheus.NewDesc("rampart_federation_watched", "Ban verdicts not acted on (watch-only policy).", nil, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.version, c.lag, c.lastOK, c.entries, c.pulls, c.errors, c.refused, c.badLines, c.bans, c.watched} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.p.Status()
	for _, s := range st.Peers {
		up := 0.0
		if !s.Silent && s.LastError == "" {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up, s.Name, s.Kind)
		if s.Kind == "site" {
			ch <- prometheus.MustNewConstMetric(c.version, prometheus.GaugeValue, float64(s.Version), s.Name)
		} else {
			ch <- prometheus.MustNewConstMetric(c.badLines, prometheus.GaugeValue, float64(s.BadLines), s.Name)
		}
		if !s.LastOK.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, s.LagSeconds, s.Name)
			ch <- prometheus.MustNewConstMetric(c.lastOK, prometheus.GaugeValue, float64(s.LastOK.UnixNano())/1e9, s.Name)
		}
		ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(s.Entries), s.Name)
		ch <- prometheus.MustNewConstMetric(c.pulls, prometheus.CounterValue, float64(s.Pulls), s.Name)
		ch <- prometheus.MustNewConstMetric(c.errors, prometheus.CounterValue, float64(s.Errors), s.Name)
		ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(s.Refused), s.Name)
	}
	ch <- prometheus.MustNewConstMetric(c.bans, prometheus.GaugeValue, float64(st.Bans))
	ch <- prometheus.MustNewConstMetric(c.watched, prometheus.GaugeValue, float64(st.Watched))
}
