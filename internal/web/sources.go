package web

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/rampart-ids/rampart/internal/abuse/lookup"
	"github.com/rampart-ids/rampart/internal/alertdb"
	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/analytics/cadence"
	"github.com/rampart-ids/rampart/internal/api"
)

// Alerts is the read side of the alert store (*alertdb.Store): its
// rollups answer every call without reading all alerts.
type Alerts interface {
	Count(ctx context.Context) (int64, error)
	TimeRange(ctx context.Context) (first, last time.Time, ok bool, err error)
	TopSources(ctx context.Context, f analytics.Filter) ([]analytics.SourceCount, error)
	SourceReport(ctx context.Context, addr netip.Addr, f analytics.Filter, limit int) (analytics.SourceReport, error)
	Timeline(ctx context.Context, q analytics.TimelineQuery) (*analytics.TimelineCounter, error)
}

// Hits gives sources' alert times for the cadence analysis
// (*alertdb.Store).
type Hits interface {
	SourceHits(ctx context.Context, f analytics.Filter, fn func(rules []cadence.Rule, src netip.Addr, hits []cadence.Hit) error) error
	SourceHitsOf(ctx context.Context, addr netip.Addr, f analytics.Filter) ([]cadence.Rule, []cadence.Hit, error)
}

// Contacts is the abuse contact cache (*alertdb.Store).
type Contacts interface {
	AbuseContact(ctx context.Context, addr netip.Addr, now time.Time) (alertdb.AbuseContactEntry, bool, error)
}

// Lookup asks the registries for an abuse contact and caches the answer
// (*lookup.Resolver).
type Lookup interface {
	Resolve(ctx context.Context, addr netip.Addr) (lookup.Result, error)
}

// Drafts are the abuse report drafts (*alertdb.Store). The UI reviews,
// edits, approves and discards them; sending stays with "rampart abuse
// send".
type Drafts interface {
	AbuseDrafts(ctx context.Context, f alertdb.AbuseDraftFilter) ([]alertdb.AbuseDraft, error)
	AbuseDraft(ctx context.Context, id int64) (alertdb.AbuseDraft, error)
	SetAbuseDraftState(ctx context.Context, id int64, to string, now time.Time) (alertdb.AbuseDraft, error)
	EditAbuseDraft(ctx context.Context, id int64, text string, now time.Time) (alertdb.AbuseDraft, error)
	AbuseSends(ctx context.Context, draft int64) ([]alertdb.AbuseSend, error)
}

// DecisionQuery selects a page of decisions, newest first.
type DecisionQuery struct {
	// Contains: only decisions whose value contains this address.
	Contains netip.Addr
	// Active: only decisions in force now.
	Active bool
	// Offset skips that many decisions; Limit bounds the answer (> 0).
	Offset, Limit int
}

// Decisions are the central server's decisions. Ban and Unban apply the
// server's rules (never-ban networks, list versions, the policy engine's
// memory) and return a *UserError for a refusal the admin should read.
type Decisions interface {
	DecisionPage(ctx context.Context, q DecisionQuery) ([]api.Decision, error)
	Ban(ctx context.Context, author string, req api.DecisionRequest) (api.Decision, error)
	Unban(ctx context.Context, author string, id int64) (api.Decision, error)
}

// Agents are the agents the central server knows, with Current set when
// an agent has applied the current list version.
type Agents interface {
	Agents(ctx context.Context) ([]api.Agent, error)
}

// Identity is who signed in: Name for people, Key an opaque handle of the
// credential (a token's digest, never its secret) to check it again.
type Identity struct {
	Name string
	Key  string
}

// ErrInvalidToken is what an Authenticator returns for a secret that is not
// an admin token (unknown, revoked, or of another role).
var ErrInvalidToken = errors.New("invalid token")

// Authenticator checks admin tokens: once at sign-in, then again every
// minute while a session is used, so that a revoked token ends its
// sessions.
type Authenticator interface {
	// Authenticate returns who holds secret, or ErrInvalidToken.
	Authenticate(ctx context.Context, secret string) (Identity, error)
	// Check returns ErrInvalidToken once id's credential is no longer
	// valid.
	Check(ctx context.Context, id Identity) error
}

// UserError is a refusal the admin should read as it is ("value overlaps
// the allowlist"); other errors show as "internal error" and are logged.
type UserError struct {
	Msg string
}

func (e *UserError) Error() string { return e.Msg }
