package geoip_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/rampart-ids/rampart/internal/geoip/geoiptest"
)

// TestWriteBenchDatabases writes an ASN and a Country database for
// bench/analysis.sh when RAMPART_GEOIP_BENCH names a directory: every /16
// of 1.0.0.0–223.255.0.0 and 1,793 IPv6 networks, about 59,000 networks, in the order of magnitude of GeoLite2-ASN.
func TestWriteBenchDatabases(t *testing.T) {
	dir := os.Getenv("RAMPART_GEOIP_BENCH")
	if dir == "" {
		t.Skip("requires RAMPART_GEOIP_BENCH=DIR (bench/analysis.sh sets it): a bench helper")
	}
	countries := []string{"CN", "US", "RU", "BR", "IN", "DE", "NL", "FR", "VN", "KR", "ID", "GB"}
	var nets []geoiptest.Network
	for a := 1; a < 224; a++ {
		for b := 0; b < 256; b++ {
			i := a*256 + b
			nets = append(nets, geoiptest.Network{CIDR: fmt.Sprintf("%d.%d.0.0/16", a, b), ASN: uint32(1000 + i/3),
				Org: fmt.Sprintf("Network %d", i/3), Country: countries[i%len(countries)], CountryName: countries[i%len(countries)]})
		}
	}
	// IPv6: every /16 of 2400::–2aff:: (the RIRs' hosting space) and the
	// sample's 2001:41d0::/32 (2001::/16 holds Teredo, which the writer
	// keeps aliased).
	v6 := []string{"2001:41d0::/32"}
	for h := 0x2400; h <= 0x2aff; h++ {
		v6 = append(v6, fmt.Sprintf("%x::/16", h))
	}
	for i, cidr := range v6 {
		nets = append(nets, geoiptest.Network{CIDR: cidr, ASN: uint32(200000 + i/2),
			Org: fmt.Sprintf("Hoster %d", i/2), Country: countries[i%len(countries)], CountryName: countries[i%len(countries)]})
	}
	asn := geoiptest.Write(t, dir, "asn.mmdb", geoiptest.TypeASN, nets)
	country := geoiptest.Write(t, dir, "country.mmdb", geoiptest.TypeCountry, nets)
	fmt.Printf("asn %s\ncountry %s\nnetworks %d\n", asn, country, len(nets))
}
