package grafanacmd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/cli"
	"github.com/rampart-ids/rampart/internal/grafana"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/dbdload"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/ossecdbtest"
)

// rampart runs the real entry point in-process with a config file of its
// own (empty: all defaults) unless args name one.
func rampart(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	if !strings.Contains(strings.Join(args, " "), "--config") {
		conf := filepath.Join(t.TempDir(), "rampart.toml")
		if err := os.WriteFile(conf, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append([]string{"--config", conf}, args...)
	}
	var o, e bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	code = cli.Main(ctx, args, cli.Stdio{In: strings.NewReader(""), Out: &o, Err: &e})
	return o.String(), e.String(), code
}

func readDashboard(t *testing.T, path string) grafana.Dashboard {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d grafana.Dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return d
}

func TestExport(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := rampart(t, nil, "grafana", "export", dir, "--local-nets", "10.40.0.0/24,2001:db8:40::/48",
		"--db", "mysql://reader:s3cret@db1.example:3307/ossec", "--prometheus-url", "http://prom:9090")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var files []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		rel, err := filepath.Rel(dir, l)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, filepath.ToSlash(rel))
	}
	want := []string{grafana.ProviderFile, grafana.DashboardDir + "/rampart-ossec-alerts.json", grafana.DashboardDir + "/rampart-server.json", grafana.DatasourcesFile}
	if strings.Join(files, " ") != strings.Join(want, " ") {
		t.Fatalf("stdout lists %q, want %q", files, want)
	}
	for _, f := range files {
		b, _ := os.ReadFile(filepath.Join(dir, f))
		if bytes.Contains(b, []byte("s3cret")) {
			t.Errorf("%s holds the password", f)
		}
	}
	ds, _ := os.ReadFile(filepath.Join(dir, grafana.DatasourcesFile))
	for _, w := range []string{`url: "db1.example:3307"`, `user: "reader"`, `database: "ossec"`, `password: "$RAMPART_OSSEC_DB_PASSWORD"`, `url: "http://prom:9090"`} {
		if !bytes.Contains(ds, []byte(w)) {
			t.Errorf("datasources lack %s:\n%s", w, ds)
		}
	}
	prov, _ := os.ReadFile(filepath.Join(dir, grafana.ProviderFile))
	if !bytes.Contains(prov, []byte(`path: "`+filepath.Join(dir, "dashboards", "rampart")+`"`)) {
		t.Errorf("provider does not point at the exported JSON:\n%s", prov)
	}
	if !strings.Contains(errOut, "password in --db is not written") || strings.Contains(errOut, "no local_networks") {
		t.Errorf("stderr: %s", errOut)
	}
	d := readDashboard(t, filepath.Join(dir, grafana.DashboardDir, "rampart-ossec-alerts.json"))
	sql := d.Panels[2].Targets[0].RawSQL
	if !strings.Contains(sql, "INET6_ATON('10.40.0.255')") || !strings.Contains(sql, "INET6_ATON('2001:db8:40::')") || strings.Contains(sql, "192.168") {
		t.Errorf("top sources SQL does not leave out exactly --local-nets:\n%s", sql)
	}
	if strings.Contains(d.Description, "defaults") {
		t.Errorf("description claims defaults: %s", d.Description)
	}
}

