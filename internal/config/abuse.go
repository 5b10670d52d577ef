package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Abuse is the [abuse] table: who abuse reports come from, how they are
// mailed, and what is redacted from them before they leave.
type Abuse struct {
	// From is the address reports are sent from; X-ARF names it as the
	// reporter's contact. Sending needs it.
	From string
	// FromName is the display name of From; Org the reporting
	// organisation named in the text and in X-ARF.
	FromName string
	Org      string
	// Domain is the reporter's domain in X-ARF; empty: the domain of From.
	Domain string
	// ReplyTo is where answers go when not to From.
	ReplyTo string
	// RepeatWindow: an address is never reported to the same abuse
	// contact twice within this time. Default DefaultRepeatWindow.
	RepeatWindow time.Duration
	// EvidenceLines is how many log lines a draft quotes per address,
	// newest first. Default DefaultEvidenceLines.
	EvidenceLines int
	// Attach is the machine-readable part of each mail: AttachXARF,
	// AttachARF or AttachNone.
	Attach string
	SMTP   SMTP
	Redact Redact
}

// SMTP is [abuse.smtp]: the relay reports are handed to.
type SMTP struct {
	Host string
	// Port 0 means the mode's usual port (see PortOrDefault).
	Port int
	// TLS is TLSStartTLS, TLSOpportunistic, TLSImplicit or TLSNone.
	TLS string
	// Auth is an SMTP AUTH mechanism (AuthAuto picks the strongest the
	// server offers) or AuthNone; it needs User.
	Auth string
	User string
	// The password comes from a file or an environment variable, never
	// from the config file itself.
	PasswordFile string
	PasswordEnv  string
	// CAFile holds extra PEM certificates that may sign the relay's
	// certificate (a private relay); the system roots count too.
	CAFile string
	// HELO is the name this host greets with; empty: its host name.
	HELO    string
	Timeout time.Duration
}

// Redact is [abuse.redact]: what of ours never leaves in a report, on top
// of the built-in rules (local networks, OSSEC agent and manager names and
// addresses, syslog host names, user names).
type Redact struct {
	// Names are our host names, domains and user names, replaced wherever
	// they appear (case-insensitive).
	Names []string
	// Patterns are regular expressions (RE2 syntax); every match is
	// replaced.
	Patterns []string
	// Networks are our public networks: addresses in them are replaced
	// like those of the local networks.
	Networks []netip.Prefix
}

// Values of Abuse.Attach.
const (
	AttachXARF = "xarf"
	AttachARF  = "arf"
	AttachNone = "none"
)

// Values of SMTP.TLS.
const (
	// TLSStartTLS upgrades with STARTTLS and refuses a relay without it.
	TLSStartTLS = "starttls"
	// TLSOpportunistic upgrades when the relay offers STARTTLS.
	TLSOpportunistic = "opportunistic"
	// TLSImplicit speaks TLS from the first byte (port 465).
	TLSImplicit = "tls"
	// TLSNone never encrypts: for a relay on this host only.
	TLSNone = "none"
)

// Values of SMTP.Auth.
const (
	AuthAuto        = "auto"
	AuthPlain       = "plain"
	AuthLogin       = "login"
	AuthCRAMMD5     = "cram-md5"
	AuthSCRAMSHA1   = "scram-sha-1"
	AuthSCRAMSHA256 = "scram-sha-256"
	AuthNone        = "none"
)

// Defaults of the [abuse] table.
const (
	DefaultRepeatWindow  = 7 * 24 * time.Hour
	DefaultEvidenceLines = 20
	DefaultSMTPTimeout   = 30 * time.Second
)

// DefaultAbuse returns the [abuse] table used when the file has none.
func DefaultAbuse() Abuse {
	return Abuse{
		RepeatWindow:  DefaultRepeatWindow,
		EvidenceLines: DefaultEvidenceLines,
		Attach:        AttachXARF,
		SMTP:          SMTP{TLS: TLSStartTLS, Auth: AuthAuto, Timeout: DefaultSMTPTimeout},
	}
}

