package draft

import (
	"cmp"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// What redacted text is replaced by: the reader sees that something was
// there and what kind of thing it was.
const (
	RedactedHost    = "[host]"
	RedactedAddress = "[address]"
	RedactedUser    = "[user]"
	Redacted        = "[redacted]"
)

// maxLine bounds one quoted log line: attack lines can carry long payloads,
// and an abuse desk needs their start, not all of them.
const maxLine = 1000

// RedactOptions says what is ours.
type RedactOptions struct {
	// Networks are ours: the local networks, the management networks and
	// the configured public ones. Their addresses are replaced.
	Networks []netip.Prefix
	// Names are our host names, domains and user names, replaced
	// case-insensitively wherever they stand as a word (a host name
	// with the labels around it: "web1" also covers "web1.example.org").
	Names []string
	// Patterns are regular expressions (RE2); every match is replaced.
	Patterns []string
}

// Redactor removes what is ours from text before it leaves: configured
// patterns, syslog host names, our names and those learned from OSSEC
// locations, user names, and addresses in our networks. It is immutable;
// the With methods return extended copies.
type Redactor struct {
	networks []netip.Prefix
	names    []string // configured: replaced by Redacted
	hosts    []string // learned: replaced by RedactedHost
	patterns []*regexp.Regexp
	namesRE  *regexp.Regexp
	hostsRE  *regexp.Regexp
}

// NewRedactor compiles the options; an error names the bad pattern.
func NewRedactor(o RedactOptions) (*Redactor, error) {
	r := &Redactor{networks: slices.Clone(o.Networks)}
	for i, p := range o.Patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("redaction pattern %d %q: %w", i, p, err)
		}
		if re.MatchString("") {
			return nil, fmt.Errorf("redaction pattern %d %q: matches the empty string", i, p)
		}
		r.patterns = append(r.patterns, re)
	}
	for _, n := range o.Names {
		if n = strings.TrimSpace(n); len(n) >= 2 {
			r.names = append(r.names, n)
		}
	}
	r.namesRE = namesRegexp(r.names)
	return r, nil
}

// ignoredHosts are location and syslog host words that name nothing of
// ours worth hiding and would only blot out evidence.
var ignoredHosts = map[string]bool{"any": true, "localhost": true, "unknown": true, "(none)": true, "-": true}

