package follow

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// BenchmarkFollowBacklog measures how fast a follower delivers a backlog
// (a restart after downtime): the whole file from its start.
func BenchmarkFollowBacklog(b *testing.B) {
	// The last alert is not a syscheck one, which would be held for
	// FileOptions.Grace in case a FIM section follows.
	const n = 49999
	data, _ := encode(Log, genAlerts(0, n))
	path := filepath.Join(b.TempDir(), "alerts.log")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var total int64
	for b.Loop() {
		ctx, cancel := context.WithCancel(b.Context())
		got := 0
		err := File(path, FileOptions{FromStart: true}).Run(ctx, func(*ossec.Alert, Position) error {
			if got++; got == n {
				cancel()
			}
			return nil
		})
		cancel()
		if err != nil || got != n {
			b.Fatalf("Run = %v after %d alerts", err, got)
		}
		total += n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "alerts/s")
}