// ReporterDomain is Domain, or the domain of From.
func (a Abuse) ReporterDomain() string {
	if a.Domain != "" {
		return a.Domain
	}
	if _, d, ok := strings.Cut(a.From, "@"); ok {
		return strings.ToLower(d)
	}
	return ""
}

// PortOrDefault is Port, or the usual port of the TLS mode: 465 for
// implicit TLS, 25 without TLS, else 587 (submission).
func (s SMTP) PortOrDefault() int {
	switch {
	case s.Port != 0:
		return s.Port
	case s.TLS == TLSImplicit:
		return 465
	case s.TLS == TLSNone:
		return 25
	default:
		return 587
	}
}

type abuseFile struct {
	From          string     `toml:"from"`
	FromName      string     `toml:"from_name"`
	Org           string     `toml:"org"`
	Domain        string     `toml:"domain"`
	ReplyTo       string     `toml:"reply_to"`
	RepeatWindow  string     `toml:"repeat_window"`
	EvidenceLines int        `toml:"evidence_lines"`
	Attach        string     `toml:"attach"`
	SMTP          smtpFile   `toml:"smtp"`
	Redact        redactFile `toml:"redact"`
	Password      any        `toml:"password"` // refused with a reason, not as an unknown key
}

type smtpFile struct {
	Host         string `toml:"host"`
	Port         int    `toml:"port"`
	TLS          string `toml:"tls"`
	Auth         string `toml:"auth"`
	User         string `toml:"user"`
	PasswordFile string `toml:"password_file"`
	PasswordEnv  string `toml:"password_env"`
	CAFile       string `toml:"ca_file"`
	HELO         string `toml:"helo"`
	Timeout      string `toml:"timeout"`
	Password     any    `toml:"password"`
}

