package peers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/federation"
)

// benchEntries makes n distinct feed entries: bans with alert summaries,
// addresses and a few /24s and /48s.
func benchEntries(r *rand.Rand, n int, now time.Time) []federation.FeedEntry {
	seen := make(map[netip.Prefix]bool, n)
	out := make([]federation.FeedEntry, 0, n)
	for len(out) < n {
		var p netip.Prefix
		switch r.IntN(20) {
		case 0:
			p = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(11 + r.IntN(200)), byte(r.UintN(256)), byte(r.UintN(256)), 0}), 24)
		case 1:
			var b [16]byte
			b[0], b[1], b[2], b[3], b[4], b[5] = 0x2a, 0x01, byte(r.UintN(256)), byte(r.UintN(256)), byte(r.UintN(256)), byte(r.UintN(256))
			p = netip.PrefixFrom(netip.AddrFrom16(b), 48)
		default:
			p = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(11 + r.IntN(200)), byte(r.UintN(256)), byte(r.UintN(256)), byte(1 + r.IntN(254))}), 32)
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		alerts := 1 + r.IntN(300)
		out = append(out, federation.FeedEntry{Prefix: p, Alerts: alerts, Levels: federation.Levels{5: alerts}, Groups: map[string]int{"sshd": alerts, "authentication_failed": alerts},
			First: now.Add(-time.Hour), Last: now, Banned: true, Expires: now.Add(time.Duration(1+r.IntN(24)) * time.Hour)})
	}
	return out
}

func benchPuller(b *testing.B, peers ...string) *Puller {
	cfg := Default()
	for _, n := range peers {
		cfg.Peers = append(cfg.Peers, Peer{Name: n, Trust: 0.6, Wait: DefaultWait})
	}
	p, err := New(Options{Config: cfg, Store: &memStore{}})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkMergeFeed100k is the figure: a peer's full feed of
// 100,000 entries, verified, decoded, merged and evaluated into verdicts
// (target ≤ 1 s). With "banned=all" a second peer holds the same sources,
// so every verdict also becomes a decision (built with its provenance and
// stored, here in memory): the cost of a first merge that bans 100,000
// sources at once, shown beside it.
func BenchmarkMergeFeed100k(b *testing.B) {
	const n = 100_000
	now := time.Now().UTC()
	s := signer(b, 1)
	all := benchEntries(rand.New(rand.NewPCG(1, 2)), 2*n, now)
	es, others := all[:n], all[n:]
	body, err := federation.SignFeed(s, federation.Feed{Version: 1, Generated: now, Entries: es})
	if err != nil {
		b.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		other []federation.FeedEntry
		bans  int
	}{{"banned=none", others, 0}, {"banned=all", es, n}} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportMetric(float64(len(body))/1e6, "feed-MB")
			for b.Loop() {
				b.StopTimer()
				p := benchPuller(b, "a", "b")
				p.applyFeed("b", federation.Feed{Version: 1, Generated: now, Entries: tt.other})
				if err := p.evaluate(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				f, err := federation.VerifyFeed(s.Public(), body)
				if err != nil {
					b.Fatal(err)
				}
				p.applyFeed("a", f)
				if err := p.evaluate(context.Background()); err != nil {
					b.Fatal(err)
				}
				if p.bans != tt.bans {
					b.Fatalf("%d bans, want %d", p.bans, tt.bans)
				}
			}
		})
	}
}

// BenchmarkDelta shows that a steady-state delta costs O(changes): the time
// per delta grows with the changes it carries, not with the entries the
// peer holds.
func BenchmarkDelta(b *testing.B) {
	for _, held := range []int{10_000, 100_000} {
		for _, changes := range []int{10, 100, 1000} {
			b.Run(fmt.Sprintf("held=%d/changes=%d", held, changes), func(b *testing.B) {
				now := time.Now().UTC()
				s := signer(b, 1)
				r := rand.New(rand.NewPCG(3, 4))
				es := benchEntries(r, held+changes*64, now)
				base, pool := es[:held], es[held:]
				p := benchPuller(b, "a", "b")
				p.applyFeed("a", federation.Feed{Version: 1, Generated: now, Entries: base})
				p.applyFeed("b", federation.Feed{Version: 1, Generated: now, Entries: base})
				if err := p.evaluate(context.Background()); err != nil {
					b.Fatal(err)
				}
				// Deltas prepared up front: each adds `changes` new
				// sources and withdraws as many, at peer a.
				const rounds = 32
				bodies := make([][]byte, rounds)
				for i := range rounds {
					d := federation.FeedDelta{From: uint64(1 + i), To: uint64(2 + i), Generated: now,
						Changed: pool[i*changes : (i+1)*changes]}
					for j := range changes / 2 {
						d.Withdrawn = append(d.Withdrawn, base[(i*changes+j)%held].Prefix)
					}
					var err error
					if bodies[i], err = federation.SignFeedDelta(s, d); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				i := 0
				for b.Loop() {
					if i == rounds {
						b.StopTimer()
						// Start over from the base: peer a's feed again.
						p.applyFeed("a", federation.Feed{Version: 1, Generated: now, Entries: base})
						if err := p.evaluate(context.Background()); err != nil {
							b.Fatal(err)
						}
						i = 0
						b.StartTimer()
					}
					d, err := federation.VerifyFeedDelta(s.Public(), bodies[i])
					if err != nil {
						b.Fatal(err)
					}
					p.applyDelta("a", d)
					if err := p.evaluate(context.Background()); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}
