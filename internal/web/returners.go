package web

import (
	"cmp"
	"context"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/analytics/cadence"
)

// The cadence of every source reads every alert time from the rollups:
// about a second per 3,000,000 alerts, too slow for a page view. It runs
// in the background instead, started by a page view when the store has
// changed and the last run is older than Options.ReturnersEvery, and the
// pages show the newest finished run.

// returnersJob is the background analysis and its last result.
type returnersJob struct {
	mu      sync.Mutex
	running chan struct{} // closed when the running analysis ends; nil when none runs
	last    *returnersResult
}

// returnersResult is one finished analysis.
type returnersResult struct {
	count   int64 // the store's alert count when it started
	at      time.Time
	took    time.Duration
	sources int
	thin    int
	flagged []cadence.Result
	// big holds the results of sources with more than
	// inlineCadenceMax alerts, whose pages show them from here.
	big map[netip.Addr]cadence.Result
	err error
}

// inlineCadenceMax is the most alerts of a source whose cadence its page
// computes itself (about a microsecond per alert); busier sources show
// the background analysis' result.
const inlineCadenceMax = 50_000

// returnersRunTimeout bounds one analysis.
const returnersRunTimeout = 10 * time.Minute

// returnersView is what pages show of the last analysis.
type returnersView struct {
	Ready   bool
	Running bool
	Error   string
	At      time.Time
	Took    string
	Sources int
	Thin    int
	Flagged []cadence.Result
	Total   int
	Pager   pager
}

// latestReturners starts an analysis when one is due and returns the last
// finished one (nil before the first), waiting up to ReturnersWait for a
// running one.
func (u *ui) latestReturners(ctx context.Context) (*returnersResult, bool) {
	count, err := u.o.Alerts.Count(ctx)
	if err != nil {
		u.log.Warn("count alerts", "error", err)
		count = -1
	}
	j := &u.returners
	j.mu.Lock()
	last, running := j.last, j.running
	due := running == nil && count >= 0 && (last == nil ||
		last.count != count && u.now().Sub(last.at) >= u.o.ReturnersEvery ||
		last.err != nil && u.now().Sub(last.at) >= time.Minute)
	if due {
		running = make(chan struct{})
		j.running = running
		go u.runReturners(count, running)
	}
	j.mu.Unlock()
	if running != nil && u.o.ReturnersWait > 0 {
		t := time.NewTimer(u.o.ReturnersWait)
		defer t.Stop()
		select {
		case <-running:
		case <-t.C:
		case <-ctx.Done():
		}
		j.mu.Lock()
		last, running = j.last, j.running
		j.mu.Unlock()
	}
	return last, running != nil
}

func (u *ui) runReturners(count int64, done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), returnersRunTimeout)
	defer cancel()
	start := time.Now()
	res := &returnersResult{count: count, at: u.now(), big: map[netip.Addr]cadence.Result{}}
	res.err = u.o.Hits.SourceHits(ctx, analytics.Filter{}, func(rules []cadence.Rule, src netip.Addr, hits []cadence.Hit) error {
		if u.o.InScope != nil && !u.o.InScope(src) {
			return nil
		}
		res.sources++
		u.cadMu.Lock()
		r := u.o.Analyzer.Analyze(rules, src, hits)
		u.cadMu.Unlock()
		r.EpisodeList, r.ReturnList = nil, nil
		if r.Alerts > inlineCadenceMax {
			res.big[src] = r
		}
		switch {
		case !r.EnoughData:
			res.thin++
		case r.Flagged:
			res.flagged = append(res.flagged, r)
		}
		return nil
	})
	if res.err != nil {
		u.log.Error("cadence of all sources", "error", res.err)
	}
	slices.SortFunc(res.flagged, func(a, b cadence.Result) int {
		return cmp.Or(cmp.Compare(b.Alerts, a.Alerts), a.Addr.Compare(b.Addr))
	})
	res.took = time.Since(start)
	u.log.Info("cadence of all sources", "sources", res.sources, "flagged", len(res.flagged), "duration_seconds", res.took.Seconds())
	j := &u.returners
	j.mu.Lock()
	j.last, j.running = res, nil
	j.mu.Unlock()
	close(done)
}

// returnersView returns the page's part of the last analysis: the first
// overviewTop flagged sources when r is nil, else the page r asks for.
func (u *ui) returnersView(ctx context.Context, page int, r *http.Request) *returnersView {
	last, running := u.latestReturners(ctx)
	v := &returnersView{Running: running}
	if last == nil {
		return v
	}
	v.Ready, v.At, v.Took, v.Sources, v.Thin, v.Total = true, last.at, fmtMillis(last.took), last.sources, last.thin, len(last.flagged)
	if last.err != nil {
		v.Error = "The last analysis failed (the server's log has the details)."
	}
	if r == nil {
		v.Flagged = last.flagged[:min(overviewTop, len(last.flagged))]
		return v
	}
	lo, hi, p := pageOf(r, page, len(last.flagged))
	v.Flagged, v.Pager = last.flagged[lo:hi], p
	return v
}

// bigCadence returns addr's result from the last background analysis;
// ok is false when there is none (yet).
func (u *ui) bigCadence(ctx context.Context, addr netip.Addr) (r cadence.Result, at time.Time, running, ok bool) {
	last, running := u.latestReturners(ctx)
	if last == nil {
		return cadence.Result{}, time.Time{}, running, false
	}
	r, ok = last.big[addr]
	return r, last.at, running, ok
}

func (u *ui) returnersPage(w http.ResponseWriter, r *http.Request, s *session) error {
	page, err := pageParam(r)
	if err != nil {
		return err
	}
	v := u.returnersView(r.Context(), page, r)
	u.render(w, r, s, http.StatusOK, "returners", "Flagged returners", v)
	return nil
}
