package alertsjson

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// MaxLineBytes bounds one line. OSSEC caps an event at 64 KiB and Wazuh's
// largest alerts (FIM diffs) stay far below this; a longer line is reported
// as malformed and skipped without being held in memory.
const MaxLineBytes = 16 << 20

const bufSize = 64 << 10

// Options configures a Reader.
type Options struct {
	// Problems receives malformed lines; nil only counts them.
	Problems ossec.Problems
	// Live means the file is still being written. An unterminated last line
	// at EOF is then not an error: Next returns false, Err is nil and Offset
	// stays at the start of that line. Calling Next again once the file has
	// grown, or a new Reader started at Offset, picks the line up whole.
	// When not live, an unterminated last line is parsed as it is (a
	// truncated one is malformed).
	Live bool
	// StartOffset is the absolute offset of the first byte of the input, for
	// resuming; Offset is absolute.
	StartOffset int64
	// StartLine is the number of lines before the input (0 at file start),
	// so that reported line numbers are those of the file.
	StartLine int
	// Location is the manager's time zone, used only for OSSEC 3.2+'s local
	// "timestamp" when a line has neither "id" nor "TimeStamp". nil = UTC.
	Location *time.Location
	// AllowNoTime delivers alerts that carry no time at all, with a zero ID
	// and Time. OSSEC 2.9 writes neither an id nor a time, so by default
	// such lines are malformed: an alert without a time cannot be placed in
	// a time window, and without an id distinct alerts of the same rule and
	// location share an ossec.Alert.Key. Set it only to count a 2.9 file;
	// alerts.log carries the id and time of the same alerts.
	AllowNoTime bool
}

// Stats counts what a Reader has consumed. Lines == Alerts + Malformed +
// Blank always holds.
type Stats struct {
	Lines     int64 // lines consumed, blank ones included
	Alerts    int64
	Malformed int64
	Blank     int64
	// Dialects counts the alerts of each Dialect, indexed by it.
	Dialects [numDialects]int64
}

// Reader reads alerts.json one line at a time. It implements ossec.Stream.
// It is not safe for concurrent use.
type Reader struct {
	br   *bufio.Reader
	name string
	opts Options

	off  int64 // absolute offset just after the last consumed line
	line int   // absolute number of the last consumed line

	// The current line when it spans bufio buffers, or an unterminated
	// line held back in live mode. For a line over MaxLineBytes it keeps
	// only the first bytes, for the problem report.
	pend     []byte
	skipping bool
	skipped  int64

	raw     jsonAlert
	alert   ossec.Alert
	dialect Dialect
	stats   Stats
	err     error
}

var _ ossec.Stream = (*Reader)(nil)

// NewReader returns a Reader of r; name is the file name used in errors.
func NewReader(r io.Reader, name string, opts Options) *Reader {
	return &Reader{
		br:   bufio.NewReaderSize(r, bufSize),
		name: name,
		opts: opts,
		off:  opts.StartOffset,
		line: opts.StartLine,
	}
}

// Open opens an alerts.json file, gunzipping it when it starts with the gzip
// magic (ossec-monitord's rotated ossec-alerts-DD.json.gz), whatever its name.
// A non-zero opts.StartOffset is skipped in the file (in the uncompressed
// bytes for gzip); opts.StartLine must match it. A compressed file is
// complete, so Live is ignored for it. The caller closes the returned Closer.
func Open(path string, opts Options) (*Reader, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*Reader, io.Closer, error) {
		f.Close()
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	br := bufio.NewReaderSize(f, bufSize)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fail(err)
		}
		if opts.StartOffset > 0 {
			if _, err := io.CopyN(io.Discard, zr, opts.StartOffset); err != nil {
				return fail(fmt.Errorf("skip to offset %d: %w", opts.StartOffset, err))
			}
		}
		opts.Live = false
		return NewReader(zr, path, opts), closers{zr, f}, nil
	}
	if opts.StartOffset > 0 {
		if _, err := f.Seek(opts.StartOffset, io.SeekStart); err != nil {
			return fail(err)
		}
		br.Reset(f)
	}
	return NewReader(br, path, opts), f, nil
}

