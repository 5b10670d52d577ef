// Package nft is the nftables back end of enforce: it blocks source
// addresses with its own table `inet rampart`, two interval sets (blocklist4,
// blocklist6) and a base chain on the input hook (optionally forward), all
// written over netlink with github.com/google/nftables.
//
// Every Apply is one netlink batch, hence one nftables transaction: the kernel
// commits all of it or none of it, so there is never a half-applied list and
// a failed apply leaves the previous state in place. The package must never
// touch any table but its own, must not shell out to nft(8), and must not
// import net/http, database/sql, the server or the agent.
package nft
