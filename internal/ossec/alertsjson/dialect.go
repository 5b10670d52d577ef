package alertsjson

import (
	"fmt"
	"strconv"
)

// Dialect is a generation of the alerts.json layout (ossec-formats.md §5).
// The zero value means unknown.
type Dialect int

const (
	DialectUnknown Dialect = iota
	// OSSEC29 is OSSEC 2.9: no "id", no time, location only.
	OSSEC29
	// OSSEC30 is OSSEC 3.0–3.1: "id", "TimeStamp" (ms), "hostname",
	// rule.group as a comma string.
	OSSEC30
	// OSSEC32 is OSSEC 3.2–3.3: rule.groups array, local "timestamp", and
	// duplicate "hostname" and "location" keys (the second ones hold the
	// agent or host name and the bare path).
	OSSEC32
	// OSSEC34 is OSSEC 3.4–4.1: "agent_name", "agentip", "logfile" instead
	// of the duplicates.
	OSSEC34
	// OSSEC42 is OSSEC 4.2 and master: like OSSEC34 with both rule.group
	// and rule.groups.
	OSSEC42
	// Wazuh is Wazuh's layout: rule.id as a string, agent{} and manager{}
	// objects, the attacker in data.srcip, location holding the path only.
	Wazuh

	numDialects = iota
)

var dialectNames = [numDialects]string{
	DialectUnknown: "unknown",
	OSSEC29:        "ossec-2.9",
	OSSEC30:        "ossec-3.0",
	OSSEC32:        "ossec-3.2",
	OSSEC34:        "ossec-3.4",
	OSSEC42:        "ossec-4.2",
	Wazuh:          "wazuh",
}

// String returns the dialect's name as ParseDialect accepts it.
func (d Dialect) String() string {
	if d >= 0 && d < numDialects {
		return dialectNames[d]
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

// ParseDialect parses a name returned by String.
func ParseDialect(s string) (Dialect, error) {
	for d := OSSEC29; d < numDialects; d++ {
		if dialectNames[d] == s {
			return d, nil
		}
	}
	return DialectUnknown, fmt.Errorf("parse alerts.json dialect %q: want one of ossec-2.9, ossec-3.0, ossec-3.2, ossec-3.4, ossec-4.2, wazuh", s)
}

// detect names the dialect of a decoded line from the keys it carries. The
// keys were added release by release, so the newest key present wins.
func detect(j *jsonAlert, dupKeys bool) Dialect {
	if j.Rule.ID.set && !j.Rule.SidID.set {
		return Wazuh
	}
	switch {
	case j.ID == "" && j.TimeStamp == "":
		return OSSEC29
	case j.AgentName != "" || j.Logfile != "":
		if j.Rule.Group != "" && j.Rule.Groups != nil {
			return OSSEC42
		}
		return OSSEC34
	case dupKeys || j.Timestamp != "" || j.Rule.Groups != nil || j.AgentIP != "":
		return OSSEC32
	default:
		return OSSEC30
	}
}
