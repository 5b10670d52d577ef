// Package peers runs a site's side of the federation: the peers file (other
// Rampart servers, external lists, the merge rules and what we share), and
// the loop that pulls each peer's signed feed or list, verifies it, keeps
// per-peer state, feeds internal/federation's Merger and turns its verdicts
// into local decisions of origin "federation" through a small Store
// interface.
//
// It must not import the HTTP server or the state database: the server
// wires it to them. Nothing is applied from a peer before its whole answer
// verified and decoded.
package peers

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/rampart-ids/rampart/internal/blocklist"
	"github.com/rampart-ids/rampart/internal/federation"
)

// Actions a ban verdict can take.
const (
	// ActionBan makes a local ban of origin "federation".
	ActionBan = "ban"
	// ActionWatch only records the verdict (status, metrics, log).
	ActionWatch = "watch"
	// ActionFeed feeds the verdict into the local policy: the source
	// is banned by local rules at a lower threshold (policy's
	// suspect_factor) instead of by the federation itself.
	ActionFeed = "feed"
)

// Config is the peers file.
type Config struct {
	// Rules are the merge rules; Never is filled by the server (allowlist,
	// local and management networks), never from the file.
	Rules federation.Rules
	// Action is what a ban verdict does: ActionBan, ActionWatch or
	// ActionFeed.
	Action string
	Feed   FeedConfig
	Peers  []Peer
	Lists  []List
}

// FeedConfig is what this site publishes at /v1/federation/feed.
type FeedConfig struct {
	// Window is how far back alert summaries reach (default 24h).
	Window time.Duration
	// MinAlerts is how many alerts in the window put a source we did not
	// ban into the feed (default 20).
	MinAlerts int
	// DefaultScope is what a token that is not a configured peer sees
	// (default decisions only); 0 shares nothing with it.
	DefaultScope federation.Scope
	// MaxEntries bounds the feed (default 100,000): the newest bans
	// first, then the most active sources.
	MaxEntries int
	// Refresh is how often summaries are recomputed (default 2s); bans
	// reach the feed at once.
	Refresh time.Duration
}

// Peer is another Rampart server.
type Peer struct {
	Name string
	// URL is the peer's API base, e.g. https://rampart.b.example:8443.
	URL string
	// Key is the peer's list-signing key ("rampart server pubkey").
	Key blocklist.PublicKey
	// Token is the bearer token the peer gave us (an agent token named
	// after our site).
	Token string
	// Trust weighs its reports, 0..1; Alone lets it ban by itself.
	Trust float64
	Alone bool
	// MaxBits4/MaxBits6 are the widest prefixes accepted from it
	// (defaults /24 and /48).
	MaxBits4, MaxBits6 int
	// Scope is what we share with it when it pulls our feed with a token
	// named like this peer (0: nothing).
	Scope federation.Scope
	// Wait is the long-poll wait of each pull (default 30s); after an
	// error the pull is retried after 1 s, doubling up to 1 min.
	Wait time.Duration
}

// List is an external block list, a low-trust peer.
type List struct {
	Name string
	// URL or File: where the list comes from (one of them).
	URL, File string
	Format    federation.ListFormat
	Trust     float64
	Alone     bool
	// MaxBits4/MaxBits6 cap prefix widths as for peers; lists such as
	// DROP hold wide netblocks, so raise the cap for them knowingly.
	MaxBits4, MaxBits6 int
	// Expiry is how long the entries of the last good fetch count
	// (default 48h, at least Interval).
	Expiry time.Duration
	// Interval is how often the list is fetched (default 12h, at least
	// the provider's minimum).
	Interval time.Duration
}

// Kind names a source kind in status and metrics.
func (List) Kind() string { return "list" }

// Kind names a source kind in status and metrics.
func (Peer) Kind() string { return "site" }

// Defaults for the file.
const (
	DefaultThreshold   = 1.0
	DefaultMinPeers    = 2
	DefaultSilentAfter = 5 * time.Minute
	DefaultReportTTL   = 24 * time.Hour
	DefaultBan         = 6 * time.Hour
	DefaultWait        = 30 * time.Second
)

