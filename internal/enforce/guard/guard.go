package guard

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/rampart-ids/rampart/internal/enforce"
	"github.com/rampart-ids/rampart/internal/enforce/libwrap"
)

// DefaultResolvConf is the resolver configuration Protect reads when
// Options.ResolvConf is empty.
const DefaultResolvConf = "/etc/resolv.conf"

// Protected is an address or network that must not be blocked, and why.
// Single addresses are /32 or /128 prefixes; IPv4-mapped IPv6 addresses
// are unmapped.
type Protected struct {
	Addr netip.Prefix
	Why  string
}

func (p Protected) String() string {
	return fmt.Sprintf("%s (%s)", shortPrefix(p.Addr), p.Why)
}

// Options locate what Protect reads. The zero value reads the host.
type Options struct {
	// Proc is the /proc tree (default os.DirFS("/proc")).
	Proc fs.FS
	// ResolvConf is the resolver configuration (default
	// DefaultResolvConf). A missing file means no resolvers.
	ResolvConf string
	// SSHPorts are the local ports of the SSH server (default 22).
	SSHPorts []uint16
	// Management are networks the operator manages the host from.
	Management []netip.Prefix
}

// Protect lists what this host must not block: the remote addresses of
// established TCP connections to an SSH port (one entry per address), the
// default gateways (IPv4 and IPv6), the nameservers of resolv.conf and the
// management networks. The result is sorted by address. Files that do not
// exist (no IPv6, no /proc on this system) are skipped; files that exist
// but cannot be read or parsed are errors, since a guard that silently
// sees nothing protects nothing.
func Protect(ctx context.Context, opts Options) ([]Protected, error) {
	if opts.Proc == nil {
		opts.Proc = os.DirFS("/proc")
	}
	if opts.ResolvConf == "" {
		opts.ResolvConf = DefaultResolvConf
	}
	if len(opts.SSHPorts) == 0 {
		opts.SSHPorts = []uint16{22}
	}
	var out []Protected
	steps := []func() ([]Protected, error){
		func() ([]Protected, error) { return sshSessions(opts.Proc, opts.SSHPorts) },
		func() ([]Protected, error) { return gateways4(opts.Proc) },
		func() ([]Protected, error) { return gateways6(opts.Proc) },
		func() ([]Protected, error) { return resolvers(opts.ResolvConf) },
	}
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ps, err := step()
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	for _, p := range opts.Management {
		if !p.IsValid() {
			continue
		}
		out = append(out, Protected{Addr: unmapPrefix(p), Why: "management network"})
	}
	slices.SortFunc(out, func(a, b Protected) int {
		return cmp.Or(enforce.ComparePrefix(a.Addr, b.Addr), strings.Compare(a.Why, b.Why))
	})
	return slices.Compact(out), nil
}

// sshSessions reports each remote address with an established connection
// to a local SSH port once, naming its first session; more sessions from
// the same address are counted, not listed.
func sshSessions(proc fs.FS, ports []uint16) ([]Protected, error) {
	socks, err := libwrap.Established(proc)
	if err != nil {
		return nil, err
	}
	type peer struct {
		first netip.AddrPort
		more  int
	}
	var order []netip.Addr
	peers := map[netip.Addr]*peer{}
	for _, s := range socks {
		if !slices.Contains(ports, s.Local.Port()) {
			continue
		}
		a := s.Remote.Addr().Unmap().WithZone("")
		if p := peers[a]; p != nil {
			p.more++
			continue
		}
		peers[a] = &peer{first: netip.AddrPortFrom(a, s.Remote.Port())}
		order = append(order, a)
	}
	out := make([]Protected, 0, len(order))
	for _, a := range order {
		p := peers[a]
		why := "ssh session from " + p.first.String()
		if p.more > 0 {
			why += fmt.Sprintf(" (+%d more)", p.more)
		}
		out = append(out, Protected{Addr: netip.PrefixFrom(a, a.BitLen()), Why: why})
	}
	return out, nil
}

// Routing flags of <linux/route.h> and <linux/ipv6_route.h>.
const (
	rtfUp      = 0x0001
	rtfGateway = 0x0002
)

