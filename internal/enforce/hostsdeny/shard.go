package hostsdeny

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rampart-ids/rampart/internal/enforce"
)

// The sharded form keeps one list file per first IPv4 octet ("0" to "255")
// and one for IPv6 ("v6") in a generation directory; the symbolic link
// "current" names the generation in force.
const (
	shards      = 257 // 256 octets, then IPv6
	v6Shard     = 256
	v6Name      = "v6"
	currentName = "current"
	genPrefix   = "gen-"
	linkPrefix  = ".current-" // a new link before it is renamed over current
)

// shardName is the file name of shard i.
func shardName(i int) string {
	if i == v6Shard {
		return v6Name
	}
	return strconv.Itoa(i)
}

// shardIndex parses a shard file name: "0" to "255" as written (no leading
// zeros) or "v6".
func shardIndex(name string) (int, bool) {
	if name == v6Name {
		return v6Shard, true
	}
	n, err := strconv.Atoi(name)
	if err != nil || n < 0 || n > 255 || strconv.Itoa(n) != name {
		return 0, false
	}
	return n, true
}

// shardGuard is the client pattern that lets a client reach shard i: the
// first octet as an address prefix ("203."), or every IPv6 address. libwrap
// compares "203." with the start of the client's address text only, never
// with its host name (the pattern holds only digits and dots), and an IPv4
// client, also one seen as ::ffff:a.b.c.d, never matches "[::]/0".
func shardGuard(i int) string {
	if i == v6Shard {
		return "[::]/0"
	}
	return strconv.Itoa(i) + "."
}

// shardLines are the sharded form's hosts.deny lines between the block
// markers. libwrap reads "G EXCEPT ALL EXCEPT F" as G EXCEPT (ALL EXCEPT F):
// a client matches when it matches the guard G and is listed in F. A client
// that misses the guard never opens F, and a missing F (no entries in that
// shard) matches nothing.
func shardLines(daemons, dir string) []string {
	out := make([]string, shards)
	for i := range shards {
		out[i] = daemons + ": " + shardGuard(i) + " EXCEPT ALL EXCEPT " + dir + "/" + currentName + "/" + shardName(i)
	}
	return out
}

// shardOf is the shard an address belongs to.
func shardOf(a netip.Addr) int {
	if a.Is4() {
		return int(a.As4()[0])
	}
	return v6Shard
}

// AppendShards appends the sharded form of prefixes to files, indexed by
// shard: files[n] holds the IPv4 patterns whose first octet is n,
// files[256] the IPv6 ones, each in AppendList's form. An IPv4 prefix
// shorter than /8 is split into its /8 pieces, one per octet file. Sorted
// input gives sorted files.
func AppendShards(files *[shards][]byte, prefixes []netip.Prefix) {
	for _, p := range prefixes {
		if !p.IsValid() {
			continue
		}
		p = p.Masked()
		if !p.Addr().Is4() || p.Bits() >= 8 {
			i := shardOf(p.Addr())
			files[i] = AppendList(files[i], []netip.Prefix{p})
			continue
		}
		first := int(p.Addr().As4()[0])
		for n := first; n < first+1<<(8-p.Bits()); n++ {
			files[n] = AppendList(files[n], []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(n)}), 8)})
		}
	}
}

// generation is a generation of list files as read: its directory, and
// its files by shard index.
type generation struct {
	dir   string // "" when current is missing
	files map[int][]byte
}

// readShards reads the generation current names in dir. current is resolved
// once, so all files come from one generation even while another apply
// switches it. A missing link is an empty generation; files with other
// names are not read (libwrap never opens them).
func readShards(ctx context.Context, dir string) (generation, error) {
	cur := filepath.Join(dir, currentName)
	src := cur
	target, err := os.Readlink(cur)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return generation{}, nil
	case err == nil && filepath.IsAbs(target):
		src = target
	case err == nil:
		src = filepath.Join(dir, target)
	}
	// Otherwise current is no link: read it as it is.
	ents, err := os.ReadDir(src)
	if errors.Is(err, fs.ErrNotExist) {
		return generation{}, nil
	}
	if err != nil {
		return generation{}, err
	}
	g := generation{dir: src, files: make(map[int][]byte, len(ents))}
	for _, ent := range ents {
		if err := ctx.Err(); err != nil {
			return generation{}, err
		}
		i, ok := shardIndex(ent.Name())
		if !ok {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, ent.Name()))
		if err != nil {
			return generation{}, err
		}
		g.files[i] = data
	}
	return g, nil
}

// parseShards reads the patterns of a generation back. A pattern in a file
// where libwrap would never look for it (an address of another octet, IPv4
// in v6, IPv6 in an octet file) is an error naming the file, the line and
// the pattern: it blocks nothing, so Status cannot report it.
func parseShards(dir string, files map[int][]byte) ([]enforce.Entry, error) {
	var all []enforce.Entry
	for i := range shards {
		data, ok := files[i]
		if !ok {
			continue
		}
		name := filepath.Join(dir, currentName, shardName(i))
		entries, err := parseList(name, data, func(p netip.Prefix) string {
			switch {
			case i == v6Shard && !p.Addr().Is6():
				return "IPv4 pattern in the IPv6 file"
			case i != v6Shard && !p.Addr().Is4():
				return "IPv6 pattern in an IPv4 octet file"
			case i != v6Shard && (p.Bits() < 8 || shardOf(p.Addr()) != i):
				return "pattern outside the file's octet " + strconv.Itoa(i)
			}
			return ""
		})
		if err != nil {
			return nil, err
		}
		all = append(all, entries...)
	}
	return enforce.Normalize(all, enforce.NormalizeOptions{}), nil
}

