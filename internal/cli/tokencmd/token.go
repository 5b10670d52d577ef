// Package tokencmd is "rampart token": create, list and revoke the server's
// API tokens (roles admin, sensor, agent) through the admin API.
package tokencmd

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
)

// New returns the token command.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage the server's API tokens",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newCreate(f), newList(f), newRevoke(f))
	return cmd
}

func newCreate(f *cmdutil.Factory) *cobra.Command {
	var sf cmdutil.ServerFlags
	var role, name string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a token; the secret is printed once, as the last line",
		Example: `  rampart token create --role agent --name fe01 --server https://rampart:8443 --token $ADMIN
  rampart token create --role sensor --name ossec-mgr`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := sf.Client(f)
			if err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			var tok api.Token
			if err := c.Do(cmd.Context(), "POST", "/v1/admin/tokens", api.TokenRequest{Role: role, Name: name}, &tok); err != nil {
				return err
			}
			fmt.Fprintf(f.Err, "token %d %q, role %s (the secret is shown once):\n", tok.ID, tok.Name, tok.Role)
			_, err = fmt.Fprintln(f.Out, tok.Secret)
			return err
		},
	}
	sf.Register(cmd.Flags())
	cmd.Flags().StringVar(&role, "role", "", "`ROLE`: admin, sensor or agent")
	cmd.Flags().StringVar(&name, "name", "", "`NAME` (the agent's or sensor's name)")
	_ = cmd.MarkFlagRequired("role")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

func newList(f *cmdutil.Factory) *cobra.Command {
	var sf cmdutil.ServerFlags
	var format string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cmdutil.CheckFormat(format, "table", "json"); err != nil {
				return err
			}
			c, err := sf.Client(f)
			if err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			var ts []api.Token
			if err := c.Do(cmd.Context(), "GET", "/v1/admin/tokens", nil, &ts); err != nil {
				return err
			}
			if format == "json" {
				return cmdutil.WriteJSON(f.Out, ts)
			}
			rows := make([][]string, len(ts))
			for i, t := range ts {
				rows[i] = []string{strconv.FormatInt(t.ID, 10), t.Name, t.Role, when(t.Created), when(t.LastUsed), when(t.Revoked)}
			}
			return cmdutil.WriteTable(f.Out, []string{"ID", "NAME", "ROLE", "CREATED", "LAST USED", "REVOKED"}, rows)
		},
	}
	sf.Register(cmd.Flags())
	cmd.Flags().StringVar(&format, "format", "table", "output: table or json")
	return cmd
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func newRevoke(f *cmdutil.Factory) *cobra.Command {
	var sf cmdutil.ServerFlags
	cmd := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token (it stops working within seconds)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return &cmdutil.UsageError{Err: fmt.Errorf("token id %q: want a number (rampart token list)", args[0])}
			}
			c, err := sf.Client(f)
			if err != nil {
				return &cmdutil.UsageError{Err: err}
			}
			if err := c.Do(cmd.Context(), "DELETE", "/v1/admin/tokens/"+strconv.FormatInt(id, 10), nil, nil); err != nil {
				return err
			}
			_, err = fmt.Fprintf(f.Err, "token %d revoked\n", id)
			return err
		},
	}
	sf.Register(cmd.Flags())
	return cmd
}
