package grafana

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"go4.org/netipx"
)

// Schema is how the operator's ossec-dbd database (MySQL or MariaDB) stores
// what the panels read (ossec-formats.md §2). The zero Schema is the
// layout of OSSEC 2.9 and later (3.x, 4.x, master): text addresses, level
// and log in alert.
type Schema struct {
	// IntegerIPs: alert.src_ip is an integer IPv4 address, 0 for none
	// (2.8 and the pre-2.9 "hybrid" builds). Such a database holds no
	// IPv6 sources.
	IntegerIPs bool
	// LevelInSignature: alert has no level column; the level comes from
	// signature by rule_id (2.8).
	LevelInSignature bool
	// LogInData: alert has no full_log column; it is in data, joined on
	// (id, server_id) (2.8).
	LogInData bool
}

// Layout names understood by ParseSchema.
const (
	Layout29     = "2.9+"
	LayoutHybrid = "hybrid"
	Layout28     = "2.8"
)

// ParseSchema returns the Schema of a layout name: "2.9+" (2.9, 3.x, 4.x,
// master), "hybrid" (pre-2.9 patched builds: integer addresses, level and
// log in alert) or "2.8".
func ParseSchema(name string) (Schema, error) {
	switch name {
	case Layout29, "2.9", "3", "3.x", "4.x", "master":
		return Schema{}, nil
	case LayoutHybrid:
		return Schema{IntegerIPs: true}, nil
	case Layout28:
		return Schema{IntegerIPs: true, LevelInSignature: true, LogInData: true}, nil
	}
	return Schema{}, fmt.Errorf("unknown ossec-dbd layout %q: want %s, %s or %s", name, Layout29, LayoutHybrid, Layout28)
}

// String returns the layout's name.
func (s Schema) String() string {
	switch s {
	case Schema{}:
		return Layout29
	case Schema{IntegerIPs: true}:
		return LayoutHybrid
	case Schema{IntegerIPs: true, LevelInSignature: true, LogInData: true}:
		return Layout28
	}
	return fmt.Sprintf("custom(integer IPs %v, level in signature %v, log in data %v)", s.IntegerIPs, s.LevelInSignature, s.LogInData)
}

// queries writes the OSSEC dashboard's SQL for one schema and set of local
// networks. Every statement is MySQL/MariaDB with Grafana macros; the
// local networks are its only outside input, and they enter as address
// literals formatted here.
type queries struct {
	s          Schema
	v4, v6     []netipx.IPRange
	perSource  int // rows of the top sources table
	perTable   int // rows of the other top tables
	latestN    int // rows of the latest alerts table
	sourceVars int // values the source variable offers
}

