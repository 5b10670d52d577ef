package whois

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rampart-ids/rampart/internal/abuse"
)

// server is a whois server on loopback: it reads one query line and
// answers with respond(query).
type server struct {
	addr string

	mu      sync.Mutex
	queries []string
}

func (s *server) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.queries)
}

// startServer serves conn by conn until the test ends. respond writes the
// answer; the connection is closed after it returns.
func startServer(t *testing.T, respond func(ctx context.Context, query string, w io.Writer)) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				stop := context.AfterFunc(ctx, func() { conn.Close() })
				defer stop()
				conn.SetReadDeadline(time.Now().Add(5 * time.Second))
				line, err := bufio.NewReader(conn).ReadString('\n')
				if err != nil {
					return
				}
				q := strings.TrimRight(line, "\r\n")
				s.mu.Lock()
				s.queries = append(s.queries, q)
				s.mu.Unlock()
				respond(ctx, q, conn)
			})
		}
	})
	return s
}

// registries are the fake registries: host name -> query -> answer file.
// A query a registry does not expect (a wrong query format) gets RIPE's
// "no entries" answer.
var registries = map[string]map[string]string{
	"whois.iana.org": {
		"192.0.2.10": "iana-ripe", "192.0.2.70": "iana-ripe", "192.0.2.99": "iana-ripe",
		"2001:db8:100::1": "iana-ripe6", "2001:db8:ffff::1": "iana-reserved",
		"198.51.100.20": "iana-arin", "198.51.100.70": "iana-arin", "198.51.100.200": "iana-arin", "198.51.100.99": "iana-arin",
		"203.0.113.10": "iana-apnic", "203.0.113.40": "iana-apnic", "203.0.113.70": "iana-apnic", "203.0.113.130": "iana-apnic",
		"192.0.2.140": "iana-lacnic", "192.0.2.200": "iana-lacnic",
	},
	"whois.ripe.net": {
		"-r 192.0.2.10": "ripe", "-r 192.0.2.70": "ripe-noabuse", "-r 192.0.2.99": "ripe-ratelimit",
		"-r 2001:db8:100::1": "ripe6",
	},
	"whois.arin.net": {
		"n + 198.51.100.20": "arin", "n + 198.51.100.70": "arin-rabuse", "n + 198.51.100.200": "arin-afrinic",
		"n + 198.51.100.99": "arin-loop",
	},
	"whois.afrinic.net": {"198.51.100.200": "afrinic"},
	"whois.apnic.net": {
		"203.0.113.10": "apnic", "203.0.113.40": "apnic-irt", "203.0.113.70": "apnic-jpnic", "203.0.113.130": "apnic-krnic",
	},
	"whois.nic.ad.jp":   {"203.0.113.70/e": "jpnic", "203.0.113.64/27/e": "jpnic-alloc"},
	"whois.kisa.or.kr":  {"203.0.113.130": "krnic"},
	"whois.lacnic.net":  {"192.0.2.140": "lacnic", "192.0.2.200": "lacnic-nicbr"},
	"whois.registro.br": {"192.0.2.200": "nicbr"},
}

const noEntries = "% This is the RIPE Database query service.\n\n%ERROR:101: no entries found\n%\n% No entries found in source RIPE.\n\n"

// testNet is a set of loopback servers standing for the registries' host
// names; its dial maps a name on port 43 to its server and refuses every
// other destination.
type testNet struct {
	t       *testing.T
	servers map[string]*server
}

func newTestNet(t *testing.T) *testNet {
	n := &testNet{t: t, servers: map[string]*server{}}
	for host, answers := range registries {
		n.servers[host] = startServer(t, func(_ context.Context, q string, w io.Writer) {
			if file, ok := answers[q]; ok {
				w.Write(readFixture(t, file))
				return
			}
			io.WriteString(w, noEntries)
		})
	}
	return n
}

func (n *testNet) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	s, ok := n.servers[host]
	if !ok || port != "43" {
		return nil, fmt.Errorf("test network: no server for %s", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, s.addr)
}

