package ossec

import (
	"net/netip"
	"strings"
)

// ParseAddr reads an address as OSSEC stores it in alerts and in ossec-dbd
// text columns. Every spelling of "no address" (empty, "(null)", "NULL",
// "(none)", "0", "0.0.0.0", "::") and anything that is not an IP address (a
// host name) yields ok == false. IPv4-mapped IPv6 addresses are unmapped and
// zones dropped, so equal addresses compare equal.
func ParseAddr(s string) (addr netip.Addr, ok bool) {
	s = strings.TrimSpace(s)
	if len(s) < 2 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		// IPv6 in brackets, as written by some decoders and by hosts.deny.
		if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
			a, err = netip.ParseAddr(s[1 : len(s)-1])
		}
		if err != nil {
			return netip.Addr{}, false
		}
	}
	a = a.Unmap().WithZone("")
	if a.IsUnspecified() {
		return netip.Addr{}, false
	}
	return a, true
}

// AddrFromUint32 converts an IPv4 address stored as a host-order integer (the
// ossec-dbd 2.8 layout, MySQL INET_ATON). Zero means no address.
func AddrFromUint32(v uint32) (netip.Addr, bool) {
	if v == 0 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

// MissingAddrSpellings are the text values ossec-dbd writers of every version
// store for an absent address (ossec-formats.md §3.1). SQL predicates exclude
// them before the values are parsed with ParseAddr.
var MissingAddrSpellings = [...]string{"", "(null)", "NULL", "(none)", "0", "0.0.0.0", "::"}
