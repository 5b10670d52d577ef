package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/blocklist"
	"github.com/rampart-ids/rampart/internal/serverdb"
)

// versionWatch is the current list version and a channel closed when it
// changes, for long polls.
type versionWatch struct {
	mu   sync.Mutex
	v    uint64
	ch   chan struct{}
	done bool
}

func newVersionWatch(v uint64) *versionWatch { return &versionWatch{v: v, ch: make(chan struct{})} }

func (w *versionWatch) current() (uint64, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.v, w.ch
}

// set moves to version v if it is newer and wakes every waiter.
func (w *versionWatch) set(v uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if v <= w.v || w.done {
		return
	}
	w.v = v
	close(w.ch)
	w.ch = make(chan struct{})
}

// shutdown wakes every waiter for good (the server is stopping).
func (w *versionWatch) shutdown() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.done = true
		close(w.ch)
	}
}

// listCache keeps the encodings of the newest list and recent deltas, so
// that thousands of agents asking for the same version cost one database
// read and one signature.
type listCache struct {
	db     *serverdb.DB
	signer *blocklist.Signer

	mu      sync.Mutex
	list    blocklist.List
	have    bool
	formats map[string][]byte
	deltas  map[[2]uint64][]byte
}

func newListCache(db *serverdb.DB, signer *blocklist.Signer) *listCache {
	return &listCache{db: db, signer: signer, formats: map[string][]byte{}, deltas: map[[2]uint64][]byte{}}
}

// current returns the list at version >= min (min being what the watch
// knows), reading the database when the cached one is older.
func (c *listCache) current(ctx context.Context, min uint64) (blocklist.List, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.have && c.list.Version >= min {
		return c.list, nil
	}
	if c.have {
		// Usually a few changes on a large list: apply them rather
		// than read the whole list again.
		d, err := c.db.ChangesSince(ctx, c.list.Version)
		if err == nil && d.To >= min && d.To > c.list.Version {
			if l, err := d.Apply(c.list); err == nil {
				c.setList(l)
				return c.list, nil
			}
		}
		if err != nil && !errors.Is(err, serverdb.ErrFullListNeeded) {
			return blocklist.List{}, err
		}
	}
	l, err := c.db.List(ctx)
	if err != nil {
		return blocklist.List{}, err
	}
	c.setList(l)
	return l, nil
}

func (c *listCache) setList(l blocklist.List) {
	c.list, c.have = l, true
	clear(c.formats)
	if len(c.deltas) > 256 {
		clear(c.deltas)
	}
}

