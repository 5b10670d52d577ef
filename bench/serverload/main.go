// Command serverload drives a running "rampart server" on loopback for
// bench/server.sh: it fills the state database with decisions, and measures
// unchanged-list answers per second, the full signed list after a version
// change, idle long-polling agents and the CrowdSec startup stream, reading
// the server's memory from /proc.
//
// It is a benchmark tool only: it sends traffic to the loopback address it
// is given and nowhere else, and every loop is bounded in count and time.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/serverdb"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: serverload fill|poll304|full|idle|stream [flags]")
		os.Exit(2)
	}
	ctx := context.Background()
	var err error
	switch os.Args[1] {
	case "fill":
		err = fill(ctx, os.Args[2:])
	case "poll304":
		err = poll304(os.Args[2:])
	case "full":
		err = full(os.Args[2:])
	case "idle":
		err = idle(os.Args[2:])
	case "stream":
		err = stream(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "serverload:", err)
		os.Exit(1)
	}
}

// loopback checks that a URL names a loopback host: this tool never sends
// anywhere else.
func loopback(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	ap, err := netip.ParseAddrPort(u.Host)
	if err != nil || !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("url %q: want http://127.0.0.1:PORT (loopback only)", raw)
	}
	return u, nil
}

// fill stores n decisions (addresses of 198.18.0.0/15, the benchmarking
// range) straight into the state database, in batches.
func fill(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fill", flag.ExitOnError)
	dbPath := fs.String("db", "", "state database file")
	n := fs.Int("n", 100000, "decisions")
	fs.Parse(args)
	db, err := serverdb.Open(ctx, *dbPath)
	if err != nil {
		return err
	}
	defer db.Close()
	now := time.Now()
	start := time.Now()
	for i := 0; i < *n; i += 5000 {
		ds := make([]api.Decision, min(5000, *n-i))
		for j := range ds {
			k := i + j
			d := api.Decision{Value: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18 + byte(k>>16), byte(k >> 8), byte(k)}), 32),
				Origin: "policy", Rule: "sshd-bruteforce", Reason: "bench", Expires: now.Add(4*time.Hour + time.Duration(k%3600)*time.Second)}
			if k%10 == 0 {
				d.Origin, d.Rule, d.Reason = "manual", "", "bench manual ban"
			}
			ds[j] = d
		}
		if _, _, err := db.AddDecisions(ctx, ds, now); err != nil {
			return err
		}
	}
	v, _, err := db.Version(ctx)
	fmt.Fprintf(os.Stderr, "filled %d decisions in %.1fs (list version %d)\n", *n, time.Since(start).Seconds(), v)
	return err
}

// rawConn is a keep-alive HTTP/1.1 client on one connection that sends a
// prepared request and reads the answer with as little work as possible,
// so that the load generator leaves the CPU to the server.
type rawConn struct {
	c   net.Conn
	r   *bufio.Reader
	req []byte
}

func dialRaw(host string, req []byte) (*rawConn, error) {
	c, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &rawConn{c: c, r: bufio.NewReaderSize(c, 16<<10), req: req}, nil
}

