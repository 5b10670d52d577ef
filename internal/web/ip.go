package web

import (
	"context"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/rampart-ids/rampart/internal/alertdb"
	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/analytics/cadence"
	"github.com/rampart-ids/rampart/internal/api"
)

// linesPerPage is how many log lines a source page lists.
const linesPerPage = 25

// maxDayBars is the most daily bars a source timeline draws; longer
// histories are drawn by week.
const maxDayBars = 400

// parseAddrParam reads an address from the path or a form, refusing
// zones; IPv4-mapped IPv6 becomes IPv4, as the store keeps it.
func parseAddrParam(v string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(v))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, badRequest("%q is not an IP address.", v)
	}
	return a.Unmap(), nil
}

type sourceData struct {
	Addr   netip.Addr
	Report analytics.SourceReport
	Chart  chart
	// Lines are this page's log lines; Newest links back to the first
	// page, Older to the next (empty when there is none).
	Lines      []analytics.AlertLine
	Older      string
	Newest     string
	FirstLines bool

	HaveCadence bool
	Cadence     *cadence.Result
	CadChart    chart
	// CadenceAt is when the background analysis computed Cadence, for
	// the busiest sources; zero when computed for this page.
	CadenceAt      time.Time
	CadencePending bool

	HaveContacts bool
	Contact      *alertdb.AbuseContactEntry
	CanLookup    bool

	HaveDecisions bool
	Decisions     []api.Decision
	Now           time.Time
	Durations     []string
	BanTo         string
}

// banDurations are the ban form's choices.
var banDurations = []string{"1h", "6h", "24h", "168h", "720h", "permanent"}

// cursor is where a page of log lines starts: before the lines of second
// before, the first skip lines of that second already shown.
type cursor struct {
	before int64
	skip   int
	set    bool
}

func cursorParam(r *http.Request) (cursor, error) {
	q := r.URL.Query()
	b, k := q.Get("before"), q.Get("skip")
	if b == "" && k == "" {
		return cursor{}, nil
	}
	before, err := strconv.ParseInt(b, 10, 64)
	if err != nil || before < 0 || before > 1<<38 {
		return cursor{}, badRequest("before=%q: want a Unix time.", b)
	}
	skip := 0
	if k != "" {
		if skip, err = strconv.Atoi(k); err != nil || skip < 0 || skip > 100_000 {
			return cursor{}, badRequest("skip=%q: want a count of lines.", k)
		}
	}
	return cursor{before: before, skip: skip, set: true}, nil
}

func (u *ui) findSource(w http.ResponseWriter, r *http.Request, s *session) error {
	a, err := parseAddrParam(r.URL.Query().Get("addr"))
	if err != nil {
		return err
	}
	u.redirect(w, r, u.path("ip/"+a.String()))
	return nil
}

