package federation

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/blocklist"
)

// The feed is what a site publishes for its peers: one entry per source it
// banned or saw often, with alert counts by OSSEC level and rule group,
// first and last alert, and its own ban and expiry. It is versioned like
// the block list and served whole or as a delta between two versions,
// always signed with the site's list-signing key (blocklist.Signer.Seal).
//
// The canonical encoding, one for each feed:
//
//	# rampart feed v1
//	# version 1732690800000000
//	# generated 2026-11-27T07:00:00Z
//	# key 0123456789abcdef
//	203.0.113.7 alerts=12 first=2026-11-27T06:00:00Z last=2026-11-27T06:59:00Z levels=5:10,10:2 groups=authentication_failed:12,sshd:12 ban=2026-11-27T08:00:00Z
//	2001:db8::/64 ban
//	# signature <base64>
//
// A delta has the magic "# rampart feed delta v1", "from" and "to"
// instead of "version", and lines "+ <entry>" (new or changed) before
// "- <prefix>" (withdrawn), each sorted by prefix. Every field is optional
// except the prefix; an entry says something (alerts > 0 or a ban).
// "ban" alone is a permanent ban.

// Limits of the feed encoding.
const (
	// MaxGroups bounds the rule groups of one entry.
	MaxGroups = 32
	// MaxGroupLen bounds a group name.
	MaxGroupLen = 64
	// MaxLevel is OSSEC's highest alert level.
	MaxLevel = 16
)

const (
	feedMagic      = "# rampart feed v1"
	feedDeltaMagic = "# rampart feed delta v1"
)

// FeedEntry is what a site says about one source.
type FeedEntry struct {
	Prefix netip.Prefix
	// Alerts counts the alerts seen in the feed's window; Levels and
	// Groups split them by OSSEC level (0..MaxLevel) and rule group (an
	// alert counts once per group it has).
	Alerts int
	Levels Levels
	Groups map[string]int
	// First and Last are the first and last alert in the window; both
	// zero when the entry carries no summary.
	First, Last time.Time
	// Banned is set when the site banned the source itself, until Expires
	// (zero: permanent).
	Banned  bool
	Expires time.Time
}

// Levels counts alerts by OSSEC level, 0..MaxLevel.
type Levels [MaxLevel + 1]int

// Empty reports whether no level has a count.
func (l *Levels) Empty() bool { return *l == Levels{} }

// Feed is one version of a site's feed: entries sorted by prefix, each
// prefix once.
type Feed struct {
	Version   uint64
	Generated time.Time
	Entries   []FeedEntry
}

// FeedDelta turns version From of a feed into version To: Changed holds new
// and changed entries, Withdrawn the prefixes that left the feed.
type FeedDelta struct {
	From, To  uint64
	Generated time.Time
	Changed   []FeedEntry
	Withdrawn []netip.Prefix
}

// Scope is what a peer may see of our feed.
type Scope int

const (
	// ScopeDecisions shares our bans and their expiries only.
	ScopeDecisions Scope = iota + 1
	// ScopeSummaries also shares alert summaries: counts, levels, groups,
	// first and last seen, for banned sources and for sources seen often.
	ScopeSummaries
)

// ParseScope reads "decisions" or "summaries".
func ParseScope(s string) (Scope, error) {
	switch s {
	case "decisions":
		return ScopeDecisions, nil
	case "summaries":
		return ScopeSummaries, nil
	}
	return 0, fmt.Errorf("scope %q: want decisions or summaries", s)
}

func (s Scope) String() string {
	switch s {
	case ScopeDecisions:
		return "decisions"
	case ScopeSummaries:
		return "summaries"
	}
	return "none"
}

// View is the entry as a peer of scope s sees it; ok is false when the
// peer sees nothing of it.
func (e FeedEntry) View(s Scope) (FeedEntry, bool) {
	switch s {
	case ScopeSummaries:
		return e, true
	case ScopeDecisions:
		if !e.Banned {
			return FeedEntry{}, false
		}
		return FeedEntry{Prefix: e.Prefix, Banned: true, Expires: e.Expires}, true
	}
	return FeedEntry{}, false
}

