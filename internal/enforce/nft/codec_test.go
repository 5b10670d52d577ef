//go:build linux

package nft

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables"
	"github.com/mdlayher/netlink"
	"go4.org/netipx"
	"golang.org/x/sys/unix"

	"github.com/rampart-ids/rampart/internal/enforce"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

// asDumped turns encoded elements into what a dump returns.
func asDumped(els []nftables.SetElement) []element {
	var out []element
	for _, e := range els {
		a, _ := netip.AddrFromSlice(e.Key)
		out = append(out, element{addr: a, end: e.IntervalEnd, timeout: e.Timeout, expires: e.Timeout, comment: e.Comment})
	}
	return out
}

func TestIntervalOf(t *testing.T) {
	for _, s := range []string{"0.0.0.0/0", "10.0.0.0/8", "192.0.2.7/32", "255.255.255.255/32", "255.255.255.0/24",
		"128.0.0.0/1", "::/0", "2001:db8::/32", "2001:db8:1:2::/64", "2001:db8::/63", "2001:db8::8000:0:0:0/65",
		"2001:db8::1/128", "ffff:ffff:ffff:ffff::/64", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "8000::/1"} {
		p := netip.MustParsePrefix(s)
		iv := intervalOf(enforce.Entry{Prefix: p})
		last := netipx.PrefixLastIP(p)
		if iv.start != p.Addr() || iv.next != last.Next() {
			t.Errorf("intervalOf(%s) = [%s, %s), want [%s, %s)", s, iv.start, iv.next, p.Addr(), last.Next())
		}
		if got := iv.entries(); len(got) != 1 || got[0].Prefix != p {
			t.Errorf("intervalOf(%s).entries() = %v", s, got)
		}
	}
}

func FuzzIntervalRoundTrip(f *testing.F) {
	for _, s := range []string{"0.0.0.0/0", "255.255.255.255/32", "2001:db8::/63", "::/0"} {
		p := netip.MustParsePrefix(s)
		f.Add(p.Addr().AsSlice(), p.Bits())
	}
	f.Fuzz(func(t *testing.T, b []byte, bits int) {
		a, ok := netip.AddrFromSlice(b)
		if !ok || bits < 0 || bits > a.BitLen() {
			return
		}
		p := netip.PrefixFrom(a, bits).Masked()
		iv := intervalOf(enforce.Entry{Prefix: p})
		if iv.next != netipx.PrefixLastIP(p).Next() {
			t.Fatalf("%s: next %s, want %s", p, iv.next, netipx.PrefixLastIP(p).Next())
		}
		ivs, err := decodeIntervals(asDumped(iv.elements(t0, true)), a.Is4(), t0)
		if err != nil || len(ivs) != 1 || ivs[0] != iv {
			t.Fatalf("%s: decoded %v, %v", p, ivs, err)
		}
	})
}

