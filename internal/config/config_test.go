package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rampart-ids/rampart/internal/ipclass"
)

func TestDefaultsRoundTrip(t *testing.T) {
	c, err := Parse("defaults", Marshal(Defaults()))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.LocalNetworks, ipclass.DefaultLocalNetworks()) {
		t.Errorf("LocalNetworks = %v", c.LocalNetworks)
	}
}

func TestParse(t *testing.T) {
	c, err := Parse("x.toml", []byte(`local_networks = ["10.40.0.0/24", "192.168.0.0/24"]`+"\nstore = \"/tmp/r.db\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.LocalNetworks) != 2 || c.LocalNetworks[0].String() != "10.40.0.0/24" || c.Store != "/tmp/r.db" {
		t.Errorf("Parse = %+v", c)
	}
	c, err = Parse("x.toml", []byte("local_networks = []\n"))
	if err != nil || len(c.LocalNetworks) != 0 {
		t.Errorf("empty list: %+v, %v", c, err)
	}
}

func TestParseErrors(t *testing.T) {
	tests := map[string]string{
		"local_network = []\n":              "unknown key(s): local_network",
		"local_networks = [\"10.40.0.\"]\n": `local_networks[0]: invalid network "10.40.0."`,
		"local_networks = 3\n":              "x.toml",
	}
	for in, want := range tests {
		_, err := Parse("x.toml", []byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) error = %v, want it to contain %q", in, err, want)
		}
	}
}

func TestLoad(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing.toml")); err == nil {
		t.Error("explicit missing file: no error")
	}
	p := filepath.Join(t.TempDir(), "r.toml")
	os.WriteFile(p, []byte("store = \"s.db\"\n"), 0o600)
	c, err := Load(p)
	if err != nil || c.Store != "s.db" || len(c.LocalNetworks) == 0 {
		t.Errorf("Load = %+v, %v", c, err)
	}
}

func TestAllowlist(t *testing.T) {
	c, err := Parse("x.toml", []byte(`allowlist = ["192.0.2.10", "198.51.100.0/24"]`+"\n"))
	if err != nil || len(c.Allowlist) != 2 || c.Allowlist[0].String() != "192.0.2.10/32" {
		t.Fatalf("Parse = %+v, %v", c, err)
	}
	again, err := Parse("again", Marshal(c))
	if err != nil || !slices.Equal(again.Allowlist, c.Allowlist) {
		t.Errorf("round trip = %+v, %v", again.Allowlist, err)
	}
	if _, err := Parse("x.toml", []byte(`allowlist = ["bad"]`)); err == nil || !strings.Contains(err.Error(), "allowlist[0]") {
		t.Errorf("bad allowlist: %v", err)
	}
}

func TestManagementNetworks(t *testing.T) {
	c, err := Parse("x.toml", []byte(`management_networks = ["192.0.2.0/28", "2001:db8:aa::/48", "198.51.100.9"]`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"192.0.2.0/28", "2001:db8:aa::/48", "198.51.100.9/32"}
	var got []string
	for _, p := range c.ManagementNetworks {
		got = append(got, p.String())
	}
	if !slices.Equal(got, want) || len(c.Allowlist) != 0 {
		t.Fatalf("ManagementNetworks = %v, want %v (allowlist %v)", got, want, c.Allowlist)
	}
	again, err := Parse("again", Marshal(c))
	if err != nil || !slices.Equal(again.ManagementNetworks, c.ManagementNetworks) {
		t.Errorf("round trip = %v, %v", again.ManagementNetworks, err)
	}
	if d := Defaults(); len(d.ManagementNetworks) != 0 {
		t.Errorf("default management networks = %v", d.ManagementNetworks)
	}
	if _, err := Parse("x.toml", []byte(`management_networks = ["10.0.0.0/8", "10.1.2.300"]`)); err == nil || !strings.Contains(err.Error(), "management_networks[1]") {
		t.Errorf("bad management network: %v", err)
	}
}

func TestGeoIP(t *testing.T) {
	tests := []struct {
		name, in     string
		asn, country string
		city         string
		err          string
	}{
		{name: "unset", in: ""},
		{name: "all", in: "geoip_asn = \"/var/lib/GeoIP/GeoLite2-ASN.mmdb\"\ngeoip_country = \"/var/lib/GeoIP/GeoLite2-Country.mmdb\"\ngeoip_city = \"/srv/city.mmdb\"\n",
			asn: "/var/lib/GeoIP/GeoLite2-ASN.mmdb", country: "/var/lib/GeoIP/GeoLite2-Country.mmdb", city: "/srv/city.mmdb"},
		{name: "empty is unset", in: "geoip_asn = \"\"\n"},
		{name: "relative", in: "geoip_country = \"GeoLite2-Country.mmdb\"\n", err: `config x.toml: geoip_country "GeoLite2-Country.mmdb": path is not absolute`},
		{name: "control", in: "geoip_city = \"/srv/a\\nb\"\n", err: `geoip_city "/srv/a\nb": path contains a control character`},
		{name: "not a string", in: "geoip_asn = 3\n", err: "x.toml"},
		{name: "typo", in: "geoip_asns = \"/a\"\n", err: "unknown key(s): geoip_asns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("x.toml", []byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.GeoIPASN != tt.asn || c.GeoIPCountry != tt.country || c.GeoIPCity != tt.city {
				t.Errorf("geoip = %q %q %q, want %q %q %q", c.GeoIPASN, c.GeoIPCountry, c.GeoIPCity, tt.asn, tt.country, tt.city)
			}
			again, err := Parse("again", Marshal(c))
			if err != nil || again.GeoIPASN != c.GeoIPASN || again.GeoIPCountry != c.GeoIPCountry || again.GeoIPCity != c.GeoIPCity {
				t.Errorf("round trip = %+v, %v", again, err)
			}
		})
	}
}

func TestOssecDir(t *testing.T) {
	tests := []struct {
		name, in, want, err string
	}{
		{name: "default", in: "", want: DefaultOssecDir},
		{name: "set", in: "ossec_dir = \"/opt/ossec/\"\n", want: "/opt/ossec"},
		{name: "empty", in: "ossec_dir = \"\"\n", err: "ossec_dir: empty"},
		{name: "relative", in: "ossec_dir = \"ossec\"\n", err: `ossec_dir "ossec": path is not absolute`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("x.toml", []byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.OssecDir != tt.want || c.OssecConf() != tt.want+"/etc/ossec.conf" || c.OssecRules() != tt.want+"/rules" {
				t.Errorf("ossec_dir = %q (%s, %s), want %q", c.OssecDir, c.OssecConf(), c.OssecRules(), tt.want)
			}
			again, err := Parse("again", Marshal(c))
			if err != nil || again.OssecDir != c.OssecDir {
				t.Errorf("round trip = %q, %v", again.OssecDir, err)
			}
		})
	}
}
