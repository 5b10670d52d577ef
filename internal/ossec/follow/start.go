package follow

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/rampart-ids/rampart/internal/ossec/alertslog"
)

// tailWindow bounds how far back from the end the start of the last alert
// is looked for; a file with no alert boundary that near its end is read
// from its start (where a custom_alert_output file is refused).
const tailWindow = 16 << 20

// start decides where reading begins: the saved position, the end of the
// current file, or its start. It leaves f.started false while there is
// nothing to start from yet.
func (f *FileFollower) start() error {
	cur, err := f.openPath()
	if err != nil {
		return err
	}
	if st := f.opts.Start; st != nil && *st != (Position{}) {
		f.started = true
		err := f.resume(*st, cur)
		if err != nil && cur != nil && !slices.Contains(f.q, cur) {
			cur.f.Close()
		}
		return err
	}
	if cur == nil {
		if !f.waitLogged {
			f.log.Info("waiting for the file to appear")
			f.waitLogged = true
		}
		// Everything in a file created from now on is new.
		f.started = true
		return nil
	}
	f.started = true
	f.q = []*source{cur}
	if f.opts.FromStart {
		return nil
	}
	return f.seekTail(cur)
}

// seekTail places s at its end, or at the start of its last alert if that
// one is not finished yet, so that a half-written alert is not cut.
func (f *FileFollower) seekTail(s *source) error {
	size := s.size
	head := make([]byte, min(size, identityLen))
	n, _ := s.f.ReadAt(head, 0)
	format, ok := sniff(head[:n])
	if !ok {
		return nil // blank: start at 0
	}
	if s.format == Auto {
		s.format = format
	}
	var start int64
	if s.format == JSON {
		i, err := lastIndex(s.f, size, []byte{'\n'})
		if err != nil {
			return fmt.Errorf("follow %s: %w", s.name, err)
		}
		start = i + 1 // 0 when not found
	} else {
		i, err := lastIndex(s.f, size, []byte("\n** Alert "))
		if err != nil {
			return fmt.Errorf("follow %s: %w", s.name, err)
		}
		start = i + 1
		if i < 0 && !bytes.HasPrefix(head, []byte("** Alert ")) {
			f.log.Warn("no alert found near the end of the file; reading it from the start")
		}
		// A finished last alert is history; an unfinished one is not.
		r := alertslog.NewReader(io.NewSectionReader(s.f, start, size-start), s.name,
			alertslog.Options{Live: true, StartOffset: start})
		if r.Next() && r.Offset() == size {
			start = size
		}
	}
	line, err := countLines(s.f, start)
	if err != nil {
		return fmt.Errorf("follow %s: %w", s.name, err)
	}
	s.off, s.line = start, line
	return nil
}

// lastIndex returns the offset of the last sep in the last tailWindow bytes
// of the first size bytes of r, or -1.
func lastIndex(r io.ReaderAt, size int64, sep []byte) (int64, error) {
	const chunk = 64 << 10
	buf := make([]byte, chunk+len(sep)-1)
	end := size
	for end > 0 && size-end < tailWindow {
		start := max(end-chunk, 0)
		n := int(min(end+int64(len(sep))-1, size) - start)
		if _, err := r.ReadAt(buf[:n], start); err != nil && !errors.Is(err, io.EOF) {
			return -1, err
		}
		if i := bytes.LastIndex(buf[:n], sep); i >= 0 {
			return start + int64(i), nil
		}
		end = start
	}
	return -1, nil
}

func countLines(r io.ReaderAt, end int64) (int, error) {
	buf := make([]byte, 256<<10)
	lines := 0
	for off := int64(0); off < end; {
		n, err := r.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
		lines += bytes.Count(buf[:n], []byte{'\n'})
		off += int64(n)
		if err != nil && (!errors.Is(err, io.EOF) || off < end) {
			return 0, err
		}
	}
	return lines, nil
}

// matches reports whether s is the file a saved position was taken in.
// The identity decides when there is one: it survives gzip and moves, and
// tells a reused inode from the original.
func (p Position) matches(s *source) bool {
	if p.Identity != "" {
		return p.Identity == s.identity
	}
	return p.Ino != 0 && p.Dev == s.dev && p.Ino == s.ino
}

