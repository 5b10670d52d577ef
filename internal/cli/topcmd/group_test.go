package topcmd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/geoip/geoiptest"
	"github.com/rampart-ids/rampart/internal/goldentest"
)

var nets = []geoiptest.Network{
	{CIDR: "203.0.113.0/24", ASN: 4134, Org: "CHINANET-BACKBONE", Country: "CN", CountryName: "China"},
	{CIDR: "198.51.100.0/24", ASN: 64500, Org: "Example Transit", Country: "DE", CountryName: "Germany"},
	{CIDR: "2001:db8:4::/48", ASN: 4134, Org: "CHINANET-BACKBONE", Country: "CN", CountryName: "China"},
}

// runTop runs the top command in process with a config file holding cfg.
func runTop(t *testing.T, cfg string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "rampart.toml")
	cfg = strings.ReplaceAll(cfg, "$DIR", dir)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	geoiptest.Write(t, dir, "asn.mmdb", geoiptest.TypeASN, nets)
	geoiptest.Write(t, dir, "country.mmdb", geoiptest.TypeCountry, nets)
	geoiptest.Write(t, dir, "ipinfo.mmdb", geoiptest.TypeIPinfo, nets)
	os.WriteFile(filepath.Join(dir, "text.mmdb"), []byte("not a database\n"), 0o600)
	var out, errb bytes.Buffer
	f := &cmdutil.Factory{Out: &out, Err: &errb, ConfigPath: cfgPath, StorePath: filepath.Join(dir, "store.db"),
		Now: func() time.Time { return time.Date(2023, 11, 15, 0, 0, 0, 0, time.UTC) }, Getenv: func(string) string { return "" }}
	defer f.Close()
	cmd := New(f)
	cmd.SetArgs(append([]string{"--alerts", "testdata/alerts.log"}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err = cmd.ExecuteContext(t.Context())
	return out.String(), errb.String(), err
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	goldentest.Check(t, path, []byte(got))
}

func TestTopByGroup(t *testing.T) {
	const both = "geoip_asn = \"$DIR/asn.mmdb\"\ngeoip_country = \"$DIR/country.mmdb\"\n"
	tests := []struct {
		name string
		cfg  string
		args []string
	}{
		{"asn.json", both, []string{"--by", "asn", "--format", "json"}},
		{"asn.table", both, []string{"--by", "asn"}},
		{"asn-min.csv", both, []string{"--by", "asn", "--format", "csv", "--min", "2"}},
		{"country.json", both, []string{"--by", "country", "--format", "json", "--scope", "all"}},
		{"country-limit.csv", both, []string{"--by", "country", "--format", "csv", "--limit", "1"}},
		// IPinfo lite as the only file answers both.
		{"ipinfo-asn.json", "geoip_asn = \"$DIR/ipinfo.mmdb\"\n", []string{"--by", "asn", "--format", "json"}},
		{"ipinfo-country.csv", "geoip_asn = \"$DIR/ipinfo.mmdb\"\n", []string{"--by", "country", "--format", "csv"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, err := runTop(t, tt.cfg, tt.args...)
			if err != nil || stderr != "" {
				t.Fatalf("top: %v; stderr: %s", err, stderr)
			}
			golden(t, "top-by-"+tt.name, out)
		})
	}
}

func TestTopByErrors(t *testing.T) {
	tests := []struct {
		name  string
		cfg   string
		args  []string
		want  []string
		usage bool
	}{
		{"no asn db", "", []string{"--by", "asn"}, []string{"--by asn needs", "set geoip_asn in ", "rampart.toml"}, false},
		{"no country db", "geoip_asn = \"$DIR/asn.mmdb\"\n", []string{"--by", "country"}, []string{"--by country needs", "geoip_country", "geoip_city"}, false},
		{"not an mmdb", "geoip_asn = \"$DIR/text.mmdb\"\n", []string{"--by", "asn"}, []string{"text.mmdb", "not a readable MaxMind DB"}, false},
		{"wrong type", "geoip_asn = \"$DIR/country.mmdb\"\n", []string{"--by", "asn"}, []string{"country.mmdb", "GeoLite2-Country", "no ASN data"}, false},
		{"bad by", "", []string{"--by", "city"}, []string{`invalid --by "city"`, "ip, prefix, asn or country"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := runTop(t, tt.cfg, tt.args...)
			if err == nil {
				t.Fatalf("no error; stdout:\n%s", out)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if cmdutil.IsUsage(err) != tt.usage {
				t.Errorf("IsUsage = %v, want %v", cmdutil.IsUsage(err), tt.usage)
			}
			if out != "" {
				t.Errorf("stdout on error: %s", out)
			}
		})
	}
}
