package topcmd

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/netip"
	"strconv"
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

func TestGroupJSONMatchesEncodingJSON(t *testing.T) {
	names := map[string]string{"4134": "CHINANET <backbone> & co", "CN": "China", "DE": "Germany \"quoted\""}
	groupings := map[string]*grouping{
		"prefix": prefixGrouping(24, 64),
		"asn": {
			row: func(k string, s GroupStats) any {
				n, _ := strconv.ParseUint(k, 10, 32)
				return ASNRow{ASN: uint32(n), Org: names[k], GroupStats: s}
			},
		},
		"country": {
			row: func(k string, s GroupStats) any { return CountryRow{Country: k, Name: names[k], GroupStats: s} },
		},
	}
	groupings["asn"].appendLabel = asnLabel(names)
	groupings["country"].appendLabel = countryLabel(names)
	keys := map[string][]string{
		"prefix":  {"203.0.113.0/24", "2001:db8:1:2::/64"},
		"asn":     {"4134", "", "13335"},
		"country": {"CN", "", "DE"},
	}
	t0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	for name, g := range groupings {
		for n := 0; n <= len(keys[name]); n++ {
			stats := make([]GroupStats, n)
			for i := range stats {
				top := []string{"203.0.113.5", "2001:db8::1"}[:i%3%2+i%2]
				stats[i] = GroupStats{Count: int64(1000 - i), Sources: i + 1, FirstSeen: t0, LastSeen: t0.Add(time.Duration(i) * time.Hour), MaxLevel: 10, Top: top}
			}
			rows := make([]any, n)
			for i := range rows {
				rows[i] = g.row(keys[name][i], stats[i])
			}
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rows); err != nil {
				t.Fatal(err)
			}
			if got := g.appendJSON(nil, keys[name][:n], stats); !bytes.Equal(got, want.Bytes()) {
				t.Errorf("%s, %d groups:\n got %s\nwant %s", name, n, got, want.Bytes())
			}
		}
	}
}
