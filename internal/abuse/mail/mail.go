// Package mail sends approved abuse report drafts over SMTP: only approved
// drafts, never the same address to the same abuse mailbox twice within the
// repeat window (such addresses are held back from the message and said
// so), each attempt recorded in the store with its message id, time and
// outcome. A dry run composes exactly the messages that would go and sends
// nothing.
//
// The relay is reached through github.com/wneessen/go-mail (STARTTLS,
// required or opportunistic, or implicit TLS; SMTP AUTH; timeouts); the
// message itself is composed here, so the bytes a dry run shows are the
// bytes sent. It talks to no server but the configured relay, and never to
// the reported addresses.
package mail

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/mail"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	gomail "github.com/wneessen/go-mail"

	"github.com/rampart-ids/rampart/internal/abuse/draft"
	"github.com/rampart-ids/rampart/internal/alertdb"
	"github.com/rampart-ids/rampart/internal/config"
)

// Store is what sending needs of the alert store.
type Store interface {
	AbuseDrafts(ctx context.Context, f alertdb.AbuseDraftFilter) ([]alertdb.AbuseDraft, error)
	AbuseReported(ctx context.Context, emails []string, addrs []netip.Addr, since time.Time) ([]alertdb.AbuseReport, error)
	RecordAbuseSend(ctx context.Context, r alertdb.AbuseSend) (int64, error)
}

// Options configure a Sender.
type Options struct {
	// Abuse is the config's [abuse] table: the sender, the relay, the
	// repeat window.
	Abuse config.Abuse
	// Getenv reads the password variable (password_env); nil: os.Getenv.
	Getenv func(string) string
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// NewID makes the unique part of Message-IDs, NewBoundary multipart
	// boundaries; nil: random ones.
	NewID       func() string
	NewBoundary func() string
	Logger      *slog.Logger
}

// Sender sends drafts.
type Sender struct {
	store Store
	o     Options
}

