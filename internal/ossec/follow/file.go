package follow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/alertsjson"
	"github.com/rampart-ids/rampart/internal/ossec/alertslog"
)

// DefaultPoll is the interval between two looks at a followed file.
const DefaultPoll = 250 * time.Millisecond

// FileOptions configure a FileFollower. The zero value follows a file of
// either format from its current end, every DefaultPoll.
type FileOptions struct {
	// Format of the followed file; Auto tells it from the first byte.
	Format Format
	// Start resumes at a position the caller stored. Nil (or the zero
	// Position) starts at the end of the current file, like tail -f, or
	// at its beginning with FromStart. A file that appears only after Run
	// started is always read from its beginning.
	Start     *Position
	FromStart bool
	// Poll is the interval between two looks at the file (0: DefaultPoll).
	Poll time.Duration
	// Grace is how long a file must have stopped growing before the
	// follower stops waiting for more of it (0: 4×Poll). A day file that
	// is no longer linked at the path is then finished, its unfinished
	// last alert reported as malformed; in the live file, the last alert
	// is delivered even though a Wazuh FIM section could still follow it
	// (alertslog.Options.HoldLast). Grace is also the delivery delay of
	// the last alert of a burst in alerts.log.
	Grace time.Duration
	// Problems receives malformed alerts; nil only counts them (in the
	// readers, unseen here).
	Problems ossec.Problems
	// Logger receives swaps, truncations and catch-up notes (nil:
	// discard).
	Logger *slog.Logger
	// Location is the manager's time zone (see the readers' options).
	Location *time.Location
}

// FileFollower follows one alert file path. Create it with File.
type FileFollower struct {
	path string
	opts FileOptions
	log  *slog.Logger

	started, ran bool
	waitLogged   bool
	// q holds the files still to be read, oldest first. Only q[0] is
	// read; the last one may be the file now linked at the path, the
	// others are day files being drained or caught up.
	q []*source
}

// source is one file being read.
type source struct {
	name     string // for messages: the followed path, or a day file's path
	f        *os.File
	fi       os.FileInfo // from the open file, for os.SameFile
	dev, ino uint64
	identity string
	format   Format
	// gz sources are compressed day files found when resuming: complete,
	// read once to the end from text, which starts at off.
	gz   bool
	text io.Reader

	off  int64
	line int
	// size is the size seen at the last look and changed the time it last
	// changed, or the time the file left the path; seen is the size at
	// the last read.
	size    int64
	changed time.Time
	seen    int64
	// rotated: the file is no longer the one at the path (or is a day
	// file being caught up), so it ends once quiet.
	rotated bool
}

