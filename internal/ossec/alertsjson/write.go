package alertsjson

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// AppendAlert appends a as one alerts.json line, '\n' included, in dialect d
// (DialectUnknown writes OSSEC42). Like OSSEC's writer it emits a key only
// when its value is non-empty, in OSSEC's key order, with OSSEC 3.2's
// duplicate keys; ports are strings as OSSEC's decoders keep them.
//
// What the model does not know is not invented: OSSEC's JSON has no mail
// flag, so only Wazuh lines carry Mail; all log lines go to full_log, since
// the model cannot tell a multi-line event (syscheck) from a frequency rule's
// earlier events (previous_output); pci_dss_* and cis_* groups stay in the
// groups array rather than moving to PCI_DSS/CIS. The local "timestamp" is
// written in a.Time's location (UTC for alerts from Rampart's readers).
func AppendAlert(b []byte, a *ossec.Alert, d Dialect) []byte {
	e := encoder{b: b}
	if d == Wazuh {
		e.wazuh(a)
	} else {
		if d <= DialectUnknown || d >= numDialects {
			d = OSSEC42
		}
		e.ossec(a, d)
	}
	return append(e.b, '\n')
}

func (e *encoder) ossec(a *ossec.Alert, d Dialect) {
	e.open("")
	e.open("rule")
	e.num("level", int64(a.Level))
	e.str("comment", a.Description)
	e.num("sidid", int64(a.RuleID))
	if d == OSSEC30 || d == OSSEC42 {
		if len(a.Groups) > 0 {
			e.str("group", strings.Join(a.Groups, ",")+",")
		}
	}
	if d >= OSSEC32 {
		e.strs("groups", a.Groups)
	}
	e.close()
	if d >= OSSEC30 {
		switch {
		case !a.ID.IsZero():
			e.str("id", a.ID.String())
			if a.ID.Epoch < math.MaxInt64/1000 {
				e.num("TimeStamp", a.ID.Epoch*1000)
			}
		case !a.Time.IsZero():
			e.num("TimeStamp", a.Time.UnixMilli())
		}
	}
	e.addr("srcip", a.SrcIP.IsValid(), a.SrcIP.String())
	e.port("srcport", a.SrcPort)
	e.addr("dstip", a.DstIP.IsValid(), a.DstIP.String())
	e.port("dstport", a.DstPort)
	e.str("dstuser", a.User)

	loc, host := splitLocation(a.Location)
	e.str("location", loc)
	e.str("full_log", strings.Join(a.Log, "\n"))
	if d >= OSSEC30 {
		e.str("hostname", host)
	}
	// What W_ParseJSON appends in 3.2+, from analysisd's hostname and
	// location.
	name := host
	if strings.HasPrefix(host, "(") {
		name = a.Location.Agent
	}
	path := loc
	if strings.HasPrefix(loc, "(") {
		if i := strings.IndexByte(loc, '>'); i >= 0 {
			path = loc[i+1:]
		}
	}
	agentIP := ""
	if strings.HasPrefix(a.Location.Raw, "(") {
		agentIP = a.Location.AgentIP
	}
	ts := ""
	if !a.Time.IsZero() {
		ts = a.Time.Format(ossecTimestamp)
	}
	switch {
	case d == OSSEC32:
		e.str("hostname", name)
		e.str("agentip", agentIP)
		e.str("timestamp", ts)
		e.str("location", path)
	case d >= OSSEC34:
		e.str("agent_name", name)
		e.str("agentip", agentIP)
		e.str("timestamp", ts)
		e.str("logfile", path)
	}
	e.close()
}

// splitLocation returns analysisd's location and hostname for an alerts.log
// location string: an agent's "(name) ip->path" is both; "host->path" is
// hostname "host" and location "path".
func splitLocation(l ossec.Location) (loc, host string) {
	raw := l.Raw
	switch {
	case strings.HasPrefix(raw, "("):
		return raw, raw
	case l.Manager != "" && strings.HasPrefix(raw, l.Manager+"->"):
		return raw[len(l.Manager)+2:], l.Manager
	}
	return raw, ""
}

