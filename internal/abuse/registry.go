package abuse

import (
	"strings"
	"unicode"
)

// maxFieldRunes bounds a registry's free-text field once cleaned.
const maxFieldRunes = 200

// RegistryOf names the registry whose whois or RDAP host h is ("ARIN",
// "RIPE", "JPNIC", ...), "" for an unknown host.
func RegistryOf(h string) string {
	registries := [...]struct{ domain, name string }{
		{"iana.org", "IANA"},
		{"arin.net", "ARIN"},
		{"ripe.net", "RIPE"},
		{"apnic.net", "APNIC"},
		{"lacnic.net", "LACNIC"},
		{"afrinic.net", "AFRINIC"},
		{"nic.ad.jp", "JPNIC"},
		{"jpnic.net", "JPNIC"},
		{"kisa.or.kr", "KRNIC"},
		{"krnic.net", "KRNIC"},
		{"nic.or.kr", "KRNIC"},
		{"twnic.net.tw", "TWNIC"},
		{"twnic.tw", "TWNIC"},
		{"cnnic.cn", "CNNIC"},
		{"cnnic.net.cn", "CNNIC"},
		{"idnic.net", "IDNIC"},
		{"registro.br", "NIC.BR"},
		{"nic.br", "NIC.BR"},
		{"nic.mx", "NIC.MX"},
	}
	h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
	if h == "" {
		return ""
	}
	for _, r := range registries {
		if h == r.domain || strings.HasSuffix(h, "."+r.domain) {
			return r.name
		}
	}
	return ""
}

// OtherRegistry reports whether a network name means "this registry does
// not manage the space": its contacts are the registry's own.
func OtherRegistry(netname string) bool {
	n := strings.ToUpper(netname)
	return n == "NON-RIPE-NCC-MANAGED-ADDRESS-BLOCK" || n == "ERX-NETBLOCK" ||
		strings.HasPrefix(n, "IANA-NETBLOCK") || n == "IANA-BLK" || n == "IANA-BLOCK"
}

// PlaceholderEmail reports whether a registry puts the address where it
// does not hold the data; a report sent there reaches no one who can act.
func PlaceholderEmail(m string) bool {
	switch m {
	case "search-apnic-not-arin@apnic.net", "helpdesk@apnic.net", "abuse@lacnic.net":
		return true
	}
	return false
}

// NormalEmail lower-cases a mailbox (dropping a "mailto:") and checks its
// shape: one @, a dotted domain without empty labels, no spaces or
// controls, at most 254 bytes.
func NormalEmail(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 7 && strings.EqualFold(s[:7], "mailto:") {
		s = s[7:]
	}
	s = strings.ToLower(s)
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || len(s) > 254 || strings.Contains(domain, "@") ||
		!strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", false
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`<>()[],;:\"`, r) {
			return "", false
		}
	}
	return s, true
}

// CleanField makes a registry's free text printable on one line: control
// characters become spaces, runs of space fold to one, and it is cut to
// 200 runes.
func CleanField(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxFieldRunes {
		s = string(r[:maxFieldRunes]) + "..."
	}
	return s
}

// CountryCode returns s as an upper-case ISO 3166 two-letter code, "" when
// it is not two letters.
func CountryCode(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
		return ""
	}
	return s
}
