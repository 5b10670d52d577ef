package whois

import (
	"regexp"
	"strings"

	"go4.org/netipx"

	"github.com/rampart-ids/rampart/internal/abuse"
)

// The ARIN dialect ("n + ADDR"): one record per network (NetRange, CIDR,
// NetName, Organization or Customer), each followed by the records of its
// organisation (OrgName, Country, ReferralServer) or customer (CustName)
// and of their points of contact (OrgAbuseEmail, and RAbuseEmail for a
// contact set on the network itself). Every network containing the address
// is listed, the least specific first.

var (
	arinLineRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*):\s*(.*)$`)
	// "Example Broadband LLC (EXBB-1)": the handle goes.
	arinHandleRE = regexp.MustCompile(`\s*\([A-Z0-9-]+\)\s*$`)
)

func readARIN(lines []string) answer {
	a := answer{registry: "ARIN"}
	type arinNet struct {
		network
		orgAbuse, rAbuse []string
	}
	var nets []*arinNet
	var cur *arinNet
	for _, l := range lines {
		if strings.HasPrefix(l, "#") || strings.HasPrefix(l, "%") {
			continue
		}
		m := arinLineRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		a.attrs++
		key, val := m[1], strings.TrimSpace(m[2])
		switch key {
		case "NetRange":
			cur = &arinNet{}
			nets = append(nets, cur)
			if r, ok := parseRange(val); ok {
				cur.rng = r
			}
			continue
		case "CIDR":
			// CIDR normally follows NetRange; alone it opens a network.
			if cur == nil || cur.rng.IsValid() && cur.name != "" {
				cur = &arinNet{}
				nets = append(nets, cur)
			}
			if !cur.rng.IsValid() {
				// "a/n, b/m": the prefixes are contiguous; the range runs
				// from the first to the last address.
				parts := strings.Split(val, ",")
				first, ok1 := parseRange(parts[0])
				last, ok2 := parseRange(parts[len(parts)-1])
				if r := netipx.IPRangeFrom(first.From(), last.To()); ok1 && ok2 && r.IsValid() {
					cur.rng = r
				}
			}
			continue
		}
		if cur == nil {
			continue
		}
		switch key {
		case "NetName":
			cur.name = abuse.CleanField(val)
		case "Organization", "Customer":
			if cur.org == "" {
				cur.org = abuse.CleanField(arinHandleRE.ReplaceAllString(val, ""))
			}
		case "OrgName", "CustName":
			cur.org = abuse.CleanField(val)
		case "Country":
			if cur.country == "" {
				cur.country = abuse.CountryCode(val)
			}
		case "OrgAbuseEmail":
			cur.orgAbuse = emailsIn(cur.orgAbuse, val)
		case "RAbuseEmail":
			cur.rAbuse = emailsIn(cur.rAbuse, val)
		case "ReferralServer":
			// whois://host[:port][/]; rwhois:// servers speak another
			// protocol and are not followed.
			if rest, ok := strings.CutPrefix(strings.ToLower(val), "whois://"); ok {
				host, _, _ := strings.Cut(rest, "/")
				cur.referral = Referral{Server: host}
			}
		}
	}
	for _, n := range nets {
		n.emails = n.rAbuse
		if len(n.emails) == 0 {
			n.emails = n.orgAbuse
		}
		a.nets = append(a.nets, n.network)
	}
	return a
}