// resume queues the reading that continues exactly after p: the rest of
// p's file, every day file after it, then the current file (cur, nil if
// the path does not exist now) from its start.
func (f *FileFollower) resume(p Position, cur *source) error {
	if cur != nil && p.matches(cur) {
		if cur.size >= p.Offset {
			cur.off, cur.line = p.Offset, p.Line
		} else {
			f.log.Warn("file is shorter than the saved position (truncated while stopped); reading it from the start",
				"offset", p.Offset, "size", cur.size)
		}
		f.q = []*source{cur}
		return nil
	}
	files, err := dayFiles(filepath.Dir(f.path))
	if err != nil {
		return err
	}
	found := -1
	for i := len(files) - 1; i >= 0 && found < 0; i-- {
		d := files[i]
		if d.path == f.path || (cur != nil && sameFile(d.path, cur.fi)) {
			continue
		}
		s, err := openDay(d)
		if err != nil {
			return err
		}
		if p.matches(s) {
			found = i
		}
		s.f.Close()
	}
	if found < 0 {
		f.log.Warn("the file of the saved position is gone; reading the current file from its start",
			"position", p.String())
		if cur != nil {
			f.q = []*source{cur}
		}
		return nil
	}
	ext := files[found].ext
	first := true
	for _, d := range files[found:] {
		if d.ext != ext || d.path == f.path || (cur != nil && sameFile(d.path, cur.fi)) {
			continue
		}
		s, err := openDay(d)
		if err != nil {
			f.closeAll()
			return err
		}
		if first {
			s.off, s.line = p.Offset, p.Line
			first = false
		}
		if s.gz {
			if _, err := io.CopyN(io.Discard, s.text, s.off); err != nil {
				f.closeAll()
				s.f.Close()
				return fmt.Errorf("follow %s: skip to offset %d: %w", s.name, s.off, err)
			}
		}
		f.log.Info("catching up with a day file", "file", s.name, "offset", s.off)
		f.q = append(f.q, s)
	}
	if cur != nil {
		f.q = append(f.q, cur)
	}
	return nil
}

func sameFile(path string, fi os.FileInfo) bool {
	di, err := os.Stat(path)
	return err == nil && os.SameFile(di, fi)
}

// openDay opens a day file of the tree as a rotated source: a plain one is
// finished once quiet (it may have been the live file a moment ago), a .gz
// one is complete.
func openDay(d dayFile) (*source, error) {
	s, err := openSource(d.path, Auto)
	if err != nil {
		return nil, err
	}
	s.rotated = true
	if mt := s.fi.ModTime(); mt.Before(s.changed) {
		s.changed = mt
	}
	if d.ext == "json" {
		s.format = JSON
	} else {
		s.format = Log
	}
	text, gz, err := decompressed(s.f, s.size)
	if err != nil {
		s.f.Close()
		return nil, fmt.Errorf("follow %s: %w", d.path, err)
	}
	if gz {
		s.gz, s.text = true, text
		if s.identity, err = identityOf(text); err != nil {
			s.f.Close()
			return nil, fmt.Errorf("follow %s: %w", d.path, err)
		}
		// identityOf consumed the start: reopen the stream.
		if s.text, _, err = decompressed(s.f, s.size); err != nil {
			s.f.Close()
			return nil, fmt.Errorf("follow %s: %w", d.path, err)
		}
	}
	return s, nil
}

// dayFile is one file of a logs/alerts tree.
type dayFile struct {
	path string
	date int    // yyyymmdd
	ext  string // "log" or "json"
	gz   bool
}

var monthNames = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// dayFiles lists root/YYYY/Mon/ossec-alerts-DD.{log,json}[.gz], oldest
// first. alertslog.Tree lists the same for alerts.log only; alerts.json
// rotates the same way beside it. When a day has both a plain and a .gz
// file, monitord is still compressing it and the plain one is whole.
func dayFiles(root string) ([]dayFile, error) {
	var out []dayFile
	years, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("list alert files: %w", err)
	}
	for _, y := range years {
		year, err := strconv.Atoi(y.Name())
		if err != nil || len(y.Name()) != 4 || !y.IsDir() {
			continue
		}
		months, err := os.ReadDir(filepath.Join(root, y.Name()))
		if err != nil {
			return nil, fmt.Errorf("list alert files: %w", err)
		}
		for _, m := range months {
			mon := slices.Index(monthNames[:], m.Name()) + 1
			if mon == 0 || !m.IsDir() {
				continue
			}
			dir := filepath.Join(root, y.Name(), m.Name())
			entries, err := os.ReadDir(dir)
			if err != nil {
				return nil, fmt.Errorf("list alert files: %w", err)
			}
			for _, e := range entries {
				if !e.Type().IsRegular() {
					continue
				}
				if d, ok := parseDayFile(e.Name()); ok {
					d.path = filepath.Join(dir, e.Name())
					d.date += year*10000 + mon*100
					out = append(out, d)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b dayFile) int {
		if a.date != b.date {
			return a.date - b.date
		}
		if c := strings.Compare(a.ext, b.ext); c != 0 {
			return c
		}
		switch {
		case a.gz == b.gz:
			return 0
		case a.gz:
			return 1
		}
		return -1
	})
	return slices.CompactFunc(out, func(a, b dayFile) bool { return a.date == b.date && a.ext == b.ext }), nil
}

// parseDayFile parses "ossec-alerts-DD.log", ".json" and their ".gz".
func parseDayFile(name string) (dayFile, bool) {
	const prefix = "ossec-alerts-"
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok || len(rest) < 3 {
		return dayFile{}, false
	}
	day, err := strconv.Atoi(rest[:2])
	if err != nil || day < 1 || day > 31 || rest[0] == '+' || rest[0] == '-' {
		return dayFile{}, false
	}
	var d dayFile
	d.date = day
	ext := rest[2:]
	ext, d.gz = strings.CutSuffix(ext, ".gz")
	switch ext {
	case ".log":
		d.ext = "log"
	case ".json":
		d.ext = "json"
	default:
		return dayFile{}, false
	}
	return d, true
}
