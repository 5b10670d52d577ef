package ossec

import (
	"hash/fnv"
	"net/netip"
	"strconv"
	"time"
)

// Alert is one OSSEC alert as every reader delivers it.
//
// The zero value of an optional field means "absent": an invalid SrcIP, a zero
// port, an empty User. Readers normalise addresses on entry (see ParseAddr), so
// an IPv4-mapped IPv6 source is stored as plain IPv4.
type Alert struct {
	// ID is the "<epoch>.<n>" identifier from the alert header.
	ID ID
	// Time is the event time: the epoch of ID, in UTC. It is never the
	// database's insert-time "timestamp" column.
	Time time.Time
	// Mail reports whether the header carried the mail flag.
	Mail bool

	RuleID      int
	Level       int
	Description string
	// Groups are the rule's groups in the order OSSEC wrote them.
	Groups []string

	SrcIP   netip.Addr
	SrcPort uint16
	DstIP   netip.Addr
	DstPort uint16
	// User is the destination user OSSEC decoded ("User:" line, dstuser).
	User string

	Location Location
	// Log holds the alert's log lines: the event, then the earlier events
	// of a frequency or correlation rule.
	Log []string
}

// ID is an alert identifier "<epoch>.<n>". Up to OSSEC 4.1 n is the alert's
// byte offset in that day's alerts.log; from 4.2 it is a counter that restarts
// with analysisd, so it identifies an alert only together with its epoch and
// manager. The zero ID means unknown.
type ID struct {
	Epoch int64
	Seq   int64
}

// IsZero reports whether id is the zero (unknown) ID.
func (id ID) IsZero() bool { return id == ID{} }

// String returns "<epoch>.<n>", or "" for the zero ID.
func (id ID) String() string {
	if id.IsZero() {
		return ""
	}
	b := make([]byte, 0, 24)
	b = strconv.AppendInt(b, id.Epoch, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, id.Seq, 10)
	return string(b)
}

// ParseID parses "<epoch>.<n>" as written in alert headers, alerts.json "id"
// and the ossec-dbd "alertid" column.
func ParseID(s string) (ID, error) {
	dot := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			dot = i
			break
		}
	}
	if dot <= 0 || dot == len(s)-1 {
		return ID{}, &SyntaxError{What: "alert id", Input: s, Reason: `want "<epoch>.<n>"`}
	}
	epoch, ok1 := parseUint(s[:dot])
	seq, ok2 := parseUint(s[dot+1:])
	if !ok1 || !ok2 {
		return ID{}, &SyntaxError{What: "alert id", Input: s, Reason: `want "<epoch>.<n>" with decimal numbers`}
	}
	return ID{Epoch: epoch, Seq: seq}, nil
}

// parseUint parses a non-empty run of at most 18 decimal digits.
func parseUint(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// SyntaxError reports text that does not have the form OSSEC writes.
type SyntaxError struct {
	What   string // what was being parsed, e.g. "alert id"
	Input  string
	Reason string
}

func (e *SyntaxError) Error() string {
	return "parse " + e.What + " " + strconv.Quote(e.Input) + ": " + e.Reason
}

// Key returns a 64-bit identity of the alert used to recognise the same alert
// read twice, whether from the same file, another copy of it, or another
// format: it hashes the ID, the rule and the location after ossec-dbd's
// sanitising (the database's copy of a location is sanitised, the file's is
// not). Two different alerts share a key only by hash collision; stores pair
// it with Time to make that negligible.
func (a *Alert) Key() uint64 {
	h := fnv.New64a()
	var buf [64]byte
	b := strconv.AppendInt(buf[:0], a.ID.Epoch, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, a.ID.Seq, 10)
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(a.RuleID), 10)
	b = append(b, 0)
	h.Write(b)
	h.Write([]byte(SanitizeDB(a.Location.Raw)))
	return h.Sum64()
}

// TimeFromID returns the event time carried by id, in UTC.
func TimeFromID(id ID) time.Time {
	if id.IsZero() {
		return time.Time{}
	}
	return time.Unix(id.Epoch, 0).UTC()
}
