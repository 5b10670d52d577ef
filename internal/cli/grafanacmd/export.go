package grafanacmd

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/atomicfile"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/grafana"
)

// ExportOptions are grafana export's flags.
type ExportOptions struct {
	GenOptions
	Dir            string
	PrometheusURL  string
	DashboardsPath string
}

func newExport(f *cmdutil.Factory) *cobra.Command {
	opts := &ExportOptions{}
	cmd := &cobra.Command{
		Use:   "export DIR",
		Short: "Write Grafana provisioning files: data sources and dashboards",
		Long: `Write Grafana provisioning into DIR, in the layout of Grafana's provisioning
directory:

  DIR/datasources/rampart.yaml         MySQL on ossec-dbd, Prometheus on Rampart
  DIR/dashboards/rampart.yaml          the dashboard provider
  DIR/dashboards/rampart/*.json        "OSSEC alerts" and "Rampart"

The MySQL data source's password is read by Grafana from its environment
variable RAMPART_OSSEC_DB_PASSWORD; no password is written. Without --db the
data source's host, database and user are placeholders to edit.

The top sources leave out the local networks: --local-nets, else the
config's local_networks, else Rampart's defaults (said on stderr). The SQL
is written for the ossec-dbd layout --layout names.

Paths of the written files go to stdout.`,
		Example: `  rampart grafana export /etc/grafana/provisioning --db mysql://grafana@db1:3306/ossec
  rampart grafana export ./grafana --local-nets 10.40.0.0/16,2001:db8:40::/48 --layout detect --db mysql://root@localhost/ossec`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			return runExport(cmd, f, opts)
		},
	}
	opts.register(cmd.Flags(), "for --layout detect, and the data source's host, database and user (its password is never written)")
	cmd.Flags().StringVar(&opts.PrometheusURL, "prometheus-url", "http://localhost:9090", "`URL` of the Prometheus that scrapes the Rampart server, as Grafana reaches it")
	cmd.Flags().StringVar(&opts.DashboardsPath, "dashboards-path", "", "`DIR` where Grafana reads the dashboards' JSON (default: DIR/dashboards/rampart, absolute)")
	return cmd
}

func runExport(cmd *cobra.Command, f *cmdutil.Factory, opts *ExportOptions) error {
	o, err := opts.options(cmd.Context(), f)
	if err != nil {
		return err
	}
	src, err := mysqlSource(f, opts.DB)
	if err != nil {
		return err
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return fmt.Errorf("export directory %s: %w", opts.Dir, err)
	}
	dashPath := opts.DashboardsPath
	if dashPath == "" {
		dashPath = filepath.Join(dir, filepath.FromSlash(grafana.DashboardDir))
	}
	p := grafana.Provisioning{Options: o, MySQLSource: src, PrometheusURL: opts.PrometheusURL, DashboardsPath: dashPath}
	files, err := p.Files()
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		path := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := atomicfile.WriteFile(path, files[n], 0o644); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		fmt.Fprintln(f.Out, path)
	}
	fmt.Fprintf(f.Err, "wrote %d files for the %s layout; dashboards read from %s\n", len(names), o.Schema, dashPath)
	return nil
}
