package libwrap

import (
	"bytes"
	"cmp"
	"context"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Library is the shared object whose presence in DT_NEEDED means a program
// consults hosts.allow and hosts.deny.
const Library = "libwrap.so.0"

// Verdicts.
const (
	Protects     = "hosts.deny protects it"
	NeedFirewall = "needs the firewall"
	Unknown      = "unknown"
)

// Listener is one listening TCP socket.
type Listener struct {
	Addr  netip.AddrPort
	Inode uint64
}

// Service is one listening socket with the program behind it.
type Service struct {
	Port uint16     `json:"port"`
	Addr netip.Addr `json:"address"`
	// PID is the lowest process id holding the socket (pre-forking
	// servers share it; the lowest is usually the parent); 0 if none
	// could be seen (another user's process without root).
	PID  int    `json:"pid"`
	Exe  string `json:"exe"`
	Comm string `json:"comm,omitempty"`
	// Checked lists the binaries whose ELF was read.
	Checked []string `json:"checked,omitempty"`
	Libwrap bool     `json:"libwrap"`
	Verdict string   `json:"verdict"`
	// Note explains an unknown verdict or a caveat (inetd).
	Note string `json:"note,omitempty"`
}

// Options locate the file systems Check reads.
type Options struct {
	// Proc is the /proc tree (default os.DirFS("/proc")). Programs are
	// opened through PID/exe, which works for deleted binaries and other
	// mount namespaces on a real /proc.
	Proc fs.FS
	// Root is the root file system, used for binaries beside the
	// program such as sshd-session (default os.DirFS("/")).
	Root fs.FS
}

// Check lists the listening TCP services and says for each whether
// hosts.deny protects it. Sockets whose process cannot be seen are still
// listed, with an unknown verdict.
func Check(ctx context.Context, opts Options) ([]Service, error) {
	if opts.Proc == nil {
		opts.Proc = os.DirFS("/proc")
	}
	if opts.Root == nil {
		opts.Root = os.DirFS("/")
	}
	ls, err := Listeners(opts.Proc)
	if err != nil {
		return nil, err
	}
	owners, err := SocketOwners(ctx, opts.Proc)
	if err != nil {
		return nil, err
	}
	linked := map[string]linkResult{} // per binary, within this call
	var out []Service
	for _, l := range ls {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s := Service{Port: l.Addr.Port(), Addr: l.Addr.Addr(), Verdict: Unknown}
		pid, ok := owners[l.Inode]
		if !ok {
			s.Note = "no visible process holds the socket (run as root to see every process)"
			out = append(out, s)
			continue
		}
		s.PID = pid
		s.Exe, _ = readLink(opts.Proc, strconv.Itoa(pid)+"/exe")
		if b, err := fs.ReadFile(opts.Proc, strconv.Itoa(pid)+"/comm"); err == nil {
			s.Comm = strings.TrimSpace(string(b))
		}
		checkService(&s, opts, linked)
		out = append(out, s)
	}
	return out, nil
}

type linkResult struct {
	ok  bool
	err error
}

func checkService(s *Service, opts Options, cache map[string]linkResult) {
	exe := strings.TrimSuffix(s.Exe, " (deleted)")
	key := "pid:" + exe
	r, ok := cache[key]
	if !ok {
		r.ok, r.err = linkedFS(opts.Proc, strconv.Itoa(s.PID)+"/exe")
		cache[key] = r
	}
	if r.err != nil {
		s.Note = r.err.Error()
		return
	}
	s.Checked = append(s.Checked, exe)
	s.Libwrap = r.ok
	base := path.Base(exe)
	if base == "sshd" && path.IsAbs(exe) {
		// OpenSSH >= 9.8: the listener execs sshd-session per connection;
		// Debian installs it under /usr/lib/openssh.
		for _, p := range []string{path.Join(path.Dir(exe), "sshd-session"), "/usr/lib/openssh/sshd-session", "/usr/libexec/openssh/sshd-session"} {
			if slices.Contains(s.Checked, p) {
				continue
			}
			r, ok := cache[p]
			if !ok {
				r.ok, r.err = linkedFS(opts.Root, strings.TrimPrefix(p, "/"))
				cache[p] = r
			}
			if errors.Is(r.err, fs.ErrNotExist) {
				continue
			}
			s.Checked = append(s.Checked, p)
			if r.err != nil {
				s.Note = r.err.Error()
				continue
			}
			s.Libwrap = s.Libwrap || r.ok
		}
	}
	s.Verdict = NeedFirewall
	if s.Libwrap {
		s.Verdict = Protects
	}
	if strings.HasSuffix(base, "inetd") && !s.Libwrap {
		s.Note = "services started through tcpd in inetd.conf are protected; the others need the firewall"
	}
}

// Linked reports whether the ELF program at path needs libwrap.so.0.
func Linked(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	return linkedReader(path, f)
}

func linkedFS(fsys fs.FS, name string) (bool, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if ra, ok := f.(io.ReaderAt); ok {
		return linkedReader(name, ra)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", name, err)
	}
	return linkedReader(name, bytes.NewReader(b))
}

// linkedReader reads DT_NEEDED. A statically linked program has none and
// is reported as not linked. debug/elf is not promised to be panic-free
// on hostile input, and a binary on disk is input: a panic becomes an error.
func linkedReader(name string, r io.ReaderAt) (ok bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			ok, err = false, fmt.Errorf("read ELF %s: malformed: %v", name, p)
		}
	}()
	f, err := elf.NewFile(r)
	if err != nil {
		return false, fmt.Errorf("read ELF %s: %w", name, err)
	}
	defer f.Close()
	libs, err := f.ImportedLibraries()
	if err != nil {
		if f.Section(".dynamic") == nil && dynProg(f) == nil {
			return false, nil
		}
		return false, fmt.Errorf("read ELF %s: dynamic section: %w", name, err)
	}
	return slices.Contains(libs, Library), nil
}

