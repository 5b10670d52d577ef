// Package guard is the lockout guard of "rampart enforce apply": before a
// block list reaches any back end it finds the addresses whose blocking
// would cut the operator or the host off — the peers of current SSH
// sessions, the default gateways, the DNS resolvers of resolv.conf and the
// configured management networks — and reports the entries that cover them.
//
// The allowlist and the local networks are not its business: Normalize
// already cuts those out of every list. The guard refuses instead of
// cutting, because a list that covers a management network or the
// gateway is more likely a mistake than an intent, and the operator should
// see it (and may override it with --force).
//
// The package only reads (/proc through an fs.FS, and resolv.conf); it must
// not change anything on the host, and it must not import net/http,
// database/sql, the server or the agent.
package guard
