package ingest

import (
	"context"
	"net/netip"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/ossec"
)

// Files answers top and ip queries by reading alert files directly, without
// a store.
type Files struct {
	Paths    []string
	Problems ossec.Problems
	// Read is filled as files are read.
	Read Counts
}

// each streams every alert of every file to fn.
func (fs *Files) each(ctx context.Context, fn func(*ossec.Alert)) error {
	for _, p := range fs.Paths {
		f, err := OpenFile(p, ReadOptions{Problems: fs.Problems})
		if err != nil {
			return err
		}
		n := 0
		for f.Reader.Next() {
			fn(f.Reader.Alert())
			if n++; n&0xfff == 0 && ctx.Err() != nil {
				f.Close()
				return ctx.Err()
			}
		}
		err = f.Reader.Err()
		c := f.Counts()
		fs.Read.Alerts += c.Alerts
		fs.Read.Malformed += c.Malformed
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// Each streams every alert of every file to fn, in file order, counting
// them in Read. The alert is reused: fn must copy what it keeps.
func (fs *Files) Each(ctx context.Context, fn func(*ossec.Alert)) error { return fs.each(ctx, fn) }

// TopSources aggregates the files' alerts by source.
func (fs *Files) TopSources(ctx context.Context, f analytics.Filter) ([]analytics.SourceCount, error) {
	c := analytics.NewCounter(f)
	if err := fs.each(ctx, c.Add); err != nil {
		return nil, err
	}
	return c.Sources(), nil
}

// SourceReport builds one source's history from the files.
func (fs *Files) SourceReport(ctx context.Context, addr netip.Addr, f analytics.Filter, limit int) (analytics.SourceReport, error) {
	b := analytics.NewReportBuilder(addr, f, limit)
	if err := fs.each(ctx, b.Add); err != nil {
		return analytics.SourceReport{}, err
	}
	return b.Report(), nil
}

// Close releases nothing: files are closed as they are read.
func (fs *Files) Close() error { return nil }
