package ossecconf

import (
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/ossecxml"
)

// DefaultBlock is the timeout of the active responses in OSSEC's installer
// template (host-deny and firewall-drop, level ≥ 6): the block to assume
// when ossec.conf is missing or says nothing.
const DefaultBlock = 600 * time.Second

// Permanent is the block of a response without a timeout: execd queues no
// delete for it, so the address stays blocked until OSSEC stops.
const Permanent = time.Duration(1<<63 - 1)

// MaxRepeatedOffenders is how many repeated_offenders steps execd reads.
const MaxRepeatedOffenders = 5

// Command is one <command> block.
type Command struct {
	Name       string
	Executable string
	// Expect lists the <expect> fields, e.g. ["srcip"]; may be empty.
	Expect         []string
	TimeoutAllowed bool
	Line           int
}

// ExpectsSrcIP reports whether the command is given the source address, as
// OSSEC decides it (a substring match on <expect>).
func (c Command) ExpectsSrcIP() bool {
	for _, e := range c.Expect {
		if strings.Contains(e, "srcip") {
			return true
		}
	}
	return false
}

// ActiveResponse is one <active-response> block that binds a command.
// Blocks holding only execd settings (repeated_offenders, disabled) are not
// responses; they land in Config.RepeatedOffenders and Config.ExecdDisabled.
type ActiveResponse struct {
	Command  string
	Location string // as written: local, server, defined-agent, all
	AgentID  string
	// Level is the minimum rule level; 0 means the block does not match by
	// level.
	Level   int
	RulesID []int
	// RulesGroup holds the alternatives of <rules_group>, which OSSEC matches
	// as a regex against the rule's "a,b,c," group string; '|' separates them.
	RulesGroup []string
	// Timeout is <timeout> in seconds; 0 means none (see Permanent).
	Timeout  time.Duration
	Disabled bool
	Line     int
}

// Config is what Rampart needs from one ossec.conf.
type Config struct {
	Commands  map[string]Command // by name; OSSEC uses the first definition
	Responses []ActiveResponse
	// RepeatedOffenders is execd's escalation ladder (minutes in the file).
	// execd reads only the first <repeated_offenders> in the file.
	RepeatedOffenders []time.Duration
	// ExecdDisabled is set when the first <active-response><disabled> in the
	// file says "yes": execd reads only that one, and then runs no response
	// at all on this host.
	ExecdDisabled bool
	WhiteList     []netip.Prefix // masked; single addresses as /32 or /128
	// WhiteListNames holds white_list entries that are not addresses: OSSEC
	// matches them (OSMatch patterns) against host names.
	WhiteListNames []string
	JSONOut        bool
	// CustomAlertOutput is <global><custom_alert_output>; when set,
	// alerts.log has the operator's format and cannot be parsed.
	CustomAlertOutput string
}

// Load reads and parses the ossec.conf at path. The error is for a file
// that cannot be read; problems inside it are returned with the rest.
func Load(path string) (*Config, []*ossec.ParseError, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read ossec.conf: %w", err)
	}
	c, probs := Parse(path, data)
	return c, probs, nil
}

// Parse reads ossec.conf text: any number of top-level <ossec_config>
// blocks, with comments. Every problem is named by file, line and element;
// what is well formed still loads, so the Config is never nil.
func Parse(name string, data []byte) (*Config, []*ossec.ParseError) {
	root, probs := ossecxml.Parse(name, data)
	p := &confParser{
		file: name,
		c:    &Config{Commands: map[string]Command{}},
		tree: probs,
	}
	for _, n := range root.Children {
		if n.Name != "ossec_config" {
			p.problem(n, fmt.Sprintf("unexpected top-level element <%s>, want <ossec_config>", n.Name), "<"+n.Name+">")
			continue
		}
		for _, sec := range n.Children {
			switch sec.Name {
			case "command":
				p.command(sec)
			case "active-response":
				p.response(sec)
			case "global":
				p.global(sec)
			}
		}
	}
	p.checkCommands()
	all := append(p.tree, p.probs...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].Line < all[j].Line })
	return p.c, all
}

type confParser struct {
	file        string
	c           *Config
	tree, probs []*ossec.ParseError
	sawRepeated bool
	sawDisabled bool
}

func (p *confParser) problem(n *ossecxml.Node, reason, snippet string) {
	p.probs = append(p.probs, &ossec.ParseError{File: p.file, Line: n.Line, Reason: reason, Snippet: ossec.Snip(snippet)})
}

// bad reports an element whose value is wrong, quoting the value.
func (p *confParser) bad(parent, n *ossecxml.Node, what string) {
	p.problem(n, fmt.Sprintf("<%s><%s>: %s", parent.Name, n.Name, what), n.Text())
}

func yesNo(s string) (v, ok bool) {
	switch s {
	case "yes":
		return true, true
	case "no":
		return false, true
	}
	return false, false
}