func (u *ui) sourcePage(w http.ResponseWriter, r *http.Request, s *session) error {
	raw := r.PathValue("addr")
	addr, err := parseAddrParam(raw)
	if err != nil {
		return err
	}
	if addr.String() != raw {
		u.redirect(w, r, u.path("ip/"+addr.String()))
		return nil
	}
	cur, err := cursorParam(r)
	if err != nil {
		return err
	}
	d := sourceData{Addr: addr, Now: u.now(), Durations: banDurations, FirstLines: !cur.set,
		HaveCadence: u.hasCadence(), HaveContacts: u.o.Contacts != nil, HaveDecisions: u.o.Decisions != nil,
		CanLookup: u.o.Lookup != nil && public(addr)}
	d.BanTo = addr.String()
	g, ctx := errgroup.WithContext(r.Context())
	// On the first page one report gives the figures and the newest
	// lines; further pages read their lines apart.
	limit := linesPerPage
	if cur.set {
		limit = 0
		g.Go(func() error {
			rep, err := u.o.Alerts.SourceReport(ctx, addr, analytics.Filter{Until: time.Unix(cur.before+1, 0)}, linesPerPage+cur.skip)
			if err != nil {
				return err
			}
			d.Lines = rep.Alerts[min(cur.skip, len(rep.Alerts)):]
			return nil
		})
	}
	g.Go(func() error {
		rep, err := u.o.Alerts.SourceReport(ctx, addr, analytics.Filter{}, limit)
		if err != nil {
			return err
		}
		d.Report = rep
		if !cur.set {
			d.Lines = rep.Alerts
		}
		return nil
	})
	if d.HaveContacts {
		g.Go(func() error {
			e, found, err := u.o.Contacts.AbuseContact(ctx, addr, u.now())
			if err != nil || !found {
				return err
			}
			d.Contact = &e
			return nil
		})
	}
	if d.HaveDecisions {
		g.Go(func() error {
			var err error
			d.Decisions, err = u.o.Decisions.DecisionPage(ctx, DecisionQuery{Contains: addr, Limit: perPage})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if d.HaveCadence && d.Report.Count > 0 {
		if err := u.sourceCadence(r.Context(), &d); err != nil {
			return err
		}
	}
	d.Report.Alerts = nil
	d.Chart = sourceChart(d.Report.ByDay)
	if d.Cadence != nil {
		d.CadChart = cadenceChart(d.Cadence)
	}
	if len(d.Lines) == linesPerPage {
		last := d.Lines[len(d.Lines)-1].Time.Unix()
		skip := 0
		for _, l := range d.Lines {
			if l.Time.Unix() == last {
				skip++
			}
		}
		if cur.set && cur.before == last {
			skip += cur.skip
		}
		d.Older = linkWith(r, "before", strconv.FormatInt(last, 10), "skip", strconv.Itoa(skip))
	}
	if cur.set {
		d.Newest = linkWith(r, "before", "", "skip", "")
	}
	u.render(w, r, s, http.StatusOK, "source", addr.String(), d)
	return nil
}

// sourceCadence analyses the source's alert times, or for a source with
// more than inlineCadenceMax alerts takes the background analysis' result.
func (u *ui) sourceCadence(ctx context.Context, d *sourceData) error {
	if d.Report.Count > inlineCadenceMax {
		r, at, running, ok := u.bigCadence(ctx, d.Addr)
		switch {
		case ok:
			d.Cadence, d.CadenceAt = &r, at
			return nil
		case running:
			d.CadencePending = true
			return nil
		}
		// Not analysed in the background (out of the lists' scope, or
		// grown since): this page pays for it.
	}
	rules, hits, err := u.o.Hits.SourceHitsOf(ctx, d.Addr, analytics.Filter{})
	if err != nil || len(hits) == 0 {
		return err
	}
	u.cadMu.Lock()
	res := u.o.Analyzer.Analyze(rules, d.Addr, hits)
	u.cadMu.Unlock()
	res.EpisodeList, res.ReturnList = nil, nil
	d.Cadence = &res
	return nil
}

// public reports whether a registry can know addr's abuse contact.
func public(a netip.Addr) bool {
	return a.IsGlobalUnicast() && !a.IsPrivate()
}

// sourceChart draws a source's alerts per day, every day from its first
// to its last included, or per week over long histories.
func sourceChart(days []analytics.DayCount) chart {
	if len(days) == 0 {
		return barChart("chart-source", "Alerts per day", "No alerts.", nil)
	}
	iv := analytics.Day
	first, last := days[0].Day, days[len(days)-1].Day
	if last.Sub(first)/(24*time.Hour) >= maxDayBars {
		iv = analytics.Week
	}
	c := analytics.NewTimelineCounter(analytics.TimelineQuery{By: iv})
	for _, d := range days {
		c.AddCount(d.Day.Unix(), 0, d.Count)
	}
	buckets, err := c.Timeline(time.Time{}, time.Time{})
	if err != nil {
		return barChart("chart-source", "Alerts per day", err.Error(), nil)
	}
	return timelineChart("chart-source", buckets, iv)
}

// cadenceChart draws the return-gap histogram, the bar of returns just
// after the block marked.
func cadenceChart(r *cadence.Result) chart {
	values := make([]chartValue, len(r.Histogram))
	for i, b := range r.Histogram {
		values[i] = chartValue{Label: gapRange(b.Lo, b.Hi), Tick: gapRange(b.Lo, b.Hi), Count: int64(b.Count)}
		if b.AfterBlock {
			values[i].Class = "after"
		}
	}
	caption := "Time from each block to the next alert: " + fmtInt(int64(r.Returns)) + " returns; the marked bar is just after the " + fmtDur(r.Block) + " block expired"
	return barChart("chart-cadence", "Return gaps", caption, values)
}

// lookupContact asks the registries for addr's abuse contact (cached by
// the Lookup) and says what came back.
func (u *ui) lookupContact(w http.ResponseWriter, r *http.Request, s *session) error {
	addr, err := parseAddrParam(r.PathValue("addr"))
	if err != nil {
		return err
	}
	if !public(addr) {
		return &UserError{Msg: addr.String() + " is not a public address: no registry holds its abuse contact."}
	}
	ctx, cancel := context.WithTimeout(r.Context(), lookupTimeout-time.Second)
	defer cancel()
	res, err := u.o.Lookup.Resolve(ctx, addr)
	if err != nil {
		u.log.Warn("abuse contact lookup", "addr", addr, "error", err)
		return &UserError{Msg: "No registry answered for " + addr.String() + ": " + err.Error()}
	}
	msg := "Abuse contact of " + addr.String() + ": "
	if res.Found() {
		msg += strings.Join(res.Emails, ", ")
	} else {
		msg += "the registry names no abuse mailbox"
	}
	if res.Cached {
		msg += " (cached)"
	}
	u.sessions.setFlash(s, msg, false)
	u.redirect(w, r, u.path("ip/"+addr.String()))
	return nil
}
