package alertdb

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/goldentest"
)

func openTest(t testing.TB, path string) *Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "rampart.db")
	}
	s, err := Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func TestDefaultPath(t *testing.T) {
	home := func() (string, error) { return "/home/op", nil }
	noHome := func() (string, error) { return "", errors.New("$HOME is not defined") }
	tests := []struct {
		name    string
		euid    int
		env     map[string]string
		home    func() (string, error)
		want    string
		wantErr bool
	}{
		{"root", 0, map[string]string{"XDG_DATA_HOME": "/x"}, home, "/var/lib/rampart/rampart.db", false},
		{"xdg", 1000, map[string]string{"XDG_DATA_HOME": "/data/op"}, home, "/data/op/rampart/rampart.db", false},
		{"relative xdg ignored", 1000, map[string]string{"XDG_DATA_HOME": "rel"}, home, "/home/op/.local/share/rampart/rampart.db", false},
		{"home", 1000, nil, home, "/home/op/.local/share/rampart/rampart.db", false},
		{"no home", 1000, nil, noHome, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := defaultPath(tt.euid, func(k string) string { return tt.env[k] }, tt.home)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("defaultPath = %q, %v; want %q (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
	if _, err := DefaultPath(); err != nil {
		t.Logf("DefaultPath on this machine: %v", err)
	}
}

// TestSchemaGolden pins the schema a new store gets; run with -update after
// adding a migration.
func TestSchemaGolden(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s := openTest(t, filepath.Join(dir, "rampart.db"))
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := st.Mode().Perm(); perm&^0o750 != 0 {
		t.Errorf("directory mode %v, want at most 0750", perm)
	}
	rows, err := s.db.QueryContext(t.Context(), "SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY type, name")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var typ, name, sqlText string
		if err := rows.Scan(&typ, &name, &sqlText); err != nil {
			t.Fatal(err)
		}
		b.WriteString("-- " + typ + " " + name + "\n" + sqlText + ";\n\n")
	}
	var appID int64
	if err := s.db.QueryRowContext(t.Context(), "PRAGMA application_id").Scan(&appID); err != nil {
		t.Fatal(err)
	}
	if appID != applicationID {
		t.Errorf("application_id %#x, want %#x", appID, applicationID)
	}
	golden := filepath.Join("testdata", "schema.golden")
	goldentest.Check(t, golden, []byte(b.String()))
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rampart.db")
	alerts := genAll(genConfig{Alerts: 500, Sources: 20, Days: 3, Seed: 1})
	s, err := Open(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	importAll(t, s, "file", alerts, 200)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, path)
	if n, err := s.Count(t.Context()); err != nil || n != int64(len(alerts)) {
		t.Errorf("Count after reopen = %d, %v; want %d", n, err, len(alerts))
	}
}

func TestOpenRefuses(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name     string
		setup    func(t *testing.T, path string)
		wantErr  string // substring; "" means Open must succeed
		notStore bool
	}{
		{"empty file becomes a store", func(t *testing.T, path string) { write(t, path, "") }, "", false},
		{"text file", func(t *testing.T, path string) {
			write(t, path, "** Alert 1700000000.1: - syslog,\n")
		}, `not an SQLite database (starts with "** Alert 1700000`, true},
		{"short binary file", func(t *testing.T, path string) { write(t, path, "\x00\x01") }, "not an SQLite database", true},
		{"other sqlite database", func(t *testing.T, path string) {
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec("CREATE TABLE notes (x TEXT)"); err != nil {
				t.Fatal(err)
			}
		}, "application_id 0x0 and 1 schema objects", true},
		{"corrupt header", func(t *testing.T, path string) {
			s, err := Open(ctx, path, nil)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			// Page size and format bytes of the header.
			if _, err := f.WriteAt([]byte{0xff, 0xee, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f}, 16); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}, "open store", false},
		{"directory", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o755); err != nil {
				t.Fatal(err)
			}
		}, "is a directory", false},
		{"newer schema", func(t *testing.T, path string) {
			s, err := Open(ctx, path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.db.Exec("INSERT INTO schema_migrations (version, name, applied) VALUES (99, '0099_future.sql', 0)"); err != nil {
				t.Fatal(err)
			}
			s.Close()
		}, "schema version 99 is newer", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.db")
			tt.setup(t, path)
			s, err := Open(ctx, path, nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				s.Close()
				return
			}
			if err == nil {
				s.Close()
				t.Fatalf("Open succeeded, want error containing %q", tt.wantErr)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.wantErr) || !strings.Contains(msg, path) {
				t.Errorf("error %q: want it to contain %q and the path", msg, tt.wantErr)
			}
			if errors.Is(err, ErrNotStore) != tt.notStore {
				t.Errorf("errors.Is(err, ErrNotStore) = %v, want %v", !tt.notStore, tt.notStore)
			}
		})
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCheckpointRoundtrip(t *testing.T) {
	s := openTest(t, "")
	ctx := t.Context()
	if _, found, err := s.Checkpoint(ctx, "db:main"); err != nil || found {
		t.Fatalf("Checkpoint before commit: found %v, %v", found, err)
	}
	tests := []Checkpoint{
		{Offset: 1234, Line: 56},
		{Positions: map[int]int64{1: 99, 7: 1 << 40}},
		{Offset: 1 << 42, Line: 1 << 30, Positions: map[int]int64{0: 1}},
		{Offset: 7, Line: 2, Detail: `{"dev":2049,"ino":1234,"identity":"alerts.log:ab12"}`},
		{},
	}
	for _, want := range tests {
		w, err := s.NewWriter(ctx, "db:main")
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(want); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		got, found, err := s.Checkpoint(ctx, "db:main")
		if err != nil || !found {
			t.Fatalf("Checkpoint: found %v, %v", found, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("checkpoint roundtrip (-want +got):\n%s", diff)
		}
	}
	if _, found, _ := s.Checkpoint(ctx, "other"); found {
		t.Error("checkpoint of another source found")
	}
}

func TestImportHistory(t *testing.T) {
	s := openTest(t, "")
	ctx := t.Context()
	a := genAll(genConfig{Alerts: 3, Sources: 2, Days: 1, Seed: 3})
	recs := []ImportRecord{
		{Source: "a", Started: a[0].Time, Finished: a[1].Time, Added: 10, Duplicates: 2, Malformed: 1},
		{Source: "b", Started: a[1].Time, Finished: a[2].Time, Added: 5},
		{Source: "a", Started: a[2].Time, Finished: a[2].Time, Duplicates: 10},
	}
	for _, r := range recs {
		if err := s.RecordImport(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordImport(ctx, ImportRecord{}); err == nil {
		t.Error("RecordImport without source succeeded")
	}
	got, err := s.Imports(ctx, "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]ImportRecord{recs[2], recs[0]}, got); diff != "" {
		t.Errorf("Imports(a) (-want +got):\n%s", diff)
	}
	got, err = s.Imports(ctx, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]ImportRecord{recs[2]}, got); diff != "" {
		t.Errorf("Imports(all, 1) (-want +got):\n%s", diff)
	}
}

func TestWriterBusy(t *testing.T) {
	s := openTest(t, "")
	ctx := t.Context()
	w, err := s.NewWriter(ctx, "one")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.NewWriter(ctx, "two"); !errors.Is(err, ErrWriterBusy) {
		t.Errorf("second writer: %v, want ErrWriterBusy", err)
	}
	// Another Store on the same file (as another process would open it).
	s2 := openTest(t, s.Path())
	if _, err := s2.NewWriter(ctx, "three"); !errors.Is(err, ErrWriterBusy) {
		t.Errorf("writer through a second store: %v, want ErrWriterBusy", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w, err = s2.NewWriter(ctx, "three")
	if err != nil {
		t.Fatalf("writer after close: %v", err)
	}
	w.Close()
	if err := w.Add(nil); err == nil {
		t.Error("Add after Close succeeded")
	}
	if err := w.Commit(Checkpoint{}); err == nil {
		t.Error("Commit after Close succeeded")
	}
}
