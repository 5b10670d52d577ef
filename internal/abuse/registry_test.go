package abuse

import "testing"

func TestRegistryOf(t *testing.T) {
	tests := []struct{ host, want string }{
		{"whois.arin.net", "ARIN"},
		{"WHOIS.RIPE.NET.", "RIPE"},
		{" rdap.apnic.net ", "APNIC"},
		{"whois.iana.org", "IANA"},
		{"rdap.jpnic.net", "JPNIC"},
		{"whois.nic.ad.jp", "JPNIC"},
		{"whois.krnic.net", "KRNIC"},
		{"rdap.twnic.tw", "TWNIC"},
		{"rdap.registro.br", "NIC.BR"},
		{"ripe.net", "RIPE"},
		{"notripe.net", ""},
		{"whois.example", ""},
		{"", ""},
		{".", ""},
	}
	for _, tt := range tests {
		if got := RegistryOf(tt.host); got != tt.want {
			t.Errorf("RegistryOf(%q) = %q, want %q", tt.host, got, tt.want)
		}
	}
}

func TestOtherRegistry(t *testing.T) {
	tests := []struct {
		netname string
		want    bool
	}{
		{"NON-RIPE-NCC-MANAGED-ADDRESS-BLOCK", true},
		{"erx-netblock", true},
		{"IANA-NETBLOCK-8", true},
		{"IANA-BLK", true},
		{"IANA-BLOCK", true},
		{"EXAMPLE-NET", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := OtherRegistry(tt.netname); got != tt.want {
			t.Errorf("OtherRegistry(%q) = %v, want %v", tt.netname, got, tt.want)
		}
	}
}

func TestPlaceholderEmail(t *testing.T) {
	for m, want := range map[string]bool{
		"search-apnic-not-arin@apnic.net": true,
		"helpdesk@apnic.net":              true,
		"abuse@lacnic.net":                true,
		"abuse@example.net":               false,
	} {
		if got := PlaceholderEmail(m); got != want {
			t.Errorf("PlaceholderEmail(%q) = %v, want %v", m, got, want)
		}
	}
}

func TestNormalEmail(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{" Abuse@Example.NET ", "abuse@example.net", true},
		{"MAILTO:abuse@example.net", "abuse@example.net", true},
		{"abuse@example", "", false},
		{"@example.net", "", false},
		{"a@b@example.net", "", false},
		{"abuse@.example.net", "", false},
		{"abuse@example.net.", "", false},
		{"abuse@example..net", "", false},
		{"ab use@example.net", "", false},
		{"abuse@exa<mple.net", "", false},
		{"abuse@exa\x01mple.net", "", false},
	}
	for _, tt := range tests {
		got, ok := NormalEmail(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("NormalEmail(%q) = %q, %v, want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCleanField(t *testing.T) {
	long := make([]rune, 250)
	for i := range long {
		long[i] = 'é'
	}
	tests := []struct{ in, want string }{
		{"  Example\tNet\r\nLtd  ", "Example Net Ltd"},
		{"a\x00b", "a b"},
		{string(long), string(long[:200]) + "..."},
	}
	for _, tt := range tests {
		if got := CleanField(tt.in); got != tt.want {
			t.Errorf("CleanField(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCountryCode(t *testing.T) {
	for in, want := range map[string]string{" de ": "DE", "US": "US", "USA": "", "D1": "", "": ""} {
		if got := CountryCode(in); got != want {
			t.Errorf("CountryCode(%q) = %q, want %q", in, got, want)
		}
	}
}