func newQueries(s Schema, local []netip.Prefix) *queries {
	var b netipx.IPSetBuilder
	for _, p := range local {
		if p.Addr().Is4In6() {
			// ::ffff:a.b.c.d/n is the IPv4 network a.b.c.d/(n-96).
			if p.Bits() < 96 {
				continue // wider than the mapped space: no IPv4 meaning
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		b.AddPrefix(p.Masked())
	}
	set, _ := b.IPSet() // only invalid prefixes fail, and AddPrefix skips them
	q := &queries{s: s, perSource: 50, perTable: 25, latestN: 100, sourceVars: 200}
	for _, r := range set.Ranges() {
		if r.From().Is4() {
			q.v4 = append(q.v4, r)
		} else {
			q.v6 = append(q.v6, r)
		}
	}
	return q
}

// epoch is the alert time: the integer before the dot of alertid.
const epoch = "CAST(SUBSTRING_INDEX(a.alertid, '.', 1) AS UNSIGNED)"

// timeRange keeps the alertids of [from, to]. Every alertid OSSEC writes
// (after 2001) starts with a 10-digit epoch, so text order is time order
// and the alertid index serves the range; $__unixEpochFilter on the epoch
// then checks each row exactly.
const timeRange = "a.alertid >= CONCAT($__unixEpochFrom(), '.') AND a.alertid < CONCAT($__unixEpochTo() + 1, '.')"

// inRange is the exact filter on the events table t.
const inRange = "$__unixEpochFilter(t.epoch)"

// level is the alert's level expression inside events.
func (q *queries) level() string {
	if q.s.LevelInSignature {
		return "ls.level"
	}
	return "a.level"
}

// events is the derived table t of the alerts in the time range: their
// epoch and the columns asked for (names of alert's columns, plus
// "level", "full_log", "seq", the number after the dot, and "rule_key",
// rule_id for grouping), with the extra conditions.
func (q *queries) events(cols []string, where ...string) string {
	var b strings.Builder
	b.WriteString("(SELECT " + epoch + " AS epoch")
	var joins []string
	for _, c := range cols {
		b.WriteString(", ")
		switch c {
		case "level":
			b.WriteString(q.level() + " AS level")
			if q.s.LevelInSignature {
				joins = append(joins, "LEFT JOIN signature ls ON ls.rule_id = a.rule_id")
			}
		case "full_log":
			if q.s.LogInData {
				b.WriteString("d.full_log")
				joins = append(joins, "LEFT JOIN data d ON d.id = a.id AND d.server_id = a.server_id")
			} else {
				b.WriteString("a.full_log")
			}
		case "rule_key":
			// An expression, for the reason sources groups by one: a
			// GROUP BY on the column reads the rule_id index and every
			// row through it.
			b.WriteString("a.rule_id + 0 AS rule_id")
		case "seq":
			b.WriteString("CAST(SUBSTRING_INDEX(a.alertid, '.', -1) AS UNSIGNED) AS seq")
		default:
			b.WriteString("a." + c)
		}
	}
	b.WriteString("\n    FROM alert a")
	for _, j := range joins {
		b.WriteString(" " + j)
	}
	b.WriteString("\n    WHERE " + timeRange)
	for _, w := range where {
		b.WriteString("\n      AND " + w)
	}
	b.WriteString(") t")
	return b.String()
}

// unmapped is the binary address of a text column col (INET6_ATON), with
// "::ffff:a.b.c.d" turned into the 4 bytes of a.b.c.d; NULL for text that
// is no address.
func unmapped(col string) string {
	bin := "INET6_ATON(" + col + ")"
	return "IF(LENGTH(" + bin + ") = 16 AND LEFT(" + bin + ", 12) = X'00000000000000000000FFFF', SUBSTRING(" + bin + ", 13), " + bin + ")"
}

// notLocal is true for a source x outside every local network and not a
// missing-address spelling (0.0.0.0, ::). For text layouts x is the
// unmapped binary address: IPv4 ranges apply to 4-byte values and IPv6
// ranges to 16-byte ones, never across (byte order alone would put the
// IPv6 a28:: inside 10.0.0.0/8). For integer layouts x is the integer.
func (q *queries) notLocal(x string) string {
	if q.s.IntegerIPs {
		var terms []string
		for _, r := range q.v4 {
			terms = append(terms, x+" BETWEEN "+strconv.FormatUint(uint64(v4int(r.From())), 10)+" AND "+strconv.FormatUint(uint64(v4int(r.To())), 10))
		}
		cond := x + " <> 0"
		if len(terms) > 0 {
			cond += "\n    AND NOT (" + strings.Join(terms, "\n      OR ") + ")"
		}
		return cond
	}
	cond := x + " IS NOT NULL AND " + x + " NOT IN (INET6_ATON('0.0.0.0'), INET6_ATON('::'))"
	var fam []string
	for _, f := range []struct {
		n      int
		ranges []netipx.IPRange
	}{{4, q.v4}, {16, q.v6}} {
		if len(f.ranges) == 0 {
			continue
		}
		var terms []string
		for _, r := range f.ranges {
			terms = append(terms, x+" BETWEEN INET6_ATON('"+r.From().String()+"') AND INET6_ATON('"+r.To().String()+"')")
		}
		fam = append(fam, "(LENGTH("+x+") = "+strconv.Itoa(f.n)+" AND ("+strings.Join(terms, "\n        OR ")+"))")
	}
	if len(fam) > 0 {
		cond += "\n    AND NOT (" + strings.Join(fam, "\n      OR ") + ")"
	}
	return cond
}

func v4int(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// sourceText shows the source of an events row: IPv4 (mapped or not) as
// a.b.c.d, IPv6 as stored (so that it can be pasted into the source
// variable, whose filter compares stored text), "" for none.
func (q *queries) sourceText(col string) string {
	if q.s.IntegerIPs {
		return "IF(" + col + " IS NULL OR " + col + " = 0, '', INET_NTOA(" + col + "))"
	}
	u := unmapped(col)
	return "CASE WHEN " + col + " IS NULL OR " + col + " IN (" + sentinels() + ") THEN ''" +
		" WHEN LENGTH(" + u + ") = 4 THEN INET6_NTOA(" + u + ") ELSE " + col + " END"
}

// sentinels lists the text spellings of a missing address
// (ossec-formats.md §3.1), as SQL literals.
func sentinels() string {
	s := []string{"''", "'(null)'", "'NULL'", "'(none)'", "'0'", "'0.0.0.0'", "'::'"}
	return strings.Join(s, ", ")
}

// sourceFilter selects the alerts of the source variable: its text and,
// for IPv4, the "::ffff:" spelling, both through the src_ip index.
func (q *queries) sourceFilter() string {
	if q.s.IntegerIPs {
		return "a.src_ip = INET_ATON(${source:sqlstring})"
	}
	return "a.src_ip IN (${source:sqlstring}, CONCAT('::ffff:', ${source:sqlstring}))"
}

// sources is the derived table s of internet sources in the range: one
// row per address (spellings merged) with alerts, first and last epoch,
// highest level.
//
// It groups by the address itself, an expression: grouped by the src_ip
// column, MariaDB reads the src_ip index in order and fetches every row
// through it, which over 3,000,000 alerts that do not fit in memory takes
// 35 s instead of one pass over the table. The local networks are left out
// after the grouping, through IF(g.alerts > 0, ...): a condition on the
// grouping column alone would be pushed into the grouping's WHERE and
// computed for every row, not every address.
func (q *queries) sources() string {
	events := q.events([]string{"src_ip", "level"})
	aggs := "COUNT(*) AS alerts, MIN(t.epoch) AS first_seen, MAX(t.epoch) AS last_seen, MAX(t.level) AS max_level"
	if q.s.IntegerIPs {
		return "(SELECT n.addr, INET_NTOA(n.addr) AS source, n.alerts, n.first_seen, n.last_seen, n.max_level\n" +
			"  FROM (SELECT IF(g.alerts > 0, g.addr, NULL) AS addr, g.alerts, g.first_seen, g.last_seen, g.max_level\n" +
			"    FROM (SELECT t.src_ip + 0 AS addr, " + aggs + "\n" +
			"      FROM " + events + "\n" +
			"      WHERE " + inRange + "\n" +
			"      GROUP BY addr) g) n\n" +
			"  WHERE " + q.notLocal("n.addr") + ") s"
	}
	// IPv4 is shown canonical, IPv6 as stored (one spelling of it), so
	// that the source variable's text filter finds it.
	return "(SELECT n.addr, IF(LENGTH(n.addr) = 4, INET6_NTOA(n.addr), n.spelling) AS source, n.alerts, n.first_seen, n.last_seen, n.max_level\n" +
		"  FROM (SELECT IF(g.alerts > 0, g.addr, NULL) AS addr, g.spelling, g.alerts, g.first_seen, g.last_seen, g.max_level\n" +
		"    FROM (SELECT " + unmapped("t.src_ip") + " AS addr,\n" +
		"        MIN(t.src_ip) AS spelling, " + aggs + "\n" +
		"      FROM " + events + "\n" +
		"      WHERE " + inRange + "\n" +
		"      GROUP BY addr) g) n\n" +
		"  WHERE " + q.notLocal("n.addr") + ") s"
}

// Panel SQL. Column names are part of the contract the tests check.

func (q *queries) alertsOverTime() string {
	return "SELECT $__unixEpochGroupAlias(t.epoch, $__interval, 0),\n" +
		"  CONCAT('level ', LPAD(COALESCE(t.level, 0), 2, '0')) AS metric,\n" +
		"  COUNT(*) AS alerts\n" +
		"FROM " + q.events([]string{"level"}) + "\n" +
		"WHERE " + inRange + "\n" +
		"GROUP BY 1, 2\n" +
		"ORDER BY 1, 2"
}

func (q *queries) totalAlerts() string {
	return "SELECT COUNT(*) AS alerts\n" +
		"FROM " + q.events(nil) + "\n" +
		"WHERE " + inRange
}

func (q *queries) highAlerts() string {
	return "SELECT COUNT(*) AS alerts\n" +
		"FROM " + q.events([]string{"level"}, q.level()+" >= CAST(${min_level:sqlstring} AS UNSIGNED)") + "\n" +
		"WHERE " + inRange
}

func (q *queries) internetSources() string {
	return "SELECT COUNT(*) AS sources\nFROM " + q.sources()
}

func (q *queries) topSources() string {
	return "SELECT s.source, s.alerts, s.first_seen * 1000 AS first_seen, s.last_seen * 1000 AS last_seen, s.max_level\n" +
		"FROM " + q.sources() + "\n" +
		"ORDER BY s.alerts DESC, s.source\n" +
		"LIMIT " + strconv.Itoa(q.perSource)
}

// sourceVariable lists the busiest internet sources in the range, for the
// drill-down variable.
func (q *queries) sourceVariable() string {
	return "SELECT s.source\n" +
		"FROM " + q.sources() + "\n" +
		"ORDER BY s.alerts DESC, s.source\n" +
		"LIMIT " + strconv.Itoa(q.sourceVars)
}

// ruleName is a rule's description from signature, which "rampart rules
// sync" fills (OSSEC stopped writing it in 2.9).
const ruleName = "COALESCE(NULLIF(sg.description, ''), '(unnamed: run rampart rules sync)')"

func (q *queries) topRules(where ...string) string {
	limit := "LIMIT " + strconv.Itoa(q.perTable)
	return "SELECT r.rule_id AS rule, " + ruleName + " AS name, r.max_level AS level, r.alerts,\n" +
		"  r.first_seen * 1000 AS first_seen, r.last_seen * 1000 AS last_seen\n" +
		"FROM (SELECT t.rule_id, COUNT(*) AS alerts, MAX(t.level) AS max_level, MIN(t.epoch) AS first_seen, MAX(t.epoch) AS last_seen\n" +
		"  FROM " + q.events([]string{"rule_key", "level"}, where...) + "\n" +
		"  WHERE " + inRange + "\n" +
		"  GROUP BY t.rule_id) r\n" +
		"LEFT JOIN signature sg ON sg.rule_id = r.rule_id\n" +
		"ORDER BY r.alerts DESC, r.rule_id\n" +
		limit
}

// agentName is the agent of a location: the name inside "(name) ip->",
// else the host before the first "->" (manager-local and agentless).
const agentName = "CASE WHEN l.name LIKE '(%' AND LOCATE(') ', l.name) > 2 THEN SUBSTRING(l.name, 2, LOCATE(') ', l.name) - 2)\n" +
	"    ELSE SUBSTRING_INDEX(l.name, '->', 1) END"

func (q *queries) byLocation() string {
	return "(SELECT t.server_id, t.location_id, COUNT(*) AS alerts\n" +
		"  FROM " + q.events([]string{"server_id", "location_id"}) + "\n" +
		"  WHERE " + inRange + "\n" +
		"  GROUP BY t.server_id, t.location_id) g\n" +
		"LEFT JOIN location l ON l.id = g.location_id AND l.server_id = g.server_id\n" +
		"LEFT JOIN server sv ON sv.id = g.server_id\n"
}

func (q *queries) alertsByAgent() string {
	return "SELECT sv.hostname AS manager,\n  " + agentName + " AS agent,\n  SUM(g.alerts) AS alerts\n" +
		"FROM " + q.byLocation() +
		"GROUP BY manager, agent\n" +
		"ORDER BY alerts DESC, manager, agent"
}

func (q *queries) topLocations() string {
	return "SELECT sv.hostname AS manager, l.name AS location, SUM(g.alerts) AS alerts\n" +
		"FROM " + q.byLocation() +
		"GROUP BY manager, location\n" +
		"ORDER BY alerts DESC, manager, location\n" +
		"LIMIT " + strconv.Itoa(q.perTable)
}

// latest lists alerts newest first (epoch, then the number after the dot),
// with names, source, location and the log's start.
func (q *queries) latest(limit int, where ...string) string {
	return "SELECT t.epoch AS time, t.level, t.rule_id AS rule, " + ruleName + " AS name,\n" +
		"  " + q.sourceText("t.src_ip") + " AS source,\n" +
		"  l.name AS location, LEFT(t.full_log, 500) AS log\n" +
		"FROM " + q.events([]string{"seq", "level", "rule_id", "src_ip", "server_id", "location_id", "full_log"}, where...) + "\n" +
		"LEFT JOIN signature sg ON sg.rule_id = t.rule_id\n" +
		"LEFT JOIN location l ON l.id = t.location_id AND l.server_id = t.server_id\n" +
		"WHERE " + inRange + "\n" +
		"ORDER BY t.epoch DESC, t.seq DESC, t.server_id\n" +
		"LIMIT " + strconv.Itoa(limit)
}

func (q *queries) latestHigh() string {
	return q.latest(q.latestN, q.level()+" >= CAST(${min_level:sqlstring} AS UNSIGNED)")
}

func (q *queries) sourceOverTime() string {
	return "SELECT $__unixEpochGroupAlias(t.epoch, $__interval, 0),\n" +
		"  CONCAT('rule ', t.rule_id) AS metric,\n" +
		"  COUNT(*) AS alerts\n" +
		"FROM " + q.events([]string{"rule_id"}, q.sourceFilter()) + "\n" +
		"WHERE " + inRange + "\n" +
		"GROUP BY 1, 2\n" +
		"ORDER BY 1, 2"
}

func (q *queries) sourceRules() string { return q.topRules(q.sourceFilter()) }

func (q *queries) sourceAlerts() string { return q.latest(200, q.sourceFilter()) }

// localList describes the excluded networks for people.
func localList(local []netip.Prefix) string {
	s := make([]string, len(local))
	for i, p := range local {
		s[i] = p.String()
	}
	slices.Sort(s)
	return strings.Join(s, ", ")
}
