// Package hostsdeny is the hosts.deny (TCP wrappers, libwrap) enforcer,
// built to live beside OSSEC's host-deny active response and fail2ban's
// hostsdeny action.
//
// libwrap reads hosts.deny, and every list file a line names, on every
// connection, so the cost an innocent client pays grows with what it has to
// read. In the default, sharded form Rampart owns a fixed block of lines
// between two marker comments:
//
//	# rampart: managed block, do not edit (rampart enforce remove deletes it) -- begin
//	ALL: 0. EXCEPT ALL EXCEPT /etc/rampart/hosts.deny.list.d/current/0
//	...                                  one line per first octet, 0 to 255
//	ALL: [::]/0 EXCEPT ALL EXCEPT /etc/rampart/hosts.deny.list.d/current/v6
//	# rampart: managed block -- end
//
// libwrap reads "G EXCEPT ALL EXCEPT F" as G EXCEPT (ALL EXCEPT F): the line
// matches a client that matches the guard G (the address starts with "203.";
// every IPv6 address) and is listed in the file F. A client of another octet
// never opens F, and a missing F matches nothing, so an octet without
// entries needs no file: a client reads at most one list file, its octet's
// share of the list. With 100,000 attackers a check costs about what an
// empty hosts.deny does (bench/hostsdeny.sh). The block never changes with
// the list: "current" is a symbolic link to a generation directory holding
// one file per octet present (IPv4 prefixes shorter than /8 split into their
// /8s) and "v6". An apply writes a new generation (files fsynced; files that
// did not change are hard-linked from the current one), renames a new link
// over "current" (atomic: libwrap opens the old file or the new one, never a
// mix) and fsyncs the directory; the generation it replaced is kept until
// the next apply, older ones are deleted.
//
// The single form (Options.Form) keeps earlier releases' one line, "ALL:
// /etc/rampart/hosts.deny.list" after a marker comment, for operators who
// want exactly one line; the list file is replaced atomically, and every
// client reads all of it. Both forms take libwrap's file pattern, which
// Debian's, SUSE's and Fedora's libwrap builds accept ("zero or more host
// patterns per line, separated by whitespace"), and write addresses as
// AppendList does. Apply replaces the other form's lines and list, so an
// older Rampart's single include line is upgraded to the block; Remove
// deletes both.
//
// hosts.deny itself is only touched to add or remove Rampart's lines, and
// while it is edited the package holds OSSEC's lock: the directory
// <ossec>/host-deny-lock made with mkdir, with our PID in a file "pid"
// inside, as active-response/host-deny.sh does. See lock.go for the retry and
// stale-lock rules. Rampart's lines hold no address, so OSSEC's "grep -w
// <ip>" duplicate check never mistakes one for its own entries, and neither
// OSSEC's delete ("ALL:<ip>$") nor fail2ban's ("^ALL: <ip>$") matches one.
//
// This package must not touch any line of hosts.deny it did not write: every
// other line (OSSEC's "ALL:1.2.3.4", fail2ban's "ALL: 1.2.3.4", hand-written
// rules, comments, backslash continuations, a last line without a final
// newline) stays byte for byte, and so do files in the list directory it did
// not write. It must not import net/http, database/sql, the server or the
// agent, and it never talks to the network.
//
// libwrap has no expiry: entries whose expiry has passed are simply not
// written, callers re-apply to drop them, and Status reports entries without
// an expiry.
package hostsdeny
