package alertslog

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"

	"github.com/rampart-ids/rampart/internal/ossec"
)

const headerPrefix = "** Alert "

var monthNames = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// isHeader reports whether a line starts a block. Any line with the prefix
// does, even one whose numbers are bad: it still ends the block before it.
func isHeader(text []byte) bool {
	return len(text) >= len(headerPrefix) && string(text[:len(headerPrefix)]) == headerPrefix
}

// isLabel reports whether a line looks like a Wazuh agent label "key: value".
func isLabel(text []byte) bool {
	i := bytes.IndexByte(text, ':')
	if i <= 0 || bytes.IndexByte(text[:i], ' ') >= 0 {
		return false
	}
	return i == len(text)-1 || text[i+1] == ' '
}

// sectionMarkers start the parts of a Wazuh FIM alert that come after an
// empty line inside the alert. "Old ..."/"New ..." checksum lines are not
// among them: Wazuh writes those before the first empty line, where they
// already are log lines, and as markers they would also claim stray text.
var sectionMarkers = [...]string{"What changed:", "Attributes:", "Tags:"}

// isSection reports whether a line that directly follows a block's empty
// line continues the block.
func isSection(text []byte) bool {
	for _, m := range sectionMarkers {
		if string(text) == m {
			return true
		}
	}
	return false
}

// maySection reports whether the unfinished last line of a live stream may
// still turn out to be a section marker.
func maySection(text []byte) bool {
	for _, m := range sectionMarkers {
		if len(text) > 0 && len(text) <= len(m) && string(text) == m[:len(text)] {
			return true
		}
	}
	return false
}

// parseHeader fills ID, Mail and Groups from
// "** Alert <epoch>.<n>:<flags>[ - <groups>]" and returns a reason if the
// line is malformed.
func (r *Reader) parseHeader(text []byte) string {
	rest := text[len(headerPrefix):]
	colon := bytes.IndexByte(rest, ':')
	if colon < 0 {
		return fmt.Sprintf(`header without ":" after the alert id: %q`, ossec.Snip(string(text)))
	}
	id := rest[:colon]
	dot := bytes.IndexByte(id, '.')
	if dot < 0 {
		return fmt.Sprintf(`header alert id %q: want "<epoch>.<n>"`, ossec.Snip(string(id)))
	}
	epoch, ok1 := atoi(id[:dot], 18)
	seq, ok2 := atoi(id[dot+1:], 18)
	if !ok1 || !ok2 {
		return fmt.Sprintf(`header alert id %q: want "<epoch>.<n>" with decimal numbers`, ossec.Snip(string(id)))
	}
	a := &r.a
	a.ID = ossec.ID{Epoch: epoch, Seq: seq}
	tail := rest[colon+1:]
	flags := tail
	if i := bytes.Index(tail, []byte(" - ")); i >= 0 {
		flags = tail[:i]
		a.Groups = r.groups.get(tail[i+3:], splitGroups)
	}
	a.Mail = bytes.Contains(flags, []byte("mail"))
	return ""
}

func splitGroups(s string) []string {
	var gs []string
	for g := range strings.SplitSeq(s, ",") {
		if g = strings.TrimSpace(g); g != "" {
			gs = append(gs, g)
		}
	}
	return gs
}

// parseDate checks "YYYY Mon DD HH:MM:SS <location>" and fills Location.
func (r *Reader) parseDate(t []byte) bool {
	if len(t) < 20 || t[4] != ' ' || t[8] != ' ' || t[11] != ' ' || t[14] != ':' || t[17] != ':' {
		return false
	}
	if len(t) > 20 && t[20] != ' ' {
		return false
	}
	year, ok0 := atoi(t[0:4], 4)
	day, ok1 := atoi(t[9:11], 2)
	hh, ok2 := atoi(t[12:14], 2)
	mm, ok3 := atoi(t[15:17], 2)
	ss, ok4 := atoi(t[18:20], 2)
	if !ok0 || !ok1 || !ok2 || !ok3 || !ok4 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return false
	}
	mon := 0
	for i, m := range monthNames {
		if string(t[5:8]) == m {
			mon = i + 1
			break
		}
	}
	if mon == 0 {
		return false
	}
	r.date = [6]int{int(year), mon, int(day), int(hh), int(mm), int(ss)}
	if len(t) > 21 {
		r.a.Location = r.locs.get(t[21:], ossec.ParseLocation)
	}
	return true
}

// parseRule reads "<id> (level <n>) -> '<description>'", the description
// being everything between the first and the last quote.
func (r *Reader) parseRule(t []byte) bool {
	sp := bytes.IndexByte(t, ' ')
	if sp < 0 {
		return false
	}
	id, ok := atoi(t[:sp], 9)
	if !ok {
		return false
	}
	t = t[sp:]
	if !bytes.HasPrefix(t, []byte(" (level ")) {
		return false
	}
	t = t[len(" (level "):]
	cp := bytes.IndexByte(t, ')')
	if cp < 0 {
		return false
	}
	level, ok := atoi(t[:cp], 9)
	if !ok {
		return false
	}
	t = t[cp+1:]
	if !bytes.HasPrefix(t, []byte(" -> ")) {
		return false
	}
	t = t[len(" -> "):]
	q1, q2 := bytes.IndexByte(t, '\''), bytes.LastIndexByte(t, '\'')
	if q1 < 0 || q2 <= q1 {
		return false
	}
	a := &r.a
	a.RuleID, a.Level = int(id), int(level)
	a.Description = r.descs.get(t[q1+1:q2], identity)
	return true
}

func identity(s string) string { return s }

func addrOf(s string) netip.Addr {
	a, _ := ossec.ParseAddr(s)
	return a
}

// parseField handles the decoded-field lines that follow the Rule line and
// reports whether the line was one. Text that is not an address or a port
// leaves the field absent: OSSEC copies what the decoder extracted, and a
// host name in "Src IP:" is not a malformed alert.
func (r *Reader) parseField(t []byte) bool {
	a := &r.a
	switch {
	case len(t) > 4 && (string(t[:4]) == "Src " || string(t[:4]) == "Dst "):
		src := t[0] == 'S'
		v := t[4:]
		switch {
		case bytes.HasPrefix(v, []byte("IP: ")):
			ip := r.addrs.get(v[len("IP: "):], addrOf)
			if src {
				a.SrcIP = ip
			} else {
				a.DstIP = ip
			}
		case bytes.HasPrefix(v, []byte("Port: ")):
			p := port(v[len("Port: "):])
			if src {
				a.SrcPort = p
			} else {
				a.DstPort = p
			}
		case bytes.HasPrefix(v, []byte("Location: ")):
			// GeoIP text; the Alert has no place for it.
		default:
			return false
		}
		return true
	case bytes.HasPrefix(t, []byte("User: ")):
		u := t[len("User: "):]
		if string(u) == "(none)" {
			a.User = ""
		} else {
			a.User = r.users.get(u, identity)
		}
		return true
	}
	return false
}

func port(b []byte) uint16 {
	b = bytes.TrimSpace(b)
	n, ok := atoi(b, 5)
	if !ok || n > 65535 {
		return 0
	}
	return uint16(n)
}

// atoi parses 1 to maxDigits decimal digits.
func atoi(b []byte, maxDigits int) (int64, bool) {
	if len(b) == 0 || len(b) > maxDigits {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
