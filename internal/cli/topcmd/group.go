package topcmd

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/geoip"
)

// Values of --by.
const (
	ByIP      = "ip"
	ByPrefix  = "prefix"
	ByASN     = "asn"
	ByCountry = "country"
)

// grouping is one --by mode that sums sources into groups.
type grouping struct {
	key func(netip.Addr) (string, bool)
	// header names the columns that label a group in tables and CSV;
	// label fills them for a group's key.
	header []string
	label  func(key string) []string
	// row is a group's JSON object; appendLabel appends the same object's
	// label members (everything before "count") as encoding/json would,
	// because encoding/json over tens of thousands of groups took longer
	// than the query.
	row         func(key string, s GroupStats) any
	appendLabel func(b []byte, key string) []byte
	close       func() error
}

// GroupStats are the fields every group's JSON object has after its label.
type GroupStats struct {
	Count     int64     `json:"count"`
	Sources   int       `json:"sources"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	MaxLevel  int       `json:"max_level"`
	// Top are the addresses with the most alerts, at most
	// analytics.GroupTop.
	Top []string `json:"top"`
}

// PrefixRow is one network prefix in top --by prefix's JSON output.
type PrefixRow struct {
	Prefix string `json:"prefix"`
	GroupStats
}

// prefixGrouping sums sources by their IPv4 /v4 and IPv6 /v6 prefix (the
// seed's "218.92.0.xxx" segments).
func prefixGrouping(v4, v6 int) *grouping {
	return &grouping{
		key: func(a netip.Addr) (string, bool) {
			bits := v4
			if a.Is6() {
				bits = v6
			}
			p, err := a.Prefix(bits)
			return p.String(), err == nil
		},
		header: []string{"PREFIX"},
		label:  func(k string) []string { return []string{k} },
		row:    func(k string, s GroupStats) any { return PrefixRow{Prefix: k, GroupStats: s} },
		appendLabel: func(b []byte, k string) []byte {
			return appendMember(b, "prefix", appendJSONString, k)
		},
		close: func() error { return nil },
	}
}

// ASNRow is one network in top --by asn's JSON output. ASN 0 collects the
// sources the database does not know.
type ASNRow struct {
	ASN uint32 `json:"asn"`
	Org string `json:"org"`
	GroupStats
}

// CountryRow is one country in top --by country's JSON output. Country ""
// collects the sources the database does not know.
type CountryRow struct {
	Country string `json:"country"`
	Name    string `json:"name"`
	GroupStats
}

// geoGrouping opens the configured databases for --by asn or country and
// says which config key to set when the one needed is missing.
func geoGrouping(f *cmdutil.Factory, by string) (*grouping, error) {
	c, err := f.Config()
	if err != nil {
		return nil, err
	}
	cfgPath := f.ConfigPath
	if cfgPath == "" {
		cfgPath = config.DefaultPath
	}
	// Only the database the grouping needs, when it is configured: each
	// extra one costs a lookup and a decode per source.
	opts := geoip.Options{ASN: c.GeoIPASN, Country: c.GeoIPCountry, City: c.GeoIPCity}
	switch {
	case by == ByASN && c.GeoIPASN != "":
		opts = geoip.Options{ASN: c.GeoIPASN}
	case by == ByCountry && c.GeoIPCountry != "":
		opts = geoip.Options{Country: c.GeoIPCountry}
	}
	db, err := geoip.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", cfgPath, err)
	}
	hasASN, hasCountry := db.Has()
	// Names are per key; the first source's answer stands for its group.
	names := map[string]string{}
	g := &grouping{close: db.Close}
	switch by {
	case ByASN:
		if !hasASN {
			db.Close()
			return nil, fmt.Errorf("--by asn needs a network database: set geoip_asn in %s to a GeoLite2-ASN, DB-IP ASN lite or IPinfo lite .mmdb file", cfgPath)
		}
		g.key = func(a netip.Addr) (string, bool) {
			info := db.Lookup(a)
			if info.ASN == 0 {
				return "", true
			}
			k := strconv.FormatUint(uint64(info.ASN), 10)
			if _, ok := names[k]; !ok {
				names[k] = info.Org
			}
			return k, true
		}
		g.header = []string{"ASN", "ORG"}
		g.label = func(k string) []string {
			if k == "" {
				return []string{"-", "(unknown)"}
			}
			return []string{"AS" + k, names[k]}
		}
		g.row = func(k string, s GroupStats) any {
			n, _ := strconv.ParseUint(k, 10, 32)
			return ASNRow{ASN: uint32(n), Org: names[k], GroupStats: s}
		}
		g.appendLabel = asnLabel(names)
	default:
		if !hasCountry {
			db.Close()
			return nil, fmt.Errorf("--by country needs a country database: set geoip_country (GeoLite2-Country, DB-IP country lite or IPinfo lite) or geoip_city (GeoLite2-City, DB-IP city lite) in %s", cfgPath)
		}
		g.key = func(a netip.Addr) (string, bool) {
			info := db.Lookup(a)
			if _, ok := names[info.Country]; !ok && info.Country != "" {
				names[info.Country] = info.CountryName
			}
			return info.Country, true
		}
		g.header = []string{"COUNTRY", "NAME"}
		g.label = func(k string) []string {
			if k == "" {
				return []string{"-", "(unknown)"}
			}
			return []string{k, names[k]}
		}
		g.row = func(k string, s GroupStats) any { return CountryRow{Country: k, Name: names[k], GroupStats: s} }
		g.appendLabel = countryLabel(names)
	}
	return g, nil
}

// writeGroups prints the groups that pass --min and --limit.
func writeGroups(f *cmdutil.Factory, opts *Options, g *grouping, groups []analytics.GroupCount) error {
	kept := groups[:0]
	for _, gc := range groups {
		if gc.Count >= opts.Min {
			kept = append(kept, gc)
		}
	}
	if opts.Limit > 0 && len(kept) > opts.Limit {
		kept = kept[:opts.Limit]
	}
	stats := make([]GroupStats, len(kept))
	for i, gc := range kept {
		top := make([]string, len(gc.Top))
		for j, s := range gc.Top {
			top[j] = s.Addr.String()
		}
		stats[i] = GroupStats{Count: gc.Count, Sources: gc.Sources, FirstSeen: gc.FirstSeen.UTC(), LastSeen: gc.LastSeen.UTC(), MaxLevel: gc.MaxLevel, Top: top}
	}
	switch opts.Format {
	case cmdutil.FormatJSON:
		keys := make([]string, len(kept))
		for i, gc := range kept {
			keys[i] = gc.Key
		}
		_, err := f.Out.Write(g.appendJSON(make([]byte, 0, 256*len(kept)+4), keys, stats))
		return err
	}
	header := append(append([]string{}, g.header...), "COUNT", "SOURCES", "FIRST SEEN", "LAST SEEN", "MAX LEVEL", "TOP")
	cells := make([][]string, len(kept))
	for i, gc := range kept {
		s := stats[i]
		cells[i] = append(g.label(gc.Key), strconv.FormatInt(s.Count, 10), strconv.Itoa(s.Sources),
			s.FirstSeen.Format(time.RFC3339), s.LastSeen.Format(time.RFC3339), strconv.Itoa(s.MaxLevel), strings.Join(s.Top, " "))
	}
	if opts.Format == cmdutil.FormatCSV {
		return cmdutil.WriteCSV(f.Out, header, cells)
	}
	if len(cells) == 0 {
		fmt.Fprintln(f.Err, "no groups match")
		return nil
	}
	return cmdutil.WriteTable(f.Out, header, cells)
}

// asnLabel appends the label members of an ASNRow ("asn", "org").
func asnLabel(names map[string]string) func([]byte, string) []byte {
	return func(b []byte, k string) []byte {
		n := k
		if n == "" {
			n = "0"
		}
		b = appendMember(b, "asn", func(b []byte, v string) []byte { return append(b, v...) }, n)
		return appendMember(b, "org", appendJSONString, names[k])
	}
}

// countryLabel appends the label members of a CountryRow ("country", "name").
func countryLabel(names map[string]string) func([]byte, string) []byte {
	return func(b []byte, k string) []byte {
		b = appendMember(b, "country", appendJSONString, k)
		return appendMember(b, "name", appendJSONString, names[k])
	}
}