func (n *testNet) client() *Client {
	return &Client{Dial: n.dial, Timeout: 5 * time.Second, Now: func() time.Time { return t0 }}
}

var t0 = time.Date(2025, 6, 2, 13, 21, 43, 0, time.UTC)

func hopServers(r Result) []string {
	var out []string
	for _, h := range r.Hops {
		out = append(out, strings.TrimSuffix(h.Server, ":43"))
	}
	return out
}

// TestLookupChains follows each registry's referral chain from IANA.
func TestLookupChains(t *testing.T) {
	n := newTestNet(t)
	c := n.client()
	tests := []struct {
		addr     string
		emails   []string
		rng      string
		netname  string
		registry string
		server   string
		hops     []string
	}{
		{"192.0.2.10", []string{"abuse@example-hosting.example"}, "192.0.2.0/26", "EXAMPLE-HOSTING-FRA1", "RIPE", "whois.ripe.net:43",
			[]string{"whois.iana.org", "whois.ripe.net"}},
		{"2001:db8:100::1", []string{"abuse@fibre-example.example"}, "2001:db8:100::/48", "FIBRE-EXAMPLE-CUST", "RIPE", "whois.ripe.net:43",
			[]string{"whois.iana.org", "whois.ripe.net"}},
		// A registry without an abuse contact: said plainly, not an error.
		{"192.0.2.70", nil, "192.0.2.64/26", "EXAMPLE-UNI-LAB", "RIPE", "whois.ripe.net:43",
			[]string{"whois.iana.org", "whois.ripe.net"}},
		{"198.51.100.20", []string{"abuse@example-broadband.example"}, "198.51.100.16/28", "EXBB-CUST-ACME", "ARIN", "whois.arin.net:43",
			[]string{"whois.iana.org", "whois.arin.net"}},
		{"198.51.100.70", []string{"trust-toronto@cloud-example.example"}, "198.51.100.64/27", "CLOUDEX-198-51-100-64", "ARIN", "whois.arin.net:43",
			[]string{"whois.iana.org", "whois.arin.net"}},
		{"198.51.100.200", []string{"abuse@mfano-telecom.example"}, "198.51.100.192/26", "MFANO-KE-CUST-07", "AFRINIC", "whois.afrinic.net:43",
			[]string{"whois.iana.org", "whois.arin.net", "whois.afrinic.net"}},
		{"203.0.113.10", []string{"abuse@mate-networks.example"}, "203.0.113.0/27", "MATENET-AU", "APNIC", "whois.apnic.net:43",
			[]string{"whois.iana.org", "whois.apnic.net"}},
		{"203.0.113.40", []string{"cert@vidya-colleges.example", "netops@vidya-colleges.example"}, "203.0.113.32/27", "VIDYA-NET-IN", "APNIC", "whois.apnic.net:43",
			[]string{"whois.iana.org", "whois.apnic.net"}},
		// JPNIC's assignment, with the mailbox of its enclosing allocation.
		{"203.0.113.70", []string{"abuse@reidai-internet.example"}, "203.0.113.64/28", "REIDAI-LAN", "JPNIC", "whois.nic.ad.jp:43",
			[]string{"whois.iana.org", "whois.apnic.net", "whois.nic.ad.jp", "whois.nic.ad.jp"}},
		{"203.0.113.130", []string{"abuse@yesi-telecom.example"}, "203.0.113.128/28", "", "KRNIC", "whois.kisa.or.kr:43",
			[]string{"whois.iana.org", "whois.apnic.net", "whois.kisa.or.kr"}},
		{"192.0.2.140", []string{"abuse@ejemplo-telecom.example"}, "192.0.2.128/26", "", "LACNIC", "whois.lacnic.net:43",
			[]string{"whois.iana.org", "whois.lacnic.net"}},
		{"192.0.2.200", []string{"abuse@exemplo-com.example"}, "192.0.2.192/26", "", "NIC.BR", "whois.registro.br:43",
			[]string{"whois.iana.org", "whois.lacnic.net", "whois.registro.br"}},
		// Reserved space: IANA refers nowhere.
		{"2001:db8:ffff::1", nil, "2001:db8::/32", "", "IANA", "whois.iana.org:43", []string{"whois.iana.org"}},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			addr := netip.MustParseAddr(tt.addr)
			r, err := c.Trace(t.Context(), addr)
			if err != nil {
				t.Fatalf("%v (hops %q)", err, hopServers(r))
			}
			con := r.Contact
			if !slices.Equal(con.Emails, tt.emails) || len(con.Range) != 1 || con.Range[0].String() != tt.rng ||
				con.NetName != tt.netname || con.Registry != tt.registry || con.Server != tt.server {
				t.Errorf("got %+v", con)
			}
			if con.Addr != addr || con.Source != "whois" || !con.Fetched.Equal(t0) || con.Found() != (len(tt.emails) > 0) {
				t.Errorf("addr %s source %q fetched %v", con.Addr, con.Source, con.Fetched)
			}
			if diff := cmp.Diff(tt.hops, hopServers(r)); diff != "" {
				t.Errorf("hops (-want +got):\n%s", diff)
			}
			for _, h := range r.Hops {
				if h.Err != nil || len(h.Answer) == 0 || h.Duration <= 0 {
					t.Errorf("hop %s: err %v, %d bytes", h.Server, h.Err, len(h.Answer))
				}
			}
			// Lookup gives the same contact.
			con2, err := c.Lookup(t.Context(), addr)
			if err != nil || !cmp.Equal(con, con2, cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{})) {
				t.Errorf("Lookup: %v, %+v", err, con2)
			}
		})
	}
	// Each registry got its own query form.
	for host, want := range map[string]string{"whois.ripe.net": "-r 192.0.2.10", "whois.arin.net": "n + 198.51.100.20",
		"whois.nic.ad.jp": "203.0.113.70/e", "whois.apnic.net": "203.0.113.10", "whois.iana.org": "2001:db8:100::1"} {
		if q := n.servers[host].seen(); !slices.Contains(q, want) {
			t.Errorf("%s got %q, want %q among them", host, q, want)
		}
	}
}

