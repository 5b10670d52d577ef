package abusecmd

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rampart-ids/rampart/internal/abuse"
	"github.com/rampart-ids/rampart/internal/abuse/draft"
	"github.com/rampart-ids/rampart/internal/abuse/mail"
	"github.com/rampart-ids/rampart/internal/alertdb"
	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/ipclass"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/rules"
)

// ContactFinder finds the abuse contact of an address (package
// abuse/lookup's Resolver is one).
type ContactFinder interface {
	Lookup(ctx context.Context, addr netip.Addr) (abuse.Contact, error)
}

// DraftOption configures DraftCommands.
type DraftOption func(*draftDeps)

type draftDeps struct {
	flags  func(*pflag.FlagSet)
	finder func(context.Context) (ContactFinder, error)
}

// WithContactFinder makes "abuse draft" find contacts with what open
// returns; flags, if not nil, adds the lookup's own flags to the command.
func WithContactFinder(flags func(*pflag.FlagSet), open func(context.Context) (ContactFinder, error)) DraftOption {
	return func(d *draftDeps) { d.flags, d.finder = flags, open }
}

// DraftCommands returns the report commands of "rampart abuse": draft,
// list, show, edit, approve, discard and send.
func DraftCommands(f *cmdutil.Factory, opts ...DraftOption) []*cobra.Command {
	deps := &draftDeps{}
	for _, o := range opts {
		o(deps)
	}
	return []*cobra.Command{
		newDraft(f, deps), newList(f), newShow(f), newEdit(f),
		newSetState(f, "approve", alertdb.AbuseDraftApproved, "Approve drafts for sending",
			"Approve drafts: \"rampart abuse send\" sends approved drafts only. An edit\nafter approval takes a draft back to draft."),
		newSetState(f, "discard", alertdb.AbuseDraftDiscarded, "Discard drafts",
			"Discard drafts that should not be sent. \"rampart abuse list --state discarded\"\nstill shows them."),
		newSend(f),
	}
}

// DraftOptions are abuse draft's flags.
type DraftOptions struct {
	Query   cmdutil.QueryFlags
	FromTop bool
	Min     int64
	Limit   int
}

func newDraft(f *cmdutil.Factory, deps *draftDeps) *cobra.Command {
	opts := &DraftOptions{}
	cmd := &cobra.Command{
		Use:   "draft [IP...]",
		Short: "Draft abuse reports about attacking addresses",
		Long: `Draft abuse reports: look up the abuse contact of each address and make one
draft per contact, grouping every address that contact answers for. The
evidence is each address's alerts: counts, first and last seen, the rules
hit, the latest alert log lines with UTC times (abuse.evidence_lines).

Our host names, addresses (local networks, management networks, the
allowlist, abuse.redact.networks, OSSEC agents) and user names are
redacted, as are abuse.redact.names and abuse.redact.patterns.

The addresses are the arguments, or with --from-top the sources "rampart
top" would list with the same filters. Nothing is sent: review the drafts
with "abuse show", change them with "abuse edit", then "abuse approve" and
"abuse send".`,
		Example: `  rampart abuse draft 203.0.113.5 198.51.100.77
  rampart abuse draft --from-top --min 1000 --since 30d
  rampart abuse draft --from-top --limit 20 --level 10 --alerts /var/ossec/logs/alerts/alerts.log`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDraft(cmd.Context(), f, cmd, deps, opts, args)
		},
	}
	fl := cmd.Flags()
	opts.Query.Register(fl)
	fl.BoolVar(&opts.FromTop, "from-top", false, "draft reports about the top sources instead of the arguments")
	fl.Int64Var(&opts.Min, "min", 0, "with --from-top: sources with at least `N` alerts")
	fl.IntVar(&opts.Limit, "limit", 0, "with --from-top: at most `N` sources")
	if deps.flags != nil {
		deps.flags(fl)
	}
	return cmd
}

func configPath(f *cmdutil.Factory) string { return cmp.Or(f.ConfigPath, config.DefaultPath) }

