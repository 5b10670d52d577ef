package alertdb

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// applicationID marks a SQLite file as a Rampart store ("RAMP" in the
// header's application_id field), so Open can refuse other SQLite files.
const applicationID = 0x52414d50

//go:embed migrations/*.sql
var migrationFS embed.FS

// ErrNotStore is returned (wrapped, with the path) by Open for a file that
// exists but is not a Rampart store.
var ErrNotStore = errors.New("not a rampart store")

// ErrWriterBusy is returned by NewWriter while another writer, in this or
// another process, holds the store.
var ErrWriterBusy = errors.New("another import is writing to the store")

// Store is an open alert store. Its methods are safe for concurrent use; at
// most one Writer exists at a time (see NewWriter).
type Store struct {
	db     *sql.DB
	path   string
	logger *slog.Logger
}

// DefaultPath returns where the store lives unless configured otherwise:
// /var/lib/rampart/rampart.db as root, otherwise
// $XDG_DATA_HOME/rampart/rampart.db or ~/.local/share/rampart/rampart.db.
func DefaultPath() (string, error) {
	return defaultPath(os.Geteuid(), os.Getenv, os.UserHomeDir)
}

func defaultPath(euid int, getenv func(string) string, home func() (string, error)) (string, error) {
	if euid == 0 {
		return "/var/lib/rampart/rampart.db", nil
	}
	// The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
	if d := getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "rampart", "rampart.db"), nil
	}
	h, err := home()
	if err != nil {
		return "", fmt.Errorf("default store path: %w", err)
	}
	if h == "" || !filepath.IsAbs(h) {
		return "", fmt.Errorf("default store path: home directory %q is not absolute", h)
	}
	return filepath.Join(h, ".local", "share", "rampart", "rampart.db"), nil
}

// Open opens the store at path, creating it (and its directory, mode 0750)
// when it does not exist, and brings its schema up to date. A file that is
// not a Rampart store is refused with an error that wraps ErrNotStore.
func Open(ctx context.Context, path string, logger *slog.Logger) (*Store, error) {
	if path == "" {
		return nil, errors.New("open store: empty path")
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := checkHeader(abs); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", abs, err)
	}
	// Each connection has its own page cache; a few cover concurrent readers,
	// the writer and the WAL checkpointer.
	db.SetMaxOpenConns(6)
	db.SetMaxIdleConns(3)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{db: db, path: abs, logger: logger.With("component", "alertdb")}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// dsn builds a SQLite URI for path. The pragmas apply to every connection of
// the pool: WAL lets readers run during an import, synchronous=NORMAL is
// crash-safe in WAL mode (a power cut may lose the last commits, never
// consistency: the checkpoint rolls back with its alerts).
func dsn(abs string) string {
	u := url.URL{Scheme: "file", Path: abs}
	q := []string{
		"_pragma=busy_timeout(10000)",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(NORMAL)",
		"_pragma=temp_store(MEMORY)",
		"_pragma=cache_size(-32768)",
		// A WAL reset by a checkpoint shrinks back to this size.
		"_pragma=journal_size_limit(67108864)",
		"_pragma=foreign_keys(0)",
	}
	return u.String() + "?" + strings.Join(q, "&")
}

// checkHeader refuses, before SQLite sees it, a non-empty file that is not a
// SQLite database: SQLite's own message ("file is not a database") names
// neither the file nor what was expected.
func checkHeader(abs string) error {
	f, err := os.Open(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open store %s: %w", abs, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open store %s: %w", abs, err)
	}
	if st.IsDir() {
		return fmt.Errorf("open store %s: is a directory", abs)
	}
	if st.Size() == 0 {
		return nil
	}
	hdr := make([]byte, 16)
	n, err := io.ReadFull(f, hdr)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("open store %s: %w", abs, err)
	}
	if !bytes.Equal(hdr[:n], []byte("SQLite format 3\x00")) {
		return fmt.Errorf("open store %s: %w: not an SQLite database (starts with %q)", abs, ErrNotStore, hdr[:n])
	}
	return nil
}

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	ents, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range ents {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %q: want <version>_<name>.sql", name)
		}
		b, err := migrationFS.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := range ms {
		if ms[i].version != i+1 {
			return nil, fmt.Errorf("migration %q: want version %d", ms[i].name, i+1)
		}
	}
	return ms, nil
}

// migrate checks that the file is a Rampart store (or a new, empty database)
// and applies the migrations it lacks, all in one transaction.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("open store %s: %w", s.path, err)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("open store %s: %w", s.path, err)
	}
	defer conn.Close()
	var appID, objects int64
	if err := conn.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID); err != nil {
		return fmt.Errorf("open store %s: %w", s.path, err)
	}
	if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&objects); err != nil {
		return fmt.Errorf("open store %s: %w", s.path, err)
	}
	switch {
	case appID == applicationID:
	case appID == 0 && objects == 0:
		// A new file (or an empty database): make it a store.
	default:
		return fmt.Errorf("open store %s: %w: SQLite database with application_id %#x and %d schema objects",
			s.path, ErrNotStore, appID, objects)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("open store %s: %w", s.path, err)
	}
	err = s.applyMigrations(ctx, conn, ms)
	if err != nil {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return fmt.Errorf("open store %s: %w", s.path, err)
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return fmt.Errorf("open store %s: %w", s.path, err)
	}
	return nil
}

func (s *Store) applyMigrations(ctx context.Context, conn *sql.Conn, ms []migration) error {
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied INTEGER NOT NULL)`); err != nil {
		return err
	}
	var current int
	if err := conn.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return err
	}
	if current > len(ms) {
		return fmt.Errorf("schema version %d is newer than this program knows (%d): upgrade rampart", current, len(ms))
	}
	for _, m := range ms[current:] {
		if _, err := conn.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)",
			m.version, m.name, time.Now().Unix()); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		s.logger.Info("schema migrated", "path", s.path, "version", m.version, "migration", m.name)
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA application_id = "+strconv.Itoa(applicationID)); err != nil {
		return err
	}
	return nil
}

// Path returns the absolute path of the store file.
func (s *Store) Path() string { return s.path }

// Close closes the store. Writers must be closed first.
func (s *Store) Close() error {
	// Folding the WAL back keeps the directory to one file between runs; a
	// failure here costs only disk space, so it is logged, not returned.
	if _, err := s.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		s.logger.Warn("wal checkpoint on close", "path", s.path, "error", err)
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.path, err)
	}
	return nil
}
