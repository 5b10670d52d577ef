// Package topcmd is "rampart top": the most frequent attacking sources, from
// alert files, the store or the ossec-dbd database, with local networks
// excluded by CIDR, not by string matching.
package topcmd

import (
	"context"
	"fmt"
	"slices"
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
	// By is what rows are: ip (sources), or the groups prefix, asn,
	// country sum their sources into.
	By string
	// V4Prefix and V6Prefix are the prefix lengths of --by prefix.
	V4Prefix, V6Prefix int
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
inside, --scope all both.

--by prefix sums the sources by /24 (IPv4) and /64 (IPv6), or --v4-prefix and
--v6-prefix; --by asn and --by country sum them by network or country, from
the MaxMind-format databases the config names (geoip_asn, geoip_country,
geoip_city). --min and --limit then apply to the groups.`,
		Example: `  rampart top --alerts /var/ossec/logs/alerts/alerts.log
  rampart top --db mysql://ossec:secret@127.0.0.1:3306/ossec --min 1000
  rampart top --since 30d --level 6 --format json
  rampart top --by asn --limit 20`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd.Context(), f, cmd, opts)
		},
	}
	opts.Query.Register(cmd.Flags())
	cmd.Flags().Int64Var(&opts.Min, "min", 0, "only sources with at least `N` alerts")
	cmd.Flags().IntVar(&opts.Limit, "limit", 0, "show at most `N` sources (0: all)")
	cmd.Flags().StringVar(&opts.Format, "format", "table", "output: table, json or csv")
	cmd.Flags().StringVar(&opts.By, "by", ByIP, "rows: ip (sources), prefix, asn or country (groups of sources)")
	cmd.Flags().IntVar(&opts.V4Prefix, "v4-prefix", 24, "with --by prefix: IPv4 prefix length `BITS`")
	cmd.Flags().IntVar(&opts.V6Prefix, "v6-prefix", 64, "with --by prefix: IPv6 prefix length `BITS`")
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
	// The grouping is set up before the input is read: a missing database
	// is said at once, not after a long scan.
	var grp *grouping
	switch opts.By {
	case ByIP:
	case ByPrefix:
		if opts.V4Prefix < 1 || opts.V4Prefix > 32 {
			return cmdutil.FlagError("v4-prefix", strconv.Itoa(opts.V4Prefix), fmt.Errorf("want 1 to 32"))
		}
		if opts.V6Prefix < 1 || opts.V6Prefix > 128 {
			return cmdutil.FlagError("v6-prefix", strconv.Itoa(opts.V6Prefix), fmt.Errorf("want 1 to 128"))
		}
		grp = prefixGrouping(opts.V4Prefix, opts.V6Prefix)
	case ByASN, ByCountry:
		g, err := geoGrouping(f, opts.By)
		if err != nil {
			return err
		}
		defer g.close()
		grp = g
	default:
		return cmdutil.FlagError("by", opts.By, fmt.Errorf("want %s, %s, %s or %s", ByIP, ByPrefix, ByASN, ByCountry))
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
	if grp != nil {
		// Only the scope matters here: groups are ordered by GroupBy, and
		// their top members do not depend on the order of the sources.
		sources = slices.DeleteFunc(sources, func(s analytics.SourceCount) bool { return !inScope(s.Addr) })
		in.Report()
		return writeGroups(f, opts, grp, analytics.GroupBy(sources, grp.key))
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