// MinInterval is the shortest fetch interval for a list URL: the
// provider's published minimum for hosts that publish one (Spamhaus: at
// most once per hour; FireHOL's iplists: hourly at most), else a minute.
// Files may be checked every second.
func MinInterval(rawURL string) time.Duration {
	if rawURL == "" {
		return time.Second
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return time.Hour
	}
	h := strings.ToLower(u.Hostname())
	for _, d := range []string{"spamhaus.org", "spamhaus.com", "firehol.org"} {
		if h == d || strings.HasSuffix(h, "."+d) {
			return time.Hour
		}
	}
	if h == "raw.githubusercontent.com" && strings.HasPrefix(u.Path, "/firehol/") {
		return time.Hour
	}
	return time.Minute
}

// Default is the configuration without a peers file: no peers, no lists,
// default rules and feed.
func Default() Config {
	return Config{
		Rules: federation.Rules{Threshold: DefaultThreshold, MinPeers: DefaultMinPeers, EvidenceAlerts: 100,
			SilentAfter: DefaultSilentAfter, ReportTTL: DefaultReportTTL, Ban: DefaultBan},
		Action: ActionBan,
		Feed:   FeedConfig{Window: 24 * time.Hour, MinAlerts: 20, DefaultScope: federation.ScopeDecisions, MaxEntries: 100_000, Refresh: 2 * time.Second},
	}
}

// The TOML shapes.
type fileRules struct {
	Threshold      *float64 `toml:"threshold"`
	MinPeers       *int     `toml:"min_peers"`
	Quorum         int      `toml:"quorum"`
	EvidenceAlerts int      `toml:"evidence_alerts"`
	SilentAfter    string   `toml:"silent_after"`
	ReportTTL      string   `toml:"report_ttl"`
	Ban            string   `toml:"ban"`
	Action         string   `toml:"action"`
}

type fileFeed struct {
	Window        string   `toml:"window"`
	MinAlerts     *int     `toml:"min_alerts"`
	DefaultScopes []string `toml:"default_scopes"`
	MaxEntries    int      `toml:"max_entries"`
	Refresh       string   `toml:"refresh"`
}

type filePeer struct {
	Name      string   `toml:"name"`
	URL       string   `toml:"url"`
	PublicKey string   `toml:"public_key"`
	Token     string   `toml:"token"`
	TokenFile string   `toml:"token_file"`
	Trust     *float64 `toml:"trust"`
	Alone     bool     `toml:"alone"`
	MaxBits4  int      `toml:"max_bits4"`
	MaxBits6  int      `toml:"max_bits6"`
	Scopes    []string `toml:"scopes"`
	Poll      string   `toml:"poll"`
	Insecure  bool     `toml:"insecure"`
}

type fileList struct {
	Name     string   `toml:"name"`
	URL      string   `toml:"url"`
	File     string   `toml:"file"`
	Format   string   `toml:"format"`
	Trust    *float64 `toml:"trust"`
	Alone    bool     `toml:"alone"`
	MaxBits4 int      `toml:"max_bits4"`
	MaxBits6 int      `toml:"max_bits6"`
	Expiry   string   `toml:"expiry"`
	Interval string   `toml:"interval"`
	Insecure bool     `toml:"insecure"`
}

type file struct {
	Rules fileRules  `toml:"rules"`
	Feed  fileFeed   `toml:"feed"`
	Peers []filePeer `toml:"peer"`
	Lists []fileList `toml:"list"`
}

// Load reads a peers file.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read peers file: %w", err)
	}
	return Parse(path, data)
}

