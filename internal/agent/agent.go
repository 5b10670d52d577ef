// Package agent is the front-end side of the central block list: it
// long-polls the server for changes, verifies every list and delta against
// the pinned key, refuses lists that would block the allowlist or change too
// much at once, applies the result through the enforcers in one atomic step
// each, keeps the last good list on disk and re-applies it at boot before
// the server answers (it never opens the firewall because the server is
// down), and reports what it applied.
//
// It declares the enforcer interface it needs and must not import the
// server, the store or the CLI.
package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/atomicfile"
	"github.com/rampart-ids/rampart/internal/blocklist"
	"github.com/rampart-ids/rampart/internal/enforce"
)

// Enforcer is what the agent needs of a back end (internal/enforce/nft,
// ipset, hostsdeny, nginx).
type Enforcer interface {
	Name() string
	Apply(ctx context.Context, set []enforce.Entry) (enforce.Result, error)
}

// Options configure an Agent.
type Options struct {
	// Server is the server's base URL; Token an agent token.
	Server string
	Token  string
	// Key is the server's pinned list-signing key.
	Key       blocklist.PublicKey
	Enforcers []Enforcer
	// Never holds networks never blocked (allowlist, local networks): a
	// list that covers any is refused.
	Never []netip.Prefix
	// MaxChange is the max-change guard's share (see
	// enforce.CheckChange); 0 disables it.
	MaxChange float64
	// IPv6Bits widens IPv6 entries (default 64; -1 keeps them).
	IPv6Bits int
	// StateDir holds the last good list (default /var/lib/rampart/agent).
	StateDir string
	// Wait is the long-poll wait (default 30 s).
	Wait   time.Duration
	Client *http.Client
	Logger *slog.Logger
	Now    func() time.Time
	// DriftCheck is how often, while the list stays the same, the agent
	// reads back what each back end holds (enforcers with a Status
	// method) and re-applies when it differs from the list: a flushed
	// ruleset or a hand-edited file is put right and reported (default 5
	// min; negative: never).
	DriftCheck time.Duration
	// Ready, when set, is called once the boot re-apply is done (or there
	// was nothing to re-apply): the host is as protected as it was
	// before. rampart agent tells systemd (Type=notify) through it.
	Ready func()
	// Applied, when set, is called after every apply attempt (tests).
	Applied func(version uint64, err error)
	// Registry receives the agent's metrics (nil: a private one); Handler
	// serves them.
	Registry *prometheus.Registry
}

// Agent pulls and applies the list.
type Agent struct {
	o   Options
	log *slog.Logger
	// list is the last good list, verified and applied; held says there
	// is one (a new server's first list is an empty version 0, so the
	// version cannot tell).
	list    blocklist.List
	held    bool
	applied time.Time
	lastErr error
	applyMS float64
	entries int
	// journal counts the deltas stored after the base list.
	journal int
	// set is what the back ends were last given; drift is how many
	// entries a back end last differed by; checked when it was read.
	set     []enforce.Entry
	drift   int
	checked time.Time
	m       *metrics
}

// New checks the options.
func New(o Options) (*Agent, error) {
	if o.Server == "" || o.Token == "" {
		return nil, errors.New("agent: server URL and token are required")
	}
	if o.Key.ID() == "" {
		return nil, errors.New("agent: the server's public key is required (rampart server pubkey)")
	}
	if len(o.Enforcers) == 0 {
		return nil, errors.New("agent: no enforcer")
	}
	if o.StateDir == "" {
		o.StateDir = "/var/lib/rampart/agent"
	}
	if o.Wait <= 0 {
		o.Wait = 30 * time.Second
	}
	if o.IPv6Bits == 0 {
		o.IPv6Bits = 64
	}
	if o.DriftCheck == 0 {
		o.DriftCheck = 5 * time.Minute
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: o.Wait + 15*time.Second}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Server = strings.TrimRight(o.Server, "/")
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	return &Agent{o: o, log: o.Logger.With("component", "agent"), m: newMetrics(o.Registry)}, nil
}

