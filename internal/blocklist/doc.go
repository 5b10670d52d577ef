// Package blocklist is the central block list as the server publishes it and
// the agents apply it: a versioned, sorted set of prefixes with expiries,
// the deltas between two versions, their canonical text encoding, and the
// Ed25519 signatures over that encoding.
//
// The canonical encoding is also the list's "txt" format: comment lines for
// the header, one prefix per line (an expiry, when there is one, follows as
// a comment), and a last "# signature" line over every byte before it. A
// plain reader that takes one address per line and ignores '#' comments
// (Rampart's own "enforce apply --from", most firewall scripts) reads the
// signed file as it is, and an agent that holds the server's public key can
// verify the very bytes it received.
//
// This package is pure: it must not do I/O beyond the readers and writers it
// is handed, read the clock (callers pass times in), or import the store,
// the server, the agent or the enforcers.
package blocklist
