package draft

import (
	"cmp"
	"net/mail"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/abuse"
)

// Reporter is who reports: us.
type Reporter struct {
	// Name is the display name of Email; Org the organisation.
	Name    string `json:"name,omitempty"`
	Org     string `json:"org,omitempty"`
	Email   string `json:"email"`
	ReplyTo string `json:"reply_to,omitempty"`
	// Domain is the reporter's domain X-ARF asks for.
	Domain string `json:"domain,omitempty"`
}

// Contact returns where the abuse desk reaches us: ReplyTo, else Email.
func (r Reporter) Contact() string { return cmp.Or(r.ReplyTo, r.Email) }

// Rule is one rule an address's alerts hit.
type Rule struct {
	ID          int      `json:"id"`
	Level       int      `json:"level"`
	Description string   `json:"description"`
	Groups      []string `json:"groups,omitempty"`
	Count       int64    `json:"count"`
}

// Alert is one alert quoted as evidence.
type Alert struct {
	Time   time.Time `json:"time"`
	RuleID int       `json:"rule_id"`
	Level  int       `json:"level"`
	// Location is the OSSEC location. Build learns our names from it;
	// it is never copied into a draft.
	Location string `json:"-"`
	// Log is the alert's log lines joined by "\n".
	Log string `json:"log"`
}

// Evidence is what the store knows about one address, unredacted.
type Evidence struct {
	Addr      netip.Addr
	Count     int64
	FirstSeen time.Time
	LastSeen  time.Time
	Rules     []Rule
	// Alerts are the alerts to quote (the newest, in any order).
	Alerts []Alert
	// Locations are every OSSEC location of the address's alerts, so
	// that names seen only in unquoted alerts are learned too.
	Locations []string
}

// Input is one address to report, with the abuse contact found for it.
type Input struct {
	Contact  abuse.Contact
	Evidence Evidence
}

