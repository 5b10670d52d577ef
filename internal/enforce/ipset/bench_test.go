//go:build linux

package ipset

import (
	"bufio"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"testing"

	"github.com/rampart-ids/rampart/internal/enforce"
)

const benchN = 100_000

var restoreFile = flag.String("restorefile", "", "TestWriteRestoreFile: write the benchmark set as ipset restore input here")

// bigSet returns n disjoint entries, deterministic, none adjacent: four in
// five IPv4 (/32s, every tenth a /28), one in five an IPv6 /64 (the same
// shape as the nft back end's benchmark). shift moves the window: bigSet(n,
// k) and bigSet(n, 0) differ by k removed and k added entries.
func bigSet(n, shift int) []enforce.Entry {
	out := make([]enforce.Entry, 0, n)
	for i := shift; i < n+shift; i++ {
		var p netip.Prefix
		if i%5 == 4 {
			var a [16]byte
			a[0], a[1], a[2], a[3] = 0x20, 0x01, 0x0d, 0xb8
			a[4], a[5], a[6], a[7] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
			p = netip.PrefixFrom(netip.AddrFrom16(a), 64)
		} else {
			v := uint32(0x0b000000) + uint32(i)*32
			a := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
			bits := 32
			if i%10 == 0 {
				bits = 28
			}
			p = netip.PrefixFrom(a, bits)
		}
		out = append(out, enforce.Entry{Prefix: p})
	}
	return out
}

// TestWriteRestoreFile writes the benchmark set as the ipset restore input
// an operator would write by hand: the same two sets, large enough
// (maxelem), with the default hash size. bench/ipset.sh times it.
func TestWriteRestoreFile(t *testing.T) {
	if *restoreFile == "" {
		t.Skip("requires -restorefile (bench/ipset.sh sets it)")
	}
	f, err := os.Create(*restoreFile)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	set := bigSet(benchN, 0)
	for _, fam := range []struct {
		name, inet string
		is6        bool
	}{{Set4Name, "inet", false}, {Set6Name, "inet6", true}} {
		fmt.Fprintf(w, "create %s hash:net family %s maxelem %d\n", fam.name, fam.inet, maxElem(benchN))
		for _, e := range set {
			if e.Prefix.Addr().Is6() == fam.is6 {
				fmt.Fprintf(w, "add %s %s\n", fam.name, e.Prefix)
			}
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkApply100k loads 100,000 entries where there were none: the
// whole Apply (reads, restore, rules). Remove runs between rounds, outside
// the timer. Compare with bench/ipset.sh's ipset restore of the same set.
func BenchmarkApply100k(b *testing.B) {
	_, e := newLab(b, Options{})
	set := bigSet(benchN, 0)
	for b.Loop() {
		b.StopTimer()
		if err := e.Remove(b.Context()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := e.Apply(b.Context(), set); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpdate1k applies 1,000 changes to a 100,000-entry set: the
// whole set is rebuilt in the temporary sets and swapped in, so this is
// also the cost of replacing a full list.
func BenchmarkUpdate1k(b *testing.B) {
	_, e := newLab(b, Options{})
	sets := [2][]enforce.Entry{bigSet(benchN, 0), bigSet(benchN, 500)}
	if _, err := e.Apply(b.Context(), sets[0]); err != nil {
		b.Fatal(err)
	}
	i := 1
	for b.Loop() {
		res, err := e.Apply(b.Context(), sets[i%2])
		if err != nil {
			b.Fatal(err)
		}
		if res.Added+res.Removed != 1000 {
			b.Fatalf("update changed %+v, want 1000 changes", res)
		}
		i++
	}
}

// BenchmarkNoChange100k re-applies an unchanged 100,000-entry set: only
// the reads.
func BenchmarkNoChange100k(b *testing.B) {
	_, e := newLab(b, Options{})
	set := bigSet(benchN, 0)
	if _, err := e.Apply(b.Context(), set); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if res, err := e.Apply(b.Context(), set); err != nil || res.Kept != benchN {
			b.Fatalf("%+v, %v", res, err)
		}
	}
}