type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Next advances to the next alert. It returns false at the end of the input,
// at an unterminated last line in live mode, or on a read error (see Err).
func (r *Reader) Next() bool {
	for r.err == nil {
		line, size, final, long, ok := r.readLine()
		if !ok {
			return false
		}
		atStart := r.off == 0
		r.off += size
		r.line++
		r.stats.Lines++
		if long {
			r.problem(line, "line longer than "+strconv.Itoa(MaxLineBytes)+" bytes")
			continue
		}
		if atStart {
			line = bytes.TrimPrefix(line, []byte("\uFEFF"))
		}
		line = bytes.TrimRight(line, " \t\r")
		if len(bytes.TrimLeft(line, " \t")) == 0 {
			r.stats.Blank++
			continue
		}
		if reason := r.parse(line); reason != "" {
			if final {
				reason = "last line has no newline: " + reason
			}
			r.problem(line, reason)
			continue
		}
		r.stats.Alerts++
		r.stats.Dialects[r.dialect]++
		return true
	}
	return false
}

// Alert returns the current alert. It is valid until the next call to Next;
// its strings and slices are never reused, so a shallow copy may be kept.
func (r *Reader) Alert() *ossec.Alert { return &r.alert }

// Dialect returns the dialect of the current alert.
func (r *Reader) Dialect() Dialect { return r.dialect }

// Err returns the read error that stopped Next, if any. Malformed lines are
// never errors.
func (r *Reader) Err() error { return r.err }

// Offset returns the absolute offset just after the last line consumed: the
// current alert's line, or at the end every complete line. A Reader started
// there with StartLine set to Line continues with the next alert.
func (r *Reader) Offset() int64 { return r.off }

// Line returns the absolute number of the last line consumed: after Next
// returns true, the line of the current alert.
func (r *Reader) Line() int { return r.line }

// Stats returns the counts so far.
func (r *Reader) Stats() Stats { return r.stats }

// readLine returns the next line without its '\n' and the bytes it took.
// final marks a last line without '\n' (not live); long marks a line over
// MaxLineBytes, of which only the start is returned. ok is false at the end
// of input, at a held-back partial line, or on a read error.
func (r *Reader) readLine() (line []byte, size int64, final, long, ok bool) {
	for {
		chunk, err := r.br.ReadSlice('\n')
		if err == nil && len(r.pend) == 0 && !r.skipping {
			// The common case: the whole line is in the buffer.
			return chunk[:len(chunk)-1], int64(len(chunk)), false, false, true
		}
		if r.skipping {
			r.skipped += int64(len(chunk))
		} else {
			r.pend = append(r.pend, chunk...)
			if len(r.pend) > MaxLineBytes {
				r.skipping, r.skipped = true, int64(len(r.pend))
				r.pend = append([]byte(nil), r.pend[:ossec.SnippetLen]...)
			}
		}
		switch {
		case err == nil:
			return r.takeLine(true)
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(r.pend) == 0 && !r.skipping {
				return nil, 0, false, false, false
			}
			if r.opts.Live {
				// Held in pend: a later Next reads on from here.
				return nil, 0, false, false, false
			}
			line, size, _, long, ok = r.takeLine(false)
			return line, size, true, long, ok
		default:
			r.err = fmt.Errorf("read %s:%d: %w", r.name, r.line+1, err)
			return nil, 0, false, false, false
		}
	}
}

func (r *Reader) takeLine(newline bool) (line []byte, size int64, final, long, ok bool) {
	if r.skipping {
		line, size, long = r.pend, r.skipped, true
	} else {
		line, size = r.pend, int64(len(r.pend))
		if newline {
			line = line[:len(line)-1]
		}
	}
	// line stays valid until the next readLine, which is all Next needs.
	// A buffer grown by a rare huge line is dropped rather than kept for
	// the life of a follower.
	if cap(r.pend) > 1<<20 {
		r.pend = nil
	} else {
		r.pend = r.pend[:0]
	}
	r.skipping, r.skipped = false, 0
	return line, size, false, long, true
}

func (r *Reader) problem(line []byte, reason string) {
	r.stats.Malformed++
	if r.opts.Problems == nil {
		return
	}
	if len(line) > ossec.SnippetLen {
		line = line[:ossec.SnippetLen]
	}
	r.opts.Problems(&ossec.ParseError{
		File:    r.name,
		Line:    r.line,
		Reason:  reason,
		Snippet: ossec.Snip(string(line)),
	})
}

