//go:build linux

package nft

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/enforce"
	"github.com/rampart-ids/rampart/internal/enforce/enforcetest"
	labns "github.com/rampart-ids/rampart/internal/testenv/netns"
)

// TestUpdateIsOneTransaction replaces half of a 20,000-entry set while a
// reader samples the sets. It checks two things: the kernel's ruleset
// generation moves by exactly one for the whole update (one commit, not one
// per message or per chunk), and every sample read within one generation
// is the old set or the new one, never a mix.
func TestUpdateIsOneTransaction(t *testing.T) {
	_, e := newLab(t, Options{})
	oldSet, newSet := enforcetest.BigSet(20_000, 0), enforcetest.BigSet(20_000, 10_000)
	if _, err := e.Apply(t.Context(), oldSet); err != nil {
		t.Fatal(err)
	}
	keys := func(set []enforce.Entry) []intervalKey {
		v4, v6, err := desired(set, t0)
		if err != nil {
			t.Fatal(err)
		}
		var out []intervalKey
		for _, iv := range slices.Concat(v4, v6) {
			out = append(out, iv.key())
		}
		return out
	}
	oldKeys, newKeys := keys(oldSet), keys(newSet)

	raw, err := dialRaw(e.opts.NetNS)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	genBefore, err := raw.gen()
	if err != nil {
		t.Fatal(err)
	}

	var stop atomic.Bool
	var samples, sawOld, sawNew, straddled atomic.Int64
	first := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer func() {
			if samples.Load() == 0 {
				close(first)
			}
		}()
		r, err := dialRaw(e.opts.NetNS)
		if err != nil {
			t.Error(err)
			return
		}
		defer r.Close()
		for !stop.Load() {
			g1, err := r.gen()
			if err != nil {
				t.Error(err)
				return
			}
			st, err := e.readOnce(r, t0)
			if g2, _ := r.gen(); g1 != g2 {
				straddled.Add(1) // spans the commit: not one state
				continue
			}
			if err != nil {
				t.Errorf("read within generation %d: %v", g1, err)
				return
			}
			var got []intervalKey
			for _, iv := range slices.Concat(st.v4, st.v6) {
				got = append(got, iv.key())
			}
			switch {
			case slices.Equal(got, oldKeys):
				sawOld.Add(1)
			case slices.Equal(got, newKeys):
				sawNew.Add(1)
			default:
				t.Errorf("sample %d (generation %d) is neither the old nor the new set: %d intervals", samples.Load(), g1, len(got))
				return
			}
			if samples.Add(1) == 1 {
				close(first)
			}
		}
	})
	<-first
	res, err := e.Apply(t.Context(), newSet)
	if err != nil {
		t.Fatal(err)
	}
	genAfter, err := raw.gen()
	if err != nil {
		t.Fatal(err)
	}
	// A little sampling of the new state too.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if sawNew.Load() > 0 {
			break
		}
	}
	stop.Store(true)
	wg.Wait()
	if res.Added != 10_000 || res.Removed != 10_000 {
		t.Errorf("update: %+v", res)
	}
	if genAfter != genBefore+1 {
		t.Errorf("the update moved the generation from %d to %d, want one commit", genBefore, genAfter)
	}
	if sawOld.Load() == 0 || sawNew.Load() == 0 {
		t.Errorf("samples saw the old set %d and the new set %d times, want both", sawOld.Load(), sawNew.Load())
	}
	t.Logf("%d consistent samples: %d old, %d new, %d spanning the commit; update batch %v",
		samples.Load(), sawOld.Load(), sawNew.Load(), straddled.Load(), res.Duration)
}

