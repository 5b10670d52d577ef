// Package ipclass decides which addresses are local and which come from the
// internet, by CIDR membership, never by string matching: 110.40.0.5 is not
// in 10.40.0.0/24, and ::ffff:10.40.0.5 is.
//
// It is pure computation on net/netip values and must not do I/O.
package ipclass
