package ingest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/alertsjson"
	"github.com/rampart-ids/rampart/internal/ossec/alertslog"
)

// Format is the format of an alert file.
type Format int

const (
	// AlertsLog is OSSEC's alerts.log text format.
	AlertsLog Format = iota
	// AlertsJSON is one JSON object per line (OSSEC jsonout_output, Wazuh).
	AlertsJSON
)

func (f Format) String() string {
	if f == AlertsJSON {
		return "alerts.json"
	}
	return "alerts.log"
}

// Reader is an alert stream over one file that knows where it is.
type Reader interface {
	ossec.Stream
	// Offset is the byte offset (of the uncompressed text) just after the
	// last alert returned or reported malformed.
	Offset() int64
	// Line is the line number matching Offset.
	Line() int
}

// Counts are the alerts and malformed alerts a reader met.
type Counts struct {
	Alerts, Malformed int64
}

// File is an open alert file.
type File struct {
	Path   string
	Format Format
	// Identity names the file's content: the hash of its first line. Two
	// paths with the same identity (a hard link, a copy, the .gz archive of
	// a day's alerts.log) hold the same alerts.
	Identity string
	Reader   Reader
	// Size is the file's size on disk (compressed size for .gz) and
	// BytesRead how much of it has been consumed so far, for progress.
	Size int64
	// Compressed reports a gzip file.
	Compressed bool

	f      *os.File
	disk   *countingReader
	counts func() Counts
}

// BytesRead reports how many bytes of the file on disk have been consumed.
func (f *File) BytesRead() int64 { return f.disk.n }

// Counts reports the alerts and malformed alerts read so far.
func (f *File) Counts() Counts { return f.counts() }

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// ReadOptions say how to open a file.
type ReadOptions struct {
	Problems ossec.Problems
	// Offset and Line resume reading at a checkpoint (an alert boundary in
	// the uncompressed text).
	Offset int64
	Line   int
	// Live: the file is still being written (see the readers' Live option).
	Live bool
}

var gzipMagic = []byte{0x1f, 0x8b}

// OpenFile opens an alert file of either format, compressed or not,
// positioned at opts.Offset.
func OpenFile(path string, opts ReadOptions) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("read %s: is a directory (use it as a logs/alerts tree)", path)
	}
	disk := &countingReader{r: f}
	br := bufio.NewReaderSize(disk, 1<<20)
	var text io.Reader = br
	compressed := false
	if magic, _ := br.Peek(2); bytes.Equal(magic, gzipMagic) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		text = bufio.NewReaderSize(zr, 1<<20)
		compressed = true
	}
	tb := text.(*bufio.Reader)
	head, err := tb.Peek(4096)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	format, identity := sniff(head)
	if opts.Offset > 0 {
		if !compressed {
			// Seek past what a checkpoint says is done; the buffered
			// readers are rebuilt on top of the new position.
			if _, err := f.Seek(opts.Offset, io.SeekStart); err != nil {
				return nil, fmt.Errorf("read %s: seek to %d: %w", path, opts.Offset, err)
			}
			disk = &countingReader{r: f, n: opts.Offset}
			tb = bufio.NewReaderSize(disk, 1<<20)
		} else if _, err := io.CopyN(io.Discard, tb, opts.Offset); err != nil {
			return nil, fmt.Errorf("read %s: skip to offset %d: %w", path, opts.Offset, err)
		}
	}
	file := &File{Path: path, Format: format, Identity: identity, Size: st.Size(), Compressed: compressed, f: f, disk: disk}
	switch format {
	case AlertsJSON:
		r := alertsjson.NewReader(tb, path, alertsjson.Options{
			Problems: opts.Problems, Live: opts.Live, StartOffset: opts.Offset, StartLine: opts.Line,
		})
		file.Reader = r
		file.counts = func() Counts { s := r.Stats(); return Counts{Alerts: s.Alerts, Malformed: s.Malformed} }
	default:
		r := alertslog.NewReader(tb, path, alertslog.Options{
			Problems: opts.Problems, Live: opts.Live, StartOffset: opts.Offset, StartLine: opts.Line,
		})
		file.Reader = r
		file.counts = func() Counts { s := r.Stats(); return Counts{Alerts: s.Alerts, Malformed: s.Malformed} }
	}
	ok = true
	return file, nil
}

// sniff tells the format from the first bytes of the text, and hashes the
// first line as the file's identity.
func sniff(head []byte) (Format, string) {
	format := AlertsLog
	if t := bytes.TrimLeft(head, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		format = AlertsJSON
	}
	first := head
	if i := bytes.IndexByte(first, '\n'); i >= 0 {
		first = first[:i]
	}
	sum := sha256.Sum256(first)
	return format, format.String() + ":" + hex.EncodeToString(sum[:12])
}

// Expand turns the paths given on the command line into alert files: a
// directory is read as an OSSEC logs/alerts tree (YYYY/Mon/ossec-alerts-DD.log
// and .log.gz, in date order).
func Expand(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		files, err := alertslog.Tree(p)
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("read %s: no alert files (want YYYY/Mon/ossec-alerts-DD.log[.gz] or alerts.log)", filepath.Clean(p))
		}
		out = append(out, files...)
	}
	return out, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
