package rdap

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/openrdap/rdap/bootstrap/cache"

	"github.com/rampart-ids/rampart/internal/atomicfile"
)

// fileCache keeps the bootstrap files for the bootstrap client, in a
// directory or (dir "") in memory. Unlike the library's caches it reads the
// time from an injected clock, so a file's age is testable, and it writes
// files atomically, so two processes never read a half-written one. The
// bootstrap client is its only user and serialises the calls.
type fileCache struct {
	dir    string
	maxAge time.Duration
	now    func() time.Time

	mem    map[string]memFile   // dir == "": the files
	loaded map[string]time.Time // the modification time of the copy last loaded or saved
}

type memFile struct {
	data  []byte
	mtime time.Time
}

var _ cache.RegistryCache = (*fileCache)(nil)

func newFileCache(dir string, maxAge time.Duration, now func() time.Time) *fileCache {
	return &fileCache{dir: dir, maxAge: maxAge, now: now, mem: map[string]memFile{}, loaded: map[string]time.Time{}}
}

func (c *fileCache) SetTimeout(d time.Duration) { c.maxAge = d }

func (c *fileCache) path(name string) string { return filepath.Join(c.dir, name) }

func (c *fileCache) modTime(name string) (time.Time, bool) {
	if c.dir == "" {
		f, ok := c.mem[name]
		return f.mtime, ok
	}
	st, err := os.Stat(c.path(name))
	if err != nil {
		return time.Time{}, false
	}
	return st.ModTime(), true
}

func (c *fileCache) State(name string) cache.FileState {
	mtime, ok := c.modTime(name)
	switch {
	case !ok:
		return cache.Absent
	case c.now().Sub(mtime) > c.maxAge:
		return cache.Expired
	case c.loaded[name].Equal(mtime):
		return cache.Good
	default:
		// Another process saved a newer copy.
		return cache.ShouldReload
	}
}

func (c *fileCache) Load(name string) ([]byte, error) {
	if c.dir == "" {
		f, ok := c.mem[name]
		if !ok {
			return nil, fmt.Errorf("bootstrap file %s not cached", name)
		}
		c.loaded[name] = f.mtime
		return append([]byte(nil), f.data...), nil
	}
	mtime, ok := c.modTime(name)
	b, err := os.ReadFile(c.path(name))
	if err != nil {
		return nil, fmt.Errorf("read cached bootstrap file: %w", err)
	}
	if ok {
		c.loaded[name] = mtime
	}
	return b, nil
}

func (c *fileCache) Save(name string, data []byte) error {
	now := c.now()
	if c.dir == "" {
		c.mem[name] = memFile{data: append([]byte(nil), data...), mtime: now}
		c.loaded[name] = now
		return nil
	}
	if err := os.MkdirAll(c.dir, 0o750); err != nil {
		return fmt.Errorf("cache bootstrap file: %w", err)
	}
	p := c.path(name)
	if err := atomicfile.WriteFile(p, data, 0o644); err != nil {
		return fmt.Errorf("cache bootstrap file: %w", err)
	}
	// The file's age is measured with the injected clock.
	if err := os.Chtimes(p, now, now); err != nil {
		return fmt.Errorf("cache bootstrap file: %w", err)
	}
	if mtime, ok := c.modTime(name); ok {
		c.loaded[name] = mtime
	}
	return nil
}
