package ipcmd

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/geoip/geoiptest"
)

var nets = []geoiptest.Network{
	{CIDR: "203.0.113.0/24", ASN: 4134, Org: "CHINANET-BACKBONE", Country: "CN", CountryName: "China"},
	{CIDR: "2001:db8:4::/48", ASN: 64501, Org: "Example v6", Country: "BR", CountryName: "Brazil"},
	{CIDR: "198.51.100.0/24", Country: "DE", CountryName: "Germany"},
}

func runIP(t *testing.T, cfg string, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	geoiptest.Write(t, dir, "asn.mmdb", geoiptest.TypeASN, nets)
	geoiptest.Write(t, dir, "country.mmdb", geoiptest.TypeCountry, nets)
	os.WriteFile(filepath.Join(dir, "text.mmdb"), []byte("** Alert\n"), 0o600)
	cfgPath := filepath.Join(dir, "rampart.toml")
	if err := os.WriteFile(cfgPath, []byte(strings.ReplaceAll(cfg, "$DIR", dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	f := &cmdutil.Factory{Out: &out, Err: &errb, ConfigPath: cfgPath, StorePath: filepath.Join(dir, "store.db"),
		Now: func() time.Time { return time.Date(2023, 11, 15, 0, 0, 0, 0, time.UTC) }, Getenv: func(string) string { return "" }}
	defer f.Close()
	cmd := New(f)
	cmd.SetArgs(append([]string{"--alerts", "testdata/alerts.log"}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.ExecuteContext(t.Context())
	return out.String(), err
}

func TestGeoJSON(t *testing.T) {
	const both = "geoip_asn = \"$DIR/asn.mmdb\"\ngeoip_country = \"$DIR/country.mmdb\"\n"
	type geo struct {
		IP          string `json:"ip"`
		Count       int64  `json:"count"`
		ASN         uint32 `json:"asn"`
		Org         string `json:"org"`
		Country     string `json:"country"`
		CountryName string `json:"country_name"`
	}
	tests := []struct {
		name, cfg, addr string
		want            geo
		absent          []string // JSON keys that must be left out
	}{
		{"v4", both, "203.0.113.45", geo{"203.0.113.45", 2, 4134, "CHINANET-BACKBONE", "CN", "China"}, nil},
		{"mapped", both, "::ffff:203.0.113.45", geo{"203.0.113.45", 2, 4134, "CHINANET-BACKBONE", "CN", "China"}, nil},
		{"v6", both, "2001:db8:4:2::17", geo{"2001:db8:4:2::17", 1, 64501, "Example v6", "BR", "Brazil"}, nil},
		{"country only known", both, "198.51.100.20", geo{IP: "198.51.100.20", Count: 1, Country: "DE", CountryName: "Germany"}, []string{"asn", "org"}},
		{"unknown", both, "100.51.100.20", geo{IP: "100.51.100.20", Count: 1}, []string{"asn", "org", "country"}},
		{"not configured", "", "203.0.113.45", geo{IP: "203.0.113.45", Count: 2}, []string{"asn", "org", "country"}},
		{"no alerts", both, "203.0.113.200", geo{"203.0.113.200", 0, 4134, "CHINANET-BACKBONE", "CN", "China"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runIP(t, tt.cfg, tt.addr, "--format", "json")
			if err != nil {
				t.Fatal(err)
			}
			var got geo
			var keys map[string]json.RawMessage
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v in:\n%s", err, out)
			}
			json.Unmarshal([]byte(out), &keys)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ip (-want +got):\n%s", diff)
			}
			for _, k := range tt.absent {
				if _, ok := keys[k]; ok {
					t.Errorf("key %q present: %s", k, keys[k])
				}
			}
		})
	}
}

func TestGeoText(t *testing.T) {
	cfg := "geoip_asn = \"$DIR/asn.mmdb\"\ngeoip_country = \"$DIR/country.mmdb\"\n"
	out, err := runIP(t, cfg, "203.0.113.45")
	if err != nil {
		t.Fatal(err)
	}
	want := "203.0.113.45: 2 alerts, first seen 2023-11-14T22:13:20Z, last seen 2023-11-14T22:13:30Z\n" +
		"  network: AS4134 CHINANET-BACKBONE\n  country: CN (China)\n\nBy rule\n"
	if !strings.HasPrefix(out, want) {
		t.Errorf("text starts:\n%s\nwant:\n%s", out[:min(len(out), len(want)+40)], want)
	}
	out, err = runIP(t, "", "203.0.113.45")
	if err != nil || strings.Contains(out, "network:") || strings.Contains(out, "country:") {
		t.Errorf("without databases: %v\n%s", err, out)
	}
	out, err = runIP(t, cfg, "203.0.113.200")
	if err != nil || out != "203.0.113.200: no alerts\n  network: AS4134 CHINANET-BACKBONE\n  country: CN (China)\n" {
		t.Errorf("no alerts: %v\n%s", err, out)
	}
}

func TestGeoErrors(t *testing.T) {
	tests := []struct{ name, cfg, want string }{
		{"not an mmdb", "geoip_city = \"$DIR/text.mmdb\"\n", "text.mmdb\": not a readable MaxMind DB"},
		{"asn file as country", "geoip_country = \"$DIR/asn.mmdb\"\n", "asn.mmdb\": type \"GeoLite2-ASN\" has no country data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runIP(t, tt.cfg, "203.0.113.45")
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "rampart.toml") {
				t.Errorf("error = %v, want it to contain %q and the config file", err, tt.want)
			}
			if out != "" {
				t.Errorf("stdout on error: %s", out)
			}
		})
	}
}
