// Package rulescmd is "rampart rules": the names of OSSEC's rules. "rules
// list" shows the rules OSSEC's rules files define (ossec_dir/rules), with
// the descriptions the store has seen in alerts as a fallback and for
// comparison; "rules sync" fills ossec-dbd's signature table from the rules
// files, which OSSEC stopped doing in 2.9.
//
// It must never write to the rules directory, and never write to the
// operator's database without consent: "rules sync" asks on a terminal,
// refuses without one unless --yes is given, and --dry-run only reads.
package rulescmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/alertdb"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/rules"
)

// New returns the rules command with its subcommands.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Name OSSEC's rules from its rules files",
		Long: `OSSEC's rules files (ossec_dir/rules/*.xml, local_rules.xml last) name
every rule: id, level, description and groups. "rules list" shows them;
"rules sync" writes them into the ossec-dbd database's signature table,
which OSSEC stopped filling in 2.9.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newList(f), newSync(f))
	return cmd
}

// ListOptions are rules list's flags.
type ListOptions struct {
	RulesDir string
	Format   string
	Seen     bool
}

func newList(f *cmdutil.Factory) *cobra.Command {
	opts := &ListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the rules the rules files define",
		Long: `List the rules OSSEC's rules files define, by rule id: level, groups, the
file and line that defines the rule as OSSEC loads it (local_rules.xml
last; overwrite="yes" replaces), and the description.

Rules the store has seen in alerts but no rules file defines are listed
with the description of their newest alert. --seen adds what the store has
seen of every rule: "same" when every alert agreed with the rules file, the
differing level and description otherwise, "-" when never seen.

Problems in the rules files are reported on stderr with file, line and
element; the rest still loads.`,
		Example: `  rampart rules list
  rampart rules list --rules-dir /var/ossec/rules --seen
  rampart rules list --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runList(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringVar(&opts.RulesDir, "rules-dir", "", "OSSEC's rules `DIR` (default ossec_dir/rules from the config: /var/ossec/rules)")
	cmd.Flags().StringVar(&opts.Format, "format", "table", "output: table or json")
	cmd.Flags().BoolVar(&opts.Seen, "seen", false, "add what the store has seen of each rule in alerts")
	return cmd
}

// Rule is one line of rules list's JSON output.
type Rule struct {
	RuleID      int      `json:"rule_id"`
	Level       int      `json:"level"`
	Description string   `json:"description"`
	Groups      []string `json:"groups"`
	// File and Line say where the rule is defined; empty for a rule only
	// seen in alerts.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Source is "rules" (a rules file) or "alerts" (only seen in alerts).
	Source string `json:"source"`
	// Seen are the variants the store has seen in alerts (with --seen).
	Seen []Variant `json:"seen,omitempty"`
}

// Variant is one (level, description, groups) seen in alerts.
type Variant struct {
	Level       int      `json:"level"`
	Description string   `json:"description"`
	Groups      []string `json:"groups"`
}

// Sources of a listed rule.
const (
	SourceRules  = "rules"
	SourceAlerts = "alerts"
)

func runList(ctx context.Context, f *cmdutil.Factory, opts *ListOptions) error {
	if err := cmdutil.CheckFormat(opts.Format, cmdutil.FormatTable, cmdutil.FormatJSON); err != nil {
		return err
	}
	defined, _, rulesErr := loadRules(f, opts.RulesDir)
	variants, err := storeVariants(ctx, f, opts.Seen)
	if err != nil {
		return err
	}
	if rulesErr != nil {
		if opts.RulesDir != "" || len(variants) == 0 {
			return rulesErr
		}
		fmt.Fprintf(f.Err, "rampart: %v\nlisting only the rules seen in alerts\n", rulesErr)
	}
	list := merge(defined, variants, opts.Seen)
	if opts.Format == cmdutil.FormatJSON {
		if list == nil {
			list = []Rule{}
		}
		return cmdutil.WriteJSON(f.Out, list)
	}
	header := []string{"RULE", "LEVEL", "FILE", "GROUPS", "DESCRIPTION"}
	if opts.Seen {
		header = append(header, "SEEN")
	}
	rows := make([][]string, 0, len(list))
	for _, r := range list {
		file := "(alerts)"
		if r.File != "" {
			file = filepath.Base(r.File) + ":" + strconv.Itoa(r.Line)
		}
		row := []string{strconv.Itoa(r.RuleID), strconv.Itoa(r.Level), file, strings.Join(r.Groups, ","), r.Description}
		if opts.Seen {
			row = append(row, seenText(r))
		}
		rows = append(rows, row)
	}
	return cmdutil.WriteTable(f.Out, header, rows)
}

