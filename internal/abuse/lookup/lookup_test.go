package lookup_test

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/abuse"
	"github.com/rampart-ids/rampart/internal/abuse/lookup"
	"github.com/rampart-ids/rampart/internal/abuse/rdap"
	"github.com/rampart-ids/rampart/internal/abuse/rdap/rdaptest"
	"github.com/rampart-ids/rampart/internal/alertdb"
)

var (
	p = netip.MustParsePrefix
	a = netip.MustParseAddr
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeSource answers from a table of networks, counting the questions.
type fakeSource struct {
	name  string
	clock *clock
	nets  []fakeNet
	mu    sync.Mutex
	asked []netip.Addr
}

type fakeNet struct {
	prefix netip.Prefix
	c      abuse.Contact
	err    error
}

func (f *fakeSource) Lookup(_ context.Context, addr netip.Addr) (abuse.Contact, error) {
	f.mu.Lock()
	f.asked = append(f.asked, addr)
	f.mu.Unlock()
	for _, n := range f.nets {
		if n.prefix.Contains(addr) {
			if n.err != nil {
				return abuse.Contact{}, n.err
			}
			c := n.c
			c.Addr, c.Source, c.Fetched = addr, f.name, f.clock.Now()
			if c.Range == nil {
				c.Range = []netip.Prefix{n.prefix}
			}
			return c, nil
		}
	}
	return abuse.Contact{}, errors.New(f.name + ": no answer for " + addr.String())
}

func (f *fakeSource) questions() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.asked)
}