// reporter is who the config says reports come from.
func reporter(f *cmdutil.Factory, c config.Config) (draft.Reporter, error) {
	a := c.Abuse
	if a.From == "" {
		return draft.Reporter{}, fmt.Errorf("config %s: abuse.from is not set: reports need a sender address", configPath(f))
	}
	return draft.Reporter{Name: a.FromName, Org: a.Org, Email: a.From, ReplyTo: a.ReplyTo, Domain: a.ReporterDomain()}, nil
}

// redactor knows what is ours from the config.
func redactor(c config.Config) (*draft.Redactor, error) {
	var nets []netip.Prefix
	for _, l := range [][]netip.Prefix{c.LocalNetworks, c.ManagementNetworks, c.Allowlist, c.Abuse.Redact.Networks} {
		nets = append(nets, l...)
	}
	names := slices.Clone(c.Abuse.Redact.Names)
	if d := c.Abuse.ReporterDomain(); d != "" {
		names = append(names, d)
	}
	return draft.NewRedactor(draft.RedactOptions{Networks: nets, Names: names, Patterns: c.Abuse.Redact.Patterns})
}

// draftAddrs reads the address arguments.
func draftAddrs(args []string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range args {
		a, ok := ossec.ParseAddr(s)
		if !ok {
			return nil, &cmdutil.UsageError{Err: fmt.Errorf("invalid address %q: want an IPv4 or IPv6 address", s)}
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

func runDraft(ctx context.Context, f *cmdutil.Factory, cmd *cobra.Command, deps *draftDeps, opts *DraftOptions, args []string) error {
	switch {
	case opts.FromTop && len(args) > 0:
		return &cmdutil.UsageError{Err: errors.New("give addresses or --from-top, not both")}
	case !opts.FromTop && len(args) == 0:
		return &cmdutil.UsageError{Err: errors.New("give the addresses to report, or --from-top")}
	case opts.FromTop && opts.Min <= 0 && opts.Limit <= 0:
		return &cmdutil.UsageError{Err: errors.New("--from-top needs --min or --limit: it would report every source")}
	case opts.Min < 0:
		return cmdutil.FlagError("min", strconv.FormatInt(opts.Min, 10), errors.New("must not be negative"))
	case opts.Limit < 0:
		return cmdutil.FlagError("limit", strconv.Itoa(opts.Limit), errors.New("must not be negative"))
	}
	addrs, err := draftAddrs(args)
	if err != nil {
		return err
	}
	cfg, err := f.Config()
	if err != nil {
		return err
	}
	rep, err := reporter(f, cfg)
	if err != nil {
		return err
	}
	red, err := redactor(cfg)
	if err != nil {
		return fmt.Errorf("config %s: %w", configPath(f), err)
	}
	filter, err := opts.Query.Filter(f, cmd.Flags())
	if err != nil {
		return err
	}
	inScope, err := opts.Query.InScope(f)
	if err != nil {
		return err
	}
	if deps.finder == nil {
		return errors.New("abuse draft: no contact lookup is wired into this build")
	}
	in, err := cmdutil.OpenInput(ctx, f, &opts.Query)
	if err != nil {
		return err
	}
	defer in.Close()
	if opts.FromTop {
		sources, err := in.Backend.TopSources(ctx, filter)
		if err != nil {
			return err
		}
		for _, s := range analytics.Finish(sources, analytics.Selection{InScope: inScope, Min: opts.Min, Limit: opts.Limit}) {
			addrs = append(addrs, s.Addr)
		}
		if len(addrs) == 0 {
			in.Report()
			fmt.Fprintln(f.Err, "no sources match")
			return nil
		}
	}
	store, err := f.Store(ctx)
	if err != nil {
		return err
	}
	open, err := store.AbuseDrafts(ctx, alertdb.AbuseDraftFilter{States: []string{alertdb.AbuseDraftDraft, alertdb.AbuseDraftApproved}})
	if err != nil {
		return err
	}
	finder, err := deps.finder(ctx)
	if err != nil {
		return err
	}
	allow, err := ipclass.New(cfg.Allowlist)
	if err != nil {
		return err
	}
	skip := func(a netip.Addr, why string) { fmt.Fprintf(f.Err, "%s: skipped: %s\n", a, why) }
	var inputs []draft.Input
	var ruleIDs []int
	failed := 0
	for _, a := range addrs {
		switch {
		case allow.IsLocal(a):
			skip(a, "on the allowlist")
			continue
		case red.IsOurs(a):
			skip(a, "in one of our own networks")
			continue
		}
		c, err := finder.Lookup(ctx, a)
		if err != nil {
			fmt.Fprintf(f.Err, "%s: contact lookup failed: %v\n", a, err)
			failed++
			continue
		}
		emails, bad := draft.NormalizeEmails(c.Emails)
		if len(emails) == 0 {
			why := "no abuse mailbox"
			if len(bad) > 0 {
				why = "no usable abuse mailbox (" + strings.Join(bad, ", ") + ")"
			}
			skip(a, fmt.Sprintf("%s in %s's answer (%s %s)", why, cmp.Or(c.Registry, "the registry"), c.Source, c.Server))
			continue
		}
		if d := openDraftWith(open, emails, a); d != nil {
			skip(a, fmt.Sprintf("already in draft %d (%s) to %s", d.ID, d.State, strings.Join(d.Emails, ", ")))
			continue
		}
		sr, err := in.Backend.SourceReport(ctx, a, filter, cfg.Abuse.EvidenceLines)
		if err != nil {
			return err
		}
		if sr.Count == 0 {
			skip(a, "no alerts match the filters")
			continue
		}
		inputs = append(inputs, draft.Input{Contact: c, Evidence: evidence(sr)})
		for _, r := range sr.ByRule {
			ruleIDs = append(ruleIDs, r.RuleID)
		}
	}
	in.Report()
	groups := ruleGroups(ctx, f, in.Backend, cfg, ruleIDs)
	for i := range inputs {
		for j, r := range inputs[i].Evidence.Rules {
			inputs[i].Evidence.Rules[j].Groups = groups[r.ID]
		}
	}
	drafts, skips := draft.Build(inputs, draft.Options{Reporter: rep, Redactor: red, Now: f.Now(), Attach: cfg.Abuse.Attach})
	for _, s := range skips {
		skip(s.Addr, s.Reason)
	}
	if len(drafts) == 0 {
		if failed > 0 {
			return fmt.Errorf("no draft made: %d of %d lookups failed", failed, len(addrs))
		}
		fmt.Fprintln(f.Err, "no draft made")
		return nil
	}
	author := cmp.Or(f.Getenv("SUDO_USER"), f.Getenv("USER"))
	recs := make([]alertdb.AbuseDraft, len(drafts))
	for i, d := range drafts {
		if recs[i], err = mail.Record(d, nil, "rampart-"+strings.ReplaceAll(draft.NewUUID(), "-", ""), author); err != nil {
			return err
		}
	}
	ids, err := store.CreateAbuseDrafts(ctx, recs)
	if err != nil {
		return err
	}
	for i, d := range drafts {
		org := ""
		if len(d.Contact.Orgs) > 0 {
			org = " (" + strings.Join(d.Contact.Orgs, ", ") + ")"
		}
		fmt.Fprintf(f.Out, "draft %d: %s%s: %s: %s\n", ids[i], strings.Join(d.Contact.Emails, ", "), org,
			plural(len(d.Reports), "address", "addresses"), joinAddrs(d.Addrs()))
	}
	fmt.Fprintf(f.Err, "review with \"rampart abuse show N\", then \"rampart abuse approve N\" and \"rampart abuse send\"\n")
	if failed > 0 {
		return fmt.Errorf("%d of %d lookups failed", failed, len(addrs))
	}
	return nil
}

// openDraftWith returns an open draft to the same mailboxes that already
// reports a.
func openDraftWith(open []alertdb.AbuseDraft, emails []string, a netip.Addr) *alertdb.AbuseDraft {
	key := draft.ContactKey(emails)
	for i, d := range open {
		if draft.ContactKey(d.Emails) == key && slices.Contains(d.Addrs, a) {
			return &open[i]
		}
	}
	return nil
}

func evidence(sr analytics.SourceReport) draft.Evidence {
	ev := draft.Evidence{Addr: sr.Addr, Count: sr.Count, FirstSeen: sr.FirstSeen, LastSeen: sr.LastSeen}
	for _, r := range sr.ByRule {
		ev.Rules = append(ev.Rules, draft.Rule{ID: r.RuleID, Level: r.Level, Description: r.Description, Count: r.Count})
	}
	for _, a := range sr.Alerts {
		ev.Alerts = append(ev.Alerts, draft.Alert{Time: a.Time, RuleID: a.RuleID, Level: a.Level, Location: a.Location, Log: a.Log})
	}
	for _, l := range sr.ByLocation {
		ev.Locations = append(ev.Locations, l.Location)
	}
	return ev
}

// ruleGroups finds the rules' groups, which classify the reports: from
// the store when it is the input, else from OSSEC's rules files. Without
// either the reports say "hostile activity".
func ruleGroups(ctx context.Context, f *cmdutil.Factory, backend cmdutil.Backend, cfg config.Config, ids []int) map[int][]string {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if s, ok := backend.(interface {
		RuleGroups(context.Context, []int) (map[int][]string, error)
	}); ok {
		g, err := s.RuleGroups(ctx, ids)
		if err == nil {
			return g
		}
		fmt.Fprintf(f.Err, "rule groups: %v\n", err)
	}
	rs, _, err := rules.LoadDir(cfg.OssecRules())
	if err != nil {
		f.Logger().Info("no rule groups for the report categories", "error", err)
		return nil
	}
	out := map[int][]string{}
	for _, id := range ids {
		if r, ok := rs[id]; ok {
			out[id] = r.Groups
		}
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func joinAddrs(addrs []netip.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// draftIDs reads draft numbers.
func draftIDs(args []string) ([]int64, error) {
	var out []int64
	for _, s := range args {
		id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
		if err != nil || id <= 0 {
			return nil, &cmdutil.UsageError{Err: fmt.Errorf("invalid draft number %q", s)}
		}
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// DraftRow is one draft in "abuse list --format json".
type DraftRow struct {
	ID        int64     `json:"id"`
	State     string    `json:"state"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	To        []string  `json:"to"`
	Addresses []string  `json:"addresses"`
	Subject   string    `json:"subject"`
	Edited    bool      `json:"edited"`
	Author    string    `json:"author,omitempty"`
}

// ListOptions are abuse list's flags.
type ListOptions struct {
	State  string
	Format string
}

func newList(f *cmdutil.Factory) *cobra.Command {
	opts := &ListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List abuse report drafts",
		Example: `  rampart abuse list
  rampart abuse list --state approved --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runList(cmd.Context(), f, opts) },
	}
	cmd.Flags().StringVar(&opts.State, "state", "all", "only drafts in `STATE`: draft, approved, sent, discarded, open (draft or approved) or all")
	cmd.Flags().StringVar(&opts.Format, "format", cmdutil.FormatTable, "output: table or json")
	return cmd
}

func runList(ctx context.Context, f *cmdutil.Factory, opts *ListOptions) error {
	if err := cmdutil.CheckFormat(opts.Format, cmdutil.FormatTable, cmdutil.FormatJSON); err != nil {
		return err
	}
	var filter alertdb.AbuseDraftFilter
	switch opts.State {
	case "all":
	case "open":
		filter.States = []string{alertdb.AbuseDraftDraft, alertdb.AbuseDraftApproved}
	case alertdb.AbuseDraftDraft, alertdb.AbuseDraftApproved, alertdb.AbuseDraftSent, alertdb.AbuseDraftDiscarded:
		filter.States = []string{opts.State}
	default:
		return cmdutil.FlagError("state", opts.State, errors.New("want draft, approved, sent, discarded, open or all"))
	}
	store, err := f.Store(ctx)
	if err != nil {
		return err
	}
	drafts, err := store.AbuseDrafts(ctx, filter)
	if err != nil {
		return err
	}
	rows := make([]DraftRow, len(drafts))
	for i, d := range drafts {
		rows[i] = DraftRow{ID: d.ID, State: d.State, Created: d.Created, Updated: d.Updated, To: d.Emails,
			Subject: d.Subject, Edited: d.Edited, Author: d.Author, Addresses: []string{}}
		for _, a := range d.Addrs {
			rows[i].Addresses = append(rows[i].Addresses, a.String())
		}
	}
	if opts.Format == cmdutil.FormatJSON {
		return cmdutil.WriteJSON(f.Out, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(f.Err, "no drafts")
		return nil
	}
	cells := make([][]string, len(rows))
	for i, r := range rows {
		state := r.State
		if r.Edited {
			state += " (edited)"
		}
		addrs := r.Addresses[0]
		if len(r.Addresses) > 1 {
			addrs += fmt.Sprintf(" +%d", len(r.Addresses)-1)
		}
		cells[i] = []string{strconv.FormatInt(r.ID, 10), state, r.Updated.Format("2006-01-02 15:04"), strings.Join(r.To, ","), addrs, r.Subject}
	}
	return cmdutil.WriteTable(f.Out, []string{"DRAFT", "STATE", "UPDATED (UTC)", "TO", "ADDRESSES", "SUBJECT"}, cells)
}

// ShowOptions are abuse show's flags.
type ShowOptions struct{ Format string }

func newShow(f *cmdutil.Factory) *cobra.Command {
	opts := &ShowOptions{}
	cmd := &cobra.Command{
		Use:   "show N",
		Short: "Show an abuse report draft",
		Long: `Show draft N: its recipients, state and sending history, then the text
that would be mailed (--format text), the X-ARF v4 reports (xarf) or the
ARF rendering (arf). "abuse send N --dry-run" shows the whole message.`,
		Example: `  rampart abuse show 3
  rampart abuse show 3 --format xarf`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runShow(cmd.Context(), f, opts, args[0]) },
	}
	cmd.Flags().StringVar(&opts.Format, "format", "text", "output: text, xarf or arf")
	return cmd
}

func runShow(ctx context.Context, f *cmdutil.Factory, opts *ShowOptions, arg string) error {
	if err := cmdutil.CheckFormat(opts.Format, "text", "xarf", "arf"); err != nil {
		return err
	}
	ids, err := draftIDs([]string{arg})
	if err != nil {
		return err
	}
	store, err := f.Store(ctx)
	if err != nil {
		return err
	}
	d, err := store.AbuseDraft(ctx, ids[0])
	if err != nil {
		return err
	}
	switch opts.Format {
	case "xarf":
		_, err = f.Out.Write(d.XARF)
		return err
	case "arf":
		_, err = f.Out.Write(d.ARF)
		return err
	}
	sends, err := store.AbuseSends(ctx, d.ID)
	if err != nil {
		return err
	}
	state := d.State
	if d.Edited {
		state += ", edited"
	}
	fmt.Fprintf(f.Out, "Draft:     %d (%s)\n", d.ID, state)
	fmt.Fprintf(f.Out, "Created:   %s", d.Created.Format("2006-01-02 15:04:05 UTC"))
	if d.Author != "" {
		fmt.Fprintf(f.Out, " by %s", d.Author)
	}
	fmt.Fprintf(f.Out, "\nTo:        %s\n", strings.Join(d.Emails, ", "))
	fmt.Fprintf(f.Out, "Addresses: %s\n", joinAddrs(d.Addrs))
	for _, s := range sends {
		line := fmt.Sprintf("%s %s to %s as %s (%s)", s.Outcome, s.Time.Format("2006-01-02 15:04:05 UTC"),
			strings.Join(s.Recipients, ", "), s.MessageID, plural(len(s.Addrs), "address", "addresses"))
		if s.Error != "" {
			line += ": " + s.Error
		}
		fmt.Fprintf(f.Out, "Sending:   %s\n", line)
	}
	fmt.Fprintf(f.Out, "Subject:   %s\n\n%s", d.Subject, d.Text)
	return nil
}

func newSetState(f *cmdutil.Factory, verb, state, short, long string) *cobra.Command {
	return &cobra.Command{
		Use:     verb + " N...",
		Short:   short,
		Long:    long,
		Example: "  rampart abuse " + verb + " 3 4",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSetState(cmd.Context(), f, verb, state, args)
		},
	}
}

var pastTense = map[string]string{"approve": "approved", "discard": "discarded"}

func runSetState(ctx context.Context, f *cmdutil.Factory, verb, state string, args []string) error {
	ids, err := draftIDs(args)
	if err != nil {
		return err
	}
	store, err := f.Store(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		d, err := store.SetAbuseDraftState(ctx, id, state, f.Now())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(f.Out, "draft %d %s: %s to %s\n", id, pastTense[verb], plural(len(d.Addrs), "address", "addresses"), strings.Join(d.Emails, ", "))
	}
	return errors.Join(errs...)
}