// loadRules reads the rules directory (--rules-dir, else ossec_dir/rules)
// and prints its problems to stderr. A missing directory is an error that
// says how to name it.
func loadRules(f *cmdutil.Factory, dir string) (map[int]rules.Rule, string, error) {
	explicit := dir != ""
	if !explicit {
		c, err := f.Config()
		if err != nil {
			return nil, "", err
		}
		dir = c.OssecRules()
	}
	defined, probs, err := rules.LoadDir(dir)
	printProblems(f.Err, probs)
	if err != nil {
		if explicit {
			return nil, dir, fmt.Errorf("--rules-dir: %w", err)
		}
		if errors.Is(err, fs.ErrNotExist) {
			cfg := f.ConfigPath
			if cfg == "" {
				cfg = config.DefaultPath
			}
			return nil, dir, fmt.Errorf("no OSSEC rules files: %w (rules are read from ossec_dir/rules: set ossec_dir in %s, or pass --rules-dir DIR)", err, cfg)
		}
		return nil, dir, err
	}
	return defined, dir, nil
}

// maxProblems is how many rules file problems are printed; a file that is
// not a rules file at all would otherwise flood the terminal.
const maxProblems = 20

func printProblems(w io.Writer, probs []*ossec.ParseError) {
	for i, p := range probs {
		if i == maxProblems {
			fmt.Fprintf(w, "rules file problem: ... and %d more\n", len(probs)-maxProblems)
			break
		}
		fmt.Fprintf(w, "rules file problem: %v\n", p)
	}
}

// storeVariants returns the rule variants of the store, or none when there
// is no store yet: listing rules must not create one. A store that cannot
// be read is a warning, or an error when --seen asked for it.
func storeVariants(ctx context.Context, f *cmdutil.Factory, required bool) ([]alertdb.RuleVariant, error) {
	path, err := f.StoreLocation()
	if err == nil {
		if _, serr := os.Stat(path); errors.Is(serr, fs.ErrNotExist) {
			if required {
				fmt.Fprintf(f.Err, "no store at %s: no alerts seen yet (\"rampart import\" fills it)\n", path)
			}
			return nil, nil
		}
	}
	var vs []alertdb.RuleVariant
	if err == nil {
		var s *alertdb.Store
		if s, err = f.Store(ctx); err == nil {
			vs, err = s.RuleVariants(ctx)
		}
	}
	if err != nil {
		if required {
			return nil, err
		}
		fmt.Fprintf(f.Err, "rampart: descriptions seen in alerts left out: %v\n", err)
		return nil, nil
	}
	return vs, nil
}

// merge lists the rules by id: those of the rules files first-hand, the
// others from the newest variant seen in alerts.
func merge(defined map[int]rules.Rule, variants []alertdb.RuleVariant, withSeen bool) []Rule {
	seen := map[int][]Variant{}
	for _, v := range variants {
		seen[v.RuleID] = append(seen[v.RuleID], Variant{Level: v.Level, Description: v.Description, Groups: nonNil(v.Groups)})
	}
	ids := slices.Collect(maps.Keys(defined))
	for id := range seen {
		if _, ok := defined[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	out := make([]Rule, 0, len(ids))
	for _, id := range ids {
		var r Rule
		if d, ok := defined[id]; ok {
			r = Rule{RuleID: id, Level: d.Level, Description: d.Description, Groups: nonNil(d.Groups), File: d.File, Line: d.Line, Source: SourceRules}
		} else {
			vs := seen[id]
			newest := vs[len(vs)-1]
			r = Rule{RuleID: id, Level: newest.Level, Description: newest.Description, Groups: newest.Groups, Source: SourceAlerts}
		}
		if withSeen {
			r.Seen = seen[id]
		}
		out = append(out, r)
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// seenText is the SEEN column: "-" never seen, "same" when every alert
// agreed with the row, else the variants that did not.
func seenText(r Rule) string {
	if len(r.Seen) == 0 {
		return "-"
	}
	var diff []string
	for _, v := range r.Seen {
		if v.Level != r.Level || collapse(v.Description) != collapse(r.Description) {
			diff = append(diff, fmt.Sprintf("level %d: %q", v.Level, v.Description))
		}
	}
	if len(diff) == 0 {
		return "same"
	}
	return strings.Join(diff, "; ")
}

// collapse ignores the whitespace OSSEC keeps where a description is split
// over several elements.
func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }
