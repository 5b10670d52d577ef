package draft

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/abuse"
	"github.com/rampart-ids/rampart/internal/goldentest"
	"github.com/rampart-ids/rampart/internal/ipclass"
)

var (
	t0      = time.Date(2026, 11, 20, 18, 2, 44, 0, time.UTC)
	created = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
)

// secrets are ours: none may appear in anything a draft renders.
var secrets = []string{
	"fe02", "web1", "corp.example.org", "intranet", "alice", "bob", "carol", "erin", "frank", "deploy",
	"10.40.0.8", "10.40.0.2", "198.51.100.20", "198.51.100.9", "fd00:aa::3", "ticket-4711", "db-master",
}

func reporter() Reporter {
	return Reporter{Name: "Example Operations", Org: "Example Org", Email: "abuse-reports@example.org",
		ReplyTo: "noc@example.org", Domain: "example.org"}
}

func redactor(t testing.TB) *Redactor {
	t.Helper()
	nets := append(ipclass.DefaultLocalNetworks(), netip.MustParsePrefix("198.51.100.0/24"))
	r, err := NewRedactor(RedactOptions{Networks: nets, Names: []string{"corp.example.org", "frank"}, Patterns: []string{`ticket-[0-9]+`}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func contactA(a string) abuse.Contact {
	return abuse.Contact{Addr: netip.MustParseAddr(a), Emails: []string{"Abuse@Example.NET"}, Org: "Example Net",
		NetName: "EXAMPLE-NET", Range: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}, Registry: "RIPE", Source: "rdap"}
}

func contactB(a string) abuse.Contact {
	return abuse.Contact{Addr: netip.MustParseAddr(a), Emails: []string{"abuse@example.com", "noc@example.com", "abuse@example.com"},
		Org: "Example Com", NetName: "EXCOM-1", Registry: "ARIN", Source: "whois"}
}

// inputs: two addresses under contact A, two under B, one without a
// mailbox, one of ours.
func inputs() []Input {
	ssh := Evidence{
		Addr: netip.MustParseAddr("203.0.113.5"), Count: 1234,
		FirstSeen: time.Date(2026, 11, 1, 4, 12, 9, 0, time.UTC), LastSeen: t0,
		Rules: []Rule{
			{ID: 5710, Level: 5, Description: "sshd: Attempt to login using a non-existent user", Groups: []string{"syslog", "sshd", "invalid_login", "authentication_failed"}, Count: 34},
			{ID: 5716, Level: 5, Description: "sshd: authentication failed.", Groups: []string{"syslog", "sshd", "authentication_failed"}, Count: 1190},
			{ID: 100201, Level: 10, Description: "Login failure on web1 (ticket-4711)", Groups: []string{"local", "authentication_failures"}, Count: 10},
		},
		Alerts: []Alert{
			{Time: t0, RuleID: 5716, Level: 5, Location: "(fe02) 198.51.100.20->/var/log/secure",
				Log: "Nov 20 18:02:44 fe02 sshd[123]: Failed password for alice from 203.0.113.5 port 4242 ssh2"},
			{Time: t0.Add(-4 * time.Second), RuleID: 5710, Level: 5, Location: "(fe02) 198.51.100.20->/var/log/secure",
				Log: "Nov 20 18:02:40 fe02.corp.example.org sshd[123]: Invalid user admin from 203.0.113.5 port 4241"},
			{Time: t0.Add(-3 * time.Second), RuleID: 5716, Level: 5, Location: "web1->/var/log/auth.log",
				Log: "Nov 20 18:02:41 web1 sshd[9]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.5  user=bob"},
			{Time: t0.Add(-2 * time.Second), RuleID: 100201, Level: 10, Location: "web1->/var/log/auth.log",
				Log: "Nov 20 18:02:42 web1 sshd[9]: Disconnected from authenticating user carol 203.0.113.5 port 4244 [preauth]\nNov 20 18:02:41 web1 sshd[9]: Failed password for frank from 203.0.113.5 port 4243 ssh2"},
		},
		Locations: []string{"(fe02) 198.51.100.20->/var/log/secure", "web1->/var/log/auth.log", "web1->(ssh_integrity_check_linux) deploy@198.51.100.9->syscheck"},
	}
	web := Evidence{
		Addr: netip.MustParseAddr("203.0.113.77"), Count: 12,
		FirstSeen: time.Date(2026, 11, 19, 10, 0, 1, 0, time.UTC), LastSeen: time.Date(2026, 11, 19, 10, 5, 10, 0, time.UTC),
		Rules: []Rule{
			{ID: 31104, Level: 6, Description: "Common web attack.", Groups: []string{"web", "accesslog", "attack"}, Count: 11},
			{ID: 31151, Level: 10, Description: "Multiple web server 400 error codes from same source ip.", Groups: []string{"web", "accesslog", "web_scan", "recon"}, Count: 1},
		},
		Alerts: []Alert{{Time: time.Date(2026, 11, 19, 10, 0, 1, 0, time.UTC), RuleID: 31104, Level: 6, Location: "(db-master) any->/var/log/nginx/access.log",
			Log: `203.0.113.77 - - [19/Nov/2026:10:00:01 +0000] "GET /index.php?page=../../../../etc/passwd HTTP/1.1" 404 153 "http://intranet.corp.example.org/" "Mozilla/5.0" 10.40.0.8`}},
	}
	mailAuth := Evidence{
		Addr: netip.MustParseAddr("192.0.2.33"), Count: 3, FirstSeen: t0.Add(-time.Hour), LastSeen: t0.Add(-time.Hour),
		Rules: []Rule{{ID: 9702, Level: 5, Description: "Dovecot Invalid User Login Attempt.", Groups: []string{"dovecot", "invalid_login", "authentication_failed"}, Count: 3}},
		Alerts: []Alert{{Time: t0.Add(-time.Hour), RuleID: 9702, Level: 5, Location: "(fe02) 198.51.100.20->/var/log/mail.log",
			Log: "Nov 20 17:02:44 fe02 dovecot: imap-login: Disconnected (auth failed, 3 attempts): user=<erin>, method=PLAIN, rip=192.0.2.33, lip=10.40.0.2"}},
	}
	v6 := Evidence{
		Addr: netip.MustParseAddr("2001:db8:4:2::17"), Count: 1, FirstSeen: t0.Add(-26 * time.Hour), LastSeen: t0.Add(-26 * time.Hour),
		Rules: []Rule{{ID: 4101, Level: 5, Description: "Firewall drop event.", Groups: []string{"firewall"}, Count: 1}},
		Alerts: []Alert{{Time: t0.Add(-26 * time.Hour), RuleID: 4101, Level: 5, Location: "(fe02) 198.51.100.20->/var/log/kern.log",
			Log: "Nov 19 16:02:44 fe02 kernel: DROP IN=eth0 SRC=2001:db8:4:2::17 DST=fd00:aa::3 PROTO=TCP DPT=22"}},
	}
	none := Evidence{Addr: netip.MustParseAddr("192.0.2.200"), Count: 5, FirstSeen: t0, LastSeen: t0}
	local := Evidence{Addr: netip.MustParseAddr("10.40.0.5"), Count: 50, FirstSeen: t0, LastSeen: t0}
	return []Input{
		{contactB("2001:db8:4:2::17"), v6},
		{contactA("203.0.113.77"), web},
		{contactA("203.0.113.5"), ssh},
		{abuse.Contact{Addr: none.Addr, Registry: "LACNIC"}, none},
		{contactB("192.0.2.33"), mailAuth},
		{contactA("203.0.113.5"), ssh}, // twice: counts once
		{contactA("10.40.0.5"), local},
	}
}

func build(t testing.TB, attach string) []Draft {
	t.Helper()
	drafts, skips := Build(inputs(), Options{Reporter: reporter(), Redactor: redactor(t), Now: created, Attach: attach})
	if len(drafts) != 2 {
		t.Fatalf("Build made %d drafts, want 2", len(drafts))
	}
	want := []string{"192.0.2.200: the registry names no abuse mailbox (LACNIC)", "10.40.0.5: the address is in one of our own networks"}
	var got []string
	for _, s := range skips {
		got = append(got, s.Addr.String()+": "+s.Reason)
	}
	if !slices.Equal(got, want) {
		t.Errorf("skips = %q, want %q", got, want)
	}
	return drafts
}

func counter() func() string {
	n := 0
	return func() string { n++; return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }
}

func TestBuildGroupsByContact(t *testing.T) {
	drafts := build(t, AttachXARF)
	com, net := drafts[0], drafts[1]
	if com.Contact.Key() != "abuse@example.com,noc@example.com" || net.Contact.Key() != "abuse@example.net" {
		t.Fatalf("contacts = %q, %q", com.Contact.Key(), net.Contact.Key())
	}
	if !slices.Equal(net.Contact.Emails, []string{"abuse@example.net"}) || !slices.Equal(net.Contact.Orgs, []string{"Example Net"}) {
		t.Errorf("contact A = %+v", net.Contact)
	}
	addrs := func(d Draft) (s []string) {
		for _, a := range d.Addrs() {
			s = append(s, a.String())
		}
		return s
	}
	if got := addrs(net); !slices.Equal(got, []string{"203.0.113.5", "203.0.113.77"}) {
		t.Errorf("contact A addresses = %v", got)
	}
	if got := addrs(com); !slices.Equal(got, []string{"192.0.2.33", "2001:db8:4:2::17"}) {
		t.Errorf("contact B addresses = %v", got)
	}
	kinds := map[string]string{}
	for _, d := range drafts {
		for _, r := range d.Reports {
			kinds[r.Addr.String()] = r.Kind.Type + "/" + r.Kind.Service + "/" + r.Kind.Label()
		}
	}
	want := map[string]string{
		"203.0.113.5":      "login_attack/ssh/SSH login attack",
		"203.0.113.77":     "vulnerability_scan/http/web vulnerability scan",
		"192.0.2.33":       "login_attack/imap/IMAP/POP3 login attack",
		"2001:db8:4:2::17": "port_scan//port scan",
	}
	for a, k := range want {
		if kinds[a] != k {
			t.Errorf("kind of %s = %q, want %q", a, kinds[a], k)
		}
	}
	if w := net.Without([]netip.Addr{netip.MustParseAddr("203.0.113.5")}); len(w.Reports) != 1 || len(net.Reports) != 2 {
		t.Errorf("Without: %d reports left, original %d", len(w.Reports), len(net.Reports))
	}
}

// TestFiftyAddressesThreeContacts is the acceptance case: 50
// addresses under 3 contacts make 3 drafts, each with exactly its
// addresses and their evidence.
func TestFiftyAddressesThreeContacts(t *testing.T) {
	var in []Input
	want := map[string][]netip.Addr{}
	for i := range 50 {
		a := netip.AddrFrom4([4]byte{203, 0, 113, byte(i + 1)})
		mbox := []string{"abuse@one.example", "abuse@two.example", "abuse@three.example"}[i%3]
		want[mbox] = append(want[mbox], a)
		in = append(in, Input{
			Contact: abuse.Contact{Addr: a, Emails: []string{mbox}},
			Evidence: Evidence{Addr: a, Count: int64(100 - i), FirstSeen: t0.Add(-time.Hour), LastSeen: t0,
				Rules:  []Rule{{ID: 5716, Level: 5, Description: "sshd: authentication failed.", Groups: []string{"sshd", "authentication_failed"}, Count: int64(100 - i)}},
				Alerts: []Alert{{Time: t0, RuleID: 5716, Level: 5, Log: "Failed password for invalid user test from " + a.String() + " port 22 ssh2"}}},
		})
	}
	drafts, skips := Build(in, Options{Reporter: reporter(), Redactor: redactor(t), Now: created})
	if len(drafts) != 3 || len(skips) != 0 {
		t.Fatalf("%d drafts, %d skips; want 3 and 0", len(drafts), len(skips))
	}
	for _, d := range drafts {
		got := d.Addrs()
		slices.SortFunc(got, netip.Addr.Compare)
		if !slices.Equal(got, want[d.Contact.Emails[0]]) {
			t.Errorf("%s: addresses %v, want %v", d.Contact.Emails[0], got, want[d.Contact.Emails[0]])
		}
		text := d.Text()
		xs := d.XARF(counter())
		for i, r := range d.Reports {
			if !strings.Contains(text, "Failed password for invalid user test from "+r.Addr.String()+" ") {
				t.Errorf("%s: text lacks the evidence of %s", d.Contact.Emails[0], r.Addr)
			}
			if xs[i].SourceIdentifier != r.Addr.String() || xs[i].AttemptCount != r.Count {
				t.Errorf("X-ARF report %d = %s/%d, want %s/%d", i, xs[i].SourceIdentifier, xs[i].AttemptCount, r.Addr, r.Count)
			}
		}
		for _, other := range drafts {
			if other.Contact.Key() == d.Contact.Key() {
				continue
			}
			for _, a := range other.Addrs() {
				if strings.Contains(text, a.String()+" ") {
					t.Errorf("%s's text mentions %s of %s", d.Contact.Key(), a, other.Contact.Key())
				}
			}
		}
	}
}

func TestGolden(t *testing.T) {
	drafts := build(t, AttachXARF)
	net := drafts[1]
	single := net.Without([]netip.Addr{netip.MustParseAddr("203.0.113.77")})
	goldentest.Check(t, filepath.Join("testdata", "text-multi.golden"), []byte(net.Subject()+"\n\n"+net.Text()))
	goldentest.Check(t, filepath.Join("testdata", "text-single.golden"), []byte(single.Subject()+"\n\n"+single.Text()))
	goldentest.Check(t, filepath.Join("testdata", "xarf.golden.json"), MarshalXARF(net.XARF(counter())))
	arfSingle := single
	arfSingle.Attach = AttachARF
	goldentest.Check(t, filepath.Join("testdata", "arf-single.golden"), single.ARF(arfSingle.Text(), "b0undary").Bytes())

	com := drafts[0]
	goldentest.Check(t, filepath.Join("testdata", "body-xarf-single.golden"),
		single.Body(single.Text(), single.XARF(counter()), "b0undary").Bytes())
	goldentest.Check(t, filepath.Join("testdata", "body-xarf-multi.golden"),
		com.Body(com.Text(), com.XARF(counter()), "b0undary").Bytes())
	arf := build(t, AttachARF)[0]
	goldentest.Check(t, filepath.Join("testdata", "body-arf-multi.golden"),
		arf.Body(arf.Text(), nil, "b0undary").Bytes())
	none := build(t, AttachNone)[0]
	if e := none.Body(none.Text(), nil, "x"); e.Header[0].Value != "text/plain; charset=utf-8" || !bytes.Equal(e.Body, []byte(none.Text())) {
		t.Errorf("attach none: %v", e.Header)
	}
}

// TestNothingLeaks renders every draft in every form, decodes every
// attachment, and looks for anything of ours.
func TestNothingLeaks(t *testing.T) {
	var everything bytes.Buffer
	for _, attach := range []string{AttachXARF, AttachARF, AttachNone} {
		for _, d := range build(t, attach) {
			xs := d.XARF(nil)
			var all bytes.Buffer
			all.WriteString(d.Subject() + "\n" + d.Text())
			for _, x := range xs {
				for i, e := range x.Evidence {
					p, err := base64.StdEncoding.DecodeString(e.Payload)
					if err != nil {
						t.Fatal(err)
					}
					all.Write(p)
					// Base64 text would match names by chance.
					x.Evidence[i].Payload = ""
				}
				all.Write(MarshalXARFReport(x))
			}
			body := d.Body(d.Text(), xs, NewUUID())
			all.Write(decodeAll(t, body))
			js, _ := json.Marshal(d) // what the store keeps, too
			all.Write(js)
			low := strings.ToLower(all.String())
			for _, s := range secrets {
				if strings.Contains(low, strings.ToLower(s)) {
					i := strings.Index(low, strings.ToLower(s))
					t.Errorf("%s draft for %s leaks %q: ...%s...", attach, d.Contact.Key(), s, all.String()[max(0, i-60):min(all.Len(), i+40)])
				}
			}
			everything.Write(all.Bytes())
		}
	}
	// The attackers' own addresses and guesses stay, and so does what
	// redaction put in their place.
	for _, keep := range []string{"Invalid user admin", "rhost=203.0.113.5", "rip=192.0.2.33", "SRC=2001:db8:4:2::17",
		"user=<[user]>", "Failed password for [user] from 203.0.113.5", "authenticating user [user] 203.0.113.5",
		"DST=[address]", "lip=[address]", "18:02:44 [host] sshd[123]", "Login failure on [host] ([redacted])", "http://[redacted]/"} {
		if !strings.Contains(everything.String(), keep) {
			t.Errorf("%q is not in the drafts", keep)
		}
	}
}

// decodeAll parses a MIME entity and returns every leaf part decoded,
// nested messages included.
func decodeAll(t *testing.T, e Entity) []byte {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(e.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	var walk func(h mail.Header, body io.Reader)
	walk = func(h mail.Header, body io.Reader) {
		ct, params, err := mime.ParseMediaType(h.Get("Content-Type"))
		if err != nil {
			t.Fatalf("Content-Type %q: %v", h.Get("Content-Type"), err)
		}
		switch {
		case strings.HasPrefix(ct, "multipart/"):
			mr := multipart.NewReader(body, params["boundary"])
			for {
				p, err := mr.NextPart() // decodes quoted-printable
				if err == io.EOF {
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				data, err := io.ReadAll(p)
				if err != nil {
					t.Fatal(err)
				}
				if p.Header.Get("Content-Transfer-Encoding") == "base64" {
					if data, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(string(data), "\n", "")); err != nil {
						t.Fatal(err)
					}
				}
				walk(mail.Header(p.Header), bytes.NewReader(data))
			}
		case ct == "message/rfc822":
			inner, err := mail.ReadMessage(body)
			if err != nil {
				t.Fatal(err)
			}
			out.WriteString(inner.Header.Get("Subject") + "\n")
			walk(inner.Header, inner.Body)
		default:
			data, _ := io.ReadAll(body)
			out.Write(data)
		}
	}
	walk(msg.Header, msg.Body)
	return out.Bytes()
}

func TestBodyParses(t *testing.T) {
	d := build(t, AttachXARF)[0]
	xs := d.XARF(counter())
	e := d.Body(d.Text(), xs, "b-123")
	msg, err := mail.ReadMessage(bytes.NewReader(e.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	ct, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if ct != "multipart/mixed" {
		t.Fatalf("Content-Type %s", ct)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var names []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(p)
		if p.FileName() == "" {
			if string(data) != d.Text() {
				t.Errorf("text part differs from the text")
			}
			continue
		}
		names = append(names, p.FileName())
		js, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(data), "\n", ""))
		if err != nil {
			t.Fatal(err)
		}
		var x XARFReport
		if err := json.Unmarshal(js, &x); err != nil {
			t.Fatal(err)
		}
		if "xarf-"+fileSafe(x.SourceIdentifier)+".json" != p.FileName() || x.XARFVersion != "4.0.0" || x.Category != "connection" {
			t.Errorf("%s: %+v", p.FileName(), x)
		}
	}
	if !slices.Equal(names, []string{"xarf-192.0.2.33.json", "xarf-2001-db8-4-2--17.json"}) {
		t.Errorf("attachments %v", names)
	}
}

func TestXARFRequiredFields(t *testing.T) {
	for _, d := range build(t, AttachXARF) {
		for _, x := range d.XARF(nil) {
			var m map[string]any
			if err := json.Unmarshal(MarshalXARFReport(x), &m); err != nil {
				t.Fatal(err)
			}
			// xarf-core.json's required fields, and those of the
			// connection types.
			for _, k := range []string{"xarf_version", "report_id", "timestamp", "reporter", "sender", "source_identifier", "category", "type", "protocol", "first_seen"} {
				if v, ok := m[k]; !ok || v == "" {
					t.Errorf("%s: %s missing", x.SourceIdentifier, k)
				}
			}
			if x.Type == TypeVulnScan && x.ScanType == "" {
				t.Errorf("%s: vulnerability_scan without scan_type", x.SourceIdentifier)
			}
			for _, c := range []XARFContact{x.Reporter, x.Sender} {
				if c.Org == "" || c.Contact == "" || c.Domain == "" {
					t.Errorf("%s: contact %+v", x.SourceIdentifier, c)
				}
			}
			if len(x.ReportID) != 36 || x.ReportID[14] != '4' {
				t.Errorf("report_id %q is not a UUID v4", x.ReportID)
			}
			for _, tag := range x.Tags {
				if !strings.HasPrefix(tag, "ossec-rule:") {
					t.Errorf("tag %q", tag)
				}
			}
			back := FilterXARF(d.XARF(nil), []netip.Addr{netip.MustParseAddr(x.SourceIdentifier)})
			if len(back) != 1 || back[0].SourceIdentifier != x.SourceIdentifier {
				t.Errorf("FilterXARF(%s) = %v", x.SourceIdentifier, back)
			}
		}
	}
	if xs, err := UnmarshalXARF(MarshalXARF(nil)); err != nil || len(xs) != 0 {
		t.Errorf("empty round trip: %v, %v", xs, err)
	}
	if _, err := UnmarshalXARF([]byte("{")); err == nil {
		t.Error("UnmarshalXARF accepted garbage")
	}
}

func TestDraftJSONRoundTrip(t *testing.T) {
	d := build(t, AttachXARF)[1]
	js, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var back Draft
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if back.Text() != d.Text() || back.Subject() != d.Subject() {
		t.Error("a stored draft renders differently")
	}
}

func TestNormalizeEmails(t *testing.T) {
	ok, bad := NormalizeEmails([]string{" Abuse@Example.NET ", "abuse@example.net", "", "x@y", "a b@example.org",
		"abuse@example.org\r\nBcc: victim@example.com", "<abuse@example.org>", "Name <n@example.org>", "noc@example.org"})
	if !slices.Equal(ok, []string{"abuse@example.net", "noc@example.org"}) {
		t.Errorf("ok = %q", ok)
	}
	if len(bad) != 5 {
		t.Errorf("bad = %q", bad)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name    string
		rules   []Rule
		typ     string
		svc     string
		scan    string
		label   string
		proto   string
		generic bool
	}{
		{"ssh", []Rule{{Groups: []string{"syslog", "sshd", "authentication_failed"}, Count: 5}}, TypeLoginAttack, "ssh", "", "SSH login attack", "tcp", false},
		{"sqli", []Rule{{Groups: []string{"web", "accesslog", "attack", "sql_injection"}, Count: 2}, {Groups: []string{"web", "accesslog", "attack"}, Count: 1}}, TypeSQLInjection, "http", "", "SQL injection attempts", "tcp", false},
		{"web scan", []Rule{{Groups: []string{"web", "accesslog", "web_scan", "recon"}, Count: 9}}, TypeVulnScan, "http", "web_vuln_scan", "web vulnerability scan", "tcp", false},
		{"ssh recon", []Rule{{Groups: []string{"syslog", "sshd", "recon"}, Count: 9}}, TypePortScan, "ssh", "", "SSH port scan", "tcp", false},
		{"sip", []Rule{{Groups: []string{"asterisk", "authentication_failed"}, Count: 1}}, TypeLoginAttack, "sip", "", "SIP login attack", "udp", false},
		{"unknown", []Rule{{Groups: []string{"syslog", "errors"}, Count: 9}}, TypeVulnScan, "", "mixed", "hostile activity", "tcp", true},
		{"none", nil, TypeVulnScan, "", "mixed", "hostile activity", "tcp", true},
		{"most alerts win", []Rule{{Groups: []string{"sshd", "authentication_failed"}, Count: 2}, {Groups: []string{"web", "attack"}, Count: 3}}, TypeVulnScan, "http", "web_vuln_scan", "web vulnerability scan", "tcp", false},
		{"tie: login first", []Rule{{Groups: []string{"web", "attack"}, Count: 3}, {Groups: []string{"sshd", "authentication_failed"}, Count: 3}}, TypeLoginAttack, "ssh", "", "SSH login attack", "tcp", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := Classify(tt.rules)
			if k.Type != tt.typ || k.Service != tt.svc || k.ScanType != tt.scan || k.Label() != tt.label || k.Protocol != tt.proto || k.Generic != tt.generic || k.Category != "connection" {
				t.Errorf("Classify = %+v %q", k, k.Label())
			}
		})
	}
}
