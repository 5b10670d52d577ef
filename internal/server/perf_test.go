package server

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/blocklist"
	"github.com/rampart-ids/rampart/internal/serverdb"
)

// benchServer is a server over n decisions (addresses of 198.18.0.0/15)
// and an agent token.
func benchServer(b *testing.B, n int) (*Server, string, time.Time) {
	b.Helper()
	db, err := serverdb.Open(b.Context(), filepath.Join(b.TempDir(), "state.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	signer, _ := blocklist.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)))
	now := time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC)
	key, digest := NewToken()
	if _, err := db.CreateToken(b.Context(), "bench", api.RoleAgent, digest, now); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i += 5000 {
		ds := make([]api.Decision, min(5000, n-i))
		for j := range ds {
			k := i + j
			ds[j] = api.Decision{Value: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18 + byte(k>>16), byte(k >> 8), byte(k)}), 32),
				Origin: "policy", Rule: "ssh", Reason: "bench", Expires: now.Add(4 * time.Hour)}
		}
		if _, _, err := db.AddDecisions(b.Context(), ds, now); err != nil {
			b.Fatal(err)
		}
	}
	// The server's clock runs a minute after the decisions were made.
	srv, err := New(b.Context(), Options{DB: db, Signer: signer, Now: func() time.Time { return now.Add(time.Minute) }})
	if err != nil {
		b.Fatal(err)
	}
	return srv, key, now
}

// BenchmarkListAfterChange serves the whole signed list of 100,000
// entries right after a ban changed its version (the list cache is cold
// for the new version): target 100 ms.
func BenchmarkListAfterChange(b *testing.B) {
	srv, key, now := benchServer(b, 100000)
	h := srv.Handler()
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		d := api.Decision{Value: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 19, 255, byte(i)}), 32), Origin: "manual", Reason: "bench", Expires: now.Add(time.Hour)}
		_, v, err := srv.db.AddDecisions(b.Context(), []api.Decision{d}, now)
		if err != nil {
			b.Fatal(err)
		}
		srv.listChanged(v)
		b.StartTimer()
		req := httptest.NewRequestWithContext(b.Context(), "GET", "/v1/blocklist?format=txt", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		w := &discard{header: http.Header{}}
		h.ServeHTTP(w, req)
		if w.n < 100000*20 {
			b.Fatalf("list of %d bytes", w.n)
		}
	}
}

// BenchmarkCrowdSecStartup streams startup=true over n decisions (the
// bench script does 100,000 against a real process). Memory in use stays
// near the same whatever n: the answer is encoded page by page, not held
// (B/op counts garbage too, mostly the SQLite driver's per row).
func BenchmarkCrowdSecStartup(b *testing.B) {
	for _, n := range []int{1000, 20000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			srv, key, _ := benchServer(b, n)
			h := srv.Handler()
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequestWithContext(b.Context(), "GET", "/v1/decisions/stream?startup=true", nil)
				req.Header.Set(csHeaderKey, key)
				w := &discard{header: http.Header{}}
				h.ServeHTTP(w, req)
				if w.n < n*150 {
					b.Fatalf("answer of %d bytes for %d decisions", w.n, n)
				}
			}
		})
	}
}

// BenchmarkCrowdSecDelta is one bouncer tick (startup=false) with nothing
// new, over 100,000 decisions: what every bouncer costs every 10 s.
func BenchmarkCrowdSecDelta(b *testing.B) {
	srv, key, _ := benchServer(b, 100000)
	h := srv.Handler()
	req := httptest.NewRequestWithContext(b.Context(), "GET", "/v1/decisions/stream?startup=true", nil)
	req.Header.Set(csHeaderKey, key)
	h.ServeHTTP(&discard{header: http.Header{}}, req)
	for b.Loop() {
		req := httptest.NewRequestWithContext(b.Context(), "GET", "/v1/decisions/stream?startup=false", nil)
		req.Header.Set(csHeaderKey, key)
		w := &discard{header: http.Header{}}
		h.ServeHTTP(w, req)
	}
}

// BenchmarkCrowdSecDeltaCatchUp is a delta that carries every one of
// 100,000 decisions (a bouncer whose last pull predates them all).
func BenchmarkCrowdSecDeltaCatchUp(b *testing.B) {
	srv, key, now := benchServer(b, 100000)
	h := srv.Handler()
	tok, err := srv.db.TokenByHash(b.Context(), Digest(key))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		if err := srv.db.SetLastPull(b.Context(), tok.ID, "192.0.2.1", now.Add(-time.Hour)); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		req := httptest.NewRequestWithContext(b.Context(), "GET", "/v1/decisions/stream?startup=false", nil)
		req.Header.Set(csHeaderKey, key)
		w := &discard{header: http.Header{}}
		h.ServeHTTP(w, req)
		if w.n < 100000*150 {
			b.Fatalf("answer of %d bytes", w.n)
		}
	}
}
