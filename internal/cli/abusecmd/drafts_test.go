package abusecmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/abuse"
	"github.com/rampart-ids/rampart/internal/abuse/draft"
	"github.com/rampart-ids/rampart/internal/alertdb"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/ossec"
)

// relay is a plain SMTP server on loopback, started by the test.
type relay struct {
	mu   sync.Mutex
	msgs []relayMsg
}

type relayMsg struct {
	From string
	To   []string
	Data []byte
}

type relaySession struct {
	r    *relay
	from string
	to   []string
}

func (s *relaySession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *relaySession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	s.r.msgs = append(s.r.msgs, relayMsg{s.from, s.to, data})
	s.r.mu.Unlock()
	return nil
}
func (s *relaySession) Reset()        { s.from, s.to = "", nil }
func (s *relaySession) Logout() error { return nil }

func (r *relay) messages() []relayMsg {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]relayMsg(nil), r.msgs...)
}

func startRelay(t *testing.T) (*relay, int) {
	t.Helper()
	r := &relay{}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &relaySession{r: r}, nil }))
	s.Domain = "relay.test"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	return r, ln.Addr().(*net.TCPAddr).Port
}

// finder answers from a table; 198.18.0.1 fails.
type finder map[netip.Addr]abuse.Contact

func (m finder) Lookup(_ context.Context, a netip.Addr) (abuse.Contact, error) {
	if c, ok := m[a]; ok {
		return c, nil
	}
	return abuse.Contact{}, errors.New("whois.example: connection timed out")
}

var t0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

type env struct {
	t      *testing.T
	dir    string
	store  string
	config string
	relay  *relay
	now    time.Time
	vars   map[string]string
	finder finder
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), now: t0.Add(24 * time.Hour), vars: map[string]string{"USER": "ops"}}
	e.store = filepath.Join(e.dir, "rampart.db")
	var port int
	e.relay, port = startRelay(t)
	e.config = filepath.Join(e.dir, "rampart.toml")
	cfg := fmt.Sprintf(`[abuse]
from = "abuse-reports@example.org"
from_name = "Example Operations"
org = "Example Org"
evidence_lines = 3

[abuse.smtp]
host = "127.0.0.1"
port = %d
tls = "none"

[abuse.redact]
names = ["corp.example.org"]
`, port)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	e.finder = finder{}
	for _, a := range []string{"203.0.113.5", "203.0.113.77"} {
		e.finder[netip.MustParseAddr(a)] = abuse.Contact{Addr: netip.MustParseAddr(a), Emails: []string{"abuse@example.net"}, Org: "Example Net", Registry: "RIPE", Source: "rdap"}
	}
	e.finder[netip.MustParseAddr("192.0.2.33")] = abuse.Contact{Addr: netip.MustParseAddr("192.0.2.33"), Emails: []string{"abuse@example.com"}, Org: "Example Com", Registry: "ARIN", Source: "whois"}
	e.finder[netip.MustParseAddr("192.0.2.44")] = abuse.Contact{Addr: netip.MustParseAddr("192.0.2.44"), Registry: "LACNIC", Source: "whois", Server: "whois.lacnic.net:43"}
	e.importAlerts()
	return e
}

