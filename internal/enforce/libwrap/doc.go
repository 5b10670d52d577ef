// Package libwrap answers "which of this host's TCP services does
// hosts.deny protect?" (rampart enforce check). It lists the listening TCP
// sockets from /proc/net/tcp and /proc/net/tcp6, finds the processes that
// hold them through the socket:[inode] links under /proc/PID/fd, and reads
// each program's ELF dynamic section (debug/elf, never ldd, which may run the
// program) for libwrap.so.0. Since OpenSSH 9.8 the connection is handled by
// sshd-session, so for sshd that binary is checked too.
//
// Only a program that links libwrap consults hosts.deny: OpenSSH dropped it
// in 6.7 (Debian kept a patch), systemd and most web servers never had it.
// Everything else needs the firewall back ends.
//
// ParseSockets and Established expose the other sockets of the same files
// (state and remote address too), for the lockout guard's SSH sessions.
//
// The /proc tree and the root file system are fs.FS values so tests can
// use fixture trees. This package only reads; it must not change anything
// on the host, and it must not import net/http, database/sql, the server or
// the agent.
package libwrap
