//go:build !linux

package enforcecmd

func platformBackends(map[string]backendFunc) {}