func dynProg(f *elf.File) *elf.Prog {
	for _, p := range f.Progs {
		if p.Type == elf.PT_DYNAMIC {
			return p
		}
	}
	return nil
}

// Listeners reads net/tcp and net/tcp6 of the /proc tree and returns the
// sockets in state LISTEN (0A), sorted by port and address. A missing file
// (no IPv6) is skipped.
func Listeners(proc fs.FS) ([]Listener, error) {
	socks, err := readSockets(proc)
	if err != nil {
		return nil, err
	}
	var out []Listener
	for _, so := range socks {
		if so.State == StateListen {
			out = append(out, Listener{Addr: so.Local, Inode: so.Inode})
		}
	}
	slices.SortFunc(out, func(a, b Listener) int {
		return cmp.Or(cmp.Compare(a.Addr.Port(), b.Addr.Port()), a.Addr.Addr().Compare(b.Addr.Addr()))
	})
	return out, nil
}

// ParseNetTCP parses the text of /proc/net/tcp or /proc/net/tcp6 and
// returns the listening sockets. Addresses are printed by the kernel as
// 32-bit words in host byte order; this decodes them for the machine it
// runs on. name is used in errors.
func ParseNetTCP(name string, data []byte) ([]Listener, error) {
	socks, err := ParseSockets(name, data)
	if err != nil {
		return nil, err
	}
	var out []Listener
	for _, so := range socks {
		if so.State == StateListen {
			out = append(out, Listener{Addr: so.Local, Inode: so.Inode})
		}
	}
	return out, nil
}

func snip(s string) string {
	if len(s) > 80 {
		return s[:80]
	}
	return s
}

func parseHexAddrPort(s string) (netip.AddrPort, error) {
	h, p, ok := strings.Cut(s, ":")
	if !ok || len(p) != 4 {
		return netip.AddrPort{}, errors.New("want HEXADDR:PORT")
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, errors.New("bad port")
	}
	raw, err := hex.DecodeString(h)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, errors.New("want 8 or 32 hex digits")
	}
	// Each 32-bit word was printed as a number in host order: turn the
	// printed big-endian digits back into the bytes in memory.
	var b [16]byte
	for i := 0; i < len(raw); i += 4 {
		binary.NativeEndian.PutUint32(b[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	var a netip.Addr
	if len(raw) == 4 {
		a = netip.AddrFrom4([4]byte(b[:4]))
	} else {
		a = netip.AddrFrom16(b).Unmap()
	}
	return netip.AddrPortFrom(a, uint16(port)), nil
}

// SocketOwners maps socket inodes to the lowest PID holding them, from the
// socket:[inode] links of /proc/PID/fd. Processes that vanish or cannot be
// read (another user's, without root) are skipped.
func SocketOwners(ctx context.Context, proc fs.FS) (map[uint64]int, error) {
	ents, err := fs.ReadDir(proc, ".")
	if err != nil {
		return nil, fmt.Errorf("read /proc: %w", err)
	}
	owners := map[uint64]int{}
	for _, d := range ents {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid <= 0 {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fds, err := fs.ReadDir(proc, d.Name()+"/fd")
		if err != nil {
			continue
		}
		for _, fd := range fds {
			target, err := readLink(proc, d.Name()+"/fd/"+fd.Name())
			if err != nil {
				continue
			}
			num, ok := strings.CutPrefix(target, "socket:[")
			if !ok {
				continue
			}
			inode, err := strconv.ParseUint(strings.TrimSuffix(num, "]"), 10, 64)
			if err != nil {
				continue
			}
			if old, ok := owners[inode]; !ok || pid < old {
				owners[inode] = pid
			}
		}
	}
	return owners, nil
}

func readLink(fsys fs.FS, name string) (string, error) {
	return fs.ReadLink(fsys, name)
}
