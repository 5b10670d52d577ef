// Package topcmd is "rampart top": the most frequent attacking sources, from
// alert files, the store or the ossec-dbd database, with local networks
// excluded by CIDR, not by string matching.
package topcmd

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
)

// Options are top's flags.
type Options struct {
	Query  cmdutil.QueryFlags
	Min    int64
	Limit  int
	Format string
}

// New returns the top command.
func New(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "top",
		Short: "List the most frequent alert sources",
		Long: `List the source addresses with the most alerts, most first (ties by address).

Input is alert files (--alerts), an ossec-dbd database (--db), or the store
filled by "rampart import" (the default). Local networks are excluded by
CIDR membership (--scope internet, the default); --scope local shows the
inside, --scope all both.`,
		Example: `  rampart top --alerts /var/ossec/logs/alerts/alerts.log
  rampart top --db mysql://ossec:secret@127.0.0.1:3306/ossec --min 1000
  rampart top --since 30d --level 6 --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd.Context(), f, cmd, opts)
		},
	}
	opts.Query.Register(cmd.Flags())
	cmd.Flags().Int64Var(&opts.Min, "min", 0, "only sources with at least `N` alerts")
	cmd.Flags().IntVar(&opts.Limit, "limit", 0, "show at most `N` sources (0: all)")
	cmd.Flags().StringVar(&opts.Format, "format", "table", "output: table, json or csv")
	return cmd
}

// Row is one source in top's JSON output.
type Row struct {
	IP        string    `json:"ip"`
	Count     int64     `json:"count"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	MaxLevel  int       `json:"max_level"`
	Rules     int       `json:"rules"`
}

func run(ctx context.Context, f *cmdutil.Factory, cmd *cobra.Command, opts *Options) error {
	if err := cmdutil.CheckFormat(opts.Format, cmdutil.FormatTable, cmdutil.FormatJSON, cmdutil.FormatCSV); err != nil {
		return err
	}
	if opts.Min < 0 {
		return cmdutil.FlagError("min", strconv.FormatInt(opts.Min, 10), fmt.Errorf("must not be negative"))
	}
	if opts.Limit < 0 {
		return cmdutil.FlagError("limit", strconv.Itoa(opts.Limit), fmt.Errorf("must not be negative"))
	}
	filter, err := opts.Query.Filter(f, cmd.Flags())
	if err != nil {
		return err
	}
	inScope, err := opts.Query.InScope(f)
	if err != nil {
		return err
	}
	in, err := cmdutil.OpenInput(ctx, f, &opts.Query)
	if err != nil {
		return err
	}
	defer in.Close()
	// A database that would answer faster with an index says so, once,
	// before the long scan (ossecdb.DB.TopIndexAdvice).
	if a, ok := in.Backend.(interface{ TopIndexAdvice() (string, bool) }); ok {
		if advice, ok := a.TopIndexAdvice(); ok {
			fmt.Fprintln(f.Err, "hint: "+advice)
		}
	}
	sources, err := in.Backend.TopSources(ctx, filter)
	if err != nil {
		return err
	}
	sources = analytics.Finish(sources, analytics.Selection{InScope: inScope, Min: opts.Min, Limit: opts.Limit})
	in.Report()

	rows := make([]Row, len(sources))
	for i, s := range sources {
		rows[i] = Row{IP: s.Addr.String(), Count: s.Count, FirstSeen: s.FirstSeen.UTC(), LastSeen: s.LastSeen.UTC(), MaxLevel: s.MaxLevel, Rules: s.Rules}
	}
	switch opts.Format {
	case cmdutil.FormatJSON:
		_, err := f.Out.Write(appendJSON(make([]byte, 0, 180*len(rows)+4), rows))
		return err
	case cmdutil.FormatCSV:
		return cmdutil.WriteCSV(f.Out, header, cells(rows))
	default:
		if len(rows) == 0 {
			fmt.Fprintln(f.Err, "no sources match")
			return nil
		}
		return cmdutil.WriteTable(f.Out, header, cells(rows))
	}
}

var header = []string{"IP", "COUNT", "FIRST SEEN", "LAST SEEN", "MAX LEVEL", "RULES"}

func cells(rows []Row) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = []string{r.IP, strconv.FormatInt(r.Count, 10), r.FirstSeen.Format(time.RFC3339), r.LastSeen.Format(time.RFC3339), strconv.Itoa(r.MaxLevel), strconv.Itoa(r.Rules)}
	}
	return out
}