type redactFile struct {
	Names    []string `toml:"names"`
	Patterns []string `toml:"patterns"`
	Networks []string `toml:"networks"`
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// parseAbuse checks the [abuse] table; errors name the file and the key.
func parseAbuse(name string, md toml.MetaData, f abuseFile) (Abuse, error) {
	a := DefaultAbuse()
	fail := func(key, val string, err error) (Abuse, error) {
		return Abuse{}, fmt.Errorf("config %s: abuse.%s %q: %w", name, key, val, err)
	}
	for _, key := range [][]string{{"abuse", "password"}, {"abuse", "smtp", "password"}} {
		if md.IsDefined(key...) {
			return Abuse{}, fmt.Errorf("config %s: %s: a password is never read from the config file: use abuse.smtp.password_file or abuse.smtp.password_env",
				name, strings.Join(key, "."))
		}
	}
	var err error
	if a.From, err = bareAddress(f.From); err != nil {
		return fail("from", f.From, err)
	}
	if a.ReplyTo, err = bareAddress(f.ReplyTo); err != nil {
		return fail("reply_to", f.ReplyTo, err)
	}
	for _, t := range []struct {
		key, val string
		dest     *string
	}{{"from_name", f.FromName, &a.FromName}, {"org", f.Org, &a.Org}} {
		if err := checkText(t.val, 200); err != nil {
			return fail(t.key, t.val, err)
		}
		*t.dest = strings.TrimSpace(t.val)
	}
	if f.Domain != "" {
		if !isHostname(f.Domain) {
			return fail("domain", f.Domain, errors.New("want a domain name such as example.org"))
		}
		a.Domain = strings.ToLower(f.Domain)
	}
	if md.IsDefined("abuse", "repeat_window") {
		d, err := parseDuration(f.RepeatWindow)
		if err == nil && (d < time.Hour || d > 366*24*time.Hour) {
			err = errors.New("want 1h to 366d")
		}
		if err != nil {
			return fail("repeat_window", f.RepeatWindow, err)
		}
		a.RepeatWindow = d
	}
	if md.IsDefined("abuse", "evidence_lines") {
		if f.EvidenceLines < 1 || f.EvidenceLines > 1000 {
			return fail("evidence_lines", strconv.Itoa(f.EvidenceLines), errors.New("want 1 to 1000"))
		}
		a.EvidenceLines = f.EvidenceLines
	}
	if md.IsDefined("abuse", "attach") {
		switch f.Attach {
		case AttachXARF, AttachARF, AttachNone:
			a.Attach = f.Attach
		default:
			return fail("attach", f.Attach, fmt.Errorf("want %s, %s or %s", AttachXARF, AttachARF, AttachNone))
		}
	}
	if a.SMTP, err = parseSMTP(name, md, f.SMTP); err != nil {
		return Abuse{}, err
	}
	if a.Redact, err = parseRedact(name, f.Redact); err != nil {
		return Abuse{}, err
	}
	return a, nil
}

func parseSMTP(name string, md toml.MetaData, f smtpFile) (SMTP, error) {
	s := DefaultAbuse().SMTP
	fail := func(key, val string, err error) (SMTP, error) {
		return SMTP{}, fmt.Errorf("config %s: abuse.smtp.%s %q: %w", name, key, val, err)
	}
	if f.Host != "" {
		if _, err := netip.ParseAddr(f.Host); err != nil && !isHostname(f.Host) {
			return fail("host", f.Host, errors.New("want a host name or an IP address (the port is abuse.smtp.port)"))
		}
		s.Host = f.Host
	}
	if f.Port < 0 || f.Port > 65535 {
		return fail("port", strconv.Itoa(f.Port), errors.New("want 1 to 65535, or 0 for the usual port of the TLS mode"))
	}
	s.Port = f.Port
	if md.IsDefined("abuse", "smtp", "tls") {
		switch f.TLS {
		case TLSStartTLS, TLSOpportunistic, TLSImplicit, TLSNone:
			s.TLS = f.TLS
		default:
			return fail("tls", f.TLS, fmt.Errorf("want %s, %s, %s or %s", TLSStartTLS, TLSOpportunistic, TLSImplicit, TLSNone))
		}
	}
	if md.IsDefined("abuse", "smtp", "auth") {
		switch f.Auth {
		case AuthAuto, AuthPlain, AuthLogin, AuthCRAMMD5, AuthSCRAMSHA1, AuthSCRAMSHA256, AuthNone:
			s.Auth = f.Auth
		default:
			return fail("auth", f.Auth, fmt.Errorf("want %s, %s, %s, %s, %s, %s or %s",
				AuthAuto, AuthPlain, AuthLogin, AuthCRAMMD5, AuthSCRAMSHA1, AuthSCRAMSHA256, AuthNone))
		}
	}
	if err := checkText(f.User, 256); err != nil {
		return fail("user", f.User, err)
	}
	s.User = f.User
	if err := checkDBPath(f.PasswordFile); err != nil {
		return fail("password_file", f.PasswordFile, err)
	}
	s.PasswordFile = f.PasswordFile
	if f.PasswordEnv != "" && !envName.MatchString(f.PasswordEnv) {
		return fail("password_env", f.PasswordEnv, errors.New("want an environment variable name such as RAMPART_SMTP_PASSWORD"))
	}
	s.PasswordEnv = f.PasswordEnv
	if err := checkDBPath(f.CAFile); err != nil {
		return fail("ca_file", f.CAFile, err)
	}
	s.CAFile = f.CAFile
	if f.HELO != "" && !isHostname(f.HELO) {
		return fail("helo", f.HELO, errors.New("want a host name"))
	}
	s.HELO = f.HELO
	if md.IsDefined("abuse", "smtp", "timeout") {
		d, err := parseDuration(f.Timeout)
		if err == nil && (d < time.Second || d > 10*time.Minute) {
			err = errors.New("want 1s to 10m")
		}
		if err != nil {
			return fail("timeout", f.Timeout, err)
		}
		s.Timeout = d
	}
	// Credentials hang together: a user needs a password and a
	// mechanism, and never travels in clear.
	hasPassword := s.PasswordFile != "" || s.PasswordEnv != ""
	switch {
	case s.PasswordFile != "" && s.PasswordEnv != "":
		return SMTP{}, fmt.Errorf("config %s: abuse.smtp: password_file and password_env exclude each other", name)
	case s.User != "" && !hasPassword:
		return SMTP{}, fmt.Errorf("config %s: abuse.smtp.user %q: needs password_file or password_env", name, s.User)
	case s.User == "" && hasPassword:
		return SMTP{}, fmt.Errorf("config %s: abuse.smtp: a password is set but no user", name)
	case s.User != "" && s.Auth == AuthNone:
		return SMTP{}, fmt.Errorf("config %s: abuse.smtp.user %q: auth is %q", name, s.User, AuthNone)
	case s.User == "" && s.Auth != AuthAuto && s.Auth != AuthNone:
		return SMTP{}, fmt.Errorf("config %s: abuse.smtp.auth %q: needs abuse.smtp.user", name, s.Auth)
	case s.User != "" && s.TLS == TLSNone:
		return SMTP{}, fmt.Errorf("config %s: abuse.smtp.user %q: tls = %q would send the password in clear", name, s.User, TLSNone)
	}
	return s, nil
}

func parseRedact(name string, f redactFile) (Redact, error) {
	var r Redact
	for i, n := range f.Names {
		n = strings.TrimSpace(n)
		if err := checkText(n, 253); err != nil || len(n) < 2 {
			if err == nil {
				err = errors.New("want at least 2 characters")
			}
			return Redact{}, fmt.Errorf("config %s: abuse.redact.names[%d] %q: %w", name, i, f.Names[i], err)
		}
		r.Names = append(r.Names, n)
	}
	for i, p := range f.Patterns {
		re, err := regexp.Compile(p)
		if err == nil && re.MatchString("") {
			err = errors.New("matches the empty string")
		}
		if err != nil {
			return Redact{}, fmt.Errorf("config %s: abuse.redact.patterns[%d] %q: %w", name, i, p, err)
		}
		r.Patterns = append(r.Patterns, p)
	}
	nets, err := parsePrefixes(name, "abuse.redact.networks", f.Networks)
	if err != nil {
		return Redact{}, err
	}
	if len(nets) > 0 {
		r.Networks = nets
	}
	return r, nil
}

// bareAddress accepts "" or a plain addr-spec (no display name, no
// comments): it becomes a mail header, so nothing else may ride along.
func bareAddress(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || strings.ContainsAny(s, " \t<>") {
		return "", errors.New("want a bare address such as abuse@example.org")
	}
	return s, nil
}

func checkText(s string, max int) error {
	switch {
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return errors.New("contains a control character")
	case len(s) > max:
		return fmt.Errorf("longer than %d bytes", max)
	}
	return nil
}

func isHostname(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// parseDuration reads a Go duration ("36h", "90m") or whole days or
// weeks ("7d", "2w").
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		return wholeUnits(s, n, 24*time.Hour)
	}
	if n, ok := strings.CutSuffix(s, "w"); ok {
		return wholeUnits(s, n, 7*24*time.Hour)
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New(`want a duration such as 7d, 2w, 36h or 90m`)
	}
	return d, nil
}