func TestDecodeIntervals(t *testing.T) {
	exp := t0.Add(time.Hour)
	ivAt := func(p string, e time.Time) interval {
		return intervalOf(enforce.Entry{Prefix: netip.MustParsePrefix(p), Expires: e})
	}
	enc := func(ivs ...interval) []element {
		var out []element
		for _, iv := range ivs {
			out = append(out, asDumped(iv.elements(t0, true))...)
		}
		return out
	}
	el := func(a string, end bool) element { return element{addr: netip.MustParseAddr(a), end: end} }
	tests := []struct {
		name string
		in   []element
		is4  bool
		want []string // prefix[@expiry offset]
		err  string
	}{
		{"ours", enc(ivAt("192.0.2.0/24", time.Time{}), ivAt("198.51.100.7/32", exp)), true, []string{"192.0.2.0/24", "198.51.100.7/32@1h0m0s"}, ""},
		{"adjacent with different expiry", enc(ivAt("10.0.0.128/26", exp), ivAt("10.0.0.0/25", time.Time{})), true, []string{"10.0.0.0/25", "10.0.0.128/26@1h0m0s"}, ""},
		{"open to the last address", enc(ivAt("255.255.255.0/24", time.Time{})), true, []string{"255.255.255.0/24"}, ""},
		{"nft's zero end element", append([]element{el("0.0.0.0", true)}, enc(ivAt("10.0.0.0/8", time.Time{}))...), true, []string{"10.0.0.0/8"}, ""},
		{"orphan end of an expired range", []element{el("10.0.0.0", false), el("10.0.0.4", true), el("10.0.0.9", true)}, true, []string{"10.0.0.0/30"}, ""},
		{"range that is not a prefix", []element{el("10.0.0.1", false), el("10.0.0.4", true)}, true, []string{"10.0.0.1/32", "10.0.0.2/31"}, ""},
		{"ipv6", enc(ivAt("2001:db8::/64", exp), ivAt("ffff::/16", time.Time{})), false, []string{"2001:db8::/64@1h0m0s", "ffff::/16"}, ""},
		{"start without end", []element{el("10.0.0.0", false), el("10.0.0.8", false), el("10.0.0.9", true)}, true, nil, "no end"},
		{"wrong family", []element{el("2001:db8::", false)}, true, nil, "not an IPv4"},
		{"kernel time left only", []element{{addr: netip.MustParseAddr("10.0.0.0"), timeout: time.Hour, expires: 30*time.Minute - 300*time.Millisecond}, el("10.0.0.1", true)}, true, []string{"10.0.0.0/32@30m0s"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ivs, err := decodeIntervals(tt.in, tt.is4, t0)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, iv := range ivs {
				for _, e := range iv.entries() {
					s := e.Prefix.String()
					if !e.Expires.IsZero() {
						s += "@" + e.Expires.Sub(t0).String()
					}
					got = append(got, s)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestDesiredRefuses(t *testing.T) {
	tests := []struct {
		name string
		in   []enforce.Entry
		err  string
	}{
		{"invalid", []enforce.Entry{{}}, `entry 0: invalid prefix "invalid Prefix"`},
		{"host bits", entries("192.0.2.7/24"), `entry 0: prefix "192.0.2.7/24" has host bits set (want "192.0.2.0/24")`},
		{"mapped", entries("::ffff:192.0.2.7/128"), "IPv4-mapped"},
		{"overlap", entries("10.0.0.0/8", "10.1.0.0/16"), `prefixes "10.0.0.0-10.255.255.255" and "10.1.0.0-10.1.255.255" overlap`},
		{"overlap at the top", entries("255.0.0.0/8", "255.255.0.0/16"), "overlap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := desired(tt.in, t0)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("err = %v, want %q", err, tt.err)
			}
		})
	}
	v4, v6, err := desired([]enforce.Entry{{Prefix: netip.MustParsePrefix("192.0.2.1/32"), Expires: t0}, {Prefix: netip.MustParsePrefix("2001:db8::/64")}}, t0)
	if err != nil || len(v4) != 0 || len(v6) != 1 {
		t.Errorf("expired entry not left out: %v %v %v", v4, v6, err)
	}
}

func TestDiff(t *testing.T) {
	iv := func(p string, h int) interval {
		var e time.Time
		if h > 0 {
			e = t0.Add(time.Duration(h) * time.Hour)
		}
		return intervalOf(enforce.Entry{Prefix: netip.MustParsePrefix(p), Expires: e})
	}
	want := []interval{iv("10.0.0.0/32", 0), iv("10.0.0.2/32", 2), iv("10.0.0.4/32", 0), iv("10.0.0.9/32", 0)}
	have := []interval{iv("10.0.0.0/32", 0), iv("10.0.0.2/32", 1), iv("10.0.0.3/32", 0), iv("10.0.0.9/32", 0)}
	add, del, kept := diff(want, have)
	allow := cmp.AllowUnexported(interval{})
	if kept != 2 || !cmp.Equal(add, []interval{want[1], want[2]}, allow, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })) ||
		!cmp.Equal(del, []interval{have[1], have[2]}, allow, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })) {
		t.Errorf("diff = add %v, del %v, kept %d", add, del, kept)
	}
}

