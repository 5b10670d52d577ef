// Package sensor runs on an OSSEC manager: it follows the alerts (alerts.log,
// alerts.json or the ossec-dbd database, through internal/ossec/follow) and
// pushes every alert that names a source to the central server as a signal,
// in batches, with an idempotency key per alert.
//
// Nothing is lost across a server outage: the sensor stores its read
// position only after the server acknowledged everything before it, so the
// alert files themselves (which OSSEC keeps, rotated and compressed into its
// day tree, where the follower finds them again) are the buffer on disk.
// While the server is down, reading stops (a bounded queue) and resumes
// where the last acknowledged batch ended.
//
// It must not import the server, the store or the enforcers.
package sensor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/atomicfile"
	"github.com/rampart-ids/rampart/internal/ossec"
)

// Options configure a Sensor.
type Options struct {
	// Server is the server's base URL; Token a sensor token.
	Server string
	Token  string
	// Manager names this OSSEC manager in the signals' keys, so that two
	// managers' alert ids never collide.
	Manager string
	// StateFile stores the acknowledged read position.
	StateFile string
	// MinLevel drops alerts below this level before sending (0: all).
	MinLevel int
	// Batch bounds a batch (default 500, at most api.MaxSignalsPerBatch);
	// Linger is how long the sender waits for more alerts after the first
	// of a batch (default 20 ms).
	Batch  int
	Linger time.Duration
	Client *http.Client
	Logger *slog.Logger
}

// item is one alert on its way: its signal (absent for alerts without a
// source, which only move the position) and the position after it.
type item struct {
	sig    *api.Signal
	pos    json.RawMessage
	source bool
}

// Sensor sends signals.
type Sensor struct {
	o   Options
	log *slog.Logger
	q   chan item
}

// New checks the options.
func New(o Options) (*Sensor, error) {
	if o.Server == "" || o.Token == "" {
		return nil, errors.New("sensor: server URL and token are required")
	}
	if o.Manager == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("sensor: manager name: %w", err)
		}
		o.Manager = h
	}
	if o.Batch <= 0 || o.Batch > api.MaxSignalsPerBatch {
		o.Batch = 500
	}
	if o.Linger <= 0 {
		o.Linger = 20 * time.Millisecond
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Server = strings.TrimRight(o.Server, "/")
	return &Sensor{o: o, log: o.Logger.With("component", "sensor"), q: make(chan item, 4*o.Batch)}, nil
}

// LoadPosition reads the stored position into v (false: none stored).
func (s *Sensor) LoadPosition(v any) (bool, error) {
	if s.o.StateFile == "" {
		return false, nil
	}
	data, err := os.ReadFile(s.o.StateFile)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sensor: read position: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("sensor: position file %s: %w", s.o.StateFile, err)
	}
	return true, nil
}

func (s *Sensor) savePosition(pos json.RawMessage) error {
	if s.o.StateFile == "" || pos == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(s.o.StateFile), 0o750); err != nil {
		return err
	}
	return atomicfile.WriteFile(s.o.StateFile, pos, 0o640)
}

// Signal turns an alert into a signal; ok is false for alerts without a
// source address or below MinLevel.
func (s *Sensor) Signal(a *ossec.Alert) (api.Signal, bool) {
	if !a.SrcIP.IsValid() || a.Level < s.o.MinLevel {
		return api.Signal{}, false
	}
	sig := api.Signal{
		Key:    s.o.Manager + ":" + strconv.FormatUint(a.Key(), 36),
		Source: a.SrcIP.Unmap(), Time: a.Time, Rule: a.RuleID, Level: a.Level, Groups: a.Groups,
		Agent: a.Location.Agent,
	}
	if len(a.Log) > 0 {
		sig.Log = a.Log[0]
		if len(sig.Log) > api.MaxLogBytes {
			sig.Log = sig.Log[:api.MaxLogBytes]
		}
	}
	return sig, true
}

// Offer queues an alert and the reader's position after it; it blocks
// while the queue is full (the server is slow or down), which stops the
// reader. Call it from the follower's callback.
func (s *Sensor) Offer(ctx context.Context, a *ossec.Alert, pos any) error {
	raw, err := json.Marshal(pos)
	if err != nil {
		return err
	}
	it := item{pos: raw}
	if sig, ok := s.Signal(a); ok {
		it.sig, it.source = &sig, true
	}
	select {
	case s.q <- it:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Send sends one signal at once (the active-response mode), retrying
// until ctx ends.
func (s *Sensor) Send(ctx context.Context, sig api.Signal) error {
	return s.post(ctx, []api.Signal{sig})
}

// Run sends queued signals until ctx ends: a batch is what arrived within
// Linger of its first alert, at most Batch signals; it is retried with
// backoff until the server accepts it, and only then is the position
// stored.
func (s *Sensor) Run(ctx context.Context) error {
	for {
		var first item
		select {
		case <-ctx.Done():
			return nil
		case first = <-s.q:
		}
		batch := []item{first}
		timer := time.NewTimer(s.o.Linger)
	gather:
		for len(batch) < s.o.Batch {
			select {
			case it := <-s.q:
				batch = append(batch, it)
			case <-timer.C:
				break gather
			case <-ctx.Done():
				break gather
			}
		}
		timer.Stop()
		var sigs []api.Signal
		for _, it := range batch {
			if it.source {
				sigs = append(sigs, *it.sig)
			}
		}
		if len(sigs) > 0 {
			if err := s.post(ctx, sigs); err != nil {
				return nil // ctx ended; the position was not advanced
			}
		}
		if err := s.savePosition(batch[len(batch)-1].pos); err != nil {
			s.log.Error("store position", "error", err)
		}
	}
}

// post sends a batch, retrying with backoff until it is accepted or ctx
// ends. A 4xx other than 408/429 is a bug or a bad alert: it is logged and
// the batch dropped, or the sensor would stop for good on it.
func (s *Sensor) post(ctx context.Context, sigs []api.Signal) error {
	body, err := json.Marshal(api.SignalBatch{Sensor: s.o.Manager, Signals: sigs})
	if err != nil {
		return err
	}
	backoff := 250 * time.Millisecond
	for {
		code, msg, err := s.try(ctx, body)
		switch {
		case err == nil && code == http.StatusOK:
			return nil
		case err == nil && code >= 400 && code < 500 && code != 408 && code != 429 && code != 401:
			s.log.Error("server refused a batch; dropped", "status", code, "error", msg, "signals", len(sigs))
			return nil
		}
		if err == nil {
			err = fmt.Errorf("HTTP %d: %s", code, msg)
		}
		s.log.Warn("send signals: will retry", "error", err, "retry_seconds", backoff.Seconds(), "signals", len(sigs))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

func (s *Sensor) try(ctx context.Context, body []byte) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.o.Server+"/v1/signals", bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+s.o.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.o.Client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(msg)), nil
}

// KeyFor makes an idempotency key for an id of this manager's own (the
// active-response mode keys by OSSEC's alert id and rule).
func (s *Sensor) KeyFor(id string) string { return s.o.Manager + ":" + id }
