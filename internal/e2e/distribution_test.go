//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/alertslog"
	"github.com/rampart-ids/rampart/internal/testenv/netns"
)

// TestDistribution is the acceptance test of the central block list: the
// real rampart binary as server, sensor and agents on separate hosts
// (network namespaces), nftables on the front-ends, and real TCP
// connections from an attacker host. The PostgreSQL subtest runs two server
// replicas on one database.
func TestDistribution(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test needs root, network namespaces, PostgreSQL and time; skipped with -short")
	}
	requireNetns(t)
	bin := buildRampart(t)
	t.Run("namespaces", func(t *testing.T) { testDistributionNamespaces(t, bin) })
	t.Run("postgres-replicas", func(t *testing.T) { testPostgresReplicas(t, bin) })
}

// Addresses of the attacker host. They are data in the lab: nothing outside
// its namespaces ever sees them.
var (
	attackerA = netip.MustParseAddr("203.0.113.66")
	attackerB = netip.MustParseAddr("203.0.113.77")
	attackerC = netip.MustParseAddr("203.0.113.88")
	attackerD = netip.MustParseAddr("203.0.113.55")
	attacker6 = netip.MustParseAddr("2001:db8:66::1")
	// bystander shares the attacker's host and is never banned: it shows
	// that a failed connection is the ban, not a broken lab.
	bystander = netip.MustParseAddr("198.51.100.7")
)

const servicePort = 8080

// cluster is the running system of the namespace test.
type cluster struct {
	t      *testing.T
	hn     *hostNet
	r      rampartBin
	dir    string
	url    string // the server's base URL
	admin  string // an admin token
	fronts []string
	mgr    *http.Client // HTTP from the manager host

	alerts string
	seq    int
}

