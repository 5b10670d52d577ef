package rulescmd

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/sigsync"
)

// SyncOptions are rules sync's flags.
type SyncOptions struct {
	DB       string
	RulesDir string
	Yes      bool
	DryRun   bool
	// CanPrompt reports whether the operator can be asked (stdin is a
	// terminal).
	CanPrompt func() bool
}

func newSync(f *cmdutil.Factory) *cobra.Command {
	opts := &SyncOptions{CanPrompt: func() bool { return isTerminal(f.In) }}
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Fill the ossec-dbd signature table from the rules files",
		Long: `Write the rules of OSSEC's rules files into the ossec-dbd database's
signature table (rule_id, level, description), which OSSEC stopped filling
in 2.9, so that SQL and Grafana users see rule names and levels. Where the
database has category and signature_category_mapping, the rules' groups
are linked there too.

The names come from the rules files only: a 2.9+ database stores no
description with its alerts, so it has none to fall back to.

It is the operator's database, so nothing is written without consent:
rules sync shows what it would write and asks on a terminal; without a
terminal it refuses unless --yes is given. --dry-run shows the plan and
writes nothing.

It inserts the rules signature lacks and updates the rows whose level or
description differs, in one transaction. It never deletes: rows of rules
the rules files do not define are left alone and listed. Text is stored as
ossec-dbd stores it (' becomes ` + "`" + `, bytes outside printable ASCII become
spaces) and cut to the column's length. Running it again changes nothing.
In a 2.8 database ossec-dbd still fills signature at its start, and alerts
take their level from it: the sync writes what dbd would.`,
		Example: `  rampart rules sync --db mysql://ossec:secret@127.0.0.1:3306/ossec --dry-run
  rampart rules sync --db postgres://ossec@127.0.0.1/ossec --rules-dir /var/ossec/rules --yes`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runSync(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.DB, "db", "", "the ossec-dbd database at `DSN` (mysql://user:pass@host:3306/ossec or postgres://...)")
	cmd.Flags().StringVar(&opts.RulesDir, "rules-dir", "", "OSSEC's rules `DIR` (default ossec_dir/rules from the config: /var/ossec/rules)")
	cmd.Flags().BoolVar(&opts.Yes, "yes", false, "write without asking")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "show what would be written, write nothing")
	return cmd
}

func isTerminal(r io.Reader) bool {
	file, ok := r.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

func runSync(ctx context.Context, f *cmdutil.Factory, opts *SyncOptions) error {
	if opts.DB == "" {
		return &cmdutil.UsageError{Err: fmt.Errorf("--db is required")}
	}
	cfg, err := ossecdb.ParseDSN(opts.DB)
	if err != nil {
		return &cmdutil.UsageError{Err: fmt.Errorf("invalid --db: %w", err)}
	}
	defined, dir, err := loadRules(f, opts.RulesDir)
	if err != nil {
		return err
	}
	if len(defined) == 0 {
		return fmt.Errorf("no rules in %s: nothing to write", dir)
	}
	// Asked before connecting: without consent the database is not even
	// contacted.
	if !opts.DryRun && !opts.Yes && !opts.CanPrompt() {
		return fmt.Errorf("rules sync writes to the ossec-dbd database %s, and stdin is not a terminal to ask for consent: pass --yes to write, or --dry-run to see what would be written", cfg)
	}
	rs := make([]sigsync.Rule, 0, len(defined))
	for _, id := range slices.Sorted(maps.Keys(defined)) {
		r := defined[id]
		rs = append(rs, sigsync.Rule{ID: r.ID, Level: r.Level, Description: r.Description, Groups: r.Groups})
	}
	s, err := sigsync.Open(ctx, opts.DB)
	if err != nil {
		return err
	}
	defer s.Close()
	p, err := s.Plan(ctx, rs)
	if err != nil {
		return err
	}
	head := fmt.Sprintf("%d rules from %s", len(rs), dir)
	if opts.DryRun {
		return writePlan(f.Out, s.String(), head, p)
	}
	if p.Changes() == 0 {
		_, err := fmt.Fprintf(f.Out, "signature is up to date with %s: nothing written%s%s\n", head, foreignNote(p), skippedNote(p))
		return err
	}
	if !opts.Yes {
		if err := writePlan(f.Err, s.String(), head, p); err != nil {
			return err
		}
		fmt.Fprintf(f.Err, "Write this to %s? [y/N] ", s)
		answer, _ := bufio.NewReader(f.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
			return fmt.Errorf("not confirmed: nothing written")
		}
	}
	done, err := s.Apply(ctx, rs)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f.Out, "%s: signature: %d inserted, %d updated, %d unchanged%s%s%s\n",
		s, len(done.Insert), len(done.Update), done.Unchanged, groupsNote(done, "added"), foreignNote(done), skippedNote(done))
	return err
}

