package libwrap

import (
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestParseSockets(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("fixtures require a little-endian machine")
	}
	const rest = " 00000000:00000000 00:00000000 00000000     0        0 "
	tcp := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n" +
		"   0: 00000000:0016 00000000:0000 0A" + rest + "11 1\n" +
		"   1: 0A02000A:0016 076433C6:C822 01" + rest + "12 1\n" +
		"   2: 0A02000A:0016 4D7100CB:C351 06" + rest + "0 3\n"
	tcp6 := "   0: 0000000000000000FFFF00000A02000A:0016 0000000000000000FFFF0000086433C6:C864 01" + rest + "21 1\n" +
		"   1: B80D0120000000000000000001000000:0016 B80D01200000FFFF0000000099000000:9C41 01" + rest + "22 1\n"
	ap := netip.MustParseAddrPort
	want := []Socket{
		{ap("0.0.0.0:22"), ap("0.0.0.0:0"), StateListen, 11},
		{ap("10.0.2.10:22"), ap("198.51.100.7:51234"), StateEstablished, 12},
		{ap("10.0.2.10:22"), ap("203.0.113.77:50001"), 0x06, 0},
	}
	got, err := ParseSockets("tcp", []byte(tcp))
	if err != nil {
		t.Fatal(err)
	}
	eq := cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })
	if diff := cmp.Diff(want, got, eq); diff != "" {
		t.Errorf("ParseSockets (-want +got):\n%s", diff)
	}
	est, err := Established(fstest.MapFS{"net/tcp": {Data: []byte(tcp)}, "net/tcp6": {Data: []byte(tcp6)}})
	if err != nil {
		t.Fatal(err)
	}
	wantEst := []Socket{want[1],
		{ap("10.0.2.10:22"), ap("198.51.100.8:51300"), StateEstablished, 21},
		{ap("[2001:db8::1]:22"), ap("[2001:db8:ffff::99]:40001"), StateEstablished, 22},
	}
	if diff := cmp.Diff(wantEst, est, eq); diff != "" {
		t.Errorf("Established (-want +got):\n%s", diff)
	}
	if est, err := Established(fstest.MapFS{}); err != nil || len(est) != 0 {
		t.Errorf("Established(no files) = %v, %v", est, err)
	}
	for _, bad := range []string{
		"   0: 0100007F:6448 00000000:0000 01 0",
		"   0: 0100007F:6448 0000000:0000 01 00000000:00000000 00:00000000 00000000 0 0 1 1",
		"   0: 0100007F:6448 00000000:0000 1G 00000000:00000000 00:00000000 00000000 0 0 1 1",
		"   0: 0100007F:6448 00000000:0000 01 00000000:00000000 00:00000000 00000000 0 0 x 1",
	} {
		if _, err := ParseSockets("tcp", []byte(bad)); err == nil || !strings.HasPrefix(err.Error(), "tcp:1: ") {
			t.Errorf("ParseSockets(%q) error = %v, want one naming tcp:1", bad, err)
		}
	}
}

func FuzzParseSockets(f *testing.F) {
	for _, name := range []string{"net_tcp", "net_tcp6"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		socks, err := ParseSockets("fuzz", data)
		if err != nil {
			return
		}
		listening := 0
		for _, s := range socks {
			if !s.Local.IsValid() || !s.Remote.IsValid() || s.Remote.Addr().Is4In6() {
				t.Fatalf("bad socket %+v from %q", s, data)
			}
			if s.State == StateListen {
				listening++
			}
		}
		// ParseNetTCP is the listening part of the same parse.
		ls, err := ParseNetTCP("fuzz", data)
		if err != nil || len(ls) != listening {
			t.Fatalf("ParseNetTCP = %d listeners, %v; ParseSockets has %d listening", len(ls), err, listening)
		}
		for _, l := range ls {
			if !l.Addr.IsValid() {
				t.Fatalf("invalid address from %q", data)
			}
		}
	})
}
