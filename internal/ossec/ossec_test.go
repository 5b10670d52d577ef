package ossec

import (
	"net/netip"
	"testing"
)

func TestParseLocation(t *testing.T) {
	tests := []struct {
		in   string
		want Location
	}{
		{"web1->/var/log/auth.log", Location{Manager: "web1", Source: "/var/log/auth.log"}},
		{"(fe02) 198.51.100.20->/var/log/secure", Location{Agent: "fe02", AgentIP: "198.51.100.20", Source: "/var/log/secure"}},
		{"(fe03) any->/var/log/secure", Location{Agent: "fe03", AgentIP: "any", Source: "/var/log/secure"}},
		{"(fe04) 192.0.2.0/24->/var/log/secure", Location{Agent: "fe04", AgentIP: "192.0.2.0/24", Source: "/var/log/secure"}},
		{"(fe02) 198.51.100.20->df -h", Location{Agent: "fe02", AgentIP: "198.51.100.20", Source: "df -h"}},
		{"web1->syscheck", Location{Manager: "web1", Source: "syscheck"}},
		{"web1->(ssh_integrity_check_linux) root@192.0.2.9->syscheck", Location{Manager: "web1", Agent: "(ssh_integrity_check_linux) root@192.0.2.9", Source: "syscheck"}},
		{"/var/log/messages", Location{Source: "/var/log/messages"}},
		{"(broken", Location{Source: "(broken"}},
		{"", Location{}},
	}
	for _, tt := range tests {
		got := ParseLocation(tt.in)
		tt.want.Raw = tt.in
		if got != tt.want {
			t.Errorf("ParseLocation(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("ParseLocation(%q).String() = %q", tt.in, got.String())
		}
	}
}

func TestParseAddr(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" = no address
	}{
		{"203.0.113.45", "203.0.113.45"},
		{" 203.0.113.45 ", "203.0.113.45"},
		{"::ffff:203.0.113.45", "203.0.113.45"},
		{"2001:db8:4:2::17", "2001:db8:4:2::17"},
		{"[2001:db8::1]", "2001:db8::1"},
		{"fe80::1%eth0", "fe80::1"},
		{"", ""}, {"(null)", ""}, {"NULL", ""}, {"(none)", ""}, {"0", ""},
		{"0.0.0.0", ""}, {"::", ""}, {"host.example.org", ""}, {"10.40.0.", ""},
	}
	for _, tt := range tests {
		got, ok := ParseAddr(tt.in)
		if tt.want == "" {
			if ok {
				t.Errorf("ParseAddr(%q) = %v, want no address", tt.in, got)
			}
			continue
		}
		if !ok || got != netip.MustParseAddr(tt.want) {
			t.Errorf("ParseAddr(%q) = %v, %v; want %s", tt.in, got, ok, tt.want)
		}
	}
	for _, s := range MissingAddrSpellings {
		if _, ok := ParseAddr(s); ok {
			t.Errorf("missing spelling %q parsed as an address", s)
		}
	}
}

func TestID(t *testing.T) {
	id, err := ParseID("1700000000.48213")
	if err != nil || id != (ID{1700000000, 48213}) || id.String() != "1700000000.48213" {
		t.Fatalf("ParseID = %+v, %v", id, err)
	}
	for _, bad := range []string{"", ".", "1.", ".1", "a.b", "1700000000", "-1.2", "1.2.3"} {
		if _, err := ParseID(bad); err == nil {
			t.Errorf("ParseID(%q) succeeded", bad)
		}
	}
	if got := TimeFromID(id).Unix(); got != 1700000000 {
		t.Errorf("TimeFromID = %d", got)
	}
}

func TestAddrFromUint32(t *testing.T) {
	if a, ok := AddrFromUint32(3405803777); !ok || a.String() != "203.0.113.1" {
		t.Errorf("AddrFromUint32 = %v %v", a, ok)
	}
	if _, ok := AddrFromUint32(0); ok {
		t.Error("AddrFromUint32(0) is an address")
	}
}

func TestSanitizeDB(t *testing.T) {
	tests := map[string]string{
		"plain":         "plain",
		"it's":          "it`s",
		`a\b`:           "a/b",
		"tab\there":     "tab here",
		"é":             "  ",
		"two\nlines":    "two\nlines",
		`trailing\`:     "trailing",
		"CR\r\nnewline": "CR \nnewline",
	}
	for in, want := range tests {
		if got := SanitizeDB(in); got != want {
			t.Errorf("SanitizeDB(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKeyIgnoresSanitising(t *testing.T) {
	a := Alert{ID: ID{1700000000, 1}, RuleID: 5712, Location: ParseLocation("web1->/var/log/caf\u00e9's.log")}
	b := a
	b.Location = ParseLocation(SanitizeDB(a.Location.Raw))
	if a.Key() != b.Key() {
		t.Error("file and database copies of one alert have different keys")
	}
	c := a
	c.RuleID = 5710
	if a.Key() == c.Key() {
		t.Error("different rules share a key")
	}
}
