// Package ipset is the ipset + iptables/ip6tables back end of enforce, for
// hosts without nftables: two hash:net sets (rampart4, rampart6) and one rule
// per family and chain, `-m set --match-set rampartN src -j DROP` (or REJECT),
// inserted at the top of INPUT (optionally FORWARD).
//
// A change is built into temporary sets (rampart4-tmp, rampart6-tmp) by one
// `ipset restore` fed on standard input, then swapped into place with `ipset
// swap`: packets see the old content or the new, never a half-filled set, and
// a failure before the swap leaves the old sets untouched. The restore input is
// generated only from validated netip values and integers; no text from the
// caller reaches a command line or the restore stream.
//
// It drives the ipset(8), iptables(8) and ip6tables(8) commands of the host,
// whichever iptables variant the system selects (Debian 12: iptables-nft), so
// its rules sit beside the operator's own. It acts on the network namespace it
// runs in, or on a named one through `ip netns exec`. It must never touch sets
// or rules but its own, and must not import net/http, database/sql, the server
// or the agent.
package ipset