// Equal reports whether two entries say the same.
func (e FeedEntry) Equal(o FeedEntry) bool {
	return e.Prefix == o.Prefix && e.Alerts == o.Alerts && e.First.Equal(o.First) && e.Last.Equal(o.Last) &&
		e.Banned == o.Banned && e.Expires.Equal(o.Expires) && e.Levels == o.Levels && maps.Equal(e.Groups, o.Groups)
}

// Report is the entry as evidence for the merger.
func (e FeedEntry) Report() Report {
	r := Report{Prefix: e.Prefix, Alerts: e.Alerts, Groups: e.Groups, First: e.First, Last: e.Last, Banned: e.Banned, Expires: e.Expires}
	for l := MaxLevel; l > 0; l-- {
		if e.Levels[l] > 0 {
			r.MaxLevel = l
			break
		}
	}
	return r
}

// ValidGroup reports whether a rule group name can be carried in a feed:
// 1 to MaxGroupLen bytes of letters, digits, '_', '.' and '-'.
func ValidGroup(g string) bool {
	if g == "" || len(g) > MaxGroupLen {
		return false
	}
	for i := 0; i < len(g); i++ {
		c := g[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// CanonEntry returns e in the form the encoding carries: prefix masked
// and unmapped, times truncated to whole UTC seconds, zero counts and
// invalid group names dropped, at most MaxGroups groups (the largest
// counts, then by name). It reports false for an entry that says nothing.
func CanonEntry(e FeedEntry) (FeedEntry, bool) {
	if !e.Prefix.IsValid() {
		return FeedEntry{}, false
	}
	p := e.Prefix.Masked()
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
	}
	if p.Addr().Zone() != "" {
		return FeedEntry{}, false
	}
	out := FeedEntry{Prefix: p, Alerts: max(e.Alerts, 0), Banned: e.Banned}
	if out.Banned {
		out.Expires = canonTime(e.Expires)
	}
	if !e.First.IsZero() && !e.Last.IsZero() {
		out.First, out.Last = canonTime(e.First), canonTime(e.Last)
		if out.Last.Before(out.First) {
			out.First, out.Last = out.Last, out.First
		}
	}
	for l, n := range e.Levels {
		out.Levels[l] = max(n, 0)
	}
	var groups []string
	for g, n := range e.Groups {
		if n > 0 && ValidGroup(g) {
			groups = append(groups, g)
		}
	}
	if len(groups) > MaxGroups {
		slices.SortFunc(groups, func(a, b string) int {
			return cmp.Or(cmp.Compare(e.Groups[b], e.Groups[a]), strings.Compare(a, b))
		})
		groups = groups[:MaxGroups]
	}
	for _, g := range groups {
		if out.Groups == nil {
			out.Groups = map[string]int{}
		}
		out.Groups[g] = e.Groups[g]
	}
	if out.Alerts == 0 && !out.Banned {
		return FeedEntry{}, false
	}
	return out, true
}

func canonTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Second)
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

// SortEntries sorts entries by prefix.
func SortEntries(es []FeedEntry) {
	slices.SortFunc(es, func(a, b FeedEntry) int { return comparePrefix(a.Prefix, b.Prefix) })
}

func appendFeedTime(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, time.RFC3339)
}

// appendFeedEntry writes one canonical entry (without "+ ") and a newline.
func appendFeedEntry(b []byte, e FeedEntry) []byte {
	if e.Prefix.IsSingleIP() {
		b = e.Prefix.Addr().AppendTo(b)
	} else {
		b = e.Prefix.AppendTo(b)
	}
	if e.Alerts > 0 {
		b = append(b, " alerts="...)
		b = strconv.AppendInt(b, int64(e.Alerts), 10)
	}
	if !e.First.IsZero() {
		b = append(b, " first="...)
		b = appendFeedTime(b, e.First)
		b = append(b, " last="...)
		b = appendFeedTime(b, e.Last)
	}
	if !e.Levels.Empty() {
		b = append(b, " levels="...)
		first := true
		for l, n := range e.Levels {
			if n <= 0 {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = strconv.AppendInt(b, int64(l), 10)
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(n), 10)
		}
	}
	if len(e.Groups) > 0 {
		b = append(b, " groups="...)
		var buf [MaxGroups]string
		names := buf[:0]
		for g := range e.Groups {
			names = append(names, g)
		}
		slices.Sort(names)
		for i, g := range names {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, g...)
			b = append(b, ':')
			b = strconv.AppendInt(b, int64(e.Groups[g]), 10)
		}
	}
	if e.Banned {
		b = append(b, " ban"...)
		if !e.Expires.IsZero() {
			b = append(b, '=')
			b = appendFeedTime(b, e.Expires)
		}
	}
	return append(b, '\n')
}

