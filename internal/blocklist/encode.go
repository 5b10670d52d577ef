package blocklist

import (
	"bytes"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Headers of the canonical encoding.
const (
	listMagic  = "# rampart blocklist v1"
	deltaMagic = "# rampart blocklist delta v1"
	sigPrefix  = "# signature "
)

// DecodeError is a malformed canonical encoding: the line (from 1) and its
// text.
type DecodeError struct {
	Line   int
	Input  string
	Reason string
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("blocklist line %d: %s: %q", e.Line, e.Reason, e.Input)
}

// appendEntry writes "prefix" or "prefix # expires T"; a full-length prefix
// is written as the bare address.
func appendEntry(b []byte, e Entry) []byte {
	if e.Prefix.IsSingleIP() {
		b = e.Prefix.Addr().AppendTo(b)
	} else {
		b = e.Prefix.AppendTo(b)
	}
	if !e.Expires.IsZero() {
		b = append(b, " # expires "...)
		b = e.Expires.UTC().AppendFormat(b, time.RFC3339)
	}
	return append(b, '\n')
}

func appendHeader(b []byte, key, val string) []byte {
	b = append(b, "# "...)
	b = append(b, key...)
	if val != "" {
		b = append(b, ' ')
		b = append(b, val...)
	}
	return append(b, '\n')
}

func appendCommon(b []byte, generated time.Time, intended bool, keyID string) []byte {
	b = appendHeader(b, "generated", generated.UTC().Format(time.RFC3339))
	if intended {
		b = appendHeader(b, "intended", "")
	}
	return appendHeader(b, "key", keyID)
}

// encodeList is the canonical encoding of l without its signature line.
func encodeList(l List, keyID string) []byte {
	b := make([]byte, 0, 128+len(l.Entries)*24)
	b = append(b, listMagic+"\n"...)
	b = appendHeader(b, "version", strconv.FormatUint(l.Version, 10))
	b = appendCommon(b, l.Generated, l.Intended, keyID)
	for _, e := range l.Entries {
		b = appendEntry(b, e)
	}
	return b
}

// encodeDelta is the canonical encoding of d without its signature line.
func encodeDelta(d Delta, keyID string) []byte {
	b := make([]byte, 0, 128+(len(d.Added)+len(d.Removed))*26)
	b = append(b, deltaMagic+"\n"...)
	b = appendHeader(b, "from", strconv.FormatUint(d.From, 10))
	b = appendHeader(b, "to", strconv.FormatUint(d.To, 10))
	b = appendCommon(b, d.Generated, d.Intended, keyID)
	for _, e := range d.Added {
		b = append(b, "+ "...)
		b = appendEntry(b, e)
	}
	for _, p := range d.Removed {
		b = append(b, "- "...)
		b = appendEntry(b, Entry{Prefix: p})
	}
	return b
}

// decoded is what the parser found in a canonical encoding.
type decoded struct {
	delta             bool
	version, from, to uint64
	generated         time.Time
	intended          bool
	keyID             string
	entries, added    []Entry
	removed           []netip.Prefix
	seenVer, seenFrom bool
	seenTo, seenGen   bool
}

// decode parses a canonical encoding without its signature line.
func decode(data []byte) (*decoded, error) {
	body := data
	d := &decoded{}
	n := 0
	inBody := false
	for len(data) > 0 {
		n++
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return nil, &DecodeError{Line: n, Input: string(data), Reason: "line without a final newline"}
		}
		line := string(data[:i])
		data = data[i+1:]
		if n == 1 {
			switch line {
			case listMagic:
			case deltaMagic:
				d.delta = true
			default:
				return nil, &DecodeError{Line: n, Input: line, Reason: "not a Rampart block list"}
			}
			continue
		}
		if !inBody && strings.HasPrefix(line, "# ") {
			if err := d.header(line[2:]); err != nil {
				return nil, &DecodeError{Line: n, Input: line, Reason: err.Error()}
			}
			continue
		}
		inBody = true
		if err := d.entry(line); err != nil {
			return nil, &DecodeError{Line: n, Input: line, Reason: err.Error()}
		}
	}
	switch {
	case n == 0:
		return nil, &DecodeError{Line: 1, Reason: "empty"}
	case d.keyID == "":
		return nil, &DecodeError{Line: n, Reason: "no key header"}
	case !d.seenGen:
		return nil, &DecodeError{Line: n, Reason: "no generated header"}
	case !d.delta && !d.seenVer:
		return nil, &DecodeError{Line: n, Reason: "no version header"}
	case d.delta && (!d.seenFrom || !d.seenTo):
		return nil, &DecodeError{Line: n, Reason: "no from/to header"}
	}
	return d, d.canonical(body)
}

