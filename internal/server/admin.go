package server

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/serverdb"
)

func activeFilter(now time.Time) serverdb.DecisionFilter {
	return serverdb.DecisionFilter{Active: true, Now: now}
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest("id %q: want a positive number", r.PathValue("id"))
	}
	return id, nil
}

func notFound(err error) error {
	if errors.Is(err, serverdb.ErrNotFound) {
		return &httpError{status: http.StatusNotFound, msg: "not found"}
	}
	return err
}

func (s *Server) listDecisions(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.auth(r, api.RoleAdmin); err != nil {
		return err
	}
	q := r.URL.Query()
	f := serverdb.DecisionFilter{Now: s.now(), Active: q.Get("active") != "false", Origin: q.Get("origin"), Limit: 1000}
	if ip := q.Get("ip"); ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return badRequest("ip %q: not an address", ip)
		}
		f.Contains = a
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return badRequest("limit %q: want a positive number", l)
		}
		f.Limit = n
	}
	ds, err := s.db.Decisions(r.Context(), f)
	if err != nil {
		return err
	}
	writeList(w, ds)
	return nil
}

func (s *Server) showDecision(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.auth(r, api.RoleAdmin); err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := s.db.Decision(r.Context(), id)
	if err != nil {
		return notFound(err)
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// parseValue reads an address or prefix as a decision's value.
func parseValue(v string) (netip.Prefix, error) {
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, err
	}
	if a.Zone() != "" {
		return netip.Prefix{}, errors.New("zoned address")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func overlaps(p netip.Prefix, nets []netip.Prefix) (netip.Prefix, bool) {
	for _, n := range nets {
		if n.Overlaps(p) {
			return n, true
		}
	}
	return netip.Prefix{}, false
}

func (s *Server) addDecision(w http.ResponseWriter, r *http.Request) error {
	tok, err := s.auth(r, api.RoleAdmin)
	if err != nil {
		return err
	}
	var req api.DecisionRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	d, err := s.manualBan(r.Context(), tok.Name, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, d)
	return nil
}

// manualBan validates and stores a manual ban for POST
// /v1/admin/decisions and the UI's ban form alike, so the two cannot
// drift: the same checks, messages, metrics and policy memory.
func (s *Server) manualBan(ctx context.Context, author string, req api.DecisionRequest) (api.Decision, error) {
	p, err := parseValue(req.Value)
	if err != nil {
		return api.Decision{}, badRequest("value %q: not an address or CIDR prefix", req.Value)
	}
	if req.Action != "" && req.Action != "ban" {
		return api.Decision{}, badRequest("action %q: only ban (lift a ban by deleting its decision)", req.Action)
	}
	if req.Reason == "" {
		return api.Decision{}, badRequest("reason: required")
	}
	if n, ok := overlaps(p, s.opts.Never); ok {
		return api.Decision{}, &httpError{status: http.StatusUnprocessableEntity, msg: "value " + p.String() + " overlaps " + n.String() + ", which is never banned (allowlist or local networks)"}
	}
	if n, ok := overlaps(p, s.opts.Management); ok && !req.Force {
		return api.Decision{}, &httpError{status: http.StatusUnprocessableEntity, msg: "value " + p.String() + " overlaps management network " + n.String() + ": add force to ban it anyway"}
	}
	now := s.now()
	var exp time.Time
	switch {
	case req.Permanent && req.Duration != "":
		return api.Decision{}, badRequest("duration and permanent: give one")
	case req.Permanent:
	case req.Duration == "":
		return api.Decision{}, badRequest("duration: required (or permanent)")
	default:
		dur, err := time.ParseDuration(req.Duration)
		if err != nil || dur <= 0 {
			return api.Decision{}, badRequest("duration %q: want a positive Go duration such as 1h", req.Duration)
		}
		exp = now.Add(dur)
	}
	d := api.Decision{Value: p, Action: "ban", Origin: "manual", Reason: req.Reason, Author: author, Expires: exp}
	if req.Force {
		d.Why = map[string]any{"forced": true}
	}
	stored, version, err := s.db.AddDecisions(ctx, []api.Decision{d}, now)
	if err != nil {
		return api.Decision{}, err
	}
	s.listChanged(version)
	s.metrics.decisions.WithLabelValues("manual").Inc()
	if p.IsSingleIP() {
		s.mu.Lock()
		s.engine.NoteBan(p.Addr(), exp)
		s.mu.Unlock()
	}
	s.log.Info("manual ban", "value", p, "expires", exp, "author", author, "reason", req.Reason, "forced", req.Force)
	return stored[0], nil
}

func (s *Server) deleteDecision(w http.ResponseWriter, r *http.Request) error {
	tok, err := s.auth(r, api.RoleAdmin)
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := s.db.Decision(r.Context(), id)
	if err != nil {
		return notFound(err)
	}
	if err := s.liftDecision(r.Context(), d, tok.Name); err != nil {
		return notFound(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// liftDecision ends decision d now for DELETE /v1/admin/decisions/{id} and
// the UI's unban alike: the list version, the policy memory and the log
// line (with logAttrs). serverdb.ErrNotFound: d is already lifted.
func (s *Server) liftDecision(ctx context.Context, d api.Decision, author string, logAttrs ...any) error {
	version, err := s.db.DeleteDecision(ctx, d.ID, s.now())
	if err != nil {
		return err
	}
	s.listChanged(version)
	if d.Value.IsSingleIP() {
		s.mu.Lock()
		s.engine.NoteUnban(d.Value.Addr())
		s.mu.Unlock()
	}
	s.log.Info("decision deleted", append([]any{"decision", d.ID, "value", d.Value, "author", author}, logAttrs...)...)
	return nil
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	admin, err := s.auth(r, api.RoleAdmin)
	if err != nil {
		return err
	}
	var req api.TokenRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	switch req.Role {
	case api.RoleAdmin, api.RoleAgent, api.RoleSensor:
	default:
		return badRequest("role %q: want admin, agent or sensor", req.Role)
	}
	if req.Name == "" || len(req.Name) > 100 || strings.ContainsAny(req.Name, " \t\r\n,") {
		return badRequest("name %q: want 1 to 100 characters without spaces or commas", req.Name)
	}
	secret, digest := NewToken()
	tok, err := s.db.CreateToken(r.Context(), req.Name, req.Role, digest, s.now())
	if err != nil {
		return err
	}
	tok.Secret = secret
	s.log.Info("token created", "token", tok.Name, "role", tok.Role, "by", admin.Name)
	writeJSON(w, http.StatusCreated, tok)
	return nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.auth(r, api.RoleAdmin); err != nil {
		return err
	}
	ts, err := s.db.Tokens(r.Context())
	if err != nil {
		return err
	}
	writeList(w, ts)
	return nil
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	admin, err := s.auth(r, api.RoleAdmin)
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.db.RevokeToken(r.Context(), id, s.now()); err != nil {
		return notFound(err)
	}
	s.tokens.forget()
	s.log.Info("token revoked", "id", id, "by", admin.Name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.auth(r, api.RoleAdmin); err != nil {
		return err
	}
	as, err := s.db.Agents(r.Context())
	if err != nil {
		return err
	}
	cur, _ := s.watch.current()
	for i := range as {
		as[i].Current = as[i].Applied == cur
	}
	writeList(w, as)
	return nil
}

func (s *Server) postAgentReport(w http.ResponseWriter, r *http.Request) error {
	tok, err := s.auth(r, api.RoleAgent)
	if err != nil {
		return err
	}
	var rep api.AgentReport
	if err := decode(r, &rep); err != nil {
		return err
	}
	// The token names the agent: one agent cannot report for another.
	rep.Name = tok.Name
	if err := s.db.ReportAgent(r.Context(), tok.ID, rep, s.now()); err != nil {
		return err
	}
	s.metrics.agentApplied.WithLabelValues(tok.Name).Set(float64(rep.Applied))
	s.metrics.applySeconds.Observe(rep.ApplyMillis / 1000)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// seeAgent records an agent's applied version from its poll, at most when
// it changes.
func (s *Server) seeAgent(ctx context.Context, tok api.Token, applied uint64) {
	if !s.metrics.noteApplied(tok.Name, applied) {
		return
	}
	if err := s.db.SeeAgent(ctx, tok.ID, tok.Name, applied, s.now()); err != nil {
		s.log.Warn("record agent version", "agent", tok.Name, "error", err)
	}
}