// Boot re-applies the last good list from disk, verified again (the base
// list and every delta applied since, each as the server signed it), so the
// host is protected before the server answers. No file is not an error.
func (a *Agent) Boot(ctx context.Context) error {
	l, n, err := a.loadLastGood()
	if err != nil || l.Version == 0 && l.Entries == nil {
		return err
	}
	if err := a.apply(ctx, l); err != nil {
		return err
	}
	a.journal = n
	a.log.Info("re-applied the last good list", "version", l.Version, "entries", len(l.Entries), "deltas", n)
	return nil
}

func (a *Agent) basePath() string    { return filepath.Join(a.o.StateDir, "last-good.txt") }
func (a *Agent) journalPath() string { return filepath.Join(a.o.StateDir, "last-good.deltas") }

// loadLastGood reads and verifies the base list and the deltas after it.
func (a *Agent) loadLastGood() (blocklist.List, int, error) {
	data, err := os.ReadFile(a.basePath())
	if errors.Is(err, os.ErrNotExist) {
		return blocklist.List{}, 0, nil
	}
	if err != nil {
		return blocklist.List{}, 0, fmt.Errorf("agent: read last good list: %w", err)
	}
	l, err := a.o.Key.VerifyList(data)
	if err != nil {
		return blocklist.List{}, 0, fmt.Errorf("agent: last good list %s: %w", a.basePath(), err)
	}
	journal, err := os.ReadFile(a.journalPath())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return blocklist.List{}, 0, fmt.Errorf("agent: read %s: %w", a.journalPath(), err)
	}
	n := 0
	for len(journal) > 0 {
		// Each record is "<length>\n" and a signed delta of that length.
		head, rest, ok := bytes.Cut(journal, []byte("\n"))
		size, err := strconv.Atoi(string(head))
		if !ok || err != nil || size < 0 || size > len(rest) {
			a.log.Warn("truncated delta journal: using the deltas before the damage", "path", a.journalPath(), "deltas", n)
			break
		}
		d, err := a.o.Key.VerifyDelta(rest[:size])
		if err != nil {
			return blocklist.List{}, 0, fmt.Errorf("agent: %s, delta %d: %w", a.journalPath(), n+1, err)
		}
		if l, err = d.Apply(l); err != nil {
			return blocklist.List{}, 0, fmt.Errorf("agent: %s, delta %d: %w", a.journalPath(), n+1, err)
		}
		journal = rest[size:]
		n++
	}
	return l, n, nil
}

// Run boots, then polls and applies until ctx ends. Server errors are
// retried with backoff while the last good list stays in place.
func (a *Agent) Run(ctx context.Context) error {
	if err := a.Boot(ctx); err != nil {
		a.log.Error("boot", "error", err)
	}
	if a.o.Ready != nil {
		a.o.Ready()
	}
	backoff := time.Second
	for ctx.Err() == nil {
		err := a.Step(ctx)
		if err == nil {
			backoff = time.Second
			continue
		}
		if ctx.Err() != nil {
			break
		}
		a.m.pollErrs.Inc()
		a.log.Warn("poll", "error", err, "retry_seconds", backoff.Seconds())
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
	return nil
}

// Step makes one request: the full list when none is held, else a long
// poll for changes; and applies what it gets. Entries that expire are
// dropped by re-applying when the poll returns (the wait is bounded by the
// next expiry).
func (a *Agent) Step(ctx context.Context) error {
	if !a.held {
		return a.fetchFull(ctx)
	}
	wait := a.o.Wait
	if next, ok := a.nextExpiry(); ok {
		wait = max(0, min(wait, next.Sub(a.o.Now())+time.Second))
	}
	q := url.Values{"since": {strconv.FormatUint(a.list.Version, 10)}, "wait": {wait.Round(time.Second).String()}}
	code, body, err := a.get(ctx, "/v1/blocklist/changes?"+q.Encode())
	if err != nil {
		return err
	}
	switch code {
	case http.StatusNotModified:
		if next, ok := a.nextExpiry(); ok && !a.o.Now().Before(next) {
			return a.apply(ctx, a.list)
		}
		return a.checkDrift(ctx)
	case http.StatusConflict:
		return a.fetchFull(ctx)
	case http.StatusOK:
	default:
		return fmt.Errorf("changes: HTTP %d: %s", code, short(body))
	}
	d, err := a.o.Key.VerifyDelta(body)
	if err != nil {
		a.m.refused.WithLabelValues("signature").Inc()
		a.report(ctx, err)
		return fmt.Errorf("changes: %w", err)
	}
	l, err := d.Apply(a.list)
	if err != nil {
		return a.fetchFull(ctx)
	}
	return a.applyNew(ctx, l, body, true)
}

func (a *Agent) fetchFull(ctx context.Context) error {
	code, body, err := a.get(ctx, "/v1/blocklist?format=txt")
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("blocklist: HTTP %d: %s", code, short(body))
	}
	l, err := a.o.Key.VerifyList(body)
	if err != nil {
		a.m.refused.WithLabelValues("signature").Inc()
		a.report(ctx, err)
		return fmt.Errorf("blocklist: %w", err)
	}
	if l.Version < a.list.Version {
		return fmt.Errorf("blocklist: the server went back from version %d to %d", a.list.Version, l.Version)
	}
	return a.applyNew(ctx, l, body, false)
}