// New returns a Sender; the [abuse] table must name the sender (from).
func New(store Store, o Options) (*Sender, error) {
	if o.Abuse.From == "" {
		return nil, errors.New("abuse.from is not set in the config: reports need a sender address")
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewID == nil {
		o.NewID = draft.NewUUID
	}
	if o.NewBoundary == nil {
		o.NewBoundary = func() string { return "rampart-" + strings.ReplaceAll(draft.NewUUID(), "-", "") }
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Logger = o.Logger.With("component", "abuse-mail")
	return &Sender{store: store, o: o}, nil
}

// Statuses of a Result.
const (
	// StatusSent: the relay accepted the message.
	StatusSent = "sent"
	// StatusFailed: the relay refused it or could not be reached; the
	// draft stays approved.
	StatusFailed = "failed"
	// StatusRefused: the draft was not sent: not approved, already sent,
	// or edited text that names held-back addresses.
	StatusRefused = "refused"
	// StatusHeld: every address was reported to the contact within the
	// repeat window; nothing to send now.
	StatusHeld = "held"
	// StatusDryRun: composed, not sent.
	StatusDryRun = "dry-run"
)

// Held is an address held back from a message by the repeat window.
type Held struct {
	Addr     netip.Addr
	Email    string
	Reported time.Time
	// Draft is the draft that reported it (0: this run, in a dry run).
	Draft int64
}

// Result is what became of one draft.
type Result struct {
	Draft  int64
	Status string
	// From and To are the SMTP envelope; Addrs the addresses the
	// message reports; Held those the repeat window kept out.
	From      string
	To        []string
	Addrs     []netip.Addr
	Held      []Held
	MessageID string
	// Message is the whole message as sent (or as it would be sent).
	Message []byte
	// Err says why a draft failed or was refused.
	Err error
}

// Send sends the drafts ids (every approved draft when ids is empty). A
// draft that is not approved is refused; each attempt is recorded. With
// dryRun the messages are composed and returned, nothing is sent or
// recorded. The error is for the store failing; per-draft trouble is in
// the results.
func (s *Sender) Send(ctx context.Context, ids []int64, dryRun bool) ([]Result, error) {
	var drafts []alertdb.AbuseDraft
	var err error
	if len(ids) == 0 {
		drafts, err = s.store.AbuseDrafts(ctx, alertdb.AbuseDraftFilter{States: []string{alertdb.AbuseDraftApproved}})
	} else {
		drafts, err = s.store.AbuseDrafts(ctx, alertdb.AbuseDraftFilter{IDs: ids})
	}
	if err != nil {
		return nil, err
	}
	byID := map[int64]alertdb.AbuseDraft{}
	for _, d := range drafts {
		byID[d.ID] = d
	}
	if len(ids) == 0 {
		for _, d := range drafts {
			ids = append(ids, d.ID)
		}
	}
	var password string
	if !dryRun && len(drafts) > 0 {
		if s.o.Abuse.SMTP.Host == "" {
			return nil, errors.New("abuse.smtp.host is not set in the config: no relay to send through")
		}
		if password, err = Password(s.o.Abuse.SMTP, s.o.Getenv); err != nil {
			return nil, err
		}
	}
	// Reported in this run: a dry run must hold back what an earlier
	// draft of the run would have reported, as a real run does.
	thisRun := map[string]time.Time{}
	var results []Result
	for _, id := range ids {
		d, ok := byID[id]
		if !ok {
			results = append(results, Result{Draft: id, Status: StatusRefused, Err: fmt.Errorf("abuse draft %d: %w", id, alertdb.ErrAbuseDraftNotFound)})
			continue
		}
		r := s.prepare(ctx, d, thisRun)
		if r.Status != "" {
			results = append(results, r)
			continue
		}
		if dryRun {
			r.Status = StatusDryRun
			for _, e := range r.To {
				for _, a := range r.Addrs {
					thisRun[e+" "+a.String()] = s.o.Now()
				}
			}
			results = append(results, r)
			continue
		}
		now := s.o.Now()
		r.Status = StatusSent
		if err := s.deliver(ctx, password, r); err != nil {
			r.Status, r.Err = StatusFailed, err
		}
		rec := alertdb.AbuseSend{Draft: d.ID, Time: now, Recipients: r.To, Addrs: r.Addrs, MessageID: r.MessageID, Outcome: alertdb.AbuseSendSent}
		if r.Err != nil {
			rec.Outcome, rec.Error = alertdb.AbuseSendFailed, r.Err.Error()
		}
		if _, err := s.store.RecordAbuseSend(ctx, rec); err != nil {
			results = append(results, r)
			if r.Status == StatusSent {
				return results, fmt.Errorf("abuse draft %d was sent as %s but not recorded: %w", d.ID, r.MessageID, err)
			}
			return results, err
		}
		s.o.Logger.Info("abuse report", "draft", d.ID, "status", r.Status, "to", strings.Join(r.To, ","), "message_id", r.MessageID)
		results = append(results, r)
	}
	return results, nil
}

// prepare checks a draft and composes its message; a Result with a
// Status set is final.
func (s *Sender) prepare(ctx context.Context, d alertdb.AbuseDraft, thisRun map[string]time.Time) Result {
	r := Result{Draft: d.ID, From: s.o.Abuse.From, To: d.Emails}
	switch d.State {
	case alertdb.AbuseDraftApproved:
	case alertdb.AbuseDraftSent:
		r.Status, r.Err = StatusRefused, fmt.Errorf("abuse draft %d was sent already", d.ID)
		return r
	default:
		r.Status, r.Err = StatusRefused, fmt.Errorf("abuse draft %d is %s: only approved drafts are sent (rampart abuse approve %d)", d.ID, d.State, d.ID)
		return r
	}
	var dr draft.Draft
	if err := json.Unmarshal(d.Evidence, &dr); err != nil {
		r.Status, r.Err = StatusRefused, fmt.Errorf("abuse draft %d: stored evidence: %w", d.ID, err)
		return r
	}
	now := s.o.Now()
	window := s.o.Abuse.RepeatWindow
	reported, err := s.store.AbuseReported(ctx, d.Emails, d.Addrs, now.Add(-window))
	if err != nil {
		r.Status, r.Err = StatusFailed, err
		return r
	}
	for _, rep := range reported {
		r.Held = append(r.Held, Held{Addr: rep.Addr, Email: rep.Email, Reported: rep.Time, Draft: rep.Draft})
	}
	for _, e := range d.Emails {
		for _, a := range d.Addrs {
			if t, ok := thisRun[e+" "+a.String()]; ok {
				r.Held = append(r.Held, Held{Addr: a, Email: e, Reported: t})
			}
		}
	}
	var drop []netip.Addr
	for _, h := range r.Held {
		if !slices.Contains(drop, h.Addr) {
			drop = append(drop, h.Addr)
		}
	}
	for _, a := range d.Addrs {
		if !slices.Contains(drop, a) {
			r.Addrs = append(r.Addrs, a)
		}
	}
	switch {
	case len(r.Addrs) == 0:
		r.Status, r.Err = StatusHeld, fmt.Errorf("abuse draft %d: every address was reported to %s within the last %s", d.ID, strings.Join(d.Emails, ", "), formatWindow(window))
		return r
	case len(drop) > 0 && d.Edited:
		r.Status, r.Err = StatusRefused, fmt.Errorf("abuse draft %d: its edited text reports %s, reported to this contact within the last %s: discard it and draft again",
			d.ID, joinAddrs(drop), formatWindow(window))
		return r
	}
	subject, text := d.Subject, d.Text
	part := dr.Without(drop)
	if len(drop) > 0 {
		subject, text = part.Subject(), part.Text()
	}
	xs, err := draft.UnmarshalXARF(d.XARF)
	if err != nil {
		r.Status, r.Err = StatusRefused, fmt.Errorf("abuse draft %d: stored X-ARF: %w", d.ID, err)
		return r
	}
	body := part.Body(text, draft.FilterXARF(xs, r.Addrs), s.o.NewBoundary())
	r.MessageID = "<" + s.o.NewID() + "@" + domainOf(s.o.Abuse.From) + ">"
	r.Message = s.compose(r, subject, now, body)
	return r
}

func formatWindow(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

func joinAddrs(addrs []netip.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

func domainOf(addr string) string {
	_, d, _ := strings.Cut(addr, "@")
	return strings.ToLower(d)
}

// compose writes the message: the header, then the draft's body entity.
func (s *Sender) compose(r Result, subject string, now time.Time, body draft.Entity) []byte {
	a := s.o.Abuse
	to := make([]string, len(r.To))
	for i, e := range r.To {
		to[i] = (&mail.Address{Address: e}).String()
	}
	header := []draft.Field{
		{Name: "From", Value: (&mail.Address{Name: a.FromName, Address: a.From}).String()},
		{Name: "To", Value: strings.Join(to, ", ")},
	}
	if a.ReplyTo != "" {
		header = append(header, draft.Field{Name: "Reply-To", Value: (&mail.Address{Address: a.ReplyTo}).String()})
	}
	header = append(header,
		draft.Field{Name: "Subject", Value: encodeHeader(subject)},
		draft.Field{Name: "Date", Value: now.UTC().Format(time.RFC1123Z)},
		draft.Field{Name: "Message-ID", Value: r.MessageID},
		draft.Field{Name: "MIME-Version", Value: "1.0"},
	)
	if a.Org != "" {
		header = append(header, draft.Field{Name: "Organization", Value: encodeHeader(a.Org)})
	}
	header = append(header, body.Header...)
	for i, f := range header {
		header[i].Value = fold(f.Name, f.Value)
	}
	return draft.Entity{Header: header, Body: body.Body}.Bytes()
}

// encodeHeader makes a header value safe: no line breaks, and RFC 2047
// words when it is not ASCII.
func encodeHeader(v string) string {
	v = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, v)
	for _, r := range v {
		if r >= utf8.RuneSelf {
			return mime.QEncoding.Encode("utf-8", v)
		}
	}
	return v
}

// fold breaks a header field longer than 78 characters at spaces (RFC
// 5322 §2.2.3); a line without spaces stays whole.
func fold(name, value string) string {
	var b strings.Builder
	col := len(name) + 2
	for i, w := range strings.Split(value, " ") {
		if i > 0 {
			if col+1+len(w) > 78 {
				b.WriteString("\n ")
				col = 1
			} else {
				b.WriteString(" ")
				col++
			}
		}
		b.WriteString(w)
		col += len(w)
	}
	return b.String()
}

// deliver hands one message to the relay.
func (s *Sender) deliver(ctx context.Context, password string, r Result) error {
	c, err := s.client(password)
	if err != nil {
		return err
	}
	relay := c.ServerAddr()
	sc, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("relay %s: %w", relay, err)
	}
	defer func() { _ = c.CloseWithSMTPClient(sc) }()
	if err := sc.Mail("<" + r.From + ">"); err != nil {
		return fmt.Errorf("relay %s refused MAIL FROM:<%s>: %w", relay, r.From, err)
	}
	for _, to := range r.To {
		if err := sc.Rcpt("<" + to + ">"); err != nil {
			_ = sc.Reset()
			return fmt.Errorf("relay %s refused RCPT TO:<%s>: %w", relay, to, err)
		}
	}
	w, err := sc.Data()
	if err != nil {
		return fmt.Errorf("relay %s refused DATA: %w", relay, err)
	}
	if _, err := w.Write(r.Message); err != nil {
		_ = w.Close()
		return fmt.Errorf("relay %s: write message: %w", relay, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("relay %s refused the message: %w", relay, err)
	}
	return nil
}

var authTypes = map[string]gomail.SMTPAuthType{
	config.AuthAuto:        gomail.SMTPAuthAutoDiscover,
	config.AuthPlain:       gomail.SMTPAuthPlain,
	config.AuthLogin:       gomail.SMTPAuthLogin,
	config.AuthCRAMMD5:     gomail.SMTPAuthCramMD5,
	config.AuthSCRAMSHA1:   gomail.SMTPAuthSCRAMSHA1,
	config.AuthSCRAMSHA256: gomail.SMTPAuthSCRAMSHA256,
}

// client configures go-mail for the relay.
func (s *Sender) client(password string) (*gomail.Client, error) {
	c := s.o.Abuse.SMTP
	tlsConf, err := TLSConfig(c)
	if err != nil {
		return nil, err
	}
	opts := []gomail.Option{
		gomail.WithPort(c.PortOrDefault()),
		gomail.WithTimeout(cmp.Or(c.Timeout, config.DefaultSMTPTimeout)),
		gomail.WithTLSConfig(tlsConf),
	}
	switch c.TLS {
	case config.TLSImplicit:
		opts = append(opts, gomail.WithSSL())
	case config.TLSOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case config.TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if c.User != "" {
		opts = append(opts, gomail.WithSMTPAuth(authTypes[cmp.Or(c.Auth, config.AuthAuto)]),
			gomail.WithUsername(c.User), gomail.WithPassword(password))
	}
	if c.HELO != "" {
		opts = append(opts, gomail.WithHELO(c.HELO))
	}
	cl, err := gomail.NewClient(c.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("relay %s: %w", c.Host, err)
	}
	return cl, nil
}

// TLSConfig is the TLS configuration for the relay: TLS 1.2 or later, the
// relay's name checked against the system roots and the certificates of
// ca_file.
func TLSConfig(c config.SMTP) (*tls.Config, error) {
	conf := &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}
	if c.CAFile == "" {
		return conf, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pem, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("abuse.smtp.ca_file: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("abuse.smtp.ca_file %s: no PEM certificate in it", c.CAFile)
	}
	conf.RootCAs = pool
	return conf, nil
}

// Record is what the store keeps of a new draft: its text, subject and
// renderings, and the redacted draft itself (as JSON), from which Send
// renders the message again when the repeat window holds addresses back.
// newID makes X-ARF report ids (nil: random); boundary is the ARF
// rendering's.
func Record(d draft.Draft, newID func() string, boundary, author string) (alertdb.AbuseDraft, error) {
	evidence, err := json.Marshal(d)
	if err != nil {
		return alertdb.AbuseDraft{}, fmt.Errorf("store draft for %s: %w", strings.Join(d.Contact.Emails, ", "), err)
	}
	text := d.Text()
	return alertdb.AbuseDraft{
		Created:  d.Created,
		Emails:   d.Contact.Emails,
		Addrs:    d.Addrs(),
		Subject:  d.Subject(),
		Text:     text,
		XARF:     draft.MarshalXARF(d.XARF(newID)),
		ARF:      d.ARF(text, boundary).Bytes(),
		Evidence: evidence,
		Author:   author,
	}, nil
}

// Password reads the relay password from password_file or password_env;
// without a user there is none. A password file others can read is
// refused.
func Password(c config.SMTP, getenv func(string) string) (string, error) {
	switch {
	case c.User == "":
		return "", nil
	case c.PasswordFile != "":
		st, err := os.Stat(c.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("abuse.smtp.password_file: %w", err)
		}
		if st.Mode().Perm()&0o004 != 0 {
			return "", fmt.Errorf("abuse.smtp.password_file %s is readable by everyone (mode %#o): chmod o-r it", c.PasswordFile, st.Mode().Perm())
		}
		data, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("abuse.smtp.password_file: %w", err)
		}
		p := strings.TrimRight(string(data), "\r\n")
		if p == "" {
			return "", fmt.Errorf("abuse.smtp.password_file %s is empty", c.PasswordFile)
		}
		return p, nil
	case c.PasswordEnv != "":
		p := getenv(c.PasswordEnv)
		if p == "" {
			return "", fmt.Errorf("abuse.smtp.password_env: $%s is empty or unset", c.PasswordEnv)
		}
		return p, nil
	}
	return "", fmt.Errorf("abuse.smtp.user %q has no password_file or password_env", c.User)
}
