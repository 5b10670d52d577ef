package draft

import (
	"cmp"
	"slices"
)

// X-ARF v4 types (category "connection") an address's alerts map to.
const (
	TypeLoginAttack  = "login_attack"
	TypeSQLInjection = "sql_injection"
	TypeVulnScan     = "vulnerability_scan"
	TypePortScan     = "port_scan"
)

// Kind is what an address did, as X-ARF v4 classifies it.
type Kind struct {
	// Category is always "connection": OSSEC sees attacks on our hosts.
	Category string `json:"category"`
	Type     string `json:"type"`
	// ScanType is set for TypeVulnScan: "web_vuln_scan" or "mixed".
	ScanType string `json:"scan_type,omitempty"`
	// Service is the attacked service ("ssh", "http", "ftp", ...), empty
	// when the rules do not say.
	Service  string `json:"service,omitempty"`
	Protocol string `json:"protocol"`
	// Generic is set when no rule group told what the activity was.
	Generic bool `json:"generic,omitempty"`
}

// serviceOfGroup maps OSSEC rule groups (the decoders' and rules files'
// names) to the service attacked.
var serviceOfGroup = map[string]string{
	"sshd": "ssh", "ssh": "ssh", "dropbear": "ssh",
	"web": "http", "accesslog": "http", "apache": "http", "nginx": "http", "web-accesslog": "http", "lighttpd": "http",
	"ftpd": "ftp", "proftpd": "ftp", "pure-ftpd": "ftp", "vsftpd": "ftp", "ms-ftp": "ftp",
	"postfix": "smtp", "sendmail": "smtp", "smtp": "smtp", "exim": "smtp", "spamd": "smtp", "postfix-reject": "smtp",
	"dovecot": "imap", "imapd": "imap", "courier": "imap", "cyrus": "imap", "vpopmail": "imap",
	"asterisk": "sip", "named": "dns", "mysql_log": "mysql", "postgresql_log": "postgresql",
	"telnetd": "telnet", "samba": "smb", "vsftpd-login": "ftp",
}

// udpServices are attacked over UDP.
var udpServices = map[string]bool{"sip": true, "dns": true}

func hasAny(groups []string, names ...string) bool {
	for _, g := range groups {
		if slices.Contains(names, g) {
			return true
		}
	}
	return false
}

// ruleKind classifies one rule by its groups; type "" means the groups do
// not say.
func ruleKind(groups []string) (typ, service string) {
	for _, g := range groups {
		if s, ok := serviceOfGroup[g]; ok {
			service = s
			break
		}
	}
	web := service == "http"
	switch {
	case hasAny(groups, "sql_injection"):
		return TypeSQLInjection, "http"
	case hasAny(groups, "authentication_failed", "authentication_failures", "invalid_login", "brute_force"):
		return TypeLoginAttack, service
	case hasAny(groups, "web_scan", "exploit_attempt", "attack") || web && hasAny(groups, "recon", "invalid_access"):
		return TypeVulnScan, service
	case hasAny(groups, "recon", "scan", "portscan", "multiple_drops", "firewall", "connection_attempt"):
		return TypePortScan, service
	}
	return "", service
}

// typeOrder breaks ties between types of equal alert counts: the more
// specific and actionable first.
var typeOrder = []string{TypeLoginAttack, TypeSQLInjection, TypeVulnScan, TypePortScan}

// Classify returns the kind of the rules' alerts: the type with the most
// alerts, and the service of that type's busiest rule. Without any rule
// that tells, the kind is a generic vulnerability scan ("mixed").
func Classify(rules []Rule) Kind {
	type busiest struct {
		count   int64
		service string
	}
	counts := map[string]int64{}
	best := map[string]busiest{}
	for _, r := range rules {
		typ, svc := ruleKind(r.Groups)
		if typ == "" {
			continue
		}
		counts[typ] += r.Count
		if b, ok := best[typ]; !ok || r.Count > b.count || r.Count == b.count && b.service == "" {
			best[typ] = busiest{r.Count, svc}
		}
	}
	k := Kind{Category: "connection", Protocol: "tcp"}
	types := slices.Clone(typeOrder)
	slices.SortStableFunc(types, func(a, b string) int { return cmp.Compare(counts[b], counts[a]) })
	if counts[types[0]] == 0 {
		k.Type, k.ScanType, k.Generic = TypeVulnScan, "mixed", true
		return k
	}
	k.Type = types[0]
	k.Service = best[k.Type].service
	if k.Type == TypeVulnScan {
		k.ScanType = "mixed"
		if k.Service == "http" {
			k.ScanType = "web_vuln_scan"
		}
	}
	if udpServices[k.Service] {
		k.Protocol = "udp"
	}
	return k
}

var serviceName = map[string]string{
	"ssh": "SSH", "http": "web", "ftp": "FTP", "smtp": "SMTP", "imap": "IMAP/POP3", "sip": "SIP", "dns": "DNS",
	"mysql": "MySQL", "postgresql": "PostgreSQL", "telnet": "Telnet", "smb": "SMB",
}

// Label says the kind in a few words for people.
func (k Kind) Label() string {
	svc := serviceName[k.Service]
	switch {
	case k.Generic:
		return "hostile activity"
	case k.Type == TypeLoginAttack && svc != "":
		return svc + " login attack"
	case k.Type == TypeLoginAttack:
		return "login attack"
	case k.Type == TypeSQLInjection:
		return "SQL injection attempts"
	case k.Type == TypeVulnScan && svc != "":
		return svc + " vulnerability scan"
	case k.Type == TypeVulnScan:
		return "vulnerability scan"
	case k.Type == TypePortScan && svc != "":
		return svc + " port scan"
	}
	return "port scan"
}