func (e *encoder) wazuh(a *ossec.Alert) {
	e.open("")
	if !a.Time.IsZero() {
		e.str("timestamp", a.Time.Format("2006-01-02T15:04:05.000-0700"))
	}
	e.open("rule")
	e.num("level", int64(a.Level))
	e.str("description", a.Description)
	if a.RuleID != 0 {
		e.str("id", strconv.Itoa(a.RuleID))
	}
	if a.Mail {
		e.key("mail")
		e.b = append(e.b, "true"...)
	}
	e.strs("groups", a.Groups)
	e.close()

	loc, host := splitLocation(a.Location)
	path := loc
	if strings.HasPrefix(a.Location.Raw, "(") {
		// An agent: Wazuh's location is the path alone.
		path = a.Location.Source
		e.open("agent")
		e.str("name", a.Location.Agent)
		if a.Location.AgentIP != "any" {
			// Wazuh leaves the address out when it has none; the reader
			// writes "any" back, as alerts.log does.
			e.str("ip", a.Location.AgentIP)
		}
		e.close()
	} else if host != "" {
		e.open("agent")
		e.str("id", "000")
		e.str("name", host)
		e.close()
		e.open("manager")
		e.str("name", host)
		e.close()
	}
	e.str("id", a.ID.String())
	e.str("full_log", strings.Join(a.Log, "\n"))
	if a.SrcIP.IsValid() || a.DstIP.IsValid() || a.SrcPort != 0 || a.DstPort != 0 || a.User != "" {
		e.open("data")
		e.addr("srcip", a.SrcIP.IsValid(), a.SrcIP.String())
		e.port("srcport", a.SrcPort)
		e.addr("dstip", a.DstIP.IsValid(), a.DstIP.String())
		e.port("dstport", a.DstPort)
		e.str("dstuser", a.User)
		e.close()
	}
	e.str("location", path)
	e.close()
}

// encoder writes compact JSON objects by hand: no reflection, keys in the
// order OSSEC writes them.
type encoder struct {
	b     []byte
	comma bool
}

func (e *encoder) key(k string) {
	if e.comma {
		e.b = append(e.b, ',')
	}
	e.comma = true
	e.b = appendString(e.b, k)
	e.b = append(e.b, ':')
}

// open starts an object; the top-level one has no key.
func (e *encoder) open(k string) {
	if k != "" {
		e.key(k)
	}
	e.b = append(e.b, '{')
	e.comma = false
}

func (e *encoder) close() {
	e.b = append(e.b, '}')
	e.comma = true
}

func (e *encoder) str(k, v string) {
	if v == "" {
		return
	}
	e.key(k)
	e.b = appendString(e.b, v)
}

func (e *encoder) strs(k string, vs []string) {
	if len(vs) == 0 {
		return
	}
	e.key(k)
	e.b = append(e.b, '[')
	for i, v := range vs {
		if i > 0 {
			e.b = append(e.b, ',')
		}
		e.b = appendString(e.b, v)
	}
	e.b = append(e.b, ']')
}

func (e *encoder) num(k string, v int64) {
	if v == 0 {
		return
	}
	e.key(k)
	e.b = strconv.AppendInt(e.b, v, 10)
}

func (e *encoder) addr(k string, ok bool, s string) {
	if ok {
		e.str(k, s)
	}
}

func (e *encoder) port(k string, p uint16) {
	if p == 0 {
		return
	}
	e.key(k)
	e.b = append(e.b, '"')
	e.b = strconv.AppendUint(e.b, uint64(p), 10)
	e.b = append(e.b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string. Like cJSON it leaves <, > and &
// alone; unlike cJSON it turns invalid UTF-8 into U+FFFD so that every line
// is valid JSON.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
