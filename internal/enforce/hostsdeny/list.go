package hostsdeny

import (
	"bufio"
	"bytes"
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"

	"github.com/rampart-ids/rampart/internal/enforce"
	"github.com/rampart-ids/rampart/internal/ossec"
)

// AppendList appends the list file form of prefixes to b, one pattern per
// line: IPv4 addresses plain, IPv4 prefixes as net/mask (the form every
// libwrap build knows; "n.n.n.n/nn" is a Debian extension), IPv6 addresses
// in brackets and IPv6 prefixes as [net]/len. Invalid prefixes are skipped:
// they cannot be blocked, and the caller validated them.
//
// The file carries no comment: libwrap reads it with fscanf("%s") and treats
// every word as a host pattern, so a "# ..." line would be matched against
// client host names.
func AppendList(b []byte, prefixes []netip.Prefix) []byte {
	for _, p := range prefixes {
		if !p.IsValid() {
			continue
		}
		p = p.Masked()
		a := p.Addr()
		switch {
		case a.Is4() && p.Bits() == 32:
			b = a.AppendTo(b)
		case a.Is4():
			b = a.AppendTo(b)
			b = append(b, '/')
			m := ^uint32(0)
			if p.Bits() < 32 {
				m = ^(m >> p.Bits())
			}
			if p.Bits() == 0 {
				m = 0
			}
			b = append(b, strconv.Itoa(int(m>>24))...)
			b = append(b, '.')
			b = append(b, strconv.Itoa(int(m>>16&0xff))...)
			b = append(b, '.')
			b = append(b, strconv.Itoa(int(m>>8&0xff))...)
			b = append(b, '.')
			b = append(b, strconv.Itoa(int(m&0xff))...)
		default:
			b = append(b, '[')
			b = a.AppendTo(b)
			b = append(b, ']')
			if p.Bits() != 128 {
				b = append(b, '/')
				b = strconv.AppendInt(b, int64(p.Bits()), 10)
			}
		}
		b = append(b, '\n')
	}
	return b
}

// ParseList reads a list file back: whitespace-separated host patterns in
// the forms AppendList writes, plus "n.n.n.n/nn" and "n.n.n." (whole
// octets), which a hand may have added. Anything else is an error naming the
// file, the line and the pattern, because a pattern Rampart cannot read is
// one Status cannot report. name is only used in errors. The result is
// normalised (aggregated, sorted, no expiry).
func ParseList(name string, data []byte) ([]enforce.Entry, error) {
	entries, err := parseList(name, data, nil)
	if err != nil {
		return nil, err
	}
	return enforce.Normalize(entries, enforce.NormalizeOptions{}), nil
}

// parseList is ParseList with check, when not nil, saying why a pattern
// read does not belong in this file ("" when it does), and without
// normalising.
func parseList(name string, data []byte, check func(netip.Prefix) string) ([]enforce.Entry, error) {
	var entries []enforce.Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	line := 0
	for sc.Scan() {
		line++
		for _, tok := range strings.Fields(sc.Text()) {
			p, err := ParsePattern(tok)
			if err != nil {
				return nil, patternError(name, line, tok, err.Error())
			}
			if check != nil {
				if why := check(p); why != "" {
					return nil, patternError(name, line, tok, why)
				}
			}
			entries = append(entries, enforce.Entry{Prefix: p})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return entries, nil
}

// ParsePattern parses one libwrap host pattern that names addresses:
// "a.b.c.d", "a.b.c.d/m.m.m.m", "a.b.c.d/nn", "a.b.c." (octet prefix),
// "[v6]" or "[v6]/len". The prefix is returned masked, IPv4-mapped IPv6
// unmapped.
func ParsePattern(tok string) (netip.Prefix, error) {
	if tok == "" {
		return netip.Prefix{}, fmt.Errorf("empty pattern")
	}
	if tok[0] == '[' {
		end := strings.IndexByte(tok, ']')
		if end < 0 {
			return netip.Prefix{}, fmt.Errorf("unclosed bracket")
		}
		a, err := netip.ParseAddr(tok[1:end])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("want an IPv6 address in brackets")
		}
		bitsLen := 128
		if rest := tok[end+1:]; rest != "" {
			n, ok := strings.CutPrefix(rest, "/")
			v, err := strconv.Atoi(n)
			if !ok || err != nil || v < 0 || v > 128 || n != strconv.Itoa(v) {
				return netip.Prefix{}, fmt.Errorf("want [address]/length with length 0-128")
			}
			bitsLen = v
		}
		return unmap(netip.PrefixFrom(a, bitsLen)), nil
	}
	if strings.HasSuffix(tok, ".") {
		octets := strings.Count(tok, ".")
		if octets > 3 {
			return netip.Prefix{}, fmt.Errorf("want at most three octets before the final dot")
		}
		full := tok + strings.Repeat("0.", 4-octets)
		a, err := netip.ParseAddr(full[:len(full)-1])
		if err != nil || !a.Is4() {
			return netip.Prefix{}, fmt.Errorf("want whole octets like 192.0.2.")
		}
		return netip.PrefixFrom(a, 8*octets), nil
	}
	addr, mask, hasMask := strings.Cut(tok, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil || !a.Is4() {
		return netip.Prefix{}, fmt.Errorf("want an IPv4 address, net/mask or [IPv6]")
	}
	if !hasMask {
		return netip.PrefixFrom(a, 32), nil
	}
	if !strings.Contains(mask, ".") {
		v, err := strconv.Atoi(mask)
		if err != nil || v < 0 || v > 32 || mask != strconv.Itoa(v) {
			return netip.Prefix{}, fmt.Errorf("want a prefix length 0-32 after the slash")
		}
		return netip.PrefixFrom(a, v).Masked(), nil
	}
	m, err := netip.ParseAddr(mask)
	if err != nil || !m.Is4() {
		return netip.Prefix{}, fmt.Errorf("want a dotted netmask after the slash")
	}
	b := m.As4()
	u := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := bits.LeadingZeros32(^u)
	if ones < 32 && u<<ones != 0 {
		return netip.Prefix{}, fmt.Errorf("netmask is not contiguous")
	}
	return netip.PrefixFrom(a, ones).Masked(), nil
}

func unmap(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() {
		return netip.PrefixFrom(a.Unmap(), max(p.Bits()-96, 0)).Masked()
	}
	return p.Masked()
}

// patternError is a pattern of a list file Rampart cannot report.
func patternError(name string, line int, tok, reason string) error {
	return &ossec.ParseError{File: name, Line: line, Reason: reason, Snippet: ossec.Snip(tok)}
}
