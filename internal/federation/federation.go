// Package federation merges what other sites report into local decisions:
// each peer (another Rampart server, or an external list such as Spamhaus
// DROP) contributes evidence about sources, weighted by the trust we give
// it, and a source is banned here only when the weighted evidence crosses a
// threshold with the support the rules below require. Provenance is kept:
// every verdict lists which peer said what and when.
//
// The rules, in order:
//  1. Never: a prefix overlapping a never-blocked network (allowlist, local
//     networks) is refused, whatever any peer says.
//  2. Width: a prefix wider than the peer's cap (default /24 for IPv4, /48
//     for IPv6) is refused and reported, so a malicious or broken peer
//     cannot ban half the internet.
//  3. Evidence: a peer's evidence for a prefix is 1 when it banned it
//     itself, else min(1, alerts / EvidenceAlerts); expired reports and
//     reports of peers silent for longer than SilentAfter count nothing.
//  4. Score: S = Σ trust(peer) × evidence(peer) over the peers reporting the
//     prefix. It is banned when S ≥ Threshold and at least MinPeers peers
//     contribute, or when a single peer marked Alone (trusted to decide
//     alone) brings S over the threshold by itself. With Quorum > 0, reports
//     from Quorum distinct peers ban regardless of weights.
//
// Besides the merge, the package holds the two formats peers exchange: the
// feed a site publishes (feed.go: one canonical, signed text encoding, full
// or as a delta) and the external lists read as low-trust peers (lists.go:
// Spamhaus DROP/EDROP, FireHOL netsets, plain lists, with line errors).
// Pulling them, the peers file and the decisions they lead to live in
// internal/federation/peers.
//
// The package is pure: no I/O beyond the readers it is handed, no clock
// (callers pass now), no HTTP, no store.
package federation

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// Peer is one source of reports and how far we trust it.
type Peer struct {
	Name string
	// Trust weighs the peer's evidence, 0..1.
	Trust float64
	// Alone lets the peer's evidence ban without a second peer.
	Alone bool
	// MaxBits4 and MaxBits6 are the widest prefixes accepted from it
	// (defaults 24 and 48): a /16 from a peer capped at /24 is refused.
	MaxBits4, MaxBits6 int
	// SilentAfter overrides the rules' SilentAfter for this peer (an
	// external list fetched hourly is not silent after ten minutes).
	SilentAfter time.Duration
}

func (p Peer) widest(a netip.Addr) int {
	if a.Is4() {
		return cmp.Or(p.MaxBits4, 24)
	}
	return cmp.Or(p.MaxBits6, 48)
}

// Report is what a peer says about one address or prefix.
type Report struct {
	Prefix netip.Prefix
	// Alerts counts the alerts the peer saw; MaxLevel is their highest
	// level; Groups counts them by OSSEC rule group.
	Alerts      int
	MaxLevel    int
	Groups      map[string]int
	First, Last time.Time
	// Banned is set when the peer banned the prefix itself, until
	// Expires (zero: permanent).
	Banned  bool
	Expires time.Time
}

// Rules are the local merge policy.
type Rules struct {
	Threshold float64
	// MinPeers is how many peers must contribute for a weighted ban
	// (default 2); a peer with Alone needs no other.
	MinPeers int
	// Quorum > 0 bans on reports from that many peers regardless of
	// weights.
	Quorum int
	// EvidenceAlerts is the alert count that makes full evidence
	// without a ban (default 100).
	EvidenceAlerts int
	// SilentAfter: a peer not heard from for this long counts nothing.
	SilentAfter time.Duration
	// ReportTTL bounds how long a report without a ban counts after its
	// Last alert (default 7 days).
	ReportTTL time.Duration
	// Ban is the local ban's duration; a verdict is re-evaluated as the
	// reports change, and the caller lifts bans whose verdict ends.
	Ban time.Duration
	// Never holds networks never banned.
	Never []netip.Prefix
}

// Validate checks the rules.
func (r Rules) Validate() error {
	switch {
	case r.Threshold <= 0:
		return errors.New("federation: threshold must be positive")
	case r.MinPeers < 0 || r.Quorum < 0:
		return errors.New("federation: min_peers and quorum must not be negative")
	case r.Ban <= 0:
		return errors.New("federation: ban duration must be positive")
	}
	return nil
}

// Contribution is one peer's part in a verdict.
type Contribution struct {
	Peer     string
	Trust    float64
	Evidence float64
	Report   Report
	Alone    bool
}

// Verdict is the merged view of one prefix.
type Verdict struct {
	Prefix        netip.Prefix
	Score         float64
	Contributions []Contribution
	// Ban is set when the rules ban the prefix; Why says which rule.
	Ban     bool
	Why     string
	Expires time.Time
}

