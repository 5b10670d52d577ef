package config

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var prefixEq = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })

func TestAbuseDefaults(t *testing.T) {
	c, err := Parse("x.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(DefaultAbuse(), c.Abuse, prefixEq); diff != "" {
		t.Errorf("no [abuse] table (-want +got):\n%s", diff)
	}
	a := c.Abuse
	if a.RepeatWindow != 7*24*time.Hour || a.EvidenceLines != 20 || a.Attach != AttachXARF ||
		a.SMTP.TLS != TLSStartTLS || a.SMTP.Auth != AuthAuto || a.SMTP.Timeout != 30*time.Second {
		t.Errorf("defaults = %+v", a)
	}
	for _, tt := range []struct {
		tls  string
		port int
		want int
	}{{TLSStartTLS, 0, 587}, {TLSOpportunistic, 0, 587}, {TLSImplicit, 0, 465}, {TLSNone, 0, 25}, {TLSImplicit, 2465, 2465}} {
		if got := (SMTP{TLS: tt.tls, Port: tt.port}).PortOrDefault(); got != tt.want {
			t.Errorf("PortOrDefault(%s, %d) = %d, want %d", tt.tls, tt.port, got, tt.want)
		}
	}
}

const fullAbuse = `
[abuse]
from = "abuse-reports@example.org"
from_name = "Example Operations"
org = "Example Org"
reply_to = "noc@example.org"
repeat_window = "2w"
evidence_lines = 50
attach = "arf"

[abuse.smtp]
host = "smtp.example.org"
port = 2587
tls = "opportunistic"
auth = "plain"
user = "reports"
password_file = "/etc/rampart/smtp.pass"
ca_file = "/etc/rampart/relay-ca.pem"
helo = "ids.example.org"
timeout = "45s"

[abuse.redact]
names = ["web1.example.org", "alice"]
patterns = ['(?i)corp\.example\.org', "ticket-[0-9]+"]
networks = ["198.51.100.0/24", "2001:db8:aa::/48"]
`

func TestAbuseParse(t *testing.T) {
	c, err := Parse("x.toml", []byte(fullAbuse))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Abuse
	want := Abuse{
		From: "abuse-reports@example.org", FromName: "Example Operations", Org: "Example Org",
		ReplyTo: "noc@example.org", RepeatWindow: 14 * 24 * time.Hour, EvidenceLines: 50, Attach: AttachARF,
		SMTP: SMTP{Host: "smtp.example.org", Port: 2587, TLS: TLSOpportunistic, Auth: AuthPlain, User: "reports",
			PasswordFile: "/etc/rampart/smtp.pass", CAFile: "/etc/rampart/relay-ca.pem", HELO: "ids.example.org",
			Timeout: 45 * time.Second},
		Redact: Redact{Names: []string{"web1.example.org", "alice"}, Patterns: []string{`(?i)corp\.example\.org`, "ticket-[0-9]+"}},
	}
	want.Redact.Networks = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8:aa::/48")}
	if diff := cmp.Diff(want, a, prefixEq); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
	if a.ReporterDomain() != "example.org" {
		t.Errorf("ReporterDomain = %q", a.ReporterDomain())
	}
	// The file Marshal writes reads back the same.
	again, err := Parse("again", Marshal(c))
	if err != nil {
		t.Fatalf("round trip: %v\n%s", err, Marshal(c))
	}
	if diff := cmp.Diff(c.Abuse, again.Abuse, prefixEq); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// So does the defaults file, and odd durations survive.
	d := Defaults()
	d.Abuse.RepeatWindow = 90 * time.Minute
	again, err = Parse("defaults", Marshal(d))
	if err != nil || again.Abuse.RepeatWindow != 90*time.Minute {
		t.Errorf("defaults round trip: %v, %v", again.Abuse.RepeatWindow, err)
	}
}