func testDistributionNamespaces(t *testing.T, bin string) {
	hn := newHostNet(t, "manager", "server", "fe1", "fe2", "attacker")
	for _, a := range []netip.Addr{attackerA, attackerB, attackerC, attackerD, attacker6, bystander} {
		hn.addAddr(t, "attacker", a)
	}
	c := &cluster{t: t, hn: hn, dir: t.TempDir(), fronts: []string{"fe1", "fe2"}, mgr: hn.client(t, "manager")}
	for _, fe := range c.fronts {
		hn.serve(t, fe, servicePort)
	}
	cfg := filepath.Join(c.dir, "rampart.toml")
	// The built-in defaults: local networks (the lab's 10.201/16 and
	// fd00::/8 among them) are never banned.
	if err := os.WriteFile(cfg, []byte("# rampart e2e: built-in defaults\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.r = rampartBin{bin: bin, config: cfg}
	mgr, srvHost := hn.host(t, "manager"), hn.host(t, "server")

	data := filepath.Join(c.dir, "server")
	c.admin = lastLine(c.r.run(t, "", "server", "init", "--data", data))
	pubOut := c.r.run(t, "", "server", "pubkey", "--data", data)
	pubkey := strings.TrimSpace(pubOut)
	// The front-ends pin the key from a file, as the agent's unit does.
	pubFile := filepath.Join(c.dir, "server.pub")
	if err := os.WriteFile(pubFile, []byte(pubOut), 0o644); err != nil {
		t.Fatal(err)
	}
	listen := netip.AddrPortFrom(srvHost.v4, 8440)
	c.url = "http://" + listen.String()
	startServer := func() *proc {
		p := c.r.start(t, "server", srvHost.ns, nil, "--log-level", "info", "server", "run", "--data", data,
			"--listen", listen.String(), "--insecure-listen")
		waitFor(t, 15*time.Second, "server /healthz from the manager host", func() error {
			if !p.running() {
				return fmt.Errorf("server exited: %v", p.err)
			}
			_, err := c.get("/healthz", "", http.StatusOK)
			return err
		})
		return p
	}
	server := startServer()

	token := func(role, name string) string {
		return lastLine(c.r.run(t, mgr.ns, "token", "create", "--role", role, "--name", name, "--server", c.url, "--token", c.admin))
	}
	agentTokens := map[string]string{}
	for _, fe := range c.fronts {
		agentTokens[fe] = token("agent", fe)
	}
	sensorToken := token("sensor", "ossec-mgr")

	// Tokens go through the environment, as the systemd units do, so
	// they never show in ps.
	startAgent := func(fe string) *proc {
		return c.r.start(t, "agent "+fe, hn.host(t, fe).ns, []string{"RAMPART_TOKEN=" + agentTokens[fe]},
			"--log-level", "info", "agent", "--server", c.url, "--pubkey-file", pubFile, "--backend", "nft",
			"--state-dir", filepath.Join(c.dir, "agent-"+fe), "--wait", "30s")
	}
	agents := map[string]*proc{}
	for _, fe := range c.fronts {
		agents[fe] = startAgent(fe)
	}
	c.alerts = filepath.Join(c.dir, "alerts.log")
	if err := os.WriteFile(c.alerts, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	sensor := c.r.start(t, "sensor", mgr.ns, []string{"RAMPART_TOKEN=" + sensorToken}, "--log-level", "info", "sensor",
		"--server", c.url, "--alerts", c.alerts, "--state", filepath.Join(c.dir, "sensor.json"), "--from-start")

	// Both agents applied the first (empty) list and reported it.
	waitFor(t, 15*time.Second, "both agents report an applied list", func() error {
		return c.agentsCurrent(c.fronts...)
	})
	c.expect("before any ban", map[netip.Addr]bool{attackerA: true, attacker6: true, bystander: true})
	// A new server's list is an empty version 0; holding it, an agent
	// long-polls for changes instead of fetching the full list again.
	if n := c.metric(`rampart_server_requests_total{code="200",endpoint="blocklist"}`); n > float64(len(c.fronts)) {
		t.Errorf("the agents fetched the full list %g times before any change, want once each", n)
	}

	t.Log("== an alert of level 10 from A: the default policy bans it at once")
	start := c.appendAlert(attackerA)
	d := c.untilAll(attackerA, false, start, 10*time.Second)
	t.Logf("MEASURE alert appended -> A dropped on both front-ends: %s", d.Round(time.Millisecond))
	c.expect("A banned", map[netip.Addr]bool{attackerA: false, bystander: true})
	c.expectFromManager()
	ds := c.decisions(attackerA)
	if len(ds) != 1 || ds[0].Origin != "policy" || ds[0].Rule != "high-level" || ds[0].Author != "policy" {
		t.Fatalf("decisions for A = %+v, want one policy decision of rule high-level", ds)
	}
	var shown api.Decision
	if err := json.Unmarshal([]byte(c.r.run(t, mgr.ns, "decisions", "show", strconv.FormatInt(ds[0].ID, 10),
		"--server", c.url, "--token", c.admin)), &shown); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(shown.Why["sensors"]); got != "[ossec-mgr]" || fmt.Sprint(shown.Why["alerts"]) != "1" {
		t.Errorf("decision %d why = %v, want 1 alert from sensor ossec-mgr", shown.ID, shown.Why)
	}

	if n, _ := strconv.Atoi(os.Getenv("RAMPART_BENCH_LATENCY")); n > 0 {
		c.latencyBench(n)
	}

	t.Log("== a tampered list is refused by the agent")
	c.tamperedListRefused(pubkey, token("agent", "tampered"))

	t.Log("== a manual IPv6 ban (decisions add) reaches both front-ends as its /64")
	start = time.Now()
	c.r.run(t, mgr.ns, "decisions", "add", attacker6.String(), "--for", "1h", "--reason", "e2e: manual v6 ban", "--server", c.url, "--token", c.admin)
	d = c.untilAll(attacker6, false, start, 10*time.Second)
	t.Logf("MEASURE decisions add -> v6 source dropped on both front-ends: %s", d.Round(time.Millisecond))

	t.Log("== unban A: both front-ends accept it again")
	start = time.Now()
	if out := c.r.run(t, mgr.ns, "decisions", "delete", attackerA.String(), "--server", c.url, "--token", c.admin); !strings.Contains(out, "deleted") {
		t.Errorf("decisions delete: %q", out)
	}
	d = c.untilAll(attackerA, true, start, 10*time.Second)
	t.Logf("MEASURE decisions delete -> A accepted on both front-ends: %s", d.Round(time.Millisecond))
	c.expect("A unbanned", map[netip.Addr]bool{attackerA: true, attacker6: false, bystander: true})

	t.Log("== A again: a new alert bans it again")
	start = c.appendAlert(attackerA)
	d = c.untilAll(attackerA, false, start, 10*time.Second)
	t.Logf("MEASURE alert appended -> A dropped on both front-ends (second ban): %s", d.Round(time.Millisecond))
	versionBefore := c.listVersion(agentTokens["fe1"])

	t.Log("== server killed: the agents keep enforcing")
	offsets := map[string]int{}
	for fe, p := range agents {
		offsets[fe] = p.out.Len()
	}
	server.kill(syscall.SIGKILL)
	for fe, p := range agents {
		waitFor(t, 10*time.Second, "agent "+fe+" notices the server is gone", func() error {
			if !p.running() {
				return fmt.Errorf("agent exited: %v", p.err)
			}
			if !strings.Contains(p.out.String()[offsets[fe]:], "msg=poll") {
				return errors.New("no failed poll logged yet")
			}
			return nil
		})
	}
	c.expect("server down", map[netip.Addr]bool{attackerA: false, attacker6: false, bystander: true})

	t.Log("== agent fe1 restarted while the server is down, its table deleted first: it re-applies its last good list")
	agents["fe1"].kill(syscall.SIGKILL)
	fe1 := hn.host(t, "fe1")
	if out, err := netns.Exec(t.Context(), fe1.ns, "nft", "delete", "table", "inet", "rampart"); err != nil {
		t.Fatalf("delete fe1's table: %v\n%s", err, out)
	}
	if !c.reaches("fe1", attackerA, 2*time.Second) {
		t.Fatal("A is still dropped on fe1 after its table was deleted: the re-apply check below would prove nothing")
	}
	start = time.Now()
	agents["fe1"] = startAgent("fe1")
	d = c.until("fe1", attackerA, false, start, 10*time.Second)
	t.Logf("MEASURE agent start (server down) -> A dropped on fe1 from the last good list: %s", d.Round(time.Millisecond))
	if !strings.Contains(agents["fe1"].out.String(), "re-applied the last good list") {
		t.Errorf("agent fe1 did not log its re-apply")
	}
	c.expect("fe1 restarted, server down", map[netip.Addr]bool{attackerA: false, attacker6: false, bystander: true})

	t.Log("== an alert for B while the server is down: the sensor keeps it and sends it after the restart")
	c.appendAlert(attackerB)
	// Let the sensor fail at least once before the server returns.
	waitFor(t, 10*time.Second, "the sensor retries", func() error {
		if strings.Contains(sensor.out.String(), "will retry") {
			return nil
		}
		return errors.New("no retry logged yet")
	})

	t.Log("== server restarted: nothing lost")
	start = time.Now()
	server = startServer()
	if v := c.listVersion(agentTokens["fe1"]); v < versionBefore {
		t.Errorf("list version went back from %d to %d across the restart", versionBefore, v)
	}
	if ds := c.decisions(attackerA); len(ds) != 1 || ds[0].Origin != "policy" {
		t.Errorf("after the restart, active decisions for A = %+v, want its policy ban", ds)
	}
	if ds := c.decisions(attacker6); len(ds) != 1 || ds[0].Origin != "manual" {
		t.Errorf("after the restart, active decisions for the v6 source = %+v, want the manual ban", ds)
	}
	d = c.untilAll(attackerB, false, start, 40*time.Second)
	t.Logf("MEASURE server restart -> B (alert sent while it was down) dropped on both front-ends: %s", d.Round(time.Millisecond))

	t.Log("== a new alert after the restart")
	start = c.appendAlert(attackerC)
	d = c.untilAll(attackerC, false, start, 10*time.Second)
	t.Logf("MEASURE alert appended -> C dropped on both front-ends (after the restart): %s", d.Round(time.Millisecond))
	c.expect("end", map[netip.Addr]bool{attackerA: false, attackerB: false, attackerC: false, attacker6: false, bystander: true})
	c.expectFromManager()

	waitFor(t, 10*time.Second, "both agents report the current version", func() error {
		return c.agentsCurrent(c.fronts...)
	})

	t.Log("== OSSEC's active response (deploy/ossec/rampart-ar.sh) sends D at once; the same alert from alerts.log counts once")
	c.activeResponse(sensorToken, sensor)

	t.Log("== token roles")
	c.tokenRoles(token, pubkey)

	t.Log("== unban A, restart the server: a new alert from A bans it again (the deleted bans stay deleted)")
	start = time.Now()
	c.r.run(t, mgr.ns, "decisions", "delete", attackerA.String(), "--server", c.url, "--token", c.admin)
	c.untilAll(attackerA, true, start, 10*time.Second)
	server.stop(t)
	server = startServer()
	start = c.appendAlert(attackerA)
	d = c.untilAll(attackerA, false, start, 20*time.Second)
	t.Logf("MEASURE alert appended just after a server restart -> A dropped on both front-ends: %s", d.Round(time.Millisecond))

	t.Log("== SIGTERM stops every process cleanly")
	server.stop(t)
	for _, fe := range c.fronts {
		agents[fe].stop(t)
	}
	sensor.stop(t)
}

// activeResponse runs the deploy wrapper as OSSEC's execd would for an
// alert from D, then appends the same alert to alerts.log for the sensor.
func (c *cluster) activeResponse(sensorToken string, sensor *proc) {
	t := c.t
	t.Helper()
	env := filepath.Join(c.dir, "sensor.env")
	if err := os.WriteFile(env, []byte("RAMPART_SERVER="+c.url+"\nRAMPART_TOKEN="+sensorToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join(deployDir, "ossec", "rampart-ar.sh"))
	if err != nil {
		t.Fatal(err)
	}
	const metric = `rampart_server_signals_total{sensor="ossec-mgr"}`
	before := c.metric(metric)
	a := c.alertFor(attackerD)
	// execd's arguments: add, user, srcip, alert id, rule id, the
	// location split at its space, the file name.
	args := append([]string{"netns", "exec", c.hn.host(t, "manager").ns, "sh", script,
		"add", "-", attackerD.String(), a.ID.String(), strconv.Itoa(a.RuleID)}, strings.Fields(a.Location.Raw)...)
	args = append(args, "-")
	arLog := filepath.Join(c.dir, "active-responses.log")
	cmd := exec.CommandContext(t.Context(), "ip", args...)
	cmd.Env = append(os.Environ(), "RAMPART_ENV="+env, "RAMPART_BIN="+c.r.bin, "RAMPART_AR_LOG="+arLog)
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		log, _ := os.ReadFile(arLog)
		t.Fatalf("rampart-ar.sh: %v\n%s\n%s", err, out, log)
	}
	d := c.untilAll(attackerD, false, start, 10*time.Second)
	t.Logf("MEASURE active response started -> D dropped on both front-ends: %s", d.Round(time.Millisecond))
	if got := c.metric(metric); got != before+1 {
		t.Errorf("signals accepted from the active response: %g, want 1", got-before)
	}
	// The same alert reaches alerts.log: once the sensor has it
	// acknowledged, the server must not have counted it again.
	c.write(a)
	fi, err := os.Stat(c.alerts)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the sensor acknowledges the alert", func() error {
		var pos struct {
			Offset int64 `json:"offset"`
		}
		b, err := os.ReadFile(filepath.Join(c.dir, "sensor.json"))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &pos); err != nil {
			return err
		}
		if pos.Offset != fi.Size() {
			return fmt.Errorf("position %d of %d", pos.Offset, fi.Size())
		}
		return nil
	})
	if got := c.metric(metric); got != before+1 {
		t.Errorf("the server counted the alert %g times (active response and alerts.log), want once\n%s", got-before, sensor.out)
	}
}

