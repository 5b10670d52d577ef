package hostsdeny

import (
	"bytes"
	"strings"
)

// Marker is the comment line written before Rampart's include line.
const Marker = "# rampart: managed include, do not edit (rampart enforce remove deletes it)"

// physLine is one physical line of hosts.deny: its bytes including the
// newline (if any), and whether it starts a logical line (the line before
// it does not end in a backslash continuation).
type physLine struct {
	text  []byte
	start bool
}

func splitLines(data []byte) []physLine {
	var out []physLine
	start := true
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var l []byte
		if i < 0 {
			l, data = data, nil
		} else {
			l, data = data[:i+1], data[i+1:]
		}
		out = append(out, physLine{text: l, start: start})
		start = !continues(l)
	}
	return out
}

// continues reports whether libwrap joins the next physical line to l: a
// backslash right before the newline. A line without a newline ends the file.
func continues(l []byte) bool {
	body, ok := bytes.CutSuffix(l, []byte("\n"))
	return ok && bytes.HasSuffix(body, []byte(`\`))
}

// content is a physical line without its newline.
func content(l []byte) string {
	return string(bytes.TrimSuffix(l, []byte("\n")))
}

// isIncludeFor reports whether s has the shape "<daemons>: <path>", the
// line a marker announces, whatever the daemon list.
func isIncludeFor(s, path string) bool {
	daemons, client, ok := strings.Cut(s, ":")
	return ok && strings.TrimSpace(daemons) != "" && !strings.Contains(daemons, "#") &&
		strings.TrimSpace(client) == path
}

// owned marks the physical lines Rampart wrote: marker lines, the include
// line right after a marker, and any line equal to the canonical include
// line (the marker may have been deleted by hand). Only lines that start a
// logical line qualify, so a continuation of someone else's rule is never
// taken.
func owned(lines []physLine, include, path string) []bool {
	own := make([]bool, len(lines))
	for i, l := range lines {
		if !l.start {
			continue
		}
		c := content(l.text)
		switch {
		case c == Marker:
			own[i] = true
		case c == include:
			own[i] = true
		case i > 0 && own[i-1] && content(lines[i-1].text) == Marker && isIncludeFor(c, path):
			own[i] = true
		}
	}
	return own
}

// withInclude returns data with exactly one marker and include line, and
// whether that changed anything. When the file already holds the block in
// canonical form, once, data is returned untouched. Otherwise every line
// Rampart owns is dropped and a fresh block is put after the last complete
// logical line: before a last line that lacks its newline, or before a
// dangling backslash continuation at the end, so neither gets joined with
// our lines nor loses its bytes.
func withInclude(data []byte, include, path string) ([]byte, bool) {
	lines := splitLines(data)
	own := owned(lines, include, path)
	n, block := 0, -1
	for i := range lines {
		if !own[i] {
			continue
		}
		n++
		if content(lines[i].text) == Marker && i+1 < len(lines) && own[i+1] &&
			content(lines[i+1].text) == include && bytes.HasSuffix(lines[i+1].text, []byte("\n")) {
			block = i
		}
	}
	if n == 2 && block >= 0 {
		return data, false
	}
	var kept []physLine
	for i, l := range lines {
		if !own[i] {
			kept = append(kept, l)
		}
	}
	// The insertion point: after the last physical line that ends a
	// logical line with a newline.
	at := 0
	for i, l := range kept {
		if bytes.HasSuffix(l.text, []byte("\n")) && !continues(l.text) {
			at = i + 1
		}
	}
	out := make([]byte, 0, len(data)+len(Marker)+len(include)+2)
	for _, l := range kept[:at] {
		out = append(out, l.text...)
	}
	out = append(out, Marker...)
	out = append(out, '\n')
	out = append(out, include...)
	out = append(out, '\n')
	for _, l := range kept[at:] {
		out = append(out, l.text...)
	}
	return out, true
}

// withoutInclude returns data without the lines Rampart owns, and whether
// there were any.
func withoutInclude(data []byte, include, path string) ([]byte, bool) {
	lines := splitLines(data)
	own := owned(lines, include, path)
	out := make([]byte, 0, len(data))
	changed := false
	for i, l := range lines {
		if own[i] {
			changed = true
			continue
		}
		out = append(out, l.text...)
	}
	if !changed {
		return data, false
	}
	return out, true
}

// hasInclude reports whether data holds exactly one canonical block; used
// to skip the lock when there is nothing to do.
func hasInclude(data []byte, include, path string) bool {
	_, changed := withInclude(data, include, path)
	return !changed
}
