// Package peerscmd is "rampart peers": list the federation sources of a
// peers file (other sites and external lists, with their trust and what we
// share with them), and show their live state from a running server.
//
// It only reads: the peers file through internal/federation/peers, the
// state through the admin API. Secrets (tokens) are never printed.
package peerscmd

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/federation/peers"
)

// DefaultFile is where server run looks for the peers file by default.
const DefaultFile = "/var/lib/rampart/server/peers.toml"

// New returns the peers command.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "peers",
		Short: "Federation: the other sites and external lists this server merges",
		Long: `Other Rampart sites and external block lists (Spamhaus DROP, FireHOL, plain
lists) are the federation's peers: the server pulls their signed feeds and
lists, weighs them by trust and bans a source when the merged evidence
crosses the threshold of the peers file's rules.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newList(f), newStatus(f))
	return cmd
}

// ListOptions are peers list's flags.
type ListOptions struct {
	File   string
	Format string
}

// listRow is one source as peers list prints it in JSON.
type listRow struct {
	Name     string  `json:"name"`
	Kind     string  `json:"kind"`
	Source   string  `json:"source"`
	Format   string  `json:"format,omitempty"`
	Trust    float64 `json:"trust"`
	Alone    bool    `json:"alone"`
	MaxBits4 int     `json:"max_bits4"`
	MaxBits6 int     `json:"max_bits6"`
	Shares   string  `json:"shares,omitempty"`
	Interval string  `json:"interval"`
	Expiry   string  `json:"expiry,omitempty"`
}

func newList(f *cmdutil.Factory) *cobra.Command {
	o := &ListOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the peers and lists of a peers file (no secrets)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runList(f, o) },
	}
	cmd.Flags().StringVar(&o.File, "peers", DefaultFile, "peers `FILE`")
	cmd.Flags().StringVar(&o.Format, "format", "table", "output: table or json")
	return cmd
}

func runList(f *cmdutil.Factory, o *ListOptions) error {
	if err := cmdutil.CheckFormat(o.Format, "table", "json"); err != nil {
		return err
	}
	c, err := peers.Load(o.File)
	if err != nil {
		return err
	}
	rows := make([]listRow, 0, len(c.Peers)+len(c.Lists))
	for _, p := range c.Peers {
		rows = append(rows, listRow{Name: p.Name, Kind: p.Kind(), Source: p.URL, Trust: p.Trust, Alone: p.Alone,
			MaxBits4: cmp.Or(p.MaxBits4, 24), MaxBits6: cmp.Or(p.MaxBits6, 48), Shares: shares(p), Interval: "long poll " + p.Wait.String()})
	}
	for _, l := range c.Lists {
		rows = append(rows, listRow{Name: l.Name, Kind: l.Kind(), Source: cmp.Or(l.URL, l.File), Format: string(l.Format), Trust: l.Trust, Alone: l.Alone,
			MaxBits4: cmp.Or(l.MaxBits4, 24), MaxBits6: cmp.Or(l.MaxBits6, 48), Interval: l.Interval.String(), Expiry: l.Expiry.String()})
	}
	if o.Format == "json" {
		return cmdutil.WriteJSON(f.Out, rows)
	}
	table := make([][]string, len(rows))
	for i, r := range rows {
		table[i] = []string{r.Name, r.Kind, r.Source, strconv.FormatFloat(r.Trust, 'f', -1, 64), yes(r.Alone),
			fmt.Sprintf("/%d /%d", r.MaxBits4, r.MaxBits6), cmp.Or(r.Shares, "-"), r.Interval}
	}
	if err := cmdutil.WriteTable(f.Out, []string{"NAME", "KIND", "SOURCE", "TRUST", "ALONE", "WIDEST", "SHARES", "INTERVAL"}, table); err != nil {
		return err
	}
	r := c.Rules
	fmt.Fprintf(f.Err, "rules: %s when score ≥ %g from ≥ %d peers", c.Action, r.Threshold, r.MinPeers)
	if r.Quorum > 0 {
		fmt.Fprintf(f.Err, " or reports from %d peers", r.Quorum)
	}
	fmt.Fprintf(f.Err, "; ban %s; silent after %s\n", r.Ban, r.SilentAfter)
	return nil
}

func shares(p peers.Peer) string {
	if p.Scope == 0 {
		return "nothing"
	}
	return p.Scope.String()
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// StatusOptions are peers status's flags.
type StatusOptions struct {
	Server cmdutil.ServerFlags
	Format string
}

func newStatus(f *cmdutil.Factory) *cobra.Command {
	o := &StatusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each peer's state on a running server: last pull, version, lag, entries, errors",
		Args:  cobra.NoArgs,
		Example: `  RAMPART_TOKEN=rpt_... rampart peers status --server https://rampart:8443
  rampart peers status --format json`,
		RunE: func(cmd *cobra.Command, _ []string) error { return runStatus(cmd.Context(), f, o) },
	}
	o.Server.Register(cmd.Flags())
	cmd.Flags().StringVar(&o.Format, "format", "table", "output: table or json")
	return cmd
}

func runStatus(ctx context.Context, f *cmdutil.Factory, o *StatusOptions) error {
	if err := cmdutil.CheckFormat(o.Format, "table", "json"); err != nil {
		return err
	}
	c, err := o.Server.Client(f)
	if err != nil {
		return &cmdutil.UsageError{Err: err}
	}
	var st api.FederationStatus
	if err := c.Do(ctx, "GET", "/v1/admin/peers", nil, &st); err != nil {
		return err
	}
	if o.Format == "json" {
		return cmdutil.WriteJSON(f.Out, st)
	}
	if !st.Enabled {
		fmt.Fprintf(f.Err, "federation: no peers configured (feed version %d)\n", st.FeedVersion)
		return cmdutil.WriteTable(f.Out, statusHeader(), nil)
	}
	now := f.Now()
	rows := make([][]string, len(st.Peers))
	for i, p := range st.Peers {
		version := "-"
		if p.Kind == "site" && p.Version > 0 {
			version = strconv.FormatUint(p.Version, 10)
		}
		lag := "-"
		if p.LagSeconds >= 0 {
			lag = (time.Duration(p.LagSeconds * float64(time.Second))).Round(time.Second).String()
		}
		errs := strconv.FormatInt(p.Errors, 10)
		if p.LastError != "" {
			errs += ": " + p.LastError
		}
		rows[i] = []string{p.Name, p.Kind, state(p), version, ago(p.LastPull, now), lag, strconv.Itoa(p.Entries),
			strconv.FormatInt(p.Refused, 10), strconv.Itoa(p.BadLines), errs}
	}
	if err := cmdutil.WriteTable(f.Out, statusHeader(), rows); err != nil {
		return err
	}
	fmt.Fprintf(f.Err, "federation: %s; %d bans in force, %d watched; our feed version %d\n", st.Action, st.Bans, st.Watched, st.FeedVersion)
	for _, p := range st.Peers {
		for _, pr := range p.Problems {
			fmt.Fprintf(f.Err, "%s: %s\n", p.Name, pr)
		}
	}
	return nil
}

func statusHeader() []string {
	return []string{"NAME", "KIND", "STATE", "VERSION", "LAST PULL", "LAG", "ENTRIES", "REFUSED", "BAD LINES", "ERRORS"}
}

func state(p api.PeerStatus) string {
	switch {
	case p.LastOK.IsZero() && p.LastError != "":
		return "failing"
	case p.LastOK.IsZero():
		return "starting"
	case p.Silent:
		return "silent"
	case p.LastError != "":
		return "error"
	}
	return "ok"
}

func ago(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return now.Sub(t).Round(time.Second).String() + " ago"
}
