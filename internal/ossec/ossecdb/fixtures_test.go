package ossecdb_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// base is 2023-11-14 22:13:20 UTC, the time of the reference's alert A.
const base = 1700000000

func mkAlert(epoch, seq int64, rule, level int, src string, loc string, log ...string) ossec.Alert {
	a := ossec.Alert{
		ID:       ossec.ID{Epoch: epoch, Seq: seq},
		Time:     time.Unix(epoch, 0).UTC(),
		RuleID:   rule,
		Level:    level,
		Location: ossec.ParseLocation(loc),
		Log:      log,
	}
	if src != "" {
		a.SrcIP = netip.MustParseAddr(src) // may stay IPv4-mapped: a writer trap
	}
	return a
}

var ruleInfo = map[int]struct {
	desc   string
	groups []string
}{
	5712:  {"SSHD brute force: many failed logins from one source.", []string{"syslog", "sshd", "authentication_failures"}},
	5716:  {"SSHD authentication failed.", []string{"syslog", "sshd", "authentication_failed"}},
	31104: {"Common web attack pattern in request.", []string{"web", "accesslog", "attack"}},
	1002:  {"Unclassified error message in a system log.", []string{"syslog", "errors"}},
	550:   {"Integrity checksum changed.", []string{"ossec", "syscheck"}},
	5706:  {"SSH scanner: client sent no identification string.", []string{"syslog", "sshd", "recon"}},
	40111: {"Multiple authentication failures - it's \"quoted\" \\ here", []string{"authentication_failures", "a_group_name_well_over_thirty_two_characters"}},
}