func countChanges(old, new blocklist.List) (added, removed int) {
	d := blocklist.Diff(old, new)
	return len(d.Added), len(d.Removed)
}

// applyNew guards, applies and stores a new verified list.
// signed is what the server sent: the full list, or the delta (isDelta)
// that led to l; it is what saveLastGood keeps.
func (a *Agent) applyNew(ctx context.Context, l blocklist.List, signed []byte, isDelta bool) error {
	if err := a.guard(l); err != nil {
		reason := "never_block"
		var tooMany *enforce.ErrTooManyChanges
		if errors.As(err, &tooMany) {
			reason = "max_change"
		}
		a.m.refused.WithLabelValues(reason).Inc()
		a.log.Error("list refused", "version", l.Version, "error", err)
		a.report(ctx, err)
		if a.o.Applied != nil {
			a.o.Applied(l.Version, err)
		}
		// Keep the version we hold; Run backs off before asking again,
		// and a later list may be acceptable.
		return fmt.Errorf("version %d refused: %w", l.Version, err)
	}
	if err := a.apply(ctx, l); err != nil {
		return err
	}
	if err := a.saveLastGood(signed, isDelta); err != nil {
		a.log.Warn("save last good list", "error", err)
	}
	a.report(ctx, nil)
	return nil
}

// guard refuses lists that block never-blocked networks, or change more
// than the max-change share at once unless the server marked them intended.
func (a *Agent) guard(l blocklist.List) error {
	for _, e := range l.Entries {
		for _, n := range a.o.Never {
			if n.Overlaps(e.Prefix) {
				return fmt.Errorf("version %d blocks %s, which overlaps never-blocked %s", l.Version, e.Prefix, n)
			}
		}
	}
	if l.Intended || a.list.Version == 0 {
		return nil
	}
	added, removed := countChanges(a.list, l)
	return enforce.CheckChange(added, removed, len(a.list.Entries), a.o.MaxChange)
}

// apply normalises the list's active entries and applies them through
// every enforcer; on success the list becomes the last good one.
func (a *Agent) apply(ctx context.Context, l blocklist.List) error {
	now := a.o.Now()
	set := make([]enforce.Entry, 0, len(l.Entries))
	for _, e := range l.Active(now) {
		set = append(set, enforce.Entry{Prefix: e.Prefix, Expires: e.Expires})
	}
	bits := a.o.IPv6Bits
	if bits < 0 {
		bits = 0
	}
	set = enforce.Normalize(set, enforce.NormalizeOptions{Now: now, IPv6Bits: bits, Never: a.o.Never})
	start := time.Now()
	var errs []error
	for _, e := range a.o.Enforcers {
		if _, err := e.Apply(ctx, set); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", e.Name(), err))
		}
	}
	a.applyMS = float64(time.Since(start).Microseconds()) / 1000
	a.m.apply.Observe(a.applyMS / 1000)
	err := errors.Join(errs...)
	a.lastErr = err
	if a.o.Applied != nil {
		a.o.Applied(l.Version, err)
	}
	if err != nil {
		a.m.applyErrs.Inc()
		// Each enforcer keeps its previous state on failure.
		return fmt.Errorf("apply version %d: %w", l.Version, err)
	}
	a.list, a.held, a.applied, a.entries, a.set = l, true, now, len(set), set
	a.m.version.Set(float64(l.Version))
	a.m.entries.Set(float64(len(set)))
	a.m.applied.Set(float64(now.Unix()))
	a.m.ready.Store(true)
	a.log.Info("applied", "version", l.Version, "entries", len(set), "apply_ms", a.applyMS)
	return nil
}

