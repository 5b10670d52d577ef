package whois

import (
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/abuse"
	"github.com/rampart-ids/rampart/internal/goldentest"
)

// goldenCases are the answers under testdata, each read as the server that
// gives it would be, for the address it was asked about.
var goldenCases = []struct{ file, server, addr string }{
	{"iana-ripe", "whois.iana.org:43", "192.0.2.10"},
	{"iana-ripe6", "whois.iana.org:43", "2001:db8:100::1"},
	{"iana-arin", "whois.iana.org:43", "198.51.100.20"},
	{"iana-apnic", "whois.iana.org:43", "203.0.113.70"},
	{"iana-lacnic", "whois.iana.org:43", "192.0.2.200"},
	{"iana-reserved", "whois.iana.org:43", "2001:db8:ffff::1"},
	{"ripe", "whois.ripe.net:43", "192.0.2.10"},
	{"ripe-full", "whois.ripe.net:43", "192.0.2.10"},
	{"ripe-noabuse", "whois.ripe.net:43", "192.0.2.70"},
	{"ripe-ratelimit", "whois.ripe.net:43", "192.0.2.99"},
	{"ripe6", "whois.ripe.net:43", "2001:db8:100::1"},
	{"arin", "whois.arin.net:43", "198.51.100.20"},
	{"arin-rabuse", "whois.arin.net:43", "198.51.100.70"},
	{"arin-afrinic", "whois.arin.net:43", "198.51.100.200"},
	{"arin-loop", "whois.arin.net:43", "198.51.100.99"},
	{"arin-notfound", "whois.arin.net:43", "198.51.100.250"},
	{"afrinic", "whois.afrinic.net:43", "198.51.100.200"},
	{"apnic", "whois.apnic.net:43", "203.0.113.10"},
	{"apnic-irt", "whois.apnic.net:43", "203.0.113.40"},
	{"apnic-jpnic", "whois.apnic.net:43", "203.0.113.70"},
	{"apnic-krnic", "whois.apnic.net:43", "203.0.113.130"},
	{"jpnic", "whois.nic.ad.jp:43", "203.0.113.70"},
	{"jpnic-alloc", "whois.nic.ad.jp:43", "203.0.113.70"},
	{"krnic", "whois.kisa.or.kr:43", "203.0.113.130"},
	{"lacnic", "whois.lacnic.net:43", "192.0.2.140"},
	{"lacnic-nicbr", "whois.lacnic.net:43", "192.0.2.200"},
	{"nicbr", "whois.registro.br:43", "192.0.2.200"},
}

// parsed is what the golden files hold.
type parsed struct {
	Contact  *abuse.Contact `json:"contact,omitempty"`
	Referral *Referral      `json:"referral,omitempty"`
	Error    string         `json:"error,omitempty"`
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".whois"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseGolden pins what every registry's answer is read as.
func TestParseGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.file, func(t *testing.T) {
			con, ref, err := Parse(tc.server, readFixture(t, tc.file), netip.MustParseAddr(tc.addr))
			var p parsed
			if err != nil {
				p.Error = err.Error()
			} else {
				p.Contact = &con
				if !ref.IsZero() {
					p.Referral = &ref
				}
			}
			got, jerr := json.MarshalIndent(p, "", "  ")
			if jerr != nil {
				t.Fatal(jerr)
			}
			goldentest.Check(t, filepath.Join("testdata", "golden", tc.file+".json"), append(got, '\n'))
		})
	}
}

