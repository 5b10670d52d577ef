package server

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/policy"
)

func (s *Server) postSignals(w http.ResponseWriter, r *http.Request) error {
	tok, err := s.auth(r, api.RoleSensor)
	if err != nil {
		return err
	}
	var b api.SignalBatch
	if err := decode(r, &b); err != nil {
		return err
	}
	if len(b.Signals) > api.MaxSignalsPerBatch {
		return badRequest("%d signals in one batch, at most %d", len(b.Signals), api.MaxSignalsPerBatch)
	}
	for i := range b.Signals {
		if err := b.Signals[i].Validate(); err != nil {
			return badRequest("signals[%d]: %v", i, err)
		}
		b.Signals[i].Source = b.Signals[i].Source.Unmap()
	}
	sensor := tok.Name
	now := s.now()
	fresh, err := s.db.AddSignals(r.Context(), sensor, b.Signals, now)
	if err != nil {
		return err
	}
	s.metrics.signals.WithLabelValues(sensor).Add(float64(len(fresh)))
	lag := s.metrics.signalLag.WithLabelValues(sensor)
	for _, sg := range fresh {
		// Alert times are whole seconds: a lag below one is "now".
		lag.Observe(max(0, now.Sub(sg.Time).Seconds()))
	}
	n, err := s.decide(r.Context(), sensor, fresh, now)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.SignalResult{Accepted: len(fresh), Duplicates: len(b.Signals) - len(fresh), Decisions: n})
	return nil
}

// decide feeds new signals to the policy engine, in time order, and stores
// the decisions it makes in one transaction (one list version).
func (s *Server) decide(ctx context.Context, sensor string, sigs []api.Signal, now time.Time) (int, error) {
	sigs = slices.Clone(sigs)
	slices.SortStableFunc(sigs, func(a, b api.Signal) int { return a.Time.Compare(b.Time) })
	var ds []api.Decision
	s.mu.Lock()
	for _, sg := range sigs {
		v, ok := s.engine.Observe(policy.Observation{Source: sg.Source, Time: sg.Time, Rule: sg.Rule, Level: sg.Level, Groups: sg.Groups, Sensor: sensor})
		if !ok {
			continue
		}
		// A ban counts from now, not from the alert's time: a late
		// batch (a sensor catching up) must still block for the full
		// duration.
		exp := now.Add(v.Duration)
		if v.Start.After(now) {
			exp = v.Start.Add(v.Duration)
		}
		ds = append(ds, api.Decision{
			Value: netip.PrefixFrom(v.Source, v.Source.BitLen()), Action: "ban", Origin: "policy", Rule: v.Rule,
			Reason: v.Reason(s.opts.Policy), Author: "policy", Expires: exp, Why: v.Why(),
		})
	}
	s.mu.Unlock()
	if len(ds) == 0 {
		return 0, nil
	}
	stored, version, err := s.db.AddDecisions(ctx, ds, now)
	if err != nil {
		return 0, fmt.Errorf("store policy decisions: %w", err)
	}
	for _, d := range stored {
		s.metrics.decisions.WithLabelValues(d.Origin).Inc()
		s.log.Info("ban", "source", d.Value, "rule", d.Rule, "expires", d.Expires, "reason", d.Reason, "decision", d.ID)
	}
	s.listChanged(version)
	return len(stored), nil
}

// warmEngine loads what the engine needs after a restart: the active bans
// (so it does not decide again while they last) and the signals within
// the longest window.
func (s *Server) warmEngine(ctx context.Context) error {
	now := s.now()
	var maxWin time.Duration
	for _, r := range s.opts.Policy.Rules {
		maxWin = max(maxWin, r.Window)
	}
	active, err := s.db.Decisions(ctx, activeFilter(now))
	if err != nil {
		return fmt.Errorf("server: load active decisions: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	banned := map[netip.Addr]bool{}
	for _, d := range active {
		if d.Value.IsSingleIP() {
			s.engine.NoteBan(d.Value.Addr(), d.Expires)
			banned[d.Value.Addr()] = true
		}
	}
	return s.db.SignalsSince(ctx, now.Add(-maxWin), func(sensor string, sg api.Signal) error {
		// Verdicts here were decided before the restart; the bans
		// loaded above keep them from being made twice. A verdict for
		// a source without an active ban is one an admin deleted (or
		// that ended): forget it as the deletion did, or the engine
		// would ignore the source's new alerts until it ran out.
		_, ok := s.engine.Observe(policy.Observation{Source: sg.Source, Time: sg.Time, Rule: sg.Rule, Level: sg.Level, Groups: sg.Groups, Sensor: sensor})
		if ok && !banned[sg.Source.Unmap()] {
			s.engine.NoteUnban(sg.Source)
		}
		return nil
	})
}
