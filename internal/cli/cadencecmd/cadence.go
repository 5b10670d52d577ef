// Package cadencecmd is "rampart cadence": the sources that return just
// after OSSEC's block expires, with the ban that would have kept them out.
// It also holds what "rampart ip" shares with it: the flags that say which
// alerts blocked for how long (ossec.conf or --block), and the reading of
// every source's alert times from the store, alert files or a database.
//
// The judgement itself is package cadence's; this package only wires
// inputs, flags and output.
package cadencecmd

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/analytics/cadence"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
)

// Options are cadence's flags.
type Options struct {
	Query  cmdutil.QueryFlags
	Blocks Flags
	All    bool
	Format string
}

// New returns the cadence command.
func New(f *cmdutil.Factory) *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "cadence",
		Short: "List the sources that come back just after OSSEC's block expires",
		Long: `List the sources whose returns cluster just after their block expires: bots
that wait out OSSEC's active response instead of giving up.

Which alerts block, and for how long, comes from OSSEC's ossec.conf
(ossec_dir of the config, or --ossec-conf): its <active-response> blocks, its
white_list, and its repeated_offenders for the responses the manager runs
(agents are assumed to set none). Without a readable ossec.conf Rampart says
so and assumes OSSEC's stock response: level ≥ 6 blocks the source for 600 s.
--block sets one length for every block.

A return is the source's next alert after a block started. A source with at
least --min-returns returns is flagged when half of them or more come within
--tolerance after the block expired; fewer returns is "not enough data",
never flagged. The recommended ban is the shortest step of ossec.conf's
repeated_offenders ladder (or 10 min, 30 min, 1 h, 2 h, 6 h, 1 day) that
95 % of the returns did not outlast, at most --max-ban.

Lists the flagged sources, most alerts first; --all lists every source with
enough data, flagged first. Local networks are left out (--scope).`,
		Example: `  rampart cadence
  rampart cadence --ossec-conf /var/ossec/etc/ossec.conf --since 30d
  rampart cadence --alerts /var/ossec/logs/alerts/alerts.log --block 600s --all
  rampart cadence --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return run(cmd.Context(), f, cmd, opts)
		},
	}
	opts.Query.Register(cmd.Flags())
	opts.Blocks.Register(cmd.Flags())
	cmd.Flags().BoolVar(&opts.All, "all", false, "list every source with enough data, not only the flagged ones")
	cmd.Flags().StringVar(&opts.Format, "format", "table", "output: table or json")
	return cmd
}

// Row is one source in cadence's JSON output.
type Row struct {
	IP        string    `json:"ip"`
	Alerts    int       `json:"alerts"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Episodes  int       `json:"episodes"`
	// Blocks counts the blocks the source's alerts started.
	Blocks int `json:"blocks"`
	// Returns counts the blocks after which the source came back.
	Returns             int     `json:"returns"`
	MedianReturnSeconds float64 `json:"median_return_seconds"`
	// ReturnsAfterBlock is the share of returns in [block, block +
	// tolerance].
	ReturnsAfterBlock float64 `json:"returns_after_block"`
	// BlockSeconds is the block most returns waited out; null for a
	// permanent block.
	BlockSeconds          *int64 `json:"block_seconds"`
	Flagged               bool   `json:"flagged"`
	RecommendedBanSeconds int64  `json:"recommended_ban_seconds"`
	// RecommendedBanCapped: no allowed step covered 95 % of the returns.
	RecommendedBanCapped bool `json:"recommended_ban_capped"`
}

// NewRow converts a result.
func NewRow(r cadence.Result) Row {
	row := Row{
		IP: r.Addr.String(), Alerts: r.Alerts, FirstSeen: r.FirstSeen, LastSeen: r.LastSeen, Episodes: r.Episodes,
		Blocks: r.Blocks, Returns: r.Returns, MedianReturnSeconds: r.MedianGap.Seconds(),
		ReturnsAfterBlock: math.Round(r.Share*1e4) / 1e4, Flagged: r.Flagged,
		RecommendedBanSeconds: int64(r.Recommended / time.Second), RecommendedBanCapped: r.Capped,
	}
	if r.Block != cadence.Permanent {
		s := int64(r.Block / time.Second)
		row.BlockSeconds = &s
	}
	return row
}

func run(ctx context.Context, f *cmdutil.Factory, cmd *cobra.Command, opts *Options) error {
	if err := cmdutil.CheckFormat(opts.Format, cmdutil.FormatTable, cmdutil.FormatJSON); err != nil {
		return err
	}
	filter, err := opts.Query.Filter(f, cmd.Flags())
	if err != nil {
		return err
	}
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
	var results []cadence.Result
	var sources, thin int
	err = EachSource(ctx, in.Backend, filter, func(rules []cadence.Rule, src netip.Addr, hits []cadence.Hit) error {
		if !inScope(src) {
			return nil
		}
		sources++
		r := setup.Analyzer.Analyze(rules, src, hits)
		switch {
		case !r.EnoughData:
			thin++
		case r.Flagged || opts.All:
			results = append(results, r)
		}
		return nil
	})
	if err != nil {
		return err
	}
	in.Report()
	slices.SortFunc(results, func(a, b cadence.Result) int {
		if a.Flagged != b.Flagged {
			if a.Flagged {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(b.Alerts, a.Alerts), a.Addr.Compare(b.Addr))
	})
	flagged := 0
	for _, r := range results {
		if r.Flagged {
			flagged++
		}
	}
	fmt.Fprintf(f.Err, "%d flagged of %d sources; %d with fewer than %d returns after a block (not enough data); blocks: %s\n",
		flagged, sources, thin, setup.Analyzer.Options().MinReturns, setup.Block)
	rows := make([]Row, len(results))
	for i, r := range results {
		rows[i] = NewRow(r)
	}
	if opts.Format == cmdutil.FormatJSON {
		return cmdutil.WriteJSON(f.Out, rows)
	}
	if len(rows) == 0 {
		if opts.All {
			fmt.Fprintln(f.Err, "no source has enough data")
		} else {
			fmt.Fprintln(f.Err, "no source returns just after its block")
		}
		return nil
	}
	return cmdutil.WriteTable(f.Out, header, cells(results))
}

var header = []string{"IP", "ALERTS", "EPISODES", "RETURNS", "MEDIAN RETURN", "AFTER BLOCK", "BLOCK", "FLAGGED", "RECOMMENDED BAN"}

func cells(results []cadence.Result) [][]string {
	out := make([][]string, len(results))
	for i, r := range results {
		flag := "no"
		if r.Flagged {
			flag = "yes"
		}
		ban := fmtSeconds(r.Recommended)
		if r.Capped {
			ban += " (capped)"
		}
		out[i] = []string{r.Addr.String(), strconv.Itoa(r.Alerts), strconv.Itoa(r.Episodes), strconv.Itoa(r.Returns),
			fmtSeconds(r.MedianGap), Percent(r.AfterBlock, r.Returns), fmtSeconds(r.Block), flag, ban}
	}
	return out
}

// Percent writes n of total as a whole percentage.
func Percent(n, total int) string {
	if total == 0 {
		return "-"
	}
	return strconv.Itoa(int(math.Round(100*float64(n)/float64(total)))) + "%"
}
