// Package dbcmd is "rampart db": the ossec-dbd database itself, as opposed
// to the alerts in it. "db status" shows what Rampart detected there (the
// schema family, how addresses are stored, the table's size, whether top
// can read an index instead of the table); "db optimize" adds that index.
//
// It must never change the operator's database beyond the one index
// "db optimize" creates, and never without being asked: status and
// optimize --dry-run only read the catalogue.
package dbcmd

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
)

// New returns the db command with its subcommands.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Inspect and optimise the ossec-dbd database",
		Long: `Inspect the ossec-dbd database (MariaDB/MySQL or PostgreSQL) that
"rampart top --db" and "rampart ip --db" read, and add the one index
that lets top read an index instead of the whole alert table.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newStatus(f), newOptimize(f))
	return cmd
}

// StatusOptions are db status's flags.
type StatusOptions struct {
	DB     string
	Format string
}

func newStatus(f *cmdutil.Factory) *cobra.Command {
	opts := &StatusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the detected layout of an ossec-dbd database",
		Long: `Show what Rampart detected in an ossec-dbd database: the schema family
(2.8, hybrid or 2.9+), whether addresses are text or integers, the
catalogue's estimate of the alert rows, and whether an index lets
"top --db" read the index only. Nothing is changed.`,
		Example: `  rampart db status --db mysql://ossec:secret@127.0.0.1:3306/ossec
  rampart db status --db postgres://ossec@127.0.0.1/ossec --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runStatus(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.DB, "db", "", "the ossec-dbd database at `DSN` (mysql://user:pass@host:3306/ossec or postgres://...)")
	cmd.Flags().StringVar(&opts.Format, "format", "table", "output: table or json")
	return cmd
}

// Status is db status's JSON output.
type Status struct {
	Database string `json:"database"`
	Dialect  string `json:"dialect"`
	Family   string `json:"family"`
	TextIPs  bool   `json:"text_ips"`
	Layout   string `json:"layout"`
	// RowsEstimate is the catalogue's estimate, -1 when it has none.
	RowsEstimate int64 `json:"rows_estimate"`
	// TopIndex names the index top --db reads, "" when it scans the
	// table.
	TopIndex        string   `json:"top_index"`
	TopIndexColumns []string `json:"top_index_columns"`
	// TopIndexProblem says why optimize cannot add the index, "" when
	// it can (or it exists).
	TopIndexProblem string `json:"top_index_problem,omitempty"`
	// VisibleFraction (PostgreSQL) is the share of alert's pages marked
	// all-visible, which index-only scans need.
	VisibleFraction *float64 `json:"visible_fraction,omitempty"`
}