// encoded returns the list in a format, cached per version.
func (c *listCache) encoded(ctx context.Context, min uint64, format string) (blocklist.List, []byte, error) {
	l, err := c.current(ctx, min)
	if err != nil {
		return blocklist.List{}, nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if b, ok := c.formats[format]; ok && c.list.Version == l.Version {
		return l, b, nil
	}
	b, err := render(c.signer, l, format)
	if err != nil {
		return blocklist.List{}, nil, err
	}
	if c.list.Version == l.Version {
		c.formats[format] = b
	}
	return l, b, nil
}

// delta returns the signed delta from since to the newest version, cached.
func (c *listCache) delta(ctx context.Context, since, to uint64) ([]byte, uint64, error) {
	c.mu.Lock()
	if b, ok := c.deltas[[2]uint64{since, to}]; ok {
		c.mu.Unlock()
		return b, to, nil
	}
	c.mu.Unlock()
	d, err := c.db.ChangesSince(ctx, since)
	if err != nil {
		return nil, 0, err
	}
	b := c.signer.SignDelta(d)
	c.mu.Lock()
	c.deltas[[2]uint64{since, d.To}] = b
	c.mu.Unlock()
	return b, d.To, nil
}

// listJSON is the json format of a list.
type listJSON struct {
	Version   uint64      `json:"version"`
	Generated time.Time   `json:"generated"`
	Intended  bool        `json:"intended"`
	KeyID     string      `json:"key_id"`
	Signature string      `json:"signature"`
	Entries   []entryJSON `json:"entries"`
}

type entryJSON struct {
	Prefix  string    `json:"prefix"`
	Expires time.Time `json:"expires,omitzero"`
}

// Formats the list is served in.
var formats = []string{"txt", "json", "nft", "ipset", "hostsdeny", "nginx"}

func render(signer *blocklist.Signer, l blocklist.List, format string) ([]byte, error) {
	var b strings.Builder
	switch format {
	case "txt":
		return signer.SignList(l), nil
	case "json":
		j := listJSON{Version: l.Version, Generated: l.Generated.UTC(), Intended: l.Intended, KeyID: signer.Public().ID(),
			Signature: base64.StdEncoding.EncodeToString(signer.Signature(l)), Entries: make([]entryJSON, len(l.Entries))}
		for i, e := range l.Entries {
			j.Entries[i] = entryJSON{Prefix: e.Prefix.String(), Expires: e.Expires}
		}
		return json.Marshal(j)
	case "nft":
		// An nft -f script that replaces the sets of table inet rampart.
		fmt.Fprintf(&b, "# rampart block list version %d\ntable inet rampart {}\nflush table inet rampart\ntable inet rampart {\n", l.Version)
		for _, fam := range []struct{ name, typ string }{{"blocked4", "ipv4_addr"}, {"blocked6", "ipv6_addr"}} {
			fmt.Fprintf(&b, "\tset %s {\n\t\ttype %s\n\t\tflags interval\n", fam.name, fam.typ)
			var elems []string
			for _, e := range l.Entries {
				if e.Prefix.Addr().Is4() == (fam.typ == "ipv4_addr") {
					elems = append(elems, e.Prefix.String())
				}
			}
			if len(elems) > 0 {
				fmt.Fprintf(&b, "\t\telements = { %s }\n", strings.Join(elems, ", "))
			}
			b.WriteString("\t}\n")
		}
		b.WriteString("\tchain input {\n\t\ttype filter hook input priority -10; policy accept;\n\t\tip saddr @blocked4 drop\n\t\tip6 saddr @blocked6 drop\n\t}\n}\n")
	case "ipset":
		fmt.Fprintf(&b, "# rampart block list version %d\ncreate rampart4 hash:net family inet -exist\ncreate rampart6 hash:net family inet6 -exist\nflush rampart4\nflush rampart6\n", l.Version)
		for _, e := range l.Entries {
			set := "rampart4"
			if e.Prefix.Addr().Is6() {
				set = "rampart6"
			}
			fmt.Fprintf(&b, "add %s %s\n", set, e.Prefix)
		}
	case "hostsdeny":
		fmt.Fprintf(&b, "# rampart block list version %d: include with \"ALL: /path/to/this/file\"\n", l.Version)
		for _, e := range l.Entries {
			if e.Prefix.Addr().Is4() {
				fmt.Fprintf(&b, "%s/%s\n", e.Prefix.Addr(), mask4(e.Prefix.Bits()))
			} else {
				fmt.Fprintf(&b, "[%s]/%d\n", e.Prefix.Addr(), e.Prefix.Bits())
			}
		}
	case "nginx":
		fmt.Fprintf(&b, "# rampart block list version %d: include in http, server or location\n", l.Version)
		for _, e := range l.Entries {
			fmt.Fprintf(&b, "deny %s;\n", e.Prefix)
		}
	default:
		return nil, badRequest("format %q: want one of %s", format, strings.Join(formats, ", "))
	}
	return []byte(b.String()), nil
}

func mask4(bits int) string {
	m := ^uint32(0) << (32 - bits)
	if bits == 0 {
		m = 0
	}
	return fmt.Sprintf("%d.%d.%d.%d", m>>24, m>>16&0xff, m>>8&0xff, m&0xff)
}

func contentType(format string) string {
	if format == "json" {
		return "application/json"
	}
	return "text/plain; charset=utf-8"
}

func (s *Server) getBlocklist(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.auth(r, api.RoleAgent); err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "txt"
	}
	cur, _ := s.watch.current()
	l, body, err := s.lists.encoded(r.Context(), cur, format)
	if err != nil {
		return err
	}
	etag := `"v` + strconv.FormatUint(l.Version, 10) + "-" + format + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set(api.HeaderVersion, strconv.FormatUint(l.Version, 10))
	w.Header().Set("Cache-Control", "no-cache")
	if match := r.Header.Get("If-None-Match"); match != "" && (match == etag || match == "*") {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.Header().Set("Content-Type", contentType(format))
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, err = w.Write(body)
	return err
}

func (s *Server) getChanges(w http.ResponseWriter, r *http.Request) error {
	tok, err := s.auth(r, api.RoleAgent)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	since, err := strconv.ParseUint(q.Get("since"), 10, 64)
	if err != nil {
		return badRequest("since: want a list version")
	}
	wait := 30 * time.Second
	if ws := q.Get("wait"); ws != "" {
		if wait, err = time.ParseDuration(ws); err != nil || wait < 0 {
			return badRequest("wait %q: want a duration such as 30s", ws)
		}
		wait = min(wait, api.MaxWait)
	}
	if a := r.Header.Get(api.HeaderAgentVersion); a != "" {
		if applied, err := strconv.ParseUint(a, 10, 64); err == nil {
			s.seeAgent(r.Context(), tok, applied)
		}
	}
	cur, changed := s.watch.current()
	if since == cur && wait > 0 {
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Now().Add(wait + 10*time.Second))
		s.metrics.waiting.Inc()
		t := time.NewTimer(wait)
		select {
		case <-changed:
		case <-t.C:
		case <-r.Context().Done():
		}
		t.Stop()
		s.metrics.waiting.Dec()
		if r.Context().Err() != nil {
			return nil
		}
		cur, _ = s.watch.current()
	}
	w.Header().Set(api.HeaderVersion, strconv.FormatUint(cur, 10))
	if since == cur {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if since > cur {
		// Another replica may be ahead of what this one polled.
		if v, _, err := s.db.Version(r.Context()); err == nil {
			s.watch.set(v)
			cur = v
		}
	}
	body, to, err := s.lists.delta(r.Context(), since, cur)
	if errors.Is(err, serverdb.ErrFullListNeeded) {
		return &httpError{status: http.StatusConflict, msg: "full list needed"}
	}
	if err != nil {
		return err
	}
	w.Header().Set(api.HeaderVersion, strconv.FormatUint(to, 10))
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err = w.Write(body)
	return err
}

// listChanged is called after a write that made version v.
func (s *Server) listChanged(v uint64) {
	s.watch.set(v)
	cur, _ := s.watch.current()
	s.metrics.listVersion.Set(float64(cur))
}
