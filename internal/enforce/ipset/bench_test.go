//go:build linux

package ipset

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/rampart-ids/rampart/internal/enforce/enforcetest"
)

var restoreFile = flag.String("restorefile", "", "TestWriteRestoreFile: write the benchmark set as ipset restore input here")

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
	set := enforcetest.BigSet(enforcetest.BenchN, 0)
	for _, fam := range []struct {
		name, inet string
		is6        bool
	}{{Set4Name, "inet", false}, {Set6Name, "inet6", true}} {
		fmt.Fprintf(w, "create %s hash:net family %s maxelem %d\n", fam.name, fam.inet, maxElem(enforcetest.BenchN))
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
	enforcetest.BenchApply(b, e, enforcetest.BenchN)
}

// BenchmarkUpdate1k applies 1,000 changes to a 100,000-entry set: the
// whole set is rebuilt in the temporary sets and swapped in, so this is
// also the cost of replacing a full list.
func BenchmarkUpdate1k(b *testing.B) {
	_, e := newLab(b, Options{})
	enforcetest.BenchUpdate(b, e, enforcetest.BenchN, 500)
}

// BenchmarkNoChange100k re-applies an unchanged 100,000-entry set: only
// the reads.
func BenchmarkNoChange100k(b *testing.B) {
	_, e := newLab(b, Options{})
	set := enforcetest.BigSet(enforcetest.BenchN, 0)
	if _, err := e.Apply(b.Context(), set); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if res, err := e.Apply(b.Context(), set); err != nil || res.Kept != enforcetest.BenchN {
			b.Fatalf("%+v, %v", res, err)
		}
	}
}
