// Package atomicfile replaces files so that a reader sees the old content or
// the new, never a mix, and a crash leaves one of the two: countermeasure
// files (hosts.deny lists, nginx includes) are read by other programs at any
// moment. It does nothing else.
package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data: a temporary file in the same
// directory, fsync, rename, fsync of the directory. A reader sees the old
// file or the new one, never a mix, and a crash leaves one of the two.
func WriteFile(path string, data []byte, mode fs.FileMode) error {
	return WriteFileOwned(path, data, mode, -1, -1)
}

// WriteFileOwned is WriteFile that also sets the owner (-1 keeps ours).
func WriteFileOwned(path string, data []byte, mode fs.FileMode, uid, gid int) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Chmod(mode)
	}
	if err == nil && (uid >= 0 || gid >= 0) && (uid != os.Getuid() || gid != os.Getgid()) {
		err = f.Chown(uid, gid)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("write %s: sync dir: %w", path, err)
	}
	defer d.Close()
	if err = d.Sync(); err != nil {
		return fmt.Errorf("write %s: sync dir: %w", path, err)
	}
	return nil
}
