package grafanacmd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/atomicfile"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/grafana"
)

// QueriesOptions are grafana queries' flags.
type QueriesOptions struct {
	GenOptions
	From, To string
	Interval time.Duration
	Vars     []string
	Out      string
}

func newQueries(f *cmdutil.Factory) *cobra.Command {
	opts := &QueriesOptions{}
	cmd := &cobra.Command{
		Use:   "queries",
		Short: "Print the OSSEC dashboard's SQL as Grafana runs it",
		Long: `Print the SQL of every panel and variable of the "OSSEC alerts" dashboard
with Grafana's variables and MySQL macros expanded for a time range, as
Grafana's MySQL data source would send it: to run in the mysql client, to
time, or to compare with a panel.

With --out each query goes to its own file DIR/NN-name.sql (paths to
stdout); without, all go to stdout as one script.`,
		Example: `  rampart grafana queries --from 7d --var source=203.0.113.45 | mysql ossec
  rampart grafana queries --from 2026-10-01 --to 2026-10-08 --interval 1h --out /tmp/panels`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runQueries(cmd, f, opts)
		},
	}
	opts.register(cmd.Flags(), "for --layout detect")
	cmd.Flags().StringVar(&opts.From, "from", "7d", "start of the time range (RFC 3339, a date, or back from now: 7d)")
	cmd.Flags().StringVar(&opts.To, "to", "", "end of the time range (default now)")
	cmd.Flags().DurationVar(&opts.Interval, "interval", time.Hour, "the panels' $__interval")
	cmd.Flags().StringArrayVar(&opts.Vars, "var", nil, "dashboard variable `NAME=VALUE` (source, min_level; default min_level=10)")
	cmd.Flags().StringVar(&opts.Out, "out", "", "write one file per query into `DIR`")
	return cmd
}

func runQueries(cmd *cobra.Command, f *cmdutil.Factory, opts *QueriesOptions) error {
	now := f.Now()
	from, err := cmdutil.ParseTime(opts.From, now)
	if err != nil {
		return cmdutil.FlagError("from", opts.From, err)
	}
	to := now.UTC().Truncate(time.Second)
	if opts.To != "" {
		if to, err = cmdutil.ParseTime(opts.To, now); err != nil {
			return cmdutil.FlagError("to", opts.To, err)
		}
	}
	if !from.Before(to) {
		return cmdutil.FlagError("from", opts.From, errors.New("not before --to"))
	}
	if opts.Interval <= 0 {
		return cmdutil.FlagError("interval", opts.Interval.String(), errors.New("want a positive duration"))
	}
	vars := map[string]string{"min_level": "10", "source": ""}
	for _, v := range opts.Vars {
		name, val, ok := strings.Cut(v, "=")
		if !ok || name == "" {
			return cmdutil.FlagError("var", v, errors.New("want NAME=VALUE"))
		}
		vars[name] = val
	}
	o, err := opts.options(cmd.Context(), f)
	if err != nil {
		return err
	}
	r := grafana.Range{From: from, To: to, Interval: opts.Interval}
	qs, err := grafana.SQLQueries(grafana.OSSECAlerts(o), r, vars)
	if err != nil {
		return err
	}
	if opts.Out == "" {
		for _, q := range qs {
			fmt.Fprintf(f.Out, "-- %s\n%s;\n\n", q.Title, q.SQL)
		}
		return nil
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return fmt.Errorf("queries: %w", err)
	}
	for i, q := range qs {
		path := filepath.Join(opts.Out, fmt.Sprintf("%02d-%s.sql", i+1, slug(q.Title)))
		if err := atomicfile.WriteFile(path, []byte("-- "+q.Title+"\n"+q.SQL+";\n"), 0o644); err != nil {
			return fmt.Errorf("queries: %w", err)
		}
		fmt.Fprintln(f.Out, path)
	}
	return nil
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// slug makes a file name part of a title.
func slug(s string) string {
	s = strings.ReplaceAll(strings.ToLower(s), "≥", "ge")
	return strings.Trim(nonWord.ReplaceAllString(s, "-"), "-")
}
