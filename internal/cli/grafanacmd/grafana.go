// Package grafanacmd is "rampart grafana": Grafana provisioning for the
// ossec-dbd database and Rampart's metrics. "grafana export DIR" writes the
// data source and dashboard provisioning files, "grafana push" uploads the
// dashboards through Grafana's HTTP API, and "grafana queries" prints every
// panel's SQL with Grafana's macros expanded, to run by hand or to time.
//
// It must never write to the ossec-dbd database (with --layout detect it
// only reads the catalogue) and never write a password into a file: the
// data source reads it from the Grafana server's environment.
package grafanacmd

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/grafana"
	"github.com/rampart-ids/rampart/internal/ipclass"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
)

// New returns the grafana command with its subcommands.
func New(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "grafana",
		Short: "Grafana dashboards on the ossec-dbd database and Rampart's metrics",
		Long: `Grafana dashboards that work on the ossec-dbd database OSSEC already fills:
"OSSEC alerts" (alerts over time by level, top internet sources with the
local networks left out, top rules with names, alerts by agent and location,
the latest high-level alerts, a drill-down per source) and "Rampart" on the
server's Prometheus metrics.

"grafana export DIR" writes Grafana provisioning files, "grafana push"
uploads the dashboards through Grafana's HTTP API, "grafana queries" prints
the panels' SQL as Grafana runs it.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newExport(f), newPush(f), newQueries(f))
	return cmd
}

// GenOptions are the flags that shape the dashboards.
type GenOptions struct {
	LocalNets []string
	Layout    string
	DB        string
}

// register adds the flags; dbUse says what --db is for in the command.
func (g *GenOptions) register(fs *pflag.FlagSet, dbUse string) {
	fs.StringSliceVar(&g.LocalNets, "local-nets", nil, "`CIDR,...` left out of the top sources (default: local_networks from the config)")
	fs.StringVar(&g.Layout, "layout", grafana.Layout29, "ossec-dbd `LAYOUT`: 2.9+ (2.9, 3.x, 4.x, master), hybrid, 2.8, or detect (reads --db's catalogue)")
	fs.StringVar(&g.DB, "db", "", "the ossec-dbd database `DSN` (mysql://user@host:port/db), "+dbUse)
}

// options resolves the flags into dashboard options.
func (g *GenOptions) options(ctx context.Context, f *cmdutil.Factory) (grafana.Options, error) {
	var o grafana.Options
	var err error
	if o.LocalNetworks, o.LocalDefault, err = localNetworks(f, g.LocalNets); err != nil {
		return o, err
	}
	if g.Layout == "detect" {
		if g.DB == "" {
			return o, cmdutil.FlagError("layout", g.Layout, errors.New("detect needs --db"))
		}
		o.Schema, err = detect(ctx, g.DB)
		if err != nil {
			return o, err
		}
		fmt.Fprintf(f.Err, "ossec-dbd layout: %s\n", o.Schema)
	} else if o.Schema, err = grafana.ParseSchema(g.Layout); err != nil {
		return o, cmdutil.FlagError("layout", g.Layout, err)
	}
	return o, nil
}

// localNetworks returns --local-nets, else the config's local_networks, and
// whether they are Rampart's defaults (none configured), which it says on
// stderr.
func localNetworks(f *cmdutil.Factory, flag []string) ([]netip.Prefix, bool, error) {
	if len(flag) > 0 {
		var nets []netip.Prefix
		for _, s := range flag {
			if strings.TrimSpace(s) == "" {
				continue
			}
			p, err := ipclass.ParsePrefix(s)
			if err != nil {
				return nil, false, cmdutil.FlagError("local-nets", s, err)
			}
			nets = append(nets, p)
		}
		return nets, false, nil
	}
	cfg, err := f.Config()
	if err != nil {
		return nil, false, err
	}
	isDefault := slices.Equal(cfg.LocalNetworks, ipclass.DefaultLocalNetworks())
	if isDefault {
		s := make([]string, len(cfg.LocalNetworks))
		for i, p := range cfg.LocalNetworks {
			s[i] = p.String()
		}
		fmt.Fprintf(f.Err, "no local_networks configured: leaving Rampart's defaults out of the top sources: %s (set local_networks in the config, or pass --local-nets)\n", strings.Join(s, ", "))
	}
	return cfg.LocalNetworks, isDefault, nil
}

// detect reads the database's layout from its catalogue.
func detect(ctx context.Context, dsn string) (grafana.Schema, error) {
	cfg, err := ossecdb.ParseDSN(dsn)
	if err != nil {
		return grafana.Schema{}, cmdutil.FlagError("db", ossecdb.RedactDSN(dsn), err)
	}
	if cfg.Dialect != ossecdb.MySQL {
		return grafana.Schema{}, cmdutil.FlagError("db", ossecdb.RedactDSN(dsn), errors.New("the dashboards are written for MySQL/MariaDB databases"))
	}
	db, err := ossecdb.Open(ctx, dsn)
	if err != nil {
		return grafana.Schema{}, err
	}
	defer db.Close()
	l := db.Layout()
	return grafana.Schema{
		IntegerIPs:       !l.TextIPs,
		LevelInSignature: !l.HasLevel && l.HasSignature,
		LogInData:        !l.AlertHasLog && l.HasData,
	}, nil
}

// mysqlSource is the data source's connection from --db, without the
// password.
func mysqlSource(f *cmdutil.Factory, dsn string) (grafana.MySQLSource, error) {
	if dsn == "" {
		fmt.Fprintf(f.Err, "no --db: the MySQL data source uses placeholders (%s, database %s, user %s): edit %s or pass --db\n",
			grafana.PlaceholderHost, grafana.PlaceholderDatabase, grafana.PlaceholderUser, grafana.DatasourcesFile)
		return grafana.MySQLSource{}, nil
	}
	cfg, err := ossecdb.ParseDSN(dsn)
	if err != nil {
		return grafana.MySQLSource{}, cmdutil.FlagError("db", ossecdb.RedactDSN(dsn), err)
	}
	if cfg.Dialect != ossecdb.MySQL {
		return grafana.MySQLSource{}, cmdutil.FlagError("db", ossecdb.RedactDSN(dsn), errors.New("the dashboards are written for MySQL/MariaDB databases"))
	}
	if cfg.Socket != "" {
		return grafana.MySQLSource{}, cmdutil.FlagError("db", ossecdb.RedactDSN(dsn), errors.New("a unix socket cannot be a Grafana data source address: give host:port"))
	}
	if cfg.Password != "" {
		fmt.Fprintf(f.Err, "the password in --db is not written: set %s in the Grafana server's environment\n", grafana.PasswordEnv)
	}
	host := cfg.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return grafana.MySQLSource{Host: fmt.Sprintf("%s:%d", host, cfg.Port), Database: cfg.Database, User: cfg.User}, nil
}
