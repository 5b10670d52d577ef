package rules

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/ossecxml"
)

// MaxLevel is the highest rule level OSSEC accepts.
const MaxLevel = 16

// Rule is what Rampart needs of one <rule>.
type Rule struct {
	ID, Level   int
	Description string // whitespace collapsed, variables expanded
	// Groups are the enclosing <group name> entries, then the rule's own
	// <group> entries, in OSSEC's order (its "a,b,c," group string).
	Groups    []string
	File      string
	Line      int
	Overwrite bool // overwrite="yes": replaces a rule loaded before it
}

// LocalRules is the operator's file, loaded after every other.
const LocalRules = "local_rules.xml"

// LoadDir reads every *.xml file in dir, in name order with local_rules.xml
// last, and returns the rules by id. A rule defined again replaces the
// earlier one, and is reported unless it says overwrite="yes"; a rule that
// said overwrite="yes" is only replaced by another overwrite. The error is
// for a directory that cannot be read or holds no *.xml file (wrapping
// fs.ErrNotExist); problems inside files are returned with the rest.
func LoadDir(dir string) (map[int]Rule, []*ossec.ParseError, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("read rules directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".xml") {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("read rules directory %s: no *.xml files: %w", dir, fs.ErrNotExist)
	}
	// ReadDir sorts by name; only local_rules.xml moves.
	if i := slices.Index(names, LocalRules); i >= 0 {
		names = append(slices.Delete(names, i, i+1), LocalRules)
	}

	out := map[int]Rule{}
	var probs []*ossec.ParseError
	for _, name := range names {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			probs = append(probs, &ossec.ParseError{File: path, Reason: "cannot read: " + err.Error()})
			continue
		}
		rs, ps := Parse(path, data)
		probs = append(probs, ps...)
		for _, r := range rs {
			probs = merge(out, r, probs)
		}
	}
	return out, probs, nil
}

func merge(out map[int]Rule, r Rule, probs []*ossec.ParseError) []*ossec.ParseError {
	prev, dup := out[r.ID]
	switch {
	case !dup || r.Overwrite:
		out[r.ID] = r
		return probs
	case prev.Overwrite:
		return append(probs, &ossec.ParseError{File: r.File, Line: r.Line, Snippet: strconv.Itoa(r.ID),
			Reason: fmt.Sprintf("rule %d defined again; the overwrite at %s:%d stays", r.ID, prev.File, prev.Line)})
	default:
		out[r.ID] = r
		return append(probs, &ossec.ParseError{File: r.File, Line: r.Line, Snippet: strconv.Itoa(r.ID),
			Reason: fmt.Sprintf("rule %d already defined at %s:%d; this one replaces it, but OSSEC wants overwrite=\"yes\"", r.ID, prev.File, prev.Line)})
	}
}

// Parse reads one rules file. Rules come in file order; a rule with a bad
// id or level is reported and left out, the others still load.
func Parse(name string, data []byte) ([]Rule, []*ossec.ParseError) {
	root, probs := ossecxml.Parse(name, data)
	p := &ruleParser{file: name, vars: map[string]string{}}
	// OSSEC applies a file's variables to the whole file.
	for _, n := range root.Children {
		if n.Name == "var" {
			p.variable(n)
		}
	}
	for _, n := range root.Children {
		switch n.Name {
		case "var":
		case "group":
			v, _ := n.Attr("name")
			groups := splitGroups(p.expand(v))
			for _, c := range n.Children {
				if c.Name != "rule" {
					p.problem(c, fmt.Sprintf("<group>: unexpected element <%s>, want <rule>", c.Name), "<"+c.Name+">")
					continue
				}
				p.rule(c, groups)
			}
		case "rule":
			p.problem(n, "<rule> outside any <group>; loaded without group names", "<rule>")
			p.rule(n, nil)
		default:
			p.problem(n, fmt.Sprintf("unexpected top-level element <%s>, want <group> or <var>", n.Name), "<"+n.Name+">")
		}
	}
	all := append(probs, p.probs...)
	slices.SortStableFunc(all, func(a, b *ossec.ParseError) int { return a.Line - b.Line })
	return p.rules, all
}

