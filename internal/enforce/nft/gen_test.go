//go:build linux

package nft

import (
	"fmt"
	"io"

	"github.com/rampart-ids/rampart/internal/enforce"
)

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
