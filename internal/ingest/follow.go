package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"path/filepath"
	"sync"
	"time"

	"github.com/rampart-ids/rampart/internal/alertdb"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/follow"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
)

// FollowOptions tune a live import.
type FollowOptions struct {
	// Poll is how often the source is checked for new alerts (default:
	// the follower's).
	Poll time.Duration
	// CommitEvery is the longest time an alert waits before it is
	// committed (default 1 s).
	CommitEvery time.Duration
	Logger      *slog.Logger
}

// followSink commits what a follower delivers: every BatchSize alerts and at
// least every CommitEvery, each time with the follower's position, so a
// restarted follow goes on exactly after the last committed alert.
type followSink struct {
	im      *Importer
	w       *alertdb.Writer
	mu      sync.Mutex
	pending int
	cp      alertdb.Checkpoint
	res     Result
	start   time.Time
}

func (s *followSink) add(a *ossec.Alert, cp func() (alertdb.Checkpoint, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.w.Add(a); err != nil {
		return err
	}
	c, err := cp()
	if err != nil {
		return err
	}
	s.cp = c
	s.res.Read++
	s.pending++
	if s.pending >= s.im.batch() {
		return s.commitLocked()
	}
	return nil
}

func (s *followSink) commit() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commitLocked()
}

func (s *followSink) commitLocked() error {
	if s.pending == 0 {
		return nil
	}
	if err := s.w.Commit(s.cp); err != nil {
		return err
	}
	s.pending = 0
	st := s.w.Stats()
	s.res.Added, s.res.Duplicates, s.res.Elapsed = st.Added, st.Duplicates, s.im.now().Sub(s.start)
	if s.im.Progress != nil {
		s.im.Progress(s.res.Progress)
	}
	return nil
}

// run drives a follower until ctx ends, committing on a timer too, so a
// quiet source never leaves alerts uncommitted for long.
func (s *followSink) run(ctx context.Context, every time.Duration, follow func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var tickErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := s.commit(); err != nil {
					tickErr = err
					cancel()
					return
				}
			}
		}
	}()
	err := follow(ctx)
	cancel()
	<-done
	if tickErr != nil {
		return tickErr
	}
	if cerr := s.commit(); err == nil {
		err = cerr
	}
	return err
}

func (o FollowOptions) every() time.Duration {
	if o.CommitEvery > 0 {
		return o.CommitEvery
	}
	return time.Second
}

// FollowFile imports path — the current file from its start, then every
// alert appended to it, across OSSEC's nightly hard-link swap and
// truncation — until ctx ends. Stopped and started again, it resumes after
// the last committed alert, catching up on day files rotated meanwhile.
func (im *Importer) FollowFile(ctx context.Context, path string, opts FollowOptions) (Result, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return Result{}, err
	}
	key := "follow:" + abs
	cp, found, err := im.Store.Checkpoint(ctx, key)
	if err != nil {
		return Result{}, err
	}
	fopts := follow.FileOptions{Format: follow.Auto, FromStart: true, Poll: opts.Poll, Problems: im.Problems, Logger: opts.Logger}
	if found && cp.Detail != "" {
		var pos follow.Position
		if err := json.Unmarshal([]byte(cp.Detail), &pos); err != nil {
			return Result{}, fmt.Errorf("follow %s: stored position %q: %w", abs, cp.Detail, err)
		}
		fopts.Start = &pos
	}
	w, err := im.Store.NewWriter(ctx, key)
	if err != nil {
		return Result{}, err
	}
	defer w.Close()
	s := &followSink{im: im, w: w, start: im.now(), res: Result{Progress: Progress{Source: abs}, Resumed: fopts.Start != nil}}
	f := follow.File(abs, fopts)
	err = s.run(ctx, opts.every(), func(ctx context.Context) error {
		return f.Run(ctx, func(a *ossec.Alert, pos follow.Position) error {
			return s.add(a, func() (alertdb.Checkpoint, error) {
				detail, err := json.Marshal(pos)
				return alertdb.Checkpoint{Offset: pos.Offset, Line: pos.Line, Detail: string(detail)}, err
			})
		})
	})
	return s.res, err
}

// FollowDB imports an ossec-dbd database and then its new rows as they
// arrive, until ctx ends; it resumes after the last committed id per server.
func (im *Importer) FollowDB(ctx context.Context, db *ossecdb.DB, key string, opts FollowOptions) (Result, error) {
	cp, found, err := im.Store.Checkpoint(ctx, key)
	if err != nil {
		return Result{}, err
	}
	w, err := im.Store.NewWriter(ctx, key)
	if err != nil {
		return Result{}, err
	}
	defer w.Close()
	dopts := follow.DBOptions{FromStart: true, Poll: opts.Poll, Logger: opts.Logger}
	if found {
		dopts.Start = cp.Positions
	}
	s := &followSink{im: im, w: w, start: im.now(), res: Result{Progress: Progress{Source: key}, Resumed: found}}
	f := follow.DB(db, dopts)
	err = s.run(ctx, opts.every(), func(ctx context.Context) error {
		return f.Run(ctx, func(a *ossec.Alert, pos map[int]int64) error {
			return s.add(a, func() (alertdb.Checkpoint, error) {
				return alertdb.Checkpoint{Positions: maps.Clone(pos)}, nil
			})
		})
	})
	return s.res, err
}
