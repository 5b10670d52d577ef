package follow

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"time"

	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
)

// DefaultDBPoll is the interval between two queries for new rows: ossec-dbd
// inserts as alerts come, and a query per interval is cheap (a primary-key
// range scan per server).
const DefaultDBPoll = 5 * time.Second

// DBOptions configure a DBFollower. The zero value starts after the rows
// that exist when Run starts and polls every DefaultDBPoll.
type DBOptions struct {
	// Start resumes after these ids, per server_id, as the caller stored
	// them from Run. Nil starts after the newest rows (which costs one
	// read of the whole table), or at the first row with FromStart.
	Start     map[int]int64
	FromStart bool
	// Poll is the interval between two queries (0: DefaultDBPoll).
	Poll time.Duration
	// Logger receives query failures, which Run retries (nil: discard).
	Logger *slog.Logger
}

// DBFollower follows the alert table of an ossec-dbd database by id. Create
// it with DB.
type DBFollower struct {
	src  alertSource
	opts DBOptions
	log  *slog.Logger
	ran  bool
}

// alertSource is the part of *ossecdb.DB a DBFollower uses.
type alertSource interface {
	Alerts(ctx context.Context, after map[int]int64) dbRows
}

type dbRows interface {
	ossec.Stream
	Position() (serverID int, id int64)
	Close() error
}

type ossecDB struct{ db *ossecdb.DB }

func (d ossecDB) Alerts(ctx context.Context, after map[int]int64) dbRows {
	return d.db.Alerts(ctx, after)
}

// DB returns a follower of db's alert table; nothing happens before Run.
func DB(db *ossecdb.DB, opts DBOptions) *DBFollower {
	return newDB(ossecDB{db}, opts)
}

func newDB(src alertSource, opts DBOptions) *DBFollower {
	if opts.Poll <= 0 {
		opts.Poll = DefaultDBPoll
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &DBFollower{src: src, opts: opts, log: log.With("component", "follow", "source", "database")}
}

// Run polls for rows with an id above the last one seen of their server
// until ctx is done, calling fn for each alert with the positions after it
// (server_id → last id read). pos is the follower's own map, valid only
// during the call: the caller copies it (maps.Clone) to keep it, and passes
// a stored copy as DBOptions.Start to resume. The *ossec.Alert is valid
// only during the call.
//
// ossec-dbd inserts each server's rows with growing ids, so no row is seen
// twice and none is skipped. A failing query (the database restarting, a
// lost connection) is logged and retried at the next poll. Run returns nil
// when ctx is done, or the error of fn (the alert fn failed on is not
// committed). Run may be called once.
func (f *DBFollower) Run(ctx context.Context, fn func(a *ossec.Alert, pos map[int]int64) error) error {
	if f.ran {
		return errors.New("follow: Run called twice")
	}
	f.ran = true
	pos := maps.Clone(f.opts.Start)
	if pos == nil {
		pos = map[int]int64{}
	}
	skip := f.opts.Start == nil && !f.opts.FromStart
	failing := false
	for {
		err := f.poll(ctx, pos, skip, fn)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, errCallback):
			return errors.Unwrap(err)
		case err != nil:
			if !failing {
				f.log.Warn("reading new alerts failed; retrying every poll", "err", err)
			}
			failing = true
		default:
			if failing {
				f.log.Info("reading new alerts works again")
			}
			failing, skip = false, false
		}
		t := time.NewTimer(f.opts.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// errCallback marks an error of fn, which ends Run, from a query error,
// which is retried.
var errCallback = errors.New("callback failed")

type callbackError struct{ err error }

func (e callbackError) Error() string   { return e.err.Error() }
func (e callbackError) Is(t error) bool { return t == errCallback }
func (e callbackError) Unwrap() error   { return e.err }

// poll reads the rows after pos; skip only advances pos (start at the end).
func (f *DBFollower) poll(ctx context.Context, pos map[int]int64, skip bool, fn func(*ossec.Alert, map[int]int64) error) error {
	rows := f.src.Alerts(ctx, pos)
	defer rows.Close()
	for rows.Next() {
		s, id := rows.Position()
		pos[s] = id
		if skip {
			continue
		}
		if err := fn(rows.Alert(), pos); err != nil {
			return callbackError{err}
		}
	}
	// A malformed last row is skipped but counts as read.
	if s, id := rows.Position(); id > pos[s] {
		pos[s] = id
	}
	return rows.Err()
}
