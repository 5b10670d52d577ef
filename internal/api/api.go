// Package api holds the JSON shapes of Rampart's HTTP API (docs/api.md), the
// one contract between the server and its clients: sensors, agents, peers and
// the admin commands. Decoding is strict: unknown fields are errors.
//
// Only wire types and their validation live here: no HTTP, no store, and
// nothing the enforcers or the policy engine should take as input (they get
// domain types, converted at the edge).
package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// Roles a token can hold.
const (
	RoleAdmin  = "admin"
	RoleSensor = "sensor"
	RoleAgent  = "agent"
)

// Limits the server enforces and clients respect.
const (
	// MaxSignalsPerBatch bounds one POST /v1/signals.
	MaxSignalsPerBatch = 5000
	// MaxBodyBytes bounds every request body.
	MaxBodyBytes = 8 << 20
	// MaxLogBytes bounds a signal's evidence line.
	MaxLogBytes = 2048
	// MaxWait bounds the long-poll wait of /v1/blocklist/changes.
	MaxWait = 5 * time.Minute
)

// Headers.
const (
	// HeaderVersion carries the list version a response describes.
	HeaderVersion = "X-Rampart-Version"
	// HeaderAgentVersion is the version an agent has applied, sent with
	// every changes request so the server knows each agent's state.
	HeaderAgentVersion = "X-Rampart-Applied"
)

// Signal is one alert a sensor reports.
type Signal struct {
	// Key makes the signal idempotent: a sensor sends the same key for the
	// same alert however often it retries (manager name + OSSEC alert id).
	Key    string     `json:"key"`
	Source netip.Addr `json:"source"`
	Time   time.Time  `json:"time"`
	Rule   int        `json:"rule"`
	Level  int        `json:"level"`
	Groups []string   `json:"groups,omitempty"`
	// Agent is the OSSEC agent (location) that saw it.
	Agent string `json:"agent,omitempty"`
	// Log is one evidence line, at most MaxLogBytes.
	Log string `json:"log,omitempty"`
}

// Validate checks a signal as the server accepts it.
func (s Signal) Validate() error {
	switch {
	case s.Key == "" || len(s.Key) > 200:
		return fmt.Errorf("key: want 1 to 200 bytes")
	case !s.Source.IsValid():
		return fmt.Errorf("signal %s: source: missing", s.Key)
	case s.Time.IsZero():
		return fmt.Errorf("signal %s: time: missing", s.Key)
	case s.Rule <= 0:
		return fmt.Errorf("signal %s: rule: want a positive rule id", s.Key)
	case s.Level < 0 || s.Level > 16:
		return fmt.Errorf("signal %s: level %d: want 0..16", s.Key, s.Level)
	case len(s.Log) > MaxLogBytes:
		return fmt.Errorf("signal %s: log: %d bytes, at most %d", s.Key, len(s.Log), MaxLogBytes)
	}
	return nil
}

// SignalBatch is the body of POST /v1/signals.
type SignalBatch struct {
	// Sensor names the sender (the token also identifies it; this is for
	// people reading decisions).
	Sensor  string   `json:"sensor"`
	Signals []Signal `json:"signals"`
}

// SignalResult answers POST /v1/signals.
type SignalResult struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	// Decisions counts the decisions the batch caused.
	Decisions int `json:"decisions"`
}

// Decision is a ban (or an allow, which lifts bans) as the admin API shows it.
type Decision struct {
	ID     int64        `json:"id"`
	Value  netip.Prefix `json:"value"`
	Action string       `json:"action"` // "ban" or "allow"
	// Origin: "policy", "manual", "federation", "list".
	Origin string `json:"origin"`
	// Rule is the policy rule that decided (origin policy).
	Rule    string    `json:"rule,omitempty"`
	Reason  string    `json:"reason"`
	Author  string    `json:"author,omitempty"`
	Created time.Time `json:"created"`
	// Expires is zero for a permanent decision.
	Expires time.Time `json:"expires,omitzero"`
	// Deleted is set when an admin deleted the decision early.
	Deleted time.Time `json:"deleted,omitzero"`
	// Why holds the evidence: counts, sensors, offence number, steps.
	Why map[string]any `json:"why,omitempty"`
}

// DecisionRequest is the body of POST /v1/admin/decisions.
type DecisionRequest struct {
	Value  string `json:"value"`            // address or CIDR prefix
	Action string `json:"action,omitempty"` // default "ban"
	// Duration is a Go duration ("1h", "90m"); empty with Permanent.
	Duration  string `json:"duration,omitempty"`
	Permanent bool   `json:"permanent,omitempty"`
	Reason    string `json:"reason"`
	// Force overrides the allowlist/local-network refusal (recorded).
	Force bool `json:"force,omitempty"`
}

// TokenRequest is the body of POST /v1/admin/tokens.
type TokenRequest struct {
	Role string `json:"role"`
	Name string `json:"name"`
}

// Token describes a token; Secret is only ever set in the answer to its
// creation.
type Token struct {
	ID       int64     `json:"id"`
	Name     string    `json:"name"`
	Role     string    `json:"role"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"last_used,omitzero"`
	Revoked  time.Time `json:"revoked,omitzero"`
	Secret   string    `json:"token,omitempty"`
}

// AgentReport is the body of POST /v1/agents/report.
type AgentReport struct {
	Name      string    `json:"name"`
	Applied   uint64    `json:"applied"` // list version in place
	AppliedAt time.Time `json:"applied_at,omitzero"`
	Backends  []string  `json:"backends"`
	// Entries is how many entries the enforcers hold.
	Entries int `json:"entries"`
	// Drift counts entries found on the host that differ from the list.
	Drift int `json:"drift"`
	// Error is the last apply error, empty when the last apply worked.
	Error string `json:"error,omitempty"`
	// ApplyMillis is the last apply's duration.
	ApplyMillis float64 `json:"apply_ms"`
}

// Agent is an agent's state as the admin API shows it.
type Agent struct {
	AgentReport
	Seen    time.Time `json:"seen"`
	Current bool      `json:"current"` // has the server's current version
}

// Error is every error response's body.
type Error struct {
	Error string `json:"error"`
}

// Decode reads one JSON value from r into v, refusing unknown fields and
// trailing data.
func Decode(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}