// TestLookupFaults: servers that fail, and what stands then.
func TestLookupFaults(t *testing.T) {
	n := newTestNet(t)
	addr := func(s string) netip.Addr { return netip.MustParseAddr(s) }

	t.Run("rate limited", func(t *testing.T) {
		_, err := n.client().Lookup(t.Context(), addr("192.0.2.99"))
		if !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), "whois.ripe.net:43") {
			t.Fatalf("error %v, want ErrRateLimited naming whois.ripe.net:43", err)
		}
	})

	t.Run("referral loop", func(t *testing.T) {
		r, err := n.client().Trace(t.Context(), addr("198.51.100.99"))
		if !errors.Is(err, ErrReferralLoop) || !strings.Contains(err.Error(), "whois.iana.org:43") {
			t.Fatalf("error %v, want ErrReferralLoop naming whois.iana.org:43", err)
		}
		if diff := cmp.Diff([]string{"whois.iana.org", "whois.arin.net", "whois.iana.org"}, hopServers(r)); diff != "" {
			t.Errorf("hops (-want +got):\n%s", diff)
		}
		if r.Hops[2].Answer != nil {
			t.Error("the loop's last server was asked again")
		}
	})

	t.Run("detail server fails", func(t *testing.T) {
		// NIC.BR rate-limits; LACNIC's joint answer already holds its
		// data and stands.
		limited := startServer(t, func(_ context.Context, _ string, w io.Writer) {
			io.WriteString(w, "% Query rate limit exceeded. Please try again later.\n")
		})
		n2 := &testNet{t: t, servers: maps(n.servers, "whois.registro.br", limited)}
		c := n2.client()
		r, err := c.Trace(t.Context(), addr("192.0.2.200"))
		if err != nil {
			t.Fatal(err)
		}
		if r.Contact.Registry != "LACNIC" || !slices.Equal(r.Contact.Emails, []string{"abuse@exemplo-com.example"}) {
			t.Errorf("got %+v", r.Contact)
		}
		if last := r.Hops[len(r.Hops)-1]; !errors.Is(last.Err, ErrRateLimited) || last.Server != "whois.registro.br:43" {
			t.Errorf("last hop %s: %v", last.Server, last.Err)
		}
	})

	t.Run("authoritative server down", func(t *testing.T) {
		// APNIC's answer for JPNIC space is JPNIC's own: without JPNIC
		// there is no answer.
		n2 := &testNet{t: t, servers: maps(n.servers, "whois.nic.ad.jp", nil)}
		_, err := n2.client().Lookup(t.Context(), addr("203.0.113.70"))
		if err == nil || !strings.Contains(err.Error(), "whois.nic.ad.jp:43") {
			t.Fatalf("error %v, want one naming whois.nic.ad.jp:43", err)
		}
	})

	t.Run("parent allocation fails", func(t *testing.T) {
		// The assignment stands without a mailbox.
		partial := startServer(t, func(_ context.Context, q string, w io.Writer) {
			if q == "203.0.113.70/e" {
				w.Write(readFixture(t, "jpnic"))
			}
		})
		n2 := &testNet{t: t, servers: maps(n.servers, "whois.nic.ad.jp", partial)}
		r, err := n2.client().Trace(t.Context(), addr("203.0.113.70"))
		if err != nil {
			t.Fatal(err)
		}
		if r.Contact.Found() || r.Contact.NetName != "REIDAI-LAN" || !errors.Is(r.Hops[len(r.Hops)-1].Err, ErrMalformed) {
			t.Errorf("got %+v, last hop error %v", r.Contact, r.Hops[len(r.Hops)-1].Err)
		}
	})

	t.Run("refused referral", func(t *testing.T) {
		// A public server may not send us to loopback.
		evil := startServer(t, func(_ context.Context, _ string, w io.Writer) {
			io.WriteString(w, "refer:        127.0.0.1:25\n\ninetnum:      192.0.2.0 - 192.0.2.255\n")
		})
		n2 := &testNet{t: t, servers: map[string]*server{"whois.iana.org": evil}}
		_, err := n2.client().Lookup(t.Context(), addr("192.0.2.10"))
		if !errors.Is(err, ErrRefused) {
			t.Fatalf("error %v, want ErrRefused", err)
		}
	})
}

