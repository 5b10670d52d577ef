// Package hostsdeny is the hosts.deny (TCP wrappers, libwrap) enforcer,
// built to live beside OSSEC's host-deny active response and fail2ban's
// hostsdeny action.
//
// Rampart owns exactly one line of hosts.deny, "ALL: /etc/rampart/hosts.deny.list"
// (the daemon list and the path are configurable), announced by a marker
// comment on the line before it. The line names a list file, a pattern that
// Debian's, SUSE's and Fedora's libwrap builds accept ("zero or more host
// patterns per line, separated by whitespace"); the list file holds the
// blocked addresses and prefixes and is replaced atomically on every change
// (temporary file in the same directory, fsync, rename, fsync of the
// directory), so hosts.deny itself is only touched to add or remove that one
// line. The include line holds no address, so OSSEC's "grep -w <ip>"
// duplicate check never mistakes it for one of its own entries, and neither
// OSSEC's delete ("ALL:<ip>$") nor fail2ban's ("^ALL: <ip>$") matches it.
//
// While hosts.deny itself is edited the package holds OSSEC's lock: the
// directory <ossec>/host-deny-lock made with mkdir, with our PID in a file
// "pid" inside, as active-response/host-deny.sh does. See lock.go for the
// retry and stale-lock rules.
//
// This package must not touch any line of hosts.deny it did not write: every
// other line (OSSEC's "ALL:1.2.3.4", fail2ban's "ALL: 1.2.3.4", hand-written
// rules, comments, backslash continuations, a last line without a final
// newline) stays byte for byte. It must not import net/http, database/sql,
// the server or the agent, and it never talks to the network.
//
// libwrap has no expiry: entries whose expiry has passed are simply not
// written, callers re-apply to drop them, and Status reports entries without
// an expiry.
package hostsdeny
