package server

import (
	"cmp"
	"context"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/blocklist"
	"github.com/rampart-ids/rampart/internal/federation"
	"github.com/rampart-ids/rampart/internal/federation/peers"
	"github.com/rampart-ids/rampart/internal/serverdb"
)

// The federation side of the server: this site's signed feed for its peers
// (GET /v1/federation/feed), the peers' state for admins (GET
// /v1/admin/peers), and Federate, which runs internal/federation/peers'
// puller against the decision store.

// fedState is the server's federation state.
type fedState struct {
	s    *Server
	feed *feedLog

	mu     sync.Mutex
	cfg    peers.Config
	puller *peers.Puller
}

func newFedState(s *Server) *fedState {
	return &fedState{s: s, cfg: peers.Default(), feed: newFeedLog()}
}

func (f *fedState) config() peers.Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cfg
}

// Federate runs the federation of a peers file until ctx ends: the feed
// follows cfg.Feed and shares with each peer what its scopes allow, and
// the peers and lists of cfg are pulled and merged into decisions of
// origin "federation". Without peers or lists it only sets the feed up.
func (s *Server) Federate(ctx context.Context, cfg peers.Config) error {
	p, err := peers.New(peers.Options{
		Config: cfg, Never: slices.Concat(s.opts.Never, s.opts.Management), Store: fedStore{s},
		Registry: s.opts.Registry, Logger: s.opts.Logger, Now: s.now,
		Suspect: func(p netip.Prefix, until time.Time, why string) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.engine.NoteSuspect(p, until, why)
		},
	})
	if err != nil {
		return err
	}
	s.fed.mu.Lock()
	s.fed.cfg, s.fed.puller = cfg, p
	s.fed.mu.Unlock()
	if len(cfg.Peers)+len(cfg.Lists) == 0 {
		return nil
	}
	return p.Run(ctx)
}

// fedStore is the decision store as the puller sees it: every change
// wakes the agents' long polls like any other decision.
type fedStore struct{ s *Server }

func (f fedStore) FederationDecisions(ctx context.Context, now time.Time) ([]api.Decision, error) {
	return f.s.db.Decisions(ctx, serverdb.DecisionFilter{Active: true, Now: now, Origin: "federation"})
}

func (f fedStore) AddDecisions(ctx context.Context, ds []api.Decision, now time.Time) ([]api.Decision, error) {
	stored, version, err := f.s.db.AddDecisions(ctx, ds, now)
	if err != nil {
		return nil, err
	}
	f.s.metrics.decisions.WithLabelValues("federation").Add(float64(len(stored)))
	f.s.listChanged(version)
	return stored, nil
}

func (f fedStore) DeleteDecision(ctx context.Context, id int64, now time.Time) error {
	version, err := f.s.db.DeleteDecision(ctx, id, now)
	if err != nil {
		return err
	}
	f.s.listChanged(version)
	return nil
}

// feedScope is what a token may see of the feed.
func (s *Server) feedScope(tok api.Token) federation.Scope {
	if tok.Role == api.RoleAdmin {
		return federation.ScopeSummaries
	}
	return s.fed.config().Scope(tok.Name)
}

