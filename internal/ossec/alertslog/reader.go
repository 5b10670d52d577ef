package alertslog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"time"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// ErrCustomFormat is wrapped by Reader.Err for a file that analysisd wrote
// with <global><custom_alert_output>: no part of the standard grammar applies
// to such a file, and reading it as "no alerts" would hide every attack in it.
var ErrCustomFormat = errors.New("not an OSSEC alerts.log (written with custom_alert_output?)")

const (
	initialBufSize = 256 << 10
	// maxLineLen bounds memory on hostile input; OSSEC cuts lines to 1 256
	// bytes and Wazuh's uncut lines stay far below this.
	maxLineLen = 4 << 20
	// sniffBytes and sniffLines are the window in which a stream starting
	// with something other than a header must show one to count as an
	// alerts.log.
	sniffBytes = 64 << 10
	sniffLines = 200
	// internMax bounds each intern table; a table that fills is dropped
	// and refilled, which costs allocations but never correctness.
	internMax = 4096
	// maxEmptyReads is how many (0, nil) reads in a row count as a stuck
	// source, as in bufio.
	maxEmptyReads = 100
)

// Options configure a Reader. The zero value reads a complete file from its
// start, with date lines in UTC, counting malformed alerts only.
type Options struct {
	// Problems receives malformed alerts; nil counts them only.
	Problems ossec.Problems
	// Live says the file is still being written. A block not yet finished at
	// the end of the data is then not an error: Next returns false with
	// Err() == nil and Offset() at the start of that block, so a follower
	// can read again from Offset() once more bytes arrive. When not Live,
	// an unfinished last block is a malformed alert (a rotated or
	// compressed file was cut short).
	Live bool
	// StartOffset is the byte offset in the file of the first byte of the
	// reader's input, so that Offset is absolute when resuming. The
	// custom_alert_output check runs only when it is 0.
	StartOffset int64
	// StartLine is the line number of the input's first line minus 1
	// (0 at the start of the file), for messages and Line.
	StartLine int
	// HoldLast, with Live, also stops before a complete syscheck alert
	// whose empty line is the very end of the data, as if it were
	// unfinished: Wazuh may still append a "What changed:", "Attributes:"
	// or "Tags:" section to it (see Reader). A follower sets HoldLast
	// while the file grows and reads once more without it after the file
	// has been quiet for a while, so that a poll landing between an alert
	// and its section never splits them. Other alerts are not held: no
	// writer gives them sections.
	HoldLast bool
	// Location is the manager's time zone, in which date lines are written
	// (nil = UTC). Alert times come from the header's epoch; the date line
	// is only used for an alert whose ID is 0.0.
	Location *time.Location
}

// Stats counts what a Reader has delivered so far.
type Stats struct {
	Alerts    int64 // alerts returned by Next
	Malformed int64 // malformed alerts and runs of stray text reported
}

// Reader reads alerts from an alerts.log stream. It implements ossec.Stream.
//
// A block ends at an empty line or at the next header, with one exception:
// Wazuh writes FIM alerts with "Attributes:", "What changed:" and "Tags:"
// sections after empty lines inside the alert. A run of lines that directly
// follows a block's empty line and starts with one of those marker lines
// belongs to the block, up to its own empty line; the empty lines stay in
// Log as "". An alert is therefore final only once the line after its empty
// line is seen (see Options.HoldLast for live files).
type Reader struct {
	src  io.Reader
	name string
	opts Options

	buf  []byte
	r, w int   // unread input is buf[r:w]
	base int64 // offset in the file of buf[0]
	eof  bool
	rerr error // read error other than io.EOF
	// lineNo is the number of the last line consumed.
	lineNo  int
	empties int

	// off and line are the committed position: just after the last alert
	// returned or reported.
	off  int64
	line int

	started bool
	done    bool
	err     error
	stats   Stats

	a       ossec.Alert
	logBuf  []byte
	logEnds []int
	// head is the first bytes of the current block, for ParseError.Snippet.
	head []byte
	// date holds the fields of the current block's date line, used only
	// when the header's ID is 0.0.
	date [6]int

	descs  interner[string]
	users  interner[string]
	groups interner[[]string]
	locs   interner[ossec.Location]
	addrs  interner[netip.Addr]
}

// NewReader returns a Reader of r. The name is used in errors and problem
// reports; opts may be the zero value.
func NewReader(r io.Reader, name string, opts Options) *Reader {
	return &Reader{
		src:    r,
		name:   name,
		opts:   opts,
		buf:    make([]byte, initialBufSize),
		base:   opts.StartOffset,
		off:    opts.StartOffset,
		line:   opts.StartLine,
		lineNo: opts.StartLine,
		head:   make([]byte, 0, ossec.SnippetLen),
	}
}