// sampleRows is how many rows of each kind the plan shows.
const sampleRows = 5

// writePlan prints what Apply would write.
func writePlan(w io.Writer, db, head string, p sigsync.Plan) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "database   %s\n", db)
	fmt.Fprintf(bw, "rules      %s\n", head)
	fmt.Fprintf(bw, "signature  %d to insert, %d to update, %d unchanged\n", len(p.Insert), len(p.Update), p.Unchanged)
	if p.HasGroups {
		fmt.Fprintf(bw, "groups     %d to add to category, %d links to add to signature_category_mapping\n", len(p.NewGroups), len(p.NewLinks))
	}
	if len(p.Foreign) > 0 {
		fmt.Fprintf(bw, "left alone %d rows of rules the rules files do not define: %s\n", len(p.Foreign), ruleIDs(p.Foreign))
	}
	if len(p.Skipped) > 0 {
		fmt.Fprintf(bw, "skipped    %d rules: %s\n", len(p.Skipped), skipText(p.Skipped))
	}
	for i, r := range p.Insert {
		if i == sampleRows {
			fmt.Fprintf(bw, "  ... and %d more inserts\n", len(p.Insert)-sampleRows)
			break
		}
		fmt.Fprintf(bw, "  insert rule %d level %d %q\n", r.RuleID, r.Level, r.Description)
	}
	for i, u := range p.Update {
		if i == 2*sampleRows {
			fmt.Fprintf(bw, "  ... and %d more updates\n", len(p.Update)-2*sampleRows)
			break
		}
		fmt.Fprintf(bw, "  update rule %d level %s → %d", u.New.RuleID, levelText(u.Old.Level), u.New.Level)
		if u.Old.Description != u.New.Description {
			fmt.Fprintf(bw, " description %q → %q", u.Old.Description, u.New.Description)
		}
		fmt.Fprintln(bw)
	}
	return bw.Flush()
}

func levelText(l int) string {
	if l == sigsync.NoLevel {
		return "NULL"
	}
	return strconv.Itoa(l)
}

// ruleIDs lists the first rule ids of rows.
func ruleIDs(rows []sigsync.Row) string {
	var ids []string
	for i, r := range rows {
		if i == 2*sampleRows {
			ids = append(ids, "...")
			break
		}
		ids = append(ids, strconv.FormatInt(r.RuleID, 10))
	}
	return strings.Join(ids, ", ")
}

func skipText(skips []sigsync.Skip) string {
	var parts []string
	for i, s := range skips {
		if i == sampleRows {
			parts = append(parts, "...")
			break
		}
		parts = append(parts, fmt.Sprintf("%d (%s)", s.RuleID, s.Reason))
	}
	return strings.Join(parts, ", ")
}

func groupsNote(p sigsync.Plan, verb string) string {
	if !p.HasGroups {
		return ""
	}
	return fmt.Sprintf("; category: %d %s; signature_category_mapping: %d %s", len(p.NewGroups), verb, len(p.NewLinks), verb)
}

func foreignNote(p sigsync.Plan) string {
	if len(p.Foreign) == 0 {
		return ""
	}
	return fmt.Sprintf("; left alone %d rows of rules the rules files do not define (%s)", len(p.Foreign), ruleIDs(p.Foreign))
}

func skippedNote(p sigsync.Plan) string {
	if len(p.Skipped) == 0 {
		return ""
	}
	return fmt.Sprintf("; skipped %d rules: %s", len(p.Skipped), skipText(p.Skipped))
}