// TestBatchRecorded checks, without root, what goes over the wire for a big
// apply: one batch (BEGIN … END in one send, so one transaction), its
// elements split over many messages that each decode completely. It also
// pins down why the split is ours to do: the library puts a whole
// SetAddElements call into one attribute whose 16-bit length wraps.
func TestBatchRecorded(t *testing.T) {
	e, err := New(Options{Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	var set []enforce.Entry
	for i := range 30_000 {
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 16), byte(i >> 8), byte(i)})
		set = append(set, enforce.Entry{Prefix: netip.PrefixFrom(a, 64), Expires: t0.Add(time.Hour)})
	}
	_, want6, err := desired(set, t0)
	if err != nil {
		t.Fatal(err)
	}
	set4, set6 := e.sets()
	var b batch
	e.setup(&b, set4, set6, state{})
	b.elems(set6, want6, t0, false)

	var sends [][]netlink.Message
	conn, err := nftables.New(nftables.WithTestDial(func(req []netlink.Message) ([]netlink.Message, error) {
		if len(req) > 0 { // nltest calls with nil to emulate a receive
			sends = append(sends, req)
		}
		return req, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range b.ops {
		if err := op(conn); err != nil {
			t.Fatal(err)
		}
	}
	if err := conn.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(sends) != 1 {
		t.Fatalf("flush made %d sends, want 1", len(sends))
	}
	msgs := sends[0]
	if msgs[0].Header.Type != unix.NFNL_MSG_BATCH_BEGIN || msgs[len(msgs)-1].Header.Type != unix.NFNL_MSG_BATCH_END {
		t.Errorf("batch is not framed by BEGIN … END: first %v, last %v", msgs[0].Header.Type, msgs[len(msgs)-1].Header.Type)
	}
	var elems, elemMsgs int
	for i, m := range msgs[1 : len(msgs)-1] {
		if m.Header.Type == netlink.HeaderType(unix.NFNL_MSG_BATCH_BEGIN) || m.Header.Type == netlink.HeaderType(unix.NFNL_MSG_BATCH_END) {
			t.Errorf("message %d: a second batch boundary", i+1)
		}
		if m.Header.Type != nftMsg(unix.NFT_MSG_NEWSETELEM) {
			continue
		}
		elemMsgs++
		got, err := appendElements(nil, m.Data[4:])
		if err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
		elems += len(got)
	}
	if elems != 2*len(set) || elemMsgs < 2 {
		t.Errorf("%d elements in %d messages, want %d elements in several", elems, elemMsgs, 2*len(set))
	}

	// The library alone: one message, a wrapped attribute length.
	var all []nftables.SetElement
	for _, iv := range want6 {
		all = append(all, iv.elements(t0, true)...)
	}
	set6.ID = 0
	lib, _ := nftables.New(nftables.WithTestDial(func(req []netlink.Message) ([]netlink.Message, error) {
		for _, m := range req {
			if m.Header.Type == nftMsg(unix.NFT_MSG_NEWSETELEM) {
				got, _ := appendElements(nil, m.Data[4:])
				if len(got) == len(all) {
					t.Errorf("the library encoded %d elements in one message intact: splitting may no longer be needed", len(all))
				}
			}
		}
		return req, nil
	}))
	set6.ID = 2
	if err := lib.SetAddElements(set6, all); err != nil {
		t.Fatal(err)
	}
	if err := lib.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestChunk(t *testing.T) {
	var els []nftables.SetElement
	for i := range 10_000 {
		els = append(els, nftables.SetElement{Key: make([]byte, 16), Comment: strings.Repeat("x", i%40)})
	}
	total := 0
	for _, c := range chunk(els) {
		size := 0
		for _, e := range c {
			size += elemSize(e)
		}
		if size > 60_000 {
			t.Errorf("chunk of %d bytes", size)
		}
		total += len(c)
	}
	if total != len(els) {
		t.Errorf("chunks hold %d elements, want %d", total, len(els))
	}
}