// Alert returns the alert read by the last successful Next. The Alert, its
// Log slice and Groups slice belong to the Reader: the Alert and its Log
// slice are overwritten by the next call to Next, and Groups is shared with
// other alerts and must not be modified. The strings (log lines,
// description, user, location parts) are immutable and safe to keep.
func (r *Reader) Alert() *ossec.Alert { return &r.a }

// Err returns the error that ended the stream, or nil at a clean end
// (including a Live stream that ended inside an unfinished block).
func (r *Reader) Err() error { return r.err }

// Offset returns the offset in the file just after the last alert returned
// or reported as malformed: where a new Reader resumes without repeating or
// losing an alert.
func (r *Reader) Offset() int64 { return r.off }

// Line returns the number of the last line before Offset (StartLine if
// nothing has been read), to pass as StartLine when resuming at Offset.
func (r *Reader) Line() int { return r.line }

// Stats returns the counts so far.
func (r *Reader) Stats() Stats { return r.stats }

// Next reads the next alert. It returns false at the end of the input, at
// an unfinished block of a Live stream, and on a fatal error (see Err).
// Malformed alerts are reported to Options.Problems and skipped.
func (r *Reader) Next() bool {
	if r.done {
		return false
	}
	if !r.started {
		r.started = true
		if r.opts.StartOffset == 0 && !r.sniff() {
			return r.finish()
		}
	}
	for {
		text, size, st := r.peek()
		switch {
		case st == lineNone:
			return r.finish()
		case len(text) == 0:
			if st == lineEOF && r.opts.Live {
				// A lone "\r": the "\n" may still come.
				return r.finish()
			}
			r.consume(size)
		case isHeader(text):
			switch r.block() {
			case gotAlert:
				return true
			case gotPartial:
				return r.finish()
			}
		default:
			if r.stray() == gotPartial {
				return r.finish()
			}
		}
	}
}

func (r *Reader) finish() bool {
	r.done = true
	if r.err == nil && r.rerr != nil {
		r.err = fmt.Errorf("read %s: %w", r.name, r.rerr)
	}
	return false
}

type lineState uint8

const (
	lineNone     lineState = iota // no more input
	lineComplete                  // a line ended by "\n"
	lineEOF                       // the input ends inside this line
	lineLong                      // the first maxLineLen bytes of a longer line
)

// peek returns the next line without its "\n" or "\r\n", and its size in
// the input. The text is valid until the next peek or consume.
func (r *Reader) peek() (text []byte, size int, st lineState) {
	for {
		if i := bytes.IndexByte(r.buf[r.r:r.w], '\n'); i >= 0 {
			text = r.buf[r.r : r.r+i]
			if i > 0 && text[i-1] == '\r' {
				text = text[:i-1]
			}
			return text, i + 1, lineComplete
		}
		if r.eof || r.rerr != nil {
			if r.r == r.w {
				return nil, 0, lineNone
			}
			text = r.buf[r.r:r.w]
			size = len(text)
			if text[size-1] == '\r' {
				text = text[:size-1]
			}
			return text, size, lineEOF
		}
		if r.w-r.r >= maxLineLen {
			return r.buf[r.r:r.w], r.w - r.r, lineLong
		}
		r.fill()
	}
}

func (r *Reader) consume(size int) {
	r.r += size
	r.lineNo++
}

// pos is the offset in the file of the next unconsumed byte.
func (r *Reader) pos() int64 { return r.base + int64(r.r) }

// fill reads more input, first moving the unread bytes to the front of the
// buffer (they are at most one unfinished line) and growing it if full.
func (r *Reader) fill() {
	if r.r > 0 {
		copy(r.buf, r.buf[r.r:r.w])
		r.base += int64(r.r)
		r.w -= r.r
		r.r = 0
	}
	if r.w == len(r.buf) {
		nb := make([]byte, 2*len(r.buf))
		copy(nb, r.buf[:r.w])
		r.buf = nb
	}
	n, err := r.src.Read(r.buf[r.w:])
	if n < 0 || n > len(r.buf)-r.w {
		r.rerr = errors.New("invalid count from Read")
		return
	}
	r.w += n
	switch {
	case err == io.EOF:
		r.eof = true
	case err != nil:
		r.rerr = err
	case n == 0:
		r.empties++
		if r.empties >= maxEmptyReads {
			r.rerr = io.ErrNoProgress
		}
	default:
		r.empties = 0
	}
}

