package ossec

import "strings"

// Location is the "location" of an alert split into its parts. OSSEC writes
// it as one string (alerts.log date line, ossec-dbd location.name):
//
//	web1->/var/log/auth.log                                  manager-local
//	(fe02) 198.51.100.20->/var/log/secure                    agent
//	(fe03) any->/var/log/secure                              agent registered as any
//	web1->(ssh_integrity_check_linux) root@192.0.2.9->syscheck  agentless
//
// Raw always holds the original text, so a Location round-trips through
// String.
type Location struct {
	Raw string
	// Manager is the host of a manager-local location: the manager's own
	// name or the syslog host it decoded. Empty for agent events unless a
	// reader knows the manager from elsewhere (ossec-dbd's server table,
	// Wazuh's manager.name).
	Manager string
	// Agent is the agent name inside "( )", or for agentless monitoring
	// "(type) user@host".
	Agent string
	// AgentIP is the agent's registered address as written: an IP, "any" or
	// a network. It is never the attacker.
	AgentIP string
	// Source is the log file, pseudo-path (syscheck, rootcheck,
	// ossec-logcollector) or command.
	Source string
}

// String returns the location as OSSEC writes it.
func (l Location) String() string { return l.Raw }

// ParseLocation splits an OSSEC location string. It never fails: text that
// fits no known form is kept whole in Source (and Raw).
func ParseLocation(s string) Location {
	l := Location{Raw: s}
	if strings.HasPrefix(s, "(") {
		// Agent: "(name) ip->path".
		end := strings.Index(s, ") ")
		arrow := strings.Index(s, "->")
		if end > 1 && arrow > end {
			l.Agent = s[1:end]
			l.AgentIP = s[end+2 : arrow]
			l.Source = s[arrow+2:]
			return l
		}
		l.Source = s
		return l
	}
	arrow := strings.Index(s, "->")
	if arrow < 0 {
		// OSSEC 0.8/0.9 date lines carry the path alone.
		l.Source = s
		return l
	}
	l.Manager = s[:arrow]
	rest := s[arrow+2:]
	if strings.HasPrefix(rest, "(") {
		// Agentless: "host->(type) user@host->path".
		if end := strings.Index(rest, ") "); end > 1 {
			if a2 := strings.LastIndex(rest, "->"); a2 > end {
				l.Agent = rest[:a2]
				l.Source = rest[a2+2:]
				return l
			}
		}
	}
	l.Source = rest
	return l
}
