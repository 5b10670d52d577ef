package server_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/blocklist"
	"github.com/rampart-ids/rampart/internal/grafana"
	"github.com/rampart-ids/rampart/internal/policy"
	"github.com/rampart-ids/rampart/internal/server"
	"github.com/rampart-ids/rampart/internal/serverdb"
)

// tool finds a program of the Debian package prometheus: a skip locally
// without it, a failure under CI=true, where a skip would hide it.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("%s not found (Debian package prometheus): %v", name, err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; CI must install it (.ci/run)")
	}
	t.Skip(msg) // requires the prometheus package; under CI=true the test fails above instead
	return ""
}

// busyServer is a server on a temp SQLite database, behind a loopback
// httptest server, that has seen what makes every labelled series appear:
// signals from a sensor that lead to a decision, an agent's report, and a
// refused request.
func busyServer(t *testing.T) *httptest.Server {
	t.Helper()
	ctx := t.Context()
	db, err := serverdb.Open(ctx, filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	signer, err := blocklist.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	p := policy.Policy{Rules: []policy.Rule{{Name: "ssh", MinAlerts: 3, MinLevel: 5, Window: 10 * time.Minute, Ban: time.Hour}}}
	srv, err := server.New(ctx, server.Options{DB: db, Signer: signer, Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	tokens := map[string]string{}
	for _, role := range []string{api.RoleSensor, api.RoleAgent} {
		secret, digest := server.NewToken()
		if _, err := db.CreateToken(ctx, role+"1", role, digest, now); err != nil {
			t.Fatal(err)
		}
		tokens[role] = secret
	}
	do := func(method, path, token string, body any, want int) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(ctx, method, hs.URL+path, rd)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
		}
	}
	var sigs []api.Signal
	for i := range 3 {
		sigs = append(sigs, api.Signal{Key: fmt.Sprintf("m:%d", i), Source: netip.MustParseAddr("203.0.113.7"), Time: now.Add(time.Duration(i) * time.Second),
			Rule: 5710, Level: 5, Groups: []string{"sshd"}, Log: "Failed password for invalid user admin from 203.0.113.7"})
	}
	do("POST", "/v1/signals", tokens[api.RoleSensor], api.SignalBatch{Sensor: "mgr", Signals: sigs}, http.StatusOK)
	do("GET", "/v1/blocklist?format=txt", tokens[api.RoleAgent], nil, http.StatusOK)
	do("POST", "/v1/agents/report", tokens[api.RoleAgent], api.AgentReport{Applied: 1, Backends: []string{"nft"}, Entries: 1, ApplyMillis: 12}, http.StatusNoContent)
	do("GET", "/v1/blocklist", "", nil, http.StatusUnauthorized)
	return hs
}

func scrape(t *testing.T, base string) []byte {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scrape: %d %v", resp.StatusCode, err)
	}
	return b
}

// TestMetricsPromtool lints a real scrape with promtool, and checks that
// every series the Grafana dashboard queries is in it.
func TestMetricsPromtool(t *testing.T) {
	promtool := tool(t, "promtool")
	hs := busyServer(t)
	body := scrape(t, hs.URL)
	cmd := exec.CommandContext(t.Context(), promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
	// Rampart's own series follow rampart_<subsystem>_<name>_<unit>.
	names := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if name, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(name, " ")
			names[name] = true
			if strings.HasPrefix(name, "rampart_") {
				if !regexp.MustCompile(`^rampart_[a-z]+_[a-z_]+$`).MatchString(name) ||
					(typ == "counter") != strings.HasSuffix(name, "_total") {
					t.Errorf("metric %s (%s) breaks rampart_<subsystem>_<name>_<unit>, _total for counters", name, typ)
				}
			}
		}
	}
	for _, want := range dashboardMetrics() {
		if !names[want] {
			t.Errorf("the Rampart dashboard queries %s, which the server does not export", want)
		}
	}
	for _, want := range []string{`rampart_server_decisions_total{origin=`, `rampart_server_signals_total{sensor="sensor1"}`, `rampart_server_agent_applied_version{agent="agent1"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("scrape lacks %s", want)
		}
	}
}

// dashboardMetrics are the rampart_ metric families the Rampart dashboard
// queries.
func dashboardMetrics() []string {
	var out []string
	re := regexp.MustCompile(`rampart_[a-z_]+`)
	for _, p := range grafana.Rampart(grafana.Options{}).Panels {
		for _, tg := range p.Targets {
			for _, m := range re.FindAllString(tg.Expr, -1) {
				for _, suffix := range []string{"_bucket", "_count", "_sum"} {
					m = strings.TrimSuffix(m, suffix)
				}
				if !slices.Contains(out, m) {
					out = append(out, m)
				}
			}
		}
	}
	return out
}

// freePort returns a loopback port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestPrometheusScrapes starts a real Prometheus that scrapes the server
// every second, waits for up{job="rampart"} == 1, then runs every query of
// the Rampart dashboard through Prometheus' API.
func TestPrometheusScrapes(t *testing.T) {
	bin := tool(t, "prometheus")
	hs := busyServer(t)
	target := strings.TrimPrefix(hs.URL, "http://")
	dir := t.TempDir()
	conf := filepath.Join(dir, "prometheus.yml")
	cfg := "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n" +
		"  - job_name: rampart\n    static_configs:\n      - targets: [\"" + target + "\"]\n"
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	listen := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--config.file="+conf, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel() // kills the one process this test started
		cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", logs.String())
		}
	})
	api := "http://" + listen + "/api/v1/query?query="
	query := func(q string) (string, []any, error) {
		resp, err := http.Get(api + url.QueryEscape(q))
		if err != nil {
			return "", nil, err
		}
		defer resp.Body.Close()
		var r struct {
			Status string `json:"status"`
			Error  string `json:"error"`
			Data   struct {
				Result []any `json:"result"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return "", nil, err
		}
		if r.Status != "success" {
			return r.Status, nil, fmt.Errorf("%s", r.Error)
		}
		return r.Status, r.Data.Result, nil
	}
	deadline := time.Now().Add(12 * time.Second)
	for {
		_, res, err := query(`up{job="rampart"} == 1`)
		if err == nil && len(res) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no up{job=\"rampart\"} == 1 from Prometheus within 12 s (last: %v, %v)", res, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Every dashboard query is valid PromQL for this Prometheus, with the
	// variables as Grafana sets them.
	vars := strings.NewReplacer(`$job`, "rampart", `$__rate_interval`, "1m")
	for _, p := range grafana.Rampart(grafana.Options{}).Panels {
		for _, tg := range p.Targets {
			if tg.Expr == "" {
				continue
			}
			if _, _, err := query(vars.Replace(tg.Expr)); err != nil {
				t.Errorf("panel %q: %s: %v", p.Title, tg.Expr, err)
			}
		}
	}
	// And the scraped series are there.
	for _, q := range []string{`max(rampart_server_list_version{job=~"rampart"}) >= 1`, `rampart_server_agent_applied_version{agent="agent1"} == 1`} {
		if _, res, err := query(q); err != nil || len(res) != 1 {
			t.Errorf("%s: %v %v", q, res, err)
		}
	}
}
