package federation

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
)

// External lists are low-trust peers: Spamhaus DROP (and the former
// EDROP), FireHOL .netset/.ipset files and plain lists of addresses and
// prefixes. A list says "ban this" about each entry and nothing more.

// ListFormat is the syntax of an external list.
type ListFormat string

// The formats ParseList reads.
const (
	// FormatSpamhaus is Spamhaus DROP/EDROP: "prefix ; SBL123" lines with
	// ';' comments, or the JSON-lines form (drop_v4.json, drop_v6.json):
	// {"cidr":"...","sblid":"...","rir":"..."} and a final metadata
	// object.
	FormatSpamhaus ListFormat = "spamhaus"
	// FormatFireHOL is FireHOL's .netset/.ipset: '#' comments, one
	// address or prefix per line.
	FormatFireHOL ListFormat = "firehol"
	// FormatPlain is one address or prefix per line; '#' and ';' start
	// comments, anywhere on a line.
	FormatPlain ListFormat = "plain"
)

// ParseListFormat checks a format name.
func ParseListFormat(s string) (ListFormat, error) {
	switch f := ListFormat(s); f {
	case FormatSpamhaus, FormatFireHOL, FormatPlain:
		return f, nil
	}
	return "", fmt.Errorf("list format %q: want spamhaus, firehol or plain", s)
}

// ListLineError is a line of a list that could not be read: where
// (file or URL), which line (from 1), its text (cut to 100 bytes) and
// why.
type ListLineError struct {
	Source string
	Line   int
	Input  string
	Reason string
}

func (e *ListLineError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %q", e.Source, e.Line, e.Reason, e.Input)
}

// ListResult is what ParseList read: the prefixes (masked, unmapped,
// sorted, each once) and the lines it could not read. Problems holds at
// most MaxListProblems of them; BadLines counts all.
type ListResult struct {
	Prefixes []netip.Prefix
	Problems []*ListLineError
	BadLines int
}

// MaxListProblems bounds the line errors a result keeps.
const MaxListProblems = 100

// maxListLine bounds one line of a list.
const maxListLine = 64 << 10

// ParseList reads a list in format f from r. source names it in line
// errors. A bad line is reported and skipped: the rest loads. Only a read
// error (or a line longer than 64 KiB) fails the whole list.
func ParseList(source string, f ListFormat, r io.Reader) (ListResult, error) {
	var res ListResult
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxListLine)
	n := 0
	bad := func(line, reason string) {
		res.BadLines++
		if len(res.Problems) < MaxListProblems {
			if len(line) > 100 {
				line = line[:100]
			}
			res.Problems = append(res.Problems, &ListLineError{Source: source, Line: n, Input: line, Reason: reason})
		}
	}
	for sc.Scan() {
		n++
		raw := sc.Bytes()
		if n == 1 {
			raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf")) // a UTF-8 byte-order mark
		}
		line := strings.TrimSpace(string(raw))
		var text string
		switch f {
		case FormatSpamhaus:
			if strings.HasPrefix(line, "{") {
				var obj struct {
					CIDR string `json:"cidr"`
					Type string `json:"type"`
				}
				if err := json.Unmarshal([]byte(line), &obj); err != nil {
					bad(line, "not a JSON object")
					continue
				}
				if obj.Type == "metadata" && obj.CIDR == "" {
					continue
				}
				if obj.CIDR == "" {
					bad(line, "no cidr")
					continue
				}
				text = obj.CIDR
			} else {
				text, _, _ = strings.Cut(line, ";")
			}
		case FormatFireHOL:
			text, _, _ = strings.Cut(line, "#")
		default:
			text, _, _ = strings.Cut(line, "#")
			text, _, _ = strings.Cut(text, ";")
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		if strings.ContainsAny(text, " \t") {
			bad(line, "more than one field")
			continue
		}
		p, err := parsePrefix(text)
		if err != nil {
			bad(line, err.Error())
			continue
		}
		res.Prefixes = append(res.Prefixes, p)
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("read list %s after line %d: %w", source, n, err)
	}
	slices.SortFunc(res.Prefixes, comparePrefix)
	res.Prefixes = slices.Compact(res.Prefixes)
	return res, nil
}

// parsePrefix reads an address or a CIDR prefix; a prefix with host bits
// set is refused (a typo, or a list that means something else).
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("not an address or prefix")
		}
		if p != p.Masked() {
			return netip.Prefix{}, fmt.Errorf("host bits set (want %s)", p.Masked())
		}
		return canon(p), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("not an address or prefix")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}