// WithLocations returns a Redactor that also hides the OSSEC manager and
// agent names and the agent addresses of these locations ("web1->/var/log/
// auth.log", "(fe02) 198.51.100.20->/var/log/secure", agentless
// "web1->(check) root@192.0.2.9->syscheck").
func (r *Redactor) WithLocations(locations []string) *Redactor {
	var hosts []string
	var nets []netip.Prefix
	addHost := func(h string) {
		h = strings.TrimSpace(h)
		if h == "" || ignoredHosts[strings.ToLower(h)] {
			return
		}
		if p, err := netip.ParsePrefix(h); err == nil {
			nets = append(nets, p.Masked())
			return
		}
		if a, err := netip.ParseAddr(h); err == nil {
			nets = append(nets, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			return
		}
		if len(h) >= 3 {
			hosts = append(hosts, h)
		}
	}
	for _, raw := range locations {
		l := ossec.ParseLocation(raw)
		addHost(l.Manager)
		addHost(l.AgentIP)
		agent := l.Agent
		if _, rest, ok := strings.Cut(agent, ") "); ok && strings.HasPrefix(agent, "(") {
			// Agentless "(type) user@host": the host is ours, and so
			// is the account the manager logs in with.
			user, host, found := strings.Cut(rest, "@")
			if found {
				hosts = append(hosts, user)
				addHost(host)
			} else {
				addHost(rest)
			}
			continue
		}
		addHost(agent)
	}
	return r.with(hosts, nets)
}

// WithHosts returns a Redactor that also hides these host names (syslog
// host names found in the evidence, say).
func (r *Redactor) WithHosts(hosts []string) *Redactor {
	var keep []string
	for _, h := range hosts {
		if len(h) >= 3 && !ignoredHosts[strings.ToLower(h)] {
			keep = append(keep, h)
		}
	}
	return r.with(keep, nil)
}

func (r *Redactor) with(hosts []string, nets []netip.Prefix) *Redactor {
	out := *r
	out.networks = append(slices.Clone(r.networks), nets...)
	out.hosts = append(slices.Clone(r.hosts), hosts...)
	slices.Sort(out.hosts)
	out.hosts = slices.Compact(out.hosts)
	out.hostsRE = namesRegexp(out.hosts)
	return &out
}

// namesRegexp matches any of names, longest first, with the host-name
// labels around it.
func namesRegexp(names []string) *regexp.Regexp {
	if len(names) == 0 {
		return nil
	}
	sorted := slices.Clone(names)
	slices.SortFunc(sorted, func(a, b string) int {
		if c := cmp.Compare(len(b), len(a)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	quoted := make([]string, len(sorted))
	for i, n := range sorted {
		quoted[i] = regexp.QuoteMeta(n)
	}
	return regexp.MustCompile(`(?i)(?:[a-z0-9-]+\.)*(?:` + strings.Join(quoted, "|") + `)(?:\.[a-z0-9-]+)*`)
}

// IsOurs reports whether a is in one of our networks.
func (r *Redactor) IsOurs(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range r.networks {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Text redacts free text such as a rule description.
func (r *Redactor) Text(s string) string { return r.Line(s, netip.Addr{}) }

// Line redacts one log line about the attacker keep, whose own address
// stays. Control characters become '?', invalid UTF-8 U+FFFD, and a line
// longer than maxLine bytes is cut.
func (r *Redactor) Line(s string, keep netip.Addr) string {
	s = sanitize(s)
	for _, re := range r.patterns {
		s = re.ReplaceAllLiteralString(s, Redacted)
	}
	s = redactSyslogHost(s)
	s = replaceWords(s, r.namesRE, Redacted)
	s = replaceWords(s, r.hostsRE, RedactedHost)
	s = redactUsers(s)
	s = r.redactAddrs(s, keep.Unmap())
	return s
}

func sanitize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\u2028' || c == '\u2029' {
			return '?'
		}
		return c
	}, s)
	if len(s) > maxLine {
		cut := maxLine
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + " [cut]"
	}
	return s
}

// syslogHeader matches the timestamp of a syslog line (BSD "Nov 20
// 18:02:44" or RFC 3339) followed by the host name field.
var syslogHeader = regexp.MustCompile(`^(?:[A-Z][a-z]{2} [ 0-9]?\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?) (\S+) `)

// SyslogHost returns the host name field of a syslog line, if it has one.
func SyslogHost(line string) (string, bool) {
	m := syslogHeader.FindStringSubmatch(line)
	if m == nil || m[1] == RedactedHost {
		return "", false
	}
	return m[1], true
}

func redactSyslogHost(s string) string {
	m := syslogHeader.FindStringSubmatchIndex(s)
	if m == nil {
		return s
	}
	return s[:m[2]] + RedactedHost + s[m[3]:]
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// replaceWords replaces the matches of re that stand as words.
func replaceWords(s string, re *regexp.Regexp, with string) string {
	if re == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range re.FindAllStringIndex(s, -1) {
		if (m[0] > 0 && isWordByte(s[m[0]-1])) || (m[1] < len(s) && isWordByte(s[m[1]])) {
			continue
		}
		b.WriteString(s[last:m[0]])
		b.WriteString(with)
		last = m[1]
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

var (
	// key=value user fields: PAM's user= and ruser=, dovecot's
	// user=<x>, postfix's sasl_username=, logname=, acct=.
	userField = regexp.MustCompile(`(?i)\b([a-z_]*user(?:name)?|logname|acct|account|login)=(<[^>]*>|"[^"]*"|'[^']*'|(?:\[[a-z]+\]|[^\s,;&)\]>\[])+)`)
	// sshd's "for alice from", "for invalid user admin from".
	sshFor = regexp.MustCompile(`\bfor (invalid user |illegal user )?(\S+) from\b`)
	// sshd's "authenticating user alice 203.0.113.5", AllowUsers' "User
	// alice from ...", PAM's "session opened for user alice".
	sshUser = regexp.MustCompile(`\b(?:authenticating user|User|for user) (\S+)`)
)

// redactUsers hides the names of accounts that exist here. Names an
// attacker tried that do not exist ("invalid user admin") stay: they show
// the guessing and are not ours.
func redactUsers(s string) string {
	s = userField.ReplaceAllStringFunc(s, func(m string) string {
		key, val, _ := strings.Cut(m, "=")
		switch {
		case len(val) >= 2 && (val[0] == '<' || val[0] == '"' || val[0] == '\''):
			if len(val) == 2 {
				return m // empty
			}
			return key + "=" + val[:1] + RedactedUser + val[len(val)-1:]
		case val == RedactedUser:
			return m
		}
		return key + "=" + RedactedUser
	})
	s = replaceGroup(s, sshFor, 2, func(m []int) bool { return m[2] < 0 })
	s = replaceGroup(s, sshUser, 1, func(m []int) bool {
		// "by invalid user admin" has no match here; "User" of
		// "Invalid User" would.
		return !strings.HasSuffix(strings.ToLower(s[:m[0]]), "invalid ")
	})
	return s
}

// replaceGroup replaces submatch group of each match of re for which ok
// holds with RedactedUser.
func replaceGroup(s string, re *regexp.Regexp, group int, ok func(m []int) bool) string {
	var b strings.Builder
	last := 0
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		lo, hi := m[2*group], m[2*group+1]
		if lo < 0 || !ok(m) || s[lo:hi] == RedactedUser {
			continue
		}
		b.WriteString(s[last:lo])
		b.WriteString(RedactedUser)
		last = hi
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

var (
	ipv4Like = regexp.MustCompile(`\d{1,3}(?:\.\d{1,3}){3}`)
	ipv6Run  = regexp.MustCompile(`[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*`)
)

// redactAddrs replaces addresses in our networks, except keep.
func (r *Redactor) redactAddrs(s string, keep netip.Addr) string {
	type span struct{ lo, hi int }
	var spans []span
	for _, m := range ipv4Like.FindAllStringIndex(s, -1) {
		lo, hi := m[0], m[1]
		if lo > 0 && (isDigit(s[lo-1]) || s[lo-1] == '.') || hi < len(s) && isDigit(s[hi]) ||
			hi+1 < len(s) && s[hi] == '.' && isDigit(s[hi+1]) {
			continue
		}
		a, ok := parseIPv4(s[lo:hi])
		if ok && a != keep && r.IsOurs(a) {
			spans = append(spans, span{lo, hi})
		}
	}
	for _, m := range ipv6Run.FindAllStringIndex(s, -1) {
		lo, hi := m[0], m[1]
		for hi > lo && (s[hi-1] == '.' || s[hi-1] == ':') && !strings.HasSuffix(s[lo:hi], "::") {
			hi--
		}
		if hi-lo > 100 {
			continue
		}
		// The run may start inside a word ("alice:fe80::1" begins at
		// "ce:"): try each start after a single colon too.
		for start := lo; start < hi; start++ {
			if start > lo && !(s[start-1] == ':' && s[start] != ':') {
				continue
			}
			a, err := netip.ParseAddr(s[start:hi])
			if err != nil {
				continue
			}
			if a = a.Unmap(); a != keep && r.IsOurs(a) {
				spans = append(spans, span{start, hi})
				break
			}
		}
	}
	if len(spans) == 0 {
		return s
	}
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.lo, b.lo) })
	var b strings.Builder
	last := 0
	for _, sp := range spans {
		if sp.lo < last {
			continue
		}
		b.WriteString(s[last:sp.lo])
		b.WriteString(RedactedAddress)
		last = sp.hi
	}
	b.WriteString(s[last:])
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parseIPv4 reads a dotted quad, zero-padded octets included (which
// netip refuses but logs do write).
func parseIPv4(s string) (netip.Addr, bool) {
	var b [4]byte
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return netip.Addr{}, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n > 255 {
			return netip.Addr{}, false
		}
		b[i] = byte(n)
	}
	return netip.AddrFrom4(b), true
}
