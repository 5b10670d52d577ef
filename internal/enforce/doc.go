// Package enforce is the contract every countermeasure back end fulfils
// (nftables, ipset+iptables, hosts.deny, nginx) and the steps they share:
// turning a wish list of addresses and prefixes into a normalised, aggregated
// set with one expiry per prefix, and the guards that keep the operator from
// blocking their own networks or locking themselves out.
//
// Back ends live in subpackages and converge the host to a desired set in one
// atomic step: there is never a moment with a half-applied list, and a failed
// apply leaves the previous state in place. This package and its back ends
// must not import net/http, database/sql, the server or the agent.
package enforce
