package rdap_test

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/abuse"
	"github.com/rampart-ids/rampart/internal/abuse/rdap"
	"github.com/rampart-ids/rampart/internal/abuse/rdap/rdaptest"
)

// clock is a settable test clock.
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

func newClock() *clock { return &clock{t: time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)} }

func startServer(t *testing.T) *rdaptest.Server {
	t.Helper()
	s := rdaptest.Start()
	t.Cleanup(s.Close)
	return s
}

func newClient(t *testing.T, s *rdaptest.Server, o rdap.Options) *rdap.Client {
	t.Helper()
	o.BootstrapURL = s.BootstrapURL()
	if o.Now == nil {
		o.Now = newClock().Now
	}
	c, err := rdap.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var cmpAddrs = []cmp.Option{
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
}

func TestLookupRegistries(t *testing.T) {
	s := startServer(t)
	clk := newClock()
	c := newClient(t, s, rdap.Options{Now: clk.Now})
	p := netip.MustParsePrefix
	tests := []struct {
		addr string
		path string // of the URL that answered
		want abuse.Contact
	}{
		{"192.0.2.10", "/arin/ip/192.0.2.10", abuse.Contact{
			Emails: []string{"abuse@example.net"}, Range: []netip.Prefix{p("192.0.2.0/26")},
			NetName: "EXAMPLE-NET-1", Org: "Example Networks, Inc.", Registry: "ARIN"}},
		{"192.0.2.70", "/ripe/ip/192.0.2.70", abuse.Contact{
			Emails: []string{"abuse@example.nl"}, Range: []netip.Prefix{p("192.0.2.64/26")},
			NetName: "EXAMPLE-NL-NET", Org: "Example Hosting B.V.", Country: "NL", Registry: "RIPE"}},
		{"192.0.2.150", "/apnic/ip/192.0.2.150", abuse.Contact{
			Emails: []string{"security@example.com.au", "abuse@example.com.au"}, Range: []netip.Prefix{p("192.0.2.128/26")},
			NetName: "EXAMPLE-AU", Org: "Example Pty Ltd", Country: "AU", Registry: "APNIC"}},
		{"192.0.2.200", "/lacnic/ip/192.0.2.200", abuse.Contact{
			Emails: []string{"noc@ejemplo.com.uy"}, Range: []netip.Prefix{p("192.0.2.192/26")},
			NetName: "192.0.2.192/26", Org: "Ejemplo Comunicaciones S.A.", Country: "UY", Registry: "LACNIC"}},
		{"198.51.100.20", "/afrinic/ip/198.51.100.20", abuse.Contact{
			Emails: []string{"abuse@example.co.za"}, Range: []netip.Prefix{p("198.51.100.0/26")},
			NetName: "EXAMPLE-ZA-NET", Org: "Example Internet (Pty) Ltd", Country: "ZA", Registry: "AFRINIC"}},
		// ARIN's bootstrap entry, RIPE's answer after a redirect.
		{"198.51.100.70", "/ripe/ip/198.51.100.70", abuse.Contact{
			Emails: []string{"abuse@beispiel.de"}, Range: []netip.Prefix{p("198.51.100.64/26")},
			NetName: "BEISPIEL-DE-NET", Org: "Beispiel GmbH", Country: "DE", Registry: "RIPE"}},
		{"198.51.100.130", "/arin/ip/198.51.100.130", abuse.Contact{
			Range: []netip.Prefix{p("198.51.100.128/26")}, NetName: "CUST-EXAMPLE-128", Org: "Example Customer LLC", Registry: "ARIN"}},
		{"2001:db8:1234::1", "/ripe/ip/2001:db8:1234::1", abuse.Contact{
			Emails: []string{"abuse@exempel.se"}, Range: []netip.Prefix{p("2001:db8:1000::/36")},
			NetName: "EXEMPEL-SE-V6", Org: "Exempel AB", Country: "SE", Registry: "RIPE"}},
		// A v4-mapped address is asked for as IPv4.
		{"::ffff:192.0.2.11", "/arin/ip/192.0.2.11", abuse.Contact{
			Emails: []string{"abuse@example.net"}, Range: []netip.Prefix{p("192.0.2.0/26")},
			NetName: "EXAMPLE-NET-1", Org: "Example Networks, Inc.", Registry: "ARIN"}},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			addr := netip.MustParseAddr(tt.addr)
			got, err := c.Lookup(t.Context(), addr)
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			want := tt.want
			want.Addr, want.Source, want.Server, want.Fetched = addr.Unmap(), "rdap", s.URL+tt.path, clk.Now()
			if diff := cmp.Diff(want, got, cmpAddrs...); diff != "" {
				t.Errorf("-want +got:\n%s", diff)
			}
		})
	}
}

