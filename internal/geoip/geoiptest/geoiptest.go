// Package geoiptest writes small MaxMind-format databases for tests, in the
// schemas geoip reads: GeoLite2 ASN, GeoLite2 Country/City and IPinfo lite.
//
// It is for tests only: nothing outside _test.go files may import it.
package geoiptest

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Database types as the real files carry them in their metadata.
const (
	TypeASN     = "GeoLite2-ASN"
	TypeCountry = "GeoLite2-Country"
	TypeCity    = "GeoLite2-City"
	TypeDBIPASN = "DBIP-ASN-Lite (compat=GeoLite2-ASN)"
	TypeIPinfo  = "ipinfo ipinfo_lite.mmdb"
)

// Network is one network's record in the file's schema.
type Network struct {
	CIDR        string
	ASN         uint32
	Org         string
	Country     string // ISO code
	CountryName string
	City        string
	// Registered puts the country under registered_country only, as
	// GeoLite2 does for anycast networks.
	Registered bool
}

// Write writes a database of type typ holding nets to dir/name and returns
// its path.
func Write(t testing.TB, dir, name, typ string, nets []Network) string {
	t.Helper()
	// Documentation prefixes are "reserved": without this the writer
	// refuses them.
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: typ, IncludeReservedNetworks: true, RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nets {
		_, network, err := net.ParseCIDR(n.CIDR)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Insert(network, record(typ, n)); err != nil {
			t.Fatalf("insert %s: %v", n.CIDR, err)
		}
	}
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func record(typ string, n Network) mmdbtype.Map {
	switch typ {
	case TypeASN, TypeDBIPASN:
		return mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(n.ASN),
			"autonomous_system_organization": mmdbtype.String(n.Org),
		}
	case TypeIPinfo:
		m := mmdbtype.Map{
			"country_code":   mmdbtype.String(n.Country),
			"country":        mmdbtype.String(n.CountryName),
			"continent":      mmdbtype.String("Asia"),
			"continent_code": mmdbtype.String("AS"),
		}
		if n.ASN != 0 {
			m["asn"] = mmdbtype.String("AS" + strconv.FormatUint(uint64(n.ASN), 10))
			m["as_name"] = mmdbtype.String(n.Org)
			m["as_domain"] = mmdbtype.String("example.net")
		}
		return m
	default:
		country := mmdbtype.Map{
			"iso_code":   mmdbtype.String(n.Country),
			"geoname_id": mmdbtype.Uint32(1814991),
			"names":      mmdbtype.Map{"en": mmdbtype.String(n.CountryName), "de": mmdbtype.String("x")},
		}
		m := mmdbtype.Map{"continent": mmdbtype.Map{"code": mmdbtype.String("AS")}}
		if n.Registered {
			m["registered_country"] = country
		} else {
			m["country"] = country
		}
		if typ == TypeCity && n.City != "" {
			m["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(n.City)}}
		}
		return m
	}
}