func appendFeedHeader(b []byte, key, val string) []byte {
	b = append(b, "# "...)
	b = append(b, key...)
	b = append(b, ' ')
	b = append(b, val...)
	return append(b, '\n')
}

// encodeFeed is the canonical encoding of f without its signature line.
func encodeFeed(f Feed, keyID string) []byte {
	b := make([]byte, 0, 128+len(f.Entries)*96)
	b = append(b, feedMagic+"\n"...)
	b = appendFeedHeader(b, "version", strconv.FormatUint(f.Version, 10))
	b = appendFeedHeader(b, "generated", f.Generated.UTC().Format(time.RFC3339))
	b = appendFeedHeader(b, "key", keyID)
	for _, e := range f.Entries {
		b = appendFeedEntry(b, e)
	}
	return b
}

// encodeFeedDelta is the canonical encoding of d without its signature
// line.
func encodeFeedDelta(d FeedDelta, keyID string) []byte {
	b := make([]byte, 0, 128+len(d.Changed)*96+len(d.Withdrawn)*24)
	b = append(b, feedDeltaMagic+"\n"...)
	b = appendFeedHeader(b, "from", strconv.FormatUint(d.From, 10))
	b = appendFeedHeader(b, "to", strconv.FormatUint(d.To, 10))
	b = appendFeedHeader(b, "generated", d.Generated.UTC().Format(time.RFC3339))
	b = appendFeedHeader(b, "key", keyID)
	for _, e := range d.Changed {
		b = append(b, "+ "...)
		b = appendFeedEntry(b, e)
	}
	for _, p := range d.Withdrawn {
		b = append(b, "- "...)
		b = appendFeedEntry(b, FeedEntry{Prefix: p})
	}
	return b
}

// canonEntries canonicalises, sorts and checks entries for encoding.
func canonEntries(es []FeedEntry) ([]FeedEntry, error) {
	out := make([]FeedEntry, 0, len(es))
	for _, e := range es {
		c, ok := CanonEntry(e)
		if !ok {
			return nil, fmt.Errorf("feed entry %s: says nothing or is invalid", e.Prefix)
		}
		out = append(out, c)
	}
	SortEntries(out)
	for i := 1; i < len(out); i++ {
		if out[i].Prefix == out[i-1].Prefix {
			return nil, fmt.Errorf("feed entry %s listed twice", out[i].Prefix)
		}
	}
	return out, nil
}

// SignFeed returns the signed canonical encoding of f.
func SignFeed(s *blocklist.Signer, f Feed) ([]byte, error) {
	if f.Generated.IsZero() {
		return nil, errors.New("feed: generated time missing")
	}
	es, err := canonEntries(f.Entries)
	if err != nil {
		return nil, err
	}
	f.Entries, f.Generated = es, canonTime(f.Generated)
	return s.Seal(encodeFeed(f, s.Public().ID())), nil
}

// SignFeedDelta returns the signed canonical encoding of d.
func SignFeedDelta(s *blocklist.Signer, d FeedDelta) ([]byte, error) {
	if d.To <= d.From {
		return nil, fmt.Errorf("feed delta goes from version %d back to %d", d.From, d.To)
	}
	if d.Generated.IsZero() {
		return nil, errors.New("feed delta: generated time missing")
	}
	es, err := canonEntries(d.Changed)
	if err != nil {
		return nil, err
	}
	ws := make([]netip.Prefix, 0, len(d.Withdrawn))
	for _, p := range d.Withdrawn {
		e, ok := CanonEntry(FeedEntry{Prefix: p, Banned: true})
		if !ok {
			return nil, fmt.Errorf("feed delta: withdrawn prefix %s is invalid", p)
		}
		ws = append(ws, e.Prefix)
	}
	slices.SortFunc(ws, comparePrefix)
	ws = slices.Compact(ws)
	for _, e := range es {
		if _, found := slices.BinarySearchFunc(ws, e.Prefix, comparePrefix); found {
			return nil, fmt.Errorf("feed delta: %s both changed and withdrawn", e.Prefix)
		}
	}
	d.Changed, d.Withdrawn, d.Generated = es, ws, canonTime(d.Generated)
	return s.Seal(encodeFeedDelta(d, s.Public().ID())), nil
}