// do sends the request and returns the status, skipping any body.
func (rc *rawConn) do() (int, error) {
	if _, err := rc.c.Write(rc.req); err != nil {
		return 0, err
	}
	line, err := rc.r.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 {
		return 0, fmt.Errorf("status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, fmt.Errorf("status line %q", line)
	}
	length := 0
	for {
		h, err := rc.r.ReadSlice('\n')
		if err != nil {
			return 0, err
		}
		if len(h) <= 2 {
			break
		}
		if len(h) > 16 && strings.EqualFold(string(h[:15]), "content-length:") {
			length, _ = strconv.Atoi(strings.TrimSpace(string(h[15:])))
		}
	}
	if length > 0 {
		if _, err := rc.r.Discard(length); err != nil {
			return 0, err
		}
	}
	return status, nil
}

// poll304 asks for the list with its ETag over many keep-alive
// connections and counts the 304 answers per second.
func poll304(args []string) error {
	fs := flag.NewFlagSet("poll304", flag.ExitOnError)
	base := fs.String("url", "", "server URL (loopback)")
	token := fs.String("token", "", "agent token")
	conns := fs.Int("conns", 64, "connections")
	dur := fs.Duration("for", 5*time.Second, "measuring time (at most 1 min)")
	fs.Parse(args)
	u, err := loopback(*base)
	if err != nil {
		return err
	}
	*dur = min(*dur, time.Minute)
	req, _ := http.NewRequest("GET", *base+"/v1/blocklist?format=txt", nil)
	req.Header.Set("Authorization", "Bearer "+*token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || etag == "" {
		return fmt.Errorf("list: %s without an ETag", resp.Status)
	}
	raw := []byte("GET /v1/blocklist?format=txt HTTP/1.1\r\nHost: " + u.Host + "\r\nAuthorization: Bearer " + *token +
		"\r\nIf-None-Match: " + etag + "\r\nUser-Agent: rampart-bench\r\n\r\n")
	var ok, other atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	warm := time.Now().Add(time.Second)
	end := warm.Add(*dur)
	for range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc, err := dialRaw(u.Host, raw)
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
				return
			}
			defer rc.c.Close()
			for {
				now := time.Now()
				if now.After(end) {
					return
				}
				st, err := rc.do()
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				if now.Before(warm) {
					continue
				}
				if st == http.StatusNotModified {
					ok.Add(1)
				} else {
					other.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if e, _ := firstErr.Load().(error); e != nil {
		return e
	}
	if other.Load() > 0 {
		return fmt.Errorf("%d answers were not 304", other.Load())
	}
	fmt.Printf("poll304 list_bytes=%d conns=%d answers=%d per_second=%.0f\n", n, *conns, ok.Load(), float64(ok.Load())/dur.Seconds())
	return nil
}

// full times the first GET of the whole signed list (the process reads it
// from the database), then, rounds times, changes the list (one manual ban
// through the admin API) and times one GET of it.
func full(args []string) error {
	fs := flag.NewFlagSet("full", flag.ExitOnError)
	base := fs.String("url", "", "server URL (loopback)")
	token := fs.String("token", "", "agent token")
	admin := fs.String("admin", "", "admin token")
	rounds := fs.Int("rounds", 7, "rounds")
	fs.Parse(args)
	if _, err := loopback(*base); err != nil {
		return err
	}
	client := &http.Client{Timeout: 30 * time.Second}
	get := func() (time.Duration, int64, error) {
		req, _ := http.NewRequest("GET", *base+"/v1/blocklist?format=txt", nil)
		req.Header.Set("Authorization", "Bearer "+*token)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, err
		}
		size, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if err != nil || resp.StatusCode != 200 {
			return 0, 0, fmt.Errorf("list: %s %v", resp.Status, err)
		}
		return d, size, nil
	}
	first, size, err := get()
	if err != nil {
		return err
	}
	var ts []time.Duration
	for i := range min(*rounds, 100) {
		body, _ := json.Marshal(api.DecisionRequest{Value: fmt.Sprintf("198.19.255.%d", i+1), Duration: "1h", Reason: "bench: change the version"})
		req, _ := http.NewRequest("POST", *base+"/v1/admin/decisions", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+*admin)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("ban: %s", resp.Status)
		}
		d, _, err := get()
		if err != nil {
			return err
		}
		ts = append(ts, d)
	}
	slices.Sort(ts)
	fmt.Printf("full list_bytes=%d first_ms=%.1f rounds=%d median_ms=%.1f max_ms=%.1f\n", size, ms(first), len(ts),
		ms(ts[len(ts)/2]), ms(ts[len(ts)-1]))
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// rss reads a process's resident set size in bytes.
func rss(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// gauge reads one unlabelled series from the server's /metrics.
func gauge(base, name string) (float64, error) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(rest, 64)
		}
	}
	return 0, fmt.Errorf("%s not in /metrics", name)
}

