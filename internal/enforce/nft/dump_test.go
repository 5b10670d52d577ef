//go:build linux

package nft

import (
	"flag"
	"os"
	"testing"

	"github.com/rampart-ids/rampart/internal/enforce/enforcetest"
)

var nftFile = flag.String("nftfile", "", "write the 100,000-entry benchmark set as an nft -f script to this path and exit")

// TestWriteNftFile serves bench/nft.sh: it writes the benchmark set in the
// form nft -f loads, so the reference and the enforcer load the same set.
func TestWriteNftFile(t *testing.T) {
	if *nftFile == "" {
		t.Skip("requires -nftfile (bench/nft.sh sets it)")
	}
	f, err := os.Create(*nftFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeNftFile(f, enforcetest.BigSet(enforcetest.BenchN, 0)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