// FeedError is a malformed feed: the line (from 1), its text and why.
type FeedError struct {
	Line   int
	Input  string
	Reason string
}

func (e *FeedError) Error() string {
	return fmt.Sprintf("feed line %d: %s: %q", e.Line, e.Reason, e.Input)
}

// decodedFeed is what the parser found.
type decodedFeed struct {
	delta     bool
	version   uint64
	from, to  uint64
	generated time.Time
	keyID     string
	entries   []FeedEntry
	withdrawn []netip.Prefix
	names     map[string]string // interned group names
}

// decodeFeed parses a canonical feed or delta without its signature line.
// Anything it accepts re-encodes to the same bytes.
func decodeFeed(data []byte) (*decodedFeed, error) {
	d := &decodedFeed{entries: make([]FeedEntry, 0, max(bytes.Count(data, []byte{'\n'})-4, 0))}
	var headers []string
	n := 0
	for len(data) > 0 {
		n++
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			return nil, &FeedError{Line: n, Input: string(data), Reason: "line without a final newline"}
		}
		line := string(data[:i])
		data = data[i+1:]
		switch {
		case n == 1:
			switch line {
			case feedMagic:
				headers = []string{"version", "generated", "key"}
			case feedDeltaMagic:
				d.delta = true
				headers = []string{"from", "to", "generated", "key"}
			default:
				return nil, &FeedError{Line: n, Input: line, Reason: "not a Rampart feed"}
			}
		case n-2 < len(headers):
			if err := d.header(headers[n-2], line); err != nil {
				return nil, &FeedError{Line: n, Input: line, Reason: err.Error()}
			}
		default:
			if err := d.entry(line); err != nil {
				return nil, &FeedError{Line: n, Input: line, Reason: err.Error()}
			}
		}
	}
	if n < 1+len(headers) || n == 0 {
		return nil, &FeedError{Line: n, Reason: "headers missing"}
	}
	if d.delta && d.to <= d.from {
		return nil, &FeedError{Line: 3, Input: strconv.FormatUint(d.to, 10), Reason: fmt.Sprintf("delta goes from version %d back", d.from)}
	}
	return d, nil
}

func (d *decodedFeed) header(key, line string) error {
	val, ok := strings.CutPrefix(line, "# "+key+" ")
	if !ok {
		return fmt.Errorf("want the %s header", key)
	}
	switch key {
	case "version", "from", "to":
		v, err := strconv.ParseUint(val, 10, 64)
		if err != nil || strconv.FormatUint(v, 10) != val {
			return fmt.Errorf("bad %s", key)
		}
		switch key {
		case "version":
			d.version = v
		case "from":
			d.from = v
		default:
			d.to = v
		}
	case "generated":
		t, err := parseFeedTime(val)
		if err != nil {
			return fmt.Errorf("bad generated time")
		}
		d.generated = t
	case "key":
		if val == "" || strings.ContainsAny(val, " \t") {
			return fmt.Errorf("bad key id")
		}
		d.keyID = val
	}
	return nil
}