// maps returns servers with host replaced (removed when s is nil).
func maps(servers map[string]*server, host string, s *server) map[string]*server {
	out := map[string]*server{}
	for h, v := range servers {
		out[h] = v
	}
	delete(out, host)
	if s != nil {
		out[host] = s
	}
	return out
}

// TestDepthBound: a chain of servers each referring to the next stops at
// MaxDepth.
func TestDepthBound(t *testing.T) {
	n := &testNet{t: t, servers: map[string]*server{}}
	for i := range 10 {
		next := fmt.Sprintf("hop%d.example", i+1)
		n.servers[fmt.Sprintf("hop%d.example", i)] = startServer(t, func(_ context.Context, _ string, w io.Writer) {
			fmt.Fprintf(w, "%% hop %d\n\nrefer:        %s\n", i, next)
		})
	}
	for _, depth := range []int{0, 1, 3} {
		t.Run(fmt.Sprint(depth), func(t *testing.T) {
			c := n.client()
			c.Start = "hop0.example"
			c.MaxDepth = depth
			r, err := c.Trace(t.Context(), netip.MustParseAddr("192.0.2.1"))
			if !errors.Is(err, ErrTooManyReferrals) {
				t.Fatalf("error %v, want ErrTooManyReferrals", err)
			}
			want := depth
			if want == 0 {
				want = DefaultMaxDepth
			}
			// want+1 servers asked, and the one not asked.
			if len(r.Hops) != want+2 || r.Hops[want+1].Answer != nil {
				t.Errorf("hops %q", hopServers(r))
			}
		})
	}
}

