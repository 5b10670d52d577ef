package alertslog

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// Open opens an alerts file for reading. A gzip file (recognised by its magic
// bytes, whatever its name) is decompressed on the fly; offsets are then
// offsets in the decompressed text. A non-zero opts.StartOffset is sought to
// (skipped over for gzip); opts.StartLine must match it. The returned Closer
// closes the file.
func Open(path string, opts Options) (*Reader, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open alerts file: %w", err)
	}
	var magic [2]byte
	n, err := io.ReadFull(f, magic[:])
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		f.Close()
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	if n == 2 && magic == [2]byte{0x1f, 0x8b} {
		zr, err := gzip.NewReader(f)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("read %s: gzip: %w", path, err)
		}
		if opts.StartOffset > 0 {
			if _, err := io.CopyN(io.Discard, zr, opts.StartOffset); err != nil {
				f.Close()
				return nil, nil, fmt.Errorf("read %s: skip to offset %d: %w", path, opts.StartOffset, err)
			}
		}
		return NewReader(zr, path, opts), f, nil
	}
	if opts.StartOffset > 0 {
		if _, err := f.Seek(opts.StartOffset, io.SeekStart); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("read %s: seek to offset %d: %w", path, opts.StartOffset, err)
		}
	}
	return NewReader(f, path, opts), f, nil
}

// Tree lists the alert files under an OSSEC logs/alerts directory, oldest
// first: <root>/YYYY/Mon/ossec-alerts-DD.log and .log.gz, then
// <root>/alerts.log unless it is a hard link of a listed file (it normally
// is: analysisd links it to the current day file). Checksum (.sum), JSON and
// other files are ignored. When a day has both a .log and a .log.gz,
// monitord is still compressing it: the plain file is listed, being whole.
func Tree(root string) ([]string, error) {
	years, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("list alert files: %w", err)
	}
	type day struct {
		date int // yyyymmdd
		gz   bool
		path string
	}
	var days []day
	for _, y := range years {
		year, ok := atoi([]byte(y.Name()), 4)
		if !ok || len(y.Name()) != 4 || !isDir(root, y) {
			continue
		}
		months, err := os.ReadDir(filepath.Join(root, y.Name()))
		if err != nil {
			return nil, fmt.Errorf("list alert files: %w", err)
		}
		for _, m := range months {
			mon := slices.Index(monthNames[:], m.Name()) + 1
			dir := filepath.Join(root, y.Name(), m.Name())
			if mon == 0 || !isDir(filepath.Join(root, y.Name()), m) {
				continue
			}
			files, err := os.ReadDir(dir)
			if err != nil {
				return nil, fmt.Errorf("list alert files: %w", err)
			}
			for _, f := range files {
				d, gz, ok := dayFile(f.Name())
				if !ok || f.IsDir() {
					continue
				}
				days = append(days, day{int(year)*10000 + mon*100 + d, gz, filepath.Join(dir, f.Name())})
			}
		}
	}
	slices.SortFunc(days, func(a, b day) int {
		if a.date != b.date {
			return a.date - b.date
		}
		if a.gz == b.gz {
			return 0
		}
		if a.gz {
			return 1
		}
		return -1
	})
	days = slices.CompactFunc(days, func(a, b day) bool { return a.date == b.date })

	var paths []string
	for _, d := range days {
		paths = append(paths, d.path)
	}
	live := filepath.Join(root, "alerts.log")
	fi, err := os.Stat(live)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return paths, nil
	case err != nil:
		return nil, fmt.Errorf("list alert files: %w", err)
	case !fi.Mode().IsRegular():
		return paths, nil
	}
	// Newest first: the link normally points at the last day.
	for i := len(days) - 1; i >= 0; i-- {
		if days[i].gz {
			continue
		}
		if di, err := os.Stat(days[i].path); err == nil && os.SameFile(fi, di) {
			return paths, nil
		}
	}
	return append(paths, live), nil
}

func isDir(parent string, e os.DirEntry) bool {
	if e.IsDir() {
		return true
	}
	if e.Type()&os.ModeSymlink == 0 {
		return false
	}
	fi, err := os.Stat(filepath.Join(parent, e.Name()))
	return err == nil && fi.IsDir()
}

// dayFile parses "ossec-alerts-DD.log" and "ossec-alerts-DD.log.gz".
func dayFile(name string) (day int, gz bool, ok bool) {
	const prefix = "ossec-alerts-"
	if len(name) < len(prefix)+2 || name[:len(prefix)] != prefix {
		return 0, false, false
	}
	switch rest := name[len(prefix)+2:]; rest {
	case ".log":
	case ".log.gz":
		gz = true
	default:
		return 0, false, false
	}
	d, ok := atoi([]byte(name[len(prefix):len(prefix)+2]), 2)
	if !ok || d < 1 || d > 31 {
		return 0, false, false
	}
	return int(d), gz, true
}