// maxJournal bounds the deltas kept after the base list: beyond it the
// next step fetches the full list, which becomes the new base.
const maxJournal = 200

// saveLastGood keeps what the server signed: a full list replaces the base
// and empties the journal; a delta is appended to the journal (fsynced), so
// Boot can verify every byte again.
func (a *Agent) saveLastGood(signed []byte, isDelta bool) error {
	if err := os.MkdirAll(a.o.StateDir, 0o750); err != nil {
		return err
	}
	if !isDelta {
		if err := atomicfile.WriteFile(a.basePath(), signed, 0o640); err != nil {
			return err
		}
		a.journal = 0
		if err := os.Remove(a.journalPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	f, err := os.OpenFile(a.journalPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(f, "%d\n%s", len(signed), signed)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	a.journal++
	if a.journal >= maxJournal {
		// Ask for the full list next time: it resets the journal.
		a.list.Entries, a.list.Version, a.held = nil, 0, false
	}
	return nil
}

func (a *Agent) nextExpiry() (time.Time, bool) {
	var next time.Time
	now := a.o.Now()
	for _, e := range a.list.Entries {
		if !e.Expires.IsZero() && e.Expires.After(now) && (next.IsZero() || e.Expires.Before(next)) {
			next = e.Expires
		}
	}
	return next, !next.IsZero()
}

func (a *Agent) get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.o.Server+path, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.o.Token)
	req.Header.Set(api.HeaderAgentVersion, strconv.FormatUint(a.list.Version, 10))
	resp, err := a.o.Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	return resp.StatusCode, body, err
}

// report tells the server what is in place; failures are logged only.
func (a *Agent) report(ctx context.Context, problem error) {
	r := api.AgentReport{Applied: a.list.Version, AppliedAt: a.applied, Entries: a.entries, ApplyMillis: a.applyMS, Drift: a.drift}
	for _, e := range a.o.Enforcers {
		r.Backends = append(r.Backends, e.Name())
	}
	if problem == nil {
		problem = a.lastErr
	}
	if problem != nil {
		r.Error = problem.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.o.Server+"/v1/agents/report", strings.NewReader(mustJSON(r)))
	if err != nil {
		return
	}
	req.Header.Set("Authorization", "Bearer "+a.o.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.o.Client.Do(req)
	if err != nil {
		a.log.Warn("report", "error", err)
		return
	}
	resp.Body.Close()
}

func short(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// statuser is a back end that can say what it holds (all of Rampart's).
type statuser interface {
	Status(ctx context.Context) ([]enforce.Entry, error)
}

// checkDrift reads back what each back end holds, at most every
// DriftCheck, and re-applies the list where it differs (someone flushed the
// ruleset, edited a file): the drift is logged, counted and reported.
func (a *Agent) checkDrift(ctx context.Context) error {
	now := a.o.Now()
	if a.o.DriftCheck < 0 || !a.held || now.Sub(a.checked) < a.o.DriftCheck {
		return nil
	}
	a.checked = now
	want := make(map[netip.Prefix]bool, len(a.set))
	for _, e := range a.set {
		want[e.Prefix] = true
	}
	drift := 0
	for _, e := range a.o.Enforcers {
		st, ok := e.(statuser)
		if !ok {
			continue
		}
		have, err := st.Status(ctx)
		if err != nil {
			a.log.Warn("read back", "backend", e.Name(), "error", err)
			continue
		}
		n := 0
		seen := make(map[netip.Prefix]bool, len(have))
		for _, h := range have {
			seen[h.Prefix] = true
			if !want[h.Prefix] {
				n++
			}
		}
		for p := range want {
			if !seen[p] {
				n++
			}
		}
		if n > 0 {
			a.log.Warn("drift: the back end differs from the list; re-applying", "backend", e.Name(), "entries", n, "version", a.list.Version)
		}
		drift = max(drift, n)
	}
	a.m.drift.Set(float64(drift))
	was := a.drift
	a.drift = drift
	if drift > 0 {
		if err := a.apply(ctx, a.list); err != nil {
			return err
		}
	}
	if drift > 0 || was > 0 {
		a.report(ctx, nil)
	}
	return nil
}
