// Package nginx is the nginx enforcer: it writes a block list as an nginx
// include file, has nginx test the whole configuration with it, and reloads
// nginx only when the test passes.
//
// Two forms of the file exist. The deny form holds "deny 203.0.113.5;"
// lines; the operator includes it in an http, server or location block.
// nginx's access module checks deny rules one after the other, so every
// request pays for the whole list, and a block with allow or deny rules of
// its own does not inherit them (include the file there too). The geo form holds one
// "geo $rampart_blocked { default 0; 203.0.113.5/32 1; ... }" block that
// nginx compiles into a radix tree (IPv4 and IPv6 keys alike, IPv4-mapped
// clients looked up as IPv4); the operator includes it in the http block
// and adds "if ($rampart_blocked) { return 403; }" where it should apply.
// Auto picks geo above a size; its deny form then also defines the variable
// (as 0), so one operator configuration serves both forms, which requires
// the include at http level.
//
// "nginx -s reload" only signals the master, so the new list serves
// requests a moment after Apply returns. Every change replaces the file atomically (temporary file, fsync, rename,
// fsync of the directory) and runs "nginx -T"; if nginx rejects the
// configuration, the previous file is put back the same way and the error
// carries nginx's own message, so the running nginx and the file on disk
// keep agreeing. nginx has no expiry: expired entries are not written and
// Status reports entries without one.
//
// Remove does not delete a file the configuration still includes: nginx
// would refuse its next test, reload or start. It writes the empty form
// instead (the geo form keeps "default 0;" so the operator's "if" still
// compiles) and deletes the file only when the configuration does not
// include it.
//
// This package runs nginx with fixed arguments taken from Options, never
// with text from a block list. It must not import net/http, database/sql,
// the server or the agent, and it never talks to the network.
package nginx