// Parse reads a peers file's contents. Unknown keys are errors; keys left
// out keep Default's values. A peer without scopes gets feed.default_scopes;
// "scopes = []" shares nothing with it.
func Parse(name string, data []byte) (Config, error) {
	var f file
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&f)
	if err != nil {
		return Config{}, fmt.Errorf("peers file %s: %w", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return Config{}, fmt.Errorf("peers file %s: unknown key(s): %s", name, strings.Join(keys, ", "))
	}
	c := Default()
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	dur := func(key, s string, dst *time.Duration) {
		if s == "" {
			return
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			bad("%s %q: want a positive duration such as 30s, 5m, 6h", key, s)
			return
		}
		*dst = d
	}
	r := f.Rules
	if r.Threshold != nil {
		c.Rules.Threshold = *r.Threshold
	}
	if r.MinPeers != nil {
		c.Rules.MinPeers = *r.MinPeers
		if *r.MinPeers < 1 {
			bad("rules.min_peers %d: want at least 1 (2 or more: one peer cannot ban alone)", *r.MinPeers)
		}
	}
	c.Rules.Quorum = r.Quorum
	if r.EvidenceAlerts != 0 {
		c.Rules.EvidenceAlerts = r.EvidenceAlerts
	}
	if c.Rules.EvidenceAlerts < 1 {
		bad("rules.evidence_alerts %d: want at least 1", c.Rules.EvidenceAlerts)
	}
	dur("rules.silent_after", r.SilentAfter, &c.Rules.SilentAfter)
	dur("rules.report_ttl", r.ReportTTL, &c.Rules.ReportTTL)
	dur("rules.ban", r.Ban, &c.Rules.Ban)
	switch r.Action {
	case "":
	case ActionBan, ActionWatch, ActionFeed:
		c.Action = r.Action
	default:
		bad("rules.action %q: want ban, watch or feed", r.Action)
	}
	if err := c.Rules.Validate(); err != nil {
		errs = append(errs, err)
	}

	fd := f.Feed
	dur("feed.window", fd.Window, &c.Feed.Window)
	dur("feed.refresh", fd.Refresh, &c.Feed.Refresh)
	if fd.MinAlerts != nil {
		if c.Feed.MinAlerts = *fd.MinAlerts; *fd.MinAlerts < 1 {
			bad("feed.min_alerts %d: want at least 1", *fd.MinAlerts)
		}
	}
	if fd.MaxEntries != 0 {
		if c.Feed.MaxEntries = fd.MaxEntries; fd.MaxEntries < 1 {
			bad("feed.max_entries %d: want at least 1", fd.MaxEntries)
		}
	}
	if md.IsDefined("feed", "default_scopes") {
		s, err := scopes(fd.DefaultScopes)
		if err != nil {
			bad("feed.default_scopes: %v", err)
		}
		c.Feed.DefaultScope = s
	}

	names := map[string]bool{}
	checkName := func(kind string, i int, n string) {
		switch {
		case !validName(n):
			bad("%s %d: name %q: want 1 to 64 letters, digits, '.', '_' or '-'", kind, i+1, n)
		case names[n]:
			bad("%s %d: name %q used twice (peer and list names share one space)", kind, i+1, n)
		}
		names[n] = true
	}
	// label names a peer or list in errors: by name, else by position.
	label := func(kind string, i int, n string) string {
		if n == "" {
			return fmt.Sprintf("%s %d", kind, i+1)
		}
		return kind + " " + n
	}
	trust := func(what string, t *float64) float64 {
		if t == nil {
			bad("%s: trust: required (0..1)", what)
			return 0
		}
		if *t < 0 || *t > 1 {
			bad("%s: trust %v: want 0..1", what, *t)
		}
		return *t
	}
	bits := func(what string, b4, b6 int) {
		if b4 < 0 || b4 > 32 || b6 < 0 || b6 > 128 {
			bad("%s: max_bits4 %d / max_bits6 %d: want 0..32 and 0..128 (0: default /24, /48)", what, b4, b6)
		}
	}
	for i, fp := range f.Peers {
		checkName("peer", i, fp.Name)
		what := label("peer", i, fp.Name)
		p := Peer{Name: fp.Name, URL: strings.TrimRight(fp.URL, "/"), Trust: trust(what, fp.Trust), Alone: fp.Alone,
			MaxBits4: fp.MaxBits4, MaxBits6: fp.MaxBits6, Scope: c.Feed.DefaultScope, Wait: DefaultWait}
		bits(what, fp.MaxBits4, fp.MaxBits6)
		if err := checkURL(p.URL, fp.Insecure); err != nil {
			bad("peer %s: url: %v", fp.Name, err)
		}
		if p.Key, err = blocklist.ParsePublicKey(fp.PublicKey); err != nil {
			bad("peer %s: public_key: %v", fp.Name, err)
		}
		switch {
		case fp.Token != "" && fp.TokenFile != "":
			bad("peer %s: give token or token_file, not both", fp.Name)
		case fp.TokenFile != "":
			b, err := os.ReadFile(fp.TokenFile)
			if err != nil {
				bad("peer %s: token_file: %v", fp.Name, err)
			}
			p.Token = strings.TrimSpace(string(b))
		default:
			p.Token = fp.Token
		}
		if p.Token == "" && fp.TokenFile == "" {
			bad("peer %s: token: required (the token %s gave us)", fp.Name, fp.Name)
		}
		if fp.Scopes != nil {
			if p.Scope, err = scopes(fp.Scopes); err != nil {
				bad("peer %s: scopes: %v", fp.Name, err)
			}
		}
		dur("peer "+fp.Name+": poll", fp.Poll, &p.Wait)
		if p.Wait > 5*time.Minute {
			bad("peer %s: poll %s: at most 5m (the server holds a poll that long)", fp.Name, p.Wait)
		}
		// A healthy peer answers at least once per poll: a silent_after
		// shorter than two polls would age out peers that are fine.
		if c.Rules.SilentAfter > 0 && c.Rules.SilentAfter < 2*p.Wait {
			bad("peer %s: poll %s: rules.silent_after %s must be at least two polls", fp.Name, p.Wait, c.Rules.SilentAfter)
		}
		c.Peers = append(c.Peers, p)
	}
	for i, fl := range f.Lists {
		checkName("list", i, fl.Name)
		l := List{Name: fl.Name, URL: fl.URL, File: fl.File, Trust: trust(label("list", i, fl.Name), fl.Trust), Alone: fl.Alone,
			MaxBits4: fl.MaxBits4, MaxBits6: fl.MaxBits6, Expiry: 48 * time.Hour, Interval: 12 * time.Hour}
		bits(label("list", i, fl.Name), fl.MaxBits4, fl.MaxBits6)
		if (l.URL == "") == (l.File == "") {
			bad("list %s: give url or file (one of them)", fl.Name)
		}
		if l.URL != "" {
			if err := checkURL(l.URL, fl.Insecure); err != nil {
				bad("list %s: url: %v", fl.Name, err)
			}
		}
		if l.Format, err = federation.ParseListFormat(fl.Format); err != nil {
			bad("list %s: %v", fl.Name, err)
		}
		if l.File != "" {
			l.Interval = time.Minute
		}
		dur("list "+fl.Name+": interval", fl.Interval, &l.Interval)
		dur("list "+fl.Name+": expiry", fl.Expiry, &l.Expiry)
		if m := MinInterval(l.URL); l.Interval < m {
			bad("list %s: interval %s: this provider asks for at most one fetch per %s", fl.Name, l.Interval, m)
		}
		if fl.Expiry == "" {
			l.Expiry = max(l.Expiry, 2*l.Interval)
		}
		if l.Expiry < l.Interval {
			bad("list %s: expiry %s shorter than its interval %s: the list would lapse between fetches", fl.Name, l.Expiry, l.Interval)
		}
		c.Lists = append(c.Lists, l)
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("peers file %s: %w", name, err)
	}
	return c, nil
}

func scopes(ss []string) (federation.Scope, error) {
	var s federation.Scope
	for _, v := range ss {
		sc, err := federation.ParseScope(v)
		if err != nil {
			return 0, err
		}
		s = max(s, sc)
	}
	return s, nil
}

func validName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	return federation.ValidGroup(n)
}

// checkURL wants http(s) with a host; plain http only to a loopback
// address unless insecure (the bearer token would travel in clear).
func checkURL(raw string, insecure bool) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.RawQuery != "" {
		return fmt.Errorf("%q: want https://host[:port][/path]", raw)
	}
	if u.Scheme == "http" && !insecure {
		a, err := netip.ParseAddr(u.Hostname())
		if err != nil || !a.IsLoopback() {
			return fmt.Errorf("%q: plain http only to a loopback address (set insecure = true to allow it)", raw)
		}
	}
	return nil
}

// Scope returns what a token named name may see of our feed: the scope of
// the peer of that name, else the default.
func (c Config) Scope(name string) federation.Scope {
	if i := slices.IndexFunc(c.Peers, func(p Peer) bool { return p.Name == name }); i >= 0 {
		return c.Peers[i].Scope
	}
	return c.Feed.DefaultScope
}