// sniff refuses a stream written with custom_alert_output: one whose first
// non-empty line is not a header and that shows no header within the first
// sniffBytes / sniffLines. It returns false if reading must stop (r.err
// says why, or nil when a Live stream has too little data to decide).
func (r *Reader) sniff() bool {
	for !r.eof && r.rerr == nil && r.w-r.r < sniffBytes {
		r.fill()
	}
	if r.rerr != nil {
		return true // Next reports the read error
	}
	data := r.buf[r.r:r.w]
	full := len(data) >= sniffBytes
	if full {
		data = data[:sniffBytes]
	}
	var first []byte
	firstNo, firstDone := 0, false
	for n := 1; n <= sniffLines && len(data) > 0; n++ {
		ln := data
		complete := false
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			ln, data, complete = data[:i], data[i+1:], true
		} else {
			data = nil
		}
		ln = bytes.TrimSuffix(ln, []byte{'\r'})
		if isHeader(ln) {
			return true
		}
		if first == nil && len(ln) > 0 {
			first, firstNo, firstDone = ln, r.lineNo+n, complete || full
		}
	}
	if first == nil {
		return true
	}
	if !firstDone && r.opts.Live && bytes.HasPrefix([]byte(headerPrefix), first) {
		return false // may yet become a header
	}
	r.err = fmt.Errorf("read %s:%d: %w: %q", r.name, firstNo, ErrCustomFormat, ossec.Snip(string(first)))
	return false
}

type result uint8

const (
	gotAlert result = iota
	gotMalformed
	gotPartial
)

type blockState uint8

const (
	wantDate blockState = iota
	wantRule
	inFields
	inLog
)

// block reads one block from its header line to the empty line that ends it
// or up to the next header.
func (r *Reader) block() result {
	text, size, st := r.peek()
	if st == lineEOF && r.opts.Live {
		return gotPartial
	}
	startLine := r.lineNo + 1
	r.head = append(r.head[:0], text[:min(len(text), ossec.SnippetLen)]...)

	a := &r.a
	log := a.Log[:0]
	*a = ossec.Alert{}
	r.logBuf = r.logBuf[:0]
	r.logEnds = r.logEnds[:0]

	reason := r.parseHeader(text)
	if st == lineLong && reason == "" {
		reason = fmt.Sprintf("line %d longer than %d bytes", startLine, maxLineLen)
	}
	r.consume(size)

	state := wantDate
	ended, blank := false, false
	for {
		text, size, st = r.peek()
		if st == lineNone || (st == lineEOF && r.opts.Live) {
			break
		}
		if len(text) == 0 {
			r.consume(size)
			ended = st == lineComplete
			blank = ended
			break
		}
		if isHeader(text) {
			ended = true
			break
		}
		if reason == "" {
			if st == lineLong {
				reason = fmt.Sprintf("line %d longer than %d bytes", r.lineNo+1, maxLineLen)
			} else {
				state, reason = r.parseLine(state, text)
			}
		}
		r.consume(size)
	}
	if !ended {
		if r.opts.Live {
			return gotPartial
		}
		if reason == "" {
			reason = "alert cut short at end of file (no empty line after it)"
		}
	}
	if blank && r.sections(&reason) == gotPartial {
		return gotPartial
	}
	if reason == "" {
		switch state {
		case wantDate:
			reason = "missing date line after the header"
		case wantRule:
			reason = `missing "Rule:" line`
		}
	}
	r.off, r.line = r.pos(), r.lineNo
	if reason != "" {
		a.Log = log
		r.report(startLine, reason)
		return gotMalformed
	}

	if len(r.logEnds) > 0 {
		s := string(r.logBuf)
		start := 0
		for _, end := range r.logEnds {
			log = append(log, s[start:end])
			start = end
		}
	}
	a.Log = log
	a.Time = ossec.TimeFromID(a.ID)
	if a.ID.IsZero() {
		loc := r.opts.Location
		if loc == nil {
			loc = time.UTC
		}
		d := r.date
		a.Time = time.Date(d[0], time.Month(d[1]), d[2], d[3], d[4], d[5], 0, loc).UTC()
	}
	r.stats.Alerts++
	return gotAlert
}