func (p *confParser) command(sec *ossecxml.Node) {
	cmd := Command{Line: sec.Line}
	var haveExpect bool
	for _, e := range sec.Children {
		switch e.Name {
		case "name":
			cmd.Name = e.Text()
		case "executable":
			cmd.Executable = e.Text()
		case "expect":
			haveExpect = true
			for f := range strings.SplitSeq(e.Text(), ",") {
				if f = strings.TrimSpace(f); f != "" {
					cmd.Expect = append(cmd.Expect, f)
				}
			}
		case "timeout_allowed":
			v, ok := yesNo(e.Text())
			if !ok {
				p.bad(sec, e, `want "yes" or "no"`)
				return
			}
			cmd.TimeoutAllowed = v
		case "extra_args":
		default:
			p.problem(e, fmt.Sprintf("<command>: unknown element <%s>", e.Name), "<"+e.Name+">")
		}
	}
	switch {
	case cmd.Name == "":
		p.problem(sec, "<command>: missing <name>", "<command>")
	case cmd.Executable == "":
		p.problem(sec, fmt.Sprintf("<command> %q: missing <executable>", cmd.Name), cmd.Name)
	case !haveExpect:
		p.problem(sec, fmt.Sprintf("<command> %q: missing <expect>", cmd.Name), cmd.Name)
	default:
		if prev, dup := p.c.Commands[cmd.Name]; dup {
			p.problem(sec, fmt.Sprintf("<command> %q: already defined on line %d, which OSSEC uses", cmd.Name, prev.Line), cmd.Name)
			return
		}
		p.c.Commands[cmd.Name] = cmd
	}
}

func (p *confParser) response(sec *ossecxml.Node) {
	ar := ActiveResponse{Line: sec.Line}
	ok := true
	var execdOnly bool
	for _, e := range sec.Children {
		v := e.Text()
		switch e.Name {
		case "command":
			ar.Command = v
		case "location":
			ar.Location = v
		case "agent_id":
			ar.AgentID = v
		case "level":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 20 || v[0] == '+' {
				p.bad(sec, e, "want a level from 0 to 20")
				ok = false
				continue
			}
			ar.Level = n
		case "rules_id":
			ar.RulesID = p.ruleIDs(sec, e)
		case "rules_group":
			for g := range strings.SplitSeq(v, "|") {
				if g = strings.TrimSpace(g); g != "" {
					ar.RulesGroup = append(ar.RulesGroup, g)
				}
			}
		case "timeout":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || v[0] == '+' {
				p.bad(sec, e, "want a number of seconds")
				ok = false
				continue
			}
			ar.Timeout = time.Duration(n) * time.Second
		case "disabled":
			d, good := yesNo(v)
			if !good {
				p.bad(sec, e, `want "yes" or "no"`)
				ok = false
				continue
			}
			ar.Disabled = d
			execdOnly = true
			if !p.sawDisabled {
				p.sawDisabled = true
				p.c.ExecdDisabled = d
			}
		case "repeated_offenders":
			execdOnly = true
			p.repeated(sec, e)
		default:
			// Wazuh agents' ca_store and ca_verification land here too:
			// OSSEC refuses them, Rampart only says so.
			p.problem(e, fmt.Sprintf("<active-response>: unknown element <%s>", e.Name), "<"+e.Name+">")
		}
	}
	if !ok {
		return
	}
	if ar.Command == "" {
		if !execdOnly {
			p.problem(sec, "<active-response>: missing <command>", "<active-response>")
		}
		return
	}
	if ar.Disabled {
		// OSSEC drops the block before checking it further.
		p.c.Responses = append(p.c.Responses, ar)
		return
	}
	switch {
	case ar.Location == "":
		p.problem(sec, fmt.Sprintf("<active-response> %q: missing <location>", ar.Command), ar.Command)
		return
	case !validLocation(ar.Location):
		p.problem(sec, fmt.Sprintf("<active-response> %q: <location> is none of local, server, defined-agent, all", ar.Command), ar.Location)
		return
	case strings.Contains(ar.Location, "defined-agent") && ar.AgentID == "":
		p.problem(sec, fmt.Sprintf("<active-response> %q: location defined-agent needs <agent_id>", ar.Command), ar.Location)
		return
	}
	p.c.Responses = append(p.c.Responses, ar)
}