func (s *Server) getFeed(w http.ResponseWriter, r *http.Request) error {
	tok, err := s.auth(r, api.RoleAgent)
	if err != nil {
		return err
	}
	scope := s.feedScope(tok)
	if scope == 0 {
		return &httpError{status: http.StatusForbidden, msg: "this site shares nothing with token " + strconv.Quote(tok.Name)}
	}
	q := r.URL.Query()
	var since uint64
	if v := q.Get("since"); v != "" {
		if since, err = strconv.ParseUint(v, 10, 64); err != nil {
			return badRequest("since: want a feed version")
		}
	}
	wait := 30 * time.Second
	if ws := q.Get("wait"); ws != "" {
		if wait, err = time.ParseDuration(ws); err != nil || wait < 0 {
			return badRequest("wait %q: want a duration such as 30s", ws)
		}
		wait = min(wait, api.MaxWait)
	}
	ctx := r.Context()
	if err := s.refreshFeed(ctx); err != nil {
		return err
	}
	if since == 0 {
		body, v, err := s.fed.feed.full(s.opts.Signer, scope)
		if err != nil {
			return err
		}
		return writeFeed(w, body, v)
	}
	if cur, _ := s.fed.feed.current(); since == cur && wait > 0 {
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Now().Add(wait + 10*time.Second))
		s.metrics.waiting.Inc()
		err := s.waitFeed(ctx, since, time.Now().Add(wait))
		s.metrics.waiting.Dec()
		if err != nil || ctx.Err() != nil {
			return err
		}
	}
	cur, _ := s.fed.feed.current()
	w.Header().Set(api.HeaderVersion, strconv.FormatUint(cur, 10))
	if since == cur {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	body, v, ok, err := s.fed.feed.delta(s.opts.Signer, scope, since)
	if err != nil {
		return err
	}
	if !ok {
		return &httpError{status: http.StatusConflict, msg: "full feed needed"}
	}
	return writeFeed(w, body, v)
}

func writeFeed(w http.ResponseWriter, body []byte, version uint64) error {
	w.Header().Set(api.HeaderVersion, strconv.FormatUint(version, 10))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, err := w.Write(body)
	return err
}

