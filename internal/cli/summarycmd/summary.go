// Package summarycmd is "rampart summary": a period's alerts by level, rule
// and agent, its top sources and prefixes and the sources new in it, as
// plain text or Markdown for a weekly mail, or as JSON.
//
// It only wires flags, back ends and output: the summary is package
// analytics', the counting the store's or the alert stream's.
package summarycmd

import (
	"cmp"
	"slices"

	"context"
	"fmt"
	"github.com/rampart-ids/rampart/internal/analytics/cadence"
	"github.com/rampart-ids/rampart/internal/cli/cadencecmd"
	"net/netip"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/ingest"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
)

// Formats of the summary.
const (
	FormatText     = "text"
	FormatMarkdown = "markdown"
)

// Options are summary's flags.
type Options struct {
	Query              cmdutil.QueryFlags
	Limit              int
	Format             string
	V4Prefix, V6Prefix int
	// Blocks judge the returners section, as rampart cadence does.
	Blocks cadencecmd.Flags
}

// New returns the summary command.
func New(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "summary",
		Short: "Summarise a period's alerts for a report",
		Long: `Summarise the alerts of a period (--since, default the last 7 days, to --until
or now): totals, alerts by level, by rule (with its description) and by agent
(every alert, with or without a source address), then the top sources, the top
prefixes (/24 and /64, or --v4-prefix and --v6-prefix) and the sources new in
the period: first seen in it and never before, over everything the input
holds. The source lists take --scope as top does (internet by default).

--format text is plain text for a mail body, markdown renders in mail clients
and chat tools, json is for programs. Lists show --limit entries; JSON has
every rule and agent.`,
		Example: `  rampart summary
  rampart summary --since 7d --format markdown | mail -s "rampart weekly" root
  rampart summary --since 2026-10-01 --until 2026-11-01 --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd.Context(), f, cmd, opts)
		},
	}
	opts.Query.Register(cmd.Flags())
	// A summary is of a period: the last week unless told otherwise.
	since := cmd.Flags().Lookup("since")
	since.DefValue = "7d"
	_ = since.Value.Set("7d")
	cmd.Flags().IntVar(&opts.Limit, "limit", 10, "list at most `N` rules, agents, sources and prefixes")
	cmd.Flags().StringVar(&opts.Format, "format", FormatText, "output: text, markdown or json")
	cmd.Flags().IntVar(&opts.V4Prefix, "v4-prefix", 24, "IPv4 prefix length `BITS` of the prefix list")
	cmd.Flags().IntVar(&opts.V6Prefix, "v6-prefix", 64, "IPv6 prefix length `BITS` of the prefix list")
	opts.Blocks.Register(cmd.Flags())
	return cmd
}

func run(ctx context.Context, f *cmdutil.Factory, cmd *cobra.Command, opts *Options) error {
	if err := cmdutil.CheckFormat(opts.Format, FormatText, FormatMarkdown, cmdutil.FormatJSON); err != nil {
		return err
	}
	if opts.Limit < 1 {
		return cmdutil.FlagError("limit", strconv.Itoa(opts.Limit), fmt.Errorf("want at least 1"))
	}
	if opts.V4Prefix < 1 || opts.V4Prefix > 32 {
		return cmdutil.FlagError("v4-prefix", strconv.Itoa(opts.V4Prefix), fmt.Errorf("want 1 to 32"))
	}
	if opts.V6Prefix < 1 || opts.V6Prefix > 128 {
		return cmdutil.FlagError("v6-prefix", strconv.Itoa(opts.V6Prefix), fmt.Errorf("want 1 to 128"))
	}
	if opts.Query.Since == "" {
		return cmdutil.FlagError("since", "", fmt.Errorf("a summary needs the start of its period"))
	}
	filter, err := opts.Query.Filter(f, cmd.Flags())
	if err != nil {
		return err
	}
	if filter.Until.IsZero() {
		// The period ends now: every back end counts up to the same second.
		filter.Until = f.Now().UTC().Truncate(time.Second).Add(time.Second)
		if !filter.Until.After(filter.Since) {
			return &cmdutil.UsageError{Err: fmt.Errorf("--since %s is in the future", opts.Query.Since)}
		}
	}
	until := filter.Until
	inScope, err := opts.Query.InScope(f)
	if err != nil {
		return err
	}
	setup, err := opts.Blocks.Setup(f, cmd.Flags(), false)
	if err != nil {
		return err
	}
	in, err := cmdutil.OpenInput(ctx, f, &opts.Query)
	if err != nil {
		return err
	}
	defer in.Close()
	for _, n := range setup.Notes {
		fmt.Fprintln(f.Err, "note: "+n)
	}
	input, err := Collect(ctx, in.Backend, filter)
	if err != nil {
		return err
	}
	in.Report()
	input.Since, input.Until = filter.Since, until
	input.InScope, input.Limit = inScope, opts.Limit
	input.V4Prefix, input.V6Prefix = opts.V4Prefix, opts.V6Prefix
	rep := analytics.Summarize(input).Report()
	returners, err := returnersSection(ctx, in.Backend, filter, inScope, setup, opts.Limit)
	if err != nil {
		return err
	}
	rep.Sections = append(rep.Sections, returners)
	switch opts.Format {
	case cmdutil.FormatJSON:
		return cmdutil.WriteJSON(f.Out, rep)
	case FormatMarkdown:
		return rep.WriteMarkdown(f.Out)
	default:
		return rep.WriteText(f.Out)
	}
}

// store is what the summary needs of the store.
type store interface {
	Tallies(ctx context.Context, f analytics.Filter) ([]analytics.Tally, error)
	TopSources(ctx context.Context, f analytics.Filter) ([]analytics.SourceCount, error)
}

// Collect gathers a summary's input from a back end: the store answers from
// its rollups, files and databases are read alert by alert. The caller sets
// the period, scope and limits.
func Collect(ctx context.Context, b cmdutil.Backend, f analytics.Filter) (analytics.SummaryInput, error) {
	if s, ok := b.(store); ok {
		var in analytics.SummaryInput
		var err error
		if in.Tallies, err = s.Tallies(ctx, f); err != nil {
			return in, err
		}
		if in.Sources, err = s.TopSources(ctx, f); err != nil {
			return in, err
		}
		all, err := s.TopSources(ctx, analytics.Filter{})
		if err != nil {
			return in, err
		}
		first := make(map[netip.Addr]time.Time, len(all))
		for _, src := range all {
			first[src.Addr] = src.FirstSeen
		}
		in.FirstSeen = func(a netip.Addr) (time.Time, bool) {
			t, ok := first[a]
			return t, ok
		}
		return in, nil
	}
	sb := analytics.NewSummaryBuilder(f)
	switch b := b.(type) {
	case *ingest.Files:
		if err := b.Each(ctx, sb.Add); err != nil {
			return analytics.SummaryInput{}, err
		}
	case *ossecdb.DB:
		rows := b.Alerts(ctx, nil)
		defer rows.Close()
		for rows.Next() {
			sb.Add(rows.Alert())
		}
		if err := rows.Err(); err != nil {
			return analytics.SummaryInput{}, err
		}
	default:
		return analytics.SummaryInput{}, fmt.Errorf("summary: input %T cannot be read", b)
	}
	return sb.Input(), nil
}

// returnersSection lists the sources of the period that came back right
// after OSSEC's block ended, as "rampart cadence" flags them.
func returnersSection(ctx context.Context, b cmdutil.Backend, filter analytics.Filter, inScope func(netip.Addr) bool, setup *cadencecmd.Setup, limit int) (analytics.Section, error) {
	var flagged []cadence.Result
	err := cadencecmd.EachSource(ctx, b, filter, func(rules []cadence.Rule, src netip.Addr, hits []cadence.Hit) error {
		if !inScope(src) {
			return nil
		}
		if r := setup.Analyzer.Analyze(rules, src, hits); r.Flagged {
			flagged = append(flagged, r)
		}
		return nil
	})
	if err != nil {
		return analytics.Section{}, err
	}
	slices.SortFunc(flagged, func(a, b cadence.Result) int { return cmp.Or(cmp.Compare(b.Alerts, a.Alerts), a.Addr.Compare(b.Addr)) })
	sec := analytics.Section{
		Key:   "flagged_returners",
		Title: "Returners: back right after OSSEC's block (blocks: " + setup.Block + ")",
		Columns: []analytics.Column{{Name: "IP"}, {Name: "ALERTS", Right: true}, {Name: "RETURNS", Right: true},
			{Name: "AFTER BLOCK", Right: true}, {Name: "BLOCK", Right: true}, {Name: "RECOMMENDED BAN", Right: true}},
		Empty: "No source came back right after its block.",
	}
	rows := make([]cadencecmd.Row, len(flagged))
	for i, r := range flagged {
		rows[i] = cadencecmd.NewRow(r)
		if i < limit {
			sec.Rows = append(sec.Rows, []string{r.Addr.String(), strconv.Itoa(r.Alerts), strconv.Itoa(r.Returns),
				fmt.Sprintf("%.0f%%", r.Share*100), r.Block.String(), r.Recommended.String()})
		}
	}
	if len(flagged) > limit {
		sec.Rest = fmt.Sprintf("and %d more", len(flagged)-limit)
	}
	sec.Data = rows
	return sec, nil
}
