// Package timelinecmd is "rampart timeline": alerts counted per hour, day or
// week, as a terminal chart, JSON or CSV, from alert files, the store or the
// ossec-dbd database. Buckets are UTC and empty ones are printed as zero.
//
// It only wires flags, back ends and output: counting is package analytics'
// and the store's.
package timelinecmd

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/ingest"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
)

// Options are timeline's flags.
type Options struct {
	Query  cmdutil.QueryFlags
	IP     string
	By     string
	Format string
	// Width is the chart's widest bar in terminal cells.
	Width int
}

// New returns the timeline command.
func New(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "timeline",
		Short: "Count alerts per hour, day or week",
		Long: `Count alerts per hour, day or week (--by) and draw them as a chart, or print
them as JSON or CSV with a breakdown by level.

What counts: every alert the filters select (--since, --until, --level,
--rule), with or without a source address (syscheck, rootcheck and the like
have none). --scope counts only alerts whose source is in that scope, as top
selects them (internet, local or all; --local-nets as in top); --ip only the
alerts of one source.

Buckets are UTC; weeks start on Monday (ISO 8601). Every bucket of the range
is printed, those without alerts as zero: from --since (or the first alert)
to --until (or now with --since, else the last alert).

Input is alert files (--alerts), an ossec-dbd database (--db), or the store
filled by "rampart import" (the default, and much the fastest).`,
		Example: `  rampart timeline --since 30d
  rampart timeline --ip 203.0.113.45 --by hour --since 2d
  rampart timeline --by week --scope internet --format csv
  rampart timeline --alerts /var/ossec/logs/alerts/alerts.log --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd.Context(), f, cmd, opts)
		},
	}
	opts.Query.Register(cmd.Flags())
	// Unlike top, timeline counts every alert unless --scope is given.
	scope := cmd.Flags().Lookup("scope")
	scope.Usage, scope.DefValue = "count only alerts whose source is in scope: internet, local or all (default: every alert)", ""
	cmd.Flags().StringVar(&opts.IP, "ip", "", "only the alerts of source `ADDR`")
	cmd.Flags().StringVar(&opts.By, "by", "day", "bucket width: hour, day or week")
	cmd.Flags().StringVar(&opts.Format, "format", cmdutil.FormatTable, "output: table (a chart), json or csv")
	cmd.Flags().IntVar(&opts.Width, "width", 50, "widest bar of the chart in `CELLS`")
	return cmd
}

func run(ctx context.Context, f *cmdutil.Factory, cmd *cobra.Command, opts *Options) error {
	if err := cmdutil.CheckFormat(opts.Format, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
		return err
	}
	by, err := analytics.ParseInterval(opts.By)
	if err != nil {
		return cmdutil.FlagError("by", opts.By, fmt.Errorf("want hour, day or week"))
	}
	if opts.Width < 1 || opts.Width > 1000 {
		return cmdutil.FlagError("width", fmt.Sprint(opts.Width), fmt.Errorf("want 1 to 1000"))
	}
	filter, err := opts.Query.Filter(f, cmd.Flags())
	if err != nil {
		return err
	}
	q := analytics.TimelineQuery{Filter: filter, By: by}
	switch {
	case opts.IP != "":
		addr, err := netip.ParseAddr(opts.IP)
		if err != nil {
			return cmdutil.FlagError("ip", opts.IP, fmt.Errorf("not an IP address"))
		}
		if cmd.Flags().Changed("scope") {
			return &cmdutil.UsageError{Err: fmt.Errorf("--ip and --scope exclude each other")}
		}
		q.Addr = addr.Unmap()
	case cmd.Flags().Changed("scope"):
		if q.InScope, err = opts.Query.InScope(f); err != nil {
			return err
		}
	}
	in, err := cmdutil.OpenInput(ctx, f, &opts.Query)
	if err != nil {
		return err
	}
	defer in.Close()
	c, err := Count(ctx, in.Backend, q)
	if err != nil {
		return err
	}
	lo, hi := filter.Since, filter.Until
	if !lo.IsZero() && hi.IsZero() {
		// Up to now: the quiet time since the last alert is part of the
		// picture. Alerts stamped in the future extend it.
		hi = f.Now()
		if _, last, ok := c.Span(); ok && !last.Before(hi) {
			hi = last.Add(by.Duration())
		}
	}
	buckets, err := c.Timeline(lo, hi)
	if err != nil {
		return err
	}
	in.Report()
	switch opts.Format {
	case cmdutil.FormatJSON:
		_, err := f.Out.Write(analytics.AppendTimelineJSON(nil, buckets))
		return err
	case cmdutil.FormatCSV:
		return analytics.WriteTimelineCSV(f.Out, buckets)
	default:
		if len(buckets) == 0 {
			fmt.Fprintln(f.Err, "no alerts match")
			return nil
		}
		return analytics.WriteTimelineChart(f.Out, by, buckets, opts.Width)
	}
}

// Count counts the alerts q selects from an input: the store counts from
// its rollups, files and databases are read alert by alert.
func Count(ctx context.Context, b cmdutil.Backend, q analytics.TimelineQuery) (*analytics.TimelineCounter, error) {
	if s, ok := b.(interface {
		Timeline(context.Context, analytics.TimelineQuery) (*analytics.TimelineCounter, error)
	}); ok {
		return s.Timeline(ctx, q)
	}
	c := analytics.NewTimelineCounter(q)
	switch b := b.(type) {
	case *ingest.Files:
		if err := b.Each(ctx, c.Add); err != nil {
			return nil, err
		}
	case *ossecdb.DB:
		rows := b.Alerts(ctx, nil)
		defer rows.Close()
		for rows.Next() {
			c.Add(rows.Alert())
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("timeline: input %T cannot be read", b)
	}
	return c, nil
}