// TestServerFaults: hanging, cancelled, slow, huge, binary and empty
// answers from the start server.
func TestServerFaults(t *testing.T) {
	fixture := readFixture(t, "ripe")
	tests := []struct {
		name    string
		respond func(ctx context.Context, q string, w io.Writer)
		timeout time.Duration
		cancel  time.Duration // cancel the caller's context after this
		want    error
		quote   string
	}{
		{name: "hangs", respond: func(ctx context.Context, _ string, _ io.Writer) { <-ctx.Done() },
			timeout: 200 * time.Millisecond, want: ErrTimeout, quote: "timed out after 200ms"},
		{name: "half answer then hangs", respond: func(ctx context.Context, _ string, w io.Writer) {
			w.Write(fixture[:100])
			<-ctx.Done()
		}, timeout: 200 * time.Millisecond, want: ErrTimeout, quote: "read answer"},
		{name: "cancelled", respond: func(ctx context.Context, _ string, _ io.Writer) { <-ctx.Done() },
			timeout: time.Minute, cancel: 100 * time.Millisecond, want: context.Canceled},
		{name: "slow but in time", respond: func(_ context.Context, _ string, w io.Writer) {
			for i := 0; i < len(fixture); i += 500 {
				w.Write(fixture[i:min(i+500, len(fixture))])
				time.Sleep(10 * time.Millisecond)
			}
		}, timeout: 5 * time.Second},
		{name: "huge", respond: func(_ context.Context, _ string, w io.Writer) {
			line := []byte("remarks:        " + strings.Repeat("x", 100) + "\n")
			for {
				if _, err := w.Write(line); err != nil {
					return
				}
			}
		}, timeout: 5 * time.Second, want: ErrTooLarge, quote: "1048576"},
		{name: "binary", respond: func(_ context.Context, _ string, w io.Writer) {
			w.Write([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
		}, timeout: 5 * time.Second, want: ErrMalformed, quote: "NUL"},
		{name: "empty", respond: func(context.Context, string, io.Writer) {}, timeout: 5 * time.Second, want: ErrMalformed, quote: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, tt.respond)
			c := &Client{Start: s.addr, Timeout: tt.timeout}
			ctx := t.Context()
			if tt.cancel > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				time.AfterFunc(tt.cancel, cancel)
			}
			began := time.Now()
			con, err := c.Lookup(ctx, netip.MustParseAddr("192.0.2.10"))
			took := time.Since(began)
			if tt.want == nil {
				if err != nil || !con.Found() {
					t.Fatalf("%v, %+v", err, con)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), s.addr) || !strings.Contains(err.Error(), tt.quote) {
				t.Fatalf("error %v, want %v naming %s and %q", err, tt.want, s.addr, tt.quote)
			}
			if took > 3*time.Second {
				t.Errorf("took %v", took)
			}
		})
	}
}

