package draft

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// timeUTC is how the text writes times: the zone is said.
const timeUTC = "2006-01-02 15:04:05 UTC"

func utc(t time.Time) string { return t.UTC().Format(timeUTC) }

// labels returns the distinct kinds of the reports, busiest first.
func (d Draft) labels() []string {
	var out []string
	for _, r := range d.Reports {
		if l := r.Kind.Label(); !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// Subject is the mail's subject line.
func (d Draft) Subject() string {
	kinds := strings.Join(d.labels(), ", ")
	if len(d.Reports) == 1 {
		return fmt.Sprintf("Abuse report: %s from %s", kinds, d.Reports[0].Addr)
	}
	return fmt.Sprintf("Abuse report: %d addresses in your network (%s)", len(d.Reports), kinds)
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}

// Text is the plain-text mail body: who we are, what happened, when and
// how often, the evidence, and how to reach us.
func (d Draft) Text() string {
	var b strings.Builder
	if len(d.Contact.Orgs) == 1 {
		fmt.Fprintf(&b, "Dear %s abuse team,\n\n", d.Contact.Orgs[0])
	} else {
		b.WriteString("Dear abuse team,\n\n")
	}
	who := "We"
	if org := d.Reporter.Org; org != "" {
		who = "We at " + org
	}
	if len(d.Reports) == 1 {
		r := d.Reports[0]
		para(&b, fmt.Sprintf("%s would like to report an attack on our servers from %s, an address your registry lists you as the abuse contact for. Our intrusion detection system (OSSEC) recorded %s (%s) between %s and %s.",
			who, r.Addr, plural(r.Count, "alert", "alerts"), r.Kind.Label(), utc(r.FirstSeen), utc(r.LastSeen)))
	} else {
		para(&b, fmt.Sprintf("%s would like to report attacks on our servers from %d addresses your registry lists you as the abuse contact for. Our intrusion detection system (OSSEC) recorded:",
			who, len(d.Reports)))
		rows := make([][]string, len(d.Reports))
		for i, r := range d.Reports {
			rows[i] = []string{r.Addr.String(), r.Kind.Label(), plural(r.Count, "alert", "alerts"),
				utc(r.FirstSeen) + " to " + utc(r.LastSeen)}
		}
		writeColumns(&b, "  ", rows)
		b.WriteString("\n")
	}
	para(&b, "Could you please look into this and stop the activity? Such traffic often comes from a compromised or misused machine whose owner does not know of it.")
	para(&b, "The evidence follows. All times are UTC; the log lines keep the timestamps our servers wrote. Our own host names, addresses and user names are replaced by [host], [address] and [user].")
	for _, r := range d.Reports {
		writeEvidence(&b, r)
		b.WriteString("\n")
	}
	switch {
	case d.Attach == AttachXARF && len(d.Reports) == 1:
		para(&b, "A machine-readable copy of this report is attached in X-ARF v4 format (xarf.json).")
	case d.Attach == AttachXARF:
		para(&b, "A machine-readable report for each address is attached in X-ARF v4 format (xarf-<address>.json).")
	case d.Attach == AttachARF:
		para(&b, "A machine-readable report for each address is attached in ARF (RFC 5965).")
	}
	para(&b, fmt.Sprintf("You can reach us by replying to this message or at %s. Thank you for your help.", d.Reporter.Contact()))
	b.WriteString("Kind regards,\n")
	for _, s := range []string{d.Reporter.Name, d.Reporter.Org} {
		if s != "" {
			b.WriteString(s + "\n")
		}
	}
	return b.String()
}

func writeEvidence(b *strings.Builder, r Report) {
	head := r.Addr.String()
	if r.Network != "" {
		head += " (" + r.Network + ")"
	}
	fmt.Fprintf(b, "== %s ==\n", head)
	fmt.Fprintf(b, "%s (%s) from %s to %s.\n", plural(r.Count, "alert", "alerts"), r.Kind.Label(), utc(r.FirstSeen), utc(r.LastSeen))
	b.WriteString("Rules hit:\n")
	rows := make([][]string, len(r.Rules))
	for i, rule := range r.Rules {
		rows[i] = []string{"rule " + strconv.Itoa(rule.ID), "level " + strconv.Itoa(rule.Level),
			plural(rule.Count, "alert", "alerts"), rule.Description}
	}
	writeColumns(b, "  ", rows)
	if len(r.Alerts) == 0 {
		return
	}
	if int64(len(r.Alerts)) < r.Count {
		fmt.Fprintf(b, "The latest %d of %d alerts:\n", len(r.Alerts), r.Count)
	} else {
		b.WriteString("The alerts:\n")
	}
	for _, a := range r.Alerts {
		fmt.Fprintf(b, "  %s  rule %d\n", utc(a.Time), a.RuleID)
		for l := range strings.SplitSeq(a.Log, "\n") {
			b.WriteString("    " + l + "\n")
		}
	}
}

// para writes s as a paragraph wrapped at 72 columns, then a blank line.
func para(b *strings.Builder, s string) {
	col := 0
	for i, w := range strings.Fields(s) {
		switch {
		case i == 0:
		case col+1+len(w) > 72:
			b.WriteString("\n")
			col = 0
		default:
			b.WriteString(" ")
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	b.WriteString("\n\n")
}

// writeColumns aligns rows in columns two spaces apart; the last column is
// not padded.
func writeColumns(b *strings.Builder, indent string, rows [][]string) {
	var width []int
	for _, r := range rows {
		for i, c := range r {
			if i == len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len(c))
		}
	}
	for _, r := range rows {
		b.WriteString(indent)
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
				break
			}
			b.WriteString(c + strings.Repeat(" ", width[i]-len(c)+2))
		}
		b.WriteString("\n")
	}
}