// importAlerts fills the store: an SSH attacker, a web scanner, a mail
// login attacker, one without a contact, and a local host.
func (e *env) importAlerts() {
	s, err := alertdb.Open(e.t.Context(), e.store, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	defer s.Close()
	w, err := s.NewWriter(e.t.Context(), "test")
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	add := func(src string, count int, rule, level int, desc string, groups []string, loc, log string) {
		for i := range count {
			n++
			tm := t0.Add(time.Duration(n) * time.Minute)
			a := ossec.Alert{ID: ossec.ID{Epoch: tm.Unix(), Seq: int64(n)}, Time: tm, RuleID: rule, Level: level, Description: desc,
				Groups: groups, SrcIP: netip.MustParseAddr(src), Location: ossec.ParseLocation(loc),
				Log: []string{fmt.Sprintf(log, i)}}
			if err := w.Add(&a); err != nil {
				e.t.Fatal(err)
			}
		}
	}
	add("203.0.113.5", 30, 5716, 5, "sshd: authentication failed.", []string{"syslog", "sshd", "authentication_failed"},
		"(web1) 198.51.100.20->/var/log/secure", "Nov 20 12:00:%02d web1.corp.example.org sshd[7]: Failed password for alice from 203.0.113.5 port 4242 ssh2")
	add("203.0.113.77", 6, 31104, 6, "Common web attack.", []string{"web", "accesslog", "attack"},
		"(web1) 198.51.100.20->/var/log/nginx/access.log", `203.0.113.77 - - [20/Nov/2026:12:00:%02d +0000] "GET /.env HTTP/1.1" 404 153 "-" "curl" 10.40.0.8`)
	add("192.0.2.33", 8, 9702, 5, "Dovecot Invalid User Login Attempt.", []string{"dovecot", "authentication_failed"},
		"mail1->/var/log/mail.log", "Nov 20 12:00:%02d mail1 dovecot: imap-login: auth failed: user=<bob>, rip=192.0.2.33")
	add("192.0.2.44", 5, 5716, 5, "sshd: authentication failed.", []string{"syslog", "sshd", "authentication_failed"},
		"mail1->/var/log/auth.log", "Nov 20 12:00:%02d mail1 sshd[1]: Failed password for root from 192.0.2.44 port 1 ssh2")
	add("10.40.0.5", 40, 5716, 5, "sshd: authentication failed.", []string{"syslog", "sshd", "authentication_failed"},
		"mail1->/var/log/auth.log", "Nov 20 12:00:%02d mail1 sshd[1]: Failed password for root from 10.40.0.5 port 1 ssh2")
	if err := w.Commit(alertdb.Checkpoint{Offset: int64(n), Line: n}); err != nil {
		e.t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		e.t.Fatal(err)
	}
}

// run runs "rampart abuse ARGS" and returns stdout, stderr and the error.
func (e *env) run(args ...string) (string, string, error) {
	e.t.Helper()
	var out, errb bytes.Buffer
	f := &cmdutil.Factory{
		In: strings.NewReader(""), Out: &out, Err: &errb,
		Now: func() time.Time { return e.now }, Getenv: func(k string) string { return e.vars[k] },
		ConfigPath: e.config, StorePath: e.store,
	}
	defer f.Close()
	root := &cobra.Command{Use: "abuse", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(DraftCommands(f, WithContactFinder(nil, func(context.Context) (ContactFinder, error) { return e.finder, nil }))...)
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.ExecuteContext(e.t.Context())
	return out.String(), errb.String(), err
}

// must runs a command that must succeed.
func (e *env) must(args ...string) (string, string) {
	e.t.Helper()
	out, errOut, err := e.run(args...)
	if err != nil {
		e.t.Fatalf("abuse %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, errOut)
	}
	return out, errOut
}

func contains(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}

func TestDraftReviewSend(t *testing.T) {
	e := newEnv(t)

	// Draft: two contacts; a local address, a lookup failure and an
	// address without a mailbox are skipped and said so.
	out, errOut, err := e.run("draft", "203.0.113.5", "203.0.113.77", "192.0.2.33", "10.40.0.5", "198.18.0.1", "192.0.2.44")
	if err == nil || !strings.Contains(err.Error(), "1 of 6 lookups failed") {
		t.Errorf("draft error = %v", err)
	}
	want := "draft 1: abuse@example.com (Example Com): 1 address: 192.0.2.33\n" +
		"draft 2: abuse@example.net (Example Net): 2 addresses: 203.0.113.5, 203.0.113.77\n"
	if out != want {
		t.Errorf("draft stdout:\n%s\nwant:\n%s", out, want)
	}
	contains(t, "draft stderr", errOut, "10.40.0.5: skipped: in one of our own networks",
		"198.18.0.1: contact lookup failed: whois.example: connection timed out",
		"192.0.2.44: skipped: no abuse mailbox in LACNIC's answer (whois whois.lacnic.net:43)")

	// List and show.
	out, _ = e.must("list", "--format", "json")
	var rows []DraftRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 2 || rows[1].State != "draft" || rows[1].Author != "ops" ||
		strings.Join(rows[1].Addresses, " ") != "203.0.113.5 203.0.113.77" {
		t.Errorf("list = %s (%v)", out, err)
	}
	out, _ = e.must("list")
	contains(t, "list table", out, "DRAFT", "2      draft", "203.0.113.5 +1")
	out, _ = e.must("show", "2")
	contains(t, "show", out, "Draft:     2 (draft)", "To:        abuse@example.net", "Dear Example Net abuse team,",
		"Failed password for [user] from 203.0.113.5 port 4242 ssh2", "[host] sshd[7]", "GET /.env", "[address]",
		"The latest 3 of 30 alerts:", "SSH login attack", "web vulnerability scan")
	for _, ours := range []string{"web1", "corp.example.org", "alice", "10.40.0.8", "198.51.100.20"} {
		if strings.Contains(out, ours) {
			t.Errorf("show leaks %q", ours)
		}
	}
	out, _ = e.must("show", "2", "--format", "xarf")
	xs, err := draft.UnmarshalXARF([]byte(out))
	if err != nil || len(xs) != 2 || xs[0].SourceIdentifier != "203.0.113.5" || xs[0].Type != "login_attack" || xs[1].Type != "vulnerability_scan" {
		t.Errorf("xarf = %s (%v)", out, err)
	}
	out, _ = e.must("show", "1", "--format", "arf")
	contains(t, "arf", out, "report-type=feedback-report", "Feedback-Type: other", "Source-IP: 192.0.2.33", "Incidents: 8")

	// Edit with an editor that changes the greeting.
	script := filepath.Join(e.dir, "editor.sh")
	os.WriteFile(script, []byte("#!/bin/sh\nsed -i 's/Dear Example Net abuse team,/Hello Example Net,/' \"$1\"\n"), 0o755)
	e.vars["EDITOR"] = script
	out, _ = e.must("edit", "2")
	if out != "draft 2 edited\n" {
		t.Errorf("edit stdout %q", out)
	}
	out, _ = e.must("show", "2")
	contains(t, "edited show", out, "Draft:     2 (draft, edited)", "Hello Example Net,")
	// An editor that changes nothing, and one that fails.
	e.vars["EDITOR"] = "true"
	if _, errOut := e.must("edit", "2"); !strings.Contains(errOut, "no change") {
		t.Errorf("unchanged edit: %q", errOut)
	}
	e.vars["EDITOR"] = "false"
	if _, _, err := e.run("edit", "2"); err == nil || !strings.Contains(err.Error(), "the draft is unchanged") {
		t.Errorf("failing editor: %v", err)
	}

	// Unapproved drafts are not sent.
	if _, errOut, err := e.run("send", "2"); err == nil || !strings.Contains(errOut, "draft 2: refused: abuse draft 2 is draft: only approved drafts are sent") {
		t.Errorf("send unapproved: %v\n%s", err, errOut)
	}
	if _, errOut := e.must("send"); !strings.Contains(errOut, "no approved drafts to send") {
		t.Errorf("send with none approved: %q", errOut)
	}
	out, _ = e.must("approve", "1", "2")
	contains(t, "approve", out, "draft 1 approved: 1 address to abuse@example.com", "draft 2 approved: 2 addresses to abuse@example.net")

	// Dry run: the messages, nothing sent.
	out, errOut = e.must("send", "--dry-run")
	contains(t, "dry run", out, "To: <abuse@example.com>", "To: <abuse@example.net>", "Subject: Abuse report: IMAP/POP3 login attack from 192.0.2.33", "Hello Example Net,")
	contains(t, "dry run stderr", errOut, "draft 2 (dry run): MAIL FROM:<abuse-reports@example.org> RCPT TO:<abuse@example.net>: 2 addresses")
	if n := len(e.relay.messages()); n != 0 {
		t.Fatalf("dry run sent %d messages", n)
	}

	// Send.
	out, _ = e.must("send")
	contains(t, "send", out, "draft 1: sent to abuse@example.com as <", "draft 2: sent to abuse@example.net as <")
	msgs := e.relay.messages()
	if len(msgs) != 2 || msgs[1].To[0] != "abuse@example.net" || msgs[1].From != "abuse-reports@example.org" {
		t.Fatalf("relay got %+v", msgs)
	}
	m, err := mail.ReadMessage(bytes.NewReader(msgs[1].Data))
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("Subject") != "Abuse report: 2 addresses in your network (SSH login attack, web vulnerability scan)" ||
		!strings.HasSuffix(m.Header.Get("Message-Id"), "@example.org>") || !strings.HasPrefix(m.Header.Get("Content-Type"), "multipart/mixed") {
		t.Errorf("header %v", m.Header)
	}
	out, _ = e.must("show", "2")
	contains(t, "show after sending", out, "Draft:     2 (sent, edited)", "Sending:   sent 2026-11-21 12:00:00 UTC to abuse@example.net as <")

	// A second send is refused; nothing more arrives.
	if _, errOut, err := e.run("send", "2"); err == nil || !strings.Contains(errOut, "sent already") {
		t.Errorf("second send: %v %s", err, errOut)
	}
	// A new draft about a reported address is held by the repeat window.
	e.now = e.now.Add(time.Hour)
	out, _ = e.must("draft", "203.0.113.5")
	if out != "draft 3: abuse@example.net (Example Net): 1 address: 203.0.113.5\n" {
		t.Errorf("re-draft: %q", out)
	}
	e.must("approve", "3")
	_, errOut = e.must("send")
	contains(t, "held send", errOut, "draft 3: 203.0.113.5 held back: reported to abuse@example.net on 2026-11-21 12:00:00 UTC by draft 2, within the repeat window (7d)",
		"draft 3: not sent: abuse draft 3: every address was reported to abuse@example.net within the last 7d; it stays approved")
	if n := len(e.relay.messages()); n != 2 {
		t.Errorf("relay has %d messages", n)
	}
	// --from-top skips what open drafts already report.
	_, errOut, _ = e.run("draft", "--from-top", "--min", "6")
	contains(t, "from-top", errOut, "203.0.113.5: skipped: already in draft 3 (approved) to abuse@example.net")

	// State changes the state does not allow.
	e.must("discard", "3")
	if _, _, err := e.run("approve", "3"); err == nil || !strings.Contains(err.Error(), "abuse draft 3 is discarded: cannot approve it") {
		t.Errorf("approve discarded: %v", err)
	}
	if _, _, err := e.run("edit", "2"); err == nil || !strings.Contains(err.Error(), "abuse draft 2 is sent: cannot edit it") {
		t.Errorf("edit sent: %v", err)
	}
	if _, _, err := e.run("show", "9"); !errors.Is(err, alertdb.ErrAbuseDraftNotFound) {
		t.Errorf("show missing: %v", err)
	}
}

func TestDraftUsage(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		args []string
		err  string
	}{
		{[]string{"draft"}, "give the addresses to report, or --from-top"},
		{[]string{"draft", "203.0.113.5", "--from-top", "--min", "5"}, "not both"},
		{[]string{"draft", "--from-top"}, "--from-top needs --min or --limit"},
		{[]string{"draft", "203.0.113.500"}, `invalid address "203.0.113.500"`},
		{[]string{"show", "x"}, `invalid draft number "x"`},
		{[]string{"show", "1", "--format", "pdf"}, "invalid --format"},
		{[]string{"list", "--state", "maybe"}, "invalid --state"},
		{[]string{"approve", "0"}, `invalid draft number "0"`},
	}
	for _, tt := range tests {
		_, _, err := e.run(tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.err) || !cmdutil.IsUsage(err) {
			t.Errorf("abuse %s: %v, want a usage error with %q", strings.Join(tt.args, " "), err, tt.err)
		}
	}
	// Without a sender in the config, nothing is drafted.
	os.WriteFile(e.config, []byte("[abuse]\norg = \"x\"\n"), 0o600)
	if _, _, err := e.run("draft", "203.0.113.5"); err == nil || !strings.Contains(err.Error(), "abuse.from is not set") {
		t.Errorf("no sender: %v", err)
	}
}

func TestFromTop(t *testing.T) {
	e := newEnv(t)
	out, errOut := e.must("draft", "--from-top", "--min", "6")
	// 10.40.0.5 is local (out of scope), 192.0.2.44 has 5 alerts.
	want := "draft 1: abuse@example.com (Example Com): 1 address: 192.0.2.33\n" +
		"draft 2: abuse@example.net (Example Net): 2 addresses: 203.0.113.5, 203.0.113.77\n"
	if out != want {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
	if _, _, err := e.run("draft", "--from-top", "--min", "1000"); err != nil {
		t.Errorf("nothing over the threshold: %v", err)
	}
}
