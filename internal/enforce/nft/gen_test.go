//go:build linux

package nft

import (
	"fmt"
	"io"
	"net/netip"

	"github.com/rampart-ids/rampart/internal/enforce"
)

// bigSet returns n disjoint entries, deterministic, none adjacent (so no two
// aggregate): four in five IPv4 (/32s, every tenth a /28), one in five an
// IPv6 /64. shift moves the window of entries, so bigSet(n, k) and
// bigSet(n, 0) differ by k removed and k added entries.
func bigSet(n, shift int) []enforce.Entry {
	out := make([]enforce.Entry, 0, n)
	for i := shift; i < n+shift; i++ {
		var p netip.Prefix
		if i%5 == 4 {
			var a [16]byte
			a[0], a[1], a[2], a[3] = 0x20, 0x01, 0x0d, 0xb8
			a[4], a[5], a[6], a[7] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
			p = netip.PrefixFrom(netip.AddrFrom16(a), 64)
		} else {
			// 32 addresses per entry: room for a /28 with gaps around it.
			v := uint32(0x0b000000) + uint32(i)*32
			a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
			bits := 32
			if i%10 == 0 {
				bits = 28
			}
			p = netip.PrefixFrom(a, bits)
		}
		out = append(out, enforce.Entry{Prefix: p})
	}
	return out
}

// writeNftFile writes set as an nft(8) script creating the same table and
// sets the enforcer creates, the way an operator would load it with nft -f.
func writeNftFile(w io.Writer, set []enforce.Entry) error {
	var v4, v6 []string
	for _, e := range set {
		if e.Prefix.Addr().Is4() {
			v4 = append(v4, e.Prefix.String())
		} else {
			v6 = append(v6, e.Prefix.String())
		}
	}
	if _, err := fmt.Fprintf(w, "table inet %s {\n", TableName); err != nil {
		return err
	}
	for _, s := range []struct {
		name, typ string
		elems     []string
	}{{Set4Name, "ipv4_addr", v4}, {Set6Name, "ipv6_addr", v6}} {
		fmt.Fprintf(w, "\tset %s {\n\t\ttype %s\n\t\tflags interval,timeout\n", s.name, s.typ)
		if len(s.elems) > 0 {
			fmt.Fprintf(w, "\t\telements = {\n")
			for _, e := range s.elems {
				fmt.Fprintf(w, "\t\t\t%s,\n", e)
			}
			fmt.Fprintf(w, "\t\t}\n")
		}
		fmt.Fprintf(w, "\t}\n")
	}
	fmt.Fprintf(w, "\tchain %s {\n\t\ttype filter hook input priority %d; policy accept;\n", InputName, Priority)
	fmt.Fprintf(w, "\t\tip saddr @%s drop\n\t\tip6 saddr @%s drop\n\t}\n}\n", Set4Name, Set6Name)
	return nil
}
