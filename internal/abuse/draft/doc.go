// Package draft turns what the alert store knows about attacking addresses
// into abuse report drafts: one per abuse contact, grouping every address
// that contact answers for, each with its evidence (counts, first and last
// seen, the rules hit, the alert log lines with UTC times). A draft renders
// as a polite plain-text mail body, as X-ARF v4 JSON (one report per
// address) and as ARF (RFC 5965); Body assembles the MIME entity a mail
// carries.
//
// Nothing of ours leaves in a draft: a Redactor replaces our host names,
// our addresses (local networks and configured ones, OSSEC agents and
// managers) and user names in every log line and rule description before
// a draft is built, and OSSEC locations are never copied.
//
// The package is pure: no network, no store, no clock (times come in
// through Options). It keeps no package-level mutable state.
package draft
