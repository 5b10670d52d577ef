package ossecdb_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/dbdload"
)

// benchAlerts is the size of the benchmark database:
// RAMPART_BENCH_ALERTS (default 200 000; the 3 M figure in the report
// comes from RAMPART_BENCH_ALERTS=3000000).
func benchAlerts(b *testing.B) int {
	if s := os.Getenv("RAMPART_BENCH_ALERTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("RAMPART_BENCH_ALERTS=%q: want a positive number", s)
		}
		return n
	}
	return 200_000
}

// benchDialect is RAMPART_BENCH_DIALECT: mysql (default) or postgres.
func benchDialect() ossecdb.Dialect {
	if os.Getenv("RAMPART_BENCH_DIALECT") == "postgres" {
		return ossecdb.Postgres
	}
	return ossecdb.MySQL
}

// loadInto fills the empty database at dsn with n alerts from
// heavy-tailed sources (about n/60 of them, Zipf counts, 7 % without a
// source) over 30 days, and reports the load rate.
func loadInto(b *testing.B, dsn string, n int) *ossecdb.DB {
	ctx := b.Context()
	cfg, err := ossecdb.ParseDSN(dsn)
	if err != nil {
		b.Fatal(err)
	}
	d := cfg.Dialect
	db, err := cfg.OpenSQL(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := dbdload.CreateSchema(ctx, db, d, dbdload.V3x); err != nil {
		b.Fatal(err)
	}
	l := dbdload.NewLoader(db, d, dbdload.V3x, "web1")
	r := rand.New(rand.NewPCG(7, 7))
	nsrc := max(n/60, 10)
	zipf := rand.NewZipf(r, 1.2, 4, uint64(nsrc-1))
	src := func() netip.Addr {
		k := uint32(zipf.Uint64())*40503 + 1<<24 // distinct, spread, never 0.x.x.x
		return netip.AddrFrom4([4]byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)})
	}
	rules := []int{5712, 5716, 31104, 5706, 1002, 5710, 5720, 31101}
	start := time.Now()
	batch := make([]ossec.Alert, 0, 50_000)
	t0 := int64(1_780_000_000)
	for i := range n {
		e := t0 + int64(i)*30*86400/int64(n)
		a := ossec.Alert{ID: ossec.ID{Epoch: e, Seq: int64(i) * 411}, Time: time.Unix(e, 0).UTC(), RuleID: rules[r.IntN(len(rules))], Level: 3 + r.IntN(10),
			Location: ossec.ParseLocation("web1->/var/log/auth.log"),
			Log:      []string{fmt.Sprintf("Nov 14 22:13:19 web1 sshd[%d]: Failed password for invalid user admin from 203.0.113.45 port %d ssh2", 40000+i%9999, 1024+i%60000)}}
		if r.IntN(100) >= 7 {
			a.SrcIP = src()
		}
		batch = append(batch, a)
		if len(batch) == cap(batch) {
			if err := l.Load(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := l.Load(ctx, batch); err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	b.Logf("loaded %d alerts into %s in %v (%.0f alerts/s)", n, d, took.Round(time.Millisecond), float64(n)/took.Seconds())
	if d == ossecdb.Postgres {
		if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
			b.Fatal(err)
		}
	}
	return open(b, dsn, ossecdb.Options{})
}

// BenchmarkTopSources measures TopSources, SourceReport and Alerts on the
// table as dbd leaves it, then TopSources again ("indexed/...") after
// CreateTopIndex; on PostgreSQL also after a VACUUM, which marks the pages
// all-visible so an index-only scan need not visit the table.
func BenchmarkTopSources(b *testing.B) {
	n := benchAlerts(b)
	dsn, _ := fresh(b, benchDialect())
	db := loadInto(b, dsn, n)
	last := time.Unix(1_780_000_000+30*86400, 0)
	filters := []struct {
		name string
		f    analytics.Filter
	}{
		{"all", analytics.Filter{}},
		{"last-day", analytics.Filter{Since: last.Add(-24 * time.Hour)}},
		{"level-10", analytics.Filter{MinLevel: 10}},
		{"rule", analytics.Filter{RuleID: 5712}},
	}
	runTop := func(b *testing.B, db *ossecdb.DB) {
		for _, bc := range filters {
			b.Run(bc.name, func(b *testing.B) {
				var got int
				for b.Loop() {
					s, err := db.TopSources(b.Context(), bc.f)
					if err != nil {
						b.Fatal(err)
					}
					got = len(s)
				}
				b.ReportMetric(float64(got), "sources")
				b.ReportMetric(float64(n), "alerts")
			})
		}
	}
	runTop(b, db)
	b.Run("source-report", func(b *testing.B) {
		top, err := db.TopSources(b.Context(), analytics.Filter{})
		if err != nil {
			b.Fatal(err)
		}
		top = analytics.Finish(top, analytics.Selection{Limit: 1})
		var count int64
		for b.Loop() {
			rep, err := db.SourceReport(b.Context(), top[0].Addr, analytics.Filter{}, 20)
			if err != nil {
				b.Fatal(err)
			}
			count = rep.Count
		}
		b.ReportMetric(float64(count), "alerts-of-top-source")
	})
	b.Run("alerts-stream", func(b *testing.B) {
		var k int
		for b.Loop() {
			r := db.Alerts(b.Context(), nil)
			k = 0
			for r.Next() {
				k++
			}
			if err := r.Err(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(k)*float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
	})
	r, err := db.CreateTopIndex(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("index %s built over about %d rows in %v", r.Name, r.Rows, r.Took.Round(time.Millisecond))
	b.Run("indexed", func(b *testing.B) { runTop(b, open(b, dsn, ossecdb.Options{})) })
	if db.Layout().Dialect == ossecdb.Postgres {
		cfg, _ := ossecdb.ParseDSN(dsn)
		sdb, err := cfg.OpenSQL(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		defer sdb.Close()
		if _, err := sdb.ExecContext(b.Context(), "VACUUM ANALYZE alert"); err != nil {
			b.Fatal(err)
		}
		b.Run("indexed-vacuumed", func(b *testing.B) { runTop(b, open(b, dsn, ossecdb.Options{})) })
	}
}
