package ossecdb_test

import (
	"os"
	"testing"
)

// Temporary: loads the benchmark data into a named database for manual EXPLAIN.
func BenchmarkZZScratchLoad(b *testing.B) {
	dsn := os.Getenv("SCRATCH_DSN")
	if dsn == "" {
		b.Skip()
	}
	loadInto(b, dsn, benchAlerts(b))
}