// File returns a follower of path; nothing happens before Run.
func File(path string, opts FileOptions) *FileFollower {
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	if opts.Grace <= 0 {
		opts.Grace = 4 * opts.Poll
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &FileFollower{path: path, opts: opts, log: log.With("component", "follow", "path", path)}
}

// Run follows the file until ctx is done, calling fn for each alert, in
// file order, with the Position just after it; the caller stores the
// position of the last alert it committed and passes it as
// FileOptions.Start to resume. The *ossec.Alert is valid only during the
// call. Run returns nil when ctx is done, the error of fn if fn fails (the
// alert fn failed on is not committed), or a read error, such as a file
// written with custom_alert_output (alertslog.ErrCustomFormat). Run may be
// called once.
func (f *FileFollower) Run(ctx context.Context, fn func(a *ossec.Alert, pos Position) error) error {
	if f.ran {
		return errors.New("follow: Run called twice")
	}
	f.ran = true
	defer f.closeAll()
	for {
		if err := f.poll(ctx, fn); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
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

func (f *FileFollower) closeAll() {
	for _, s := range f.q {
		s.f.Close()
	}
	f.q = nil
}

// poll takes one look: notices a new file at the path, then reads the
// oldest pending file, moving on to the next when it is finished.
func (f *FileFollower) poll(ctx context.Context, fn func(*ossec.Alert, Position) error) error {
	if !f.started {
		if err := f.start(); err != nil || !f.started {
			return err
		}
	}
	if err := f.checkPath(); err != nil {
		return err
	}
	// Files waiting behind the one being read still count their quiet
	// time from their last change, not from when their turn comes.
	now := time.Now()
	for _, s := range f.q {
		if !s.gz {
			if _, err := s.observe(now); err != nil {
				return err
			}
		}
	}
	for len(f.q) > 0 {
		s := f.q[0]
		done, err := f.read(ctx, s, fn)
		if err != nil || !done {
			return err
		}
		f.log.Info("finished file", "file", s.name, "inode", s.ino, "offset", s.off)
		s.f.Close()
		f.q = f.q[1:]
	}
	return nil
}

// openPath opens the file now at the path; nil if there is none.
func (f *FileFollower) openPath() (*source, error) {
	s, err := openSource(f.path, f.opts.Format)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

func openSource(path string, format Format) (*source, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("follow %s: %w", path, err)
	}
	s := &source{name: path, f: fh, fi: fi, format: format, size: fi.Size(), seen: fi.Size(), changed: time.Now()}
	s.dev, s.ino, _ = fileID(fi)
	if s.identity, err = identityOf(io.NewSectionReader(fh, 0, fi.Size())); err != nil {
		fh.Close()
		return nil, fmt.Errorf("follow %s: %w", path, err)
	}
	return s, nil
}

// checkPath notices that the path now names another file (the nightly
// hard-link swap, or any rotation): the file read so far is drained and
// the new one read from its start.
func (f *FileFollower) checkPath() error {
	fi, err := os.Stat(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		// Between analysisd's unlink and link, or not created yet.
		return nil
	}
	if err != nil {
		return fmt.Errorf("follow %s: %w", f.path, err)
	}
	var last *source
	if n := len(f.q); n > 0 && !f.q[n-1].rotated {
		last = f.q[n-1]
		if os.SameFile(last.fi, fi) {
			return nil
		}
	}
	cur, err := f.openPath()
	if err != nil || cur == nil {
		return err
	}
	if last != nil && os.SameFile(last.fi, cur.fi) {
		cur.f.Close() // swapped back between Stat and Open
		return nil
	}
	if last != nil {
		last.rotated, last.changed = true, time.Now()
		f.log.Info("file replaced at path; draining the old one first",
			"old_inode", last.ino, "new_inode", cur.ino, "old_offset", last.off)
	} else {
		f.log.Info("file appeared at path", "inode", cur.ino)
	}
	f.q = append(f.q, cur)
	return nil
}

// read reads what is new in s and reports whether s is finished.
func (f *FileFollower) read(ctx context.Context, s *source, fn func(*ossec.Alert, Position) error) (bool, error) {
	if s.gz {
		return true, f.deliver(ctx, s, s.text, false, false, fn)
	}
	now := time.Now()
	size, err := s.observe(now)
	if err != nil {
		return false, err
	}
	prev := s.seen
	s.seen = size
	id, err := identityOf(io.NewSectionReader(s.f, 0, size))
	if err != nil {
		return false, fmt.Errorf("follow %s: %w", s.name, err)
	}
	switch {
	case size < s.off:
		f.restart(s, "file truncated", prev)
	case s.identity != "" && id != s.identity:
		f.restart(s, "file rewritten (its first line changed)", prev)
	}
	s.identity = id
	if s.format == Auto {
		head := make([]byte, min(size, identityLen))
		n, _ := s.f.ReadAt(head, 0)
		format, ok := sniff(head[:n])
		if !ok && !s.rotated {
			return false, nil // nothing but blank space yet
		}
		s.format = format
	}

	quiet := now.Sub(s.changed) >= f.opts.Grace
	final := s.rotated && quiet
	if size > s.off {
		src := io.NewSectionReader(s.f, s.off, size-s.off)
		if err := f.deliver(ctx, s, src, !final, !quiet, fn); err != nil {
			return false, err
		}
	}
	return final, nil
}

// observe notes the size of s and when it last changed.
func (s *source) observe(now time.Time) (int64, error) {
	fi, err := s.f.Stat()
	if err != nil {
		return 0, fmt.Errorf("follow %s: %w", s.name, err)
	}
	if fi.Size() != s.size {
		s.size, s.changed = fi.Size(), now
	}
	return s.size, nil
}

// restart goes back to the start of a file that was truncated or rewritten
// in place, saying how much of what was there had not been read.
func (f *FileFollower) restart(s *source, why string, prevSize int64) {
	lost := max(prevSize-s.off, 0)
	if lost > 0 {
		f.log.Warn(why+"; unread bytes lost", "file", s.name, "offset", s.off, "lost_bytes", lost)
	} else {
		f.log.Info(why+"; reading it from the start", "file", s.name, "offset", s.off, "lost_bytes", 0)
	}
	s.off, s.line, s.identity = 0, 0, ""
	s.format = f.opts.Format
}

// deliver reads alerts from src, which starts at s.off. Live keeps an
// unfinished last alert for later; hold also keeps a finished last alert
// of alerts.log, to which a Wazuh FIM section may still be appended.
func (f *FileFollower) deliver(ctx context.Context, s *source, src io.Reader, live, hold bool, fn func(*ossec.Alert, Position) error) error {
	r := f.reader(s, src, live, hold)
	for r.Next() {
		pos := Position{Path: f.path, Dev: s.dev, Ino: s.ino, Identity: s.identity, Offset: r.Offset(), Line: r.Line()}
		if err := fn(r.Alert(), pos); err != nil {
			return err
		}
		s.off, s.line = pos.Offset, pos.Line
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	s.off, s.line = r.Offset(), r.Line()
	if err := r.Err(); err != nil {
		return fmt.Errorf("follow %s: %w", f.path, err)
	}
	return nil
}

// stream is what both readers offer.
type stream interface {
	ossec.Stream
	Offset() int64
	Line() int
}

func (f *FileFollower) reader(s *source, src io.Reader, live, hold bool) stream {
	if s.format == JSON {
		return alertsjson.NewReader(src, s.name, alertsjson.Options{
			Problems: f.opts.Problems, Live: live, StartOffset: s.off, StartLine: s.line, Location: f.opts.Location,
		})
	}
	return alertslog.NewReader(src, s.name, alertslog.Options{
		Problems: f.opts.Problems, Live: live, HoldLast: hold, StartOffset: s.off, StartLine: s.line, Location: f.opts.Location,
	})
}
