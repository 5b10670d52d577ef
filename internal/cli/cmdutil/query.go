package cmdutil

import (
	"context"
	"fmt"
	"io"
	"net/netip"

	"github.com/spf13/pflag"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/ingest"
	"github.com/rampart-ids/rampart/internal/ipclass"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
)

// Backend answers top and ip queries. Alert files, the store and the
// ossec-dbd database each implement it and give identical answers for the
// same alerts.
type Backend interface {
	TopSources(ctx context.Context, f analytics.Filter) ([]analytics.SourceCount, error)
	SourceReport(ctx context.Context, addr netip.Addr, f analytics.Filter, limit int) (analytics.SourceReport, error)
}

// QueryFlags are the input and filter flags shared by top and ip.
type QueryFlags struct {
	Alerts    []string
	DB        string
	Since     string
	Until     string
	Level     int
	Rule      int
	LocalNets string
	Scope     string

	localNetsSet bool
}

// Register adds the flags to fs.
func (q *QueryFlags) Register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&q.Alerts, "alerts", nil, "read alerts from `FILE` (alerts.log or alerts.json, plain or .gz, or a logs/alerts directory); repeatable")
	fs.StringVar(&q.DB, "db", "", "read the ossec-dbd database at `DSN` (mysql://user:pass@host:3306/ossec or postgres://...)")
	fs.StringVar(&q.Since, "since", "", "only alerts at or after `TIME` (RFC 3339, 2026-10-01, or 30d back)")
	fs.StringVar(&q.Until, "until", "", "only alerts before `TIME` (RFC 3339, 2026-10-01, or 1d back)")
	fs.IntVar(&q.Level, "level", 0, "only alerts of at least level `N`")
	fs.IntVar(&q.Rule, "rule", 0, "only alerts of rule `ID`")
	fs.StringVar(&q.LocalNets, "local-nets", "", "local networks as `CIDR,...` (overrides local_networks of the config)")
	fs.StringVar(&q.Scope, "scope", "internet", "which sources: internet, local or all")
}

// Filter builds the alert filter, naming the flag of any bad value.
func (q *QueryFlags) Filter(f *Factory, fs *pflag.FlagSet) (analytics.Filter, error) {
	var flt analytics.Filter
	now := f.Now()
	var err error
	if q.Since != "" {
		if flt.Since, err = ParseTime(q.Since, now); err != nil {
			return flt, FlagError("since", q.Since, err)
		}
	}
	if q.Until != "" {
		if flt.Until, err = ParseTime(q.Until, now); err != nil {
			return flt, FlagError("until", q.Until, err)
		}
	}
	if !flt.Since.IsZero() && !flt.Until.IsZero() && !flt.Until.After(flt.Since) {
		return flt, &UsageError{Err: fmt.Errorf("--until %s is not after --since %s", q.Until, q.Since)}
	}
	if q.Level < 0 || q.Level > 16 {
		return flt, FlagError("level", fmt.Sprint(q.Level), fmt.Errorf("OSSEC levels are 0 to 16"))
	}
	if q.Rule < 0 {
		return flt, FlagError("rule", fmt.Sprint(q.Rule), fmt.Errorf("rule ids are positive"))
	}
	flt.MinLevel, flt.RuleID = q.Level, q.Rule
	q.localNetsSet = fs.Changed("local-nets")
	return flt, nil
}

// InScope returns the scope predicate from --scope and --local-nets (or
// the config's local_networks).
func (q *QueryFlags) InScope(f *Factory) (func(netip.Addr) bool, error) {
	return InScope(f, q.Scope, q.LocalNets, q.localNetsSet)
}

