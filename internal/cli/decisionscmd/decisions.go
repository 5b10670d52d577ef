// Package decisionscmd is "rampart decisions": list, show, add and delete the
// server's decisions (bans) through the admin API. Every decision says why:
// origin, rule, reason, author and the evidence the policy saw.
package decisionscmd

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
)

// New returns the decisions command.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "decisions",
		Aliases: []string{"decision"},
		Short:   "List, show, add and delete the server's bans",
		Args:    cobra.NoArgs,
	}
	cmd.AddCommand(newList(f), newShow(f), newAdd(f), newDelete(f))
	return cmd
}

func newList(f *cmdutil.Factory) *cobra.Command {
	var sf cmdutil.ServerFlags
	var ip, format, origin string
	var all bool
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List decisions, newest first (active ones unless --all)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.CheckFormat(format, "table", "json"); err != nil {
				return err
			}
			c, err := sf.Client(f)
			if err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if ip != "" {
				q.Set("ip", ip)
			}
			if all {
				q.Set("active", "false")
			}
			if origin != "" {
				q.Set("origin", origin)
			}
			var ds []api.Decision
			if err := c.Do(cmd.Context(), "GET", "/v1/admin/decisions?"+q.Encode(), nil, &ds); err != nil {
				return err
			}
			if format == "json" {
				return cmdutil.WriteJSON(f.Out, ds)
			}
			rows := make([][]string, len(ds))
			for i, d := range ds {
				rows[i] = []string{strconv.FormatInt(d.ID, 10), d.Value.String(), d.Origin, d.Rule, cmdutil.DecisionUntil(d, f.Now()), d.Author, d.Reason}
			}
			return cmdutil.WriteTable(f.Out, []string{"ID", "VALUE", "ORIGIN", "RULE", "UNTIL", "AUTHOR", "REASON"}, rows)
		},
	}
	sf.Register(cmd.Flags())
	cmd.Flags().StringVar(&ip, "ip", "", "only decisions covering `ADDR`")
	cmd.Flags().StringVar(&origin, "origin", "", "only decisions of `ORIGIN` (policy, manual, federation, list)")
	cmd.Flags().BoolVar(&all, "all", false, "include expired and deleted decisions")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most `N` decisions")
	cmd.Flags().StringVar(&format, "format", "table", "output: table or json")
	return cmd
}

func newShow(f *cmdutil.Factory) *cobra.Command {
	var sf cmdutil.ServerFlags
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one decision with its evidence (JSON)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return &cmdutil.UsageError{Err: fmt.Errorf("decision id %q: want a number", args[0])}
			}
			c, err := sf.Client(f)
			if err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			var d api.Decision
			if err := c.Do(cmd.Context(), "GET", "/v1/admin/decisions/"+strconv.FormatInt(id, 10), nil, &d); err != nil {
				return err
			}
			return cmdutil.WriteJSON(f.Out, d)
		},
	}
	sf.Register(cmd.Flags())
	return cmd
}

func newAdd(f *cmdutil.Factory) *cobra.Command {
	var sf cmdutil.ServerFlags
	var dur, reason string
	var permanent, force bool
	cmd := &cobra.Command{
		Use:   "add ADDR|CIDR",
		Short: "Ban an address or prefix on every front-end",
		Example: `  rampart decisions add 203.0.113.7 --for 1h --reason "ssh brute force, ticket 4711"
  rampart decisions add 198.51.100.0/24 --permanent --reason "hosting range used only for attacks"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !permanent && dur == "" {
				return &cmdutil.UsageError{Err: fmt.Errorf("give --for DURATION or --permanent")}
			}
			if reason == "" {
				return &cmdutil.UsageError{Err: fmt.Errorf("give --reason: every decision says why")}
			}
			if dur != "" {
				d, err := cmdutil.ParseDuration(dur)
				if err != nil {
					return cmdutil.FlagError("for", dur, err)
				}
				dur = d.String()
			}
			c, err := sf.Client(f)
			if err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			var d api.Decision
			req := api.DecisionRequest{Value: args[0], Duration: dur, Permanent: permanent, Reason: reason, Force: force}
			if err := c.Do(cmd.Context(), "POST", "/v1/admin/decisions", req, &d); err != nil {
				return err
			}
			_, err = fmt.Fprintf(f.Out, "decision %d: ban %s until %s\n", d.ID, d.Value, cmdutil.DecisionUntil(d, f.Now()))
			return err
		},
	}
	sf.Register(cmd.Flags())
	cmd.Flags().StringVar(&dur, "for", "", "ban `DURATION` (1h, 7d)")
	cmd.Flags().BoolVar(&permanent, "permanent", false, "ban until deleted")
	cmd.Flags().StringVar(&reason, "reason", "", "why (`TEXT`, recorded with your token's name)")
	cmd.Flags().BoolVar(&force, "force", false, "ban even inside a management network (logged)")
	return cmd
}

func newDelete(f *cmdutil.Factory) *cobra.Command {
	var sf cmdutil.ServerFlags
	cmd := &cobra.Command{
		Use:   "delete ID|ADDR|CIDR",
		Short: "End a decision now (by id, or every active decision of exactly that address or prefix)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := sf.Client(f)
			if err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			var ids []int64
			if id, err := strconv.ParseInt(args[0], 10, 64); err == nil {
				ids = []int64{id}
			} else {
				p, err := parseValue(args[0])
				if err != nil {
					return &cmdutil.UsageError{Err: fmt.Errorf("%q: not a decision id, address or prefix", args[0])}
				}
				var ds []api.Decision
				if err := c.Do(cmd.Context(), "GET", "/v1/admin/decisions?limit=100000&ip="+url.QueryEscape(p.Addr().String()), nil, &ds); err != nil {
					return err
				}
				for _, d := range ds {
					if d.Value == p {
						ids = append(ids, d.ID)
					}
				}
				if len(ids) == 0 {
					return fmt.Errorf("no active decision for %s", p)
				}
			}
			for _, id := range ids {
				if err := c.Do(cmd.Context(), "DELETE", "/v1/admin/decisions/"+strconv.FormatInt(id, 10), nil, nil); err != nil {
					return err
				}
				fmt.Fprintf(f.Out, "decision %d deleted\n", id)
			}
			return nil
		},
	}
	sf.Register(cmd.Flags())
	return cmd
}

func parseValue(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
