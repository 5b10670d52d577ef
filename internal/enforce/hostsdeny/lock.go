package hostsdeny

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrLocked says the lock stayed taken for every attempt.
var ErrLocked = errors.New("host-deny lock held by another process")

// lockOptions tune acquireLock.
type lockOptions struct {
	Attempts  int           // tries before ErrLocked
	FirstWait time.Duration // wait after the first failed try; doubles
	MaxWait   time.Duration // cap of a single wait
}

// ossecLock is OSSEC's host-deny lock as active-response/host-deny.sh takes
// it: the directory itself is the lock (mkdir is atomic), and a file "pid"
// inside names the holder. host-deny.sh retries with sleeps of 1, 2, 3...
// seconds and, after its last try, removes the lock anyway and gives up; it
// never checks whether the holder is alive. We differ in two ways, both
// deliberate: our waits are short and grow geometrically (Rampart holds the
// lock for milliseconds, and so does OSSEC), and a lock whose pid file names
// a process that no longer exists is stale and removed at once; a lock
// without a readable pid (the holder is between mkdir and writing the pid)
// or with a live holder is never broken by us.
type ossecLock struct {
	dir string
}

// acquireLock takes the lock at dir. A missing parent directory means OSSEC
// is not installed there: there is no one to coordinate with, and the
// returned lock is a no-op (nil, nil).
func acquireLock(ctx context.Context, dir string, opts lockOptions, log *slog.Logger) (*ossecLock, error) {
	if _, err := os.Stat(filepath.Dir(dir)); errors.Is(err, fs.ErrNotExist) {
		log.Debug("no ossec directory, editing hosts.deny without its lock", "lock_dir", dir)
		return nil, nil
	}
	wait := opts.FirstWait
	for attempt := 1; ; attempt++ {
		err := os.Mkdir(dir, 0o700)
		if err == nil {
			pid := strconv.Itoa(os.Getpid()) + "\n"
			if err := os.WriteFile(filepath.Join(dir, "pid"), []byte(pid), 0o600); err != nil {
				_ = os.RemoveAll(dir)
				return nil, fmt.Errorf("lock %s: write pid: %w", dir, err)
			}
			return &ossecLock{dir: dir}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("lock %s: %w", dir, err)
		}
		if pid, ok := holder(dir); ok && !alive(pid) {
			// Re-read just before removing: a fresh holder may have
			// replaced the stale one meanwhile.
			if again, ok := holder(dir); ok && again == pid {
				log.Warn("removing stale host-deny lock", "lock_dir", dir, "pid", pid)
				_ = os.RemoveAll(dir)
				continue
			}
		}
		if attempt >= opts.Attempts {
			return nil, fmt.Errorf("lock %s after %d attempts: %w", dir, attempt, ErrLocked)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("lock %s: %w", dir, ctx.Err())
		case <-t.C:
		}
		wait = min(2*wait, opts.MaxWait)
	}
}

// release drops the lock. Like host-deny.sh's unlock it removes the whole
// directory.
func (l *ossecLock) release() error {
	if l == nil {
		return nil
	}
	if err := os.RemoveAll(l.dir); err != nil {
		return fmt.Errorf("unlock %s: %w", l.dir, err)
	}
	return nil
}

// holder reads the pid file of the lock at dir.
func holder(dir string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(dir, "pid"))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, true
}

// alive reports whether a process with this pid exists. EPERM means it
// exists but belongs to someone else.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
