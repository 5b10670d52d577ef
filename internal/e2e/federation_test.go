//go:build linux

package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/alertslog"
)

// fedSite is one site of the federation test: a server with a sensor on
// its host, and a front-end with an agent (nftables) and a TCP service.
type fedSite struct {
	name       string // "a", "b", "c"
	srv, fe    string // host names in the hostNet
	data       string
	url        string
	admin      string
	pubkey     string
	alerts     string
	server     *proc
	serverArgs []string
	seq        int
}

// TestFederationThreeSites is the federation's acceptance test: three sites
// (each a server with a sensor, and a front-end running an agent with
// nftables) in network namespaces, every server pulling the other two. An
// attacker seen by sites A and B is dropped at C's front-end although C
// never saw it; A alone does not make C ban; when A falls silent its
// contribution ages out and C lifts the ban.
func TestFederationThreeSites(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test needs root, network namespaces and time; skipped with -short")
	}
	requireNetns(t)
	bin := buildRampart(t)
	hn := newHostNet(t, "srv-a", "fe-a", "srv-b", "fe-b", "srv-c", "fe-c", "attacker")
	attacker, bystander := netip.MustParseAddr("203.0.113.66"), netip.MustParseAddr("198.51.100.7")
	for _, a := range []netip.Addr{attacker, bystander} {
		hn.addAddr(t, "attacker", a)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "rampart.toml")
	// Built-in defaults: the lab's 10.201/16 is a local network, never
	// banned, so no site can ban another.
	if err := os.WriteFile(cfg, []byte("# rampart federation e2e: built-in defaults\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := rampartBin{bin: bin, config: cfg}

	sites := map[string]*fedSite{}
	names := []string{"a", "b", "c"}
	for _, n := range names {
		s := &fedSite{name: n, srv: "srv-" + n, fe: "fe-" + n, data: filepath.Join(dir, "site-"+n)}
		s.admin = lastLine(r.run(t, "", "server", "init", "--data", s.data))
		s.pubkey = strings.TrimSpace(r.run(t, "", "server", "pubkey", "--data", s.data))
		listen := netip.AddrPortFrom(hn.host(t, s.srv).v4, 8440)
		s.url = "http://" + listen.String()
		s.serverArgs = []string{"--log-level", "info", "server", "run", "--data", s.data, "--listen", listen.String(), "--insecure-listen"}
		s.alerts = filepath.Join(dir, "alerts-"+n+".log")
		if err := os.WriteFile(s.alerts, nil, 0o640); err != nil {
			t.Fatal(err)
		}
		sites[n] = s
		hn.serve(t, s.fe, servicePort)
	}
	start := func(s *fedSite, extra ...string) {
		s.server = r.start(t, "server "+s.name, hn.host(t, s.srv).ns, nil, append(slices.Clone(s.serverArgs), extra...)...)
		waitFor(t, 15*time.Second, "server "+s.name+" /healthz", func() error {
			if !s.server.running() {
				return fmt.Errorf("server exited: %v", s.server.err)
			}
			_, err := fedGet(hn.client(t, s.srv), s.url+"/healthz", "")
			return err
		})
	}
	token := func(s *fedSite, role, name string) string {
		return lastLine(r.run(t, hn.host(t, s.srv).ns, "token", "create", "--role", role, "--name", name, "--server", s.url, "--token", s.admin))
	}

	// First run: tokens for the peers (agent tokens named after the site
	// that pulls), the front-end agent and the sensor.
	for _, n := range names {
		start(sites[n])
	}
	tokens := map[string]string{} // "<puller>-from-<peer>" → file
	for _, peer := range names {
		for _, puller := range names {
			if puller == peer {
				continue
			}
			f := filepath.Join(dir, puller+"-from-"+peer+".token")
			if err := os.WriteFile(f, []byte(token(sites[peer], "agent", "site-"+puller)+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			tokens[puller+"-from-"+peer] = f
		}
	}
	agentTok, sensorTok := map[string]string{}, map[string]string{}
	for _, n := range names {
		agentTok[n] = token(sites[n], "agent", "fe-"+n)
		sensorTok[n] = token(sites[n], "sensor", "ossec-"+n)
	}
	// A list file at C with a bad line: reported, the rest loaded.
	listFile := filepath.Join(dir, "blocks.netset")
	if err := os.WriteFile(listFile, []byte("# local blocks\n192.0.2.0/24\n203.0.113.300\n198.18.0.0/15\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		var b strings.Builder
		// Polls of 1 s keep the test short; a peer silent for 4 s ages
		// out; the default merge rules: score ≥ 1 from ≥ 2 peers.
		b.WriteString("[rules]\nsilent_after = \"4s\"\n\n[feed]\nrefresh = \"500ms\"\n")
		for _, p := range names {
			if p == n {
				continue
			}
			fmt.Fprintf(&b, "\n[[peer]]\nname = \"site-%s\"\nurl = %q\ninsecure = true\npublic_key = %q\ntoken_file = %q\ntrust = 0.6\nscopes = [\"summaries\"]\npoll = \"1s\"\n",
				p, sites[p].url, sites[p].pubkey, tokens[n+"-from-"+p])
		}
		if n == "c" {
			fmt.Fprintf(&b, "\n[[list]]\nname = \"blocks\"\nfile = %q\nformat = \"firehol\"\ntrust = 0.3\nmax_bits4 = 15\ninterval = \"1s\"\n", listFile)
		}
		if err := os.WriteFile(filepath.Join(sites[n].data, "peers.toml"), []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Second run: with the peers files (DIR/peers.toml is read by default).
	for _, n := range names {
		sites[n].server.stop(t)
		start(sites[n])
	}
	for _, n := range names {
		s := sites[n]
		r.start(t, "agent "+n, hn.host(t, s.fe).ns, []string{"RAMPART_TOKEN=" + agentTok[n]}, "--log-level", "info", "agent",
			"--server", s.url, "--pubkey", s.pubkey, "--backend", "nft", "--state-dir", filepath.Join(dir, "agent-"+n), "--wait", "30s")
		r.start(t, "sensor "+n, hn.host(t, s.srv).ns, []string{"RAMPART_TOKEN=" + sensorTok[n]}, "--log-level", "info", "sensor",
			"--server", s.url, "--alerts", s.alerts, "--state", filepath.Join(dir, "sensor-"+n+".json"), "--from-start")
	}
	status := func(s *fedSite) api.FederationStatus {
		out := r.run(t, hn.host(t, s.srv).ns, "peers", "status", "--format", "json", "--server", s.url, "--token", s.admin)
		var st api.FederationStatus
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("peers status: %v\n%s", err, out)
		}
		return st
	}
	for _, n := range names {
		s := sites[n]
		waitFor(t, 20*time.Second, "site "+n+": every peer pulled, agent applied", func() error {
			st := status(s)
			for _, p := range st.Peers {
				if p.LastOK.IsZero() || p.Silent {
					return fmt.Errorf("peer %s: %+v", p.Name, p)
				}
			}
			b, err := fedGet(hn.client(t, s.srv), s.url+"/v1/admin/agents", s.admin)
			if err != nil {
				return err
			}
			var as []api.Agent
			if err := json.Unmarshal(b, &as); err != nil {
				return err
			}
			if len(as) != 1 || !as[0].Current || as[0].Error != "" {
				return fmt.Errorf("agents: %+v", as)
			}
			return nil
		})
	}
	st := status(sites["c"])
	if i := slices.IndexFunc(st.Peers, func(p api.PeerStatus) bool { return p.Name == "blocks" }); i < 0 ||
		st.Peers[i].BadLines != 1 || st.Peers[i].Entries != 2 || !strings.Contains(strings.Join(st.Peers[i].Problems, "\n"), `:3: not an address or prefix: "203.0.113.300"`) {
		t.Errorf("site c's list: %+v", st.Peers)
	}
	human := r.run(t, hn.host(t, "srv-c").ns, "peers", "status", "--server", sites["c"].url, "--token", sites["c"].admin)
	t.Logf("rampart peers status at C:\n%s", human)

	reach := func(fe string, src netip.Addr, timeout time.Duration) error {
		return hn.dial("attacker", src, netip.AddrPortFrom(hn.host(t, fe).v4, servicePort), timeout)
	}
	// poll dials a front-end every 10 ms until src is dropped (a dial
	// times out, and a second of a full second confirms it) or accepted,
	// and returns when the first such dial began.
	poll := func(fe string, src netip.Addr, dropped bool, from time.Time, timeout time.Duration) (time.Duration, error) {
		for {
			at := time.Now()
			err := reach(fe, src, 100*time.Millisecond)
			if !dropped && err == nil {
				return at.Sub(from), nil
			}
			if dropped && err != nil && isTimeout(err) && reach(fe, src, time.Second) != nil {
				return at.Sub(from), nil
			}
			if time.Since(from) > timeout {
				return 0, fmt.Errorf("%s: %s not %s within %s (last dial: %v)", fe, src, map[bool]string{true: "dropped", false: "accepted"}[dropped], timeout, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// until polls several front-ends at once: one's confirming dial must
	// not delay the other's measure.
	until := func(src netip.Addr, dropped bool, from time.Time, timeout time.Duration, fes ...string) map[string]time.Duration {
		t.Helper()
		out := make(map[string]time.Duration, len(fes))
		var mu sync.Mutex
		var wg sync.WaitGroup
		var errs []error
		for _, fe := range fes {
			wg.Go(func() {
				d, err := poll(fe, src, dropped, from, timeout)
				mu.Lock()
				defer mu.Unlock()
				out[fe] = d
				if err != nil {
					errs = append(errs, err)
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatal(errors.Join(errs...))
		}
		return out
	}
	for _, fe := range []string{"fe-a", "fe-b"} {
		if err := reach(fe, attacker, 3*time.Second); err != nil {
			t.Fatalf("before any alert: attacker -> %s: %v", fe, err)
		}
	}
	if err := reach("fe-c", bystander, 3*time.Second); err != nil {
		t.Fatalf("bystander -> fe-c: %v", err)
	}

	t.Log("== the attacker hits site A: A bans it; C does not, on A's word alone")
	from := fedAlert(t, sites["a"], attacker)
	d := until(attacker, true, from, 10*time.Second, "fe-a")["fe-a"]
	t.Logf("MEASURE alert at A -> dropped at A's front-end: %s", d.Round(time.Millisecond))
	waitFor(t, 10*time.Second, "C holds A's report", func() error {
		for _, p := range status(sites["c"]).Peers {
			if p.Name == "site-a" && p.Entries == 1 {
				return nil
			}
		}
		return errors.New("site-a's report not merged at C yet")
	})
	time.Sleep(500 * time.Millisecond)
	if ds := fedDecisions(t, r, hn, sites["c"], attacker); len(ds) != 0 {
		t.Fatalf("C banned on one site's report: %+v", ds)
	}

	t.Log("== the attacker hits site B: C bans it without ever seeing it")
	from = fedAlert(t, sites["b"], attacker)
	ds0 := until(attacker, true, from, 10*time.Second, "fe-b", "fe-c")
	t.Logf("MEASURE alert at B -> dropped at B's front-end: %s", ds0["fe-b"].Round(time.Millisecond))
	d = ds0["fe-c"]
	t.Logf("MEASURE report seen at B (alert appended) -> dropped at C's front-end: %s", d.Round(time.Millisecond))
	if d > 3*time.Second {
		t.Errorf("federation latency %s, the issue's bound is 3 s", d)
	}
	if err := reach("fe-c", bystander, 3*time.Second); err != nil {
		t.Errorf("bystander -> fe-c after the ban: %v", err)
	}
	ds := fedDecisions(t, r, hn, sites["c"], attacker)
	if len(ds) != 1 || ds[0].Origin != "federation" || !strings.Contains(ds[0].Reason, "site-a (ban, 1 alert)") || !strings.Contains(ds[0].Reason, "site-b (ban, 1 alert)") {
		t.Fatalf("C's decisions for the attacker: %+v", ds)
	}
	peersWhy, _ := ds[0].Why["peers"].([]any)
	if len(peersWhy) != 2 {
		t.Errorf("C's decision does not list both peers: %v", ds[0].Why)
	}
	t.Logf("C's decision: %s", ds[0].Reason)
	// No echo: A and B do not hold C's federation ban as a report.
	for _, p := range status(sites["a"]).Peers {
		if p.Name == "site-c" && p.Entries != 0 {
			t.Errorf("C's feed echoes its federation ban to A: %+v", p)
		}
	}

	t.Log("== site A falls silent: its contribution ages out, C lifts the ban")
	from = time.Now()
	sites["a"].server.kill(syscall.SIGKILL)
	d = until(attacker, false, from, 30*time.Second, "fe-c")["fe-c"]
	t.Logf("MEASURE site A killed -> attacker accepted again at C's front-end: %s (silent_after 4s)", d.Round(time.Millisecond))
	if d < 3*time.Second {
		t.Errorf("C lifted the ban %s after A went silent, before silent_after (4 s)", d)
	}
	for _, p := range status(sites["c"]).Peers {
		if p.Name == "site-a" && (!p.Silent || p.Errors == 0) {
			t.Errorf("site-a at C: %+v", p)
		}
	}
	if ds := fedDecisions(t, r, hn, sites["c"], attacker); len(ds) != 0 {
		t.Errorf("C still holds federation bans: %+v", ds)
	}
	// B's own ban stands.
	if err := reach("fe-b", attacker, 500*time.Millisecond); err == nil {
		t.Error("the attacker reaches B's front-end again")
	}
}

// fedAlert appends a level-10 sshd alert from src to the site's
// alerts.log (the default policy bans on one) and returns when.
func fedAlert(t *testing.T, s *fedSite, src netip.Addr) time.Time {
	t.Helper()
	s.seq++
	now := time.Now()
	a := &ossec.Alert{
		ID:   ossec.ID{Epoch: now.Unix(), Seq: int64(4096 * s.seq)},
		Time: time.Unix(now.Unix(), 0).UTC(), RuleID: 5712, Level: 10,
		Description: "SSHD brute force trying to get access to the system.",
		Groups:      []string{"syslog", "sshd", "authentication_failures"},
		SrcIP:       src,
		Location:    ossec.ParseLocation("(web-" + s.name + ") 10.201.0.9->/var/log/auth.log"),
		Log:         []string{fmt.Sprintf("%s web-%s sshd[4242]: Failed password for root from %s port 52144 ssh2", now.UTC().Format(time.Stamp), s.name, src)},
	}
	f, err := os.OpenFile(s.alerts, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(alertslog.AppendAlert(nil, a, time.UTC)); err != nil {
		t.Fatal(err)
	}
	return now
}

// fedDecisions lists a site's active decisions covering a, through the
// CLI.
func fedDecisions(t *testing.T, r rampartBin, hn *hostNet, s *fedSite, a netip.Addr) []api.Decision {
	t.Helper()
	out := r.run(t, hn.host(t, s.srv).ns, "decisions", "list", "--ip", a.String(), "--format", "json", "--server", s.url, "--token", s.admin)
	var ds []api.Decision
	if err := json.Unmarshal([]byte(out), &ds); err != nil {
		t.Fatalf("decisions list: %v\n%s", err, out)
	}
	return ds
}

// fedGet GETs url with a bearer token and wants 200.
func fedGet(c *http.Client, url, token string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return b, fmt.Errorf("GET %s: HTTP %d: %s", url, resp.StatusCode, b)
	}
	return b, nil
}