// gateways4 reads net/route: a default route has destination and mask 0
// and the gateway flag. Addresses are 32-bit numbers printed in host byte
// order, like those of net/tcp.
func gateways4(proc fs.FS) ([]Protected, error) {
	const name = "net/route"
	data, err := readOptional(proc, name)
	if data == nil || err != nil {
		return nil, err
	}
	var out []Protected
	err = eachLine(name, data, func(line int, f []string) error {
		if line == 1 && len(f) > 0 && f[0] == "Iface" {
			return nil
		}
		if len(f) < 8 {
			return fmt.Errorf("%s:%d: want at least 8 fields: %q", name, line, snip(strings.Join(f, " ")))
		}
		dst, err := hex4(f[1])
		if err != nil {
			return fmt.Errorf("%s:%d: destination %q: %w", name, line, snip(f[1]), err)
		}
		gw, err := hex4(f[2])
		if err != nil {
			return fmt.Errorf("%s:%d: gateway %q: %w", name, line, snip(f[2]), err)
		}
		flags, err := strconv.ParseUint(f[3], 16, 32)
		if err != nil {
			return fmt.Errorf("%s:%d: flags %q: %w", name, line, snip(f[3]), err)
		}
		mask, err := hex4(f[7])
		if err != nil {
			return fmt.Errorf("%s:%d: mask %q: %w", name, line, snip(f[7]), err)
		}
		if !dst.IsUnspecified() || !mask.IsUnspecified() || gw.IsUnspecified() || flags&(rtfUp|rtfGateway) != rtfUp|rtfGateway {
			return nil
		}
		out = append(out, Protected{Addr: netip.PrefixFrom(gw, 32), Why: "default gateway (" + f[0] + ")"})
		return nil
	})
	return out, err
}

// gateways6 reads net/ipv6_route, whose addresses are printed byte by
// byte (network order): a default route has an all-zero destination of
// length 0 and a next hop that is not all zeros (unreachable and
// reject defaults have none).
func gateways6(proc fs.FS) ([]Protected, error) {
	const name = "net/ipv6_route"
	data, err := readOptional(proc, name)
	if data == nil || err != nil {
		return nil, err
	}
	var out []Protected
	err = eachLine(name, data, func(line int, f []string) error {
		if len(f) < 10 {
			return fmt.Errorf("%s:%d: want 10 fields: %q", name, line, snip(strings.Join(f, " ")))
		}
		dst, err := hex16(f[0])
		if err != nil {
			return fmt.Errorf("%s:%d: destination %q: %w", name, line, snip(f[0]), err)
		}
		plen, err := strconv.ParseUint(f[1], 16, 8)
		if err != nil || plen > 128 {
			return fmt.Errorf("%s:%d: prefix length %q: want 00 to 80 (hex)", name, line, snip(f[1]))
		}
		hop, err := hex16(f[4])
		if err != nil {
			return fmt.Errorf("%s:%d: next hop %q: %w", name, line, snip(f[4]), err)
		}
		flags, err := strconv.ParseUint(f[8], 16, 32)
		if err != nil {
			return fmt.Errorf("%s:%d: flags %q: %w", name, line, snip(f[8]), err)
		}
		if plen != 0 || !dst.IsUnspecified() || hop.IsUnspecified() || flags&rtfUp == 0 {
			return nil
		}
		hop = hop.Unmap()
		out = append(out, Protected{Addr: netip.PrefixFrom(hop, hop.BitLen()), Why: "default gateway (" + f[9] + ")"})
		return nil
	})
	return out, err
}

// resolvers reads the nameserver lines of resolv.conf. Like the C
// resolver, it ignores a line whose address does not parse: no query goes
// there, so there is nothing to protect. A zone (fe80::1%eth0) is dropped,
// since block lists carry none.
func resolvers(path string) ([]Protected, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return parseResolvConf(path, data)
}

// parseResolvConf parses the text of resolv.conf; name is its path.
func parseResolvConf(name string, data []byte) ([]Protected, error) {
	why := "dns resolver (" + name + ")"
	var out []Protected
	err := eachLine(name, data, func(_ int, f []string) error {
		if len(f) < 2 || f[0] != "nameserver" {
			return nil
		}
		a, err := netip.ParseAddr(f[1])
		if err != nil {
			return nil
		}
		a = a.Unmap().WithZone("")
		out = append(out, Protected{Addr: netip.PrefixFrom(a, a.BitLen()), Why: why})
		return nil
	})
	return out, err
}

// readOptional reads name, returning nil data and no error when it does
// not exist.
func readOptional(fsys fs.FS, name string) ([]byte, error) {
	data, err := fs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// eachLine calls fn with the fields of every line that is not blank and
// does not start with # or ; (resolv.conf's comments; /proc files have
// none).
func eachLine(name string, data []byte, fn func(line int, f []string) error) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		if err := fn(line, f); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

func hex4(s string) (netip.Addr, error) {
	if len(s) != 8 {
		return netip.Addr{}, errors.New("want 8 hex digits")
	}
	n, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return netip.Addr{}, errors.New("want 8 hex digits")
	}
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], uint32(n))
	return netip.AddrFrom4(b), nil
}

func hex16(s string) (netip.Addr, error) {
	raw, err := hex.DecodeString(s)
	if err != nil || len(raw) != 16 {
		return netip.Addr{}, errors.New("want 32 hex digits")
	}
	return netip.AddrFrom16([16]byte(raw)), nil
}

func snip(s string) string {
	if len(s) > 80 {
		return s[:80]
	}
	return s
}

func unmapPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() {
		return netip.PrefixFrom(a.Unmap(), max(p.Bits()-96, 0)).Masked()
	}
	return p.Masked()
}

// shortPrefix prints a single address without its /32 or /128.
func shortPrefix(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}