// TestExportDefaults: with no local_networks anywhere, export says which
// defaults it used, on stderr and in the dashboard.
func TestExportDefaults(t *testing.T) {
	dir := t.TempDir()
	_, errOut, code := rampart(t, nil, "grafana", "export", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, w := range []string{"no local_networks configured", "10.0.0.0/8", "fe80::/10", "placeholders"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q: %s", w, errOut)
		}
	}
	d := readDashboard(t, filepath.Join(dir, grafana.DashboardDir, "rampart-ossec-alerts.json"))
	if !strings.Contains(d.Description, "Rampart's defaults: no local_networks configured") {
		t.Errorf("description: %s", d.Description)
	}
	note := d.Panels[3].Options["content"].(string)
	if !strings.Contains(note, "**defaults**") || !strings.Contains(note, "`172.16.0.0/12`") {
		t.Errorf("local networks panel: %s", note)
	}

	// A config's local_networks are used, and no defaults claimed.
	conf := filepath.Join(t.TempDir(), "rampart.toml")
	os.WriteFile(conf, []byte("local_networks = [\"10.40.0.0/24\"]\n"), 0o644)
	_, errOut, code = rampart(t, nil, "--config", conf, "grafana", "export", dir)
	d = readDashboard(t, filepath.Join(dir, grafana.DashboardDir, "rampart-ossec-alerts.json"))
	if code != 0 || strings.Contains(errOut, "no local_networks") || !strings.Contains(d.Description, "left out of the sources: 10.40.0.0/24.") {
		t.Errorf("config's networks: exit %d, %s, %s", code, errOut, d.Description)
	}
}

func TestExportBadInput(t *testing.T) {
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"grafana", "export"}, 2, "accepts 1 arg"},
		{[]string{"grafana", "export", "d", "--local-nets", "10.0.0.0/33"}, 2, `invalid --local-nets "10.0.0.0/33"`},
		{[]string{"grafana", "export", "d", "--layout", "2.7"}, 2, `unknown ossec-dbd layout "2.7"`},
		{[]string{"grafana", "export", "d", "--layout", "detect"}, 2, "detect needs --db"},
		{[]string{"grafana", "export", "d", "--db", "postgres://u:pw@h/ossec"}, 2, "written for MySQL/MariaDB"},
		{[]string{"grafana", "export", "d", "--db", "mysql://u@h:99999/ossec"}, 2, "port"},
	} {
		dir := t.TempDir()
		args := append([]string(nil), tt.args...)
		for i, a := range args {
			if a == "d" {
				args[i] = filepath.Join(dir, "out")
			}
		}
		_, errOut, code := rampart(t, nil, args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) || strings.Contains(errOut, ":pw@") {
			t.Errorf("%q: exit %d, %s; want %d with %q", tt.args, code, errOut, tt.code, tt.want)
		}
		if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
			t.Errorf("%q wrote files despite the error", tt.args)
		}
	}
}

// TestExportDetect reads the layout from a real 2.8 database.
func TestExportDetect(t *testing.T) {
	dsn, _ := ossecdbtest.Schema(t, ossecdb.MySQL, dbdload.V28)
	dir := t.TempDir()
	_, errOut, code := rampart(t, nil, "grafana", "export", dir, "--layout", "detect", "--db", dsn, "--local-nets", "10.0.0.0/8")
	if code != 0 || !strings.Contains(errOut, "ossec-dbd layout: 2.8") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	d := readDashboard(t, filepath.Join(dir, grafana.DashboardDir, "rampart-ossec-alerts.json"))
	if sql := d.Panels[len(d.Panels)-1].Targets[0].RawSQL; !strings.Contains(sql, "LEFT JOIN data d") || !strings.Contains(sql, "INET_NTOA") {
		t.Errorf("2.8 SQL:\n%s", sql)
	}
}

