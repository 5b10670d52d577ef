// Package samplecmd is "rampart sample": write the deterministic sample
// alerts (internal/sample) as alerts.log, alerts.json and, optionally,
// ossec-dbd rows in a database, plus the generator's ground truth and the
// manager's ossec.conf that goes with them.
package samplecmd

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/alertsjson"
	"github.com/rampart-ids/rampart/internal/ossec/alertslog"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/dbdload"
	"github.com/rampart-ids/rampart/internal/sample"
)

// Options are sample's flags.
type Options struct {
	Out       string
	Alerts    int
	Seed      int64
	Start     string
	Days      int
	DB        string
	DBVersion string
	Server    string
}

// New returns the sample command.
func New(f *cmdutil.Factory) *cobra.Command {
	def := sample.DefaultConfig()
	opts := &Options{Alerts: def.Alerts, Seed: def.Seed, Start: def.Start.Format(time.DateOnly), Days: int(def.Duration / (24 * time.Hour))}
	cmd := &cobra.Command{
		Use:   "sample",
		Short: "Write deterministic sample alerts with their ground truth",
		Long: `Write the same generated alerts as alerts.log, alerts.json and (with --db)
ossec-dbd rows, plus truth.json (what the generator planted, per source) and
ossec.conf (the manager's active responses: the blocks the alerts trigger).

The data holds the traps an OSSEC operator meets: heavy-tailed attackers, one
/24 full of bots, local-network noise, alerts without source, IPv6 and
IPv4-mapped sources, addresses that look like local ones, loopback, a bot
that returns just after each 600 s block, a web scanner that returns just
after each 3,600 s block, a slow attacker spread over the whole time, and
bursts. The same flags always write the same bytes.`,
		Example: `  rampart sample --out /tmp/sample
  rampart sample --out /tmp/big --alerts 3000000 --days 180
  rampart sample --out /tmp/s --db mysql://root@127.0.0.1:3306/ossec_sample`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return run(cmd.Context(), f, opts) },
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Out, "out", "", "write alerts.log, alerts.json, truth.json and ossec.conf into `DIR` (created)")
	fl.IntVar(&opts.Alerts, "alerts", opts.Alerts, "number of alerts `N`")
	fl.Int64Var(&opts.Seed, "seed", opts.Seed, "random `SEED`")
	fl.StringVar(&opts.Start, "start", opts.Start, "first day `DATE` (UTC)")
	fl.IntVar(&opts.Days, "days", opts.Days, "spread the alerts over `N` days")
	fl.StringVar(&opts.DB, "db", "", "also load the alerts into the ossec-dbd database at `DSN` (tables created if missing)")
	fl.StringVar(&opts.DBVersion, "db-version", "3x", "ossec-dbd layout to write: 2.8, 2.9, 3x or master")
	fl.StringVar(&opts.Server, "server", "ossec-mgr", "manager host `NAME` for the database's server row")
	cmd.MarkFlagRequired("out")
	return cmd
}

var versions = map[string]dbdload.Version{"2.8": dbdload.V28, "2.9": dbdload.V29, "3x": dbdload.V3x, "master": dbdload.VMaster}

