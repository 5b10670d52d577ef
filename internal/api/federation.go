package api

import "time"

// Federation paths and limits.
const (
	// MaxFeedBytes bounds a peer's feed or delta as a client reads it.
	MaxFeedBytes = 64 << 20
)

// PeerStatus is one federation source (another site, or an external
// list) as GET /v1/admin/peers shows it.
type PeerStatus struct {
	Name string `json:"name"`
	// Kind is "site" or "list".
	Kind string `json:"kind"`
	// Source is the peer's URL, or the list's URL or file.
	Source string  `json:"source"`
	Trust  float64 `json:"trust"`
	Alone  bool    `json:"alone,omitempty"`
	// Version is the feed version we hold (sites).
	Version uint64 `json:"version,omitempty"`
	// Generated is when the peer made the version we hold (sites), or
	// when we last loaded the list.
	Generated time.Time `json:"generated,omitzero"`
	// LastPull is the last attempt; LastOK the last time we knew we held
	// the peer's current data (a feed, a delta, or an unchanged answer).
	LastPull time.Time `json:"last_pull,omitzero"`
	LastOK   time.Time `json:"last_ok,omitzero"`
	// LagSeconds is how overdue the peer's next answer is: the time
	// since LastOK beyond its long-poll wait (sites) or fetch interval
	// (lists); 0 for a healthy peer, -1 when never heard.
	LagSeconds float64 `json:"lag_seconds"`
	// Entries is how many reports of the peer the merger holds.
	Entries int `json:"entries"`
	// Refused counts reports the rules refused (never-blocked networks,
	// too wide), since start.
	Refused int64 `json:"refused"`
	// Pulls and Errors count attempts and failures since start.
	Pulls  int64 `json:"pulls"`
	Errors int64 `json:"errors"`
	// LastError is the last failure (a bad signature, a refused token,
	// an unreachable peer), with its time.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// Silent is set when the peer's contribution aged out.
	Silent bool `json:"silent"`
	// BadLines counts the unreadable lines of a list's last fetch;
	// Problems quotes the first of them (file or URL, line, text).
	BadLines int      `json:"bad_lines,omitempty"`
	Problems []string `json:"problems,omitempty"`
}

// FederationStatus answers GET /v1/admin/peers.
type FederationStatus struct {
	// Enabled is false when the server runs without a peers file.
	Enabled bool `json:"enabled"`
	// Action is "ban" or "watch".
	Action string       `json:"action,omitempty"`
	Peers  []PeerStatus `json:"peers"`
	// Bans counts the federation decisions in force; Watched the ban
	// verdicts a watch-only policy did not act on.
	Bans    int `json:"bans"`
	Watched int `json:"watched"`
	// FeedVersion is this site's own feed version.
	FeedVersion uint64 `json:"feed_version"`
}