func TestPush(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(401)
			w.Write([]byte(`{"message":"invalid API key"}`))
			return
		}
		switch r.URL.Path {
		case "/grafana/api/folders":
			if r.Method == "GET" {
				w.Write([]byte(`[{"uid":"sec","title":"Security"}]`))
				return
			}
			w.WriteHeader(500)
		case "/grafana/api/dashboards/db":
			var in struct {
				Dashboard grafana.Dashboard `json:"dashboard"`
				FolderUID string            `json:"folderUid"`
				Overwrite bool              `json:"overwrite"`
			}
			json.NewDecoder(r.Body).Decode(&in)
			if in.FolderUID != "sec" || !in.Overwrite {
				w.WriteHeader(400)
				w.Write([]byte(`{"message":"folder not found"}`))
				return
			}
			mu.Lock()
			got[in.Dashboard.UID]++
			mu.Unlock()
			json.NewEncoder(w).Encode(map[string]any{"uid": in.Dashboard.UID, "url": "/grafana/d/" + in.Dashboard.UID + "/x", "status": "success", "version": 3})
		default:
			w.WriteHeader(404)
			w.Write([]byte(`{"message":"Not found"}`))
		}
	}))
	defer srv.Close()
	out, errOut, code := rampart(t, map[string]string{"GRAFANA_TOKEN": "tok"}, "grafana", "push", "--url", srv.URL+"/grafana", "--folder", "Security", "--local-nets", "10.0.0.0/8")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "OSSEC alerts\t" + srv.URL + "/grafana/d/rampart-ossec-alerts/x\tversion 3\nRampart\t" + srv.URL + "/grafana/d/rampart-server/x\tversion 3\n"
	if out != want || got[grafana.OSSECAlertsUID] != 1 || got[grafana.RampartUID] != 1 {
		t.Errorf("stdout %q, want %q; pushed %v", out, want, got)
	}

	// Grafana's refusal is shown with its message; exit 1.
	_, errOut, code = rampart(t, nil, "grafana", "push", "--url", srv.URL+"/grafana", "--token", "bad", "--local-nets", "10.0.0.0/8")
	if code != 1 || !strings.Contains(errOut, "401 Unauthorized: invalid API key") {
		t.Errorf("bad token: exit %d, %s", code, errOut)
	}
	_, errOut, code = rampart(t, nil, "grafana", "push", "--url", srv.URL+"/grafana", "--token", "tok", "--local-nets", "10.0.0.0/8")
	if code != 1 || !strings.Contains(errOut, `push "OSSEC alerts": grafana: POST /api/dashboards/db: 400 Bad Request: folder not found`) {
		t.Errorf("no folder: exit %d, %s", code, errOut)
	}
	_, errOut, code = rampart(t, map[string]string{"GRAFANA_TOKEN": ""}, "grafana", "push", "--url", srv.URL)
	if code != 2 || !strings.Contains(errOut, "no token") {
		t.Errorf("no token: exit %d, %s", code, errOut)
	}
}

func TestQueries(t *testing.T) {
	out, errOut, code := rampart(t, nil, "grafana", "queries", "--from", "2026-10-01", "--to", "2026-10-08T00:00:00Z", "--interval", "30m",
		"--var", "source=203.0.113.9", "--local-nets", "10.0.0.0/8")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, w := range []string{"-- Top sources (internet)\n", "t.epoch >= 1790812800 AND t.epoch <= 1791417600", "DIV 1800 * 1800", "a.src_ip IN ('203.0.113.9', CONCAT('::ffff:', '203.0.113.9'))", "-- variable source\n", "CAST('10' AS UNSIGNED)"} {
		if !strings.Contains(out, w) {
			t.Errorf("queries lack %q", w)
		}
	}
	if strings.Contains(out, "$") {
		t.Errorf("unexpanded $ in:\n%s", out)
	}
	dir := t.TempDir()
	out, errOut, code = rampart(t, nil, "grafana", "queries", "--out", dir, "--local-nets", "10.0.0.0/8")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 13 || filepath.Base(lines[0]) != "01-alerts.sql" || filepath.Base(lines[1]) != "02-alerts-of-level-ge-10.sql" || filepath.Base(lines[12]) != "13-variable-source.sql" {
		t.Errorf("--out: exit %d, %q, %s", code, lines, errOut)
	}
	_, errOut, code = rampart(t, nil, "grafana", "queries", "--from", "2026-10-08", "--to", "2026-10-01")
	if code != 2 || !strings.Contains(errOut, "not before --to") {
		t.Errorf("reversed range: exit %d, %s", code, errOut)
	}
}
