// Package abuse finds who answers for an attacking address and tells them:
// the abuse contact of a network (rdap, whois), report drafts with evidence
// (draft), and their delivery (mail).
//
// This package holds only the types and the registry knowledge (registry
// hosts, placeholder mailboxes, field clean-up) those parts share. It must
// not talk to the network itself and must not import the store or the CLI.
package abuse

import (
	"net/netip"
	"time"
)

// Contact is the answer to "who handles abuse for this address", as one
// registry (or a national registry it referred to) gave it.
type Contact struct {
	// Addr is the address that was looked up.
	Addr netip.Addr `json:"ip"`
	// Emails are the abuse mailboxes, lower-cased, in the registry's order,
	// without duplicates. Empty when the registry names none.
	Emails []string `json:"abuse"`
	// Range is the network the answer covers, as prefixes (an RDAP or whois
	// range "a - b" becomes the prefixes that cover it exactly).
	Range []netip.Prefix `json:"range,omitempty"`
	// NetName is the network's name (whois netname / NetName, RDAP name).
	NetName string `json:"netname,omitempty"`
	// Org is the holder's organisation name.
	Org string `json:"org,omitempty"`
	// Country is the ISO 3166 two-letter code the registry gives, upper case.
	Country string `json:"country,omitempty"`
	// Registry is the registry that answered: "ARIN", "RIPE", "APNIC",
	// "LACNIC", "AFRINIC", or a national one reached by referral ("JPNIC",
	// "KRNIC", "TWNIC", "CNNIC", "IDNIC", "NIC.BR", ...).
	Registry string `json:"registry,omitempty"`
	// Source says how the answer was obtained: "rdap" or "whois", with
	// Server naming the URL or host:port that gave it.
	Source string `json:"source"`
	Server string `json:"server,omitempty"`
	// Fetched is when the answer was obtained (not when it was read from a
	// cache).
	Fetched time.Time `json:"fetched"`
}

// Found reports whether the answer names at least one abuse mailbox.
func (c Contact) Found() bool { return len(c.Emails) > 0 }
