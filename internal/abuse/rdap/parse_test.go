package rdap

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/abuse"
	"github.com/rampart-ids/rampart/internal/goldentest"
)

// answers are the recorded-format answers, the address each was asked for
// and the URL that gave it (as the real registries would).
var answers = []struct {
	file, addr, server string
}{
	{"arin.json", "192.0.2.10", "https://rdap.arin.net/registry/ip/192.0.2.10"},
	{"arin-noabuse.json", "198.51.100.130", "https://rdap.arin.net/registry/ip/198.51.100.130"},
	{"ripe.json", "192.0.2.70", "https://rdap.db.ripe.net/ip/192.0.2.70"},
	{"ripe-transfer.json", "198.51.100.70", "https://rdap.db.ripe.net/ip/198.51.100.70"},
	{"ripe-v6.json", "2001:db8:1234::1", "https://rdap.db.ripe.net/ip/2001:db8:1234::1"},
	{"apnic.json", "192.0.2.150", "https://rdap.apnic.net/ip/192.0.2.150"},
	{"lacnic.json", "192.0.2.200", "https://rdap.lacnic.net/rdap/ip/192.0.2.200"},
	{"afrinic.json", "198.51.100.20", "https://rdap.afrinic.net/rdap/ip/198.51.100.20"},
}

func TestParseGolden(t *testing.T) {
	for _, a := range answers {
		t.Run(a.file, func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "rir", a.file))
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse(netip.MustParseAddr(a.addr), body, a.server)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := json.MarshalIndent(c, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			goldentest.Check(t, filepath.Join("testdata", "golden", strings.TrimSuffix(a.file, ".json")+".json"), append(got, '\n'))
		})
	}
}

// network wraps entities and extra members into an ip network answer for
// 192.0.2.0/24.
func network(extra string) string {
	if extra != "" {
		extra = ", " + extra
	}
	return `{"objectClassName": "ip network", "handle": "NET-TEST", "name": "TEST-NET",
		"startAddress": "192.0.2.0", "endAddress": "192.0.2.255", "port43": "whois.ripe.net"` + extra + `}`
}

func abuseEntity(email string) string {
	return `{"objectClassName": "entity", "roles": ["abuse"], "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["email", {}, "text", "` + email + `"]]]}`
}

