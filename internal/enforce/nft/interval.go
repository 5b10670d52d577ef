//go:build linux

package nft

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/google/nftables"
	"go4.org/netipx"

	"github.com/rampart-ids/rampart/internal/enforce"
)

// commentPrefix starts the comment that carries an element's absolute
// expiry. The kernel only keeps the time left, which drifts between reads;
// the exact time lets Status return what Apply was given, so that applying
// the same set again is a no-op.
const commentPrefix = "expires "

// interval is one set entry as the kernel stores it: the elements [start,
// next) with next invalid when the range runs to the last address of the
// family (nft(8) then writes no end element either).
type interval struct {
	start, next netip.Addr
	expires     time.Time // zero: never
}

// key identifies an interval for diffing; time.Time is not a safe map key.
type intervalKey struct {
	start, next netip.Addr
	expires     int64
}

func (iv interval) key() intervalKey {
	k := intervalKey{start: iv.start, next: iv.next}
	if !iv.expires.IsZero() {
		k.expires = iv.expires.UnixNano()
	}
	return k
}

// intervalOf turns a masked prefix into its interval. Bit arithmetic, not
// netipx: it runs for every entry of every Apply.
func intervalOf(e enforce.Entry) interval {
	p := e.Prefix
	iv := interval{start: p.Addr(), expires: e.Expires}
	if p.Addr().Is4() {
		a := p.Addr().As4()
		v := binary.BigEndian.Uint64([]byte{0, 0, 0, 0, a[0], a[1], a[2], a[3]})
		next := v | (1<<(32-p.Bits()) - 1) + 1
		if next <= math.MaxUint32 {
			iv.next = netip.AddrFrom4([4]byte{byte(next >> 24), byte(next >> 16), byte(next >> 8), byte(next)})
		}
		return iv
	}
	a := p.Addr().As16()
	hi, lo := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])
	if bits := p.Bits(); bits >= 64 {
		lo |= 1<<(128-bits) - 1
	} else {
		lo = math.MaxUint64
		hi |= 1<<(64-bits) - 1
	}
	lo++
	if lo == 0 {
		hi++
		if hi == 0 {
			return iv // the range runs to the last address
		}
	}
	binary.BigEndian.PutUint64(a[:8], hi)
	binary.BigEndian.PutUint64(a[8:], lo)
	iv.next = netip.AddrFrom16(a)
	return iv
}

// prefixes turns the interval back into entries; ranges written by someone
// else need not be prefixes and may yield several.
func (iv interval) entries() []enforce.Entry {
	last := iv.last()
	var out []enforce.Entry
	for _, p := range netipx.IPRangeFrom(iv.start, last).Prefixes() {
		out = append(out, enforce.Entry{Prefix: p, Expires: iv.expires})
	}
	return out
}

func (iv interval) last() netip.Addr {
	if iv.next.IsValid() {
		return iv.next.Prev()
	}
	if iv.start.Is4() {
		return netip.AddrFrom4([4]byte{255, 255, 255, 255})
	}
	return netip.AddrFrom16([16]byte{0: 0xff, 1: 0xff, 2: 0xff, 3: 0xff, 4: 0xff, 5: 0xff, 6: 0xff, 7: 0xff, 8: 0xff, 9: 0xff, 10: 0xff, 11: 0xff, 12: 0xff, 13: 0xff, 14: 0xff, 15: 0xff})
}

// elements encodes the interval as nft(8) does: a start element carrying the
// timeout and comment, and an end element flagged IntervalEnd holding the
// first address after the range. The end element has no timeout: the kernel
// expires the pair through its start.
func (iv interval) elements(now time.Time, withTimeout bool) []nftables.SetElement {
	start := nftables.SetElement{Key: iv.start.AsSlice()}
	if withTimeout && !iv.expires.IsZero() {
		// Round up: a timeout cut short would let the entry vanish
		// before its expiry.
		d := iv.expires.Sub(now)
		start.Timeout = max(d.Truncate(time.Millisecond)+time.Millisecond, time.Millisecond)
		start.Comment = commentPrefix + iv.expires.UTC().Format(time.RFC3339Nano)
	}
	out := []nftables.SetElement{start}
	if iv.next.IsValid() {
		out = append(out, nftables.SetElement{Key: iv.next.AsSlice(), IntervalEnd: true})
	}
	return out
}

// decodeIntervals rebuilds intervals from the elements of one set as the
// kernel dumps them (in no useful order). An end element without a start is
// skipped: nft(8) writes one at address zero, and the end of an expired
// interval lingers until the kernel collects it. A start followed by another
// start means a range open to the family's last address only at the very
// end; anywhere else it is reported, since the set is then not ours to read.
func decodeIntervals(elems []element, is4 bool, now time.Time) ([]interval, error) {
	sorted := slices.Clone(elems)
	for _, e := range sorted {
		if e.addr.Is4() != is4 {
			return nil, fmt.Errorf("element %s is not an %s address", e.addr, familyName(is4))
		}
	}
	// At equal keys the end of one range sorts before the start of the
	// next: adjacent ranges share that address.
	slices.SortFunc(sorted, func(a, b element) int {
		if c := a.addr.Compare(b.addr); c != 0 {
			return c
		}
		return -cmp.Compare(btoi(a.end), btoi(b.end))
	})
	var out []interval
	var open *element
	for i := range sorted {
		e := &sorted[i]
		if e.end {
			if open != nil {
				out = append(out, interval{start: open.addr, next: e.addr, expires: expiry(*open, now)})
				open = nil
			}
			continue
		}
		if open != nil {
			return nil, fmt.Errorf("interval start %s has no end before the next start %s", open.addr, e.addr)
		}
		open = e
	}
	if open != nil {
		out = append(out, interval{start: open.addr, expires: expiry(*open, now)})
	}
	return out, nil
}

// expiry is the absolute expiry of a start element: from Rampart's comment
// when present, else from the time the kernel says is left, rounded up to
// the second as Normalize does.
func expiry(e element, now time.Time) time.Time {
	if s, ok := strings.CutPrefix(e.comment, commentPrefix); ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC()
		}
	}
	if e.timeout == 0 && e.expires == 0 {
		return time.Time{}
	}
	return now.Add(e.expires).UTC().Truncate(time.Second).Add(time.Second)
}

func familyName(is4 bool) string {
	if is4 {
		return "IPv4"
	}
	return "IPv6"
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// chunk splits elements into groups whose encoded size stays well below
// what one netlink attribute can hold (its length is 16 bits; the library
// silently truncates longer ones), so a big set is sent as many NEWSETELEM
// messages inside the one batch.
func chunk(elems []nftables.SetElement) [][]nftables.SetElement {
	const limit = 48 << 10
	var out [][]nftables.SetElement
	size, from := 0, 0
	for i, e := range elems {
		n := elemSize(e)
		if size+n > limit && i > from {
			out = append(out, elems[from:i])
			from, size = i, 0
		}
		size += n
	}
	if from < len(elems) {
		out = append(out, elems[from:])
	}
	return out
}

// elemSize over-estimates the netlink encoding of one element: item header,
// flags, nested key, timeout and comment user data, each padded to 4 bytes.
func elemSize(e nftables.SetElement) int {
	n := 4 + 8 + 8 + align4(len(e.Key)) + 12
	if e.Comment != "" {
		n += 4 + align4(2+len(e.Comment)+1)
	}
	return n
}

func align4(n int) int { return (n + 3) &^ 3 }
