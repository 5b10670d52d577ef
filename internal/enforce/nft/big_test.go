//go:build linux

package nft

import (
	"flag"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/enforce"
	"github.com/rampart-ids/rampart/internal/enforce/enforcetest"
)

func TestApply100k(t *testing.T) {
	if testing.Short() {
		t.Skip("the 100,000-entry apply needs time; skipped with -short")
	}
	_, e := newLab(t, Options{})
	set := enforcetest.BigSet(100_000, 0)
	start := time.Now()
	res, err := e.Apply(t.Context(), set)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("apply 100k: %v (batch %v)", time.Since(start), res.Duration)
	if res.Added != len(set) {
		t.Errorf("added %d, want %d", res.Added, len(set))
	}
	start = time.Now()
	got, err := e.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("status 100k: %v", time.Since(start))
	if diff := cmp.Diff(enforce.Normalize(set, enforce.NormalizeOptions{}), got, prefixEq); diff != "" {
		t.Errorf("status differs from the applied set (-want +got):\n%.2000s", diff)
	}
	// 1,000 changes: 500 entries leave, 500 come in.
	next := enforcetest.BigSet(100_000, 500)
	start = time.Now()
	res, err = e.Apply(t.Context(), next)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("update 1k on 100k: %v (batch %v) %+v", time.Since(start), res.Duration, res)
	if res.Added != 500 || res.Removed != 500 || res.Kept != len(set)-500 {
		t.Errorf("update: %+v", res)
	}
}

var million = flag.Bool("million", false, "also apply and read back 1,000,000 entries (slow)")

// TestApply1M: a million entries go through one batch and read back whole.
func TestApply1M(t *testing.T) {
	if !*million {
		t.Skip("needs -million")
	}
	_, e := newLab(t, Options{})
	set := enforcetest.BigSet(1_000_000, 0)
	start := time.Now()
	res, err := e.Apply(t.Context(), set)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("apply 1M: %v (batch %v)", time.Since(start), res.Duration)
	start = time.Now()
	got, err := e.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("status 1M: %v", time.Since(start))
	if len(got) != len(set) {
		t.Errorf("status holds %d entries, want %d", len(got), len(set))
	}
	next := enforcetest.BigSet(1_000_000, 500)
	start = time.Now()
	if res, err = e.Apply(t.Context(), next); err != nil || res.Added != 500 || res.Removed != 500 {
		t.Fatalf("update: %+v, %v", res, err)
	}
	t.Logf("update 1k on 1M: %v (batch %v)", time.Since(start), res.Duration)
}