// parse decodes one non-blank line into r.alert and r.dialect. It returns
// the reason the line is malformed, or "".
func (r *Reader) parse(line []byte) string {
	j := &r.raw
	*j = jsonAlert{}
	if err := json.Unmarshal(line, j); err != nil {
		return describeJSONError(err)
	}
	var rule int64
	switch {
	case j.Rule.SidID.set:
		rule = j.Rule.SidID.v
	case j.Rule.ID.set:
		rule = j.Rule.ID.v
	default:
		return `missing rule id: no "rule.sidid" (OSSEC) or "rule.id" (Wazuh)`
	}
	// Only 3.2/3.3 repeat keys; 3.4+ lines (agent_name, logfile) are
	// spared the scan.
	dup := j.Rule.SidID.set && j.AgentName == "" && j.Logfile == "" && hasDuplicates(line)
	d := detect(j, dup)

	a := &r.alert
	*a = ossec.Alert{RuleID: int(rule), Level: int(j.Rule.Level.v)}
	if reason := r.setTime(a, j); reason != "" {
		return reason
	}
	if d == Wazuh {
		fillWazuh(a, j)
	} else {
		fillOSSEC(a, j, line, dup)
	}
	a.Log = splitLog(j.FullLog, j.PreviousOutput)
	r.dialect = d
	return ""
}

// setTime sets the alert's ID and Time from the best key the line carries:
// the "<epoch>.<n>" id (the same epoch as the alerts.log header), else
// OSSEC's TimeStamp in ms, else the "timestamp" text.
func (r *Reader) setTime(a *ossec.Alert, j *jsonAlert) string {
	switch {
	case j.ID != "":
		id, err := ossec.ParseID(j.ID)
		if err != nil {
			return `field "id": ` + err.Error()
		}
		a.ID, a.Time = id, ossec.TimeFromID(id)
	case j.TimeStamp != "":
		ms, err := strconv.ParseFloat(string(j.TimeStamp), 64)
		if err != nil || ms < 0 || ms > 1e16 || math.IsNaN(ms) {
			return `field "TimeStamp": want epoch milliseconds, got ` + strconv.Quote(string(j.TimeStamp))
		}
		a.Time = time.UnixMilli(int64(ms)).UTC().Truncate(time.Second)
	case j.Timestamp != "":
		t, ok := parseTimestamp(j.Timestamp, r.opts.Location)
		if !ok {
			return `field "timestamp": unknown time format ` + strconv.Quote(j.Timestamp)
		}
		if t.Unix() < 0 {
			// analysisd's times are Unix epochs; as for a negative
			// TimeStamp, an earlier one is damage, not an alert.
			return `field "timestamp": before 1970: ` + strconv.Quote(j.Timestamp)
		}
		a.Time = t.UTC().Truncate(time.Second)
	case !r.opts.AllowNoTime:
		return `no alert time: no "id", "TimeStamp" or "timestamp" (OSSEC 2.9 writes none; its alerts.log has them)`
	}
	return ""
}

// Time layouts of the "timestamp" key: OSSEC 3.2+ writes the manager's local
// time as in alerts.log date lines; Wazuh writes ISO-8601 with a numeric
// offset without a colon.
const (
	ossecTimestamp = "2006 Jan 02 15:04:05"
	wazuhTimestamp = "2006-01-02T15:04:05.999999999-0700"
)

