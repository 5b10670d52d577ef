package geoip_test

import (
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/geoip"
	"github.com/rampart-ids/rampart/internal/geoip/geoiptest"
)

var nets = []geoiptest.Network{
	{CIDR: "203.0.113.0/24", ASN: 4134, Org: "CHINANET-BACKBONE", Country: "CN", CountryName: "China", City: "Nanjing"},
	{CIDR: "198.51.100.0/25", ASN: 64500, Org: "Example Transit", Country: "DE", CountryName: "Germany"},
	{CIDR: "2001:db8:4::/48", ASN: 64501, Org: "Example v6", Country: "BR", CountryName: "Brazil", City: "São Paulo"},
	{CIDR: "192.0.2.0/24", ASN: 13335, Org: "CLOUDFLARENET", Country: "US", CountryName: "United States", Registered: true},
}

func TestLookup(t *testing.T) {
	dir := t.TempDir()
	asn := geoiptest.Write(t, dir, "asn.mmdb", geoiptest.TypeASN, nets)
	dbipASN := geoiptest.Write(t, dir, "dbip-asn.mmdb", geoiptest.TypeDBIPASN, nets)
	country := geoiptest.Write(t, dir, "country.mmdb", geoiptest.TypeCountry, nets)
	city := geoiptest.Write(t, dir, "city.mmdb", geoiptest.TypeCity, nets)
	ipinfo := geoiptest.Write(t, dir, "ipinfo.mmdb", geoiptest.TypeIPinfo, nets)

	cn := geoip.Info{ASN: 4134, Org: "CHINANET-BACKBONE", Country: "CN", CountryName: "China"}
	br := geoip.Info{ASN: 64501, Org: "Example v6", Country: "BR", CountryName: "Brazil"}
	tests := []struct {
		name             string
		opts             geoip.Options
		hasASN, hasCntry bool
		addr             string
		want             geoip.Info
	}{
		{"asn+country v4", geoip.Options{ASN: asn, Country: country}, true, true, "203.0.113.77", cn},
		{"mapped", geoip.Options{ASN: asn, Country: country}, true, true, "::ffff:203.0.113.77", cn},
		{"v6", geoip.Options{ASN: asn, Country: country}, true, true, "2001:db8:4:2::17", br},
		{"v6 zone", geoip.Options{ASN: asn, Country: country}, true, true, "2001:db8:4:2::17%eth0", br},
		{"edge of /25", geoip.Options{ASN: asn, Country: country}, true, true, "198.51.100.127", geoip.Info{ASN: 64500, Org: "Example Transit", Country: "DE", CountryName: "Germany"}},
		{"outside /25", geoip.Options{ASN: asn, Country: country}, true, true, "198.51.100.128", geoip.Info{}},
		{"unknown", geoip.Options{ASN: asn, Country: country}, true, true, "100.64.0.1", geoip.Info{}},
		{"registered country", geoip.Options{Country: country}, false, true, "192.0.2.1", geoip.Info{Country: "US", CountryName: "United States"}},
		{"asn only", geoip.Options{ASN: asn}, true, false, "203.0.113.1", geoip.Info{ASN: 4134, Org: "CHINANET-BACKBONE"}},
		{"dbip asn", geoip.Options{ASN: dbipASN}, true, false, "203.0.113.1", geoip.Info{ASN: 4134, Org: "CHINANET-BACKBONE"}},
		{"city", geoip.Options{City: city}, false, true, "2001:db8:4::1", geoip.Info{Country: "BR", CountryName: "Brazil", City: "São Paulo"}},
		{"all three", geoip.Options{ASN: asn, Country: country, City: city}, true, true, "203.0.113.9", geoip.Info{ASN: 4134, Org: "CHINANET-BACKBONE", Country: "CN", CountryName: "China", City: "Nanjing"}},
		{"ipinfo as asn", geoip.Options{ASN: ipinfo}, true, true, "203.0.113.9", cn},
		{"ipinfo as country", geoip.Options{Country: ipinfo}, true, true, "::ffff:2001:db8:4::1", geoip.Info{}},
		{"ipinfo v6", geoip.Options{Country: ipinfo}, true, true, "2001:db8:4::1", br},
		{"none", geoip.Options{}, false, false, "203.0.113.9", geoip.Info{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := geoip.Open(tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if a, c := db.Has(); a != tt.hasASN || c != tt.hasCntry {
				t.Errorf("Has() = %v, %v, want %v, %v", a, c, tt.hasASN, tt.hasCntry)
			}
			addr, err := netip.ParseAddr(tt.addr)
			if err != nil {
				// "::ffff:2001:..." is not an address: check the
				// zero Addr answers nothing.
				addr = netip.Addr{}
			}
			if diff := cmp.Diff(tt.want, db.Lookup(addr)); diff != "" {
				t.Errorf("Lookup(%s) (-want +got):\n%s", tt.addr, diff)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	asn := geoiptest.Write(t, dir, "asn.mmdb", geoiptest.TypeASN, nets)
	country := geoiptest.Write(t, dir, "country.mmdb", geoiptest.TypeCountry, nets)
	other := geoiptest.Write(t, dir, "anon.mmdb", "GeoIP2-Anonymous-IP", nil)
	text := filepath.Join(dir, "alerts.log")
	if err := os.WriteFile(text, []byte("** Alert 1.1: - syslog\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.mmdb")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts geoip.Options
		want []string // substrings of the error
	}{
		{"text file", geoip.Options{ASN: text}, []string{`"` + text + `"`, "not a readable MaxMind DB"}},
		{"empty file", geoip.Options{Country: empty}, []string{`"` + empty + `"`, "MaxMind DB"}},
		{"missing", geoip.Options{City: filepath.Join(dir, "nope.mmdb")}, []string{"nope.mmdb", "no such file"}},
		{"country as asn", geoip.Options{ASN: country}, []string{`"` + country + `"`, `"GeoLite2-Country"`, "no ASN data"}},
		{"asn as country", geoip.Options{ASN: asn, Country: asn}, []string{`"` + asn + `"`, "no country data"}},
		{"country as city", geoip.Options{City: country}, []string{"no city data"}},
		{"unknown type", geoip.Options{Country: other}, []string{`"GeoIP2-Anonymous-IP"`, "unknown database type", "anon.mmdb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := geoip.Open(tt.opts)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestNilAndClosed(t *testing.T) {
	var db *geoip.DB
	if got := db.Lookup(netip.MustParseAddr("203.0.113.1")); got != (geoip.Info{}) {
		t.Errorf("nil Lookup = %+v", got)
	}
	if err := db.Close(); err != nil {
		t.Errorf("nil Close = %v", err)
	}
	d, err := geoip.Open(geoip.Options{ASN: geoiptest.Write(t, t.TempDir(), "a.mmdb", geoiptest.TypeASN, nets)})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if got := d.Lookup(netip.MustParseAddr("203.0.113.1")); got != (geoip.Info{}) {
		t.Errorf("Lookup after Close = %+v", got)
	}
}

// FuzzOpen feeds arbitrary bytes as a database file: Open and Lookup must
// fail cleanly, never panic.
func FuzzOpen(f *testing.F) {
	dir := f.TempDir()
	for _, typ := range []string{geoiptest.TypeASN, geoiptest.TypeCity, geoiptest.TypeIPinfo} {
		data, err := os.ReadFile(geoiptest.Write(f, dir, "seed.mmdb", typ, nets))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("not a database"))
	addrs := []netip.Addr{netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("2001:db8:4::1"), netip.MustParseAddr("198.51.100.1")}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "f.mmdb")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := geoip.Open(geoip.Options{City: path})
		if err != nil {
			return
		}
		defer db.Close()
		for _, a := range addrs {
			db.Lookup(a)
		}
	})
}

func BenchmarkLookup(b *testing.B) {
	dir := b.TempDir()
	db, err := geoip.Open(geoip.Options{ASN: geoiptest.Write(b, dir, "a.mmdb", geoiptest.TypeASN, nets), Country: geoiptest.Write(b, dir, "c.mmdb", geoiptest.TypeCountry, nets)})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	a := netip.MustParseAddr("203.0.113.7")
	for b.Loop() {
		db.Lookup(a)
	}
}

// TestCorruptFiles damages a real file at random, in the whole file and in
// its metadata (the last bytes): Open fails or lookups answer, never a panic
// or a hang. FuzzOpen explores further under -fuzz.
func TestCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	seed, err := os.ReadFile(geoiptest.Write(t, dir, "seed.mmdb", geoiptest.TypeCity, nets))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	path := filepath.Join(dir, "f.mmdb")
	for i := range 2000 {
		data := slices.Clone(seed)
		for range 1 + r.IntN(3) {
			pos := r.IntN(len(data))
			if i%2 == 0 {
				pos = len(data) - 1 - r.IntN(250)
			}
			switch r.IntN(3) {
			case 0:
				data = slices.Delete(data, pos, min(len(data), pos+1+r.IntN(8)))
			case 1:
				data = slices.Insert(data, pos, []byte{0, 0xff, 0x7f, 0x80, 0xe0}[r.IntN(5)])
			default:
				data[pos] = byte(r.Uint32())
			}
		}
		if i%7 == 0 {
			data = data[:r.IntN(len(data))]
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		db, err := geoip.Open(geoip.Options{City: path})
		if err != nil {
			continue
		}
		db.Lookup(netip.MustParseAddr("203.0.113.1"))
		db.Lookup(netip.MustParseAddr("2001:db8:4::1"))
		db.Close()
	}
}
