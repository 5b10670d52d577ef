package whois

import (
	"net"
	"regexp"
	"strings"

	"github.com/rampart-ids/rampart/internal/abuse"
)

// The RPSL dialect: objects of "key: value" lines separated by blank lines,
// comments starting with % (RIPE, APNIC, AFRINIC, LACNIC, NIC.BR, IANA,
// and the NIR data APNIC mirrors).

type attr struct {
	key, val string
	more     []string // continuation lines, joined into val at the end
}

type object struct{ attrs []attr }

func (o *object) kind() string { return o.attrs[0].key }

// get returns the first value of key, "" when there is none.
func (o *object) get(key string) string {
	for _, a := range o.attrs {
		if a.key == key {
			return a.val
		}
	}
	return ""
}

// all returns every value of key.
func (o *object) all(key string) []string {
	var out []string
	for _, a := range o.attrs {
		if a.key == key {
			out = append(out, a.val)
		}
	}
	return out
}

var (
	attrRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_-]*):(?:\s+(.*))?$`)
	// RIPE, APNIC and AFRINIC state the contact they computed for the
	// object (inherited from a parent when the object has none).
	abuseCommentRE = regexp.MustCompile(`^%\s*Abuse contact for '([^']*)' is '([^']*)'`)
	// LACNIC's joint whois names the registry whose data follows:
	// "% LACNIC resource: whois.lacnic.net", "% Brazilian resource:
	// whois.registro.br".
	resourceRE = regexp.MustCompile(`^%\s*[A-Za-z ]+ resource:\s*([A-Za-z0-9.-]+(?::[0-9]+)?)\s*$`)
)

// freeText reports whether an attribute's value is prose: a # there is
// text, not an RPSL end-of-line comment.
func freeText(key string) bool {
	switch key {
	case "remarks", "descr", "address", "org-name", "owner", "person", "role", "responsible", "organisation":
		return true
	}
	return false
}

// nirServer names the whois server of a national registry whose data
// APNIC holds only in part, "" for others: CNNIC, IDNIC (APJII) and VNNIC
// keep their data in the APNIC database itself.
func nirServer(source string) string {
	switch source {
	case "JPNIC":
		return "whois.nic.ad.jp"
	case "KRNIC":
		return "whois.kisa.or.kr"
	case "TWNIC":
		return "whois.twnic.net.tw"
	}
	return ""
}

func readRPSL(lines []string, server string) answer {
	var a answer
	var objs []*object
	var cur *object
	abuseFor := map[string][]string{} // range as written -> mailboxes
	for _, l := range lines {
		switch {
		case strings.TrimSpace(l) == "":
			cur = nil
		case l[0] == '%' || l[0] == '#':
			cur = nil
			if m := abuseCommentRE.FindStringSubmatch(l); m != nil {
				if r, ok := parseRange(m[1]); ok {
					k := r.String()
					abuseFor[k] = emailsIn(abuseFor[k], m[2])
				}
			}
			// Only a national registry's resource is a referral; LACNIC's
			// own line names the server that answered.
			if m := resourceRE.FindStringSubmatch(l); m != nil {
				host := strings.ToLower(m[1])
				if h := hostOnly(host); !strings.EqualFold(h, hostOnly(server)) && abuse.RegistryOf(h) != "LACNIC" {
					a.referral = Referral{Server: host, Detail: true}
				}
			}
			if a.registry == "" {
				a.registry = bannerRegistry(l)
			}
		case (l[0] == ' ' || l[0] == '\t' || l[0] == '+') && cur != nil:
			// A continuation line.
			last := &cur.attrs[len(cur.attrs)-1]
			last.more = append(last.more, strings.TrimSpace(strings.TrimPrefix(l, "+")))
		default:
			m := attrRE.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			if cur == nil {
				cur = &object{}
				objs = append(objs, cur)
			}
			cur.attrs = append(cur.attrs, attr{key: strings.ToLower(m[1]), val: m[2]})
			a.attrs++
		}
	}
	for _, o := range objs {
		for i := range o.attrs {
			at := &o.attrs[i]
			if len(at.more) > 0 {
				at.val += " " + strings.Join(at.more, " ")
				at.more = nil
			}
			if !freeText(at.key) {
				if j := strings.IndexByte(at.val, '#'); j >= 0 {
					at.val = at.val[:j]
				}
			}
			at.val = strings.TrimSpace(at.val)
		}
	}

	// Objects by primary key, for abuse-c, mnt-irt and org references.
	byKey := map[string]*object{}
	for _, o := range objs {
		k := strings.ToUpper(o.attrs[0].val)
		if h := o.get("nic-hdl"); h != "" {
			k = strings.ToUpper(h)
		} else if h := o.get("nic-hdl-br"); h != "" {
			k = strings.ToUpper(h)
		}
		if _, dup := byKey[k]; !dup {
			byKey[k] = o
		}
	}

	for _, o := range objs {
		switch o.kind() {
		case "inetnum", "inet6num":
		case "refer", "whois":
			// IANA: "refer:" opens the answer, "whois:" follows the
			// network; both name the registry's server.
			if a.referral.IsZero() || o.kind() == "refer" {
				a.referral = Referral{Server: o.get(o.kind())}
			}
			continue
		default:
			continue
		}
		r, ok := parseRange(o.attrs[0].val)
		if !ok {
			continue
		}
		n := network{
			rng:     r,
			name:    abuse.CleanField(o.get("netname")),
			country: abuse.CountryCode(o.get("country")),
			source:  o.get("source"),
		}
		n.org = rpslOrg(o, byKey)
		n.emails = abuseFor[r.String()]
		if len(n.emails) == 0 {
			n.emails = rpslEmails(o, byKey)
		}
		n.referral = nirReferral(o, n.source)
		// An IANA answer written without blank lines keeps refer: and
		// whois: inside the network object.
		for _, k := range []string{"refer", "whois"} {
			if v := o.get(k); v != "" && a.referral.IsZero() {
				a.referral = Referral{Server: v}
			}
		}
		a.nets = append(a.nets, n)
	}
	return a
}

// hostOnly strips a port.
func hostOnly(s string) string {
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return s
}

// rpslOrg names the holder: the referenced organisation's org-name, the
// owner (LACNIC, NIC.BR), IANA's organisation attribute, else the first
// descr line.
func rpslOrg(o *object, byKey map[string]*object) string {
	if h := o.get("org"); h != "" {
		if org := byKey[strings.ToUpper(h)]; org != nil && org.kind() == "organisation" {
			if v := abuse.CleanField(org.get("org-name")); v != "" {
				return v
			}
		}
	}
	for _, k := range []string{"owner", "org-name", "organisation", "descr"} {
		if v := abuse.CleanField(o.get(k)); v != "" {
			return v
		}
	}
	return ""
}

// rpslEmails returns the object's abuse mailboxes, from the first place
// that names any: its own abuse-mailbox, the abuse-c role (abuse-mailbox,
// else e-mail: LACNIC and NIC.BR persons have only that), the mnt-irt
// object, the organisation's abuse-c.
func rpslEmails(o *object, byKey map[string]*object) []string {
	var out []string
	for _, v := range o.all("abuse-mailbox") {
		out = emailsIn(out, v)
	}
	if len(out) > 0 {
		return out
	}
	fromRefs := func(kind string, handles []string) []string {
		var out []string
		for _, h := range handles {
			ref := byKey[strings.ToUpper(h)]
			if ref == nil || (kind != "" && ref.kind() != kind) {
				continue
			}
			for _, v := range ref.all("abuse-mailbox") {
				out = emailsIn(out, v)
			}
			if len(out) == 0 {
				for _, v := range ref.all("e-mail") {
					out = emailsIn(out, v)
				}
			}
		}
		return out
	}
	if out := fromRefs("", o.all("abuse-c")); len(out) > 0 {
		return out
	}
	if out := fromRefs("irt", o.all("mnt-irt")); len(out) > 0 {
		return out
	}
	if h := o.get("org"); h != "" {
		if org := byKey[strings.ToUpper(h)]; org != nil && org.kind() == "organisation" {
			for _, v := range org.all("abuse-mailbox") {
				out = emailsIn(out, v)
			}
			if len(out) > 0 {
				return out
			}
			return fromRefs("", org.all("abuse-c"))
		}
	}
	return nil
}

// nirReferral points an APNIC network in a national registry's space to
// that registry's whois: by the object's source (APNIC's partial mirror of
// the NIR's data: the holder is known, the NIR has more detail) or by a
// remark naming the NIR's whois host (the NIR's own allocation: its
// contacts are the NIR's).
func nirReferral(o *object, source string) Referral {
	if s := nirServer(sourceRegistry(source)); s != "" {
		return Referral{Server: s, Detail: true}
	}
	remarks := strings.ToLower(strings.Join(o.all("remarks"), " "))
	for _, h := range [...]string{"whois.nic.ad.jp", "whois.kisa.or.kr", "whois.nic.or.kr", "whois.twnic.net.tw"} {
		if strings.Contains(remarks, h) {
			return Referral{Server: h}
		}
	}
	return Referral{}
}

// bannerRegistry names the registry from a comment line of its banner.
func bannerRegistry(l string) string {
	switch {
	case strings.Contains(l, "RIPE Database"):
		return "RIPE"
	case strings.Contains(l, "[whois.apnic.net]") || strings.Contains(l, "APNIC Whois"):
		return "APNIC"
	case strings.Contains(strings.ToUpper(l), "AFRINIC WHOIS"):
		return "AFRINIC"
	case strings.Contains(l, "whois.lacnic.net") || strings.Contains(l, "Copyright LACNIC"):
		return "LACNIC"
	case strings.Contains(l, "Nic.br") || strings.Contains(l, "registro.br"):
		return "NIC.BR"
	case strings.Contains(l, "IANA WHOIS"):
		return "IANA"
	}
	return ""
}
