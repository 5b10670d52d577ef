// Package server is Rampart's central server: the HTTP API of docs/api.md
// over the state in internal/serverdb. It authenticates clients by hashed
// token and role, turns sensors' signals into decisions through the policy
// engine, publishes the block list signed and versioned, holds agents'
// long polls until the list changes, and serves CrowdSec bouncers.
//
// It must not import the enforcers, the agent or the CLI. Every handler
// returns an error that becomes a short message for the client; the detail
// goes to the log.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-ids/rampart/internal/blocklist"
	"github.com/rampart-ids/rampart/internal/policy"
	"github.com/rampart-ids/rampart/internal/serverdb"
)

// Options configure a Server.
type Options struct {
	DB     *serverdb.DB
	Signer *blocklist.Signer
	Policy policy.Policy
	// Never holds the networks never banned: allowlist and local
	// networks from the config.
	Never []netip.Prefix
	// Management holds networks a manual ban may only cover with force.
	Management []netip.Prefix
	Logger     *slog.Logger
	// Registry receives the server's metrics (nil: a private one).
	Registry *prometheus.Registry
	// Now is the clock (default time.Now).
	Now func() time.Time
	// PollInterval is how often the server checks the database for list
	// versions made by other replicas (default 250 ms).
	PollInterval time.Duration
	// CompactInterval is how often expired entries leave the list
	// (default 1 min).
	CompactInterval time.Duration
	// TokenCacheTTL bounds how long a token lookup is cached (default 5
	// s): a revoked token stops working within it.
	TokenCacheTTL time.Duration
}

// Server is the HTTP API.
type Server struct {
	opts    Options
	db      *serverdb.DB
	log     *slog.Logger
	now     func() time.Time
	mux     *http.ServeMux
	metrics *metrics
	tokens  *tokenCache
	watch   *versionWatch
	lists   *listCache
	fed     *fedState

	// mu serialises the policy engine, which is not concurrent.
	mu     sync.Mutex
	engine *policy.Engine
}

// New builds a server and loads the policy engine's state from the
// database: the active bans and the signals within the longest window.
func New(ctx context.Context, o Options) (*Server, error) {
	if o.DB == nil || o.Signer == nil {
		return nil, errors.New("server: a database and a signer are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	o.PollInterval = cmpOr(o.PollInterval, 250*time.Millisecond)
	o.CompactInterval = cmpOr(o.CompactInterval, time.Minute)
	o.TokenCacheTTL = cmpOr(o.TokenCacheTTL, 5*time.Second)
	s := &Server{
		opts: o, db: o.DB, log: o.Logger.With("component", "server"), now: o.Now,
		tokens: newTokenCache(o.TokenCacheTTL),
	}
	s.metrics = newMetrics(o.Registry, s)
	engine, err := policy.NewEngine(o.Policy, o.Never, historyOf{s}, rand.Float64)
	if err != nil {
		return nil, fmt.Errorf("server: policy: %w", err)
	}
	s.engine = engine
	v, _, err := o.DB.Version(ctx)
	if err != nil {
		return nil, fmt.Errorf("server: read list version: %w", err)
	}
	s.watch = newVersionWatch(v)
	s.metrics.listVersion.Set(float64(v))
	s.lists = newListCache(o.DB, o.Signer)
	s.fed = newFedState(s)
	if err := s.warmEngine(ctx); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Handler is the API's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Run runs the background work (replica polling, compaction) until ctx
// ends.
func (s *Server) Run(ctx context.Context) error {
	poll := time.NewTicker(s.opts.PollInterval)
	defer poll.Stop()
	compact := time.NewTicker(s.opts.CompactInterval)
	defer compact.Stop()
	// Read the list once now, so that the first agent after a restart
	// does not wait for the whole list to be read and signed.
	cur, _ := s.watch.current()
	if _, _, err := s.lists.encoded(ctx, cur, "txt"); err != nil && ctx.Err() == nil {
		s.log.Warn("preload list", "error", err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
			if v, _, err := s.db.Version(ctx); err == nil {
				s.listChanged(v)
			} else if ctx.Err() == nil {
				s.log.Warn("read list version", "error", err)
			}
		case <-compact.C:
			now := s.now()
			v, err := s.db.Compact(ctx, now)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("compact list", "error", err)
				}
				continue
			}
			s.listChanged(v)
			s.mu.Lock()
			s.engine.Expire(now)
			s.mu.Unlock()
			if _, err := s.db.PruneSignals(ctx, now.Add(-30*24*time.Hour)); err != nil && ctx.Err() == nil {
				s.log.Warn("prune signals", "error", err)
			}
		}
	}
}

// ListenAndServe serves on addr until ctx ends, then shuts down
// gracefully. certFile/keyFile enable TLS; plain HTTP is refused on a
// non-loopback address unless insecure is set.
func (s *Server) ListenAndServe(ctx context.Context, addr, certFile, keyFile string, insecure bool, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if certFile == "" && !insecure {
		if ap, err := netip.ParseAddrPort(ln.Addr().String()); err != nil || !ap.Addr().IsLoopback() {
			ln.Close()
			return fmt.Errorf("listen %s: plain HTTP is only served on loopback: give --tls-cert and --tls-key, or --insecure-listen", addr)
		}
	}
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Long polls set their own deadline (wait + 10 s) through
		// http.ResponseController.
		WriteTimeout:   30 * time.Second,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() {
		if certFile != "" {
			errc <- hs.ServeTLS(ln, certFile, keyFile)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		s.watch.shutdown()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return hs.Shutdown(sctx)
	}
}

// historyOf adapts the decision store to the policy engine's History. The
// engine runs under s.mu within a request's context; a failed read counts
// as no history (a first offence), logged.
type historyOf struct{ s *Server }

func (h historyOf) Bans(src netip.Addr, since time.Time) []policy.PastBan {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ds, err := h.s.db.PolicyBans(ctx, src, since)
	if err != nil {
		h.s.log.Warn("read offence history", "source", src, "error", err)
		return nil
	}
	out := make([]policy.PastBan, len(ds))
	for i, d := range ds {
		out[i] = policy.PastBan{Start: d.Created, Expires: d.Expires}
	}
	return out
}
