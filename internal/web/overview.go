package web

import (
	"cmp"
	"context"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/api"
)

// windows are the periods the overview offers, in days, ending with the
// day of the newest alert; 0 is all time. A window's top sources come
// from the daily rollups of its days, all time's from the per-source
// totals: 90 days of daily rollups would cost more than a page view
// should over 3,000,000 alerts (see bench/ui.sh), all time does not.
var windows = []int{7, 30, 0}

const (
	defaultWindow = 30
	// perPage is the length of every paginated list; overviewTop of the
	// overview's short lists.
	perPage     = 50
	overviewTop = 10
)

// windowStats are the overview's figures for one window, computed from
// the store's rollups and kept until the store changes.
type windowStats struct {
	// count is the store's alert count they were computed at.
	count       int64
	first, last time.Time
	haveAlerts  bool
	days        int
	since       time.Time
	by          analytics.Interval
	buckets     []analytics.Bucket
	// sources are the sources in scope with alerts in the window,
	// ordered by count; prefixes the /24s and /64s they add up to.
	sources  []analytics.SourceCount
	prefixes []analytics.GroupCount
	took     time.Duration
}

// overviewCache keeps the figures of each window.
type overviewCache struct {
	mu sync.Mutex
	m  map[int]*windowStats
}

func (c *overviewCache) get(days int, count int64) *windowStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.m[days]; st != nil && st.count == count {
		return st
	}
	return nil
}

func (c *overviewCache) put(st *windowStats) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[int]*windowStats{}
	}
	c.m[st.days] = st
}

// prefixOf is the group of a source: its /24 (IPv4) or /64 (IPv6).
func prefixOf(a netip.Addr) netip.Prefix {
	bits := 24
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// groupPrefixes sums sources by prefixOf, as analytics.GroupBy with the
// prefix text as key sums them (same groups, figures and order), but
// keyed by the prefix's bits and without a slice per group: tens of
// thousands of sources, most of them their prefix's only member, would
// otherwise cost a string, a hash of a netip.Prefix and a few
// allocations each. sources must be in Finish's order, so that each
// group's first members are its top ones.
func groupPrefixes(sources []analytics.SourceCount) []analytics.GroupCount {
	type acc struct {
		count       int64
		sources     int
		first, last time.Time
		maxLevel    int
		key         netip.Prefix
	}
	// The /24 of an IPv4 address and the /64 of an IPv6 one are the
	// address's first 24 or 64 bits: map keys apart per family.
	v4 := make(map[uint32]int32)
	v6 := make(map[uint64]int32)
	accs := make([]acc, 0, len(sources))
	member := make([]int32, len(sources)) // each source's group
	for si, s := range sources {
		var i int32
		var ok bool
		if s.Addr.Is4() {
			b := s.Addr.As4()
			k := uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2])
			if i, ok = v4[k]; !ok {
				i = int32(len(accs))
				v4[k] = i
			}
		} else {
			b := s.Addr.As16()
			var k uint64
			for _, x := range b[:8] {
				k = k<<8 | uint64(x)
			}
			if i, ok = v6[k]; !ok {
				i = int32(len(accs))
				v6[k] = i
			}
		}
		if !ok {
			accs = append(accs, acc{first: s.FirstSeen, last: s.LastSeen, maxLevel: s.MaxLevel, key: prefixOf(s.Addr)})
		}
		member[si] = i
		a := &accs[i]
		a.count += s.Count
		a.sources++
		if s.FirstSeen.Before(a.first) {
			a.first = s.FirstSeen
		}
		if s.LastSeen.After(a.last) {
			a.last = s.LastSeen
		}
		a.maxLevel = max(a.maxLevel, s.MaxLevel)
	}
	// Each group's top members, in source order, cut from one array.
	start := make([]int32, len(accs)+1)
	for i, a := range accs {
		start[i+1] = start[i] + int32(min(a.sources, analytics.GroupTop))
	}
	tops := make([]analytics.SourceCount, start[len(accs)])
	fill := make([]int32, len(accs))
	for si, gi := range member {
		if fill[gi] < start[gi+1]-start[gi] {
			tops[start[gi]+fill[gi]] = sources[si]
			fill[gi]++
		}
	}
	keys := make([]string, len(accs))
	order := make([]int32, len(accs))
	for i := range accs {
		keys[i] = accs[i].key.String()
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		return cmp.Or(cmp.Compare(accs[b].count, accs[a].count), cmp.Compare(keys[a], keys[b]))
	})
	groups := make([]analytics.GroupCount, len(accs))
	for j, i := range order {
		a := &accs[i]
		groups[j] = analytics.GroupCount{Key: keys[i], Count: a.count, Sources: a.sources, FirstSeen: a.first, LastSeen: a.last,
			MaxLevel: a.maxLevel, Top: tops[start[i]:start[i+1]:start[i+1]]}
	}
	return groups
}

