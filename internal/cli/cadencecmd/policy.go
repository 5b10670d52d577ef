package cadencecmd

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/rampart-ids/rampart/internal/analytics/cadence"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/ossec/ossecconf"
)

// maxNotes is how many ossec.conf problems are printed before a count.
const maxNotes = 10

// Flags say which alerts made OSSEC block their source, for how long, and
// how returns are judged. cadence and ip share them.
type Flags struct {
	OssecConf  string
	Block      string
	Tolerance  string
	MinReturns int
	MaxBan     string
}

// Register adds the flags to fs.
func (b *Flags) Register(fs *pflag.FlagSet) {
	fs.StringVar(&b.OssecConf, "ossec-conf", "", "OSSEC's ossec.conf `FILE`, for which alerts block and for how long (default ossec_dir/etc/ossec.conf of the config)")
	fs.StringVar(&b.Block, "block", "", "every block lasts `DUR` (600s, 1h, or seconds), overriding ossec.conf's timeouts and repeated_offenders")
	fs.StringVar(&b.Tolerance, "tolerance", "60s", "a return within `DUR` after a block expired counts as just after it")
	fs.IntVar(&b.MinReturns, "min-returns", cadence.DefaultMinReturns, "judge only sources with at least `N` returns after a block")
	fs.StringVar(&b.MaxBan, "max-ban", "", "never recommend a ban longer than `DUR`")
}

// Setup is what the flags and ossec.conf resolve to.
type Setup struct {
	Analyzer *cadence.Analyzer
	// Notes are for stderr: ossec.conf's problems and the defaults
	// assumed. Printed after the input opened, so that an input error
	// stays the only message.
	Notes []string
	// Block describes where block lengths come from, for humans.
	Block string
	// Tolerance is the window after expiry.
	Tolerance time.Duration
}

