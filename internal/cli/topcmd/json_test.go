package topcmd

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 6 {
		rows := make([]Row, n*3)
		for i := range rows {
			var ip netip.Addr
			if rng.IntN(2) == 0 {
				ip = netip.AddrFrom4([4]byte{byte(rng.Uint32()), byte(rng.Uint32()), 0, byte(rng.Uint32())})
			} else {
				var a [16]byte
				a[0], a[1], a[15] = 0x20, 0x01, byte(rng.Uint32())
				ip = netip.AddrFrom16(a)
			}
			first := time.Unix(rng.Int64N(4e9), 0).UTC()
			rows[i] = Row{IP: ip.String(), Count: rng.Int64N(1 << 40), FirstSeen: first, LastSeen: first.Add(time.Duration(rng.Int64N(1e15))),
				MaxLevel: rng.IntN(17), Rules: rng.IntN(1000)}
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			t.Fatal(err)
		}
		if got := appendJSON(nil, rows); !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%d rows:\n got %s\nwant %s", len(rows), got, want.Bytes())
		}
	}
}
