package libwrap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Kernel TCP states as printed in the st column of /proc/net/tcp.
const (
	StateEstablished uint8 = 0x01
	StateListen      uint8 = 0x0A
)

// Socket is one TCP socket of /proc/net/tcp or /proc/net/tcp6, in any
// state. IPv4-mapped addresses are unmapped.
type Socket struct {
	Local, Remote netip.AddrPort
	State         uint8
	Inode         uint64
}

// ParseSockets parses the text of /proc/net/tcp or /proc/net/tcp6 and
// returns every socket, whatever its state. Unlike ParseNetTCP it decodes
// the remote address too; name is used in errors.
func ParseSockets(name string, data []byte) ([]Socket, error) {
	var out []Socket
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if line == 1 && len(f) > 0 && f[0] == "sl" {
			continue
		}
		if len(f) == 0 {
			continue
		}
		if len(f) < 10 {
			return nil, fmt.Errorf("%s:%d: want at least 10 fields: %q", name, line, snip(sc.Text()))
		}
		local, err := parseHexAddrPort(f[1])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: local address %q: %w", name, line, snip(f[1]), err)
		}
		remote, err := parseHexAddrPort(f[2])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: remote address %q: %w", name, line, snip(f[2]), err)
		}
		st, err := strconv.ParseUint(f[3], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: state %q: %w", name, line, snip(f[3]), err)
		}
		inode, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: inode %q: %w", name, line, snip(f[9]), err)
		}
		out = append(out, Socket{Local: local, Remote: remote, State: uint8(st), Inode: inode})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}

// Established reads net/tcp and net/tcp6 of the /proc tree and returns
// the sockets in state ESTABLISHED, in file order. A missing file (no
// IPv6) is skipped.
func Established(proc fs.FS) ([]Socket, error) {
	socks, err := readSockets(proc)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(socks, func(s Socket) bool { return s.State != StateEstablished }), nil
}

// readSockets reads and parses net/tcp and net/tcp6 of the /proc tree, in
// file order. A missing file (no IPv6) is skipped.
func readSockets(proc fs.FS) ([]Socket, error) {
	var out []Socket
	for _, name := range []string{"net/tcp", "net/tcp6"} {
		data, err := fs.ReadFile(proc, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, err)
		}
		socks, err := ParseSockets(name, data)
		if err != nil {
			return nil, err
		}
		out = append(out, socks...)
	}
	return out, nil
}
