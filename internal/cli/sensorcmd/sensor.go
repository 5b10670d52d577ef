// Package sensorcmd is "rampart sensor": on an OSSEC manager, follow the
// alerts and push them to the central server as signals (internal/sensor);
// or, as an OSSEC active-response command, send one signal at once.
package sensorcmd

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/follow"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
	"github.com/rampart-ids/rampart/internal/sensor"
)

// Options are the sensor's flags.
type Options struct {
	Server, Token string
	Alerts, DB    string
	State         string
	Manager       string
	MinLevel      int
	FromStart     bool
	Level         int
}

func (o *Options) sensor(f *cmdutil.Factory) (*sensor.Sensor, error) {
	if o.Token == "" && f.Getenv != nil {
		o.Token = f.Getenv("RAMPART_TOKEN")
	}
	if o.Server == "" && f.Getenv != nil {
		o.Server = f.Getenv("RAMPART_SERVER")
	}
	s, err := sensor.New(sensor.Options{Server: o.Server, Token: o.Token, Manager: o.Manager, StateFile: o.State, MinLevel: o.MinLevel, Logger: f.Logger()})
	if err != nil {
		return nil, &cmdutil.UsageError{Err: err}
	}
	return s, nil
}

// New returns the sensor command.
func New(f *cmdutil.Factory) *cobra.Command {
	o := &Options{}
	cmd := &cobra.Command{
		Use:   "sensor",
		Short: "Push this OSSEC manager's alerts to the central server",
		Long: `Follow alerts.log or alerts.json (--alerts) or the ossec-dbd database (--db)
and push every alert with a source address to the server as a signal. The
read position is stored in --state only after the server acknowledged the
alerts before it: a server outage loses nothing, the sensor catches up from
OSSEC's own files (rotated day files included).`,
		Example: `  RAMPART_TOKEN=rpt_... rampart sensor --server https://rampart:8443 --alerts /var/ossec/logs/alerts/alerts.log`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return run(cmd.Context(), f, o) },
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Server, "server", "", "server `URL` (default $RAMPART_SERVER)")
	fl.StringVar(&o.Token, "token", "", "sensor `TOKEN` (default $RAMPART_TOKEN)")
	fl.StringVar(&o.Alerts, "alerts", "", "follow this alerts.log or alerts.json `PATH`")
	fl.StringVar(&o.DB, "db", "", "follow the ossec-dbd database at `DSN`")
	fl.StringVar(&o.State, "state", "/var/lib/rampart/sensor.json", "acknowledged position `FILE`")
	fl.StringVar(&o.Manager, "manager", "", "this manager's `NAME` in signal keys (default: host name)")
	fl.IntVar(&o.MinLevel, "min-level", 0, "send only alerts of at least this `LEVEL`")
	fl.BoolVar(&o.FromStart, "from-start", false, "without a stored position, start at the beginning (default: the end, like tail -f)")
	cmd.AddCommand(newActiveResponse(f))
	return cmd
}

func run(ctx context.Context, f *cmdutil.Factory, o *Options) error {
	if (o.Alerts == "") == (o.DB == "") {
		return &cmdutil.UsageError{Err: errors.New("give one of --alerts PATH or --db DSN")}
	}
	s, err := o.sensor(f)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return s.Run(gctx) })
	if o.Alerts != "" {
		var pos follow.Position
		found, err := s.LoadPosition(&pos)
		if err != nil {
			return err
		}
		// Short polls: an alert should reach the front-ends within a
		// second of OSSEC writing it.
		fo := follow.FileOptions{Poll: 50 * time.Millisecond, Grace: 150 * time.Millisecond, FromStart: o.FromStart, Logger: f.Logger(),
			Problems: func(e *ossec.ParseError) { f.Logger().Warn("malformed alert", "error", e) }}
		if found {
			fo.Start = &pos
		}
		g.Go(func() error {
			return follow.File(o.Alerts, fo).Run(gctx, func(a *ossec.Alert, p follow.Position) error { return s.Offer(gctx, a, p) })
		})
	} else {
		db, err := ossecdb.Open(ctx, o.DB)
		if err != nil {
			return err
		}
		defer db.Close()
		var pos map[int]int64
		found, err := s.LoadPosition(&pos)
		if err != nil {
			return err
		}
		do := follow.DBOptions{FromStart: o.FromStart, Poll: 200 * time.Millisecond, Logger: f.Logger()}
		if found {
			do.Start = pos
		}
		g.Go(func() error {
			return follow.DB(db, do).Run(gctx, func(a *ossec.Alert, p map[int]int64) error { return s.Offer(gctx, a, p) })
		})
	}
	fmt.Fprintf(f.Err, "rampart sensor: %s -> %s\n", o.Alerts+o.DB, o.Server)
	err = g.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func newActiveResponse(f *cmdutil.Factory) *cobra.Command {
	o := &Options{}
	cmd := &cobra.Command{
		Use:   "active-response ACTION USER SRCIP ALERTID RULEID [LOCATION...] [FILENAME]",
		Short: "Send one signal at once, as an OSSEC active-response command",
		Long: `Run by OSSEC's execd as an active-response command, with OSSEC's arguments
(action, user, source address, alert id, rule id, ...): "add" sends the
source to the server at once; "delete" does nothing (the server decides
when bans end). OSSEC does not pass the alert's level: --level gives the
level of the active response's own threshold.`,
		Example: `  # /var/ossec/active-response/bin/rampart.sh:
  #   exec /usr/bin/rampart sensor active-response --server https://rampart:8443 --level 10 "$@"`,
		// execd splits OSSEC's message at every space: an agent's
		// location "(web1) 10.0.0.5->/var/log/secure" arrives as two
		// arguments before the file name.
		Args: cobra.MinimumNArgs(5),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "add" {
				return nil
			}
			src, err := netip.ParseAddr(args[2])
			if err != nil {
				return &cmdutil.UsageError{Err: fmt.Errorf("source address %q: %v", args[2], err)}
			}
			rule, err := strconv.Atoi(args[4])
			if err != nil || rule <= 0 {
				return &cmdutil.UsageError{Err: fmt.Errorf("rule id %q: want a positive number", args[4])}
			}
			s, err := o.sensor(f)
			if err != nil {
				return err
			}
			a := ossec.Alert{SrcIP: src.Unmap(), RuleID: rule, Level: o.Level, Time: f.Now().UTC(), Log: []string{strings.Join(args, " ")}}
			if loc := args[5:]; len(loc) > 0 {
				if len(loc) > 1 {
					loc = loc[:len(loc)-1] // the file name
				}
				a.Location = ossec.ParseLocation(strings.Join(loc, " "))
			}
			key := s.KeyFor("ar:" + args[3] + ":" + args[4])
			if id, err := ossec.ParseID(args[3]); err == nil && !id.IsZero() {
				// With the alert's own id, rule and location the key is
				// the one the follower gives the same alert in
				// alerts.log: a manager running both counts it once.
				a.ID, a.Time, key = id, ossec.TimeFromID(id), ""
			}
			sig, _ := s.Signal(&a) // the source is valid; active-response has no --min-level
			if key != "" {
				sig.Key = key
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 20*time.Second)
			defer cancel()
			return s.Send(ctx, sig)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.Server, "server", "", "server `URL` (default $RAMPART_SERVER)")
	fl.StringVar(&o.Token, "token", "", "sensor `TOKEN` (default $RAMPART_TOKEN)")
	fl.StringVar(&o.Manager, "manager", "", "this manager's `NAME` (default: host name)")
	fl.IntVar(&o.Level, "level", 10, "the `LEVEL` to report (OSSEC does not pass it)")
	return cmd
}