// Report is one address's part of a draft, redacted: safe to send.
type Report struct {
	Addr netip.Addr `json:"addr"`
	// Network is what the registry calls the address's network (name and
	// range), to help the abuse desk find it.
	Network   string    `json:"network,omitempty"`
	Kind      Kind      `json:"kind"`
	Count     int64     `json:"count"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Rules are ordered by count descending, then id.
	Rules []Rule `json:"rules"`
	// Alerts are the quoted alerts, oldest first.
	Alerts []Alert `json:"alerts"`
}

// Contact is whom a draft goes to.
type Contact struct {
	// Emails are the abuse mailboxes, normalised (lower case, valid
	// addr-specs), in the registry's order.
	Emails []string `json:"emails"`
	// Orgs and Registries are those of the networks the addresses are
	// in, without repeats.
	Orgs       []string `json:"orgs,omitempty"`
	Registries []string `json:"registries,omitempty"`
}

// Key identifies a contact: its mailboxes sorted and joined by ",".
func (c Contact) Key() string { return ContactKey(c.Emails) }

// ContactKey is the key of a set of normalised mailboxes.
func ContactKey(emails []string) string {
	s := slices.Clone(emails)
	slices.Sort(s)
	return strings.Join(slices.Compact(s), ",")
}

// Draft is one abuse report to one contact about one or more addresses.
type Draft struct {
	Contact  Contact   `json:"contact"`
	Reporter Reporter  `json:"reporter"`
	Created  time.Time `json:"created"`
	// Attach is what the mail carries besides the text (AttachXARF,
	// AttachARF, AttachNone); the text mentions it.
	Attach string `json:"attach"`
	// Reports are ordered by count descending, then address.
	Reports []Report `json:"reports"`
}

// Values of Draft.Attach (and of the config's abuse.attach).
const (
	AttachXARF = "xarf"
	AttachARF  = "arf"
	AttachNone = "none"
)

// Addrs returns the draft's addresses in report order.
func (d Draft) Addrs() []netip.Addr {
	out := make([]netip.Addr, len(d.Reports))
	for i, r := range d.Reports {
		out[i] = r.Addr
	}
	return out
}

// Without returns the draft without the reports of the given addresses.
func (d Draft) Without(drop []netip.Addr) Draft {
	d.Reports = slices.DeleteFunc(slices.Clone(d.Reports), func(r Report) bool { return slices.Contains(drop, r.Addr) })
	return d
}

// Skip is an address Build made no report for, and why.
type Skip struct {
	Addr   netip.Addr
	Reason string
}

// Options are what Build needs besides the inputs.
type Options struct {
	Reporter Reporter
	// Redactor knows what is ours; Build extends it with the names and
	// addresses of the inputs' OSSEC locations and syslog host names. A
	// nil Redactor still applies those and the built-in rules.
	Redactor *Redactor
	// Now is the drafts' creation time.
	Now    time.Time
	Attach string
}

// Build makes one draft per abuse contact, grouping every address whose
// contact has the same set of mailboxes. Addresses without a usable
// mailbox are skipped and said so; an address given twice counts once.
// Drafts are ordered by their contact's key.
func Build(inputs []Input, o Options) ([]Draft, []Skip) {
	red := o.Redactor
	if red == nil {
		red, _ = NewRedactor(RedactOptions{})
	}
	red = learn(red, inputs)
	attach := cmp.Or(o.Attach, AttachXARF)

	var skips []Skip
	byKey := map[string]*Draft{}
	seen := map[netip.Addr]bool{}
	for _, in := range inputs {
		ev := in.Evidence
		addr := ev.Addr.Unmap()
		switch {
		case !addr.IsValid():
			continue
		case seen[addr]:
			continue
		case red.IsOurs(addr):
			seen[addr] = true
			skips = append(skips, Skip{addr, "the address is in one of our own networks"})
			continue
		}
		seen[addr] = true
		emails, bad := NormalizeEmails(in.Contact.Emails)
		if len(emails) == 0 {
			reason := "the registry names no abuse mailbox"
			if len(bad) > 0 {
				reason = "the registry's abuse mailbox is not a usable address: " + strings.Join(bad, ", ")
			}
			if in.Contact.Registry != "" {
				reason += " (" + in.Contact.Registry + ")"
			}
			skips = append(skips, Skip{addr, reason})
			continue
		}
		if ev.Count == 0 {
			skips = append(skips, Skip{addr, "no alerts from this address"})
			continue
		}
		key := ContactKey(emails)
		d := byKey[key]
		if d == nil {
			d = &Draft{Contact: Contact{Emails: emails}, Reporter: o.Reporter, Created: o.Now.UTC(), Attach: attach}
			byKey[key] = d
		}
		d.Contact.Orgs = appendNew(d.Contact.Orgs, in.Contact.Org)
		d.Contact.Registries = appendNew(d.Contact.Registries, in.Contact.Registry)
		d.Reports = append(d.Reports, report(red, addr, in.Contact, ev))
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	drafts := make([]Draft, 0, len(keys))
	for _, k := range keys {
		d := byKey[k]
		slices.SortFunc(d.Reports, func(a, b Report) int {
			if c := cmp.Compare(b.Count, a.Count); c != 0 {
				return c
			}
			return a.Addr.Compare(b.Addr)
		})
		drafts = append(drafts, *d)
	}
	return drafts, skips
}

// learn extends the redactor with the names and addresses of every
// location and syslog host name in the inputs: a name of ours seen in one
// address's evidence is hidden in every draft.
func learn(red *Redactor, inputs []Input) *Redactor {
	var locs, hosts []string
	for _, in := range inputs {
		locs = append(locs, in.Evidence.Locations...)
		for _, a := range in.Evidence.Alerts {
			locs = append(locs, a.Location)
			for line := range strings.SplitSeq(a.Log, "\n") {
				if h, ok := SyslogHost(line); ok {
					hosts = append(hosts, h)
				}
			}
		}
	}
	slices.Sort(locs)
	return red.WithLocations(slices.Compact(locs)).WithHosts(hosts)
}

func report(red *Redactor, addr netip.Addr, c abuse.Contact, ev Evidence) Report {
	r := Report{Addr: addr, Count: ev.Count, FirstSeen: ev.FirstSeen.UTC(), LastSeen: ev.LastSeen.UTC()}
	var ranges []string
	for _, p := range c.Range {
		ranges = append(ranges, p.String())
	}
	r.Network = strings.TrimSpace(red.Text(c.NetName) + " " + strings.Join(ranges, " "))
	for _, rule := range ev.Rules {
		rule.Description = red.Text(rule.Description)
		rule.Groups = slices.Clone(rule.Groups)
		r.Rules = append(r.Rules, rule)
	}
	slices.SortFunc(r.Rules, func(a, b Rule) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	for _, a := range ev.Alerts {
		lines := strings.Split(a.Log, "\n")
		for i, l := range lines {
			lines[i] = red.Line(l, addr)
		}
		r.Alerts = append(r.Alerts, Alert{Time: a.Time.UTC(), RuleID: a.RuleID, Level: a.Level, Log: strings.Join(lines, "\n")})
	}
	slices.SortStableFunc(r.Alerts, func(a, b Alert) int { return a.Time.Compare(b.Time) })
	r.Kind = Classify(r.Rules)
	return r
}

func appendNew(list []string, s string) []string {
	if s = strings.TrimSpace(s); s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// NormalizeEmails lower-cases the mailboxes, drops repeats, and keeps only
// plain addr-specs (they become SMTP recipients and header fields, and
// come from registries: hostile input). The unusable ones come back apart.
func NormalizeEmails(in []string) (ok, bad []string) {
	for _, e := range in {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" {
			continue
		}
		if !validEmail(e) {
			bad = append(bad, e)
			continue
		}
		if !slices.Contains(ok, e) {
			ok = append(ok, e)
		}
	}
	return ok, bad
}

func validEmail(e string) bool {
	if len(e) > 254 || strings.ContainsFunc(e, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune(`<>()[],;:"\`, r) }) {
		return false
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return false
	}
	local, domain, _ := strings.Cut(e, "@")
	return local != "" && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}
