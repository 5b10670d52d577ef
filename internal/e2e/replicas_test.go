//go:build linux

package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/testenv"
	"github.com/rampart-ids/rampart/internal/testenv/netns"
)

// testPostgresReplicas runs two servers on one PostgreSQL database: a ban
// made through replica A reaches an agent that polls replica B, and so does
// its deletion. The replicas run in the test's own namespace, where the
// machine's PostgreSQL listens on loopback; the agent runs with nftables in
// a netns.Lab front-end, reaching B through a forwarder on the front-end's
// own loopback.
func testPostgresReplicas(t *testing.T, bin string) {
	dsn := testenv.Postgres(t)
	lab := netns.New(t)
	attacker := netip.MustParseAddr("203.0.113.99")
	lab.AddClientAddr(t, netip.PrefixFrom(attacker, 32))
	const port = 8081
	lab.Serve(t, port)
	reaches := func(timeout time.Duration) error {
		return lab.Dial(attacker, netip.AddrPortFrom(lab.FrontV4, port), timeout)
	}

	dir := t.TempDir()
	cfg := filepath.Join(dir, "rampart.toml")
	if err := os.WriteFile(cfg, []byte("# rampart e2e: built-in defaults\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := rampartBin{bin: bin, config: cfg}
	dataA, dataB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	admin := lastLine(r.run(t, "", "server", "init", "--data", dataA, "--state-db", dsn))
	r.run(t, "", "server", "init", "--data", dataB, "--state-db", dsn, "--signing-key", filepath.Join(dataA, "signing.key"))
	pubkey := strings.TrimSpace(r.run(t, "", "server", "pubkey", "--data", dataA))
	if b := strings.TrimSpace(r.run(t, "", "server", "pubkey", "--data", dataB)); b != pubkey {
		t.Fatalf("replica B signs with %s, A with %s", b, pubkey)
	}

	listening := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)
	startReplica := func(name, data string) string {
		p := r.start(t, name, "", nil, "--log-level", "info", "server", "run", "--data", data, "--listen", "127.0.0.1:0")
		var addr string
		waitFor(t, 15*time.Second, name+" listening", func() error {
			if !p.running() {
				return fmt.Errorf("%s exited: %v", name, p.err)
			}
			m := listening.FindStringSubmatch(p.out.String())
			if m == nil {
				return errors.New("no listening line yet")
			}
			addr = m[1]
			return nil
		})
		return "http://" + addr
	}
	urlA, urlB := startReplica("replica A", dataA), startReplica("replica B", dataB)
	client := &http.Client{Timeout: 10 * time.Second}

	agentToken := lastLine(r.run(t, "", "token", "create", "--role", "agent", "--name", "fe-pg", "--server", urlA, "--token", admin))
	fwd := forward(t, lab.Front, strings.TrimPrefix(urlB, "http://"))
	r.start(t, "agent", lab.Front, []string{"RAMPART_TOKEN=" + agentToken}, "--log-level", "info", "agent",
		"--server", "http://"+fwd, "--pubkey", pubkey, "--backend", "nft", "--state-dir", filepath.Join(dir, "agent"), "--wait", "30s")
	// The agent's report reaches B; A shows it, from the shared database.
	waitFor(t, 15*time.Second, "the agent reports through B, seen on A", func() error {
		var as []api.Agent
		if err := getJSON(client, urlA+"/v1/admin/agents", admin, &as); err != nil {
			return err
		}
		if !slices.ContainsFunc(as, func(a api.Agent) bool { return a.Name == "fe-pg" && a.Error == "" }) {
			return fmt.Errorf("agents = %+v", as)
		}
		return nil
	})
	if err := reaches(3 * time.Second); err != nil {
		t.Fatalf("before the ban: %v", err)
	}

	// Each change is made on A while the agent polls B: B learns of it
	// from the database (it polls the version every 250 ms).
	for _, step := range []struct {
		name    string
		args    []string
		blocked bool
	}{
		{"ban on A", []string{"decisions", "add", attacker.String(), "--for", "1h", "--reason", "e2e: replicas"}, true},
		{"unban on A", []string{"decisions", "delete", attacker.String()}, false},
	} {
		start := time.Now()
		r.run(t, "", append(step.args, "--server", urlA, "--token", admin)...)
		var at time.Time // when the check that succeeded began
		waitFor(t, 5*time.Second, step.name+" reaches the agent polling B", func() error {
			at = time.Now()
			if step.blocked {
				// A handshake in the lab takes well under a millisecond.
				if reaches(100*time.Millisecond) == nil || reaches(time.Second) == nil {
					return errors.New("still connects")
				}
				return nil
			}
			return reaches(100 * time.Millisecond)
		})
		d := at.Sub(start)
		t.Logf("MEASURE %s -> agent polling replica B applied it: %s (including the CLI's start)", step.name, d.Round(time.Millisecond))
		if d > 2*time.Second {
			t.Errorf("%s took %s to reach the agent polling the other replica, want about a second", step.name, d)
		}
		// Both replicas agree on the version and the decisions.
		vA, vB := headVersion(t, client, urlA, agentToken), headVersion(t, client, urlB, agentToken)
		if vA != vB {
			t.Errorf("after %s: replica A serves version %d, B %d", step.name, vA, vB)
		}
		var ds []api.Decision
		if err := getJSON(client, urlB+"/v1/admin/decisions?ip="+attacker.String(), admin, &ds); err != nil {
			t.Fatal(err)
		}
		if got := len(ds) == 1; got != step.blocked {
			t.Errorf("after %s: replica B lists active decisions %+v", step.name, ds)
		}
	}
}

// forward listens on the loopback of namespace ns and carries every
// connection to to, an address in the test's own namespace. It returns the
// listening address.
func forward(t *testing.T, ns, to string) string {
	t.Helper()
	var ln net.Listener
	if err := netns.Do(ns, func() error {
		var err error
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	track := func(c net.Conn) {
		mu.Lock()
		defer mu.Unlock()
		conns = append(conns, c)
	}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.DialTimeout("tcp", to, 5*time.Second)
			if err != nil {
				in.Close()
				continue
			}
			track(in)
			track(out)
			wg.Go(func() {
				io.Copy(out, in)
				out.(*net.TCPConn).CloseWrite()
			})
			wg.Go(func() {
				io.Copy(in, out)
				in.(*net.TCPConn).CloseWrite()
			})
		}
	})
	return ln.Addr().String()
}

func getJSON(c *http.Client, url, token string, v any) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: HTTP %d: %s", url, resp.StatusCode, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// headVersion is the list version a replica serves.
func headVersion(t *testing.T, c *http.Client, base, token string) uint64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/blocklist", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	v, err := strconv.ParseUint(resp.Header.Get(api.HeaderVersion), 10, 64)
	if err != nil {
		t.Fatalf("%s: version header %q", base, resp.Header.Get(api.HeaderVersion))
	}
	return v
}
