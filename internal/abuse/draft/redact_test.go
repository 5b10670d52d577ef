package draft

import (
	"bufio"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRedactLine(t *testing.T) {
	red := redactor(t).WithLocations([]string{
		"(fe02) 198.51.100.20->/var/log/secure", "web1->/var/log/auth.log", "(db7) 10.9.0.0/16->x",
		"mgr->(ssh_integrity_check_linux) deploy@bastion.corp->syscheck", "(any) any->/x", "localhost->/var/log/x",
	}).WithHosts([]string{"mx1", "gw"})
	attacker := netip.MustParseAddr("203.0.113.5")
	tests := []struct{ in, want string }{
		{"Nov 20 18:02:44 fe02 sshd[123]: Failed password for alice from 203.0.113.5 port 4242 ssh2",
			"Nov 20 18:02:44 [host] sshd[123]: Failed password for [user] from 203.0.113.5 port 4242 ssh2"},
		{"Nov 20 18:02:40 fe02.corp.example.org sshd[123]: Invalid user admin from 203.0.113.5 port 4241",
			"Nov 20 18:02:40 [host] sshd[123]: Invalid user admin from 203.0.113.5 port 4241"},
		{"Failed none for invalid user oracle from 203.0.113.5 port 1 ssh2", "Failed none for invalid user oracle from 203.0.113.5 port 1 ssh2"},
		{"Connection closed by invalid user admin 203.0.113.5 port 1 [preauth]", "Connection closed by invalid user admin 203.0.113.5 port 1 [preauth]"},
		{"Nov  2 08:01:02 web1 sshd[9]: User root from 203.0.113.5 not allowed because not listed in AllowUsers",
			"Nov  2 08:01:02 [host] sshd[9]: User [user] from 203.0.113.5 not allowed because not listed in AllowUsers"},
		{"pam_unix(sshd:session): session opened for user alice by (uid=0)", "pam_unix(sshd:session): session opened for user [user] by (uid=0)"},
		{"auth failed: user=<erin>, method=PLAIN, rip=203.0.113.5, lip=10.40.0.2", "auth failed: user=<[user]>, method=PLAIN, rip=203.0.113.5, lip=[address]"},
		{`login: USER="dave" ruser='eve' logname= acct=x`, `login: USER="[user]" ruser='[user]' logname= acct=[user]`},
		{"SASL LOGIN authentication failed, sasl_username=frank@example.org", "SASL LOGIN authentication failed, sasl_username=[user]"},
		{"DROP SRC=2001:db8:4:2::17 DST=fd00:aa::3 PROTO=TCP", "DROP SRC=2001:db8:4:2::17 DST=[address] PROTO=TCP"},
		{"SRC=::ffff:10.1.2.3 DST=010.040.000.008.", "SRC=[address] DST=[address]."},
		{"on 198.51.100.20 port 22 from 198.51.100.200:4444 and 10.9.3.4", "on [address] port 22 from [address]:4444 and [address]"},
		{"x=alice:fe80::1 [fe80::1%eth0]:22", "x=alice:[address] [[address]%eth0]:22"},
		{"not ours 192.0.2.9 and 1.2.3.4.5 and 999.1.1.1 and 10.1.1.1.1", "not ours 192.0.2.9 and 1.2.3.4.5 and 999.1.1.1 and 10.1.1.1.1"},
		{"keeps the attacker even if 203.0.113.5 were listed", "keeps the attacker even if 203.0.113.5 were listed"},
		{"GET /web1/x http://intranet.corp.example.org/ Web1.Corp.Example.ORG web10 xweb1 web1-old",
			"GET /[host]/x http://[redacted]/ [redacted] web10 xweb1 web1-old"},
		{"ticket-4711 and frank and Frank's", "[redacted] and [redacted] and [redacted]'s"},
		{"agentless deploy@bastion.corp, mgr restarted, db7 and any localhost mx1 gw", "agentless [host]@[host], [host] restarted, [host] and any localhost [host] gw"},
		{"bell\x07 esc\x1b[31m tab\t nul\x00 bad\xff", "bell? esc?[31m tab? nul? bad\uFFFD"},
		{"2026-11-20T18:02:44Z web1 sshd: x", "2026-11-20T18:02:44Z [host] sshd: x"},
	}
	for _, tt := range tests {
		if got := red.Line(tt.in, attacker); got != tt.want {
			t.Errorf("Line(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
	long := strings.Repeat("é", 600)
	if got := red.Line(long, attacker); len(got) > maxLine+10 || !utf8.ValidString(got) || !strings.HasSuffix(got, " [cut]") {
		t.Errorf("long line: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	if got := red.Text("Login failure on web1"); got != "Login failure on [host]" {
		t.Errorf("Text = %q", got)
	}
}

func TestNewRedactorErrors(t *testing.T) {
	for _, p := range []string{"(", "x*"} {
		if _, err := NewRedactor(RedactOptions{Patterns: []string{"ok", p}}); err == nil || !strings.Contains(err.Error(), "redaction pattern 1") {
			t.Errorf("pattern %q: %v", p, err)
		}
	}
}

// FuzzRedact puts addresses and a host name of ours into arbitrary text:
// none may come out as a word of its own, and nothing that breaks a mail may either.
func FuzzRedact(f *testing.F) {
	file, err := os.Open(filepath.Join("testdata", "loglines.txt"))
	if err != nil {
		f.Fatal(err)
	}
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		line := sc.Text()
		mid := len(line) / 2
		f.Add(line[:mid], line[mid:])
	}
	file.Close()
	red := redactor(f).WithLocations([]string{"(fe02) 198.51.100.20->/var/log/secure"})
	attacker := netip.MustParseAddr("203.0.113.5")
	f.Fuzz(func(t *testing.T, before, after string) {
		for _, secret := range []string{"10.40.0.8", "198.51.100.20", "fe02.corp.example.org", "fd00::8"} {
			in := before + " " + secret + " " + after
			if len(in) > maxLine-50 {
				return
			}
			got := red.Line(in, attacker)
			// The secret as a word of its own: "0198.51.100.20" is
			// another (invalid) number, not our address.
			if strings.Contains(strings.ToLower(" "+got+" "), " "+secret+" ") {
				t.Errorf("Line(%q) = %q keeps %s", in, got, secret)
			}
			if !utf8.ValidString(got) || strings.ContainsAny(got, "\r\n\x00\x1b") {
				t.Errorf("Line(%q) = %q has bytes a mail must not carry", in, got)
			}
		}
	})
}