// InScope returns the predicate of the --scope value scope over the local
// networks of the --local-nets value localNets when that flag was given
// (localNetsSet), else of the config's local_networks.
func InScope(f *Factory, scope, localNets string, localNetsSet bool) (func(netip.Addr) bool, error) {
	sc, err := ipclass.ParseScope(scope)
	if err != nil {
		return nil, FlagError("scope", scope, err)
	}
	var nets []netip.Prefix
	if localNetsSet {
		if nets, err = ipclass.ParseList(localNets); err != nil {
			return nil, FlagError("local-nets", localNets, err)
		}
	} else {
		c, err := f.Config()
		if err != nil {
			return nil, err
		}
		nets = c.LocalNetworks
	}
	cls, err := ipclass.New(nets)
	if err != nil {
		return nil, err
	}
	return cls.InScope(sc), nil
}

// Backend opens the input the flags name: files, a database, or the store.
// The returned close function releases it. Malformed alerts met in files go
// to problems.
func (q *QueryFlags) Backend(ctx context.Context, f *Factory, problems ossec.Problems) (Backend, *ingest.Files, func(), error) {
	switch {
	case len(q.Alerts) > 0 && q.DB != "":
		return nil, nil, nil, &UsageError{Err: fmt.Errorf("--alerts and --db exclude each other")}
	case len(q.Alerts) > 0:
		paths, err := ingest.Expand(q.Alerts)
		if err != nil {
			return nil, nil, nil, err
		}
		files := &ingest.Files{Paths: paths, Problems: problems}
		return files, files, func() {}, nil
	case q.DB != "":
		if _, err := ossecdb.ParseDSN(q.DB); err != nil {
			return nil, nil, nil, &UsageError{Err: fmt.Errorf("invalid --db: %w", err)}
		}
		db, err := ossecdb.Open(ctx, q.DB)
		if err != nil {
			return nil, nil, nil, err
		}
		return db, nil, func() { db.Close() }, nil
	default:
		s, err := f.Store(ctx)
		if err != nil {
			return nil, nil, nil, err
		}
		return s, nil, func() {}, nil
	}
}

// ProblemPrinter prints the first few malformed alerts to w and counts the
// rest, so a bad file is visible without flooding the terminal.
type ProblemPrinter struct {
	w     interface{ Write([]byte) (int, error) }
	max   int
	count int64
}

// NewProblemPrinter prints at most max problems to w.
func NewProblemPrinter(w interface{ Write([]byte) (int, error) }, max int) *ProblemPrinter {
	return &ProblemPrinter{w: w, max: max}
}

// Report is an ossec.Problems.
func (p *ProblemPrinter) Report(e *ossec.ParseError) {
	p.count++
	if p.count <= int64(p.max) {
		fmt.Fprintf(p.w, "malformed alert: %v\n", e)
	}
}

// Count is the number of problems reported.
func (p *ProblemPrinter) Count() int64 { return p.count }

// Summary prints how many problems were not shown.
func (p *ProblemPrinter) Summary() {
	if hidden := p.count - int64(p.max); hidden > 0 {
		fmt.Fprintf(p.w, "malformed alert: ... and %d more\n", hidden)
	}
}

// Input is an opened query input with its malformed-alert reporting.
type Input struct {
	Backend  Backend
	files    *ingest.Files
	problems *ProblemPrinter
	errOut   io.Writer
	close    func()
}

// OpenInput opens the input q names (files, database or store); malformed
// alerts met while reading files are printed to stderr (the first ten).
func OpenInput(ctx context.Context, f *Factory, q *QueryFlags) (*Input, error) {
	problems := NewProblemPrinter(f.Err, 10)
	backend, files, closeFn, err := q.Backend(ctx, f, problems.Report)
	if err != nil {
		return nil, err
	}
	return &Input{Backend: backend, files: files, problems: problems, errOut: f.Err, close: closeFn}, nil
}

// Report prints what was not counted: the hidden malformed alerts and, for
// files, how many alerts were read and how many were malformed.
func (in *Input) Report() {
	in.problems.Summary()
	if in.files != nil && in.files.Read.Malformed > 0 {
		fmt.Fprintf(in.errOut, "read %d alerts, %d malformed (not counted)\n", in.files.Read.Alerts, in.files.Read.Malformed)
	}
}

// Close releases the input.
func (in *Input) Close() { in.close() }
