package web

import (
	"net/netip"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/analytics/cadence"
)

func TestBarChart(t *testing.T) {
	tests := []struct {
		name   string
		counts []int64
		ticks  []string
	}{
		{"empty", nil, []string{"0", "1"}},
		{"zeros", []int64{0, 0, 0}, []string{"0", "1"}},
		{"small", []int64{3, 0, 30}, []string{"0", "10", "20", "30"}},
		{"hundreds", []int64{580, 12, 200}, []string{"0", "200", "400", "600"}},
		{"thousands", []int64{16968, 2000}, []string{"0", "5k", "10k", "15k", "20k"}},
		{"millions", []int64{1_500_000}, []string{"0", "500k", "1M", "1.5M"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			values := make([]chartValue, len(tt.counts))
			for i, n := range tt.counts {
				values[i] = chartValue{Label: "b", Count: n}
			}
			c := barChart("x", "label", "caption", values)
			if len(c.Bars) != len(tt.counts) {
				t.Fatalf("%d bars for %d values", len(c.Bars), len(tt.counts))
			}
			var labels []string
			for _, tk := range c.Ticks {
				labels = append(labels, tk.Label)
			}
			if len(labels) != len(tt.ticks) {
				t.Fatalf("ticks %q, want %q", labels, tt.ticks)
			}
			for i := range labels {
				if labels[i] != tt.ticks[i] {
					t.Fatalf("ticks %q, want %q", labels, tt.ticks)
				}
			}
			top := c.Ticks[len(c.Ticks)-1]
			for i, b := range c.Bars {
				if b.Y+b.H != c.Base || b.Y < top.Y-0.01 || b.X < c.X0 || b.X+b.W > c.X1+0.01 {
					t.Errorf("bar %d %+v outside the plot [%v,%v]×[%v,%v]", i, b, c.X0, c.X1, top.Y, c.Base)
				}
				if (tt.counts[i] == 0) != (b.H == 0) {
					t.Errorf("bar %d of count %d has height %v", i, tt.counts[i], b.H)
				}
			}
		})
	}
}

func TestFormats(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 45 * time.Second: "45s", 10 * time.Minute: "10m", 611 * time.Second: "10m11s", 90 * time.Minute: "1h30m",
		48 * time.Hour: "2d", 30*time.Hour + 5*time.Second: "1d6h5s", cadence.Permanent: "permanent",
	} {
		if got := fmtDur(d); got != want {
			t.Errorf("fmtDur(%v) = %q, want %q", d, got, want)
		}
	}
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 3000000: "3,000,000", -1234: "-1,234"} {
		if got := fmtInt(n); got != want {
			t.Errorf("fmtInt(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestGroupPrefixesMatchesGroupBy(t *testing.T) {
	var sources []analytics.SourceCount
	base := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	// Sources in /24s and /64s of one to seven members, many counts
	// equal, so that ties are ordered by the prefix's text.
	for i := range 400 {
		var a netip.Addr
		if i%5 == 0 {
			a = netip.AddrFrom16([16]byte{0x2a, 0x01, 0x4f, 0x8, 0, byte(i % 7), 0, byte(i % 3), 9: byte(i), 15: byte(i >> 3)})
		} else {
			a = netip.AddrFrom4([4]byte{byte(10 + i%9), byte(i % 4), byte(i % 11), byte(i)})
		}
		sources = append(sources, analytics.SourceCount{Addr: a, Count: int64(1 + i%6), FirstSeen: base.Add(time.Duration(i) * time.Hour),
			LastSeen: base.Add(time.Duration(i*i) * time.Minute), MaxLevel: i % 13, Rules: 1})
	}
	sources = analytics.Finish(sources, analytics.Selection{})
	want := analytics.GroupBy(sources, func(a netip.Addr) (string, bool) { return prefixOf(a).String(), true })
	got := groupPrefixes(sources)
	addrEq := gocmp.Comparer(func(a, b netip.Addr) bool { return a == b })
	if diff := gocmp.Diff(want, got, cmpopts.EquateEmpty(), addrEq); diff != "" {
		t.Errorf("groupPrefixes differs from analytics.GroupBy (-want +got):\n%s", diff)
	}
	if len(got) < 50 || len(got) == len(sources) {
		t.Fatalf("%d groups of %d sources: the test data should make groups of several members", len(got), len(sources))
	}
}