// canonical checks that body is the one encoding of what it decoded to
// (header order, spellings of numbers, times and addresses), so that a list
// has exactly one signed form.
func (d *decoded) canonical(body []byte) error {
	var again []byte
	if d.delta {
		again = encodeDelta(Delta{From: d.from, To: d.to, Generated: d.generated, Intended: d.intended, Added: d.added, Removed: d.removed}, d.keyID)
	} else {
		again = encodeList(List{Version: d.version, Generated: d.generated, Intended: d.intended, Entries: d.entries}, d.keyID)
	}
	if bytes.Equal(again, body) {
		return nil
	}
	line := 1
	for i := range min(len(again), len(body)) {
		if again[i] != body[i] {
			break
		}
		if body[i] == '\n' {
			line++
		}
	}
	text, _, _ := bytes.Cut(body[bytes.LastIndexByte(body[:min(len(body), len(again))], '\n')+1:], []byte("\n"))
	return &DecodeError{Line: line, Input: string(text), Reason: "not in canonical form"}
}

func (d *decoded) header(h string) error {
	key, val, _ := strings.Cut(h, " ")
	var err error
	num := func(seen *bool, dst *uint64) error {
		if *seen {
			return fmt.Errorf("%s given twice", key)
		}
		*seen = true
		*dst, err = strconv.ParseUint(val, 10, 64)
		if err != nil || strconv.FormatUint(*dst, 10) != val {
			return fmt.Errorf("bad %s", key)
		}
		return nil
	}
	switch {
	case key == "version" && !d.delta:
		return num(&d.seenVer, &d.version)
	case key == "from" && d.delta:
		return num(&d.seenFrom, &d.from)
	case key == "to" && d.delta:
		return num(&d.seenTo, &d.to)
	case key == "generated" && !d.seenGen:
		d.seenGen = true
		if d.generated, err = parseTime(val); err != nil {
			return fmt.Errorf("bad generated time")
		}
	case key == "intended" && val == "" && !d.intended:
		d.intended = true
	case key == "key" && d.keyID == "" && val != "":
		d.keyID = val
	default:
		return fmt.Errorf("unexpected header")
	}
	return nil
}

func (d *decoded) entry(line string) error {
	op := byte(0)
	if d.delta {
		if len(line) < 2 || (line[0] != '+' && line[0] != '-') || line[1] != ' ' {
			return fmt.Errorf(`want "+ " or "- " and a prefix`)
		}
		op, line = line[0], line[2:]
	}
	pfx, rest, _ := strings.Cut(line, " ")
	var e Entry
	var err error
	if strings.Contains(pfx, "/") {
		e.Prefix, err = netip.ParsePrefix(pfx)
		if err == nil && (e.Prefix != e.Prefix.Masked() || e.Prefix.IsSingleIP()) {
			err = fmt.Errorf("not canonical")
		}
	} else {
		var a netip.Addr
		a, err = netip.ParseAddr(pfx)
		if err == nil && a.Zone() != "" {
			err = fmt.Errorf("zone")
		}
		e.Prefix = netip.PrefixFrom(a, a.BitLen())
	}
	if err != nil || e.Prefix.Addr().Is4In6() {
		return fmt.Errorf("bad prefix")
	}
	if rest != "" {
		ts, ok := strings.CutPrefix(rest, "# expires ")
		if !ok || op == '-' {
			return fmt.Errorf("unexpected text after the prefix")
		}
		if e.Expires, err = parseTime(ts); err != nil {
			return fmt.Errorf("bad expiry")
		}
	}
	switch op {
	case 0:
		if n := len(d.entries); n > 0 && compareEntries(d.entries[n-1], e) >= 0 {
			return fmt.Errorf("entries out of order or repeated")
		}
		d.entries = append(d.entries, e)
	case '+':
		if len(d.removed) > 0 {
			return fmt.Errorf("additions after removals")
		}
		if n := len(d.added); n > 0 && compareEntries(d.added[n-1], e) >= 0 {
			return fmt.Errorf("entries out of order or repeated")
		}
		d.added = append(d.added, e)
	case '-':
		if n := len(d.removed); n > 0 && compareEntries(Entry{Prefix: d.removed[n-1]}, e) >= 0 {
			return fmt.Errorf("entries out of order or repeated")
		}
		d.removed = append(d.removed, e.Prefix)
	}
	return nil
}

// parseTime reads a time as the encoding writes it: RFC 3339 in UTC, whole
// seconds, and nothing time.Parse would also take (a one-digit hour).
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || t.UTC().Format(time.RFC3339) != s {
		return time.Time{}, fmt.Errorf("not a canonical UTC time")
	}
	return t.UTC(), nil
}