func wholeUnits(s, n string, unit time.Duration) (time.Duration, error) {
	v, err := strconv.Atoi(n)
	if err != nil || v <= 0 || v > 10000 {
		return 0, errors.New(`want a duration such as 7d, 2w, 36h or 90m`)
	}
	return time.Duration(v) * unit, nil
}

// formatDuration writes d so that parseDuration reads it back.
func formatDuration(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

func inlineStrings(list []string) string {
	quoted := make([]string, len(list))
	for i, s := range list {
		quoted[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// marshalAbuse writes the [abuse] tables.
func marshalAbuse(b *bytes.Buffer, a Abuse) {
	b.WriteString("\n# Abuse reports (rampart abuse draft, send).\n")
	b.WriteString("[abuse]\n")
	b.WriteString("# Reports come from this address, which X-ARF names as the reporter's\n")
	b.WriteString("# contact; \"abuse send\" needs it. Bare addresses only.\n")
	fmt.Fprintf(b, "from = %q\n", a.From)
	fmt.Fprintf(b, "from_name = %q\n", a.FromName)
	fmt.Fprintf(b, "org = %q\n", a.Org)
	b.WriteString("# The reporter's domain in X-ARF; empty: the domain of from.\n")
	fmt.Fprintf(b, "domain = %q\n", a.Domain)
	fmt.Fprintf(b, "reply_to = %q\n", a.ReplyTo)
	b.WriteString("# An address is never reported to the same abuse contact twice within this\n")
	b.WriteString("# time (7d, 2w, 36h).\n")
	fmt.Fprintf(b, "repeat_window = %q\n", formatDuration(a.RepeatWindow))
	b.WriteString("# Log lines quoted per address, newest first.\n")
	fmt.Fprintf(b, "evidence_lines = %d\n", a.EvidenceLines)
	b.WriteString("# Machine-readable part of each mail: xarf (X-ARF v4 JSON), arf (RFC 5965)\n")
	b.WriteString("# or none.\n")
	fmt.Fprintf(b, "attach = %q\n", a.Attach)

	b.WriteString("\n[abuse.smtp]\n")
	b.WriteString("# The relay that takes the reports. tls: starttls (required), opportunistic,\n")
	b.WriteString("# tls (implicit, port 465) or none (a relay on this host only). port 0: 587,\n")
	b.WriteString("# 465 for tls, 25 for none.\n")
	fmt.Fprintf(b, "host = %q\n", a.SMTP.Host)
	fmt.Fprintf(b, "port = %d\n", a.SMTP.Port)
	fmt.Fprintf(b, "tls = %q\n", a.SMTP.TLS)
	b.WriteString("# auth: auto (the strongest the relay offers), plain, login, cram-md5,\n")
	b.WriteString("# scram-sha-1, scram-sha-256 or none. The password is never written here:\n")
	b.WriteString("# password_file (absolute path, not world-readable) or password_env (a\n")
	b.WriteString("# variable name).\n")
	fmt.Fprintf(b, "auth = %q\n", a.SMTP.Auth)
	fmt.Fprintf(b, "user = %q\n", a.SMTP.User)
	fmt.Fprintf(b, "password_file = %q\n", a.SMTP.PasswordFile)
	fmt.Fprintf(b, "password_env = %q\n", a.SMTP.PasswordEnv)
	b.WriteString("# Extra PEM certificates that may sign the relay's certificate.\n")
	fmt.Fprintf(b, "ca_file = %q\n", a.SMTP.CAFile)
	fmt.Fprintf(b, "helo = %q\n", a.SMTP.HELO)
	fmt.Fprintf(b, "timeout = %q\n", formatDuration(a.SMTP.Timeout))

	b.WriteString("\n[abuse.redact]\n")
	b.WriteString("# Never in a report, besides the built-in rules (addresses of the local\n")
	b.WriteString("# networks, OSSEC agent and manager names and addresses, syslog host names,\n")
	b.WriteString("# user names): our names (case-insensitive), regular expressions (RE2), and\n")
	b.WriteString("# our public networks.\n")
	b.WriteString("names = " + inlineStrings(a.Redact.Names) + "\n")
	b.WriteString("patterns = " + inlineStrings(a.Redact.Patterns) + "\n")
	b.WriteString("networks = " + inlineList(a.Redact.Networks) + "\n")
}
