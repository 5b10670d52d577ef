package mail

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/rampart-ids/rampart/internal/abuse"
	"github.com/rampart-ids/rampart/internal/abuse/draft"
	"github.com/rampart-ids/rampart/internal/alertdb"
	"github.com/rampart-ids/rampart/internal/config"
	"github.com/rampart-ids/rampart/internal/ipclass"
)

// received is one message the test server accepted.
type received struct {
	From string
	To   []string
	Data []byte
	TLS  bool
	User string
}

// server is an SMTP server on loopback, started by the test: STARTTLS with
// a certificate made for the test, AUTH PLAIN, optional rejections.
type server struct {
	Host   string
	Port   int
	CAFile string

	mu       sync.Mutex
	messages []received
	reject   map[string]bool // RCPT addresses answered 550
}

type serverOptions struct {
	noStartTLS  bool // advertise no STARTTLS
	implicitTLS bool // TLS from the first byte
}

func startServer(t *testing.T, so serverOptions) *server {
	t.Helper()
	cert, caFile := testCert(t)
	srv := &server{reject: map[string]bool{}, CAFile: caFile}
	be := smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{srv: srv, conn: c}, nil })
	s := smtp.NewServer(be)
	s.Domain = "relay.test"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	s.ErrorLog = testLogger{t}
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if !so.noStartTLS {
		s.TLSConfig = tlsConf
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if so.implicitTLS {
		ln = tls.NewListener(ln, tlsConf)
		s.TLSConfig = nil
		s.AllowInsecureAuth = true // the listener is TLS
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	srv.Host = "127.0.0.1"
	srv.Port = ln.Addr().(*net.TCPAddr).Port
	return srv
}

type testLogger struct{ t *testing.T }

func (l testLogger) Printf(format string, v ...any) { l.t.Logf("smtp server: "+format, v...) }
func (l testLogger) Println(v ...any)               { l.t.Log(append([]any{"smtp server:"}, v...)...) }

func (s *server) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

type session struct {
	srv  *server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != "reports" || password != "s3cret pass" {
			return errors.New("invalid credentials")
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	if s.srv.reject[to] {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.srv.mu.Lock()
	s.srv.messages = append(s.srv.messages, received{From: s.from, To: s.to, Data: data, TLS: isTLS, User: s.user})
	s.srv.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// testCert makes a self-signed certificate for 127.0.0.1 and writes it
// where ca_file can name it.
func testCert(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "relay.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	cert, err := tls.X509KeyPair(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return cert, path
}

var now0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

func abuseConfig(srv *server) config.Abuse {
	a := config.DefaultAbuse()
	a.From, a.FromName, a.Org, a.ReplyTo = "abuse-reports@example.org", "Example Operations", "Example Org", "noc@example.org"
	a.SMTP.Host, a.SMTP.Port, a.SMTP.CAFile = srv.Host, srv.Port, srv.CAFile
	a.SMTP.User, a.SMTP.PasswordEnv, a.SMTP.Auth = "reports", "TEST_SMTP_PASSWORD", config.AuthPlain
	a.SMTP.Timeout = 5 * time.Second
	return a
}

type fixture struct {
	store  *alertdb.Store
	srv    *server
	clock  *clock
	sender *Sender
	ids    int
}

func newFixture(t *testing.T, so serverOptions, edit func(*config.Abuse)) *fixture {
	t.Helper()
	store, err := alertdb.Open(t.Context(), filepath.Join(t.TempDir(), "rampart.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	f := &fixture{store: store, srv: startServer(t, so), clock: &clock{now0}}
	cfg := abuseConfig(f.srv)
	if edit != nil {
		edit(&cfg)
	}
	f.sender, err = New(store, Options{
		Abuse: cfg, Now: f.clock.Now,
		Getenv:      func(k string) string { return map[string]string{"TEST_SMTP_PASSWORD": "s3cret pass"}[k] },
		NewID:       func() string { f.ids++; return "id-" + strconv.Itoa(f.ids) },
		NewBoundary: func() string { return "b0undary" },
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// evidence is an SSH login attack from a.
func evidence(a string, count int64) draft.Evidence {
	addr := netip.MustParseAddr(a)
	return draft.Evidence{
		Addr: addr, Count: count, FirstSeen: now0.Add(-48 * time.Hour), LastSeen: now0.Add(-time.Hour),
		Rules: []draft.Rule{{ID: 5716, Level: 5, Description: "sshd: authentication failed.", Groups: []string{"syslog", "sshd", "authentication_failed"}, Count: count}},
		Alerts: []draft.Alert{{Time: now0.Add(-time.Hour), RuleID: 5716, Level: 5, Location: "(web1) 198.51.100.20->/var/log/secure",
			Log: "Nov 21 08:00:00 web1 sshd[7]: Failed password for alice from " + a + " port 4242 ssh2"}},
		Locations: []string{"(web1) 198.51.100.20->/var/log/secure"},
	}
}

// addDraft drafts a report to mailbox about addrs, stores it, and
// approves it unless told not to.
func (f *fixture) addDraft(t *testing.T, mailbox string, approve bool, addrs ...string) int64 {
	t.Helper()
	var in []draft.Input
	for i, a := range addrs {
		in = append(in, draft.Input{Contact: abuse.Contact{Addr: netip.MustParseAddr(a), Emails: []string{mailbox}, Org: "Example Net"},
			Evidence: evidence(a, int64(100-i))})
	}
	red, err := draft.NewRedactor(draft.RedactOptions{Networks: append(ipclass.DefaultLocalNetworks(), netip.MustParsePrefix("198.51.100.0/24"))})
	if err != nil {
		t.Fatal(err)
	}
	drafts, skips := draft.Build(in, draft.Options{
		Reporter: draft.Reporter{Name: "Example Operations", Org: "Example Org", Email: "abuse-reports@example.org", ReplyTo: "noc@example.org", Domain: "example.org"},
		Redactor: red, Now: f.clock.Now(), Attach: draft.AttachXARF,
	})
	if len(drafts) != 1 || len(skips) != 0 {
		t.Fatalf("Build: %d drafts, skips %v", len(drafts), skips)
	}
	rec, err := Record(drafts[0], nil, "arf-boundary", "tester")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := f.store.CreateAbuseDrafts(t.Context(), []alertdb.AbuseDraft{rec})
	if err != nil {
		t.Fatal(err)
	}
	if approve {
		if _, err := f.store.SetAbuseDraftState(t.Context(), ids[0], alertdb.AbuseDraftApproved, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return ids[0]
}

func (f *fixture) send(t *testing.T, dry bool, ids ...int64) []Result {
	t.Helper()
	res, err := f.sender.Send(t.Context(), ids, dry)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (f *fixture) state(t *testing.T, id int64) string {
	t.Helper()
	d, err := f.store.AbuseDraft(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d.State
}

// part is one decoded leaf of a received message.
type part struct {
	ContentType string
	FileName    string
	Data        []byte
}

func parseMessage(t *testing.T, data []byte) (*mail.Message, string, []part) {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, data)
	}
	ct, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ct, "multipart/") {
		body, _ := io.ReadAll(msg.Body)
		return msg, ct, []part{{ContentType: ct, Data: body}}
	}
	var parts []part
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(p)
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			if data, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(string(data), "\r\n", "")); err != nil {
				t.Fatal(err)
			}
		}
		pct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts = append(parts, part{ContentType: pct, FileName: p.FileName(), Data: data})
	}
	if params["report-type"] != "" {
		ct += "; report-type=" + params["report-type"]
	}
	return msg, ct, parts
}

func TestSendApproved(t *testing.T) {
	f := newFixture(t, serverOptions{}, nil)
	id := f.addDraft(t, "abuse@example.net", true, "203.0.113.5")
	stored, _ := f.store.AbuseDraft(t.Context(), id)

	res := f.send(t, false)
	if len(res) != 1 || res[0].Status != StatusSent || res[0].Err != nil {
		t.Fatalf("results = %+v", res)
	}
	got := f.srv.received()
	if len(got) != 1 {
		t.Fatalf("server received %d messages", len(got))
	}
	m := got[0]
	if m.From != "abuse-reports@example.org" || !slices.Equal(m.To, []string{"abuse@example.net"}) || !m.TLS || m.User != "reports" {
		t.Errorf("envelope %s -> %v, TLS %v, user %q", m.From, m.To, m.TLS, m.User)
	}
	// Exactly what Send composed arrived (the relay's DATA is CRLF).
	if !bytes.Equal(bytes.ReplaceAll(m.Data, []byte("\r\n"), []byte("\n")), res[0].Message) {
		t.Errorf("the message that arrived differs from the one composed")
	}
	msg, ct, parts := parseMessage(t, m.Data)
	h := msg.Header
	for k, want := range map[string]string{
		"From": `"Example Operations" <abuse-reports@example.org>`, "To": "<abuse@example.net>", "Reply-To": "<noc@example.org>",
		"Subject": "Abuse report: SSH login attack from 203.0.113.5", "Message-Id": "<id-1@example.org>",
		"Date": "Sat, 21 Nov 2026 09:00:00 +0000", "Mime-Version": "1.0", "Organization": "Example Org",
	} {
		if h.Get(k) != want {
			t.Errorf("%s: %q, want %q", k, h.Get(k), want)
		}
	}
	if res[0].MessageID != "<id-1@example.org>" {
		t.Errorf("result message id %q", res[0].MessageID)
	}
	// The X-ARF e-mail transport: text, feedback report, xarf.json.
	if ct != "multipart/report; report-type=feedback-report" || len(parts) != 3 {
		t.Fatalf("%s with %d parts", ct, len(parts))
	}
	if parts[0].ContentType != "text/plain" || string(parts[0].Data) != strings.ReplaceAll(stored.Text, "\n", "\r\n") {
		t.Errorf("text part differs from the draft:\n%s", parts[0].Data)
	}
	for _, want := range []string{"Failed password for [user] from 203.0.113.5 port 4242 ssh2", "2026-11-21 08:00:00 UTC", "noc@example.org"} {
		if !bytes.Contains(parts[0].Data, []byte(want)) {
			t.Errorf("text lacks %q", want)
		}
	}
	if parts[1].ContentType != "message/feedback-report" || !bytes.Contains(parts[1].Data, []byte("Feedback-Type: xarf")) {
		t.Errorf("feedback part %s: %s", parts[1].ContentType, parts[1].Data)
	}
	var x draft.XARFReport
	if parts[2].FileName != "xarf.json" || json.Unmarshal(parts[2].Data, &x) != nil {
		t.Fatalf("json part %q: %s", parts[2].FileName, parts[2].Data)
	}
	if x.SourceIdentifier != "203.0.113.5" || x.Type != "login_attack" || x.AttemptCount != 100 || x.Reporter.Domain != "example.org" {
		t.Errorf("X-ARF report = %+v", x)
	}
	payload, _ := base64.StdEncoding.DecodeString(x.Evidence[0].Payload)
	if !strings.Contains(string(payload), "Failed password for [user] from 203.0.113.5") || strings.Contains(string(m.Data), "web1") || strings.Contains(string(m.Data), "alice") {
		t.Errorf("evidence payload %q (or something of ours in the message)", payload)
	}

	// Recorded: the draft is sent, the attempt has the message id.
	if st := f.state(t, id); st != alertdb.AbuseDraftSent {
		t.Errorf("draft is %s", st)
	}
	sends, _ := f.store.AbuseSends(t.Context(), id)
	if len(sends) != 1 || sends[0].MessageID != "<id-1@example.org>" || sends[0].Outcome != alertdb.AbuseSendSent || !sends[0].Time.Equal(now0) {
		t.Errorf("sends = %+v", sends)
	}

	// A second send is refused, and nothing more arrives.
	res = f.send(t, false, id)
	if len(res) != 1 || res[0].Status != StatusRefused || !strings.Contains(res[0].Err.Error(), "sent already") {
		t.Errorf("second send = %+v", res)
	}
	if n := len(f.srv.received()); n != 1 {
		t.Errorf("server has %d messages after a second send", n)
	}
}

func TestSendSeveralAddresses(t *testing.T) {
	f := newFixture(t, serverOptions{}, nil)
	f.addDraft(t, "abuse@example.net", true, "203.0.113.5", "203.0.113.77", "2001:db8::7")
	res := f.send(t, false)
	if len(res) != 1 || res[0].Status != StatusSent {
		t.Fatalf("results = %+v", res)
	}
	_, ct, parts := parseMessage(t, f.srv.received()[0].Data)
	if ct != "multipart/mixed" || len(parts) != 4 {
		t.Fatalf("%s with %d parts", ct, len(parts))
	}
	var sources []string
	for _, p := range parts[1:] {
		var x draft.XARFReport
		if err := json.Unmarshal(p.Data, &x); err != nil {
			t.Fatal(err)
		}
		if p.FileName != "xarf-"+strings.ReplaceAll(x.SourceIdentifier, ":", "-")+".json" {
			t.Errorf("%s holds the report on %s", p.FileName, x.SourceIdentifier)
		}
		sources = append(sources, x.SourceIdentifier)
	}
	if !slices.Equal(sources, []string{"203.0.113.5", "203.0.113.77", "2001:db8::7"}) {
		t.Errorf("reports on %v", sources)
	}
}

func TestUnapprovedRefused(t *testing.T) {
	f := newFixture(t, serverOptions{}, nil)
	id := f.addDraft(t, "abuse@example.net", false, "203.0.113.5")
	if res := f.send(t, false); len(res) != 0 {
		t.Errorf("send of all approved drafts = %+v", res)
	}
	res := f.send(t, false, id, 99)
	if len(res) != 2 || res[0].Status != StatusRefused || !strings.Contains(res[0].Err.Error(), "is draft: only approved drafts are sent") ||
		res[1].Status != StatusRefused || !errors.Is(res[1].Err, alertdb.ErrAbuseDraftNotFound) {
		t.Errorf("results = %+v", res)
	}
	if _, err := f.store.SetAbuseDraftState(t.Context(), id, alertdb.AbuseDraftDiscarded, now0); err != nil {
		t.Fatal(err)
	}
	if res := f.send(t, false, id); res[0].Status != StatusRefused {
		t.Errorf("discarded draft: %+v", res)
	}
	if n := len(f.srv.received()); n != 0 {
		t.Errorf("the server received %d messages", n)
	}
	if sends, _ := f.store.AbuseSends(t.Context(), 0); len(sends) != 0 {
		t.Errorf("refusals were recorded as sends: %+v", sends)
	}
}

func TestRepeatWindow(t *testing.T) {
	f := newFixture(t, serverOptions{}, nil)
	first := f.addDraft(t, "abuse@example.net", true, "203.0.113.5", "203.0.113.6")
	if res := f.send(t, false); res[0].Status != StatusSent {
		t.Fatalf("first send: %+v", res)
	}

	// A day later, a new draft to the same contact names .5 again and
	// .9: .5 is held back, the message is about .9 alone.
	f.clock.t = now0.Add(24 * time.Hour)
	second := f.addDraft(t, "Abuse@Example.net", true, "203.0.113.5", "203.0.113.9")
	// Another contact may hear of .5 at once.
	other := f.addDraft(t, "abuse@example.com", true, "203.0.113.5")
	res := f.send(t, false)
	if len(res) != 2 {
		t.Fatalf("results = %+v", res)
	}
	r := res[0]
	if r.Draft != second || r.Status != StatusSent || !slices.Equal(r.Addrs, []netip.Addr{netip.MustParseAddr("203.0.113.9")}) ||
		len(r.Held) != 1 || r.Held[0].Addr != netip.MustParseAddr("203.0.113.5") || r.Held[0].Draft != first || !r.Held[0].Reported.Equal(now0) {
		t.Errorf("second draft: %+v", r)
	}
	if res[1].Draft != other || res[1].Status != StatusSent {
		t.Errorf("other contact: %+v", res[1])
	}
	msgs := f.srv.received()
	msg, _, parts := parseMessage(t, msgs[1].Data)
	if msg.Header.Get("Subject") != "Abuse report: SSH login attack from 203.0.113.9" ||
		strings.Contains(string(parts[0].Data), "203.0.113.5") || !strings.Contains(string(parts[0].Data), "203.0.113.9") {
		t.Errorf("held address in the message: %s\n%s", msg.Header.Get("Subject"), parts[0].Data)
	}
	var x draft.XARFReport
	if json.Unmarshal(parts[2].Data, &x) != nil || x.SourceIdentifier != "203.0.113.9" {
		t.Errorf("X-ARF about %q", x.SourceIdentifier)
	}
	sends, _ := f.store.AbuseSends(t.Context(), second)
	if len(sends) != 1 || len(sends[0].Addrs) != 1 || sends[0].Addrs[0] != netip.MustParseAddr("203.0.113.9") {
		t.Errorf("recorded %+v", sends)
	}

	// Everything held: nothing to send, the draft waits.
	third := f.addDraft(t, "abuse@example.net", true, "203.0.113.6", "203.0.113.9")
	res = f.send(t, false, third)
	if res[0].Status != StatusHeld || len(res[0].Held) != 2 || !strings.Contains(res[0].Err.Error(), "within the last 7d") {
		t.Errorf("all held: %+v", res[0])
	}
	if f.state(t, third) != alertdb.AbuseDraftApproved || len(f.srv.received()) != 3 {
		t.Errorf("a held draft changed: %s, %d messages", f.state(t, third), len(f.srv.received()))
	}
	// An edited draft cannot lose addresses its text names.
	edited := f.addDraft(t, "abuse@example.net", false, "203.0.113.6", "203.0.113.10")
	if _, err := f.store.EditAbuseDraft(t.Context(), edited, "My own words about .6 and .10\n", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.store.SetAbuseDraftState(t.Context(), edited, alertdb.AbuseDraftApproved, f.clock.Now())
	if res := f.send(t, false, edited); res[0].Status != StatusRefused || !strings.Contains(res[0].Err.Error(), "edited text reports 203.0.113.6") {
		t.Errorf("edited: %+v", res[0])
	}
	// After the window the held draft goes out whole.
	f.clock.t = now0.Add(7*24*time.Hour + time.Second)
	// (.9 was reported a day after now0: it is still held.)
	if res := f.send(t, false, third); res[0].Status != StatusSent || !slices.Equal(res[0].Addrs, []netip.Addr{netip.MustParseAddr("203.0.113.6")}) ||
		len(res[0].Held) != 1 || res[0].Held[0].Addr != netip.MustParseAddr("203.0.113.9") {
		t.Errorf("after the window of .6: %+v", res[0])
	}
	f.clock.t = now0.Add(9 * 24 * time.Hour)
	edited2 := f.addDraft(t, "abuse@example.net", true, "203.0.113.5", "203.0.113.9")
	if res := f.send(t, false, edited2); res[0].Status != StatusSent || len(res[0].Addrs) != 2 || len(res[0].Held) != 0 {
		t.Errorf("after the window: %+v", res[0])
	}
}

func TestRejectedRecipient(t *testing.T) {
	f := newFixture(t, serverOptions{}, nil)
	f.srv.reject["abuse@example.net"] = true
	id := f.addDraft(t, "abuse@example.net", true, "203.0.113.5")
	res := f.send(t, false)
	if res[0].Status != StatusFailed || !strings.Contains(res[0].Err.Error(), "refused RCPT TO:<abuse@example.net>") || !strings.Contains(res[0].Err.Error(), "550") {
		t.Fatalf("result = %+v", res[0])
	}
	if f.state(t, id) != alertdb.AbuseDraftApproved {
		t.Errorf("a failed draft is %s, want approved for a retry", f.state(t, id))
	}
	sends, _ := f.store.AbuseSends(t.Context(), id)
	if len(sends) != 1 || sends[0].Outcome != alertdb.AbuseSendFailed || !strings.Contains(sends[0].Error, "no such mailbox") || sends[0].MessageID == "" {
		t.Errorf("recorded %+v", sends)
	}
	if rep, _ := f.store.AbuseReported(t.Context(), []string{"abuse@example.net"}, []netip.Addr{netip.MustParseAddr("203.0.113.5")}, now0.Add(-time.Hour)); len(rep) != 0 {
		t.Errorf("a failed send counts as reported: %v", rep)
	}
	// The retry goes through once the mailbox accepts.
	f.srv.mu.Lock()
	delete(f.srv.reject, "abuse@example.net")
	f.srv.mu.Unlock()
	if res := f.send(t, false); len(res) != 1 || res[0].Status != StatusSent {
		t.Errorf("retry = %+v", res)
	}
}

func TestDryRun(t *testing.T) {
	f := newFixture(t, serverOptions{}, nil)
	a := f.addDraft(t, "abuse@example.net", true, "203.0.113.5")
	b := f.addDraft(t, "abuse@example.net", true, "203.0.113.5", "203.0.113.7")
	res := f.send(t, true)
	if len(res) != 2 || res[0].Status != StatusDryRun || res[1].Status != StatusDryRun {
		t.Fatalf("results = %+v", res)
	}
	msg, _, _ := parseMessage(t, res[0].Message)
	if msg.Header.Get("To") != "<abuse@example.net>" || msg.Header.Get("Message-Id") != res[0].MessageID {
		t.Errorf("dry-run message header %v", msg.Header)
	}
	// The run's first draft would report .5, so the second holds it back.
	if len(res[1].Held) != 1 || !slices.Equal(res[1].Addrs, []netip.Addr{netip.MustParseAddr("203.0.113.7")}) {
		t.Errorf("second dry-run draft: %+v", res[1])
	}
	if n := len(f.srv.received()); n != 0 {
		t.Errorf("a dry run sent %d messages", n)
	}
	if sends, _ := f.store.AbuseSends(t.Context(), 0); len(sends) != 0 || f.state(t, a) != alertdb.AbuseDraftApproved || f.state(t, b) != alertdb.AbuseDraftApproved {
		t.Errorf("a dry run changed the store: %+v", sends)
	}
	// Without a relay configured a dry run still works, a real one not.
	f.sender.o.Abuse.SMTP.Host = ""
	if res := f.send(t, true); len(res) != 2 {
		t.Errorf("dry run without relay: %+v", res)
	}
	if _, err := f.sender.Send(t.Context(), nil, false); err == nil || !strings.Contains(err.Error(), "abuse.smtp.host is not set") {
		t.Errorf("send without relay: %v", err)
	}
}

func TestTransport(t *testing.T) {
	tests := []struct {
		name string
		so   serverOptions
		edit func(*config.Abuse)
		err  string // "" for sent
	}{
		{"implicit TLS", serverOptions{implicitTLS: true}, func(a *config.Abuse) { a.SMTP.TLS = config.TLSImplicit }, ""},
		{"auto auth", serverOptions{}, func(a *config.Abuse) { a.SMTP.Auth = config.AuthAuto }, ""},
		{"STARTTLS required, not offered", serverOptions{noStartTLS: true}, nil, "STARTTLS"},
		{"opportunistic, not offered: no plain password", serverOptions{noStartTLS: true}, func(a *config.Abuse) { a.SMTP.TLS = config.TLSOpportunistic }, "relay 127.0.0.1"},
		{"untrusted certificate", serverOptions{}, func(a *config.Abuse) { a.SMTP.CAFile = "" }, "certificate"},
		{"password variable unset", serverOptions{}, func(a *config.Abuse) { a.SMTP.PasswordEnv = "OTHER" }, "$OTHER is empty"},
		{"credentials refused", serverOptions{}, func(a *config.Abuse) { a.SMTP.User = "intruder" }, "SMTP AUTH failed"},
		{"nobody listening", serverOptions{}, func(a *config.Abuse) { a.SMTP.Port = closedPort(t) }, "relay 127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.so, tt.edit)
			f.addDraft(t, "abuse@example.net", true, "203.0.113.5")
			res, err := f.sender.Send(t.Context(), nil, false)
			if err == nil && len(res) == 1 && res[0].Err != nil {
				err = res[0].Err
			}
			switch {
			case tt.err == "" && (err != nil || res[0].Status != StatusSent || len(f.srv.received()) != 1):
				t.Errorf("send: %v %+v", err, res)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("error %v, want it to contain %q", err, tt.err)
			case tt.err != "" && len(f.srv.received()) != 0:
				t.Errorf("a message arrived")
			}
		})
	}
}

func closedPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func TestPassword(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte("s3cret pass\n"), 0o600)
	open := filepath.Join(dir, "open")
	os.WriteFile(open, []byte("x\n"), 0o644)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	env := func(k string) string { return map[string]string{"P": "from env"}[k] }
	tests := []struct {
		c    config.SMTP
		want string
		err  string
	}{
		{config.SMTP{}, "", ""},
		{config.SMTP{User: "u", PasswordFile: good}, "s3cret pass", ""},
		{config.SMTP{User: "u", PasswordFile: open}, "", "readable by everyone (mode 0644)"},
		{config.SMTP{User: "u", PasswordFile: empty}, "", "is empty"},
		{config.SMTP{User: "u", PasswordFile: filepath.Join(dir, "missing")}, "", "no such file"},
		{config.SMTP{User: "u", PasswordEnv: "P"}, "from env", ""},
		{config.SMTP{User: "u", PasswordEnv: "Q"}, "", "$Q is empty or unset"},
		{config.SMTP{User: "u"}, "", "has no password_file or password_env"},
	}
	for i, tt := range tests {
		got, err := Password(tt.c, env)
		if got != tt.want || (tt.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("case %d: %q, %v; want %q, %q", i, got, err, tt.want, tt.err)
		}
	}
	if _, err := TLSConfig(config.SMTP{Host: "x", CAFile: good}); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("bad CA file: %v", err)
	}
	if _, err := New(nil, Options{}); err == nil || !strings.Contains(err.Error(), "abuse.from is not set") {
		t.Errorf("New without from: %v", err)
	}
}

func TestFold(t *testing.T) {
	long := "Abuse report: 12 addresses in your network (SSH login attack, web vulnerability scan, SQL injection attempts)"
	got := fold("Subject", long)
	for i, line := range strings.Split(got, "\n") {
		if len("Subject: ")+len(line) > 80 && i == 0 || len(line) > 78 {
			t.Errorf("line %d too long: %q", i, line)
		}
	}
	if strings.ReplaceAll(got, "\n ", " ") != long {
		t.Errorf("fold changed the value: %q", got)
	}
	if enc := encodeHeader("Rapport d'abus: été\r\nBcc: x@y"); strings.ContainsAny(enc, "\r\n") || !strings.HasPrefix(enc, "=?utf-8?q?") {
		t.Errorf("encodeHeader = %q", enc)
	}
}
