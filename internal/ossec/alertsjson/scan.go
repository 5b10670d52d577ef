package alertsjson

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

var (
	quotedLocation = []byte(`"location"`)
	quotedHostname = []byte(`"hostname"`)
)

// hasDuplicates reports whether line may hold a key twice that encoding/json
// would resolve to its last value. A quoted name can only be a key or a whole
// string value (a quote inside a string is escaped), so a single occurrence
// proves there is no duplicate; two occurrences are checked by firstStrings.
func hasDuplicates(line []byte) bool {
	return bytes.Count(line, quotedLocation) > 1 || bytes.Count(line, quotedHostname) > 1
}

// firstStrings returns the first top-level string values of "location" and
// "hostname" in a JSON object. OSSEC 3.2/3.3 write both keys twice and the
// first ones are those that rebuild the alerts.log location. The line has
// already been validated by encoding/json; on any surprise the scan stops and
// reports what it found so far.
func firstStrings(line []byte) (loc, host string, locOK, hostOK bool) {
	i := skipSpace(line, 0)
	if i >= len(line) || line[i] != '{' {
		return
	}
	i++
	for !(locOK && hostOK) {
		i = skipSpace(line, i)
		if i >= len(line) {
			return
		}
		switch line[i] {
		case '}':
			return
		case ',':
			i++
			continue
		case '"':
		default:
			return
		}
		keyEnd := skipString(line, i)
		if keyEnd < 0 {
			return
		}
		key := line[i+1 : keyEnd-1]
		i = skipSpace(line, keyEnd)
		if i >= len(line) || line[i] != ':' {
			return
		}
		i = skipSpace(line, i+1)
		end := skipValue(line, i)
		if end < 0 {
			return
		}
		if line[i] == '"' {
			switch string(key) {
			case "location":
				if !locOK {
					loc, locOK = decodeString(line[i:end])
				}
			case "hostname":
				if !hostOK {
					host, hostOK = decodeString(line[i:end])
				}
			}
		}
		i = end
	}
	return
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"', or
// -1 if it does not end.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the JSON value starting at b[i], or -1.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end := skipString(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\r' && b[j] != '\n' {
			j++
		}
		return j
	}
}

// decodeString decodes a quoted JSON string.
func decodeString(q []byte) (string, bool) {
	if len(q) < 2 {
		return "", false
	}
	// encoding/json replaces invalid UTF-8; the fast path must agree.
	if bytes.IndexByte(q, '\\') < 0 && utf8.Valid(q) {
		return string(q[1 : len(q)-1]), true
	}
	var s string
	if err := json.Unmarshal(q, &s); err != nil {
		return "", false
	}
	return s, true
}