// TestRealDialer: no injected Dial; the referral names a loopback port,
// which a loopback start server may do.
func TestRealDialer(t *testing.T) {
	ripe := startServer(t, func(_ context.Context, q string, w io.Writer) {
		if q == "192.0.2.10" { // an unknown server name gets the bare address
			w.Write(readFixture(t, "ripe"))
		}
	})
	iana := startServer(t, func(_ context.Context, _ string, w io.Writer) {
		w.Write([]byte(strings.ReplaceAll(string(readFixture(t, "iana-ripe")), "whois.ripe.net", ripe.addr)))
	})
	c := &Client{Start: iana.addr, Now: func() time.Time { return t0 }}
	con, err := c.Lookup(t.Context(), netip.MustParseAddr("::ffff:192.0.2.10"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(con.Emails, []string{"abuse@example-hosting.example"}) || con.Registry != "RIPE" || con.Server != ripe.addr ||
		con.Addr != netip.MustParseAddr("192.0.2.10") {
		t.Errorf("got %+v", con)
	}
}

func TestHostPort(t *testing.T) {
	tests := []struct{ in, want string }{
		{"whois.ripe.net", "whois.ripe.net:43"},
		{"WHOIS.RIPE.NET.", "whois.ripe.net:43"},
		{"whois.example.net:4321", "whois.example.net:4321"},
		{"192.0.2.1", "192.0.2.1:43"},
		{"2001:db8::1", "[2001:db8::1]:43"},
		{"[2001:db8::1]:4343", "[2001:db8::1]:4343"},
		{"whois.example.net:0", ""},
		{"whois.example.net:99999", ""},
		{"whois.example.net:x", ""},
		{"who is.example", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := hostPort(tt.in)
		if (err != nil) != (tt.want == "") || got != tt.want {
			t.Errorf("hostPort(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestQuery(t *testing.T) {
	a4, a6 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	tests := []struct {
		server string
		addr   netip.Addr
		want   string
	}{
		{"whois.arin.net:43", a4, "n + 192.0.2.1"},
		{"whois.ripe.net:43", a6, "-r 2001:db8::1"},
		{"whois.nic.ad.jp:43", a4, "192.0.2.1/e"},
		{"whois.apnic.net:43", a4, "192.0.2.1"},
		{"whois.iana.org:43", netip.MustParseAddr("::ffff:192.0.2.1"), "192.0.2.1"},
		{"127.0.0.1:4343", a6, "2001:db8::1"},
	}
	for _, tt := range tests {
		if got := Query(tt.server, tt.addr); got != tt.want {
			t.Errorf("Query(%s, %s) = %q, want %q", tt.server, tt.addr, got, tt.want)
		}
	}
}

// TestSettle: which answer stands for a chain of hops.
func TestSettle(t *testing.T) {
	con := func(name string, emails ...string) abuse.Contact {
		return abuse.Contact{NetName: name, Emails: emails}
	}
	fail := errors.New("down")
	tests := []struct {
		name    string
		hops    []Hop
		want    string // NetName and Emails of the answer, or "error"
		wantErr bool
	}{
		{"single", []Hop{{Contact: con("A", "a@x.example")}}, "A a@x.example", false},
		{"start fails", []Hop{{Err: fail}}, "", true},
		{"referred answer stands", []Hop{{Contact: con("IANA"), Referral: Referral{Server: "r"}}, {Contact: con("R", "r@x.example")}}, "R r@x.example", false},
		{"referred server fails", []Hop{{Contact: con("IANA"), Referral: Referral{Server: "r"}}, {Err: fail}}, "", true},
		{"detail server fails", []Hop{{Contact: con("L", "l@x.example"), Referral: Referral{Server: "b", Detail: true}}, {Err: fail}}, "L l@x.example", false},
		{"detail answer without mailbox", []Hop{{Contact: con("L", "l@x.example"), Referral: Referral{Server: "b", Detail: true}}, {Contact: con("B")}}, "B", false},
		{"parent", []Hop{{Contact: con("A"), Referral: Referral{Server: "j", Parent: true}}, {Contact: con("P", "p@x.example")}}, "A p@x.example", false},
		{"parent fails", []Hop{{Contact: con("A"), Referral: Referral{Server: "j", Parent: true}}, {Err: fail}}, "A", false},
		{"two parents", []Hop{
			{Contact: con("APNIC"), Referral: Referral{Server: "j"}},
			{Contact: con("A"), Referral: Referral{Server: "j", Parent: true}},
			{Contact: con("S"), Referral: Referral{Server: "j", Parent: true}},
			{Contact: con("P", "p@x.example")},
		}, "A p@x.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := (&Client{}).settle(tt.hops)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v", err)
			}
			if err != nil {
				return
			}
			if s := strings.TrimSpace(got.NetName + " " + strings.Join(got.Emails, " ")); s != tt.want {
				t.Errorf("got %q, want %q", s, tt.want)
			}
		})
	}
}
