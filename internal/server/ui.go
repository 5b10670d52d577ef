package server

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/serverdb"
	"github.com/rampart-ids/rampart/internal/web"
)

// UIPrefix is where the server serves the web UI.
const UIPrefix = "/ui/"

// MountUI serves the web UI under /ui/ beside the API: the server's admin
// tokens sign in, its decisions and agents fill the pages, and ban and
// unban go through the same rules as the admin API. o carries the alert
// store's parts, when the server has a store (all may be nil); its
// Prefix, Auth, Decisions and Agents are set here. Call it before
// serving.
//
// The UI's routes take only its session cookie and the API's only bearer
// tokens: neither accepts the other's credentials.
func (s *Server) MountUI(o web.Options) error {
	o.Prefix = UIPrefix
	o.Auth = uiAuth{s}
	o.Decisions = uiDecisions{s}
	o.Agents = uiAgents{s}
	if o.Now == nil {
		o.Now = s.now
	}
	if o.Logger == nil {
		o.Logger = s.opts.Logger
	}
	h, err := web.New(o)
	if err != nil {
		return err
	}
	s.mux.Handle(UIPrefix, h)
	s.mux.Handle("GET /ui", http.RedirectHandler(UIPrefix, http.StatusMovedPermanently))
	return nil
}

// uiAuth signs admins in with their API tokens, checked by digest like
// bearer tokens; a session's token is checked again every minute, so a
// revoked token ends its sessions.
type uiAuth struct{ s *Server }

func (a uiAuth) Authenticate(ctx context.Context, secret string) (web.Identity, error) {
	digest := Digest(secret)
	tok, err := a.s.db.TokenByHash(ctx, digest)
	if errors.Is(err, serverdb.ErrNotFound) {
		a.s.metrics.authFailures.WithLabelValues("ui").Inc()
		return web.Identity{}, web.ErrInvalidToken
	}
	if err != nil {
		return web.Identity{}, err
	}
	if tok.Role != api.RoleAdmin {
		a.s.metrics.authFailures.WithLabelValues("role").Inc()
		return web.Identity{}, web.ErrInvalidToken
	}
	if err := a.s.db.TouchToken(ctx, tok.ID, a.s.now()); err != nil {
		a.s.log.Warn("record token use", "token", tok.Name, "error", err)
	}
	return web.Identity{Name: tok.Name, Key: hex.EncodeToString(digest)}, nil
}

func (a uiAuth) Check(ctx context.Context, id web.Identity) error {
	digest, err := hex.DecodeString(id.Key)
	if err != nil {
		return web.ErrInvalidToken
	}
	tok, err := a.s.db.TokenByHash(ctx, digest)
	if errors.Is(err, serverdb.ErrNotFound) {
		return web.ErrInvalidToken
	}
	if err != nil {
		return err
	}
	if tok.Role != api.RoleAdmin || subtle.ConstantTimeCompare([]byte(tok.Name), []byte(id.Name)) != 1 {
		return web.ErrInvalidToken
	}
	return nil
}

type uiAgents struct{ s *Server }

func (a uiAgents) Agents(ctx context.Context) ([]api.Agent, error) {
	as, err := a.s.db.Agents(ctx)
	if err != nil {
		return nil, err
	}
	cur, _ := a.s.watch.current()
	for i := range as {
		as[i].Current = as[i].Applied == cur
	}
	return as, nil
}

type uiDecisions struct{ s *Server }

// DecisionPage reads Offset+Limit decisions and cuts the page: serverdb
// has no offset, and the UI pages through hundreds, not millions (the
// page number is bounded by the UI).
func (d uiDecisions) DecisionPage(ctx context.Context, q web.DecisionQuery) ([]api.Decision, error) {
	f := serverdb.DecisionFilter{Contains: q.Contains, Active: q.Active, Now: d.s.now(), Limit: q.Offset + q.Limit}
	ds, err := d.s.db.Decisions(ctx, f)
	if err != nil {
		return nil, err
	}
	if q.Offset >= len(ds) {
		return nil, nil
	}
	return ds[q.Offset:], nil
}

// Ban adds a manual ban by the rules of POST /v1/admin/decisions.
func (d uiDecisions) Ban(ctx context.Context, author string, req api.DecisionRequest) (api.Decision, error) {
	dec, err := d.s.manualBan(ctx, author, req)
	var he *httpError
	if errors.As(err, &he) && he.status < 500 {
		return api.Decision{}, &web.UserError{Msg: "Ban refused: " + he.msg}
	}
	return dec, err
}

// Unban lifts a decision by the rules of DELETE /v1/admin/decisions/{id}.
func (d uiDecisions) Unban(ctx context.Context, author string, id int64) (api.Decision, error) {
	dec, err := d.s.db.Decision(ctx, id)
	if errors.Is(err, serverdb.ErrNotFound) {
		return api.Decision{}, &web.UserError{Msg: "No such decision."}
	}
	if err != nil {
		return api.Decision{}, err
	}
	err = d.s.liftDecision(ctx, dec, author, "via", "ui")
	if errors.Is(err, serverdb.ErrNotFound) {
		return api.Decision{}, &web.UserError{Msg: "That decision is already lifted."}
	}
	if err != nil {
		return api.Decision{}, err
	}
	return dec, nil
}
