package ossec

import (
	"fmt"
	"strconv"
)

// ParseError is one malformed alert. Readers report it, count it and go on
// with the next alert: a bad alert never shifts the alerts around it.
type ParseError struct {
	File string // file name or data source
	Line int    // 1-based line of the alert's first line; 0 if not line-based
	// Reason says what is wrong, e.g. `missing "Rule:" line`.
	Reason string
	// Snippet is the alert's first bytes, at most SnippetLen of them.
	Snippet string
}

// SnippetLen is how many bytes of a malformed alert a ParseError quotes.
const SnippetLen = 80

func (e *ParseError) Error() string {
	where := e.File
	if e.Line > 0 {
		where += ":" + strconv.Itoa(e.Line)
	}
	return fmt.Sprintf("%s: %s: %s", where, e.Reason, strconv.Quote(e.Snippet))
}

// Snip cuts s to SnippetLen bytes for a ParseError.
func Snip(s string) string {
	if len(s) > SnippetLen {
		return s[:SnippetLen]
	}
	return s
}

// Stream is what every reader returns: alerts one at a time, in the order of
// the source.
//
//	for s.Next() {
//		a := s.Alert()
//		...
//	}
//	if err := s.Err(); err != nil { ... }
//
// Next returns false at the end or on a fatal error (Err then says which).
// The *Alert returned by Alert is valid until the next call to Next; a caller
// that keeps it copies it. Malformed alerts are not fatal: they go to the
// reader's problem handler (see Problems) and Next moves on.
type Stream interface {
	Next() bool
	Alert() *Alert
	Err() error
}

// Problems receives malformed alerts. A nil Problems only counts them.
type Problems func(*ParseError)
