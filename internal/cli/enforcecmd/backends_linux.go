//go:build linux

package enforcecmd

import (
	"github.com/rampart-ids/rampart/internal/enforce"
	"github.com/rampart-ids/rampart/internal/enforce/ipset"
	"github.com/rampart-ids/rampart/internal/enforce/nft"
)

// platformBackends adds the Linux firewall back ends. nft acts on the
// network namespace rampart runs in: run it under "ip netns exec NS" to act
// on another.
func platformBackends(m map[string]backendFunc) {
	m["nft"] = func(BackendFlags) (enforce.Enforcer, error) { return nft.New(nft.Options{}) }
	m["ipset"] = func(BackendFlags) (enforce.Enforcer, error) { return ipset.New(ipset.Options{}) }
}
