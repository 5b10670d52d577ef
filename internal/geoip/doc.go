// Package geoip names the network (ASN, organisation) and the country of an
// address from MaxMind-format databases on disk: GeoLite2/GeoIP2 ASN,
// Country and City, DB-IP lite (the same schemas), and IPinfo lite (its own
// flat schema). The schema is chosen from each file's metadata, never from
// its name.
//
// It must not download databases or talk to the network: the operator
// installs and updates the files; addresses are looked up, never contacted.
package geoip
