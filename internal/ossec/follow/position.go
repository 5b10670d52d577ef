package follow

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
)

// Position is where a file follower is: enough to resume after a restart
// with nothing lost or repeated. The zero Position means "nothing read".
type Position struct {
	// Path is the followed path (e.g. /var/ossec/logs/alerts/alerts.log),
	// even while an older day file that used to be linked there is read.
	Path string `json:"path"`
	// Dev and Ino identify the file Offset belongs to (0 where the
	// platform has no inode numbers).
	Dev uint64 `json:"dev"`
	Ino uint64 `json:"ino"`
	// Identity is a hash of the file's first line (see identityOf). It
	// tells a truncated-and-rewritten file, or a new file that reuses an
	// old inode, from the file the offset was taken in, and finds that
	// file again after it was moved into the day tree or gzipped.
	Identity string `json:"identity"`
	// Offset is the byte offset (in the uncompressed text) just after the
	// last alert delivered, and Line the number of lines before it.
	Offset int64 `json:"offset"`
	Line   int   `json:"line"`
}

// String describes p for logs.
func (p Position) String() string {
	return p.Path + "@" + strconv.FormatInt(p.Offset, 10) + " (line " + strconv.Itoa(p.Line) +
		", inode " + strconv.FormatUint(p.Ino, 10) + ", identity " + p.Identity + ")"
}

// Format is the format of a followed file.
type Format uint8

const (
	// Auto tells the format from the file's first non-blank byte: "{" is
	// alerts.json, anything else alerts.log.
	Auto Format = iota
	Log         // alerts.log (package alertslog)
	JSON        // alerts.json (package alertsjson)
)

func (f Format) String() string {
	switch f {
	case Auto:
		return "auto"
	case Log:
		return "log"
	case JSON:
		return "json"
	}
	return "Format(" + strconv.Itoa(int(f)) + ")"
}

// identityLen bounds the part of the first line that identifies a file: an
// alerts.log header or the start of an alerts.json line (which holds the
// alert id) is well inside it.
const identityLen = 4096

// identityOf hashes the first line of r, or its first identityLen bytes if
// that line is longer. It returns "" while the first line is unfinished:
// the identity of a file must not change as it grows.
func identityOf(r io.Reader) (string, error) {
	buf := make([]byte, identityLen)
	n, err := io.ReadFull(r, buf)
	switch err {
	case nil, io.EOF, io.ErrUnexpectedEOF:
	default:
		return "", err
	}
	head := buf[:n]
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	} else if n < identityLen {
		return "", nil
	}
	sum := sha256.Sum256(head)
	return hex.EncodeToString(sum[:16]), nil
}

// sniff tells the format from the first bytes of a file; ok is false while
// the file holds only blank space.
func sniff(head []byte) (f Format, ok bool) {
	t := bytes.TrimLeft(head, " \t\r\n")
	if len(t) == 0 {
		return Auto, false
	}
	if t[0] == '{' {
		return JSON, true
	}
	return Log, true
}

var gzipMagic = []byte{0x1f, 0x8b}

// decompressed returns the text of an alert file read from r: gunzipped
// when it starts with the gzip magic, as monitord's .gz day files do.
func decompressed(r io.ReaderAt, size int64) (io.Reader, bool, error) {
	var magic [2]byte
	if n, _ := r.ReadAt(magic[:], 0); n == 2 && bytes.Equal(magic[:], gzipMagic) {
		zr, err := gzip.NewReader(io.NewSectionReader(r, 0, size))
		if err != nil {
			return nil, true, fmt.Errorf("gzip: %w", err)
		}
		return zr, true, nil
	}
	return io.NewSectionReader(r, 0, size), false, nil
}
