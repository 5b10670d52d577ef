package whois

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"go4.org/netipx"

	"github.com/rampart-ids/rampart/internal/abuse"
)

// maxEmails bounds what is taken from one answer: no registry lists more
// mailboxes than this for one network.
const maxEmails = 16

// Referral is where an answer points next.
type Referral struct {
	// Server is host:port.
	Server string `json:"server"`
	// Query is the line to send; empty means Query(Server, addr).
	Query string `json:"query,omitempty"`
	// Detail: the referring answer already holds the network's holder and
	// its contacts, the next server only more detail (LACNIC's joint
	// whois for NIC.BR, APNIC's partial mirror of KRNIC and TWNIC). When
	// the next server fails, the referring answer stands.
	Detail bool `json:"detail,omitempty"`
	// Parent: the answer names no abuse mailbox and the same registry is
	// asked for the enclosing allocation (JPNIC), whose mailboxes are
	// taken for the more specific network.
	Parent bool `json:"parent,omitempty"`
}

// IsZero reports whether r points nowhere.
func (r Referral) IsZero() bool { return r.Server == "" }

// network is one network object of an answer, in any dialect.
type network struct {
	rng      netipx.IPRange
	name     string
	org      string
	country  string
	emails   []string
	source   string   // the registry the object names (RPSL source:)
	referral Referral // where this network's record points
}

// answer is what a dialect reader makes of an answer.
type answer struct {
	nets     []network
	registry string   // from the answer's banner or dialect
	referral Referral // answer-wide (IANA refer:, LACNIC's resource line)
	attrs    int      // attribute lines recognised
	// parent, when the most specific network has no mailbox, asks for
	// the enclosing allocation (JPNIC); set by the dialect reader.
	parent func(best network) Referral
}

// Parse reads the answer server (host:port) gave for addr into the
// contact for addr and the referral to follow, if any. Fetched is left
// zero. The answer may be UTF-8 or Latin-1. A network without an abuse
// mailbox gives a Contact without Emails; an answer with no network
// containing addr (and no referral) is an error wrapping ErrNotFound,
// ErrRateLimited or ErrMalformed and naming the server.
func Parse(server string, resp []byte, addr netip.Addr) (abuse.Contact, Referral, error) {
	addr = addr.Unmap()
	fail := func(err error) (abuse.Contact, Referral, error) {
		return abuse.Contact{}, Referral{}, fmt.Errorf("whois %s: %w", server, err)
	}
	text, err := decode(resp)
	if err != nil {
		return fail(err)
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, "\r")
	}
	var a answer
	switch dialectOf(lines) {
	case dialectARIN:
		a = readARIN(lines)
	case dialectJPNIC:
		a = readJPNIC(lines)
	case dialectKRNIC:
		a = readKRNIC(lines)
	default:
		a = readRPSL(lines, server)
	}

	var in []network
	for _, n := range a.nets {
		if n.rng.IsValid() && n.rng.Contains(addr) {
			in = append(in, n)
		}
	}
	// Most specific first; a stable sort keeps the answer's order among
	// equal ranges.
	slices.SortStableFunc(in, func(x, y network) int { return compareSize(x.rng, y.rng) })

	con := abuse.Contact{Addr: addr, Source: "whois", Server: server}
	var ref Referral
	if len(in) == 0 {
		ref = a.referral
	} else {
		best := in[0]
		con.Range = best.rng.Prefixes()
		con.NetName = best.name
		con.Org = best.org
		for _, n := range in {
			if con.Country == "" {
				con.Country = n.country
			}
			if len(con.Emails) == 0 && !abuse.OtherRegistry(n.name) {
				con.Emails = n.emails
			}
		}
		switch {
		case !best.referral.IsZero():
			ref = best.referral
		case !a.referral.IsZero():
			ref = a.referral
		case len(con.Emails) == 0 && a.parent != nil:
			if ref = a.parent(best); ref.Parent {
				ref.Server = server
			}
		}
		con.Registry = registryName(server, best.source, a.registry)
	}
	ref = normalReferral(ref, server)
	if len(in) == 0 {
		if ref.IsZero() {
			return fail(noNetwork(lines, a.attrs))
		}
		con.Registry = registryName(server, "", a.registry)
	}
	return con, ref, nil
}

// normalReferral gives the referral's server as host:port and drops a
// referral that is no host or leads back to server with the same query.
func normalReferral(ref Referral, server string) Referral {
	if ref.IsZero() {
		return ref
	}
	s, err := hostPort(ref.Server)
	if err != nil || (sameServer(s, server) && ref.Query == "") {
		return Referral{}
	}
	ref.Server = s
	return ref
}