func TestAbuseEnvPassword(t *testing.T) {
	c, err := Parse("x.toml", []byte("[abuse.smtp]\nhost = \"192.0.2.25\"\nuser = \"u\"\npassword_env = \"RAMPART_SMTP_PASSWORD\"\ntls = \"tls\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Abuse.SMTP.PasswordEnv != "RAMPART_SMTP_PASSWORD" || c.Abuse.SMTP.Host != "192.0.2.25" || c.Abuse.SMTP.PortOrDefault() != 465 {
		t.Errorf("smtp = %+v", c.Abuse.SMTP)
	}
	c, err = Parse("x.toml", []byte("[abuse]\nfrom = \"r@Example.ORG\"\ndomain = \"Reports.Example.org\"\n"))
	if err != nil || c.Abuse.ReporterDomain() != "reports.example.org" {
		t.Errorf("domain = %q, %v", c.Abuse.ReporterDomain(), err)
	}
}

func TestAbuseParseErrors(t *testing.T) {
	tests := []struct{ name, in, err string }{
		{"inline password", "[abuse.smtp]\npassword = \"hunter2\"\n", "abuse.smtp.password: a password is never read from the config file"},
		{"inline password in abuse", "[abuse]\npassword = \"hunter2\"\n", "abuse.password: a password is never read"},
		{"typo", "[abuse]\nfrom_addr = \"a@example.org\"\n", "unknown key(s): abuse.from_addr"},
		{"smtp typo", "[abuse.smtp]\nhots = \"x\"\n", "unknown key(s): abuse.smtp.hots"},
		{"from with name", "[abuse]\nfrom = \"Ops <ops@example.org>\"\n", `abuse.from "Ops <ops@example.org>": want a bare address`},
		{"from garbage", "[abuse]\nfrom = \"not an address\"\n", "want a bare address"},
		{"reply_to", "[abuse]\nreply_to = \"x@\"\n", `abuse.reply_to "x@"`},
		{"org control", "[abuse]\norg = \"a\\nBcc: x@y\"\n", "abuse.org \"a\\nBcc: x@y\": contains a control character"},
		{"domain", "[abuse]\ndomain = \"exa mple.org\"\n", "abuse.domain"},
		{"window", "[abuse]\nrepeat_window = \"soon\"\n", `abuse.repeat_window "soon": want a duration`},
		{"window short", "[abuse]\nrepeat_window = \"10m\"\n", "want 1h to 366d"},
		{"window negative", "[abuse]\nrepeat_window = \"-3d\"\n", "want a duration"},
		{"lines", "[abuse]\nevidence_lines = 0\n", `abuse.evidence_lines "0": want 1 to 1000`},
		{"attach", "[abuse]\nattach = \"pdf\"\n", "want xarf, arf or none"},
		{"host with port", "[abuse.smtp]\nhost = \"smtp.example.org:587\"\n", "the port is abuse.smtp.port"},
		{"port", "[abuse.smtp]\nport = 70000\n", "abuse.smtp.port \"70000\""},
		{"tls", "[abuse.smtp]\ntls = \"ssl\"\n", "want starttls, opportunistic, tls or none"},
		{"auth", "[abuse.smtp]\nauth = \"ntlm\"\n", "abuse.smtp.auth \"ntlm\""},
		{"user without password", "[abuse.smtp]\nuser = \"u\"\n", "needs password_file or password_env"},
		{"password without user", "[abuse.smtp]\npassword_env = \"P\"\n", "a password is set but no user"},
		{"two passwords", "[abuse.smtp]\nuser = \"u\"\npassword_env = \"P\"\npassword_file = \"/p\"\n", "exclude each other"},
		{"auth without user", "[abuse.smtp]\nauth = \"plain\"\n", "needs abuse.smtp.user"},
		{"user with auth none", "[abuse.smtp]\nuser = \"u\"\npassword_env = \"P\"\nauth = \"none\"\n", `auth is "none"`},
		{"password in clear", "[abuse.smtp]\nuser = \"u\"\npassword_env = \"P\"\ntls = \"none\"\n", "would send the password in clear"},
		{"relative password file", "[abuse.smtp]\nuser = \"u\"\npassword_file = \"pass\"\n", "path is not absolute"},
		{"env name", "[abuse.smtp]\nuser = \"u\"\npassword_env = \"1X\"\n", "want an environment variable name"},
		{"ca relative", "[abuse.smtp]\nca_file = \"ca.pem\"\n", "abuse.smtp.ca_file"},
		{"timeout", "[abuse.smtp]\ntimeout = \"1h\"\n", "want 1s to 10m"},
		{"helo", "[abuse.smtp]\nhelo = \"-bad\"\n", "abuse.smtp.helo"},
		{"short name", "[abuse.redact]\nnames = [\"a\"]\n", "abuse.redact.names[0] \"a\": want at least 2 characters"},
		{"bad pattern", "[abuse.redact]\npatterns = [\"x\", \"(\"]\n", "abuse.redact.patterns[1] \"(\""},
		{"empty-matching pattern", "[abuse.redact]\npatterns = [\"a*\"]\n", "matches the empty string"},
		{"network", "[abuse.redact]\nnetworks = [\"198.51.100.0/33\"]\n", "abuse.redact.networks[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("x.toml", []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "x.toml") {
				t.Errorf("error = %v, want it to name x.toml and contain %q", err, tt.err)
			}
		})
	}
}

func TestDurationFormat(t *testing.T) {
	for _, d := range []time.Duration{time.Hour, 36 * time.Hour, 7 * 24 * time.Hour, 90 * time.Second, 1500 * time.Millisecond} {
		got, err := parseDuration(formatDuration(d))
		if err != nil || got != d {
			t.Errorf("%v: formatted %q, read back %v, %v", d, formatDuration(d), got, err)
		}
	}
}