func openStore(t *testing.T) *alertdb.Store {
	t.Helper()
	s, err := alertdb.Open(t.Context(), filepath.Join(t.TempDir(), "rampart.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fixture: RDAP knows 192.0.2.0/24 (with a mailbox), 198.51.100.0/24
// (without), fails for 203.0.113.0/24; whois knows 198.51.100.0/25 (with a
// mailbox), 198.51.100.128/25 (without) and 203.0.113.0/24.
func fixture(clk *clock) (rd, wh *fakeSource) {
	rd = &fakeSource{name: "rdap", clock: clk, nets: []fakeNet{
		{prefix: p("192.0.2.0/24"), c: abuse.Contact{Emails: []string{"abuse@example.net"}, NetName: "EXAMPLE-NET", Registry: "ARIN", Server: "https://rdap.example/ip/x"}},
		{prefix: p("198.51.100.0/24"), c: abuse.Contact{NetName: "CUST-NET", Org: "Customer LLC", Registry: "ARIN", Server: "https://rdap.example/ip/y"}},
		{prefix: p("203.0.113.0/24"), err: errors.New("rdap https://rdap.example/ip/z: rate limited by the registry (HTTP 429)")},
	}}
	wh = &fakeSource{name: "whois", clock: clk, nets: []fakeNet{
		{prefix: p("198.51.100.0/25"), c: abuse.Contact{Emails: []string{"abuse@isp.example"}, Country: "US", Server: "whois.arin.net:43"}},
		{prefix: p("198.51.100.128/25"), c: abuse.Contact{Server: "whois.arin.net:43"}},
		{prefix: p("203.0.113.0/24"), c: abuse.Contact{Emails: []string{"abuse@apnic-member.example"}, NetName: "AP-NET", Registry: "APNIC", Server: "whois.apnic.net:43"}},
	}}
	return rd, wh
}

var cmpAddrs = []cmp.Option{
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
}

func TestResolveSources(t *testing.T) {
	clk := &clock{t: time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)}
	tests := []struct {
		name          string
		addr          string
		noWhois       bool
		want          abuse.Contact
		wantErr       []string
		wantNotes     []string
		rdapQ, whoisQ int
	}{
		{name: "rdap answers", addr: "192.0.2.5", rdapQ: 1,
			want: abuse.Contact{Emails: []string{"abuse@example.net"}, Range: []netip.Prefix{p("192.0.2.0/24")}, NetName: "EXAMPLE-NET",
				Registry: "ARIN", Source: "rdap", Server: "https://rdap.example/ip/x"}},
		{name: "rdap without mailbox, whois has one: merged", addr: "198.51.100.5", rdapQ: 1, whoisQ: 1,
			want: abuse.Contact{Emails: []string{"abuse@isp.example"}, Range: []netip.Prefix{p("198.51.100.0/25")}, NetName: "CUST-NET",
				Org: "Customer LLC", Country: "US", Registry: "ARIN", Source: "whois", Server: "whois.arin.net:43"},
			wantNotes: []string{"https://rdap.example/ip/y names no abuse mailbox; the mailbox comes from whois whois.arin.net:43"}},
		{name: "neither has a mailbox", addr: "198.51.100.200", rdapQ: 1, whoisQ: 1,
			want: abuse.Contact{Range: []netip.Prefix{p("198.51.100.0/24")}, NetName: "CUST-NET", Org: "Customer LLC",
				Registry: "ARIN", Source: "rdap", Server: "https://rdap.example/ip/y"}},
		{name: "rdap fails, whois answers", addr: "203.0.113.9", rdapQ: 1, whoisQ: 1,
			want: abuse.Contact{Emails: []string{"abuse@apnic-member.example"}, Range: []netip.Prefix{p("203.0.113.0/24")}, NetName: "AP-NET",
				Registry: "APNIC", Source: "whois", Server: "whois.apnic.net:43"},
			wantNotes: []string{"rdap https://rdap.example/ip/z: rate limited by the registry (HTTP 429)"}},
		{name: "rdap fails, no whois", addr: "203.0.113.9", noWhois: true, rdapQ: 1,
			wantErr: []string{"rate limited"}},
		{name: "both fail", addr: "100.64.0.1", rdapQ: 1, whoisQ: 1,
			wantErr: []string{"rdap: no answer for 100.64.0.1", "whois: no answer for 100.64.0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd, wh := fixture(clk)
			o := lookup.Options{RDAP: rd, Whois: wh, Cache: openStore(t), Now: clk.Now}
			if tt.noWhois {
				o.Whois = nil
			}
			r, err := lookup.New(o)
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.Resolve(t.Context(), a(tt.addr))
			if rd.questions() != tt.rdapQ || wh.questions() != tt.whoisQ {
				t.Errorf("asked rdap %d, whois %d times; want %d, %d", rd.questions(), wh.questions(), tt.rdapQ, tt.whoisQ)
			}
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("no error; got %+v", got)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.Addr, want.Fetched = a(tt.addr), clk.Now()
			if diff := cmp.Diff(want, got.Contact, cmpAddrs...); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantNotes, got.Notes); diff != "" {
				t.Errorf("notes -want +got:\n%s", diff)
			}
			if got.Cached {
				t.Error("a fresh answer is marked cached")
			}
		})
	}
}

func TestResolveCache(t *testing.T) {
	clk := &clock{t: time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)}
	rd, wh := fixture(clk)
	store := openStore(t)
	r, err := lookup.New(lookup.Options{RDAP: rd, Whois: wh, Cache: store, Now: clk.Now,
		TTL: 7 * 24 * time.Hour, NegativeTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	fetched := clk.Now()
	step := func(name, addr string, wantCached bool, wantRdap, wantWhois int) lookup.Result {
		t.Helper()
		res, err := r.Resolve(t.Context(), a(addr))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.Cached != wantCached || rd.questions() != wantRdap || wh.questions() != wantWhois {
			t.Fatalf("%s: cached %v, rdap asked %d, whois %d times; want %v, %d, %d",
				name, res.Cached, rd.questions(), wh.questions(), wantCached, wantRdap, wantWhois)
		}
		if res.Addr != a(addr) {
			t.Fatalf("%s: answer for %v", name, res.Addr)
		}
		return res
	}

	first := step("fresh", "192.0.2.5", false, 1, 0)
	if want := fetched.Add(7 * 24 * time.Hour); !first.Expires.Equal(want) {
		t.Errorf("expires %v, want %v", first.Expires, want)
	}
	// Another address of the same network: from the cache, as fetched then.
	hit := step("inside the cached range", "192.0.2.200", true, 1, 0)
	if !hit.Fetched.Equal(fetched) || hit.Emails[0] != "abuse@example.net" {
		t.Errorf("cached answer %+v", hit.Contact)
	}
	// The merged answer covers the overlap of both answers only.
	step("merged", "198.51.100.5", false, 2, 1)
	step("merged, inside", "198.51.100.100", true, 2, 1)
	// A negative answer covers its own address only, for an hour.
	step("negative", "198.51.100.200", false, 3, 2)
	step("negative again", "198.51.100.200", true, 3, 2)
	step("negative's neighbour", "198.51.100.201", false, 4, 3)
	// A failed source on the way: not cached.
	step("rdap failed", "203.0.113.9", false, 5, 4)
	step("rdap failed, again", "203.0.113.10", true, 5, 4) // whois's answer is positive: cached

	clk.Add(time.Hour + time.Second)
	step("negative expired", "198.51.100.200", false, 6, 5)
	step("positive still cached", "192.0.2.77", true, 6, 5)

	clk.Add(7 * 24 * time.Hour)
	step("positive expired", "192.0.2.77", false, 7, 5)

	// Refresh asks again and caches the new answer.
	rr, err := lookup.New(lookup.Options{RDAP: rd, Whois: wh, Cache: store, Now: clk.Now, Refresh: true})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := rr.Resolve(t.Context(), a("192.0.2.77")); err != nil || res.Cached || rd.questions() != 8 {
		t.Errorf("refresh: cached %v, rdap asked %d times, %v", res.Cached, rd.questions(), err)
	}
}

// A negative answer is not cached when a source failed on the way.
func TestResolveNoNegativeCacheAfterFailure(t *testing.T) {
	clk := &clock{t: time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)}
	rd, _ := fixture(clk)
	wh := &fakeSource{name: "whois", clock: clk} // knows nothing: fails
	r, err := lookup.New(lookup.Options{RDAP: rd, Whois: wh, Cache: openStore(t), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		res, err := r.Resolve(t.Context(), a("198.51.100.200"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Found() || res.Cached || len(res.Notes) != 1 || !strings.Contains(res.Notes[0], "whois failed") {
			t.Errorf("round %d: %+v", i, res)
		}
	}
	if rd.questions() != 2 {
		t.Errorf("rdap asked %d times, want 2", rd.questions())
	}
}

// The real RDAP client against the loopback registries, whois as a fake:
// the ARIN reassignment without an abuse contact gets whois's mailbox.
func TestResolveRDAPServer(t *testing.T) {
	srv := rdaptest.Start()
	t.Cleanup(srv.Close)
	clk := &clock{t: time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)}
	rc, err := rdap.New(rdap.Options{BootstrapURL: srv.BootstrapURL(), Now: clk.Now, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	wh := &fakeSource{name: "whois", clock: clk, nets: []fakeNet{
		{prefix: p("198.51.100.128/26"), c: abuse.Contact{Emails: []string{"abuse@parent-isp.example"}, Range: []netip.Prefix{p("198.51.100.0/24")}, Server: "whois.arin.net:43"}},
	}}
	r, err := lookup.New(lookup.Options{RDAP: rc, Whois: wh, Cache: openStore(t), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Resolve(t.Context(), a("198.51.100.130"))
	if err != nil {
		t.Fatal(err)
	}
	want := abuse.Contact{Addr: a("198.51.100.130"), Emails: []string{"abuse@parent-isp.example"},
		Range: []netip.Prefix{p("198.51.100.128/26")}, NetName: "CUST-EXAMPLE-128", Org: "Example Customer LLC",
		Registry: "ARIN", Source: "whois", Server: "whois.arin.net:43", Fetched: clk.Now()}
	if diff := cmp.Diff(want, res.Contact, cmpAddrs...); diff != "" {
		t.Errorf("-want +got:\n%s", diff)
	}
	// The RDAP answer's range bounds the cached one: the whois /24 is not cached.
	q := srv.Queries()
	if res, err := r.Resolve(t.Context(), a("198.51.100.140")); err != nil || !res.Cached {
		t.Errorf("inside the /26: cached %v, %v", res.Cached, err)
	}
	if _, err := r.Resolve(t.Context(), a("198.51.100.20")); err != nil {
		t.Fatal(err)
	}
	if srv.Queries() != q+1 {
		t.Errorf("outside the /26: %d queries, want 1", srv.Queries()-q)
	}
}

func TestNewNeedsASource(t *testing.T) {
	if _, err := lookup.New(lookup.Options{}); err == nil {
		t.Error("New accepted no source")
	}
}

// A lookup no source answered is remembered for the /24 around it for a
// short while: a batch of drafts does not wait on the same dead servers for
// every address, and after FailureTTL they are asked again.
func TestResolveRemembersFailures(t *testing.T) {
	clk := &clock{t: time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)}
	rd := &fakeSource{name: "rdap", clock: clk}
	wh := &fakeSource{name: "whois", clock: clk}
	r, err := lookup.New(lookup.Options{RDAP: rd, Whois: wh, Cache: openStore(t), Now: clk.Now, FailureTTL: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Resolve(t.Context(), a("203.0.113.10")); err == nil {
		t.Fatal("no error from two failing sources")
	}
	_, err = r.Resolve(t.Context(), a("203.0.113.99"))
	if err == nil || !strings.Contains(err.Error(), "remembered for 203.0.113.0/24") || rd.questions() != 1 || wh.questions() != 1 {
		t.Fatalf("second address in the /24: %v (rdap asked %d, whois %d)", err, rd.questions(), wh.questions())
	}
	if _, err := r.Resolve(t.Context(), a("198.51.100.1")); err == nil || strings.Contains(err.Error(), "remembered") {
		t.Errorf("another network got the remembered failure: %v", err)
	}
	clk.Add(6 * time.Minute)
	if _, err := r.Resolve(t.Context(), a("203.0.113.99")); err == nil || strings.Contains(err.Error(), "remembered") || rd.questions() != 3 {
		t.Errorf("after FailureTTL: %v (rdap asked %d)", err, rd.questions())
	}
}