func (d *decodedFeed) entry(line string) error {
	op := byte(0)
	if d.delta {
		if len(line) < 2 || (line[0] != '+' && line[0] != '-') || line[1] != ' ' {
			return errors.New(`want "+ " or "- " and an entry`)
		}
		op, line = line[0], line[2:]
	}
	if d.names == nil {
		d.names = map[string]string{}
	}
	e, err := parseFeedEntry(line, op == '-', d.names)
	if err != nil {
		return err
	}
	switch op {
	case '-':
		if n := len(d.withdrawn); n > 0 && comparePrefix(d.withdrawn[n-1], e.Prefix) >= 0 {
			return errors.New("entries out of order or repeated")
		}
		if n := len(d.entries); n > 0 {
			// Sorted changes and sorted withdrawals: a prefix in both
			// would say two things at once.
			if _, found := slices.BinarySearchFunc(d.entries, e.Prefix, func(a FeedEntry, p netip.Prefix) int { return comparePrefix(a.Prefix, p) }); found {
				return errors.New("prefix both changed and withdrawn")
			}
		}
		d.withdrawn = append(d.withdrawn, e.Prefix)
	default:
		if len(d.withdrawn) > 0 {
			return errors.New("changes after withdrawals")
		}
		if n := len(d.entries); n > 0 && comparePrefix(d.entries[n-1].Prefix, e.Prefix) >= 0 {
			return errors.New("entries out of order or repeated")
		}
		d.entries = append(d.entries, e)
	}
	return nil
}

// Fields of an entry, in the order the encoding writes them.
const (
	fieldAlerts = iota + 1
	fieldFirst
	fieldLast
	fieldLevels
	fieldGroups
	fieldBan
)

// parseFeedEntry reads one entry; bare is a withdrawal (a prefix alone).
// Only the canonical spelling is accepted: fields in order and once,
// numbers without leading zeros, levels and groups sorted, times in UTC
// whole seconds. names interns group names across entries.
func parseFeedEntry(line string, bare bool, names map[string]string) (FeedEntry, error) {
	var e FeedEntry
	pfx, rest, more := strings.Cut(line, " ")
	var err error
	if strings.IndexByte(pfx, '/') >= 0 {
		e.Prefix, err = netip.ParsePrefix(pfx)
		if err == nil && e.Prefix.IsSingleIP() {
			err = errors.New("single address written as a prefix")
		}
	} else {
		var a netip.Addr
		a, err = netip.ParseAddr(pfx)
		e.Prefix = netip.PrefixFrom(a, a.BitLen())
	}
	if err != nil || !e.Prefix.IsValid() || e.Prefix != e.Prefix.Masked() || e.Prefix.Addr().Is4In6() || e.Prefix.Addr().Zone() != "" {
		return FeedEntry{}, errors.New("bad prefix")
	}
	// One spelling of the prefix: netip's own (IPv6 has several).
	var buf [64]byte
	spelled := e.Prefix.AppendTo(buf[:0])
	if e.Prefix.IsSingleIP() {
		spelled = e.Prefix.Addr().AppendTo(buf[:0])
	}
	if string(spelled) != pfx {
		return FeedEntry{}, errors.New("bad prefix: not in canonical form")
	}
	if bare {
		if more {
			return FeedEntry{}, errors.New("text after a withdrawn prefix")
		}
		return e, nil
	}
	last := 0
	for more {
		var f string
		f, rest, more = strings.Cut(rest, " ")
		key, val, hasVal := strings.Cut(f, "=")
		var field int
		switch key {
		case "alerts":
			field = fieldAlerts
			e.Alerts, err = count(val)
		case "first":
			field = fieldFirst
			e.First, err = parseFeedTime(val)
		case "last":
			field = fieldLast
			e.Last, err = parseFeedTime(val)
		case "levels":
			field = fieldLevels
			err = parseLevels(val, &e.Levels)
		case "groups":
			field = fieldGroups
			e.Groups, err = parseGroups(val, names)
		case "ban":
			field = fieldBan
			e.Banned = true
			if hasVal {
				e.Expires, err = parseFeedTime(val)
			}
		default:
			return FeedEntry{}, fmt.Errorf("unknown field %q", key)
		}
		if err != nil {
			return FeedEntry{}, fmt.Errorf("%s: %w", key, err)
		}
		if field <= last {
			return FeedEntry{}, errors.New("not in canonical form: fields out of order or repeated")
		}
		if (field == fieldLast) != (last == fieldFirst) {
			return FeedEntry{}, errors.New("first and last: want both, first not after last")
		}
		last = field
	}
	if last == fieldFirst {
		return FeedEntry{}, errors.New("first and last: want both, first not after last")
	}
	if e.Alerts == 0 && !e.Banned {
		return FeedEntry{}, errors.New("entry says nothing (no alerts, no ban)")
	}
	if e.Last.Before(e.First) {
		return FeedEntry{}, errors.New("first and last: want both, first not after last")
	}
	return e, nil
}