// sameShards reports whether a generation already holds exactly files.
func sameShards(have map[int][]byte, files *[shards][]byte) bool {
	if have == nil {
		return false
	}
	n := 0
	for i, f := range files {
		if len(f) == 0 {
			continue
		}
		n++
		if h, ok := have[i]; !ok || !bytes.Equal(h, f) {
			return false
		}
	}
	return n == len(have)
}

// writeShards writes files as a new generation in dir and switches current
// to it: the generation directory and its files are written and synced
// before a new link is renamed over current (rename is atomic, so libwrap
// opens either the old generation's file or the new one's), then dir is
// synced. A file that the generation read before (have) holds byte for
// byte is hard-linked from it rather than written again: files are never
// changed once written, and a typical update touches a few octets, so only
// those few files cost a write and an fsync. Generations other than the new
// one and the one it replaced are deleted afterwards, once they have been
// out of use for Options.GenerationGrace; the previous one is kept until the next apply
// so a check that resolved current just before the switch still finds its
// file. warn reports cleanup problems, which do
// not fail the apply.
func writeShards(ctx context.Context, dir string, files *[shards][]byte, have generation, grace time.Duration, warn func(msg string, args ...any)) (err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return err
	}
	defer unlock()
	gen, err := os.MkdirTemp(dir, genPrefix)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(gen)
		}
	}()
	// MkdirTemp makes 0700: libwrap may run in daemons that are not root.
	if err := os.Chmod(gen, 0o755); err != nil {
		return err
	}
	for i, data := range files {
		if len(data) == 0 {
			continue
		}
		path := filepath.Join(gen, shardName(i))
		if h, ok := have.files[i]; ok && bytes.Equal(h, data) && linkShard(filepath.Join(have.dir, shardName(i)), path) {
			continue
		}
		if err := writeSynced(path, data); err != nil {
			return err
		}
	}
	if err := syncDir(gen); err != nil {
		return err
	}

	cur := filepath.Join(dir, currentName)
	prev, _ := os.Readlink(cur)
	link := filepath.Join(dir, linkPrefix+filepath.Base(gen))
	_ = os.Remove(link)
	// A relative target: the directory may be moved or bind-mounted.
	if err := os.Symlink(filepath.Base(gen), link); err != nil {
		return err
	}
	if err := os.Rename(link, cur); err != nil {
		fi, serr := os.Lstat(cur)
		if serr != nil || !fi.IsDir() {
			_ = os.Remove(link)
			return err
		}
		// A directory named current is not ours to keep: replace it
		// (not atomically, once).
		warn("replacing directory with the generation link", "path", cur)
		if err := os.RemoveAll(cur); err != nil {
			_ = os.Remove(link)
			return err
		}
		if err := os.Rename(link, cur); err != nil {
			_ = os.Remove(link)
			return err
		}
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	// The replaced generation's time says when it stopped being current:
	// older ones are deleted only a grace after that, so that a check
	// whose path walk resolved current before two quick applies (a busy
	// host, two writers) still finds its file.
	now := time.Now()
	if prev != "" {
		_ = os.Chtimes(filepath.Join(dir, prev), now, now)
	}

	ents, err := os.ReadDir(dir)
	if err != nil {
		warn("list old generations", "path", dir, "err", err)
		return nil
	}
	keep := map[string]bool{filepath.Base(gen): true, filepath.Base(prev): prev != ""}
	for _, ent := range ents {
		name := ent.Name()
		if keep[name] || !(strings.HasPrefix(name, genPrefix) || strings.HasPrefix(name, linkPrefix)) {
			continue
		}
		if fi, err := ent.Info(); err == nil && strings.HasPrefix(name, genPrefix) && now.Sub(fi.ModTime()) < grace {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			warn("remove old generation", "path", filepath.Join(dir, name), "err", err)
		}
	}
	return nil
}

// defaultGenGrace is how long a replaced generation outlives its
// replacement (Options.GenerationGrace).
const defaultGenGrace = 10 * time.Second

// lockDir takes an exclusive flock(2) of dir, retrying until ctx is done,
// and returns its release. Every writer of the list directory holds it.
func lockDir(ctx context.Context, dir string) (func(), error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(d.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(d.Fd()), syscall.LOCK_UN)
				_ = d.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = d.Close()
			return nil, fmt.Errorf("lock %s: %w", dir, err)
		}
		t := time.NewTimer(5 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			_ = d.Close()
			return nil, fmt.Errorf("lock %s: %w", dir, ctx.Err())
		case <-t.C:
		}
	}
}

// linkShard hard-links the file old as path, when it is a plain file that
// every daemon can read, and reports whether it did.
func linkShard(old, path string) bool {
	fi, err := os.Lstat(old)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
		return false
	}
	return os.Link(old, path) == nil
}

// writeSynced creates path (which must not exist) with data, synced.
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		// The umask may have narrowed the mode.
		err = f.Chmod(0o644)
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
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
