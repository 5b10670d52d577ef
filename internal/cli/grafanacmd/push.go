package grafanacmd

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/grafana"
)

// PushOptions are grafana push's flags.
type PushOptions struct {
	GenOptions
	URL     string
	Token   string
	Folder  string
	Timeout time.Duration
}

func newPush(f *cmdutil.Factory) *cobra.Command {
	opts := &PushOptions{}
	cmd := &cobra.Command{
		Use:   "push --url URL --token TOKEN",
		Short: "Upload the dashboards through Grafana's HTTP API",
		Long: `Upload "OSSEC alerts" and "Rampart" to Grafana (POST /api/dashboards/db),
replacing earlier versions with the same uid. The token is a service account
token with the Editor role (or set GRAFANA_TOKEN, which keeps it out of ps).

The dashboards choose their data sources through variables that start on
the provisioned ones (see "grafana export"); any MySQL and Prometheus data
source can be picked instead. Grafana's own error message is shown when it
refuses.

The dashboards' addresses go to stdout.`,
		Example: `  GRAFANA_TOKEN=glsa_... rampart grafana push --url http://grafana:3000 --folder Security`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runPush(cmd, f, opts)
		},
	}
	opts.register(cmd.Flags(), "for --layout detect")
	cmd.Flags().StringVar(&opts.URL, "url", "", "Grafana's `URL` (http://host:3000)")
	cmd.Flags().StringVar(&opts.Token, "token", "", "service account `TOKEN` (default $GRAFANA_TOKEN)")
	cmd.Flags().StringVar(&opts.Folder, "folder", "", "folder `TITLE` to put the dashboards in, created if missing (default: General)")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", grafana.DefaultTimeout, "time limit of each request to Grafana")
	return cmd
}

func runPush(cmd *cobra.Command, f *cmdutil.Factory, opts *PushOptions) error {
	if opts.URL == "" {
		return cmdutil.FlagError("url", "", errors.New("Grafana's URL is required"))
	}
	if opts.Timeout <= 0 {
		return cmdutil.FlagError("timeout", opts.Timeout.String(), errors.New("want a positive duration"))
	}
	token := opts.Token
	if token == "" && f.Getenv != nil {
		token = f.Getenv("GRAFANA_TOKEN")
	}
	c, err := grafana.NewClient(opts.URL, token, &http.Client{Timeout: opts.Timeout})
	if err != nil {
		return &cmdutil.UsageError{Err: err}
	}
	ctx := cmd.Context()
	o, err := opts.options(ctx, f)
	if err != nil {
		return err
	}
	folder := ""
	if opts.Folder != "" {
		if folder, err = c.EnsureFolder(ctx, opts.Folder); err != nil {
			return err
		}
	}
	for _, d := range grafana.Dashboards(o) {
		p, err := c.PushDashboard(ctx, d, folder, "rampart grafana push")
		if err != nil {
			return fmt.Errorf("push %q: %w", d.Title, err)
		}
		fmt.Fprintf(f.Out, "%s\t%s\tversion %d\n", d.Title, c.URL(p.URL), p.Version)
	}
	return nil
}
