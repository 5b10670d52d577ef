package dbdload

import (
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// Stored returns a as a faithful reader of the database gets it back after
// this Loader loaded it, and false when the reader will not return it: dbd
// could not insert it (location over 128 characters) or its ID is zero
// (the row is malformed).
//
// What changes: Mail is lost; Description survives only in 2.8 (dbd
// stopped filling signature in 2.9), and level and description in 2.8 are
// those of the first alert of the rule this Loader met; Groups are the
// rule's groups as stored (sanitised, cut to 32, first alert's); addresses
// are normalised, and 2.8/hybrid keep only IPv4; user, log lines and (3.0+)
// location are sanitised, log lines cut to 20 and 7,456 characters; an
// agent location's Manager is this Loader's server name.
func (l *Loader) Stored(a *ossec.Alert) (ossec.Alert, bool) {
	if a.ID.IsZero() {
		return ossec.Alert{}, false
	}
	name := l.locationName(a.Location.Raw)
	if utf8.RuneCountInString(name) > maxLocation {
		return ossec.Alert{}, false
	}
	out := ossec.Alert{
		ID:      a.ID,
		Time:    ossec.TimeFromID(a.ID),
		RuleID:  a.RuleID,
		Level:   min(max(a.Level, 0), 255),
		SrcIP:   l.storedAddr(a.SrcIP),
		DstIP:   l.storedAddr(a.DstIP),
		SrcPort: a.SrcPort,
		DstPort: a.DstPort,
	}
	switch u := l.user(a.User); u {
	case "(null)", "NULL", "(none)":
	default:
		out.User = u
	}
	if s := fullLog(a.Log); s != "" {
		out.Log = strings.Split(s, "\n")
	}
	out.Location = ossec.ParseLocation(name)
	if out.Location.Manager == "" && out.Location.Agent != "" {
		out.Location.Manager = l.serverName
	}
	r := l.rules[a.RuleID]
	if r == nil {
		// Not loaded (yet): as if this alert were the rule's first.
		r = &rule{level: out.Level, description: cut(ossec.SanitizeDB(a.Description), maxDescription)}
		for _, g := range a.Groups {
			c := cut(ossec.SanitizeDB(g), maxCategory)
			if known, ok := l.cats[g]; ok {
				c = known.name
			}
			if c != "" && !containsString(r.groups, c) {
				r.groups = append(r.groups, c)
			}
		}
	}
	out.Groups = r.groups
	if l.v == V28 {
		out.Level, out.Description = r.level, r.description
	}
	return out, true
}

// storedAddr is what a reader parses back from addr's column.
func (l *Loader) storedAddr(a netip.Addr) netip.Addr {
	if !a.IsValid() {
		return netip.Addr{}
	}
	if !l.v.textIPs() {
		if a = a.Unmap(); !a.Is4() {
			return netip.Addr{}
		}
	}
	back, _ := ossec.ParseAddr(a.String())
	return back
}