func TestLookupErrors(t *testing.T) {
	s := startServer(t)
	c := newClient(t, s, rdap.Options{Timeout: 300 * time.Millisecond, MaxBody: 1 << 20})
	tests := []struct {
		addr   string
		is     error
		want   []string
		within time.Duration
	}{
		{addr: "203.0.113.5", is: rdap.ErrNotFound, want: []string{s.URL + "/apnic/ip/203.0.113.5", "404"}},
		{addr: "192.0.3.1", is: rdap.ErrNotFound, want: []string{s.URL + "/arin/ip/192.0.3.1"}}, // ARIN space without a network
		{addr: "203.0.113.70", is: rdap.ErrRateLimited, want: []string{s.URL + "/lacnic/ip/203.0.113.70", "rate limited", `retry after "60"`}},
		{addr: "203.0.113.130", want: []string{s.URL + "/afrinic/ip/203.0.113.130", "answer is not JSON", "<!DOCTYPE html>"}},
		{addr: "203.0.113.200", want: []string{s.URL + "/ripe/ip/203.0.113.200", "Timeout"}, within: 5 * time.Second},
		{addr: "203.0.113.230", want: []string{s.URL + "/arin/ip/203.0.113.230", "exceeds the limit of 1048576 bytes"}},
		{addr: "198.51.100.200", want: []string{"/ip/198.51.100.200", "stopped after 5 redirects"}},
		{addr: "100.64.0.1", is: rdap.ErrNoServer, want: []string{s.URL + "/bootstrap/ipv4.json"}},
		{addr: "2001:db9::1", is: rdap.ErrNoServer, want: []string{s.URL + "/bootstrap/ipv6.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			start := time.Now()
			_, err := c.Lookup(t.Context(), netip.MustParseAddr(tt.addr))
			if err == nil {
				t.Fatal("Lookup succeeded")
			}
			t.Log(err)
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tt.within > 0 && time.Since(start) > tt.within {
				t.Errorf("took %v, want under %v", time.Since(start), tt.within)
			}
		})
	}
}

func TestBootstrapCache(t *testing.T) {
	s := startServer(t)
	dir := t.TempDir()
	clk := newClock()
	opts := rdap.Options{CacheDir: dir, MaxAge: 24 * time.Hour, Now: clk.Now}
	lookup := func(c *rdap.Client) {
		t.Helper()
		if _, err := c.Lookup(t.Context(), netip.MustParseAddr("192.0.2.10")); err != nil {
			t.Fatalf("Lookup: %v", err)
		}
	}
	fetches := func(want int64) {
		t.Helper()
		if got := s.BootstrapFetches(); got != want {
			t.Fatalf("bootstrap fetched %d times, want %d", got, want)
		}
	}

	c1 := newClient(t, s, opts)
	lookup(c1)
	fetches(1)
	lookup(c1)
	fetches(1)
	files, _ := filepath.Glob(filepath.Join(dir, "*ipv4.json"))
	if len(files) != 1 {
		t.Fatalf("cache dir holds %v, want one ipv4.json", files)
	}

	// A second client (a later run) reads the file on disk.
	clk.Add(23 * time.Hour)
	lookup(newClient(t, s, opts))
	fetches(1)

	// Past the maximum age the file is fetched again.
	clk.Add(2 * time.Hour)
	c3 := newClient(t, s, opts)
	lookup(c3)
	fetches(2)

	// Expired and the bootstrap service down: the old copy still answers.
	clk.Add(25 * time.Hour)
	s.SetBootstrapDown(true)
	lookup(newClient(t, s, opts))
	fetches(3)

	// Refresh fetches whatever the age, and says which file failed.
	err := c3.Refresh(t.Context())
	if err == nil || !strings.Contains(err.Error(), s.URL+"/bootstrap/ipv4.json") || !strings.Contains(err.Error(), "503") {
		t.Errorf("Refresh with the service down: %v", err)
	}
	s.SetBootstrapDown(false)
	before := s.BootstrapFetches()
	if err := c3.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := s.BootstrapFetches() - before; got != 2 {
		t.Errorf("Refresh fetched %d files, want 2 (ipv4.json, ipv6.json)", got)
	}

	// A garbage file in the cache is fetched again.
	for _, f := range files {
		if err := os.WriteFile(f, []byte("not json"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(f, clk.Now(), clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	before = s.BootstrapFetches()
	lookup(newClient(t, s, opts))
	if got := s.BootstrapFetches() - before; got != 1 {
		t.Errorf("garbage cache: fetched %d files, want 1", got)
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	for _, u := range []string{"ftp://example.org/", "data.iana.org/rdap/", "http://"} {
		if _, err := rdap.New(rdap.Options{BootstrapURL: u}); err == nil {
			t.Errorf("New accepted bootstrap URL %q", u)
		}
	}
}

// Concurrent lookups share one client (and its bootstrap data).
func TestLookupConcurrent(t *testing.T) {
	s := startServer(t)
	c := newClient(t, s, rdap.Options{CacheDir: t.TempDir()})
	addrs := []string{"192.0.2.10", "192.0.2.70", "192.0.2.150", "192.0.2.200", "198.51.100.20", "2001:db8:1234::1"}
	var wg sync.WaitGroup
	errs := make(chan error, 4*len(addrs))
	for range 4 {
		for _, a := range addrs {
			wg.Go(func() {
				con, err := c.Lookup(t.Context(), netip.MustParseAddr(a))
				if err == nil && !con.Found() {
					err = errors.New(a + ": no mailbox")
				}
				errs <- err
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := s.BootstrapFetches(); n != 2 {
		t.Errorf("bootstrap fetched %d times, want 2 (ipv4.json, ipv6.json)", n)
	}
}