func runStatus(ctx context.Context, f *cmdutil.Factory, opts *StatusOptions) error {
	if err := cmdutil.CheckFormat(opts.Format, cmdutil.FormatTable, cmdutil.FormatJSON); err != nil {
		return err
	}
	db, err := openDB(ctx, f, opts.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	l := db.Layout()
	st := Status{
		Database: db.String(), Dialect: l.Dialect.String(), Family: l.Family(), TextIPs: l.TextIPs, Layout: l.String(),
		RowsEstimate: db.RowsEstimate(), TopIndex: l.TopIndex, TopIndexColumns: l.TopIndexColumns(),
	}
	if p, err := db.PlanTopIndex(ctx); err != nil {
		st.TopIndexProblem = err.Error()
	} else if p.Existing != "" {
		st.TopIndex = p.Existing // created since Open
	}
	if vis, err := db.VisibleFraction(ctx); err != nil {
		return err
	} else if vis >= 0 {
		st.VisibleFraction = &vis
	}
	if opts.Format == cmdutil.FormatJSON {
		return cmdutil.WriteJSON(f.Out, st)
	}
	ips := "integer (IPv4 only)"
	if st.TextIPs {
		ips = "text"
	}
	cols := strings.Join(st.TopIndexColumns, ", ")
	var top string
	switch {
	case st.TopIndex != "":
		top = fmt.Sprintf("%s (%s): top --db reads the index only", st.TopIndex, cols)
	case st.TopIndexProblem != "":
		top = "none, and none possible: " + st.TopIndexProblem
	default:
		top = fmt.Sprintf(`none: top --db scans the table; "rampart db optimize --db %s" adds %s (%s)`, st.Database, ossecdb.TopIndexName, cols)
	}
	rows := [][]string{
		{"database", st.Database},
		{"engine", st.Dialect},
		{"family", st.Family},
		{"addresses", ips},
		{"layout", st.Layout},
		{"rows", rowsStatus(st.RowsEstimate)},
		{"top index", top},
	}
	if vis := st.VisibleFraction; vis != nil {
		rows = append(rows, []string{"all-visible", fmt.Sprintf("%.0f%% of alert's pages (an index-only scan reads the table for the rest; VACUUM marks them)", 100*(*vis))})
	}
	for _, r := range rows {
		if _, err := fmt.Fprintf(f.Out, "%-12s %s\n", r[0], r[1]); err != nil {
			return err
		}
	}
	return nil
}

func rowsStatus(n int64) string {
	if n < 0 {
		return "unknown (no statistics yet: ANALYZE alert has not run)"
	}
	return about(n) + " (catalogue estimate)"
}

// about prints a row estimate.
func about(n int64) string {
	if n < 0 {
		return "an unknown number of" // PostgreSQL before the first ANALYZE
	}
	return "about " + strconv.FormatInt(n, 10)
}

// OptimizeOptions are db optimize's flags.
type OptimizeOptions struct {
	DB     string
	DryRun bool
}

func newOptimize(f *cmdutil.Factory) *cobra.Command {
	opts := &OptimizeOptions{}
	cmd := &cobra.Command{
		Use:   "optimize",
		Short: "Add the index that lets top --db read an index instead of the table",
		Long: `Add the index rampart_top on alert (src_ip, alertid, level, rule_id; without
level in the 2.8 layout), unless an index with those leading columns exists
under any name. "rampart top --db" then reads that index alone instead of
scanning the whole alert table.

MySQL/MariaDB builds it online (InnoDB); PostgreSQL builds it concurrently
and then refreshes alert's statistics (ANALYZE), so ossec-dbd keeps
inserting meanwhile. Nothing else in the database changes. --dry-run prints
the SQL and changes nothing.`,
		Example: `  rampart db optimize --db mysql://root@127.0.0.1:3306/ossec --dry-run
  rampart db optimize --db postgres://postgres@127.0.0.1/ossec`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runOptimize(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.DB, "db", "", "the ossec-dbd database at `DSN` (mysql://user:pass@host:3306/ossec or postgres://...)")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print the SQL, change nothing")
	return cmd
}

func runOptimize(ctx context.Context, f *cmdutil.Factory, opts *OptimizeOptions) error {
	db, err := openDB(ctx, f, opts.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := db.PlanTopIndex(ctx)
	if err != nil {
		return err
	}
	cols := strings.Join(p.Columns, ", ")
	if p.Existing != "" {
		// Status, not data: with --dry-run stdout stays the SQL only.
		w := f.Out
		if opts.DryRun {
			w = f.Err
		}
		_, err := fmt.Fprintf(w, "index %s on alert (%s) exists: nothing to do\n", p.Existing, cols)
		return err
	}
	if opts.DryRun {
		for _, s := range p.Statements {
			if _, err := fmt.Fprintln(f.Out, s+";"); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(f.Err, "creating index %s on alert (%s) over %s rows; the table stays writable\n", ossecdb.TopIndexName, cols, about(db.RowsEstimate()))
	r, err := db.CreateTopIndex(ctx)
	if err != nil {
		return err
	}
	if !r.Created {
		_, err := fmt.Fprintf(f.Out, "index %s on alert (%s) exists: nothing to do\n", r.Name, cols)
		return err
	}
	if _, err := fmt.Fprintf(f.Out, "created index %s on alert (%s): %s rows in %s\n", r.Name, cols,
		about(r.Rows), r.Took.Round(10*time.Millisecond)); err != nil {
		return err
	}
	if vis, err := db.VisibleFraction(ctx); err == nil && vis >= 0 && vis < 0.9 {
		fmt.Fprintf(f.Err, "note: PostgreSQL reads the index alone only on pages VACUUM has marked all-visible, now %.0f%% of alert; until autovacuum gets there, top --db may still read the table (VACUUM alert marks them now)\n", 100*vis)
	}
	return nil
}

// openDB checks and opens --db. A missing or malformed DSN is a usage
// error.
func openDB(ctx context.Context, f *cmdutil.Factory, dsn string) (*ossecdb.DB, error) {
	if dsn == "" {
		return nil, &cmdutil.UsageError{Err: fmt.Errorf("--db is required")}
	}
	if _, err := ossecdb.ParseDSN(dsn); err != nil {
		return nil, &cmdutil.UsageError{Err: fmt.Errorf("invalid --db: %w", err)}
	}
	return ossecdb.OpenOptions(ctx, dsn, ossecdb.Options{Logger: f.Logger()})
}