func run(ctx context.Context, f *cmdutil.Factory, opts *Options) error {
	if opts.Alerts <= 0 {
		return cmdutil.FlagError("alerts", fmt.Sprint(opts.Alerts), errors.New("must be positive"))
	}
	if opts.Days <= 0 {
		return cmdutil.FlagError("days", fmt.Sprint(opts.Days), errors.New("must be positive"))
	}
	start, err := time.Parse(time.DateOnly, opts.Start)
	if err != nil {
		return cmdutil.FlagError("start", opts.Start, errors.New("want a date such as 2026-10-01"))
	}
	version, ok := versions[opts.DBVersion]
	if !ok {
		return cmdutil.FlagError("db-version", opts.DBVersion, errors.New("want 2.8, 2.9, 3x or master"))
	}
	var loader *dbdload.Loader
	if opts.DB != "" {
		db, ld, err := openLoader(ctx, opts.DB, version, opts.Server)
		if err != nil {
			return err
		}
		defer db.Close()
		loader = ld
	}
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	cfg := sample.Config{Seed: opts.Seed, Alerts: opts.Alerts, Start: start.UTC(), Duration: time.Duration(opts.Days) * 24 * time.Hour}
	g := sample.Generate(cfg)

	logFile, err := os.Create(filepath.Join(opts.Out, "alerts.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	jsonFile, err := os.Create(filepath.Join(opts.Out, "alerts.json"))
	if err != nil {
		return err
	}
	defer jsonFile.Close()
	lw := bufio.NewWriterSize(logFile, 1<<20)
	jw := bufio.NewWriterSize(jsonFile, 1<<20)

	var offset int64
	var buf []byte
	var batch []ossec.Alert
	for a := range g.All() {
		// Up to OSSEC 4.1 the number after the dot is the alert's byte
		// offset in the day's alerts.log; write it so.
		a.ID.Seq = offset
		buf = alertslog.AppendAlert(buf[:0], a, time.UTC)
		lw.Write(buf)
		offset += int64(len(buf))
		buf = alertsjson.AppendAlert(buf[:0], a, alertsjson.OSSEC42)
		jw.Write(buf)
		if loader != nil {
			c := *a
			c.Groups = slices.Clone(a.Groups)
			c.Log = slices.Clone(a.Log)
			batch = append(batch, c)
			if len(batch) == 10_000 {
				if err := loader.Load(ctx, batch); err != nil {
					return err
				}
				batch = batch[:0]
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if loader != nil && len(batch) > 0 {
		if err := loader.Load(ctx, batch); err != nil {
			return err
		}
	}
	if err := errors.Join(lw.Flush(), jw.Flush(), logFile.Close(), jsonFile.Close()); err != nil {
		return err
	}
	if err := writeTruth(filepath.Join(opts.Out, "truth.json"), g.Truth()); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(opts.Out, "ossec.conf"), sample.OSSECConf(), 0o644); err != nil {
		return err
	}
	t := g.Truth()
	fmt.Fprintf(f.Err, "wrote %d alerts (%d sources, %d without source) to %s\n", t.Total, len(t.Sources), t.NoSource, opts.Out)
	return nil
}

func openLoader(ctx context.Context, dsn string, v dbdload.Version, server string) (*sql.DB, *dbdload.Loader, error) {
	cfg, err := ossecdb.ParseDSN(dsn)
	if err != nil {
		return nil, nil, &cmdutil.UsageError{Err: err}
	}
	db, err := cfg.OpenSQL(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := dbdload.CreateSchema(ctx, db, cfg.Dialect, v); err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, dbdload.NewLoader(db, cfg.Dialect, v, server), nil
}

// TruthSource is one source in truth.json.
type TruthSource struct {
	IP        string        `json:"ip"`
	Kind      string        `json:"kind"`
	Count     int64         `json:"count"`
	FirstSeen time.Time     `json:"first_seen"`
	LastSeen  time.Time     `json:"last_seen"`
	MaxLevel  int           `json:"max_level"`
	Rules     map[int]int64 `json:"rules"`
	// Mapped counts the alerts that spell the address ::ffff:a.b.c.d.
	Mapped int64 `json:"mapped,omitempty"`
	// BlockSeconds is a returner's block: it comes back a few seconds
	// after each block of this length (see ossec.conf).
	BlockSeconds int64 `json:"block_seconds,omitempty"`
}

func writeTruth(path string, t *sample.Truth) error {
	out := struct {
		Total    int64         `json:"total"`
		NoSource int64         `json:"no_source"`
		Sources  []TruthSource `json:"sources"`
	}{Total: t.Total, NoSource: t.NoSource}
	for _, s := range t.Sources {
		out.Sources = append(out.Sources, TruthSource{IP: s.Addr.String(), Kind: s.Kind.String(), Count: s.Count,
			FirstSeen: s.FirstSeen.UTC(), LastSeen: s.LastSeen.UTC(), MaxLevel: s.MaxLevel, Rules: s.Rules, Mapped: s.Mapped,
			BlockSeconds: int64(s.Block / time.Second)})
	}
	slices.SortFunc(out.Sources, func(a, b TruthSource) int {
		if a.Count != b.Count {
			if a.Count > b.Count {
				return -1
			}
			return 1
		}
		if a.IP < b.IP {
			return -1
		}
		return 1
	})
	data, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
