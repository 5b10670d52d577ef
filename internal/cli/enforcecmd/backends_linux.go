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
	m["nft"] = func(b BackendFlags) (enforce.Enforcer, error) {
		a, err := b.action()
		if err != nil {
			return nil, err
		}
		return nft.New(nft.Options{Action: a, LogRate: b.LogRate, Forward: b.Forward})
	}
	m["ipset"] = func(b BackendFlags) (enforce.Enforcer, error) {
		a, err := b.action()
		if err != nil {
			return nil, err
		}
		return ipset.New(ipset.Options{Action: a})
	}
}
