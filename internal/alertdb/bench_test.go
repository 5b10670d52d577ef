package alertdb

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/ossec"
)

// BenchmarkImport3M measures the acceptance figures: import of 3M
// synthetic alerts (180 days, ~50k heavy-tailed sources, 30 rules, 200
// locations), then the zero-filter TopSources and the report of the busiest
// source. Run it alone:
//
//	go test -run XXX -bench BenchmarkImport3M -benchtime 1x ./internal/alertdb/
func BenchmarkImport3M(b *testing.B) {
	benchImport(b, 3_000_000, 50_000)
}

// BenchmarkImport300k is the same at a tenth of the size, for quick runs.
func BenchmarkImport300k(b *testing.B) {
	benchImport(b, 300_000, 5_000)
}

func benchImport(b *testing.B, alerts, sources int) {
	for b.Loop() {
		path := filepath.Join(b.TempDir(), "bench.db")
		ctx := b.Context()
		s, err := Open(ctx, path, nil)
		if err != nil {
			b.Fatal(err)
		}
		g := newGen(genConfig{Alerts: alerts, Sources: sources, Days: 180, Seed: 42, NoSource: 0.05})
		var ru0, ru1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
		start := time.Now()
		w, err := s.NewWriter(ctx, "bench")
		if err != nil {
			b.Fatal(err)
		}
		var a ossec.Alert
		n := 0
		for g.next(&a) {
			if err := w.Add(&a); err != nil {
				b.Fatal(err)
			}
			n++
			if n%50_000 == 0 {
				if err := w.Commit(Checkpoint{Offset: int64(n)}); err != nil {
					b.Fatal(err)
				}
			}
		}
		if err := w.Commit(Checkpoint{Offset: int64(n)}); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		el := time.Since(start)
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
		cpu := time.Duration(ru1.Utime.Nano() - ru0.Utime.Nano() + ru1.Stime.Nano() - ru0.Stime.Nano())
		b.ReportMetric(el.Seconds(), "import_s")
		b.ReportMetric(float64(n)/el.Seconds(), "alerts/s")
		b.ReportMetric(cpu.Seconds(), "import_cpu_s")

		// Queries: the best of 5 runs, as the machine may be busy.
		var top []analytics.SourceCount
		best := time.Hour
		for range 5 {
			t0 := time.Now()
			if top, err = s.TopSources(ctx, analytics.Filter{}); err != nil {
				b.Fatal(err)
			}
			best = min(best, time.Since(t0))
		}
		b.ReportMetric(float64(best.Microseconds())/1000, "top_ms")
		var rep analytics.SourceReport
		best = time.Hour
		for range 5 {
			t0 := time.Now()
			if rep, err = s.SourceReport(ctx, top[0].Addr, analytics.Filter{}, 20); err != nil {
				b.Fatal(err)
			}
			best = min(best, time.Since(t0))
		}
		b.ReportMetric(float64(best.Microseconds())/1000, "report_ms")
		if rep.Count != top[0].Count || len(rep.Alerts) != 20 {
			b.Fatalf("report of %s: %d alerts, %d lines; top count %d", top[0].Addr, rep.Count, len(rep.Alerts), top[0].Count)
		}
		t0 := time.Now()
		if _, err := s.TopSources(ctx, analytics.Filter{Since: time.Unix(top[0].LastSeen.Unix()-7*86400+12345, 0)}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(time.Since(t0).Microseconds())/1000, "top_7d_ms")
		b.Logf("top source %s: %d alerts; %d sources", top[0].Addr, top[0].Count, len(top))
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(st.Size())/(1<<20), "db_MiB")
	}
}