// TestParse checks the decisions the golden files hold, so that a golden
// file rewritten with a wrong answer cannot pass unnoticed.
func TestParse(t *testing.T) {
	type want struct {
		emails   []string
		rng      string
		netname  string
		org      string
		country  string
		registry string
		referral Referral
		err      error
	}
	tests := []struct {
		file, server, addr string
		want               want
	}{
		{"iana-ripe", "whois.iana.org:43", "192.0.2.10", want{rng: "192.0.2.0/25", org: "RIPE NCC", registry: "IANA",
			referral: Referral{Server: "whois.ripe.net:43"}}},
		{"iana-reserved", "whois.iana.org:43", "2001:db8:ffff::1", want{rng: "2001:db8::/32", org: "IANA", registry: "IANA"}},
		// -r: no organisation object, the holder comes from descr.
		{"ripe", "whois.ripe.net:43", "192.0.2.10", want{emails: []string{"abuse@example-hosting.example"}, rng: "192.0.2.0/26",
			netname: "EXAMPLE-HOSTING-FRA1", org: "Example Hosting GmbH", country: "DE", registry: "RIPE"}},
		{"ripe-full", "whois.ripe.net:43", "192.0.2.10", want{emails: []string{"abuse@example-hosting.example"}, rng: "192.0.2.0/26",
			netname: "EXAMPLE-HOSTING-FRA1", org: "Example Hosting GmbH", country: "DE", registry: "RIPE"}},
		{"ripe-noabuse", "whois.ripe.net:43", "192.0.2.70", want{rng: "192.0.2.64/26", netname: "EXAMPLE-UNI-LAB",
			org: "Beispiel University, physics laboratory", country: "AT", registry: "RIPE"}},
		{"ripe-ratelimit", "whois.ripe.net:43", "192.0.2.99", want{err: ErrRateLimited}},
		{"ripe6", "whois.ripe.net:43", "2001:db8:100::1", want{emails: []string{"abuse@fibre-example.example"}, rng: "2001:db8:100::/48",
			netname: "FIBRE-EXAMPLE-CUST", org: "Fibre Example B.V. customer aggregate", country: "NL", registry: "RIPE"}},
		// The customer's network names no abuse contact: its parent's.
		{"arin", "whois.arin.net:43", "198.51.100.20", want{emails: []string{"abuse@example-broadband.example"}, rng: "198.51.100.16/28",
			netname: "EXBB-CUST-ACME", org: "Acme Widgets", country: "US", registry: "ARIN"}},
		// A resource abuse contact comes before the organisation's.
		{"arin-rabuse", "whois.arin.net:43", "198.51.100.70", want{emails: []string{"trust-toronto@cloud-example.example"},
			rng: "198.51.100.64/27", netname: "CLOUDEX-198-51-100-64", org: "Cloud Example Inc.", country: "CA", registry: "ARIN"}},
		// The address is outside the reallocation: the allocation answers.
		{"arin-rabuse", "whois.arin.net:43", "198.51.100.10", want{emails: []string{"abuse@example-broadband.example"},
			rng: "198.51.100.0/25", netname: "EXBB-BLK-1", org: "Example Broadband LLC", country: "US", registry: "ARIN"}},
		{"arin-afrinic", "whois.arin.net:43", "198.51.100.200", want{emails: []string{"abuse@afrinic.example"}, rng: "198.51.100.128/25",
			netname: "AFRINIC-NET-TRANSFERRED-20050418", org: "African Network Information Center", country: "MU", registry: "ARIN",
			referral: Referral{Server: "whois.afrinic.net:43"}}},
		{"arin-notfound", "whois.arin.net:43", "198.51.100.250", want{err: ErrNotFound}},
		{"afrinic", "whois.afrinic.net:43", "198.51.100.200", want{emails: []string{"abuse@mfano-telecom.example"}, rng: "198.51.100.192/26",
			netname: "MFANO-KE-CUST-07", org: "Mfano Telecom Kenya Ltd", country: "KE", registry: "AFRINIC"}},
		{"apnic", "whois.apnic.net:43", "203.0.113.10", want{emails: []string{"abuse@mate-networks.example"}, rng: "203.0.113.0/27",
			netname: "MATENET-AU", org: "Mate Networks Pty Ltd", country: "AU", registry: "APNIC"}},
		// No abuse-c, no comment: the irt object's mailboxes, in order.
		{"apnic-irt", "whois.apnic.net:43", "203.0.113.40", want{emails: []string{"cert@vidya-colleges.example", "netops@vidya-colleges.example"},
			rng: "203.0.113.32/27", netname: "VIDYA-NET-IN", org: "Vidya Colleges Network", country: "IN", registry: "APNIC"}},
		// JPNIC's own block: on to JPNIC, and the NIR's answer does not stand.
		{"apnic-jpnic", "whois.apnic.net:43", "203.0.113.70", want{emails: []string{"hostmaster@jpnic.example"}, rng: "203.0.113.64/26",
			netname: "JPNIC-NET-JP", org: "Japan Network Information Center", country: "JP", registry: "APNIC",
			referral: Referral{Server: "whois.nic.ad.jp:43"}}},
		// KRNIC data mirrored: on to KRNIC for detail.
		{"apnic-krnic", "whois.apnic.net:43", "203.0.113.130", want{emails: []string{"irt@krnic.example"}, rng: "203.0.113.128/27",
			netname: "YESINET-KR", org: "Yesi Telecom Co., Ltd.", country: "KR", registry: "APNIC",
			referral: Referral{Server: "whois.kisa.or.kr:43", Detail: true}}},
		// An assignment without [Abuse]: ask for the enclosing allocation.
		{"jpnic", "whois.nic.ad.jp:43", "203.0.113.70", want{rng: "203.0.113.64/28", netname: "REIDAI-LAN", org: "Reidai Trading Co., Ltd.",
			country: "JP", registry: "JPNIC", referral: Referral{Server: "whois.nic.ad.jp:43", Query: "203.0.113.64/27/e", Parent: true}}},
		{"jpnic-alloc", "whois.nic.ad.jp:43", "203.0.113.70", want{emails: []string{"abuse@reidai-internet.example"}, rng: "203.0.113.64/27",
			org: "Reidai Internet Inc.", country: "JP", registry: "JPNIC"}},
		// The customer's block names no abuse contact: the ISP's.
		{"krnic", "whois.kisa.or.kr:43", "203.0.113.130", want{emails: []string{"abuse@yesi-telecom.example"}, rng: "203.0.113.128/28",
			org: "Yesi Trading", country: "KR", registry: "KRNIC"}},
		{"krnic", "whois.kisa.or.kr:43", "203.0.113.150", want{emails: []string{"abuse@yesi-telecom.example"}, rng: "203.0.113.128/27",
			netname: "YESINET", org: "Yesi Telecom Co., Ltd.", country: "KR", registry: "KRNIC"}},
		{"lacnic", "whois.lacnic.net:43", "192.0.2.140", want{emails: []string{"abuse@ejemplo-telecom.example"}, rng: "192.0.2.128/26",
			org: "Ejemplo Telecomunicaciones S.A.", country: "AR", registry: "LACNIC"}},
		{"lacnic-nicbr", "whois.lacnic.net:43", "192.0.2.200", want{emails: []string{"abuse@exemplo-com.example"}, rng: "192.0.2.192/26",
			org: "Exemplo Comunicação Ltda", country: "BR", registry: "LACNIC", referral: Referral{Server: "whois.registro.br:43", Detail: true}}},
		// Latin-1.
		{"nicbr", "whois.registro.br:43", "192.0.2.200", want{emails: []string{"abuse@exemplo-com.example"}, rng: "192.0.2.192/26",
			org: "Exemplo Comunicação Ltda", country: "BR", registry: "NIC.BR"}},
		// A server with an unknown name: the registry from source: or the
		// banner.
		{"ripe", "127.0.0.1:4343", "192.0.2.10", want{emails: []string{"abuse@example-hosting.example"}, rng: "192.0.2.0/26",
			netname: "EXAMPLE-HOSTING-FRA1", org: "Example Hosting GmbH", country: "DE", registry: "RIPE"}},
		{"nicbr", "127.0.0.1:4343", "192.0.2.200", want{emails: []string{"abuse@exemplo-com.example"}, rng: "192.0.2.192/26",
			org: "Exemplo Comunicação Ltda", country: "BR", registry: "NIC.BR"}},
		{"arin", "127.0.0.1:4343", "198.51.100.20", want{emails: []string{"abuse@example-broadband.example"}, rng: "198.51.100.16/28",
			netname: "EXBB-CUST-ACME", org: "Acme Widgets", country: "US", registry: "ARIN"}},
		// No network in the answer holds the address.
		{"ripe", "whois.ripe.net:43", "192.0.2.200", want{err: ErrNotFound}},
	}
	for _, tt := range tests {
		t.Run(tt.file+"/"+tt.addr, func(t *testing.T) {
			addr := netip.MustParseAddr(tt.addr)
			con, ref, err := Parse(tt.server, readFixture(t, tt.file), addr)
			if tt.want.err != nil {
				if !errors.Is(err, tt.want.err) || !strings.Contains(err.Error(), tt.server) {
					t.Fatalf("error %v, want %v naming %s", err, tt.want.err, tt.server)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := want{emails: con.Emails, netname: con.NetName, org: con.Org, country: con.Country,
				registry: con.Registry, referral: ref}
			if len(con.Range) > 0 {
				var rs []string
				for _, p := range con.Range {
					rs = append(rs, p.String())
				}
				got.rng = strings.Join(rs, " ")
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
			if con.Addr != addr || con.Source != "whois" || con.Server != tt.server || !con.Fetched.IsZero() {
				t.Errorf("addr %s source %q server %q fetched %v", con.Addr, con.Source, con.Server, con.Fetched)
			}
		})
	}
}

func TestParseBad(t *testing.T) {
	addr := netip.MustParseAddr("192.0.2.10")
	tests := []struct {
		name, answer string
		err          error
		quote        string
	}{
		{"empty", "\r\n  \n", ErrMalformed, "empty"},
		{"nul", "inetnum: 192.0.2.0 - 192.0.2.255\nnetname: X\x00Y\n", ErrMalformed, "line 2"},
		{"binary", strings.Repeat("\x01\x02\x03\xfe", 40), ErrMalformed, "binary"},
		{"prose", "<html><body>Service Unavailable</body></html>\n", ErrMalformed, "<html>"},
		{"no entries", "%ERROR:101: no entries found\n%\n% No entries found in source RIPE.\n", ErrNotFound, "%ERROR:101"},
		{"lacnic limit", "\n% Joint Whois - whois.lacnic.net\n%  This server accepts single ASN, IPv4 or IPv6 queries\n\n% Query rate limit exceeded\n", ErrRateLimited, "rate limit"},
		{"jpnic no match", "[ JPNIC database provides information regarding IP address and ASN. ]\n\nNo match!!\n", ErrNotFound, "No match"},
		{"other object", "aut-num: AS64496\nas-name: EXAMPLE\nsource: RIPE\n", ErrNotFound, "aut-num"},
		{"bad range", "inetnum: 192.0.2.255 - 192.0.2.0\nnetname: BACKWARDS\n", ErrNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse("whois.example.net:43", []byte(tt.answer), addr)
			if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), "whois.example.net:43") || !strings.Contains(err.Error(), tt.quote) {
				t.Fatalf("error %v, want %v naming the server and %q", err, tt.err, tt.quote)
			}
		})
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.0 - 192.0.2.255", "192.0.2.0-192.0.2.255"},
		{"192.0.2.0-192.0.2.127", "192.0.2.0-192.0.2.127"},
		{"192.0.2.0/24", "192.0.2.0-192.0.2.255"},
		{"192.0.2.77/24", "192.0.2.0-192.0.2.255"},
		{"200.160/20", "200.160.0.0-200.160.15.255"}, // LACNIC's short form
		{"10/8", "10.0.0.0-10.255.255.255"},
		{"203.0.113.128 - 203.0.113.159 (/27)", "203.0.113.128-203.0.113.159"},
		{"2001:db8::/32", "2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"2001:db8:0:0:0:0:0:0/32", "2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"},
		{"2001:db8:: - 2001:db8::ff", "2001:db8::-2001:db8::ff"},
		{"192.0.2.9", "192.0.2.9-192.0.2.9"},
		{"192.0.2.255 - 192.0.2.0", ""},
		{"192.0.2.0 - 2001:db8::1", ""},
		{"192.0.2.0/33", ""},
		{"::ffff:192.0.2.0/120", ""},
		{"fe80::1%eth0", ""},
		{"N/A", ""},
		{"", ""},
	}
	for _, tt := range tests {
		r, ok := parseRange(tt.in)
		got := ""
		if ok {
			got = r.String()
		}
		if got != tt.want {
			t.Errorf("parseRange(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEmailsIn(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"Abuse@Example.NET", []string{"abuse@example.net"}},
		{"Abuse Desk <abuse@example.net>, noc@example.net (24/7)", []string{"abuse@example.net", "noc@example.net"}},
		{"mailto:abuse@example.net.", []string{"abuse@example.net"}},
		{"abuse@example.net abuse@example.net", []string{"abuse@example.net"}},
		{"search-apnic-not-arin@apnic.net", nil},
		{"not an address @ all", nil},
		{"abuse@localhost", nil},
		{"a@b@example.net", nil},
	}
	for _, tt := range tests {
		if got := emailsIn(nil, tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("emailsIn(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzParse: no answer makes the parser panic, and what it accepts is
// consistent: mailboxes lower-case and unique, the range covering the
// address, a referral a valid host:port.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.whois"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// The dialect comes from the content; the server only names the
	// registry and rules out referrals to itself.
	cases := []struct {
		server string
		addr   netip.Addr
	}{
		{"whois.ripe.net:43", netip.MustParseAddr("192.0.2.10")},
		{"whois.arin.net:43", netip.MustParseAddr("198.51.100.20")},
		{"whois.lacnic.net:43", netip.MustParseAddr("203.0.113.70")},
		{"127.0.0.1:4343", netip.MustParseAddr("2001:db8:100::1")},
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, tc := range cases {
			server, addr := tc.server, tc.addr
			con, ref, err := Parse(server, b, addr)
			if err != nil {
				if !strings.Contains(err.Error(), server) {
					t.Errorf("error %q does not name %s", err, server)
				}
				continue
			}
			for i, m := range con.Emails {
				if m != strings.ToLower(m) || !strings.Contains(m, "@") || slices.Contains(con.Emails[:i], m) {
					t.Errorf("mailbox %q in %q", m, con.Emails)
				}
			}
			for _, p := range con.Range {
				if p != p.Masked() {
					t.Errorf("unmasked %s", p)
				}
			}
			if len(con.Range) > 0 && !slices.ContainsFunc(con.Range, func(p netip.Prefix) bool { return p.Contains(addr) }) {
				t.Errorf("range %v does not contain %s", con.Range, addr)
			}
			if !ref.IsZero() {
				if s, err := hostPort(ref.Server); err != nil || s != ref.Server {
					t.Errorf("referral server %q", ref.Server)
				}
			}
			if len(con.Range) == 0 && ref.IsZero() {
				t.Errorf("accepted an answer with neither network nor referral")
			}
		}
	})
}

// BenchmarkParse reads every answer under testdata once per iteration.
func BenchmarkParse(b *testing.B) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.whois"))
	if err != nil || len(files) == 0 {
		b.Fatalf("no answers: %v", err)
	}
	var answers [][]byte
	for _, name := range files {
		d, err := os.ReadFile(name)
		if err != nil {
			b.Fatal(err)
		}
		answers = append(answers, d)
	}
	addr := netip.MustParseAddr("203.0.113.70")
	for b.Loop() {
		for _, d := range answers {
			Parse("whois.example.net:43", d, addr)
		}
	}
}

func TestDecode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"owner: Núcleo\n", "owner: Núcleo\n"},
		{"owner: N\xfacleo\n", "owner: Núcleo\n"},
		// Each line on its own: UTF-8 stays, Latin-1 is read as such.
		{"descr: Zürich\nowner: Jo\xe3o\n", "descr: Zürich\nowner: João\n"},
		{"owner: Jo\xe3o", "owner: João"},
		// ISO-2022-JP is 7-bit: it passes (JPNIC is asked for English).
		{"\x1b$B%M%C%H\x1b(B\n", "\x1b$B%M%C%H\x1b(B\n"},
	}
	for _, tt := range tests {
		got, err := decode([]byte(tt.in))
		if err != nil || got != tt.want {
			t.Errorf("decode(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestParseReferrals: the spellings of "ask there next".
func TestParseReferrals(t *testing.T) {
	addr := netip.MustParseAddr("192.0.2.10")
	tests := []struct {
		name, server, answer string
		want                 Referral
	}{
		{"iana whois only", "whois.iana.org:43", "inetnum:      192.0.2.0 - 192.0.2.255\norganisation: RIPE NCC\n\nwhois:        whois.ripe.net\n",
			Referral{Server: "whois.ripe.net:43"}},
		{"iana without blank lines", "whois.iana.org:43", "refer: whois.ripe.net\ninetnum: 192.0.2.0 - 192.0.2.255\n",
			Referral{Server: "whois.ripe.net:43"}},
		{"arin with port and path", "whois.arin.net:43", "NetRange: 192.0.2.0 - 192.0.2.255\nNetName: X\n\nReferralServer: whois://whois.example.net:4321/\n",
			Referral{Server: "whois.example.net:4321"}},
		{"arin rwhois is not followed", "whois.arin.net:43", "NetRange: 192.0.2.0 - 192.0.2.255\nNetName: X\n\nReferralServer: rwhois://rwhois.example.net:4321/\n",
			Referral{}},
		{"to itself", "whois.ripe.net:43", "refer: whois.ripe.net\n\ninetnum: 192.0.2.0 - 192.0.2.255\n", Referral{}},
		{"not a host", "whois.iana.org:43", "refer: see the web site\n\ninetnum: 192.0.2.0 - 192.0.2.255\n", Referral{}},
		{"lacnic's own resource", "whois.lacnic.net:43", "% LACNIC resource: whois.lacnic.net\n\ninetnum: 192.0.2.0/24\n", Referral{}},
		{"mexican resource", "whois.lacnic.net:43", "% Mexican resource: whois.nic.mx\n\ninetnum: 192.0.2.0/24\nowner: Ejemplo\n",
			Referral{Server: "whois.nic.mx:43", Detail: true}},
		{"twnic mirror", "whois.apnic.net:43", "inetnum: 192.0.2.0 - 192.0.2.255\nnetname: X\nsource: TWNIC\n",
			Referral{Server: "whois.twnic.net.tw:43", Detail: true}},
		// A JPNIC answer whose network has [Abuse] asks nothing more.
		{"jpnic with abuse", "whois.nic.ad.jp:43", "a. [Network Number] 192.0.2.0/26\n[Abuse] abuse@example.net\n\nLess Specific Info.\n----------\nX\n   [Allocation]   192.0.2.0/24\n",
			Referral{}},
		// Without it, the nearest enclosing allocation.
		{"jpnic nearest parent", "whois.nic.ad.jp:43", "a. [Network Number] 192.0.2.0/26\n\nLess Specific Info.\n----------\nX\n   [Allocation]   192.0.0.0/16\nY\n   [Allocation]   192.0.2.0/24\nZ\n   [Allocation]   198.51.100.0/24\n",
			Referral{Server: "whois.nic.ad.jp:43", Query: "192.0.2.0/24/e", Parent: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ref, err := Parse(tt.server, []byte(tt.answer), addr)
			if err != nil {
				t.Fatal(err)
			}
			if ref != tt.want {
				t.Errorf("referral %+v, want %+v", ref, tt.want)
			}
		})
	}
}
