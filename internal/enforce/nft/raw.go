//go:build linux

package nft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// The library's element dump reads the socket with page-sized buffers. The
// kernel fills each dump round up to the reader's last buffer size and
// restarts the set walk from the first element every round, so small
// buffers make a dump quadratic: 1.6 s for 100,000 intervals, where nft(8)
// takes 0.35 s. This reader asks with 1 MiB buffers (the kernel caps a round
// at 32 KiB) and decodes without the per-element allocations.

// element is one set element as dumped: an address, whether it ends an
// interval, and for starts the timeout, time left and comment.
type element struct {
	addr             netip.Addr
	end              bool
	timeout, expires time.Duration
	comment          string
}

const recvBuf = 1 << 20

// errInterrupted: a commit happened during the dump, whose rounds may then
// mix two generations. The kernel flags it; the reader starts over.
var errInterrupted = errors.New("set dump interrupted by a commit")

// rawConn is a netlink socket for the two reads the library lacks or does
// slowly: the ruleset generation and set element dumps.
type rawConn struct {
	c *netlink.Conn
}

func dialRaw(netns int) (*rawConn, error) {
	c, err := netlink.Dial(unix.NETLINK_NETFILTER, &netlink.Config{NetNS: netns})
	if err != nil {
		return nil, fmt.Errorf("open netlink: %w", explain(err))
	}
	return &rawConn{c: c}, nil
}

func (r *rawConn) Close() error { return r.c.Close() }

func nftMsg(typ int) netlink.HeaderType {
	return netlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | typ)
}

// gen returns the ruleset generation: the kernel bumps it at every commit
// in the namespace, whoever makes it.
func (r *rawConn) gen() (uint32, error) {
	msgs, err := r.c.Execute(netlink.Message{
		Header: netlink.Header{Type: nftMsg(unix.NFT_MSG_GETGEN), Flags: netlink.Request},
		Data:   []byte{unix.AF_UNSPEC, unix.NFNETLINK_V0, 0, 0},
	})
	if err != nil {
		return 0, fmt.Errorf("read ruleset generation: %w", explain(err))
	}
	for _, m := range msgs {
		if len(m.Data) < 4 {
			continue
		}
		ad, err := netlink.NewAttributeDecoder(m.Data[4:])
		if err != nil {
			return 0, fmt.Errorf("read ruleset generation: %w", err)
		}
		ad.ByteOrder = binary.BigEndian
		for ad.Next() {
			if ad.Type() == unix.NFTA_GEN_ID {
				return ad.Uint32(), nil
			}
		}
	}
	return 0, errors.New("read ruleset generation: no generation in the kernel's answer")
}

// elements dumps the elements of one set of an inet table.
func (r *rawConn) elements(table, set string) ([]element, error) {
	attrs, err := netlink.MarshalAttributes([]netlink.Attribute{
		{Type: unix.NFTA_SET_ELEM_LIST_TABLE, Data: append([]byte(table), 0)},
		{Type: unix.NFTA_SET_ELEM_LIST_SET, Data: append([]byte(set), 0)},
	})
	if err != nil {
		return nil, err
	}
	req, err := r.c.Send(netlink.Message{
		Header: netlink.Header{Type: nftMsg(unix.NFT_MSG_GETSETELEM), Flags: netlink.Request | netlink.Dump},
		Data:   append([]byte{unix.NFPROTO_INET, unix.NFNETLINK_V0, 0, 0}, attrs...),
	})
	if err != nil {
		return nil, fmt.Errorf("dump set %s: %w", set, explain(err))
	}
	raw, err := r.c.SyscallConn()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, recvBuf)
	var out []element
	for {
		var n int
		var rerr error
		err := raw.Read(func(fd uintptr) bool {
			n, _, _, _, rerr = unix.Recvmsg(int(fd), buf, nil, 0)
			return rerr != unix.EAGAIN
		})
		if err == nil {
			err = rerr
		}
		if err != nil {
			return nil, fmt.Errorf("dump set %s: %w", set, explain(err))
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return nil, fmt.Errorf("dump set %s: %w", set, err)
		}
		for _, m := range msgs {
			if m.Header.Seq != req.Header.Sequence {
				continue
			}
			if m.Header.Flags&unix.NLM_F_DUMP_INTR != 0 {
				return nil, errInterrupted
			}
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if len(m.Data) < 4 {
					return nil, fmt.Errorf("dump set %s: short error message", set)
				}
				if errno := -int32(binary.NativeEndian.Uint32(m.Data)); errno != 0 {
					return nil, fmt.Errorf("dump set %s: %w", set, explain(unix.Errno(errno)))
				}
				return out, nil
			}
			if len(m.Data) < 4 {
				continue
			}
			out, err = appendElements(out, m.Data[4:])
			if err != nil {
				return nil, fmt.Errorf("dump set %s: %w", set, err)
			}
		}
	}
}