// validLocation matches OSSEC's substring tests on <location>.
func validLocation(s string) bool {
	for _, w := range []string{"AS", "analysisd", "analysis-server", "server", "local", "defined-agent", "all", "any"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// ruleIDs reads "5712, 5720" as OSSEC does: numbers split by commas,
// spaces allowed. A bad entry is reported and skipped.
func (p *confParser) ruleIDs(sec, e *ossecxml.Node) []int {
	var ids []int
	for f := range strings.SplitSeq(e.Text(), ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		id, err := strconv.Atoi(f)
		if err != nil || id < 0 || f[0] == '+' || f[0] == '-' {
			p.problem(e, fmt.Sprintf("<%s><%s>: %q is not a rule id", sec.Name, e.Name, f), e.Text())
			continue
		}
		ids = append(ids, id)
	}
	return ids
}

func (p *confParser) repeated(sec, e *ossecxml.Node) {
	if p.sawRepeated {
		p.problem(e, "<active-response><repeated_offenders>: ignored, execd reads only the first one in the file", e.Text())
		return
	}
	p.sawRepeated = true
	var steps []time.Duration
	for f := range strings.SplitSeq(e.Text(), ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if len(steps) == MaxRepeatedOffenders {
			p.bad(sec, e, fmt.Sprintf("more than %d values, execd uses the first %d", MaxRepeatedOffenders, MaxRepeatedOffenders))
			break
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 || f[0] == '+' {
			// execd's list ends at the first value that is not a positive
			// number of minutes.
			p.problem(e, fmt.Sprintf("<%s><%s>: %q is not a positive number of minutes; the ladder stops before it", sec.Name, e.Name, f), e.Text())
			break
		}
		if n > 1<<20 {
			p.problem(e, fmt.Sprintf("<%s><%s>: %q minutes is out of range", sec.Name, e.Name, f), e.Text())
			break
		}
		steps = append(steps, time.Duration(n)*time.Minute)
	}
	p.c.RepeatedOffenders = steps
}

func (p *confParser) global(sec *ossecxml.Node) {
	for _, e := range sec.Children {
		v := e.Text()
		switch e.Name {
		case "white_list":
			if v == "" {
				p.bad(sec, e, "empty")
				continue
			}
			if pfx, ok := parseWhiteList(v); ok {
				p.c.WhiteList = append(p.c.WhiteList, pfx)
			} else if looksNumeric(v) {
				p.bad(sec, e, "not an address or network")
			} else {
				p.c.WhiteListNames = append(p.c.WhiteListNames, v)
			}
		case "jsonout_output":
			b, ok := yesNo(v)
			if !ok {
				p.bad(sec, e, `want "yes" or "no"`)
				continue
			}
			p.c.JSONOut = b
		case "custom_alert_output":
			p.c.CustomAlertOutput = v
		}
	}
}

// checkCommands drops responses bound to a command that is not defined, or
// given a timeout the command does not allow: OSSEC refuses both.
func (p *confParser) checkCommands() {
	kept := p.c.Responses[:0]
	for _, ar := range p.c.Responses {
		if ar.Disabled {
			kept = append(kept, ar)
			continue
		}
		cmd, ok := p.c.Commands[ar.Command]
		switch {
		case !ok:
			p.probs = append(p.probs, &ossec.ParseError{File: p.file, Line: ar.Line,
				Reason: fmt.Sprintf("<active-response>: <command> %q is not defined", ar.Command), Snippet: ossec.Snip(ar.Command)})
		case ar.Timeout > 0 && !cmd.TimeoutAllowed:
			p.probs = append(p.probs, &ossec.ParseError{File: p.file, Line: ar.Line,
				Reason: fmt.Sprintf("<active-response>: <timeout> set but command %q has timeout_allowed no", ar.Command), Snippet: ossec.Snip(ar.Command)})
		default:
			kept = append(kept, ar)
		}
	}
	p.c.Responses = kept
}

// parseWhiteList reads an address, a CIDR network or OSSEC's
// address/dotted-netmask form.
func parseWhiteList(s string) (netip.Prefix, bool) {
	addr, mask, hasMask := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	bits := a.BitLen()
	if hasMask {
		if m, err := netip.ParseAddr(mask); err == nil && m.Is4() && a.Is4() {
			bits = maskBits(m.As4())
		} else if n, err := strconv.Atoi(mask); err == nil && mask[0] != '+' {
			bits = n
		} else {
			return netip.Prefix{}, false
		}
	}
	pfx, err := a.Prefix(bits)
	if err != nil || bits < 0 {
		return netip.Prefix{}, false
	}
	return pfx, true
}

// maskBits converts a dotted netmask; -1 if its ones are not contiguous.
func maskBits(m [4]byte) int {
	v := uint32(m[0])<<24 | uint32(m[1])<<16 | uint32(m[2])<<8 | uint32(m[3])
	n := 0
	for v&(1<<31) != 0 {
		n++
		v <<= 1
	}
	if v != 0 {
		return -1
	}
	return n
}

// looksNumeric tells a mistyped address or network from a host name
// pattern, which OSSEC also accepts in white_list.
func looksNumeric(s string) bool {
	if strings.Contains(s, "/") {
		return true
	}
	for _, c := range []byte(s) {
		if !(c >= '0' && c <= '9' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}
