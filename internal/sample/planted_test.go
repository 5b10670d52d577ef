package sample

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/ossec/ossecconf"
)

func TestExp1(t *testing.T) {
	// Exact inputs: −ln(x/2^64) against the float64 logarithm.
	for _, x := range []uint64{1, 3, 1 << 20, 0x123456789abcdef1, 1<<63 | 1, 0xb504f333f9de6485, math.MaxUint64} {
		got := float64(negLn(x)) / (1 << 32)
		want := -math.Log(float64(x) / math.Exp2(64))
		if math.Abs(got-want) > 1e-8 {
			t.Errorf("negLn(%#x) = %.12f, want %.12f", x, got, want)
		}
	}

	// The distribution: mean, variance and the largest distance between
	// the empirical and the exponential distribution function
	// (Kolmogorov–Smirnov; 1.63/√n is its 1% critical value).
	const n = 200_000
	r := newRNG(42)
	xs := make([]float64, n)
	var sum, sum2 float64
	for i := range xs {
		x := float64(r.exp1()) / (1 << 32)
		xs[i] = x
		sum += x
		sum2 += x * x
	}
	mean, variance := sum/n, sum2/n-(sum/n)*(sum/n)
	if math.Abs(mean-1) > 0.01 || math.Abs(variance-1) > 0.03 {
		t.Errorf("exponential variates: mean %.4f, variance %.4f; want 1 and 1", mean, variance)
	}
	slices.Sort(xs)
	var ks float64
	for i, x := range xs {
		f := 1 - math.Exp(-x)
		ks = max(ks, math.Abs(f-float64(i)/n), math.Abs(f-float64(i+1)/n))
	}
	if limit := 1.63 / math.Sqrt(n); ks > limit {
		t.Errorf("Kolmogorov–Smirnov distance %.5f to the exponential distribution, want < %.5f", ks, limit)
	}
}

// generate ranges over the whole sample of cfg and returns its truth and
// every alert time and trigger per source.
func generate(t testing.TB, cfg Config, keep func(*SourceTruth) bool) (*Truth, map[netip.Addr][]alertAt) {
	t.Helper()
	g := Generate(cfg)
	seen := map[netip.Addr][]alertAt{}
	for a := range g.All() {
		if !a.SrcIP.IsValid() {
			continue
		}
		addr := a.SrcIP.Unmap()
		seen[addr] = append(seen[addr], alertAt{t: a.Time, rule: a.RuleID, level: a.Level, groups: slices.Clone(a.Groups)})
	}
	tr := g.Truth()
	for addr := range seen {
		if s := tr.Sources[addr]; s == nil || !keep(s) {
			delete(seen, addr)
		}
	}
	return tr, seen
}

type alertAt struct {
	t      time.Time
	rule   int
	level  int
	groups []string
}

// TestClusterIsLargestPrefix checks, from the truth alone, what "top --by
// prefix" must find: 218.92.0.0/24 holds more alerts than any other /24 or
// /64, by a clear margin, at every size from the shipped 5,000 alerts up.
func TestClusterIsLargestPrefix(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		seed   int64
		alerts int
		dur    time.Duration
		long   bool
	}{
		{1, 5000, 14 * day, false},
		{2, 5000, 14 * day, false},
		{3, 5000, 2 * day, false},
		{4, 8000, 14 * day, false},
		{1, 50_000, 30 * day, false},
		{5, 50_000, 6 * time.Hour, false},
		{1, 300_000, 14 * day, true},
	}
	cluster := netip.MustParsePrefix("218.92.0.0/24")
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d alerts seed %d over %v", tt.alerts, tt.seed, tt.dur), func(t *testing.T) {
			if tt.long && testing.Short() {
				t.Skip("needs 300,000 alerts; skipped with -short")
			}
			g := Generate(Config{Seed: tt.seed, Alerts: tt.alerts, Start: DefaultConfig().Start, Duration: tt.dur})
			for range g.All() {
			}
			sums := map[netip.Prefix]int64{}
			members := 0
			for a, s := range g.Truth().Sources {
				bits := 24
				if a.Is6() {
					bits = 64
				}
				p, _ := a.Prefix(bits)
				sums[p] += s.Count
				if p == cluster {
					members++
				}
			}
			want := sums[cluster]
			if want*100 < int64(tt.alerts)*clusterShare {
				t.Errorf("218.92.0.0/24 holds %d of %d alerts, want at least %d%%", want, tt.alerts, clusterShare)
			}
			if members < 12 || members > 200 {
				t.Errorf("218.92.0.0/24 has %d sources, want 12–200", members)
			}
			for p, n := range sums {
				// "Clearly": a fifth more than any other prefix.
				if p != cluster && n*6 >= want*5 {
					t.Errorf("%s holds %d alerts, 218.92.0.0/24 %d: not clearly the largest", p, n, want)
				}
			}
		})
	}
}