// Refusal is a report a rule refused (never-blocked, too wide).
type Refusal struct {
	Peer   string
	Prefix netip.Prefix
	Reason string
}

// Merger holds every peer's latest reports.
type Merger struct {
	rules Rules
	peers map[string]*peerState
	// names are the peers' names, sorted: verdicts list contributions
	// in this order.
	names []string
}

type peerState struct {
	peer    Peer
	seen    time.Time
	reports map[netip.Prefix]Report
}

// NewMerger returns a merger for the rules.
func NewMerger(r Rules) (*Merger, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if r.MinPeers == 0 {
		r.MinPeers = 2
	}
	if r.EvidenceAlerts <= 0 {
		r.EvidenceAlerts = 100
	}
	if r.ReportTTL <= 0 {
		r.ReportTTL = 7 * 24 * time.Hour
	}
	return &Merger{rules: r, peers: map[string]*peerState{}}, nil
}

// SetPeer adds or updates a peer's settings, keeping its reports.
func (m *Merger) SetPeer(p Peer) error {
	if p.Name == "" || p.Trust < 0 || p.Trust > 1 {
		return fmt.Errorf("federation: peer %q: want a name and a trust in 0..1", p.Name)
	}
	ps, ok := m.peers[p.Name]
	if !ok {
		ps = &peerState{reports: map[netip.Prefix]Report{}}
		m.peers[p.Name] = ps
		m.names = append(m.names, p.Name)
		slices.Sort(m.names)
	}
	ps.peer = p
	return nil
}

// RemovePeer forgets a peer and its reports.
func (m *Merger) RemovePeer(name string) {
	delete(m.peers, name)
	m.names = slices.DeleteFunc(m.names, func(n string) bool { return n == name })
}

// Reports is how many reports a peer's feed holds now (refused ones not
// counted).
func (m *Merger) Reports(peer string) int {
	if ps, ok := m.peers[peer]; ok {
		return len(ps.reports)
	}
	return 0
}

// Prefixes returns the prefixes a peer reports, in no order.
func (m *Merger) Prefixes(peer string) []netip.Prefix {
	ps, ok := m.peers[peer]
	if !ok {
		return nil
	}
	out := make([]netip.Prefix, 0, len(ps.reports))
	for p := range ps.reports {
		out = append(out, p)
	}
	return out
}

// Replace sets a peer's complete set of reports (a full feed), returning
// the reports refused by rules 1 and 2.
func (m *Merger) Replace(peer string, reports []Report, now time.Time) ([]Refusal, error) {
	ps, ok := m.peers[peer]
	if !ok {
		return nil, fmt.Errorf("federation: unknown peer %q", peer)
	}
	clear(ps.reports)
	return m.add(ps, reports, now), nil
}

// Update applies a delta: new or changed reports, and prefixes withdrawn.
func (m *Merger) Update(peer string, reports []Report, withdrawn []netip.Prefix, now time.Time) ([]Refusal, error) {
	ps, ok := m.peers[peer]
	if !ok {
		return nil, fmt.Errorf("federation: unknown peer %q", peer)
	}
	for _, p := range withdrawn {
		delete(ps.reports, p.Masked())
	}
	return m.add(ps, reports, now), nil
}

// Heard marks a peer as alive (an unchanged feed).
func (m *Merger) Heard(peer string, now time.Time) {
	if ps, ok := m.peers[peer]; ok {
		ps.seen = now
	}
}

func (m *Merger) add(ps *peerState, reports []Report, now time.Time) []Refusal {
	ps.seen = now
	var refused []Refusal
	for _, r := range reports {
		p := canon(r.Prefix)
		if !p.IsValid() {
			continue
		}
		if n, bad := m.never(p); bad {
			refused = append(refused, Refusal{Peer: ps.peer.Name, Prefix: p, Reason: "overlaps never-blocked " + n.String()})
			continue
		}
		if w := ps.peer.widest(p.Addr()); p.Bits() < w {
			refused = append(refused, Refusal{Peer: ps.peer.Name, Prefix: p, Reason: fmt.Sprintf("wider than /%d", w)})
			continue
		}
		r.Prefix = p
		ps.reports[p] = r
	}
	return refused
}

// canon is the form reports are kept under: masked, IPv4-mapped
// addresses unmapped.
func canon(p netip.Prefix) netip.Prefix {
	p = p.Masked()
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
	}
	return p
}

func (m *Merger) never(p netip.Prefix) (netip.Prefix, bool) {
	for _, n := range m.rules.Never {
		if n.Overlaps(p) {
			return n, true
		}
	}
	return netip.Prefix{}, false
}

