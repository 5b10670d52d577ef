package ipclass

import (
	"fmt"
	"net/netip"
	"strings"

	"go4.org/netipx"
)

// DefaultLocalNetworks are the networks that are local unless configured
// otherwise: loopback, RFC 1918, shared address space (RFC 6598), link-local,
// unique local IPv6 and the unspecified addresses.
func DefaultLocalNetworks() []netip.Prefix {
	return []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/32"),
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("100.64.0.0/10"),
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("169.254.0.0/16"),
		netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("::/128"),
		netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("fc00::/7"),
		netip.MustParsePrefix("fe80::/10"),
	}
}

// ParsePrefix parses a network in CIDR notation, or a single address as a
// /32 or /128. The result is masked, and an IPv4-mapped IPv6 network
// (::ffff:10.0.0.0/104) becomes the IPv4 network it maps.
func ParsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid network %q: want CIDR such as 10.40.0.0/24 or fc00::/7", s)
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err == nil && a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("invalid network %q: zones are not allowed", s)
		}
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid network %q: want CIDR such as 10.40.0.0/24 or fc00::/7", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if a := p.Addr(); a.Is4In6() {
		if p.Bits() < 96 {
			return netip.Prefix{}, fmt.Errorf("invalid network %q: an IPv4-mapped network needs at least 96 bits", s)
		}
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// ParseList parses a comma-separated list of networks, as given to
// --local-nets. An empty list is valid and means "no local networks".
func ParseList(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for f := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(f) == "" {
			continue
		}
		p, err := ParsePrefix(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Classifier tells local addresses from internet ones.
// The zero Classifier has no local networks.
type Classifier struct {
	local *netipx.IPSet
	nets  []netip.Prefix
}

// New returns a Classifier whose local networks are nets.
func New(nets []netip.Prefix) (*Classifier, error) {
	var b netipx.IPSetBuilder
	for _, p := range nets {
		if !p.IsValid() {
			return nil, fmt.Errorf("invalid local network %v", p)
		}
		b.AddPrefix(p.Masked())
	}
	set, err := b.IPSet()
	if err != nil {
		return nil, fmt.Errorf("build local networks: %w", err)
	}
	return &Classifier{local: set, nets: append([]netip.Prefix(nil), nets...)}, nil
}

// Networks returns the local networks as configured.
func (c *Classifier) Networks() []netip.Prefix { return append([]netip.Prefix(nil), c.nets...) }

// IsLocal reports whether a is in one of the local networks. IPv4-mapped
// IPv6 addresses are judged as the IPv4 address they map.
func (c *Classifier) IsLocal(a netip.Addr) bool {
	if c == nil || c.local == nil {
		return false
	}
	return c.local.Contains(a.Unmap())
}

// Scope selects sources by where they are.
type Scope int

const (
	// Internet keeps addresses outside the local networks (the default).
	Internet Scope = iota
	// Local keeps addresses inside the local networks.
	Local
	// All keeps every address.
	All
)

var scopeNames = [...]string{Internet: "internet", Local: "local", All: "all"}

func (s Scope) String() string {
	if int(s) < len(scopeNames) {
		return scopeNames[s]
	}
	return fmt.Sprintf("Scope(%d)", int(s))
}

// ParseScope parses "internet", "local" or "all".
func ParseScope(s string) (Scope, error) {
	for i, n := range scopeNames {
		if strings.EqualFold(s, n) {
			return Scope(i), nil
		}
	}
	return 0, fmt.Errorf("invalid scope %q: want internet, local or all", s)
}

// InScope returns a predicate that keeps the addresses of scope s.
func (c *Classifier) InScope(s Scope) func(netip.Addr) bool {
	switch s {
	case Local:
		return c.IsLocal
	case All:
		return func(netip.Addr) bool { return true }
	default:
		return func(a netip.Addr) bool { return !c.IsLocal(a) }
	}
}