// parseDur reads a duration flag: a Go duration with d and w, or a number
// of seconds as ossec.conf writes timeouts.
func parseDur(flag, s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n <= 0 {
			return 0, cmdutil.FlagError(flag, s, errors.New("must be positive"))
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := cmdutil.ParseDuration(s)
	if err != nil {
		return 0, cmdutil.FlagError(flag, s, errors.New("want a duration such as 600s, 30m, 1h or a number of seconds"))
	}
	if d < time.Second {
		return 0, cmdutil.FlagError(flag, s, errors.New("must be at least 1s"))
	}
	return d, nil
}

// Setup validates the flags and reads ossec.conf. A missing or unreadable
// ossec.conf at the configured path is a note (OSSEC may run elsewhere);
// one named by --ossec-conf is an error.
func (b *Flags) Setup(f *cmdutil.Factory, flags *pflag.FlagSet, detail bool) (*Setup, error) {
	o := cadence.DefaultOptions()
	o.Detail = detail
	var err error
	if o.Tolerance, err = parseDur("tolerance", b.Tolerance); err != nil {
		return nil, err
	}
	if b.MinReturns < 1 {
		return nil, cmdutil.FlagError("min-returns", strconv.Itoa(b.MinReturns), errors.New("must be at least 1"))
	}
	o.MinReturns = b.MinReturns
	if b.MaxBan != "" {
		if o.MaxBan, err = parseDur("max-ban", b.MaxBan); err != nil {
			return nil, err
		}
	}
	var override time.Duration
	if b.Block != "" {
		if override, err = parseDur("block", b.Block); err != nil {
			return nil, err
		}
	}
	path := b.OssecConf
	explicit := flags.Changed("ossec-conf")
	if !explicit {
		c, err := f.Config()
		if err != nil {
			return nil, err
		}
		path = c.OssecConf()
	} else if path == "" {
		return nil, cmdutil.FlagError("ossec-conf", path, errors.New("empty path"))
	}
	s := &Setup{Tolerance: o.Tolerance}
	cfg, probs, err := ossecconf.Load(path)
	if err != nil {
		if explicit {
			return nil, err
		}
		reason := "cannot be read: " + err.Error()
		switch {
		case errors.Is(err, fs.ErrNotExist):
			reason = "not found"
		case errors.Is(err, fs.ErrPermission):
			reason = "not readable (permission denied; OSSEC keeps it root:ossec 0640)"
		}
		s.Notes = append(s.Notes, fmt.Sprintf("ossec.conf %s %s", path, reason))
		cfg = nil
	}
	for i, p := range probs {
		if i == maxNotes {
			s.Notes = append(s.Notes, fmt.Sprintf("ossec.conf: ... and %d more problems", len(probs)-maxNotes))
			break
		}
		s.Notes = append(s.Notes, "ossec.conf: "+p.Error())
	}
	if cfg != nil && len(probs) > 0 {
		s.Notes = append(s.Notes, fmt.Sprintf("ossec.conf %s: the rest of the file is used", path))
	}
	var p cadence.Policy
	if why, ok := blocks(cfg); ok {
		escalates := override == 0 && len(cfg.RepeatedOffenders) > 0
		// The responses the manager's execd runs (with the ladder this
		// ossec.conf gives it), for alerts of agents and of the manager.
		onManager := [2]*ossecconf.Config{managerOnly(cfg, true), managerOnly(cfg, false)}
		p.Block = func(r cadence.Rule) (cadence.Response, bool) {
			d, ok := cfg.Block(r.ID, r.Level, r.Groups)
			if !ok {
				return cadence.Response{}, false
			}
			if override > 0 {
				return cadence.Response{Block: override}, true
			}
			resp := cadence.Response{Block: d}
			if escalates {
				m := onManager[0]
				if !r.FromAgent {
					m = onManager[1]
				}
				_, resp.Escalates = m.Block(r.ID, r.Level, r.Groups)
			}
			return resp, true
		}
		s.Block = "active responses of " + path
		if override > 0 {
			s.Block = "--block " + fmtSeconds(override) + ", active responses of " + path
		} else if escalates {
			p.Repeated = cfg.RepeatedOffenders
			o.Ladder = ladder(cfg)
			s.Block += " with repeated_offenders on the manager"
		}
	} else {
		if cfg != nil {
			s.Notes = append(s.Notes, fmt.Sprintf("ossec.conf %s: %s", path, why))
		}
		p = cadence.StockPolicy(override)
		if override > 0 {
			s.Block = "--block " + fmtSeconds(override) + " for alerts of level ≥ 6"
			s.Notes = append(s.Notes, fmt.Sprintf("alerts of level ≥ %d count as blocks of %s (--block), as OSSEC's stock active response",
				cadence.StockLevel, fmtSeconds(override)))
		} else {
			s.Block = "the 600 s default for alerts of level ≥ 6"
			s.Notes = append(s.Notes, fmt.Sprintf("using the 600 s default: alerts of level ≥ %d block their source for %s, as OSSEC's stock active response (--ossec-conf or --block to change)",
				cadence.StockLevel, fmtSeconds(cadence.DefaultBlock)))
		}
	}
	if cfg != nil && len(cfg.WhiteList) > 0 {
		wl := cfg.WhiteList
		p.Exempt = func(a netip.Addr) bool {
			for _, pfx := range wl {
				if pfx.Contains(a) {
					return true
				}
			}
			return false
		}
	}
	s.Analyzer = cadence.New(p, o)
	return s, nil
}

// blocks reports whether cfg has a response that blocks addresses for a
// time, as ossecconf.Config.Block counts them, and if not, why.
func blocks(cfg *ossecconf.Config) (why string, ok bool) {
	if cfg == nil {
		return "", false
	}
	if cfg.ExecdDisabled {
		return "active response is disabled (<active-response><disabled>yes)", false
	}
	for _, ar := range cfg.Responses {
		cmd, found := cfg.Commands[ar.Command]
		if !ar.Disabled && found && cmd.TimeoutAllowed && cmd.ExpectsSrcIP() {
			return "", true
		}
	}
	return "no enabled <active-response> runs a command that blocks a source address for a time", false
}

// managerOnly returns cfg with the responses the manager's execd runs for
// an alert from an agent (fromAgent) or from the manager's own logs, as
// analysisd decides (src/analysisd/alerts/exec.c): a location naming the
// server ("AS", "analysisd", "analysis-server", "server"), or "local" for
// an alert of the manager. Other responses go to agents, whose execd has
// its own ossec.conf: Rampart assumes it sets no repeated_offenders.
func managerOnly(cfg *ossecconf.Config, fromAgent bool) *ossecconf.Config {
	c := *cfg
	c.Responses = nil
	for _, ar := range cfg.Responses {
		server := strings.Contains(ar.Location, "AS") || strings.Contains(ar.Location, "analysisd") ||
			strings.Contains(ar.Location, "analysis-server") || strings.Contains(ar.Location, "server")
		if server || (!fromAgent && strings.Contains(ar.Location, "local")) {
			c.Responses = append(c.Responses, ar)
		}
	}
	return &c
}

// ladder is the operator's own escalation: the timeouts of the blocking
// responses and the repeated_offenders steps.
func ladder(cfg *ossecconf.Config) []time.Duration {
	steps := slices.Clone(cfg.RepeatedOffenders)
	for _, ar := range cfg.Responses {
		cmd := cfg.Commands[ar.Command]
		if !ar.Disabled && ar.Timeout > 0 && cmd.TimeoutAllowed && cmd.ExpectsSrcIP() {
			steps = append(steps, ar.Timeout)
		}
	}
	return steps
}

// fmtSeconds writes a block or gap as OSSEC's timeouts are written.
func fmtSeconds(d time.Duration) string {
	if d == cadence.Permanent {
		return "permanent"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + " s"
}
