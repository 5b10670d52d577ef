package hostsdeny

import (
	"bytes"
	"strings"
)

// The comment lines that announce Rampart's lines in hosts.deny.
const (
	// Marker is written before the single form's include line. Rampart
	// releases before the sharded form wrote it too: it is recognised in
	// any form, so an upgrade replaces that line.
	Marker = "# rampart: managed include, do not edit (rampart enforce remove deletes it)"
	// BlockBegin and BlockEnd enclose the sharded form's lines.
	BlockBegin = "# rampart: managed block, do not edit (rampart enforce remove deletes it) -- begin"
	BlockEnd   = "# rampart: managed block -- end"
)

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

// owner recognises the lines of hosts.deny that Rampart wrote, in both
// forms, whatever form is wanted now: switching forms (or upgrading from the
// single line) replaces the other form's lines.
type owner struct {
	listPath string          // the single form's list file
	shardDir string          // the sharded form's directory
	want     []string        // the lines the wanted form writes, in order
	known    map[string]bool // canonical lines of both forms
}

func newOwner(daemons, listPath, shardDir string, want []string) *owner {
	o := &owner{listPath: listPath, shardDir: shardDir, want: want, known: map[string]bool{}}
	o.known[singleLine(daemons, listPath)] = true
	for _, l := range shardLines(daemons, shardDir) {
		o.known[l] = true
	}
	return o
}

// isIncludeFor reports whether s has the shape "<daemons>: <path>", the
// line the single form's marker announces, whatever the daemon list.
func isIncludeFor(s, path string) bool {
	daemons, client, ok := strings.Cut(s, ":")
	return ok && strings.TrimSpace(daemons) != "" && !strings.Contains(daemons, "#") &&
		strings.TrimSpace(client) == path
}

// isShardLine reports whether s has the shape of a sharded-form line,
// "<daemons>: <guard> EXCEPT ALL EXCEPT <dir>/current/<name>" with the
// guard that belongs to name, whatever the daemon list.
func (o *owner) isShardLine(s string) bool {
	daemons, client, ok := strings.Cut(s, ":")
	if !ok || strings.TrimSpace(daemons) == "" || strings.Contains(daemons, "#") {
		return false
	}
	f := strings.Fields(client)
	if len(f) != 5 || f[1] != "EXCEPT" || f[2] != "ALL" || f[3] != "EXCEPT" {
		return false
	}
	name, ok := strings.CutPrefix(f[4], o.shardDir+"/"+currentName+"/")
	if !ok {
		return false
	}
	i, ok := shardIndex(name)
	return ok && f[0] == shardGuard(i)
}

// owned marks the physical lines Rampart wrote: the markers; the single
// include line right after its marker; a sharded line between the block's
// markers; and any line equal to a canonical line of either form (its
// marker may have been deleted by hand). Only lines that start a logical
// line qualify, so a continuation of someone else's rule is never taken,
// and a foreign line inside the block stays.
func (o *owner) owned(lines []physLine) []bool {
	own := make([]bool, len(lines))
	inBlock := false
	for i, l := range lines {
		if !l.start {
			continue
		}
		c := content(l.text)
		switch {
		case c == Marker, o.known[c]:
			own[i] = true
		case c == BlockBegin:
			own[i], inBlock = true, true
		case c == BlockEnd:
			own[i], inBlock = true, false
		case i > 0 && own[i-1] && content(lines[i-1].text) == Marker && isIncludeFor(c, o.listPath):
			own[i] = true
		case inBlock && o.isShardLine(c):
			own[i] = true
		}
	}
	return own
}

// canonical reports whether lines hold the wanted lines once, in order,
// each with its newline, and no other line Rampart owns.
func (o *owner) canonical(lines []physLine, own []bool) bool {
	n, at := 0, -1
	for i := range lines {
		if !own[i] {
			continue
		}
		if n == 0 {
			at = i
		}
		n++
	}
	if n != len(o.want) || at < 0 || at+n > len(lines) {
		return false
	}
	for k, w := range o.want {
		l := lines[at+k].text
		if !own[at+k] || content(l) != w || !bytes.HasSuffix(l, []byte("\n")) {
			return false
		}
	}
	return true
}

// with returns data holding the wanted lines exactly once, and whether that
// changed anything. When the file already holds them in canonical form,
// data is returned untouched. Otherwise every line Rampart owns is dropped
// and the wanted lines are put after the last complete logical line: before
// a last line that lacks its newline, or before a dangling backslash
// continuation at the end, so neither gets joined with our lines nor loses
// its bytes.
func (o *owner) with(data []byte) ([]byte, bool) {
	lines := splitLines(data)
	own := o.owned(lines)
	if o.canonical(lines, own) {
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
	size := len(data)
	for _, w := range o.want {
		size += len(w) + 1
	}
	out := make([]byte, 0, size)
	for _, l := range kept[:at] {
		out = append(out, l.text...)
	}
	for _, w := range o.want {
		out = append(out, w...)
		out = append(out, '\n')
	}
	for _, l := range kept[at:] {
		out = append(out, l.text...)
	}
	return out, true
}

// without returns data without the lines Rampart owns, and whether there
// were any.
func (o *owner) without(data []byte) ([]byte, bool) {
	lines := splitLines(data)
	own := o.owned(lines)
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

// has reports whether data holds the wanted lines once, in canonical form;
// used to skip the lock when there is nothing to do.
func (o *owner) has(data []byte) bool {
	lines := splitLines(data)
	return o.canonical(lines, o.owned(lines))
}
