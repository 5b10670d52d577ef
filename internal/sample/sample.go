package sample

import (
	"iter"
	"net/netip"
	"time"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// Config says how much sample data to generate and where in time to put it.
// The zero Config generates nothing; DefaultConfig is the shipped example.
type Config struct {
	// Seed selects the sample; equal seeds give equal alerts.
	Seed int64
	// Alerts is the exact number of alerts All yields. Negative means 0.
	Alerts int
	// Start is the first possible alert time. It is used in UTC and cut to
	// whole seconds, as OSSEC's alert ids carry whole seconds; a start
	// before 1970 means 1970-01-01T00:00:00Z, one after 9000 means 9000.
	Start time.Time
	// Duration spreads the alerts over [Start, Start+Duration). Durations
	// under one second mean one second, over 100 years 100 years. The
	// traps that need time (the returners' rounds of 600 s and 3,600 s
	// blocks) shrink to fit a short duration.
	Duration time.Duration
}

// DefaultConfig is the shipped example: 5,000 alerts over 14 days from
// 2026-10-01T00:00:00Z, seed 1. Every trap the package plants is present at
// this size.
func DefaultConfig() Config {
	return Config{
		Seed:     1,
		Alerts:   5000,
		Start:    time.Date(2026, time.October, 1, 0, 0, 0, 0, time.UTC),
		Duration: 14 * 24 * time.Hour,
	}
}

// Generator produces the sample alerts of one Config and keeps the ground
// truth of the alerts it has yielded. It is not safe for concurrent use.
type Generator struct {
	cfg  Config
	last *run // the run whose counters Truth reports
}

// Generate returns a generator for cfg. It does no work until All is
// ranged over.
func Generate(cfg Config) *Generator {
	return &Generator{cfg: normalize(cfg)}
}

// Config returns the configuration after normalisation (UTC start in whole
// seconds not before 1970, non-negative alert count, duration of at least
// one second).
func (g *Generator) Config() Config { return g.cfg }

func normalize(cfg Config) Config {
	if cfg.Alerts < 0 {
		cfg.Alerts = 0
	}
	cfg.Start = cfg.Start.UTC().Truncate(time.Second)
	if cfg.Start.Unix() < 0 {
		// OSSEC alert ids carry an unsigned epoch.
		cfg.Start = time.Unix(0, 0).UTC()
	}
	// alerts.log writes four-digit years; the cap also keeps the end's
	// Unix time far from overflowing.
	if last := time.Date(9000, time.January, 1, 0, 0, 0, 0, time.UTC); cfg.Start.After(last) {
		cfg.Start = last
	}
	cfg.Duration = min(cfg.Duration, 100*365*24*time.Hour)
	cfg.Duration = cfg.Duration.Truncate(time.Second)
	if cfg.Duration < time.Second {
		cfg.Duration = time.Second
	}
	return cfg
}

// All yields the alerts in non-decreasing time order, exactly Config.Alerts
// of them, each with a unique ID (ID.Epoch is the alert time, ID.Seq counts
// the alerts of that second from 1).
//
// The *ossec.Alert and everything it points to (Log, Groups) are valid only
// until the loop body returns: the generator reuses them. A caller that keeps
// an alert copies it; strings may be kept, slices must be copied, and
// nothing may be modified.
//
// Each range over All starts the same sample from the beginning and resets
// the counters that Truth reports.
func (g *Generator) All() iter.Seq[*ossec.Alert] {
	return func(yield func(*ossec.Alert) bool) {
		r := newRun(g.cfg)
		g.last = r
		r.emit(yield)
	}
}

// Truth returns the ground truth of the alerts the most recent range over
// All has yielded: complete once All has been consumed to the end. Each call
// builds a new Truth the caller owns.
func (g *Generator) Truth() *Truth {
	t := &Truth{Sources: make(map[netip.Addr]*SourceTruth)}
	if g.last == nil {
		return t
	}
	return g.last.truth()
}

// Truth is what the generator planted, counted as it emitted each alert. It
// never comes from classifying or re-reading the alerts, so it can check
// Rampart's own answers.
type Truth struct {
	// Sources has one entry per source address that occurs in at least
	// one alert, keyed by the address as an analyst should see it: IPv4
	// unmapped, even where alerts spell it "::ffff:a.b.c.d".
	Sources map[netip.Addr]*SourceTruth
	// NoSource counts alerts without a source address.
	NoSource int64
	// Total counts all alerts: the sum of Sources' counts plus NoSource.
	Total int64
}

// SourceTruth is everything one source did in the sample.
type SourceTruth struct {
	Addr netip.Addr
	Kind Kind
	// Count is the number of alerts with this source, whatever spelling.
	Count int64
	// Mapped is how many of those alerts spell the source as an
	// IPv4-mapped IPv6 address "::ffff:a.b.c.d".
	Mapped              int64
	FirstSeen, LastSeen time.Time // UTC
	MaxLevel            int
	// Rules counts the source's alerts by rule id.
	Rules map[int]int64
	// Block is, for a returner, how long the alert that ends each of its
	// rounds blocks it: the timeout of the active response that alert
	// triggers in OSSECConf (600 s for sshd brute force, 3,600 s for a web
	// scan). The returner comes back a few seconds after each block
	// expires. It is 0 for every other kind.
	Block time.Duration
}

// Kind is why the generator planted a source: which list it drew the address
// from. The zero Kind is never planted.
type Kind uint8

// The kinds of planted sources.
const (
	// Internet is an ordinary attacker outside every local network.
	Internet Kind = iota + 1
	// Local is inside one of LocalNetworks, loopback excepted.
	Local
	// Loopback is 127.0.0.1 or ::1.
	Loopback
	// LookAlike is an internet address that text matching (SQL LIKE,
	// prefix strings, sloppy masks) confuses with a local one.
	LookAlike
	// Returner is a bot that comes back a few seconds after each block
	// expires: SourceTruth.Block after the alert that blocked it, plus its
	// reaction time.
	Returner
	// Burst is an internet host that fires many alerts within minutes and
	// never comes back.
	Burst
	// Slow is an internet host whose single probes arrive at random (a
	// Poisson process) over the whole duration: each is blocked, but its
	// returns do not cluster after the block.
	Slow
)

// Kinds returns every kind the generator plants, in order.
func Kinds() []Kind {
	return []Kind{Internet, Local, Loopback, LookAlike, Returner, Burst, Slow}
}

// String returns the kind's lower-case name.
func (k Kind) String() string {
	switch k {
	case Internet:
		return "internet"
	case Local:
		return "local"
	case Loopback:
		return "loopback"
	case LookAlike:
		return "lookalike"
	case Returner:
		return "returner"
	case Burst:
		return "burst"
	case Slow:
		return "slow"
	}
	return "unknown"
}

// MarshalText returns the kind's name.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// IsLocal reports whether an address of this kind lies inside
// LocalNetworks: what a correct local/internet classifier must answer.
func (k Kind) IsLocal() bool { return k == Local || k == Loopback }

// LocalNetworks returns the networks the sample treats as local (Rampart's
// defaults): loopback, RFC 1918, shared address space (RFC 6598), link-local
// and unique-local IPv6. The seed's 10.40.0.0/24 and 192.168.0.0/24 lie
// inside them. The generator never consults this list to decide a Kind; it
// is here so tests can compare the planted kinds with a classifier.
func LocalNetworks() []netip.Prefix {
	return []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("100.64.0.0/10"),
		netip.MustParsePrefix("169.254.0.0/16"),
		netip.MustParsePrefix("fe80::/10"),
		netip.MustParsePrefix("fc00::/7"),
	}
}
