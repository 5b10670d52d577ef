package whois

import (
	"regexp"
	"strings"

	"go4.org/netipx"

	"github.com/rampart-ids/rampart/internal/abuse"
)

// The JPNIC dialect ("ADDR/e", English): "a. [Network Number]  value"
// lines under "Network Information:", then "Less Specific Info." listing
// the enclosing allocations ("[Allocation]  203.0.113.64/27") and "More
// Specific Info.". The abuse mailbox is the [Abuse] line, which an
// allocation holds and an assignment often does not; then the enclosing
// allocation is asked for it.

var jpnicParentRE = regexp.MustCompile(`\[(Allocation|Assignment|Sub ?Allocation|Sub ?Assignment)\]\s+(\S+)`)

func readJPNIC(lines []string) answer {
	a := answer{registry: "JPNIC"}
	var n network
	n.country = "JP" // JPNIC registers Japanese space only.
	var parents []netipx.IPRange
	section := "main"
	for _, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "Less Specific Info"):
			section = "less"
			continue
		case strings.HasPrefix(t, "More Specific Info"):
			section = "more"
			continue
		}
		switch section {
		case "main":
			m := jpnicLineRE.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			label, val := strings.ToLower(strings.TrimSpace(m[1])), strings.TrimSpace(m[2])
			switch label {
			case "network number", "ipネットワークアドレス":
				if r, ok := parseRange(val); ok {
					n.rng = r
				}
			case "network name":
				n.name = abuse.CleanField(val)
			case "organization":
				n.org = abuse.CleanField(val)
			case "abuse":
				n.emails = emailsIn(n.emails, val)
			default:
				if strings.HasPrefix(m[1], " ") || label == "" {
					continue // the banner's "[ JPNIC database ... ]"
				}
			}
			a.attrs++
		case "less":
			if m := jpnicParentRE.FindStringSubmatch(l); m != nil {
				if r, ok := parseRange(m[2]); ok {
					parents = append(parents, r)
				}
			}
		}
	}
	if n.rng.IsValid() {
		a.nets = append(a.nets, n)
	}
	a.parent = func(best network) Referral {
		// The nearest allocation strictly enclosing the network.
		var near netipx.IPRange
		for _, p := range parents {
			if !p.IsValid() || p == best.rng || !p.Contains(best.rng.From()) || !p.Contains(best.rng.To()) {
				continue
			}
			if !near.IsValid() || compareSize(p, near) < 0 {
				near = p
			}
		}
		if !near.IsValid() {
			return Referral{}
		}
		q := near.String()
		if p, ok := near.Prefix(); ok {
			q = p.String()
		}
		return Referral{Query: q + "/e", Parent: true}
	}
	return a
}

// The KRNIC dialect: a Korean part, then after "# ENGLISH" the same in
// English: "[ Network Information ]" blocks of "Key : value" lines, each
// followed by its contact blocks ("[ Admin Contact Information ]",
// "[ Network Abuse Contact Information ]"), the ISP's network first and
// the customer's after "More specific assignment information". Older
// answers call the blocks "[ ISP Network Abuse Contact Information ]".

var krnicKVRE = regexp.MustCompile(`^\s*([A-Za-z][A-Za-z0-9 /-]*?)\s*:\s*(.*)$`)

func readKRNIC(lines []string) answer {
	a := answer{registry: "KRNIC"}
	for i, l := range lines {
		if strings.HasPrefix(l, "# ENGLISH") {
			lines = lines[i+1:]
			break
		}
	}
	var nets []*network
	var cur *network
	section := ""
	for _, l := range lines {
		if m := krnicHeadRE.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			section = strings.ToLower(m[1])
			if strings.Contains(section, "network information") {
				cur = &network{country: "KR"}
				nets = append(nets, cur)
			}
			continue
		}
		m := krnicKVRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		key := strings.ToLower(strings.Join(strings.Fields(m[1]), " "))
		val := strings.TrimSpace(m[2])
		if key == "ipv4 address" || key == "ipv6 address" {
			if cur == nil || cur.rng.IsValid() {
				cur = &network{country: "KR"}
				nets = append(nets, cur)
			}
			if r, ok := parseRange(val); ok {
				cur.rng = r
			}
			a.attrs++
			continue
		}
		if cur == nil {
			continue
		}
		a.attrs++
		switch {
		case strings.Contains(section, "abuse") && (key == "e-mail" || key == "email"):
			cur.emails = emailsIn(cur.emails, val)
		case key == "organization name" || key == "org name":
			if cur.org == "" {
				cur.org = abuse.CleanField(val)
			}
		case key == "service name" || key == "network name":
			if cur.name == "" {
				cur.name = abuse.CleanField(val)
			}
		}
	}
	for _, n := range nets {
		a.nets = append(a.nets, *n)
	}
	return a
}
