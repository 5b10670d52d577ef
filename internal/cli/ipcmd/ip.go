// Package ipcmd is "rampart ip ADDR": one source's history, the drill-down
// an operator otherwise writes by hand in SQL, and its cadence against
// OSSEC's blocks (package cadence, through cadencecmd's flags).
package ipcmd

import (
	"net/url"

	"context"
	"fmt"
	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/ossec/rules"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/analytics/cadence"
	"github.com/rampart-ids/rampart/internal/cli/cadencecmd"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/geoip"
	"github.com/rampart-ids/rampart/internal/ingest"
	"github.com/rampart-ids/rampart/internal/ossec"
)

// Options are ip's flags.
type Options struct {
	Query  cmdutil.QueryFlags
	Blocks cadencecmd.Flags
	Limit  int
	Format string
	// Server, when given (or RAMPART_SERVER), adds the central server's
	// decisions about the source.
	Server cmdutil.ServerFlags
}

// New returns the ip command.
func New(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "ip ADDR",
		Short: "Show one source's history",
		Long: `Show everything known about one source address: first and last seen,
alerts by rule, level, location and day, its cadence against OSSEC's blocks
(episodes, return gaps after each block, as "rampart cadence" judges them),
then its alerts newest first.

The cadence is read from the store or alert files; from an ossec-dbd
database (--db) it is left out, as it would read every alert.`,
		Example: `  rampart ip 218.92.0.17
  rampart ip 2001:db8:4:2::17 --alerts /var/ossec/logs/alerts --limit 50
  rampart ip 203.0.113.45 --db mysql://ossec@127.0.0.1/ossec --format json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return run(cmd.Context(), f, cmd, opts, args[0])
		},
	}
	opts.Query.Register(cmd.Flags())
	cmd.Flags().MarkHidden("scope")
	cmd.Flags().MarkHidden("local-nets")
	opts.Blocks.Register(cmd.Flags())
	opts.Server.Register(cmd.Flags())
	cmd.Flags().IntVar(&opts.Limit, "limit", 20, "list at most `N` alerts, newest first")
	cmd.Flags().StringVar(&opts.Format, "format", "table", "output: table or json")
	return cmd
}

// Report is ip's JSON output.
type Report struct {
	IP string `json:"ip"`
	// ASN, Org, Country and CountryName come from the databases the
	// config names (geoip_asn, geoip_country, geoip_city); omitted when
	// unknown or not configured.
	ASN         uint32          `json:"asn,omitempty"`
	Org         string          `json:"org,omitempty"`
	Country     string          `json:"country,omitempty"`
	CountryName string          `json:"country_name,omitempty"`
	Count       int64           `json:"count"`
	FirstSeen   *time.Time      `json:"first_seen"`
	LastSeen    *time.Time      `json:"last_seen"`
	ByRule      []RuleCount     `json:"by_rule"`
	ByLevel     []LevelCount    `json:"by_level"`
	ByLocation  []LocationCount `json:"by_location"`
	ByDay       []DayCount      `json:"by_day"`
	// Cadence is null when the input cannot give it (--db).
	Cadence *Cadence `json:"cadence"`
	Alerts  []Alert  `json:"alerts"`
	// Decisions are the central server's bans of the source, newest
	// first, when a server was given.
	Decisions []api.Decision `json:"decisions,omitempty"`
}

// RuleCount is one line of by_rule.
type RuleCount struct {
	RuleID      int    `json:"rule_id"`
	Description string `json:"description"`
	Level       int    `json:"level"`
	Count       int64  `json:"count"`
}

// LevelCount is one line of by_level.
type LevelCount struct {
	Level int   `json:"level"`
	Count int64 `json:"count"`
}

// LocationCount is one line of by_location.
type LocationCount struct {
	Location string `json:"location"`
	Agent    string `json:"agent,omitempty"`
	Count    int64  `json:"count"`
}

// DayCount is one line of by_day.
type DayCount struct {
	Day   string `json:"day"`
	Count int64  `json:"count"`
}

// Alert is one line of alerts.
type Alert struct {
	Time     time.Time `json:"time"`
	RuleID   int       `json:"rule_id"`
	Level    int       `json:"level"`
	Location string    `json:"location"`
	Log      string    `json:"log"`
}

func run(ctx context.Context, f *cmdutil.Factory, cmd *cobra.Command, opts *Options, arg string) error {
	if err := cmdutil.CheckFormat(opts.Format, cmdutil.FormatTable, cmdutil.FormatJSON); err != nil {
		return err
	}
	addr, ok := ossec.ParseAddr(arg)
	if !ok {
		return &cmdutil.UsageError{Err: fmt.Errorf("invalid address %q: want an IPv4 or IPv6 address", arg)}
	}
	if opts.Limit < 0 {
		return cmdutil.FlagError("limit", strconv.Itoa(opts.Limit), fmt.Errorf("must not be negative"))
	}
	filter, err := opts.Query.Filter(f, cmd.Flags())
	if err != nil {
		return err
	}
	info, err := lookupGeo(f, addr)
	if err != nil {
		return err
	}
	setup, err := opts.Blocks.Setup(f, cmd.Flags(), true)
	if err != nil {
		return err
	}
	in, err := cmdutil.OpenInput(ctx, f, &opts.Query)
	if err != nil {
		return err
	}
	defer in.Close()
	analyze := func(rules []cadence.Rule, hits []cadence.Hit) cadence.Result {
		return setup.Analyzer.Analyze(rules, addr, hits)
	}
	rep, res, err := read(ctx, in.Backend, addr, filter, opts.Limit, analyze)
	if err != nil {
		return err
	}
	in.Report()
	for _, n := range setup.Notes {
		fmt.Fprintln(f.Err, "note: "+n)
	}
	nameRules(f, &rep)
	out := convert(rep)
	out.ASN, out.Org, out.Country, out.CountryName = info.ASN, info.Org, info.Country, info.CountryName
	if res != nil {
		out.Cadence = convertCadence(*res, setup)
	} else {
		fmt.Fprintln(f.Err, "note: no cadence from --db: it would read every alert of the database; import it into the store or use --alerts")
	}
	if opts.Server.Server != "" || (f.Getenv != nil && f.Getenv("RAMPART_SERVER") != "") {
		c, err := opts.Server.Client(f)
		if err != nil {
			return &cmdutil.UsageError{Err: err}
		}
		q := url.Values{"ip": {addr.String()}, "active": {"false"}, "limit": {"50"}}
		if err := c.Do(ctx, "GET", "/v1/admin/decisions?"+q.Encode(), nil, &out.Decisions); err != nil {
			return fmt.Errorf("decisions from %s: %w", c.Base, err)
		}
		if out.Decisions == nil {
			out.Decisions = []api.Decision{}
		}
	}
	if opts.Format == cmdutil.FormatJSON {
		return cmdutil.WriteJSON(f.Out, out)
	}
	if err := writeText(f.Out, out, setup.Analyzer.Options().MinReturns); err != nil {
		return err
	}
	return writeDecisions(f.Out, out.Decisions, f.Now())
}

// read returns addr's report and its alert times. Files are read once for
// both; the store answers each from its rollups; a database gives the
// report only (cadence false).
func read(ctx context.Context, b cmdutil.Backend, addr netip.Addr, f analytics.Filter, limit int,
	analyze func([]cadence.Rule, []cadence.Hit) cadence.Result) (rep analytics.SourceReport, res *cadence.Result, err error) {
	if _, ok := b.(*ingest.Files); ok {
		rb := analytics.NewReportBuilder(addr, f, limit)
		c := cadence.NewSourceCollector(addr)
		_, err := cadencecmd.EachAlert(ctx, b, func(a *ossec.Alert) {
			rb.Add(a)
			if a.SrcIP == addr && f.Match(a) {
				c.Add(addr, a.Time.Unix(), cadencecmd.RuleOf(a))
			}
		})
		if err != nil {
			return rep, nil, err
		}
		r := analyze(c.Rules(), c.Hits(addr))
		return rb.Report(), &r, nil
	}
	// The report on one side, the alert times and their analysis on the
	// other: independent, so on two cores the second costs no time.
	var hitsErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		rules, hits, ok, err := cadencecmd.SourceHitsOf(ctx, b, addr, f)
		if err != nil || !ok {
			hitsErr = err
			return
		}
		r := analyze(rules, hits)
		res = &r
	}()
	rep, err = b.SourceReport(ctx, addr, f, limit)
	<-done
	if err == nil {
		err = hitsErr
	}
	return rep, res, err
}

// nameRules fills the descriptions the input lacks (ossec-dbd stores none
// since 2.9) from OSSEC's rules files. Without readable rules files the
// rules simply stay unnamed.
func nameRules(f *cmdutil.Factory, rep *analytics.SourceReport) {
	missing := false
	for _, rc := range rep.ByRule {
		missing = missing || rc.Description == ""
	}
	if !missing {
		return
	}
	c, err := f.Config()
	if err != nil {
		return
	}
	names, _, err := rules.Names(c.OssecRules())
	if err != nil {
		return
	}
	for i := range rep.ByRule {
		if rep.ByRule[i].Description == "" {
			rep.ByRule[i].Description = names[rep.ByRule[i].RuleID]
		}
	}
}

// lookupGeo names addr's network and country when the config names
// databases; without them ip simply says less.
func lookupGeo(f *cmdutil.Factory, addr netip.Addr) (geoip.Info, error) {
	c, err := f.Config()
	if err != nil {
		return geoip.Info{}, err
	}
	if c.GeoIPASN == "" && c.GeoIPCountry == "" && c.GeoIPCity == "" {
		return geoip.Info{}, nil
	}
	db, err := geoip.Open(geoip.Options{ASN: c.GeoIPASN, Country: c.GeoIPCountry, City: c.GeoIPCity})
	if err != nil {
		path := f.ConfigPath
		if path == "" {
			path = config.DefaultPath
		}
		return geoip.Info{}, fmt.Errorf("config %s: %w", path, err)
	}
	defer db.Close()
	return db.Lookup(addr), nil
}

func convert(r analytics.SourceReport) Report {
	out := Report{
		IP: r.Addr.String(), Count: r.Count,
		ByRule: []RuleCount{}, ByLevel: []LevelCount{}, ByLocation: []LocationCount{}, ByDay: []DayCount{}, Alerts: []Alert{},
	}
	if r.Count > 0 {
		first, last := r.FirstSeen.UTC(), r.LastSeen.UTC()
		out.FirstSeen, out.LastSeen = &first, &last
	}
	for _, c := range r.ByRule {
		out.ByRule = append(out.ByRule, RuleCount(c))
	}
	for _, c := range r.ByLevel {
		out.ByLevel = append(out.ByLevel, LevelCount(c))
	}
	for _, c := range r.ByLocation {
		loc := ossec.ParseLocation(c.Location)
		out.ByLocation = append(out.ByLocation, LocationCount{Location: c.Location, Agent: loc.Agent, Count: c.Count})
	}
	for _, c := range r.ByDay {
		out.ByDay = append(out.ByDay, DayCount{Day: c.Day.Format(time.DateOnly), Count: c.Count})
	}
	for _, a := range r.Alerts {
		out.Alerts = append(out.Alerts, Alert{Time: a.Time.UTC(), RuleID: a.RuleID, Level: a.Level, Location: a.Location, Log: a.Log})
	}
	return out
}

func writeText(w io.Writer, r Report, minReturns int) error {
	if r.Count == 0 {
		fmt.Fprintf(w, "%s: no alerts\n", r.IP)
		writeGeo(w, r)
		return nil
	}
	fmt.Fprintf(w, "%s: %d alerts, first seen %s, last seen %s\n", r.IP, r.Count,
		r.FirstSeen.Format(time.RFC3339), r.LastSeen.Format(time.RFC3339))
	writeGeo(w, r)

	fmt.Fprintln(w, "\nBy rule")
	rows := make([][]string, len(r.ByRule))
	for i, c := range r.ByRule {
		rows[i] = []string{strconv.Itoa(c.RuleID), strconv.Itoa(c.Level), strconv.FormatInt(c.Count, 10), c.Description}
	}
	cmdutil.WriteTable(w, []string{"  RULE", "LEVEL", "COUNT", "DESCRIPTION"}, indent(rows))

	fmt.Fprintln(w, "\nBy level")
	rows = rows[:0]
	for _, c := range r.ByLevel {
		rows = append(rows, []string{strconv.Itoa(c.Level), strconv.FormatInt(c.Count, 10)})
	}
	cmdutil.WriteTable(w, []string{"  LEVEL", "COUNT"}, indent(rows))

	fmt.Fprintln(w, "\nBy location")
	rows = rows[:0]
	for _, c := range r.ByLocation {
		rows = append(rows, []string{strconv.FormatInt(c.Count, 10), c.Location})
	}
	cmdutil.WriteTable(w, []string{"  COUNT", "LOCATION"}, indent(rows))

	fmt.Fprintln(w, "\nBy day (UTC)")
	rows = rows[:0]
	for _, c := range r.ByDay {
		rows = append(rows, []string{c.Day, strconv.FormatInt(c.Count, 10)})
	}
	cmdutil.WriteTable(w, []string{"  DAY", "COUNT"}, indent(rows))

	if r.Cadence != nil {
		writeCadence(w, r.Cadence, minReturns)
	}

	fmt.Fprintf(w, "\nLatest %d alerts\n", len(r.Alerts))
	for _, a := range r.Alerts {
		fmt.Fprintf(w, "  %s  rule %d (level %d)  %s\n", a.Time.Format(time.RFC3339), a.RuleID, a.Level, a.Location)
		for _, l := range strings.Split(a.Log, "\n") {
			fmt.Fprintf(w, "      %s\n", l)
		}
	}
	return nil
}

// writeGeo prints the network and country lines, when known.
func writeGeo(w io.Writer, r Report) {
	if r.ASN != 0 {
		fmt.Fprintf(w, "  network: AS%d %s\n", r.ASN, r.Org)
	}
	if r.Country != "" {
		if r.CountryName != "" {
			fmt.Fprintf(w, "  country: %s (%s)\n", r.Country, r.CountryName)
		} else {
			fmt.Fprintf(w, "  country: %s\n", r.Country)
		}
	}
}

func indent(rows [][]string) [][]string {
	for _, r := range rows {
		if len(r) > 0 {
			r[0] = "  " + r[0]
		}
	}
	return rows
}

// writeDecisions lists the server's decisions about the source.
func writeDecisions(w io.Writer, ds []api.Decision, now time.Time) error {
	if ds == nil {
		return nil
	}
	fmt.Fprintln(w, "\nDecisions (central server)")
	if len(ds) == 0 {
		_, err := fmt.Fprintln(w, "none")
		return err
	}
	rows := make([][]string, len(ds))
	for i, d := range ds {
		rows[i] = []string{strconv.FormatInt(d.ID, 10), d.Value.String(), d.Origin, d.Rule, cmdutil.DecisionUntil(d, now), d.Reason}
	}
	return cmdutil.WriteTable(w, []string{"ID", "VALUE", "ORIGIN", "RULE", "UNTIL", "REASON"}, rows)
}