// idle opens n connections that each hold a long poll open, waits until
// the server counts them all, and reads the server's RSS.
func idle(args []string) error {
	fs := flag.NewFlagSet("idle", flag.ExitOnError)
	base := fs.String("url", "", "server URL (loopback)")
	token := fs.String("token", "", "agent token")
	n := fs.Int("n", 10000, "agents")
	wait := fs.String("wait", "60s", "the polls' wait")
	pid := fs.Int("pid", 0, "server process id")
	fs.Parse(args)
	u, err := loopback(*base)
	if err != nil {
		return err
	}
	before, err := rss(*pid)
	if err != nil {
		return err
	}
	// The current version, from the list's header.
	req, _ := http.NewRequest("GET", *base+"/v1/blocklist?format=txt", nil)
	req.Header.Set("Authorization", "Bearer "+*token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	v, err := strconv.ParseUint(resp.Header.Get(api.HeaderVersion), 10, 64)
	if err != nil || resp.StatusCode != 200 {
		return fmt.Errorf("list: %s, version %q", resp.Status, resp.Header.Get(api.HeaderVersion))
	}
	raw := []byte(fmt.Sprintf("GET /v1/blocklist/changes?since=%d&wait=%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nX-Rampart-Applied: %d\r\nUser-Agent: rampart-bench\r\n\r\n",
		v, *wait, u.Host, *token, v))
	conns := make([]net.Conn, 0, *n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	start := time.Now()
	for range *n {
		c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
		if err != nil {
			return fmt.Errorf("after %d connections: %w", len(conns), err)
		}
		conns = append(conns, c)
		if _, err := c.Write(raw); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	var held float64
	for time.Now().Before(deadline) {
		if held, err = gauge(*base, "rampart_server_long_polls"); err == nil && int(held) >= *n {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if int(held) < *n {
		return fmt.Errorf("the server holds %v long polls, want %d", held, *n)
	}
	time.Sleep(time.Second) // let the last goroutines park
	after, err := rss(*pid)
	if err != nil {
		return err
	}
	fmt.Printf("idle agents=%d opened_s=%.1f rss_before_mb=%.1f rss_mb=%.1f per_agent_kb=%.1f\n", *n, time.Since(start).Seconds(),
		float64(before)/(1<<20), float64(after)/(1<<20), float64(after-before)/float64(*n)/1024)
	return nil
}

// stream reads the CrowdSec startup stream with an API key as a bouncer
// does, times it, samples the server's RSS meanwhile and checks the JSON.
func stream(args []string) error {
	fs := flag.NewFlagSet("stream", flag.ExitOnError)
	base := fs.String("url", "", "server URL (loopback)")
	key := fs.String("key", "", "agent token, sent as X-Api-Key")
	pid := fs.Int("pid", 0, "server process id")
	fs.Parse(args)
	if _, err := loopback(*base); err != nil {
		return err
	}
	before, err := rss(*pid)
	if err != nil {
		return err
	}
	var peak atomic.Int64
	peak.Store(before)
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if r, err := rss(*pid); err == nil && r > peak.Load() {
					peak.Store(r)
				}
			}
		}
	}()
	req, _ := http.NewRequest("GET", *base+"/v1/decisions/stream?startup=true", nil)
	req.Header.Set("X-Api-Key", *key)
	req.Header.Set("User-Agent", "crowdsec-firewall-bouncer/v0.0.35")
	client := &http.Client{Timeout: 2 * time.Minute}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	close(stop)
	<-sampled
	if err != nil || resp.StatusCode != 200 {
		return fmt.Errorf("stream: %s %v", resp.Status, err)
	}
	var s struct {
		New, Deleted []struct {
			Value, Duration string
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &s); err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	fmt.Printf("stream decisions=%d bytes=%d seconds=%.3f rss_before_mb=%.1f rss_peak_mb=%.1f\n", len(s.New), buf.Len(), took.Seconds(),
		float64(before)/(1<<20), float64(peak.Load())/(1<<20))
	return nil
}
