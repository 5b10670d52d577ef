// Package ossecxml reads OSSEC's XML dialect (ossec.conf, rules files): not
// one well-formed document but several top-level elements, comments that
// may hold "--", and hand edits that leave elements unclosed. It builds a
// tree, names each broken element by line, and keeps the rest, as OSSEC's
// own parser tolerates. It does no I/O.
package ossecxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// Node is one element of an OSSEC XML file. The root node (name "") holds the
// file's top-level elements, since the file may have several.
type Node struct {
	Name     string
	attr     []xml.Attr
	text     []byte // character data directly inside, untrimmed
	Children []*Node
	Line     int // line of the start tag
}

// Text is the element's own character data, trimmed as OSSEC's os_xml does.
func (n *Node) Text() string { return strings.TrimSpace(string(n.text)) }

// Attr returns the value of attribute name.
func (n *Node) Attr(name string) (string, bool) {
	for _, a := range n.attr {
		if qname(a.Name) == name {
			return a.Value, true
		}
	}
	return "", false
}

func qname(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

// treeParser builds a node tree with encoding/xml's RawToken, which neither
// checks that tags match nor wants a single root; matching is done here so
// that an unclosed element is named with its own line and the elements after
// it still load. A syntax error restarts the decoder at the next '<'.
type treeParser struct {
	file  string
	buf   []byte
	nl    []int // offsets of '\n' in buf
	probs []*ossec.ParseError
}

func Parse(file string, data []byte) (*Node, []*ossec.ParseError) {
	p := &treeParser{file: file, buf: toUTF8(data)}
	for i, c := range p.buf {
		if c == '\n' {
			p.nl = append(p.nl, i)
		}
	}
	p.blankComments()

	root := &Node{}
	stack := []*Node{root}
	for base := 0; base < len(p.buf); {
		d := xml.NewDecoder(bytes.NewReader(p.buf[base:]))
		d.Strict = false // OSSEC's own parser takes bare '&' and unknown entities
		d.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
		for {
			start := base + int(d.InputOffset())
			tok, err := d.RawToken()
			if errors.Is(err, io.EOF) {
				base = len(p.buf)
				break
			}
			if err != nil {
				line := p.lineOf(start)
				msg := err.Error()
				var se *xml.SyntaxError
				if errors.As(err, &se) {
					line = p.lineOf(base) + se.Line - 1
					msg = se.Msg
				}
				p.add(line, "malformed XML: "+msg, p.lineText(line))
				from := max(base+int(d.InputOffset()), start+1)
				next := -1
				if from < len(p.buf) {
					next = bytes.IndexByte(p.buf[from:], '<')
				}
				if next < 0 {
					base = len(p.buf)
				} else {
					base = from + next
				}
				break
			}
			top := stack[len(stack)-1]
			switch t := tok.(type) {
			case xml.StartElement:
				n := &Node{Name: qname(t.Name), attr: t.Attr, Line: p.lineOf(start)}
				top.Children = append(top.Children, n)
				stack = append(stack, n)
			case xml.EndElement:
				stack = p.close(stack, qname(t.Name), p.lineOf(start))
			case xml.CharData:
				top.text = append(top.text, t...)
			}
		}
	}
	for _, n := range stack[1:] {
		p.add(n.Line, fmt.Sprintf("element <%s> is not closed at end of file", n.Name), p.lineText(n.Line))
	}
	hoist(stack)
	return root, p.probs
}

// close pops the element named by an end tag. Elements opened after it are
// unclosed: each is named at its own line, and kept with what it had.
func (p *treeParser) close(stack []*Node, name string, line int) []*Node {
	for i := len(stack) - 1; i > 0; i-- {
		if stack[i].Name != name {
			continue
		}
		for _, n := range stack[i+1:] {
			p.add(n.Line, fmt.Sprintf("element <%s> is not closed (</%s> on line %d closes its parent)", n.Name, name, line), p.lineText(n.Line))
		}
		hoist(stack[i:])
		return stack[:i]
	}
	p.add(line, fmt.Sprintf("closing tag </%s> has no opening tag", name), p.lineText(line))
	return stack
}

// hoist repairs unclosed elements, open[1:], that hold a value of their own,
// such as "<level>6" missing its "</level>": the elements that followed were
// meant as their siblings, so they move up to the parent, open[0] for the
// first. Containers left open keep their children.
func hoist(open []*Node) {
	for k := len(open) - 1; k > 0; k-- {
		n, parent := open[k], open[k-1]
		if n.Text() == "" || len(n.Children) == 0 {
			continue
		}
		// n is the parent's last child: nothing could be added to the
		// parent while n was open.
		parent.Children = append(parent.Children, n.Children...)
		n.Children = nil
	}
}

// blankComments replaces every comment with spaces, keeping newlines, so that
// lines and offsets stay true. OSSEC's parser allows "--" inside comments,
// encoding/xml does not.
func (p *treeParser) blankComments() {
	b := p.buf
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte("<!--"))
		if j < 0 {
			return
		}
		j += i
		k := bytes.Index(b[j+4:], []byte("-->"))
		end := len(b)
		if k < 0 {
			line := p.lineOf(j)
			p.add(line, "comment is not closed", p.lineText(line))
		} else {
			end = j + 4 + k + 3
		}
		for x := j; x < end; x++ {
			if b[x] != '\n' {
				b[x] = ' '
			}
		}
		if end >= len(b) {
			return
		}
		i = end
	}
}

func (p *treeParser) lineOf(off int) int {
	return 1 + sort.SearchInts(p.nl, off)
}

func (p *treeParser) lineText(line int) string {
	if line < 1 || line > len(p.nl)+1 {
		return ""
	}
	from, to := 0, len(p.buf)
	if line > 1 {
		from = p.nl[line-2] + 1
	}
	if line <= len(p.nl) {
		to = p.nl[line-1]
	}
	return ossec.Snip(strings.TrimSpace(string(p.buf[from:to])))
}

func (p *treeParser) add(line int, reason, snippet string) {
	p.probs = append(p.probs, &ossec.ParseError{File: p.file, Line: line, Reason: reason, Snippet: snippet})
}

// toUTF8 reads bytes that are not UTF-8 as Latin-1, the usual encoding of
// old hand-edited OSSEC files, instead of failing the whole file. The copy is
// also what blankComments may overwrite.
func toUTF8(data []byte) []byte {
	if utf8.Valid(data) {
		return bytes.Clone(data)
	}
	out := make([]byte, 0, len(data)+len(data)/8)
	for len(data) > 0 {
		r, n := utf8.DecodeRune(data)
		if r == utf8.RuneError && n == 1 {
			out = utf8.AppendRune(out, rune(data[0]))
		} else {
			out = append(out, data[:n]...)
		}
		data = data[n:]
	}
	return out
}

// RawText is the element's own character data, untrimmed.
func (n *Node) RawText() string { return string(n.text) }