// evidence is rule 3 for one report at now.
func (m *Merger) evidence(r Report, now time.Time) float64 {
	if r.Banned && (r.Expires.IsZero() || r.Expires.After(now)) {
		return 1
	}
	if r.Last.IsZero() || now.Sub(r.Last) > m.rules.ReportTTL {
		return 0
	}
	return min(1, float64(r.Alerts)/float64(m.rules.EvidenceAlerts))
}

// live reports whether a peer's reports count at now.
func (m *Merger) live(ps *peerState, now time.Time) bool {
	silent := cmp.Or(ps.peer.SilentAfter, m.rules.SilentAfter)
	return silent <= 0 || now.Sub(ps.seen) <= silent
}

// contribute adds a peer's report to the verdict of its prefix.
func (m *Merger) contribute(v *Verdict, ps *peerState, r Report, now time.Time) {
	e := m.evidence(r, now)
	if e <= 0 || ps.peer.Trust <= 0 {
		return
	}
	v.Score += ps.peer.Trust * e
	v.Contributions = append(v.Contributions, Contribution{Peer: ps.peer.Name, Trust: ps.peer.Trust, Evidence: e, Report: r, Alone: ps.peer.Alone})
}

// Evaluate merges every live report and returns one verdict per prefix
// with any evidence, sorted by prefix.
func (m *Merger) Evaluate(now time.Time) []Verdict {
	n := 0
	for _, ps := range m.peers {
		n = max(n, len(ps.reports))
	}
	at := make(map[netip.Prefix]int, n)
	vs := make([]Verdict, 0, n)
	for _, name := range m.names {
		ps := m.peers[name]
		if !m.live(ps, now) {
			continue
		}
		for p, r := range ps.reports {
			i, ok := at[p]
			if !ok {
				vs = append(vs, Verdict{Prefix: p})
				i = len(vs) - 1
			}
			m.contribute(&vs[i], ps, r, now)
			switch {
			case !ok && len(vs[i].Contributions) > 0:
				at[p] = i
			case !ok:
				vs = vs[:i] // no evidence: no verdict
			}
		}
	}
	// Sorting the prefixes and placing the verdicts is cheaper than
	// sorting the verdicts themselves.
	order := make([]netip.Prefix, 0, len(vs))
	for p := range at {
		order = append(order, p)
	}
	slices.SortFunc(order, comparePrefix)
	out := make([]Verdict, len(order))
	for i, p := range order {
		out[i] = vs[at[p]]
		m.decide(&out[i], now)
	}
	return out
}

// Verdicts evaluates the given prefixes only (those a delta touched), in
// O(len(prefixes) × peers): one verdict per prefix, sorted, with Ban unset
// and no contributions for a prefix nobody reports any more.
func (m *Merger) Verdicts(prefixes []netip.Prefix, now time.Time) []Verdict {
	seen := make(map[netip.Prefix]bool, len(prefixes))
	out := make([]Verdict, 0, len(prefixes))
	for _, p := range prefixes {
		p = canon(p)
		if !p.IsValid() || seen[p] {
			continue
		}
		seen[p] = true
		v := Verdict{Prefix: p}
		for _, name := range m.names {
			ps := m.peers[name]
			if r, ok := ps.reports[p]; ok && m.live(ps, now) {
				m.contribute(&v, ps, r, now)
			}
		}
		if len(v.Contributions) > 0 {
			m.decide(&v, now)
		}
		out = append(out, v)
	}
	sortVerdicts(out)
	return out
}

func sortVerdicts(vs []Verdict) {
	slices.SortFunc(vs, func(a, b Verdict) int { return comparePrefix(a.Prefix, b.Prefix) })
}

// decide applies rule 4.
func (m *Merger) decide(v *Verdict, now time.Time) {
	n := len(v.Contributions)
	switch {
	case m.rules.Quorum > 0 && n >= m.rules.Quorum:
		v.Ban, v.Why = true, fmt.Sprintf("reported by %d peers (quorum %d)", n, m.rules.Quorum)
	case v.Score >= m.rules.Threshold && n >= m.rules.MinPeers:
		v.Ban, v.Why = true, fmt.Sprintf("score %.2f ≥ %.2f from %d peers", v.Score, m.rules.Threshold, n)
	default:
		for i := range v.Contributions {
			c := &v.Contributions[i]
			if c.Alone && c.Trust*c.Evidence >= m.rules.Threshold {
				v.Ban, v.Why = true, fmt.Sprintf("peer %s, trusted alone, score %.2f ≥ %.2f", c.Peer, c.Trust*c.Evidence, m.rules.Threshold)
				break
			}
		}
	}
	if v.Ban {
		v.Expires = now.Add(m.rules.Ban)
	}
}