func TestParse(t *testing.T) {
	addr := netip.MustParseAddr("192.0.2.9")
	p := netip.MustParsePrefix
	tests := []struct {
		name, body string
		want       abuse.Contact
	}{
		{
			name: "cidr0 only",
			body: `{"objectClassName": "ip network", "name": "C", "port43": "whois.apnic.net",
				"cidr0_cidrs": [{"v4prefix": "192.0.2.0", "length": 25}, {"v4prefix": "192.0.2.128", "length": 26}]}`,
			want: abuse.Contact{Range: []netip.Prefix{p("192.0.2.0/25"), p("192.0.2.128/26")}, NetName: "C", Registry: "APNIC"},
		},
		{
			name: "unaligned range becomes its exact prefixes",
			body: `{"objectClassName": "ip network", "name": "U", "startAddress": "192.0.2.8", "endAddress": "192.0.2.23"}`,
			want: abuse.Contact{Range: []netip.Prefix{p("192.0.2.8/29"), p("192.0.2.16/29")}, NetName: "U", Registry: "rdap.example"},
		},
		{
			name: "start and end written as prefixes",
			body: `{"objectClassName": "ip network", "name": "P", "startAddress": "192.0.2.0/24", "endAddress": "192.0.2.0/24"}`,
			want: abuse.Contact{Range: []netip.Prefix{p("192.0.2.0/24")}, NetName: "P", Registry: "rdap.example"},
		},
		{
			name: "no range covers the address only",
			body: `{"objectClassName": "ip network", "handle": "H-1", "entities": [` + abuseEntity("a@example.org") + `]}`,
			want: abuse.Contact{Emails: []string{"a@example.org"}, NetName: "H-1", Registry: "rdap.example"},
		},
		{
			name: "mailto, case and duplicates",
			body: network(`"entities": [` + abuseEntity("mailto:Abuse@Example.ORG") + `, ` + abuseEntity("abuse@example.org") + `]`),
			want: abuse.Contact{Emails: []string{"abuse@example.org"}},
		},
		{
			name: "malformed property beside the email",
			body: network(`"entities": [{"roles": ["Abuse"], "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["kind", {}, "group"], ["email", {}, "text", "abuse@example.org"]]]}]`),
			want: abuse.Contact{Emails: []string{"abuse@example.org"}},
		},
		{
			name: "garbage emails dropped",
			body: network(`"entities": [` + abuseEntity("not an email") + `, ` + abuseEntity("x@localhost") + `, ` + abuseEntity("a@b@example.org") + `]`),
			want: abuse.Contact{},
		},
		{
			name: "placeholder email dropped",
			body: network(`"entities": [` + abuseEntity("search-apnic-not-arin@apnic.net") + `]`),
			want: abuse.Contact{},
		},
		{
			name: "abuse entity deeper than the bound is not found",
			body: network(`"entities": [` + strings.Repeat(`{"roles": ["registrant"], "entities": [`, maxEntityDepth) + abuseEntity("deep@example.org") + strings.Repeat(`]}`, maxEntityDepth) + `]`),
			want: abuse.Contact{},
		},
		{
			name: "closer abuse entity first",
			body: network(`"entities": [{"roles": ["registrant"], "entities": [` + abuseEntity("inner@example.org") + `]}, ` + abuseEntity("outer@example.org") + `]`),
			want: abuse.Contact{Emails: []string{"outer@example.org", "inner@example.org"}},
		},
		{
			name: "registrant org property when fn is empty",
			body: network(`"entities": [{"roles": ["registrant"], "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", ""], ["org", {}, "text", "Org Name"]]]}]`),
			want: abuse.Contact{Org: "Org Name"},
		},
		{
			name: "free text cleaned",
			body: `{"objectClassName": "ip network", "name": "A\u0000B\n  C", "country": "n1", "startAddress": "192.0.2.0", "endAddress": "192.0.2.255", "port43": "whois.example.net"}`,
			want: abuse.Contact{Range: []netip.Prefix{p("192.0.2.0/24")}, NetName: "A B C", Registry: "whois.example.net"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(addr, []byte(tt.body), "https://rdap.example/ip/192.0.2.9")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := tt.want
			want.Addr, want.Source, want.Server = addr, "rdap", "https://rdap.example/ip/192.0.2.9"
			if strings.Contains(tt.body, "TEST-NET") {
				want.Range, want.NetName, want.Registry = []netip.Prefix{p("192.0.2.0/24")}, "TEST-NET", "RIPE"
			}
			if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
				cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func TestParseNotManaged(t *testing.T) {
	body := `{"objectClassName": "ip network", "name": "NON-RIPE-NCC-MANAGED-ADDRESS-BLOCK", "startAddress": "192.0.0.0", "endAddress": "192.0.255.255",
		"entities": [` + abuseEntity("abuse@ripe.net") + `]}`
	c, err := Parse(netip.MustParseAddr("192.0.2.1"), []byte(body), "https://rdap.db.ripe.net/ip/192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Found() || c.Registry != "RIPE" {
		t.Errorf("got emails %v, registry %q; want no emails (the registry's own) and RIPE", c.Emails, c.Registry)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"empty", "  \n", "empty answer"},
		{"html", "<html><body>down</body></html>", `answer is not JSON (starts with "<html><body>down</body></html>")`},
		{"truncated", `{"objectClassName": "ip network", "name": "X"`, "answer is not RDAP JSON"},
		{"error object", `{"errorCode": 400, "title": "Bad Request", "description": ["Invalid IP."]}`, `error answer 400: "Bad Request Invalid IP."`},
		{"entity", `{"objectClassName": "entity", "handle": "E"}`, "answer is an RDAP Entity object, not an ip network"},
		{"unknown class", `{"objectClassName": "banana"}`, "answer is not RDAP JSON: objectClassName is not recognised"},
		{"help", `{"rdapConformance": ["rdap_level_0"]}`, "answer is an RDAP Help object, not an ip network"},
		{"other network", `{"objectClassName": "ip network", "startAddress": "198.51.100.0", "endAddress": "198.51.100.255"}`,
			"network 198.51.100.0 - 198.51.100.255 does not contain 192.0.2.9"},
		{"reversed range", `{"objectClassName": "ip network", "startAddress": "192.0.2.255", "endAddress": "192.0.2.0"}`,
			`network range "192.0.2.255 - 192.0.2.0" is not a range`},
		{"mixed families", `{"objectClassName": "ip network", "startAddress": "192.0.2.0", "endAddress": "2001:db8::"}`, "is not a range"},
		{"bad start", `{"objectClassName": "ip network", "startAddress": "192.0.2", "endAddress": "192.0.2.255"}`,
			`network range "192.0.2" - "192.0.2.255" is not a range`},
		{"cidr0 bad length", `{"objectClassName": "ip network", "cidr0_cidrs": [{"v4prefix": "192.0.2.0", "length": 33}]}`,
			"cidr0_cidrs entry"},
		{"cidr0 not a list", `{"objectClassName": "ip network", "cidr0_cidrs": {"v4prefix": "192.0.2.0"}}`, "cidr0_cidrs is not an array"},
		{"cidr0 elsewhere", `{"objectClassName": "ip network", "cidr0_cidrs": [{"v4prefix": "10.0.0.0", "length": 8}]}`, "does not contain 192.0.2.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(netip.MustParseAddr("192.0.2.9"), []byte(tt.body), "https://rdap.example/ip/192.0.2.9")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestRegistryName(t *testing.T) {
	tests := []struct{ port43, server, want string }{
		{"whois.arin.net", "https://127.0.0.1:1/x", "ARIN"},
		{"WHOIS.RIPE.NET.", "", "RIPE"},
		{"", "https://rdap.apnic.net/ip/1.2.3.4", "APNIC"},
		{"", "https://rdap.lacnic.net/rdap/ip/1.2.3.4", "LACNIC"},
		{"whois.afrinic.net", "", "AFRINIC"},
		{"whois.nic.ad.jp", "", "JPNIC"},
		{"whois.kisa.or.kr", "", "KRNIC"},
		{"whois.twnic.net.tw", "", "TWNIC"},
		{"whois.cnnic.cn", "", "CNNIC"},
		{"whois.registro.br", "", "NIC.BR"},
		{"", "https://rdap.registro.br/ip/1.2.3.4", "NIC.BR"},
		{"whois.notarin.net", "", "whois.notarin.net"},
		{"", "https://rdap.example/ip/1.2.3.4", "rdap.example"},
	}
	for _, tt := range tests {
		if got := registryName(tt.port43, tt.server); got != tt.want {
			t.Errorf("registryName(%q, %q) = %q, want %q", tt.port43, tt.server, got, tt.want)
		}
	}
}

// FuzzParse feeds arbitrary answers: Parse must not panic, and what it
// accepts must be about the address asked for.
func FuzzParse(f *testing.F) {
	for _, a := range answers {
		b, err := os.ReadFile(filepath.Join("testdata", "rir", a.file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(a.addr, b)
	}
	f.Add("192.0.2.9", []byte(network(`"entities": [`+abuseEntity("a@example.org")+`]`)))
	f.Fuzz(func(t *testing.T, addr string, body []byte) {
		a, err := netip.ParseAddr(addr)
		if err != nil || a.Zone() != "" {
			return
		}
		c, err := Parse(a, body, "https://rdap.example/ip/x")
		if err != nil {
			return
		}
		if c.Addr != a.Unmap() || c.Source != "rdap" {
			t.Fatalf("contact for %v, source %q", c.Addr, c.Source)
		}
		if len(c.Range) > 0 {
			in := false
			for _, p := range c.Range {
				in = in || p.Contains(c.Addr)
			}
			if !in {
				t.Fatalf("range %v does not contain %v", c.Range, c.Addr)
			}
		}
		for _, m := range c.Emails {
			if m != strings.ToLower(m) || !strings.Contains(m, "@") {
				t.Fatalf("email %q", m)
			}
		}
	})
}
