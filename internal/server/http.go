package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
)

// httpError is an error with the status and the short message the client
// sees.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, a ...any) error {
	return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, a...)}
}

// handlerFunc is a handler that returns its error.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle registers fn under pattern with error mapping, a body limit and
// request metrics.
func (s *Server) handle(pattern, name string, fn handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		r.Body = http.MaxBytesReader(w, r.Body, api.MaxBodyBytes)
		rw := &statusWriter{ResponseWriter: w}
		if err := fn(rw, r); err != nil {
			s.writeError(rw, r, err)
		}
		s.metrics.requests.WithLabelValues(name, strconv.Itoa(rw.code())).Inc()
		s.metrics.latency.WithLabelValues(name).Observe(time.Since(start).Seconds())
	})
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
	case errors.As(err, &mbe):
		he = &httpError{status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("body larger than %d bytes", mbe.Limit)}
	case r.Context().Err() != nil:
		return // the client went away
	default:
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		he = &httpError{status: http.StatusInternalServerError, msg: "internal error"}
	}
	writeJSON(w, he.status, api.Error{Error: he.msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v) // a write error means the client left
}

// writeList answers 200 with a JSON array: "[]", never "null", when empty.
func writeList[T any](w http.ResponseWriter, list []T) {
	if list == nil {
		list = []T{}
	}
	writeJSON(w, http.StatusOK, list)
}

// decode reads a strict JSON body.
func decode(r *http.Request, v any) error {
	if err := api.Decode(r.Body, v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return badRequest("invalid JSON body: %v", err)
	}
	return nil
}

// statusWriter remembers the status for metrics and passes Flush and
// deadlines through (http.ResponseController unwraps it).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

func (s *Server) routes() {
	s.mux = http.NewServeMux()
	s.handle("GET /healthz", "healthz", func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "text/plain")
		_, err := w.Write([]byte("ok\n"))
		return err
	})
	s.handle("GET /readyz", "readyz", s.readyz)
	s.mux.Handle("GET /metrics", s.metrics.handler())
	s.handle("GET /v1/pubkey", "pubkey", func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "text/plain")
		_, err := fmt.Fprintln(w, s.opts.Signer.Public().String())
		return err
	})
	s.handle("POST /v1/signals", "signals", s.postSignals)
	s.handle("GET /v1/blocklist", "blocklist", s.getBlocklist)
	s.handle("GET /v1/blocklist/changes", "changes", s.getChanges)
	s.handle("POST /v1/agents/report", "agent_report", s.postAgentReport)
	s.handle("GET /v1/admin/decisions", "decisions_list", s.listDecisions)
	s.handle("POST /v1/admin/decisions", "decisions_add", s.addDecision)
	s.handle("GET /v1/admin/decisions/{id}", "decisions_show", s.showDecision)
	s.handle("DELETE /v1/admin/decisions/{id}", "decisions_delete", s.deleteDecision)
	s.handle("POST /v1/admin/tokens", "tokens_create", s.createToken)
	s.handle("GET /v1/admin/tokens", "tokens_list", s.listTokens)
	s.handle("DELETE /v1/admin/tokens/{id}", "tokens_revoke", s.revokeToken)
	s.handle("GET /v1/admin/agents", "agents_list", s.listAgents)
	s.handle("GET /v1/federation/feed", "federation_feed", s.getFeed)
	s.handle("GET /v1/admin/peers", "peers_status", s.getPeers)
	s.handle("GET /v1/decisions/stream", "crowdsec_stream", s.crowdsec(s.getDecisionsStream))
	s.handle("GET /v1/decisions", "crowdsec_live", s.crowdsec(s.getDecisions))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if err := s.db.Ping(r.Context()); err != nil {
		s.log.Warn("not ready", "error", err)
		return &httpError{status: http.StatusServiceUnavailable, msg: "state database unavailable"}
	}
	w.Header().Set("Content-Type", "text/plain")
	_, err := w.Write([]byte("ready\n"))
	return err
}
