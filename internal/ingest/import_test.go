package ingest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rampart-ids/rampart/internal/alertdb"
)

// TestImportInterruptedResumes cancels an import after its first commit
// (as Ctrl-C does), imports again, and expects every alert exactly once.
func TestImportInterruptedResumes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.log")
	writeAlerts(t, path, testAlerts(5000, 0), os.O_CREATE)
	s, err := alertdb.Open(t.Context(), filepath.Join(dir, "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	ctx, cancel := context.WithCancel(t.Context())
	commits := 0
	im := &Importer{Store: s, BatchSize: 1000, Progress: func(Progress) {
		if commits++; commits == 1 {
			cancel()
		}
	}}
	first, err := im.ImportFile(ctx, path)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted import: err = %v, want context.Canceled", err)
	}
	if first.Added == 0 || first.Added >= 5000 {
		t.Fatalf("interrupted import added %d alerts, want some but not all", first.Added)
	}
	im.Progress = nil
	second, err := im.ImportFile(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Resumed || second.Duplicates != 0 || first.Added+second.Added != 5000 {
		t.Errorf("resumed import: %+v after %d added; want the rest, resumed, no duplicates", second, first.Added)
	}
	if n, _ := s.Count(t.Context()); n != 5000 {
		t.Errorf("store holds %d alerts, want 5000", n)
	}
	// A third import finds nothing new, and a copy of the file compressed
	// is recognised as the same alerts.
	third, err := im.ImportFile(t.Context(), path)
	if err != nil || third.Added != 0 {
		t.Errorf("third import: %+v, %v", third, err)
	}
}

// TestImportTruncatedFile re-imports a file that was cut shorter than its
// checkpoint but starts with the same alert: read again from the start,
// nothing lost, nothing counted twice.
func TestImportTruncatedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alerts.log")
	writeAlerts(t, path, testAlerts(300, 0), os.O_CREATE)
	s, err := alertdb.Open(t.Context(), filepath.Join(dir, "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	im := &Importer{Store: s}
	if _, err := im.ImportFile(t.Context(), path); err != nil {
		t.Fatal(err)
	}
	// Same first 10 alerts, then 5 new ones: shorter than before.
	writeAlerts(t, path, append(testAlerts(10, 0), testAlerts(5, 1000)...), os.O_TRUNC)
	res, err := im.ImportFile(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed || res.Read != 15 || res.Added != 5 || res.Duplicates != 10 {
		t.Errorf("re-import of the truncated file: %+v, want 15 read, 5 added, 10 already stored", res)
	}
}