// noNetwork explains an answer without a network for the address.
func noNetwork(lines []string, attrs int) error {
	for i, l := range lines {
		if rateLimited(l) {
			return fmt.Errorf("%w: line %d: %s", ErrRateLimited, i+1, quoteShort(strings.TrimSpace(l)))
		}
	}
	for i, l := range lines {
		if notFound(l) {
			return fmt.Errorf("%w: line %d: %s", ErrNotFound, i+1, quoteShort(strings.TrimSpace(l)))
		}
	}
	first := ""
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			first = strings.TrimSpace(l)
			break
		}
	}
	if attrs == 0 {
		return fmt.Errorf("%w: no attributes (starts with %s)", ErrMalformed, quoteShort(first))
	}
	return fmt.Errorf("%w (answer starts with %s)", ErrNotFound, quoteShort(first))
}

// rateLimited and notFound recognise the registries' notices: RIPE,
// APNIC and AFRINIC "%ERROR:201: access denied" (and the 1xx/2xx family),
// LACNIC and NIC.BR "Query rate limit exceeded", ARIN "No match found",
// JPNIC "No match!!".
func rateLimited(l string) bool {
	return containsAny(strings.ToLower(l), "%error:20", "access denied", "rate limit", "ratelimit", "limit exceeded",
		"too many queries", "too many requests", "too many connections", "query limit", "try again later", "permission denied")
}

func notFound(l string) bool {
	return containsAny(strings.ToLower(l), "%error:101", "no entries found", "no match", "no data found", "not found")
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// decode turns the answer into text: each line is UTF-8 when it is valid
// UTF-8, else Latin-1 (each byte one rune). Binary data is an error.
func decode(b []byte) (string, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return "", fmt.Errorf("%w: empty answer", ErrMalformed)
	}
	controls := 0
	for i, c := range b {
		switch {
		case c == 0:
			line := bytes.Count(b[:i], []byte{'\n'}) + 1
			return "", fmt.Errorf("%w: binary data (NUL byte) at line %d: %s", ErrMalformed, line, quoteShort(lineAt(b, i)))
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != 0x1b, c == 0x7f:
			// ESC stays: ISO-2022-JP switches character sets with it.
			controls++
		}
	}
	if controls > 4+len(b)/100 {
		return "", fmt.Errorf("%w: binary data (%d control bytes in %d), starts with %s", ErrMalformed, controls, len(b), quoteShort(lineAt(b, 0)))
	}
	if utf8.Valid(b) {
		return string(b), nil
	}
	// Line by line: a joint answer may hold one registry's UTF-8 beside
	// another's Latin-1.
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/8)
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line = b[:i+1]
		}
		b = b[len(line):]
		if utf8.Valid(line) {
			sb.Write(line)
			continue
		}
		for _, c := range line {
			sb.WriteRune(rune(c))
		}
	}
	return sb.String(), nil
}

// lineAt returns the line holding byte i.
func lineAt(b []byte, i int) string {
	start := bytes.LastIndexByte(b[:i], '\n') + 1
	end := bytes.IndexByte(b[i:], '\n')
	if end < 0 {
		end = len(b)
	} else {
		end += i
	}
	return string(b[start:end])
}

type dialect int

const (
	dialectRPSL dialect = iota
	dialectARIN
	dialectJPNIC
	dialectKRNIC
)

var (
	jpnicLineRE = regexp.MustCompile(`^(?:[a-z]\.\s*)?\[([^\]]+)\]\s*(.*)$`)
	krnicHeadRE = regexp.MustCompile(`^\[\s*(.+?)\s*\]$`)
)

// dialectOf tells the answer's format from its content, so an answer is
// read right whichever server (a mirror, a test server) gave it.
func dialectOf(lines []string) dialect {
	var arin, jpnic, krnic bool
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "NetRange:") || strings.HasPrefix(l, "CIDR:") || strings.HasPrefix(l, "# ARIN WHOIS"):
			arin = true
		case strings.HasPrefix(l, "[ JPNIC database"):
			jpnic = true
		case strings.HasPrefix(l, "KRNIC is not an ISP") || strings.HasPrefix(l, "# ENGLISH"):
			krnic = true
		default:
			if m := jpnicLineRE.FindStringSubmatch(l); m != nil && strings.EqualFold(m[1], "Network Number") {
				jpnic = true
			} else if m := krnicHeadRE.FindStringSubmatch(l); m != nil && strings.Contains(m[1], "Network Information") {
				krnic = true
			}
		}
	}
	switch {
	case arin:
		return dialectARIN
	case jpnic:
		return dialectJPNIC
	case krnic:
		return dialectKRNIC
	}
	return dialectRPSL
}

