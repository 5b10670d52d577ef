package enforcecmd

import (
	"maps"
	"path/filepath"
	"slices"

	"github.com/rampart-ids/rampart/internal/enforce"
	"github.com/rampart-ids/rampart/internal/enforce/hostsdeny"
)

type backendFunc func(BackendFlags) (enforce.Enforcer, error)

// backends maps --backend names to constructors; platform back ends (nft)
// come from platformBackends.
func backends() map[string]backendFunc {
	m := map[string]backendFunc{"hostsdeny": newHostsDeny}
	platformBackends(m)
	return m
}

func newHostsDeny(b BackendFlags) (enforce.Enforcer, error) {
	// The include line must name the list by an absolute path.
	deny, err := filepath.Abs(b.HostsDeny)
	if err != nil {
		return nil, err
	}
	list, err := filepath.Abs(b.HostsDenyList)
	if err != nil {
		return nil, err
	}
	return hostsdeny.New(hostsdeny.Options{DenyPath: deny, ListPath: list})
}

func backendNames() []string { return slices.Sorted(maps.Keys(backends())) }
