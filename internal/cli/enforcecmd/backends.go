package enforcecmd

import (
	"maps"
	"path/filepath"
	"slices"

	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/enforce"
	"github.com/rampart-ids/rampart/internal/enforce/hostsdeny"
	"github.com/rampart-ids/rampart/internal/enforce/nginx"
)

type backendFunc func(BackendFlags) (enforce.Enforcer, error)

// backends maps --backend names to constructors; platform back ends (nft)
// come from platformBackends.
func backends() map[string]backendFunc {
	m := map[string]backendFunc{"hostsdeny": newHostsDeny, "nginx": newNginx}
	platformBackends(m)
	return m
}

func newHostsDeny(b BackendFlags) (enforce.Enforcer, error) {
	// hosts.deny must name the list by an absolute path.
	deny, err := filepath.Abs(b.HostsDeny)
	if err != nil {
		return nil, err
	}
	list, err := filepath.Abs(b.HostsDenyList)
	if err != nil {
		return nil, err
	}
	form := hostsdeny.FormSharded
	if b.HostsDenyForm != "" {
		if form, err = hostsdeny.ParseForm(b.HostsDenyForm); err != nil {
			return nil, cmdutil.FlagError("hosts-deny-form", b.HostsDenyForm, err)
		}
	}
	return hostsdeny.New(hostsdeny.Options{DenyPath: deny, ListPath: list, Form: form})
}

func newNginx(b BackendFlags) (enforce.Enforcer, error) {
	form := nginx.FormDeny
	var err error
	if b.NginxForm != "" {
		if form, err = nginx.ParseForm(b.NginxForm); err != nil {
			return nil, cmdutil.FlagError("nginx-form", b.NginxForm, err)
		}
	}
	conf := b.NginxConf
	if conf != "" {
		// nginx resolves a relative -c against its prefix, not our directory.
		if conf, err = filepath.Abs(conf); err != nil {
			return nil, err
		}
	}
	return nginx.New(nginx.Options{Conf: conf, Form: form})
}

func backendNames() []string { return slices.Sorted(maps.Keys(backends())) }