// parseRange reads a network as registries write it: "a - b", "a-b",
// a prefix, LACNIC's shortened "200.160/20", or one address; a trailing
// "(/27)" (KRNIC) is ignored.
func parseRange(s string) (netipx.IPRange, bool) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '('); i > 0 {
		s = strings.TrimSpace(s[:i])
	}
	if s == "" {
		return netipx.IPRange{}, false
	}
	// No IPv6 address holds a hyphen.
	if from, to, ok := strings.Cut(s, "-"); ok {
		a, err1 := netip.ParseAddr(strings.TrimSpace(from))
		b, err2 := netip.ParseAddr(strings.TrimSpace(to))
		if err1 != nil || err2 != nil || a.Zone() != "" || b.Zone() != "" {
			return netipx.IPRange{}, false
		}
		r := netipx.IPRangeFrom(a.Unmap(), b.Unmap())
		return r, r.IsValid()
	}
	if addr, bits, ok := strings.Cut(s, "/"); ok {
		if !strings.Contains(addr, ":") {
			// LACNIC writes 200.160/20 for 200.160.0.0/20.
			for strings.Count(addr, ".") < 3 && addr != "" {
				addr += ".0"
			}
		}
		p, err := netip.ParsePrefix(addr + "/" + bits)
		if err != nil || p.Addr().Is4In6() {
			return netipx.IPRange{}, false
		}
		r := netipx.RangeOfPrefix(p.Masked())
		return r, r.IsValid()
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netipx.IPRange{}, false
	}
	a = a.Unmap()
	return netipx.IPRangeFrom(a, a), true
}

// compareSize orders ranges by the number of addresses they hold.
func compareSize(x, y netipx.IPRange) int {
	xh, xl := span(x)
	yh, yl := span(y)
	switch {
	case xh != yh:
		return cmpU(xh, yh)
	case xl != yl:
		return cmpU(xl, yl)
	}
	return x.From().Compare(y.From())
}

func cmpU(a, b uint64) int {
	if a < b {
		return -1
	}
	return 1
}

// span returns to - from as a 128-bit number.
func span(r netipx.IPRange) (hi, lo uint64) {
	f, t := r.From().As16(), r.To().As16()
	var fh, fl, th, tl uint64
	for i := 0; i < 8; i++ {
		fh, fl = fh<<8|uint64(f[i]), fl<<8|uint64(f[i+8])
		th, tl = th<<8|uint64(t[i]), tl<<8|uint64(t[i+8])
	}
	lo = tl - fl
	hi = th - fh
	if tl < fl {
		hi--
	}
	return hi, lo
}

// emailsIn appends the mailboxes in a value to dst, lower-cased, in
// order, without duplicates, up to maxEmails.
func emailsIn(dst []string, s string) []string {
	for _, f := range strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(`<>(),;'"[]`, r)
	}) {
		if len(dst) >= maxEmails {
			break
		}
		if !strings.Contains(f, "@") {
			continue
		}
		if m, ok := abuse.NormalEmail(strings.TrimRight(f, ".:")); ok && !abuse.PlaceholderEmail(m) && !slices.Contains(dst, m) {
			dst = append(dst, m)
		}
	}
	return dst
}

// sourceRegistry names the registry of an RPSL source: value ("RIPE",
// "RIPE-NONAUTH", "APNIC", "KRNIC", ...), "" for anything else.
func sourceRegistry(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if i := strings.IndexAny(s, "- #"); i >= 0 {
		s = s[:i]
	}
	switch s {
	case "RIPE", "APNIC", "AFRINIC", "LACNIC", "ARIN", "IANA", "JPNIC", "KRNIC", "TWNIC", "CNNIC", "IDNIC", "VNNIC", "IRINN":
		return s
	}
	return ""
}

// registryName names the registry that answered: from the server's name,
// else from the network's source:, else from the answer's banner.
func registryName(server, source, banner string) string {
	host, _, err := net.SplitHostPort(server)
	if err != nil {
		host = server
	}
	if r := abuse.RegistryOf(host); r != "" {
		return r
	}
	if r := sourceRegistry(source); r != "" {
		return r
	}
	return banner
}

// sameServer reports whether two host:port names are the same server.
func sameServer(a, b string) bool {
	x, err1 := hostPort(a)
	y, err2 := hostPort(b)
	return err1 == nil && err2 == nil && x == y
}

// quoteShort quotes s, cut to 60 bytes, for error messages.
func quoteShort(s string) string {
	if len(s) > 60 {
		return fmt.Sprintf("%q...", s[:60])
	}
	return fmt.Sprintf("%q", s)
}