// TestBlocksMatchOSSECConf checks the returners against the shipped
// ossec.conf as OSSEC would apply it: every alert of a returner that the
// config blocks, blocks it for exactly its truth's Block, and the returner
// comes back 3–20 s after that block; between blocks it keeps going at
// 1–4 s. Each of the slow attacker's probes triggers a 600 s block.
func TestBlocksMatchOSSECConf(t *testing.T) {
	conf, probs := ossecconf.Parse("ossec.conf", OSSECConf())
	for _, p := range probs {
		t.Errorf("shipped ossec.conf: %v", p)
	}
	for _, cfg := range []Config{
		DefaultConfig(),
		{Seed: 9, Alerts: 60_000, Start: DefaultConfig().Start, Duration: 30 * 24 * time.Hour},
	} {
		t.Run(fmt.Sprint(cfg.Alerts), func(t *testing.T) {
			tr, seen := generate(t, cfg, func(s *SourceTruth) bool { return s.Kind == Returner || s.Kind == Slow })
			for addr, as := range seen {
				s := tr.Sources[addr]
				blocks := 0
				for i, a := range as {
					d, ok := conf.Block(a.rule, a.level, a.groups)
					if s.Kind == Slow {
						if !ok || d != 600*time.Second {
							t.Errorf("slow attacker %s: rule %d at %v blocks for %v (%t), want 600 s", addr, a.rule, a.t, d, ok)
						}
						continue
					}
					if ok {
						blocks++
						if d != s.Block {
							t.Errorf("returner %s: rule %d blocks for %v in ossec.conf, truth says %v", addr, a.rule, d, s.Block)
						}
					}
					if i+1 == len(as) {
						break
					}
					gap := as[i+1].t.Sub(a.t)
					lo, hi := time.Second, 4*time.Second
					if ok {
						lo, hi = d+3*time.Second, d+20*time.Second
					}
					if gap < lo || gap > hi {
						t.Errorf("returner %s: next alert %v after rule %d (block %v, %t), want %v–%v", addr, gap, a.rule, d, ok, lo, hi)
					}
				}
				if s.Kind == Returner && blocks < 7 {
					t.Errorf("returner %s: %d blocks, want at least 7 (6 returns)", addr, blocks)
				}
			}
		})
	}
}

// TestSlowIsPoisson checks the slow attacker at a size where its gaps are
// many: they are exponential (a Poisson process) with the planned mean.
func TestSlowIsPoisson(t *testing.T) {
	cfg := Config{Seed: 11, Alerts: 80_000, Start: DefaultConfig().Start, Duration: 60 * 24 * time.Hour}
	tr, seen := generate(t, cfg, func(s *SourceTruth) bool { return s.Kind == Slow })
	if len(seen) != 1 {
		t.Fatalf("%d slow attackers, want 1", len(seen))
	}
	for addr, as := range seen {
		s := tr.Sources[addr]
		k := int64(cfg.Alerts / 80)
		if n := s.Count; n < k*8/10 || n > k*12/10 {
			t.Errorf("slow attacker %s: %d alerts, want about %d", addr, n, k)
		}
		mean := cfg.Duration.Seconds() / float64(k)
		var gaps []float64
		for i := 1; i < len(as); i++ {
			gaps = append(gaps, as[i].t.Sub(as[i-1].t).Seconds())
		}
		slices.SortFunc(gaps, cmp.Compare)
		n := float64(len(gaps))
		var ks float64
		for i, g := range gaps {
			// Times are whole seconds: compare with the distribution
			// function at the gap's upper end.
			f := 1 - math.Exp(-(g+0.5)/mean)
			ks = max(ks, math.Abs(f-float64(i)/n), math.Abs(f-float64(i+1)/n))
		}
		if limit := 1.63 / math.Sqrt(n); ks > limit {
			t.Errorf("slow attacker %s: gaps at distance %.4f from an exponential of mean %.0f s, want < %.4f", addr, ks, mean, limit)
		}
	}
}
