package ossecdb

import (
	"strconv"
	"strings"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// query builds one parameterised statement for a dialect: text comes only
// from this package, values only through arg.
type query struct {
	d    Dialect
	b    strings.Builder
	args []any
}

func newQuery(d Dialect) *query { return &query{d: d} }

func (q *query) add(parts ...string) *query {
	for _, p := range parts {
		q.b.WriteString(p)
	}
	return q
}

// arg appends a placeholder for v.
func (q *query) arg(v any) *query {
	q.args = append(q.args, v)
	if q.d == Postgres {
		q.b.WriteString("$" + strconv.Itoa(len(q.args)))
	} else {
		q.b.WriteString("?")
	}
	return q
}

// in appends "(p1, p2, ...)".
func (q *query) in(vs []any) *query {
	q.b.WriteString("(")
	for i, v := range vs {
		if i > 0 {
			q.b.WriteString(", ")
		}
		q.arg(v)
	}
	q.b.WriteString(")")
	return q
}

func (q *query) String() string { return q.b.String() }

// ident quotes a column name that is a keyword in one dialect ("user").
func (l Layout) ident(name string) string {
	if l.Dialect == Postgres {
		return `"` + name + `"`
	}
	return "`" + name + "`"
}

// levelExpr is the alert's level: the column (2.9+, hybrid), the signature
// join (2.8), or NULL.
func (l Layout) levelExpr() string {
	switch {
	case l.HasLevel:
		return "a.level"
	case l.HasSignature:
		return "s.level"
	}
	return "NULL"
}

// levelJoin is the join levelExpr needs.
func (l Layout) levelJoin() string {
	if !l.HasLevel && l.HasSignature {
		return " LEFT JOIN signature s ON s.rule_id = a.rule_id"
	}
	return ""
}

// logExprs are the user and full_log columns, and the join they need.
func (l Layout) logExprs() (user, log, join string) {
	switch {
	case l.AlertHasLog:
		return "a." + l.ident("user"), "a.full_log", ""
	case l.HasData:
		return "d." + l.ident("user"), "d.full_log", " LEFT JOIN data d ON d.id = a.id AND d.server_id = a.server_id"
	}
	return "NULL", "NULL", ""
}

// srcPredicate keeps rows that may carry an attacker address. It rejects
// every missing-address spelling of ossec-formats.md §3.1 in SQL, where it
// is cheap; ossec.ParseAddr then rejects anything else that is not an
// address (host names, stray spaces).
func (l Layout) srcPredicate() string {
	if !l.TextIPs {
		return "a.src_ip IS NOT NULL AND a.src_ip <> 0"
	}
	var b strings.Builder
	b.WriteString("a.src_ip IS NOT NULL AND a.src_ip NOT IN (")
	for i, s := range ossec.MissingAddrSpellings {
		if i > 0 {
			b.WriteString(", ")
		}
		// Constants without quotes or backslashes: safe as literals.
		b.WriteString("'" + s + "'")
	}
	b.WriteString(")")
	return b.String()
}

// alertIDPattern is ossec.ParseID's grammar, for SQL that must agree with
// it exactly.
const alertIDPattern = `^[0-9]{1,18}[.][0-9]{1,18}$`

// exactValid is true for rows whose alertid ossec.ParseID accepts.
func (l Layout) exactValid() string {
	if l.Dialect == Postgres {
		return "a.alertid ~ '" + alertIDPattern + "'"
	}
	return "a.alertid REGEXP '" + alertIDPattern + "'"
}

// tenDigitID is true for alertids of 10-digit epochs that ossec.ParseID
// accepts: the rows for which alertid text order is time order.
func (l Layout) tenDigitID() string {
	const pattern = `^[0-9]{10}[.][0-9]{1,18}$`
	if l.Dialect == Postgres {
		return "a.alertid ~ '" + pattern + "'"
	}
	return "a.alertid REGEXP '" + pattern + "'"
}

// exactEpoch is the integer before the dot of a valid alertid; NULL (never
// a cast error) for others.
func (l Layout) exactEpoch() string {
	if l.Dialect == Postgres {
		return "(CASE WHEN " + l.exactValid() + " THEN CAST(split_part(a.alertid, '.', 1) AS BIGINT) END)"
	}
	return "(CASE WHEN " + l.exactValid() + " THEN CAST(SUBSTRING_INDEX(a.alertid, '.', 1) AS UNSIGNED) END)"
}

// alertIDText is alertid under byte-order comparison: PostgreSQL's default
// collation may not compare text byte by byte.
func (l Layout) alertIDText() string {
	if l.Dialect == Postgres {
		return `a.alertid COLLATE "C"`
	}
	return "a.alertid"
}
