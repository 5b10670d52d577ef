package enforcecmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/rampart-ids/rampart/internal/atomicfile"
	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/enforce"
)

// manualEntry is one ban or unban an operator made, with who and why.
type manualEntry struct {
	Prefix  netip.Prefix `json:"prefix"`
	Expires time.Time    `json:"expires,omitzero"`
	Reason  string       `json:"reason,omitempty"`
	Author  string       `json:"author,omitempty"`
	Created time.Time    `json:"created"`
}

// manual holds the bans and unbans made by hand. Every apply adds the bans
// and cuts out the unbans, so a list applied later neither drops a manual
// ban nor brings back an address someone unbanned.
type manual struct {
	Bans   []manualEntry `json:"bans"`
	Unbans []manualEntry `json:"unbans"`
}

func (m *manual) banned() []enforce.Entry {
	out := make([]enforce.Entry, len(m.Bans))
	for i, b := range m.Bans {
		out[i] = enforce.Entry{Prefix: b.Prefix, Expires: b.Expires}
	}
	return out
}

func (m *manual) unbanned() []netip.Prefix {
	out := make([]netip.Prefix, len(m.Unbans))
	for i, u := range m.Unbans {
		out[i] = u.Prefix
	}
	return out
}

// ban records e: it replaces a ban of the same prefix and lifts the unbans
// the new ban covers.
func (m *manual) ban(e manualEntry) {
	m.Bans = slices.DeleteFunc(m.Bans, func(b manualEntry) bool { return b.Prefix == e.Prefix })
	m.Bans = append(m.Bans, e)
	m.Unbans = slices.DeleteFunc(m.Unbans, func(u manualEntry) bool { return covers(e.Prefix, u.Prefix) })
}

// unban records e: manual bans inside it are dropped, and it stays cut out
// of every list until banned again.
func (m *manual) unban(e manualEntry) {
	m.Bans = slices.DeleteFunc(m.Bans, func(b manualEntry) bool { return covers(e.Prefix, b.Prefix) })
	m.Unbans = slices.DeleteFunc(m.Unbans, func(u manualEntry) bool { return u.Prefix == e.Prefix })
	m.Unbans = append(m.Unbans, e)
}

// expire drops bans past their expiry.
func (m *manual) expire(now time.Time) {
	m.Bans = slices.DeleteFunc(m.Bans, func(b manualEntry) bool { return !b.Expires.IsZero() && !b.Expires.After(now) })
}

// covers reports whether outer contains all of inner.
func covers(outer, inner netip.Prefix) bool {
	return outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}

func manualPath(f *cmdutil.Factory) (string, error) {
	store, err := f.StoreLocation()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(store), "enforce", "manual.json"), nil
}

func loadManual(f *cmdutil.Factory) (*manual, error) {
	path, err := manualPath(f)
	if err != nil {
		return nil, err
	}
	m := &manual{}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	m.expire(f.Now())
	return m, nil
}

func saveManual(f *cmdutil.Factory, m *manual) error {
	path, err := manualPath(f)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(data, '\n'), 0o640)
}