type ruleParser struct {
	file  string
	vars  map[string]string
	rules []Rule
	probs []*ossec.ParseError
}

func (p *ruleParser) problem(n *ossecxml.Node, reason, snippet string) {
	p.probs = append(p.probs, &ossec.ParseError{File: p.file, Line: n.Line, Reason: reason, Snippet: ossec.Snip(snippet)})
}

func (p *ruleParser) variable(n *ossecxml.Node) {
	name, ok := n.Attr("name")
	if !ok || name == "" {
		p.problem(n, `<var>: missing attribute "name"`, "<var>")
		return
	}
	if _, dup := p.vars[name]; dup {
		p.problem(n, fmt.Sprintf("<var> %q defined again; the later value is used", name), name)
	}
	p.vars[name] = n.Text()
}

func (p *ruleParser) rule(n *ossecxml.Node, parent []string) {
	r := Rule{File: p.file, Line: n.Line, Groups: slices.Clone(parent)}
	id, ok := n.Attr("id")
	if !ok {
		p.problem(n, `<rule>: missing attribute "id"`, "<rule>")
		return
	}
	var err error
	if r.ID, err = number(id); err != nil {
		p.problem(n, `<rule>: attribute "id" is not a rule id`, id)
		return
	}
	lv, ok := n.Attr("level")
	if !ok {
		p.problem(n, fmt.Sprintf(`<rule id="%d">: missing attribute "level"`, r.ID), id)
		return
	}
	if r.Level, err = number(lv); err != nil || r.Level > MaxLevel {
		p.problem(n, fmt.Sprintf(`<rule id="%d">: attribute "level" is not a level from 0 to %d`, r.ID, MaxLevel), lv)
		return
	}
	if ow, ok := n.Attr("overwrite"); ok {
		switch ow {
		case "yes":
			r.Overwrite = true
		case "no":
		default:
			p.problem(n, fmt.Sprintf(`<rule id="%d">: attribute "overwrite" is not "yes" or "no"`, r.ID), ow)
		}
	}
	var desc strings.Builder
	for _, c := range n.Children {
		switch c.Name {
		case "description":
			// OSSEC appends every <description> to the last one, untrimmed:
			// shipped rules split long names over two elements.
			desc.WriteString(p.expand(c.RawText()))
		case "group":
			r.Groups = append(r.Groups, splitGroups(p.expand(c.Text()))...)
		}
	}
	r.Description = strings.Join(strings.Fields(desc.String()), " ")
	p.rules = append(p.rules, r)
}

// number reads a non-negative decimal as OSSEC's OS_StrIsNum allows.
func number(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return 0, strconv.ErrSyntax
	}
	return strconv.Atoi(s)
}

func splitGroups(s string) []string {
	var out []string
	for g := range strings.SplitSeq(s, ",") {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	return out
}

// expand replaces $NAME (OSSEC's spelling) and $(NAME) with the file's
// <var> values; an unknown name stays as written.
func (p *ruleParser) expand(s string) string {
	if len(p.vars) == 0 || !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' {
			b.WriteByte(s[i])
			i++
			continue
		}
		if i+1 < len(s) && s[i+1] == '(' {
			if j := strings.IndexByte(s[i+2:], ')'); j >= 0 {
				if v, ok := p.vars[s[i+2:i+2+j]]; ok {
					b.WriteString(v)
					i += 3 + j
					continue
				}
			}
		}
		j := i + 1
		for j < len(s) && isNameByte(s[j]) {
			j++
		}
		if v, ok := p.vars[s[i+1:j]]; ok && j > i+1 {
			b.WriteString(v)
			i = j
			continue
		}
		b.WriteByte('$')
		i++
	}
	return b.String()
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}