// sections takes the Wazuh FIM sections that directly follow a block's
// empty line into the block: each starts with a marker line (see
// isSection) and runs to its own empty line or the next header. It returns
// gotPartial when a Live stream ends where a section may yet begin or while
// one is unfinished; the block is then read again from its start later.
func (r *Reader) sections(reason *string) result {
	for {
		text, size, st := r.peek()
		switch {
		case st == lineNone:
			// A malformed block is held too: its header may be what
			// failed, so whether it is a syscheck alert is unknown.
			if r.opts.Live && r.opts.HoldLast && (*reason != "" || r.mayHaveSections()) {
				return gotPartial
			}
			return gotAlert
		case st == lineEOF && r.opts.Live:
			if maySection(text) {
				return gotPartial
			}
			return gotAlert
		case !isSection(text):
			return gotAlert
		}
		if *reason == "" {
			// The empty line stays in the log: it is part of the event
			// text, and AppendAlert then writes the block back unchanged.
			r.logEnds = append(r.logEnds, len(r.logBuf))
		}
		for {
			if st == lineNone || (st == lineEOF && r.opts.Live) {
				if r.opts.Live {
					return gotPartial
				}
				// As for a block: a rotated file cut inside a section
				// lost part of the alert.
				if *reason == "" {
					*reason = "alert cut short at end of file (no empty line after its last section)"
				}
				return gotAlert
			}
			if isHeader(text) {
				return gotAlert
			}
			if len(text) == 0 {
				r.consume(size)
				if st != lineComplete {
					return gotAlert
				}
				break
			}
			if *reason == "" {
				if st == lineLong {
					*reason = fmt.Sprintf("line %d longer than %d bytes", r.lineNo+1, maxLineLen)
				} else {
					r.logBuf = append(r.logBuf, text...)
					r.logEnds = append(r.logEnds, len(r.logBuf))
				}
			}
			r.consume(size)
			text, size, st = r.peek()
		}
	}
}

// mayHaveSections reports whether the block read so far is a syscheck
// alert: only Wazuh's FIM alerts have sections, so only they are held back
// by HoldLast.
func (r *Reader) mayHaveSections() bool {
	return slices.Contains(r.a.Groups, "syscheck") || r.a.Location.Source == "syscheck"
}

// parseLine handles one non-empty line of a block after its header and
// returns the new state, or a reason if the block is malformed.
func (r *Reader) parseLine(state blockState, text []byte) (blockState, string) {
	switch state {
	case wantDate:
		if !r.parseDate(text) {
			return state, fmt.Sprintf("line %d: invalid date line %q", r.lineNo+1, ossec.Snip(string(text)))
		}
		return wantRule, ""
	case wantRule:
		if bytes.HasPrefix(text, []byte("Rule: ")) {
			if !r.parseRule(text[len("Rule: "):]) {
				return state, fmt.Sprintf("line %d: invalid \"Rule:\" line %q", r.lineNo+1, ossec.Snip(string(text)))
			}
			return inFields, ""
		}
		if isLabel(text) {
			// Wazuh agent labels sit between the date and Rule lines.
			return state, ""
		}
		return state, fmt.Sprintf("line %d: want \"Rule:\" line, got %q", r.lineNo+1, ossec.Snip(string(text)))
	case inFields:
		if r.parseField(text) {
			return state, ""
		}
	}
	// Field prefixes count only before the first log line: an event or an
	// earlier event of a frequency rule may well start with "User: ".
	r.logBuf = append(r.logBuf, text...)
	r.logEnds = append(r.logEnds, len(r.logBuf))
	return inLog, ""
}

// stray skips a run of text outside any block, up to the next header, and
// reports it as one malformed item.
func (r *Reader) stray() result {
	text, _, _ := r.peek()
	startLine := r.lineNo + 1
	r.head = append(r.head[:0], text[:min(len(text), ossec.SnippetLen)]...)
	lines := 0
	ended := false
	for {
		text, size, st := r.peek()
		if st == lineNone || (st == lineEOF && r.opts.Live) {
			break
		}
		if isHeader(text) {
			ended = true
			break
		}
		if len(text) > 0 {
			lines++
		}
		r.consume(size)
	}
	if !ended && r.opts.Live {
		// More of the run, or the header that ends it, may follow.
		return gotPartial
	}
	r.off, r.line = r.pos(), r.lineNo
	r.report(startLine, fmt.Sprintf("text outside any alert (%d non-empty lines before the next \"** Alert\" header)", lines))
	return gotMalformed
}

func (r *Reader) report(line int, reason string) {
	r.stats.Malformed++
	if r.opts.Problems != nil {
		r.opts.Problems(&ossec.ParseError{File: r.name, Line: line, Reason: reason, Snippet: string(r.head)})
	}
}

// interner hands out one copy of each distinct value for repeated text, so
// that a million alerts of one rule share one description. Lookups with
// m[string(b)] do not allocate.
type interner[V any] struct {
	m map[string]V
}

func (t *interner[V]) get(b []byte, mk func(string) V) V {
	if v, ok := t.m[string(b)]; ok {
		return v
	}
	if t.m == nil {
		t.m = make(map[string]V)
	} else if len(t.m) >= internMax {
		clear(t.m)
	}
	s := string(b)
	v := mk(s)
	t.m[s] = v
	return v
}