// trapAlerts are the alerts every (dialect, version) case loads for server
// web1: each one is a trap of ossec-formats.md §3.
func trapAlerts() []ossec.Alert {
	long := strings.Repeat("x", 1250)
	var freq []string
	for i := range 25 {
		freq = append(freq, fmt.Sprintf("Nov 14 22:13:%02d web1 sshd[41877]: Failed password for invalid user admin from 203.0.113.45 port 50122 ssh2 %s", i, long))
	}
	out := []ossec.Alert{
		// Alert A of §4.5: manager-local frequency rule with a user.
		func() ossec.Alert {
			a := mkAlert(base, 48213, 5712, 10, "203.0.113.45", "web1->/var/log/auth.log",
				"Nov 14 22:13:19 web1 sshd[41877]: Failed password for invalid user admin from 203.0.113.45 port 50122 ssh2",
				"Nov 14 22:13:16 web1 sshd[41877]: Failed password for invalid user admin from 203.0.113.45 port 50122 ssh2",
				"Nov 14 22:13:12 web1 sshd[41871]: Failed password for invalid user test from 203.0.113.45 port 50098 ssh2")
			a.User, a.Mail, a.SrcPort = "admin", true, 50122
			return a
		}(),
		// Alert B: agent location, IPv6 source.
		mkAlert(base+123, 48765, 31104, 6, "2001:db8:4:2::17", "(fe02) 198.51.100.20->/var/log/nginx/access.log",
			`2001:db8:4:2::17 - - [14/Nov/2023:22:15:22 +0000] "GET /index.php?page=../../../../etc/passwd HTTP/1.1" 404 153 "-" "Mozilla/5.0"`),
		// Alert C: no source.
		mkAlert(base+450, 49106, 1002, 2, "", "web1->/var/log/syslog",
			"Nov 14 22:20:49 web1 backupd[2210]: error: state file /srv/backup/state is missing"),
		// Frequency alert with 25 lines of 1 250+ characters: cut to 20
		// lines, then to 7 456 characters.
		func() ossec.Alert {
			a := mkAlert(base+600, 50000, 5712, 10, "203.0.113.45", "web1->/var/log/auth.log", freq...)
			a.User = "root"
			return a
		}(),
		// IPv4-mapped source written as such, next to its plain form.
		mkAlert(base+700, 51000, 5716, 5, "::ffff:198.51.100.7", "web1->/var/log/auth.log", "mapped source"),
		// A rule only the mapped spelling has: merging must count rules
		// again, neither keep one spelling's count nor add them up.
		mkAlert(base+710, 51100, 40111, 10, "::ffff:198.51.100.7", "web1->/var/log/auth.log", "mapped source again"),
		mkAlert(base+86400+5, 100, 5706, 6, "198.51.100.7", "web1->/var/log/auth.log", "plain source"),
		// Quotes, backslashes, tabs and UTF-8 in user, log and location.
		func() ossec.Alert {
			a := mkAlert(base+800, 52000, 40111, 10, "192.0.2.200", "(fé-02) any->C:\\logs\\it's.log",
				"user O'Brien said \"hé\"\tthen C:\\temp\\",
				"second line with trailing backslash\\")
			a.User = "O'Brien\\é"
			a.DstIP, a.DstPort, a.SrcPort = netip.MustParseAddr("10.40.0.5"), 22, 61000
			return a
		}(),
		// Agentless and internal locations.
		mkAlert(base+900, 53000, 550, 7, "", "web1->(ssh_integrity_check_linux) root@192.0.2.9->syscheck",
			"Integrity checksum changed for: '/etc/passwd'", "Old md5sum was: 'aaa'", "New md5sum is : 'bbb'"),
		mkAlert(base+950, 53500, 1002, 2, "", "(fe03) 192.0.2.0/24->df -h", "ossec: output: 'df -h'"),
		// A user that is literally a missing-user spelling.
		func() ossec.Alert {
			a := mkAlert(base+1000, 54000, 5716, 5, "203.0.113.45", "web1->/var/log/auth.log", "user (none)")
			a.User = "(none)"
			return a
		}(),
		// An empty log.
		mkAlert(base+1100, 55000, 5716, 5, "203.0.113.46", "web1->/var/log/auth.log"),
		// Location longer than location.name: dbd cannot insert it.
		mkAlert(base+1200, 56000, 5716, 5, "203.0.113.47", "web1->/var/log/"+strings.Repeat("d/", 70)+"auth.log", "too long"),
		// Same rule, another level (an edited rule): 2.8 keeps the first.
		mkAlert(base+2*86400, 100, 5712, 12, "203.0.113.45", "web1->/var/log/auth.log", "level changed"),
	}
	// Bulk: a few sources over five days, in time order, from a fixed seed.
	r := rand.New(rand.NewPCG(1, 2))
	srcs := []string{"203.0.113.45", "203.0.113.46", "198.51.100.7", "2001:db8:4:2::17", "2001:db8::beef", "192.0.2.1", ""}
	rules := []int{5712, 5716, 31104, 5706, 1002}
	locs := []string{"web1->/var/log/auth.log", "(fe02) 198.51.100.20->/var/log/secure", "(fe03) any->/var/log/secure", "web1->ossec-logcollector"}
	t := int64(base + 3*86400)
	for i := range 150 {
		t += int64(r.IntN(3000))
		rule := rules[r.IntN(len(rules))]
		a := mkAlert(t, int64(1000+i*317), rule, 3+r.IntN(9), srcs[r.IntN(len(srcs))], locs[r.IntN(len(locs))],
			fmt.Sprintf("bulk event %d from rule %d", i, rule))
		if r.IntN(4) == 0 {
			a.User = fmt.Sprintf("user%d", r.IntN(5))
		}
		out = append(out, a)
	}
	return withRuleInfo(out)
}

// web2Alerts come from a second manager; their ids collide with web1's in
// 2.8, which numbers per server.
func web2Alerts() []ossec.Alert {
	return withRuleInfo([]ossec.Alert{
		mkAlert(base+300, 7000, 5716, 5, "203.0.113.45", "web2->/var/log/auth.log", "from web2"),
		mkAlert(base+301, 7100, 31104, 6, "2001:db8::beef", "(fe09) 198.51.100.99->/var/log/nginx/access.log", "from an agent of web2"),
		mkAlert(base+4*86400, 7200, 5712, 10, "198.51.100.7", "web2->/var/log/auth.log", "more from web2"),
	})
}

func withRuleInfo(as []ossec.Alert) []ossec.Alert {
	for i := range as {
		ri := ruleInfo[as[i].RuleID]
		as[i].Description, as[i].Groups = ri.desc, ri.groups
	}
	return as
}
