package ingest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/rampart-ids/rampart/internal/alertdb"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
)

// Progress is what an import reports as it goes.
type Progress struct {
	Source string
	// Done and Total are bytes of the file on disk; Total is 0 for a
	// database, whose size is not known up front.
	Done, Total int64
	// Read counts alerts read in this run; Added and Duplicates what the
	// store made of them; Malformed the alerts that could not be read.
	Read, Added, Duplicates, Malformed int64
	Elapsed                            time.Duration
}

// Result is the outcome of importing one source.
type Result struct {
	Progress
	// Resumed reports that the import went on from an earlier checkpoint.
	Resumed bool
	// Pending is how many bytes at the end of a file were left for the next
	// import because the last alert was still being written.
	Pending int64
}

// Importer copies alerts into the store, committing every BatchSize alerts
// together with the source's checkpoint, so an interrupted import resumes
// where its last commit ended and never counts an alert twice.
type Importer struct {
	Store    *alertdb.Store
	Problems ossec.Problems
	// Progress, if set, is called after each commit and about every 100 ms.
	Progress func(Progress)
	// BatchSize is the number of alerts per commit (default 50,000).
	BatchSize int
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

func (im *Importer) batch() int {
	if im.BatchSize > 0 {
		return im.BatchSize
	}
	return 50_000
}

func (im *Importer) now() time.Time {
	if im.Now != nil {
		return im.Now()
	}
	return time.Now()
}

// ImportFile imports one alert file (either format, plain or gzip).
func (im *Importer) ImportFile(ctx context.Context, path string) (Result, error) {
	start := im.now()
	probe, err := OpenFile(path, ReadOptions{})
	if err != nil {
		return Result{}, err
	}
	key, compressed, size := probe.Identity, probe.Compressed, probe.Size
	probe.Close()

	cp, found, err := im.Store.Checkpoint(ctx, key)
	if err != nil {
		return Result{}, err
	}
	// A plain file may be OSSEC's live alerts.log: its last alert may be
	// half-written, and is left for the next import rather than reported.
	// A compressed archive is complete, so a cut alert there is an error.
	opts := ReadOptions{Problems: im.Problems, Live: !compressed}
	// A file shorter than its checkpoint was truncated and rewritten with
	// the same first line: read it all again; the store recognises the
	// alerts it already holds. (A seek past the end of a plain file does
	// not fail, so compare sizes; a short .gz fails to skip.)
	if found && (compressed || cp.Offset <= size) {
		opts.Offset, opts.Line = cp.Offset, cp.Line
	}
	f, err := OpenFile(path, opts)
	if err != nil && opts.Offset > 0 {
		opts.Offset, opts.Line = 0, 0
		f, err = OpenFile(path, opts)
	}
	if err != nil {
		return Result{}, err
	}
	defer f.Close()

	res := Result{Progress: Progress{Source: path, Total: f.Size}, Resumed: found && opts.Offset > 0}
	w, err := im.Store.NewWriter(ctx, key)
	if err != nil {
		return res, err
	}
	defer w.Close()

	r := f.Reader
	pending := 0
	lastReport := start
	update := func() {
		s := w.Stats()
		c := f.Counts()
		res.Done, res.Read, res.Malformed = f.BytesRead(), c.Alerts, c.Malformed
		res.Added, res.Duplicates = s.Added, s.Duplicates
		res.Elapsed = im.now().Sub(start)
	}
	commit := func() error {
		if err := w.Commit(alertdb.Checkpoint{Offset: r.Offset(), Line: r.Line()}); err != nil {
			return fmt.Errorf("import %s: %w", path, err)
		}
		pending = 0
		update()
		if im.Progress != nil {
			im.Progress(res.Progress)
		}
		return nil
	}
	for r.Next() {
		if err := w.Add(r.Alert()); err != nil {
			return res, fmt.Errorf("import %s: %w", path, err)
		}
		pending++
		if pending >= im.batch() {
			if err := commit(); err != nil {
				return res, err
			}
		}
		if pending&0x3ff == 0 {
			if ctx.Err() != nil {
				// Keep what was read: the offset is at an alert boundary.
				if err := commit(); err != nil {
					return res, err
				}
				return res, ctx.Err()
			}
			if im.Progress != nil && im.now().Sub(lastReport) > 100*time.Millisecond {
				lastReport = im.now()
				update()
				im.Progress(res.Progress)
			}
		}
	}
	if err := r.Err(); err != nil {
		return res, err
	}
	if err := commit(); err != nil {
		return res, err
	}
	if !compressed {
		res.Pending = max(0, f.Size-r.Offset())
	}
	return res, nil
}

// ImportDB imports an ossec-dbd database, resuming after the last alert id
// imported for each server.
func (im *Importer) ImportDB(ctx context.Context, db *ossecdb.DB, key string) (Result, error) {
	start := im.now()
	cp, found, err := im.Store.Checkpoint(ctx, key)
	if err != nil {
		return Result{}, err
	}
	positions := map[int]int64{}
	if found {
		maps.Copy(positions, cp.Positions)
	}
	res := Result{Progress: Progress{Source: key}, Resumed: found && len(positions) > 0}
	w, err := im.Store.NewWriter(ctx, key)
	if err != nil {
		return res, err
	}
	defer w.Close()
	rows := db.Alerts(ctx, positions)
	pending := 0
	commit := func() error {
		if err := w.Commit(alertdb.Checkpoint{Positions: maps.Clone(positions)}); err != nil {
			return fmt.Errorf("import %s: %w", key, err)
		}
		pending = 0
		s := w.Stats()
		res.Added, res.Duplicates, res.Elapsed = s.Added, s.Duplicates, im.now().Sub(start)
		if im.Progress != nil {
			im.Progress(res.Progress)
		}
		return nil
	}
	for rows.Next() {
		if err := w.Add(rows.Alert()); err != nil {
			return res, fmt.Errorf("import %s: %w", key, err)
		}
		server, id := rows.Position()
		positions[server] = id
		res.Read++
		if pending++; pending >= im.batch() {
			if err := commit(); err != nil {
				return res, err
			}
		}
	}
	err = rows.Err()
	res.Malformed = rows.Malformed()
	if cerr := commit(); cerr != nil {
		return res, cerr
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return res, fmt.Errorf("import %s: %w", key, err)
	}
	return res, err
}