// attrs walks netlink attributes: fn gets each type (flags masked off)
// and payload.
func attrs(b []byte, fn func(typ uint16, data []byte) error) error {
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		typ := binary.NativeEndian.Uint16(b[2:]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
		if l < 4 || l > len(b) {
			return fmt.Errorf("malformed netlink attribute (length %d of %d bytes)", l, len(b))
		}
		if err := fn(typ, b[4:l]); err != nil {
			return err
		}
		b = b[min(align4(l), len(b)):]
	}
	return nil
}

func appendElements(out []element, b []byte) ([]element, error) {
	err := attrs(b, func(typ uint16, data []byte) error {
		if typ != unix.NFTA_SET_ELEM_LIST_ELEMENTS {
			return nil
		}
		// Any type, as the kernel reads it: the kernel writes
		// NFTA_LIST_ELEM, the library numbers the elements.
		return attrs(data, func(_ uint16, data []byte) error {
			e, err := decodeElement(data)
			if err != nil {
				return err
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

func decodeElement(b []byte) (element, error) {
	var e element
	err := attrs(b, func(typ uint16, data []byte) error {
		switch typ {
		case unix.NFTA_SET_ELEM_KEY:
			return attrs(data, func(typ uint16, data []byte) error {
				if typ == unix.NFTA_DATA_VALUE {
					a, ok := netip.AddrFromSlice(data)
					if !ok {
						return fmt.Errorf("element key %x is not an address", data)
					}
					e.addr = a
				}
				return nil
			})
		case unix.NFTA_SET_ELEM_FLAGS:
			if len(data) == 4 {
				e.end = binary.BigEndian.Uint32(data)&unix.NFT_SET_ELEM_INTERVAL_END != 0
			}
		case unix.NFTA_SET_ELEM_TIMEOUT:
			if len(data) == 8 {
				e.timeout = time.Duration(binary.BigEndian.Uint64(data)) * time.Millisecond
			}
		case unix.NFTA_SET_ELEM_EXPIRATION:
			if len(data) == 8 {
				e.expires = time.Duration(binary.BigEndian.Uint64(data)) * time.Millisecond
			}
		case unix.NFTA_SET_ELEM_USERDATA:
			e.comment = udataComment(data)
		}
		return nil
	})
	if err == nil && !e.addr.IsValid() {
		err = errors.New("set element without a key")
	}
	return e, err
}

// udataComment finds the comment in libnftnl's user data: type, length,
// value triples; the comment is type 0 and NUL-terminated.
func udataComment(b []byte) string {
	for len(b) >= 2 {
		typ, l := b[0], int(b[1])
		if 2+l > len(b) {
			return ""
		}
		if typ == 0 {
			v := b[2 : 2+l]
			for len(v) > 0 && v[len(v)-1] == 0 {
				v = v[:len(v)-1]
			}
			return string(v)
		}
		b = b[2+l:]
	}
	return ""
}