// TestExpiry: an entry with an expiry is blocked, then gone once the kernel
// times it out, and can be added again.
func TestExpiry(t *testing.T) {
	l, e := newLab(t, Options{})
	const port = 8081
	l.Serve(t, port)
	src := netip.MustParsePrefix("198.51.100.44/32")
	l.AddClientAddr(t, src)
	exp := time.Now().Add(2 * time.Second).Truncate(time.Second).Add(time.Second)
	set := []enforce.Entry{{Prefix: src, Expires: exp}, {Prefix: netip.MustParsePrefix("203.0.113.0/24")}}
	if _, err := e.Apply(t.Context(), set); err != nil {
		t.Fatal(err)
	}
	got, err := e.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(set, got, prefixEq); diff != "" {
		t.Errorf("status keeps the exact expiry (-want +got):\n%s", diff)
	}
	if err := l.Dial(src.Addr(), netip.AddrPortFrom(l.FrontV4, port), 300*time.Millisecond); err == nil {
		t.Error("source with an unexpired entry connected")
	}
	// Bounded wait for the condition: the entry leaves the kernel's set.
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := e.Status(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 && got[0].Prefix == netip.MustParsePrefix("203.0.113.0/24") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("entry still there 10 s after its expiry: %v", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if now := time.Now(); now.Before(exp.Add(-50 * time.Millisecond)) {
		t.Errorf("entry gone at %v, %v before its expiry", now, exp.Sub(now))
	}
	if err := l.Dial(src.Addr(), netip.AddrPortFrom(l.FrontV4, port), time.Second); err != nil {
		t.Errorf("expired entry still blocks: %v", err)
	}
	// The same prefix again, without expiry: the kernel's leftovers of the
	// expired range must not get in the way.
	set = entries(src.String(), "203.0.113.0/24")
	if res, err := e.Apply(t.Context(), set); err != nil || res.Added != 1 || res.Kept != 1 {
		t.Fatalf("re-adding the expired prefix: %+v, %v", res, err)
	}
	if err := l.Dial(src.Addr(), netip.AddrPortFrom(l.FrontV4, port), 300*time.Millisecond); err == nil {
		t.Error("re-added source connected")
	}
}

// TestFailedApplyKeepsState forces the kernel to refuse a batch and checks
// that nothing of it stayed, and that bad input is refused before sending.
func TestFailedApplyKeepsState(t *testing.T) {
	l, e := newLab(t, Options{})
	before := entries("10.1.0.0/16", "2001:db8:1::/48")
	if _, err := e.Apply(t.Context(), before); err != nil {
		t.Fatal(err)
	}
	listing := nftList(t, l.Front)

	t.Run("invalid input", func(t *testing.T) {
		_, err := e.Apply(t.Context(), append(entries("192.0.2.0/24"), enforce.Entry{Prefix: netip.PrefixFrom(netip.MustParseAddr("192.0.2.9"), 24)}))
		if err == nil || !strings.Contains(err.Error(), `entry 1: prefix "192.0.2.9/24" has host bits set`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("kernel refuses", func(t *testing.T) {
		// Make the enforcer believe the set is empty: the batch then adds
		// 10.0.0.0/8 over the 10.1.0.0/16 the kernel holds, which it
		// refuses as an overlap, together with 192.0.2.0/24 in the
		// same batch.
		raw, err := dialRaw(e.opts.NetNS)
		if err != nil {
			t.Fatal(err)
		}
		gen, err := raw.gen()
		raw.Close()
		if err != nil {
			t.Fatal(err)
		}
		e.mu.Lock()
		e.cache, e.cacheGen = &state{exists: true, setsOK: true, rulesOK: true}, gen
		e.mu.Unlock()
		_, err = e.Apply(t.Context(), entries("10.0.0.0/8", "192.0.2.0/24"))
		if err == nil || !strings.Contains(err.Error(), "previous state kept") {
			t.Fatalf("err = %v, want a refused batch", err)
		}
		t.Logf("refused: %v", err)
	})
	if got := nftList(t, l.Front); got != listing {
		t.Errorf("the ruleset changed after failed applies:\nbefore:\n%s\nafter:\n%s", listing, got)
	}
	got, err := e.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, got, prefixEq); diff != "" {
		t.Errorf("status after failed applies (-want +got):\n%s", diff)
	}
	// And the enforcer recovers: its cache was dropped with the failure.
	if _, err := e.Apply(t.Context(), entries("10.0.0.0/8", "192.0.2.0/24")); err != nil {
		t.Errorf("apply after a failure: %v", err)
	}
}

// TestOptionsChange: switching the options rewrites the chains in place and
// keeps the elements; other tables are never touched.
func TestOptionsChange(t *testing.T) {
	l, e := newLab(t, Options{})
	if _, err := labns.Exec(t.Context(), l.Front, "nft", "add", "table", "inet", "other"); err != nil {
		t.Fatal(err)
	}
	set := entries("192.0.2.0/24")
	if _, err := e.Apply(t.Context(), set); err != nil {
		t.Fatal(err)
	}
	e2, err := New(Options{NetNS: e.opts.NetNS, Action: enforce.Reject, Forward: true, LogRate: 10})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := e2.Apply(t.Context(), set); err != nil || res.Kept != 1 || res.Added != 0 {
		t.Fatalf("apply with new options: %+v, %v", res, err)
	}
	golden(t, "options.golden", nftList(t, l.Front))
	// Back to the defaults: the forward chain goes away.
	if _, err := e.Apply(t.Context(), set); err != nil {
		t.Fatal(err)
	}
	if got := nftList(t, l.Front); strings.Contains(got, "forward") || strings.Contains(got, "reject") {
		t.Errorf("old options left behind:\n%s", got)
	}
	if err := e.Remove(t.Context()); err != nil {
		t.Fatal(err)
	}
	out, err := labns.Exec(t.Context(), l.Front, "nft", "list", "tables")
	if err != nil || !strings.Contains(string(out), "table inet other") {
		t.Errorf("another table was touched: %v\n%s", err, out)
	}
}