// stats returns the figures of the window of days, from the cache while
// the store's alert count has not changed. The two reads (sources from
// the window's daily rollups, the per-day timeline) run side by side.
func (u *ui) stats(ctx context.Context, days int) (*windowStats, error) {
	a := u.o.Alerts
	n, err := a.Count(ctx)
	if err != nil {
		return nil, err
	}
	if !u.o.NoCache {
		if st := u.overview.get(days, n); st != nil {
			return st, nil
		}
	}
	start := time.Now()
	st := &windowStats{count: n, days: days}
	st.first, st.last, st.haveAlerts, err = a.TimeRange(ctx)
	if err != nil || !st.haveAlerts {
		return st, err
	}
	end := analytics.Day.Floor(st.last).AddDate(0, 0, 1)
	st.since = analytics.Day.Floor(st.first)
	if days > 0 {
		st.since = end.AddDate(0, 0, -days)
	}
	var f analytics.Filter
	if days > 0 {
		f.Since = st.since
	}
	st.by = analytics.Day
	if end.Sub(st.since) > maxDayBars*24*time.Hour {
		st.by = analytics.Week
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		srcs, err := a.TopSources(gctx, f)
		if err != nil {
			return err
		}
		st.sources = analytics.Finish(srcs, analytics.Selection{InScope: u.o.InScope})
		st.prefixes = groupPrefixes(st.sources)
		return nil
	})
	g.Go(func() error {
		c, err := a.Timeline(gctx, analytics.TimelineQuery{Filter: f, By: st.by})
		if err != nil {
			return err
		}
		st.buckets, err = c.Timeline(st.since, end)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	st.took = time.Since(start)
	if !u.o.NoCache {
		u.overview.put(st)
	}
	return st, nil
}

// timelineChart draws buckets of a day or a week each.
func timelineChart(class string, buckets []analytics.Bucket, by analytics.Interval) chart {
	values := make([]chartValue, len(buckets))
	step := max(1, (len(buckets)+7)/8)
	var total int64
	year := 0
	for i, b := range buckets {
		label := b.Start.Format("Mon 2006-01-02")
		if by == analytics.Week {
			label = "week of " + label
		}
		values[i] = chartValue{Label: label, Count: b.Count}
		if i%step == 0 {
			// The year on the first tick and where it changes.
			values[i].Tick = b.Start.Format("Jan 2")
			if b.Start.Year() != year {
				values[i].Tick, year = b.Start.Format("Jan 2 2006"), b.Start.Year()
			}
		}
		total += b.Count
	}
	title, unit := "Alerts per day", "days"
	if by == analytics.Week {
		title, unit = "Alerts per week", "weeks"
	}
	caption := title + ": " + fmtInt(total) + " alerts over " + strconv.Itoa(len(buckets)) + " " + unit + " (UTC)"
	return barChart(class, title, caption, values)
}

// windowParam reads ?days=, one of windows.
func windowParam(r *http.Request) (int, error) {
	v := r.URL.Query().Get("days")
	if v == "" {
		return defaultWindow, nil
	}
	if v == "all" {
		return 0, nil
	}
	d, err := strconv.Atoi(v)
	if err != nil || d == 0 || !slices.Contains(windows, d) {
		return 0, badRequest("days=%q: want 7, 30 or all.", v)
	}
	return d, nil
}

// pageParam reads ?page=, from 1.
func pageParam(r *http.Request) (int, error) {
	v := r.URL.Query().Get("page")
	if v == "" {
		return 1, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 1_000_000 {
		return 0, badRequest("page=%q: want a page number from 1.", v)
	}
	return p, nil
}

// pager is the navigation of a paginated list.
type pager struct {
	Page       int
	Pages      int // 0 when unknown
	From, To   int // the items shown, from 1
	Total      int // -1 when unknown
	Prev, Next string
}

// pageOf returns the page's part of n items and its pager; links keep
// the request's other query parameters.
func pageOf(r *http.Request, page, n int) (lo, hi int, p pager) {
	pages := max(1, (n+perPage-1)/perPage)
	if page > pages {
		page = pages
	}
	lo, hi = (page-1)*perPage, min(page*perPage, n)
	p = pager{Page: page, Pages: pages, From: lo + 1, To: hi, Total: n}
	if page > 1 {
		p.Prev = linkWith(r, "page", strconv.Itoa(page-1))
	}
	if page < pages {
		p.Next = linkWith(r, "page", strconv.Itoa(page+1))
	}
	return lo, hi, p
}

// linkWith returns the request's path and query with key set to value.
func linkWith(r *http.Request, kv ...string) string {
	q := r.URL.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return r.URL.Path
	}
	return r.URL.Path + "?" + q.Encode()
}

type windowLink struct {
	Label   string
	URL     string
	Current bool
}

func windowLinks(r *http.Request, days int) []windowLink {
	var out []windowLink
	for _, d := range windows {
		l := windowLink{Label: strconv.Itoa(d) + " days", URL: linkWith(r, "days", strconv.Itoa(d), "page", ""), Current: d == days}
		if d == 0 {
			l.Label, l.URL = "all time", linkWith(r, "days", "all", "page", "")
		}
		out = append(out, l)
	}
	return out
}

// windowName says which alerts a list covers.
func windowName(days int) string {
	if days == 0 {
		return "all time"
	}
	return "the last " + strconv.Itoa(days) + " days"
}

// daysParam is the ?days= value that selects days.
func daysParam(days int) string {
	if days == 0 {
		return "all"
	}
	return strconv.Itoa(days)
}

type overviewData struct {
	HaveStore  bool
	HaveAlerts bool
	Now        time.Time
	Count      int64
	First      time.Time
	Last       time.Time
	Since      time.Time
	Days       string
	Window     string
	Windows    []windowLink
	Chart      chart
	Sources    int
	Top        []analytics.SourceCount
	Prefixes   []analytics.GroupCount
	// Returners is nil without cadence.
	Returners *returnersView
	// Decisions and Agents come from the server.
	HaveServer bool
	Decisions  []api.Decision
	Agents     []agentRow
	Current    int
	Computed   string
}

type agentRow struct {
	api.Agent
	Status string
}

func (u *ui) overviewPage(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	days, err := windowParam(r)
	if err != nil {
		return err
	}
	d := overviewData{HaveStore: u.o.Alerts != nil, Now: u.now(), Days: daysParam(days), Window: windowName(days), Windows: windowLinks(r, days)}
	g, gctx := errgroup.WithContext(ctx)
	if u.o.Alerts != nil {
		g.Go(func() error {
			st, err := u.stats(gctx, days)
			if err != nil {
				return err
			}
			d.HaveAlerts, d.Count, d.First, d.Last, d.Since = st.haveAlerts, st.count, st.first, st.last, st.since
			d.Chart = timelineChart("chart-days", st.buckets, st.by)
			d.Sources = len(st.sources)
			d.Top = st.sources[:min(overviewTop, len(st.sources))]
			d.Prefixes = st.prefixes[:min(overviewTop, len(st.prefixes))]
			d.Computed = fmtMillis(st.took)
			return nil
		})
	}
	if u.hasCadence() {
		g.Go(func() error {
			d.Returners = u.returnersView(gctx, 0, nil)
			return nil
		})
	}
	if u.o.Decisions != nil {
		d.HaveServer = true
		g.Go(func() error {
			var err error
			d.Decisions, err = u.o.Decisions.DecisionPage(gctx, DecisionQuery{Limit: overviewTop})
			return err
		})
	}
	if u.o.Agents != nil {
		d.HaveServer = true
		g.Go(func() error {
			as, err := u.o.Agents.Agents(gctx)
			if err != nil {
				return err
			}
			for _, a := range as {
				row := agentRow{Agent: a, Status: "current"}
				switch {
				case a.Error != "":
					row.Status = "error"
				case !a.Current:
					row.Status = "behind"
				default:
					d.Current++
				}
				d.Agents = append(d.Agents, row)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	u.render(w, r, s, http.StatusOK, "overview", "Overview", d)
	return nil
}

type listData struct {
	Days    string
	Windows []windowLink
	Since   time.Time
	Last    time.Time
	Pager   pager
	Sources []analytics.SourceCount
	Groups  []analytics.GroupCount
}

func (u *ui) listStats(r *http.Request) (*windowStats, listData, int, error) {
	days, err := windowParam(r)
	if err != nil {
		return nil, listData{}, 0, err
	}
	page, err := pageParam(r)
	if err != nil {
		return nil, listData{}, 0, err
	}
	st, err := u.stats(r.Context(), days)
	if err != nil {
		return nil, listData{}, 0, err
	}
	return st, listData{Days: daysParam(days), Windows: windowLinks(r, days), Since: st.since, Last: st.last}, page, nil
}

func (u *ui) sourcesPage(w http.ResponseWriter, r *http.Request, s *session) error {
	st, d, page, err := u.listStats(r)
	if err != nil {
		return err
	}
	lo, hi, p := pageOf(r, page, len(st.sources))
	d.Pager, d.Sources = p, st.sources[lo:hi]
	u.render(w, r, s, http.StatusOK, "sources", "Top sources", d)
	return nil
}

func (u *ui) prefixesPage(w http.ResponseWriter, r *http.Request, s *session) error {
	st, d, page, err := u.listStats(r)
	if err != nil {
		return err
	}
	lo, hi, p := pageOf(r, page, len(st.prefixes))
	d.Pager, d.Groups = p, st.prefixes[lo:hi]
	u.render(w, r, s, http.StatusOK, "prefixes", "Top prefixes", d)
	return nil
}