// waitFeed holds a long poll until the feed moves past since or the
// deadline passes. Bans wake it at once (through the list's version
// watch); summaries are looked at every feed refresh interval.
func (s *Server) waitFeed(ctx context.Context, since uint64, deadline time.Time) error {
	refresh := s.fed.config().Feed.Refresh
	for {
		cur, changed := s.fed.feed.current()
		left := time.Until(deadline)
		if cur != since || left <= 0 {
			return nil
		}
		lv, listChanged := s.watch.current()
		t := time.NewTimer(min(refresh, left))
		select {
		case <-changed:
		case <-listChanged:
			if v, _ := s.watch.current(); v == lv {
				// The watch woke without a new version: the server is
				// shutting down.
				t.Stop()
				return nil
			}
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
		t.Stop()
		if err := s.refreshFeed(ctx); err != nil {
			return err
		}
	}
}

// refreshFeed rebuilds the feed from the state store when the list
// changed (a ban: at once), when newer signals arrived (looked at once per
// refresh interval), and at least every 30 s (the window and expiries move
// on). One rebuild at a time.
func (s *Server) refreshFeed(ctx context.Context) error {
	cfg := s.fed.config().Feed
	fl := s.fed.feed
	fl.build.Lock()
	defer fl.build.Unlock()
	now := s.now()
	lv, _ := s.watch.current()
	fl.mu.Lock()
	same := fl.builtOnce && lv == fl.builtList
	checkedAt, builtAt, builtMark := fl.checkedAt, fl.builtAt, fl.builtMark
	fl.mu.Unlock()
	if same && now.Sub(checkedAt) < cfg.Refresh {
		return nil
	}
	mark, err := s.db.SignalMark(ctx)
	if err != nil {
		return err
	}
	if same && mark == builtMark && now.Sub(builtAt) < 30*time.Second {
		fl.mu.Lock()
		fl.checkedAt = now
		fl.mu.Unlock()
		return nil
	}
	entries, err := s.buildFeed(ctx, cfg, now)
	if err != nil {
		return err
	}
	fl.replace(entries, now, lv, mark)
	return nil
}

// buildFeed computes the feed's entries: our own bans (policy, manual)
// and the sources with at least MinAlerts signals in the window, never a
// prefix in the allowlist, local or management networks, and nothing
// naming our hosts (no sensor, agent or log line).
func (s *Server) buildFeed(ctx context.Context, cfg peers.FeedConfig, now time.Time) (map[netip.Prefix]federation.FeedEntry, error) {
	bans, err := s.db.FeedBans(ctx, now)
	if err != nil {
		return nil, err
	}
	sums, err := s.db.SignalSummaries(ctx, now.Add(-cfg.Window))
	if err != nil {
		return nil, err
	}
	never := slices.Concat(s.opts.Never, s.opts.Management)
	type ranked struct {
		e       federation.FeedEntry
		ban     bool
		created time.Time
	}
	by := make(map[netip.Prefix]*ranked, len(bans)+len(sums))
	for _, b := range bans {
		if _, bad := overlaps(b.Prefix, never); bad {
			continue
		}
		by[b.Prefix] = &ranked{e: federation.FeedEntry{Prefix: b.Prefix, Banned: true, Expires: b.Expires}, ban: true, created: b.Created}
	}
	for _, sm := range sums {
		a := sm.Source.Unmap()
		p := netip.PrefixFrom(a, a.BitLen())
		if _, bad := overlaps(p, never); bad {
			continue
		}
		r, ok := by[p]
		if !ok {
			if sm.Alerts < cfg.MinAlerts {
				continue
			}
			r = &ranked{e: federation.FeedEntry{Prefix: p}}
			by[p] = r
		}
		r.e.Alerts, r.e.Groups, r.e.First, r.e.Last = sm.Alerts, sm.Groups, sm.First, sm.Last
		for l, n := range sm.Levels {
			if l >= 0 && l <= federation.MaxLevel {
				r.e.Levels[l] = n
			}
		}
	}
	all := make([]*ranked, 0, len(by))
	for _, r := range by {
		all = append(all, r)
	}
	if len(all) > cfg.MaxEntries {
		// Bans first, newest first; then the busiest sources.
		slices.SortFunc(all, func(a, b *ranked) int {
			if a.ban != b.ban {
				if a.ban {
					return -1
				}
				return 1
			}
			return cmp.Or(b.created.Compare(a.created), cmp.Compare(b.e.Alerts, a.e.Alerts), a.e.Prefix.Addr().Compare(b.e.Prefix.Addr()))
		})
		all = all[:cfg.MaxEntries]
	}
	out := make(map[netip.Prefix]federation.FeedEntry, len(all))
	for _, r := range all {
		if e, ok := federation.CanonEntry(r.e); ok {
			out[e.Prefix] = e
		}
	}
	return out, nil
}

// feedLog is the feed's current entries, its version and a log of which
// prefixes changed at which version, for deltas.
type feedLog struct {
	// build serialises rebuilds.
	build sync.Mutex

	mu        sync.Mutex
	version   uint64
	generated time.Time
	entries   map[netip.Prefix]federation.FeedEntry
	changes   []feedChange
	logged    int // prefixes in changes
	floor     uint64
	ch        chan struct{}
	builtOnce bool
	builtAt   time.Time
	checkedAt time.Time
	builtList uint64
	builtMark int64
	fulls     map[federation.Scope][]byte
	deltas    map[[2]uint64][]byte // (scope, since) at the current version
}

type feedChange struct {
	version  uint64
	prefixes []netip.Prefix
}

// maxFeedLog bounds the prefixes the change log holds; older versions get
// 409 and fetch the whole feed.
const maxFeedLog = 1 << 20

func newFeedLog() *feedLog {
	return &feedLog{entries: map[netip.Prefix]federation.FeedEntry{}, ch: make(chan struct{}),
		fulls: map[federation.Scope][]byte{}, deltas: map[[2]uint64][]byte{}}
}

func (l *feedLog) current() (uint64, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.version, l.ch
}

// replace installs a rebuilt feed; a new version only when an entry
// changed. Versions are microseconds since the epoch (or one more than
// the last), so they keep growing across restarts.
func (l *feedLog) replace(entries map[netip.Prefix]federation.FeedEntry, now time.Time, listVersion uint64, mark int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.builtOnce, l.builtAt, l.checkedAt, l.builtList, l.builtMark = true, now, now, listVersion, mark
	var changed []netip.Prefix
	for p, e := range entries {
		if old, ok := l.entries[p]; !ok || !old.Equal(e) {
			changed = append(changed, p)
		}
	}
	for p := range l.entries {
		if _, ok := entries[p]; !ok {
			changed = append(changed, p)
		}
	}
	if len(changed) == 0 && l.version != 0 {
		return
	}
	l.version = max(l.version+1, uint64(now.UnixMicro()))
	if l.floor == 0 {
		l.floor = l.version
	}
	l.generated = now
	l.entries = entries
	l.changes = append(l.changes, feedChange{version: l.version, prefixes: changed})
	l.logged += len(changed)
	for l.logged > maxFeedLog && len(l.changes) > 1 {
		l.logged -= len(l.changes[0].prefixes)
		l.floor = l.changes[0].version
		l.changes = l.changes[1:]
	}
	clear(l.fulls)
	clear(l.deltas)
	close(l.ch)
	l.ch = make(chan struct{})
}

// view is the feed's entries as scope sees them, sorted.
func (l *feedLog) view(scope federation.Scope) []federation.FeedEntry {
	out := make([]federation.FeedEntry, 0, len(l.entries))
	for _, e := range l.entries {
		if v, ok := e.View(scope); ok {
			out = append(out, v)
		}
	}
	federation.SortEntries(out)
	return out
}

// full returns the signed full feed for scope at the current version.
func (l *feedLog) full(signer *blocklist.Signer, scope federation.Scope) ([]byte, uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.fulls[scope]; ok {
		return b, l.version, nil
	}
	b, err := federation.SignFeed(signer, federation.Feed{Version: l.version, Generated: l.generated, Entries: l.view(scope)})
	if err != nil {
		return nil, 0, err
	}
	l.fulls[scope] = b
	return b, l.version, nil
}

// delta returns the signed delta from since to the current version for
// scope; ok is false when the log does not reach back to since.
func (l *feedLog) delta(signer *blocklist.Signer, scope federation.Scope, since uint64) ([]byte, uint64, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if since > l.version || since < l.floor {
		return nil, 0, false, nil
	}
	i, found := slices.BinarySearchFunc(l.changes, since, func(c feedChange, v uint64) int { return cmp.Compare(c.version, v) })
	if !found {
		// Not a version this server made (another replica's, or from
		// before a restart).
		return nil, 0, false, nil
	}
	key := [2]uint64{uint64(scope), since}
	if b, ok := l.deltas[key]; ok {
		return b, l.version, true, nil
	}
	d := federation.FeedDelta{From: since, To: l.version, Generated: l.generated}
	seen := map[netip.Prefix]bool{}
	for _, c := range l.changes[i+1:] {
		for _, p := range c.prefixes {
			if seen[p] {
				continue
			}
			seen[p] = true
			if e, ok := l.entries[p]; ok {
				if v, ok := e.View(scope); ok {
					d.Changed = append(d.Changed, v)
					continue
				}
			}
			d.Withdrawn = append(d.Withdrawn, p)
		}
	}
	b, err := federation.SignFeedDelta(signer, d)
	if err != nil {
		return nil, 0, false, err
	}
	if len(l.deltas) > 256 {
		clear(l.deltas)
	}
	l.deltas[key] = b
	return b, l.version, true, nil
}

func (s *Server) getPeers(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.auth(r, api.RoleAdmin); err != nil {
		return err
	}
	if err := s.refreshFeed(r.Context()); err != nil {
		return err
	}
	s.fed.mu.Lock()
	p := s.fed.puller
	s.fed.mu.Unlock()
	st := api.FederationStatus{Peers: []api.PeerStatus{}}
	if p != nil {
		st = p.Status()
		st.Enabled = len(st.Peers) > 0
	}
	st.FeedVersion, _ = s.fed.feed.current()
	writeJSON(w, http.StatusOK, st)
	return nil
}