func parseTimestamp(s string, loc *time.Location) (time.Time, bool) {
	if loc == nil {
		loc = time.UTC
	}
	if t, err := time.ParseInLocation(ossecTimestamp, s, loc); err == nil {
		return t, true
	}
	if t, err := time.Parse(wazuhTimestamp, s); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

func fillOSSEC(a *ossec.Alert, j *jsonAlert, line []byte, dup bool) {
	a.Description = j.Rule.Comment
	if a.Description == "" {
		a.Description = j.Rule.Description
	}
	if j.Rule.Groups != nil {
		a.Groups = cleanGroups(j.Rule.Groups)
	} else {
		a.Groups = splitGroups(j.Rule.Group)
	}
	setAddrs(a, j.SrcIP, j.SrcPort, j.DstIP, j.DstPort)
	a.User = j.DstUser

	loc, host := j.Location, j.Hostname
	if dup {
		// OSSEC 3.2/3.3: the first "location" is analysisd's location (the
		// full "(agent) ip->path" for agents), the second the bare path; the
		// first "hostname" is analysisd's hostname, the second a name
		// derived from it. encoding/json kept the second ones.
		l, h, lok, hok := firstStrings(line)
		if lok {
			loc = l
		}
		if hok {
			host = h
		}
	}
	a.Location = ossec.ParseLocation(ossecLocation(loc, host, j))
}

// ossecLocation rebuilds the alerts.log location string. OS_Log writes
// hostname "->" location when the two differ (manager-local events, whose
// location is the bare path) and location alone when they are the same
// (agent events, whose location already reads "(agent) ip->path").
func ossecLocation(loc, host string, j *jsonAlert) string {
	switch {
	case loc == "" && j.Logfile != "":
		// Only the 3.4+ parts survived: rebuild from them.
		switch {
		case j.AgentIP != "" && j.AgentName != "":
			return "(" + j.AgentName + ") " + j.AgentIP + "->" + j.Logfile
		case j.AgentName != "":
			return j.AgentName + "->" + j.Logfile
		}
		return j.Logfile
	case host != "" && host != loc && !strings.HasPrefix(loc, host+"->"):
		// The prefix test keeps a location that a converter already wrote
		// whole ("web1->/var/log/auth.log") from gaining a second host.
		return host + "->" + loc
	case host == "" && j.AgentName != "" && !strings.HasPrefix(loc, "("):
		return j.AgentName + "->" + loc
	}
	// OSSEC 2.9 writes no hostname: a manager-local location stays the bare
	// path, as much as the line tells.
	return loc
}

func fillWazuh(a *ossec.Alert, j *jsonAlert) {
	a.Description = j.Rule.Description
	if a.Description == "" {
		a.Description = j.Rule.Comment
	}
	a.Groups = cleanGroups(j.Rule.Groups)
	if a.Groups == nil {
		a.Groups = splitGroups(j.Rule.Group)
	}
	a.Mail = j.Rule.Mail

	d := &j.Data.V
	src, sport, dst, dport, user := d.SrcIP, d.SrcPort, d.DstIP, d.DstPort, d.DstUser
	// Wazuh 2.x and hand-converted files put the fields at the top level.
	if src == "" {
		src, sport = j.SrcIP, j.SrcPort
	}
	if dst == "" {
		dst, dport = j.DstIP, j.DstPort
	}
	if user == "" {
		user = j.DstUser
	}
	setAddrs(a, src, sport, dst, dport)
	a.User = user

	a.Location = ossec.ParseLocation(wazuhLocation(j))
}

// wazuhLocation rebuilds the alerts.log location from Wazuh's path-only
// "location" and its agent and manager objects: agent "000" is the manager
// itself ("name->path"); other agents read "(name) ip->path", with "any"
// when Wazuh knows no address, as for an agent registered as any.
func wazuhLocation(j *jsonAlert) string {
	loc := j.Location
	ag := &j.Agent.V
	if ag.ID == "000" || (ag.ID == "" && ag.Name == "") {
		name := j.Manager.V.Name
		if name == "" {
			name = ag.Name
		}
		if name == "" {
			return loc
		}
		return name + "->" + loc
	}
	name := ag.Name
	if name == "" {
		name = ag.ID
	}
	ip := ag.IP
	if ip == "" {
		ip = "any"
	}
	return "(" + name + ") " + ip + "->" + loc
}

func setAddrs(a *ossec.Alert, src string, sport port, dst string, dport port) {
	if ip, ok := ossec.ParseAddr(src); ok {
		a.SrcIP = ip
	}
	if ip, ok := ossec.ParseAddr(dst); ok {
		a.DstIP = ip
	}
	a.SrcPort, a.DstPort = uint16(sport), uint16(dport)
}

// splitGroups splits OSSEC's <group> text ("syslog,sshd,") as alerts.log
// headers carry it.
func splitGroups(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for g := range strings.SplitSeq(s, ",") {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	return out
}

func cleanGroups(gs []string) []string {
	out := gs[:0]
	for _, g := range gs {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// splitLog turns full_log and previous_output into alert lines: the event,
// then the earlier events, as alerts.log lists them. Empty lines are dropped
// because an alerts.log block cannot hold one.
func splitLog(full, prev string) []string {
	if full == "" && prev == "" {
		return nil
	}
	out := make([]string, 0, 1+strings.Count(full, "\n")+strings.Count(prev, "\n"))
	for _, s := range [2]string{full, prev} {
		for l := range strings.SplitSeq(s, "\n") {
			if l != "" {
				out = append(out, l)
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