// metric reads one series of the server's /metrics (0 when absent).
func (c *cluster) metric(series string) float64 {
	c.t.Helper()
	b, err := c.get("/metrics", "", http.StatusOK)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				c.t.Fatalf("metric %s: %q", series, v)
			}
			return f
		}
	}
	return 0
}

// get makes a request from the manager host and checks the status.
func (c *cluster) get(path, token string, want int) ([]byte, error) {
	code, b, err := c.do(http.MethodGet, path, token, "")
	if err == nil && code != want {
		err = fmt.Errorf("GET %s: HTTP %d, want %d: %s", path, code, want, bytes.TrimSpace(b))
	}
	return b, err
}

// do makes a request from the manager host.
func (c *cluster) do(method, path, token, body string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(c.t.Context(), 15*time.Second)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.mgr.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// agentsCurrent checks that the named agents reported the server's current
// list version without an error.
func (c *cluster) agentsCurrent(names ...string) error {
	b, err := c.get("/v1/admin/agents", c.admin, http.StatusOK)
	if err != nil {
		return err
	}
	var as []api.Agent
	if err := json.Unmarshal(b, &as); err != nil {
		return err
	}
	for _, n := range names {
		i := slices.IndexFunc(as, func(a api.Agent) bool { return a.Name == n })
		switch {
		case i < 0:
			return fmt.Errorf("agent %s has not reported", n)
		case as[i].Error != "":
			return fmt.Errorf("agent %s reports an error: %s", n, as[i].Error)
		case !as[i].Current:
			return fmt.Errorf("agent %s has version %d applied, not the current one", n, as[i].Applied)
		}
	}
	return nil
}

// listVersion is the current list version as an agent sees it.
func (c *cluster) listVersion(agentToken string) uint64 {
	c.t.Helper()
	req, _ := http.NewRequestWithContext(c.t.Context(), http.MethodGet, c.url+"/v1/blocklist?format=txt", nil)
	req.Header.Set("Authorization", "Bearer "+agentToken)
	resp, err := c.mgr.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	v, err := strconv.ParseUint(resp.Header.Get(api.HeaderVersion), 10, 64)
	if resp.StatusCode != http.StatusOK || err != nil {
		c.t.Fatalf("GET /v1/blocklist: HTTP %d, version %q", resp.StatusCode, resp.Header.Get(api.HeaderVersion))
	}
	return v
}

// decisions lists the active decisions covering a through the CLI.
func (c *cluster) decisions(a netip.Addr) []api.Decision {
	c.t.Helper()
	out := c.r.run(c.t, c.hn.host(c.t, "manager").ns, "decisions", "list", "--ip", a.String(), "--format", "json", "--server", c.url, "--token", c.admin)
	var ds []api.Decision
	if err := json.Unmarshal([]byte(out), &ds); err != nil {
		c.t.Fatalf("decisions list: %v\n%s", err, out)
	}
	return ds
}

// alertFor is an OSSEC alert of rule 5712 (level 10, sshd brute force) from
// src, new each time.
func (c *cluster) alertFor(src netip.Addr) *ossec.Alert {
	c.seq++
	now := time.Now()
	return &ossec.Alert{
		ID:   ossec.ID{Epoch: now.Unix(), Seq: int64(4096 * c.seq)},
		Time: time.Unix(now.Unix(), 0).UTC(), RuleID: 5712, Level: 10,
		Description: "SSHD brute force trying to get access to the system.",
		Groups:      []string{"syslog", "sshd", "authentication_failures"},
		SrcIP:       src,
		Location:    ossec.ParseLocation("(web1) 10.201.0.9->/var/log/auth.log"),
		Log: []string{fmt.Sprintf("%s web1 sshd[4242]: Failed password for root from %s port 52144 ssh2",
			now.UTC().Format(time.Stamp), src)},
	}
}

// appendAlert appends a new alert from src to alerts.log and returns when.
func (c *cluster) appendAlert(src netip.Addr) time.Time {
	c.t.Helper()
	now := time.Now()
	c.write(c.alertFor(src))
	return now
}

// write appends a to alerts.log as OSSEC writes it: one write, as OSSEC's
// one fprintf and fflush per alert.
func (c *cluster) write(a *ossec.Alert) {
	c.t.Helper()
	f, err := os.OpenFile(c.alerts, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(alertslog.AppendAlert(nil, a, time.UTC)); err != nil {
		c.t.Fatal(err)
	}
}

// target is the front-end's service address of src's family.
func (c *cluster) target(fe string, src netip.Addr) netip.AddrPort {
	h := c.hn.host(c.t, fe)
	if src.Is6() {
		return netip.AddrPortFrom(h.v6, servicePort)
	}
	return netip.AddrPortFrom(h.v4, servicePort)
}

// reaches dials from the attacker host with source src to fe's service.
func (c *cluster) reaches(fe string, src netip.Addr, timeout time.Duration) bool {
	return c.hn.dial("attacker", src, c.target(fe, src), timeout) == nil
}

// expect checks on every front-end whether each source connects (true) or
// is dropped (false), all dials at once. A drop must show as a timeout: a
// refused or unreachable error would be the lab failing, not the firewall.
func (c *cluster) expect(stage string, want map[netip.Addr]bool) {
	c.t.Helper()
	var wg sync.WaitGroup
	for _, fe := range c.fronts {
		for src, ok := range want {
			wg.Go(func() {
				timeout := 500 * time.Millisecond // a handshake here takes well under a millisecond
				if ok {
					timeout = 3 * time.Second
				}
				err := c.hn.dial("attacker", src, c.target(fe, src), timeout)
				switch {
				case ok && err != nil:
					c.t.Errorf("%s: %s -> %s: %v, want a connection", stage, src, fe, err)
				case !ok && err == nil:
					c.t.Errorf("%s: %s -> %s connected, want it dropped", stage, src, fe)
				case !ok && !isTimeout(err):
					c.t.Errorf("%s: %s -> %s: %v, want a timeout (a drop)", stage, src, fe, err)
				}
			})
		}
	}
	wg.Wait()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// expectFromManager checks that another host (the manager, on a local
// network) still reaches both front-ends.
func (c *cluster) expectFromManager() {
	c.t.Helper()
	for _, fe := range c.fronts {
		if err := c.hn.dial("manager", netip.Addr{}, c.target(fe, attackerA), 3*time.Second); err != nil {
			c.t.Errorf("manager -> %s: %v", fe, err)
		}
	}
}

// untilAll waits until every front-end shows the wanted state for src
// (connects or is dropped) and returns how long after start the slowest
// got there.
func (c *cluster) untilAll(src netip.Addr, connect bool, start time.Time, timeout time.Duration) time.Duration {
	c.t.Helper()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		worst time.Duration
		errs  []error
	)
	for _, fe := range c.fronts {
		wg.Go(func() {
			d, err := c.poll(fe, src, connect, start, timeout)
			mu.Lock()
			defer mu.Unlock()
			worst = max(worst, d)
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		c.t.Fatal(errors.Join(errs...))
	}
	return worst
}

// until is untilAll for one front-end.
func (c *cluster) until(fe string, src netip.Addr, connect bool, start time.Time, timeout time.Duration) time.Duration {
	c.t.Helper()
	d, err := c.poll(fe, src, connect, start, timeout)
	if err != nil {
		c.t.Fatal(err)
	}
	return d
}

// poll dials every 10 ms. A dial that does not complete in 100 ms counts
// as dropped once a second dial of a full second confirms it; the time
// reported is when the first failing dial began.
func (c *cluster) poll(fe string, src netip.Addr, connect bool, start time.Time, timeout time.Duration) (time.Duration, error) {
	for {
		at := time.Now()
		err := c.hn.dial("attacker", src, c.target(fe, src), 100*time.Millisecond)
		switch {
		case connect && err == nil:
			return at.Sub(start), nil
		case !connect && err != nil && c.hn.dial("attacker", src, c.target(fe, src), time.Second) != nil:
			return at.Sub(start), nil
		}
		if time.Since(start) > timeout {
			state := "dropped"
			if connect {
				state = "accepted"
			}
			return 0, fmt.Errorf("%s: %s not %s within %s (last dial: %v)", fe, src, state, timeout, err)
		}
		select {
		case <-c.t.Context().Done():
			return 0, c.t.Context().Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// tamperedListRefused runs an agent on the manager host behind a proxy
// that rewrites the attacker's address in every list into the bystander's
// (same length, so only the signature can tell) and checks that the agent
// applies nothing and reports the refusal.
func (c *cluster) tamperedListRefused(pubkey, token string) {
	t := c.t
	t.Helper()
	mgr := c.hn.host(t, "manager")
	upstream, err := url.Parse(c.url)
	if err != nil {
		t.Fatal(err)
	}
	var tampered atomic.Int64
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(upstream) },
		// The upstream connections start on the manager host too.
		Transport: &http.Transport{DialContext: dialer(mgr.ns)},
		ModifyResponse: func(resp *http.Response) error {
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			from, to := []byte(attackerA.String()), []byte(bystander.String())
			if len(from) != len(to) {
				return errors.New("tamper: addresses of different lengths")
			}
			if bytes.Contains(b, from) {
				b = bytes.ReplaceAll(b, from, to)
				tampered.Add(1)
			}
			resp.Body = io.NopCloser(bytes.NewReader(b))
			resp.ContentLength = int64(len(b))
			resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
			return nil
		},
	}
	var ln net.Listener
	if err := netns.Do(mgr.ns, func() error {
		var err error
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()

	agent := c.r.start(t, "agent tampered", mgr.ns, []string{"RAMPART_TOKEN=" + token},
		"--log-level", "info", "agent", "--server", "http://"+ln.Addr().String(), "--pubkey", pubkey, "--backend", "nft",
		"--state-dir", filepath.Join(c.dir, "agent-tampered"))
	defer agent.kill(syscall.SIGTERM)
	waitFor(t, 10*time.Second, "the tampered agent reports a signature failure", func() error {
		b, err := c.get("/v1/admin/agents", c.admin, http.StatusOK)
		if err != nil {
			return err
		}
		var as []api.Agent
		if err := json.Unmarshal(b, &as); err != nil {
			return err
		}
		for _, a := range as {
			if a.Name == "tampered" {
				if !strings.Contains(a.Error, "signature") {
					return fmt.Errorf("agent tampered reports error %q", a.Error)
				}
				return nil
			}
		}
		return errors.New("agent tampered has not reported")
	})
	if tampered.Load() == 0 {
		t.Fatal("the proxy tampered with nothing: the list held no banned address")
	}
	if !agent.running() {
		t.Errorf("the agent exited on a tampered list: %v", agent.err)
	}
	if out, err := netns.Exec(t.Context(), mgr.ns, "nft", "list", "table", "inet", "rampart"); err == nil {
		t.Errorf("the agent applied a tampered list:\n%s", out)
	}
}

// tokenRoles checks that every endpoint refuses requests without a token
// (401), with an unknown or revoked token (401) and with a token of the
// wrong role (403), through the real server and the CLI.
func (c *cluster) tokenRoles(token func(role, name string) string, pubkey string) {
	t := c.t
	t.Helper()
	toks := map[string]string{
		api.RoleSensor: token("sensor", "roles-sensor"),
		api.RoleAgent:  token("agent", "roles-agent"),
		api.RoleAdmin:  c.admin,
	}
	// Bodies are invalid on purpose: authorization comes first, so an
	// allowed role gets 400 and nothing changes on the server.
	calls := []struct {
		method, path, body string
		role               string // the role besides admin that may call it ("" admin only)
	}{
		{"POST", "/v1/signals", "{", api.RoleSensor},
		{"GET", "/v1/blocklist?format=txt", "", api.RoleAgent},
		{"GET", "/v1/blocklist?format=nft", "", api.RoleAgent},
		{"GET", "/v1/blocklist/changes?since=0&wait=0s", "", api.RoleAgent},
		{"POST", "/v1/agents/report", "{", api.RoleAgent},
		{"GET", "/v1/admin/decisions", "", ""},
		{"POST", "/v1/admin/decisions", "{", ""},
		{"GET", "/v1/admin/decisions/1", "", ""},
		{"DELETE", "/v1/admin/decisions/999999", "", ""},
		{"POST", "/v1/admin/tokens", "{", ""},
		{"GET", "/v1/admin/tokens", "", ""},
		{"DELETE", "/v1/admin/tokens/999999", "", ""},
		{"GET", "/v1/admin/agents", "", ""},
	}
	for _, call := range calls {
		for _, who := range []string{"none", "bogus", api.RoleSensor, api.RoleAgent, api.RoleAdmin} {
			tok := toks[who]
			if who == "bogus" {
				tok = "rpt_" + strings.Repeat("A", 43)
			}
			code, b, err := c.do(call.method, call.path, tok, call.body)
			if err != nil {
				t.Errorf("%s %s as %s: %v", call.method, call.path, who, err)
				continue
			}
			var want string
			switch {
			case who == "none" || who == "bogus":
				want = "401"
			case who == api.RoleAdmin || who == call.role:
				want = "not 401/403"
			default:
				want = "403"
			}
			ok := (want == "401" && code == 401) || (want == "403" && code == 403) || (want == "not 401/403" && code != 401 && code != 403 && code < 500)
			if !ok {
				t.Errorf("%s %s as %s: HTTP %d (%s), want %s", call.method, call.path, who, code, bytes.TrimSpace(b), want)
			}
		}
	}
	// CrowdSec bouncers authenticate with X-Api-Key (an agent token) and
	// get 403 for anything else, as CrowdSec's Local API answers.
	for _, path := range []string{"/v1/decisions/stream?startup=true", "/v1/decisions?ip=" + attackerA.String()} {
		for _, who := range []string{"none", "bogus", "bearer", api.RoleSensor, api.RoleAgent} {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, c.url+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			switch who {
			case "bogus":
				req.Header.Set("X-Api-Key", "rpt_"+strings.Repeat("A", 43))
			case "bearer": // the right token in the wrong header
				req.Header.Set("Authorization", "Bearer "+toks[api.RoleAgent])
			case api.RoleSensor, api.RoleAgent:
				req.Header.Set("X-Api-Key", toks[who])
			}
			resp, err := c.mgr.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := http.StatusForbidden
			if who == api.RoleAgent {
				want = http.StatusOK
			}
			if resp.StatusCode != want {
				t.Errorf("GET %s as %s: HTTP %d (%s), want %d", path, who, resp.StatusCode, bytes.TrimSpace(b), want)
			}
		}
	}
	// Public endpoints, and the key they publish is the one agents pin.
	for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
		if _, err := c.get(p, "", http.StatusOK); err != nil {
			t.Error(err)
		}
	}
	if b, err := c.get("/v1/pubkey", "", http.StatusOK); err != nil || strings.TrimSpace(string(b)) != pubkey {
		t.Errorf("GET /v1/pubkey = %q, %v; want %s", b, err, pubkey)
	}

	// The CLI maps a wrong role to a failure that says so.
	mgr := c.hn.host(t, "manager").ns
	if out, err := c.r.try(t, mgr, "decisions", "list", "--server", c.url, "--token", toks[api.RoleAgent]); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("decisions list with an agent token: %v, %q; want a 403 failure", err, out)
	}
	// A revoked token stops working at once.
	victim := token("agent", "revoke-me")
	if _, err := c.get("/v1/blocklist", victim, http.StatusOK); err != nil {
		t.Fatal(err)
	}
	var ts []api.Token
	if err := json.Unmarshal([]byte(c.r.run(t, mgr, "token", "list", "--format", "json", "--server", c.url, "--token", c.admin)), &ts); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ts, func(x api.Token) bool { return x.Name == "revoke-me" })
	if i < 0 {
		t.Fatalf("token list has no revoke-me: %+v", ts)
	}
	if ts[i].Secret != "" {
		t.Errorf("token list shows a secret")
	}
	c.r.run(t, mgr, "token", "revoke", strconv.FormatInt(ts[i].ID, 10), "--server", c.url, "--token", c.admin)
	if _, err := c.get("/v1/blocklist", victim, http.StatusUnauthorized); err != nil {
		t.Errorf("revoked token: %v", err)
	}
}

// latencyBench is bench/distribution.sh's figure: n alerts, each from a new
// attacker address, appended to alerts.log one after the other; for each,
// the time until both front-ends drop that address. It logs the
// percentiles as a BENCH line (RAMPART_BENCH_LATENCY=n).
func (c *cluster) latencyBench(n int) {
	c.t.Helper()
	ds := make([]time.Duration, 0, n)
	for i := range n {
		// 203.0.113.0/24 is the lab's attacker space; .100 up are free.
		src := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		c.hn.addAddr(c.t, "attacker", src)
		start := c.appendAlert(src)
		ds = append(ds, c.untilAll(src, false, start, 10*time.Second))
	}
	slices.Sort(ds)
	pct := func(p float64) time.Duration { return ds[min(len(ds)-1, int(math.Ceil(p*float64(len(ds))))-1)] }
	c.t.Logf("BENCH alert appended -> dropped on both front-ends, %d alerts: p50 %s p90 %s p99 %s max %s",
		n, pct(0.50).Round(time.Millisecond), pct(0.90).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
}
