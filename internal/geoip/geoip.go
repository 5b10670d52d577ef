package geoip

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/oschwald/maxminddb-golang/v2"
)

// Info is what the databases know of one address. The zero Info means
// nothing is known.
type Info struct {
	// ASN is the autonomous system number; 0 when unknown.
	ASN uint32
	// Org is the autonomous system's organisation.
	Org string
	// Country is the ISO 3166-1 alpha-2 code ("CN").
	Country string
	// CountryName is the country's English name ("China").
	CountryName string
	// City is the city's English name, from a City database only.
	City string
}

// Options name the database files; an empty path is not opened. Any file
// whose schema carries the field answers for it: an IPinfo lite file
// given as ASN also gives countries.
type Options struct {
	// ASN is a GeoLite2-ASN, DB-IP ASN lite or IPinfo lite file.
	ASN string
	// Country is a GeoLite2-Country, DB-IP country lite or IPinfo lite
	// file.
	Country string
	// City is a GeoLite2-City or DB-IP city lite file; it gives countries
	// too.
	City string
}

// schema is the record layout a database type implies.
type schema int

const (
	schemaASN    schema = iota // autonomous_system_number, autonomous_system_organization
	schemaGeo                  // country.iso_code, country.names.en, city.names.en
	schemaIPinfo               // flat: asn "AS1234", as_name, country_code, country
)

type database struct {
	path   string
	r      *maxminddb.Reader
	schema schema
	city   bool
}

func (d *database) hasASN() bool     { return d.schema != schemaGeo }
func (d *database) hasCountry() bool { return d.schema != schemaASN }

// DB looks addresses up in the opened databases. It is safe for concurrent
// lookups; Close must not run alongside them.
type DB struct {
	dbs []*database
}

// Open opens the files opts names. A file that is not a MaxMind DB, or
// whose type does not give what its option asks for (a Country file given
// as ASN), is an error naming the file.
func Open(opts Options) (*DB, error) {
	d := &DB{}
	for _, o := range []struct {
		what, path string
		ok         func(*database) bool
	}{
		{"ASN", opts.ASN, (*database).hasASN},
		{"country", opts.Country, (*database).hasCountry},
		{"city", opts.City, func(db *database) bool { return db.city }},
	} {
		if o.path == "" {
			continue
		}
		db, err := openFile(o.path)
		if err != nil {
			d.Close()
			return nil, err
		}
		d.dbs = append(d.dbs, db)
		if !o.ok(db) {
			d.Close()
			return nil, fmt.Errorf("geoip database %q: type %q has no %s data", o.path, db.r.Metadata.DatabaseType, o.what)
		}
	}
	return d, nil
}

func openFile(path string) (*database, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geoip database %q: not a readable MaxMind DB (.mmdb) file: %w", path, err)
	}
	typ := r.Metadata.DatabaseType
	t := strings.ToLower(typ)
	db := &database{path: path, r: r}
	switch {
	case strings.Contains(t, "ipinfo"):
		db.schema = schemaIPinfo
	case strings.Contains(t, "asn"), strings.Contains(t, "isp"):
		db.schema = schemaASN
	case strings.Contains(t, "city"), strings.Contains(t, "location"), strings.Contains(t, "enterprise"):
		db.schema, db.city = schemaGeo, true
	case strings.Contains(t, "country"):
		db.schema = schemaGeo
	default:
		r.Close()
		return nil, fmt.Errorf("geoip database %q: unknown database type %q: want a GeoLite2/GeoIP2 or DB-IP ASN, Country or City database, or IPinfo lite", path, typ)
	}
	return db, nil
}

// Has reports whether lookups can give ASNs and countries.
func (d *DB) Has() (asn, country bool) {
	for _, db := range d.dbs {
		asn = asn || db.hasASN()
		country = country || db.hasCountry()
	}
	return asn, country
}

type asnRecord struct {
	ASN uint32 `maxminddb:"autonomous_system_number"`
	Org string `maxminddb:"autonomous_system_organization"`
}

type names struct {
	EN string `maxminddb:"en"`
}

type place struct {
	ISOCode string `maxminddb:"iso_code"`
	Names   names  `maxminddb:"names"`
}

type geoRecord struct {
	Country           place `maxminddb:"country"`
	RegisteredCountry place `maxminddb:"registered_country"`
	City              struct {
		Names names `maxminddb:"names"`
	} `maxminddb:"city"`
}

type ipinfoRecord struct {
	ASN         string `maxminddb:"asn"`
	ASName      string `maxminddb:"as_name"`
	CountryCode string `maxminddb:"country_code"`
	Country     string `maxminddb:"country"`
	CountryName string `maxminddb:"country_name"`
}

// Lookup returns what the databases know of a; IPv4-mapped IPv6 addresses
// are looked up as IPv4. Each field comes from the first database, in the
// order ASN, Country, City, that has it for a. A damaged record is treated
// as unknown: a lookup answers for one address and has no better fallback.
func (d *DB) Lookup(a netip.Addr) Info {
	var info Info
	if d == nil || !a.IsValid() {
		return info
	}
	a = a.Unmap().WithZone("")
	for _, db := range d.dbs {
		res := db.r.Lookup(a)
		if !res.Found() {
			continue
		}
		switch db.schema {
		case schemaASN:
			var rec asnRecord
			if res.Decode(&rec) == nil && info.ASN == 0 {
				info.ASN, info.Org = rec.ASN, rec.Org
			}
		case schemaGeo:
			var rec geoRecord
			if res.Decode(&rec) != nil {
				continue
			}
			c := rec.Country
			// Some networks (anycast, satellite) have only the
			// country the block is registered in.
			if c.ISOCode == "" {
				c = rec.RegisteredCountry
			}
			if info.Country == "" && c.ISOCode != "" {
				info.Country, info.CountryName = c.ISOCode, c.Names.EN
			}
			if info.City == "" {
				info.City = rec.City.Names.EN
			}
		case schemaIPinfo:
			var rec ipinfoRecord
			if res.Decode(&rec) != nil {
				continue
			}
			if n, ok := parseASN(rec.ASN); ok && info.ASN == 0 {
				info.ASN, info.Org = n, rec.ASName
			}
			code, name := rec.CountryCode, rec.Country
			// IPinfo's older country_asn files put the code in
			// "country" and the name in "country_name".
			if code == "" && rec.CountryName != "" {
				code, name = rec.Country, rec.CountryName
			}
			if info.Country == "" && code != "" {
				info.Country, info.CountryName = code, name
			}
		}
	}
	return info
}

// parseASN reads IPinfo's "AS1234".
func parseASN(s string) (uint32, bool) {
	s, ok := strings.CutPrefix(s, "AS")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil && n != 0
}

// Close releases the databases.
func (d *DB) Close() error {
	if d == nil {
		return nil
	}
	var errs []error
	for _, db := range d.dbs {
		if err := db.r.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close geoip database %q: %w", db.path, err))
		}
	}
	d.dbs = nil
	return errors.Join(errs...)
}