// count reads a positive decimal count without leading zeros.
func count(s string) (int, error) {
	if s == "" || len(s) > 15 || s[0] == '0' {
		return 0, fmt.Errorf("bad count %q", s)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad count %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// parseLevels reads "l:n,l:n" with increasing levels 0..MaxLevel.
func parseLevels(s string, dst *Levels) error {
	prev := -1
	for more := true; more; {
		var kv string
		kv, s, more = strings.Cut(s, ",")
		ls, ns, _ := strings.Cut(kv, ":")
		l, err := strconv.Atoi(ls)
		if err != nil || l < 0 || l > MaxLevel || strconv.Itoa(l) != ls {
			return fmt.Errorf("bad level %q", ls)
		}
		if l <= prev {
			return errors.New("not in canonical form: levels out of order")
		}
		prev = l
		if dst[l], err = count(ns); err != nil {
			return err
		}
	}
	return nil
}

// parseGroups reads "g:n,g:n" with names in increasing byte order.
func parseGroups(s string, names map[string]string) (map[string]int, error) {
	out := map[string]int{}
	prev := ""
	for more := true; more; {
		var kv string
		kv, s, more = strings.Cut(s, ",")
		g, ns, _ := strings.Cut(kv, ":")
		if !ValidGroup(g) {
			return nil, fmt.Errorf("bad group name %q", g)
		}
		if g <= prev {
			return nil, errors.New("not in canonical form: groups out of order")
		}
		prev = g
		if len(out) == MaxGroups {
			return nil, fmt.Errorf("more than %d", MaxGroups)
		}
		n, err := count(ns)
		if err != nil {
			return nil, err
		}
		if in, ok := names[g]; ok {
			g = in
		} else if len(names) < 4096 {
			g = strings.Clone(g)
			names[g] = g
		}
		out[g] = n
	}
	return out, nil
}

// errTime is the one error of parseFeedTime (a constant: the parser
// must not allocate on its hot path).
var errTime = errors.New("not a canonical UTC time")

// parseFeedTime reads RFC 3339 in UTC with whole seconds, one spelling:
// "2006-01-02T15:04:05Z".
func parseFeedTime(s string) (time.Time, error) {
	if len(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return time.Time{}, errTime
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d, h, mi, sec := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 {
		return time.Time{}, errTime
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, time.UTC)
	if t.Day() != d || t.IsZero() {
		return time.Time{}, errTime // February 30th and the like; zero is "none"
	}
	return t, nil
}

// openFeed checks data's signature with k and decodes it.
func openFeed(k blocklist.PublicKey, data []byte) (*decodedFeed, error) {
	body, err := k.Open(data)
	if err != nil {
		return nil, err
	}
	d, err := decodeFeed(body)
	if err != nil {
		return nil, err
	}
	if d.keyID != k.ID() {
		return nil, fmt.Errorf("%w: feed signed with key %s, pinned %s", blocklist.ErrSignature, d.keyID, k.ID())
	}
	return d, nil
}

// VerifyFeed checks a signed feed against the pinned key and decodes it.
// Nothing is returned unless the whole feed verifies and decodes.
func VerifyFeed(k blocklist.PublicKey, data []byte) (Feed, error) {
	d, err := openFeed(k, data)
	if err != nil {
		return Feed{}, err
	}
	if d.delta {
		return Feed{}, errors.New("feed: got a delta, want a full feed")
	}
	return Feed{Version: d.version, Generated: d.generated, Entries: d.entries}, nil
}

// VerifyFeedDelta checks a signed feed delta against the pinned key and
// decodes it.
func VerifyFeedDelta(k blocklist.PublicKey, data []byte) (FeedDelta, error) {
	d, err := openFeed(k, data)
	if err != nil {
		return FeedDelta{}, err
	}
	if !d.delta {
		return FeedDelta{}, errors.New("feed: got a full feed, want a delta")
	}
	return FeedDelta{From: d.from, To: d.to, Generated: d.generated, Changed: d.entries, Withdrawn: d.withdrawn}, nil
}
