package grafana_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/grafana"
)

// fakeGrafana answers the part of Grafana's HTTP API push uses, with
// Grafana's status codes and JSON error bodies.
type fakeGrafana struct {
	token string
	mu    sync.Mutex
	// dashboards by uid: the JSON received and the version.
	dashboards map[string]json.RawMessage
	versions   map[string]int
	folders    []grafana.Folder
	inFolder   map[string]string
}

func newFakeGrafana(t *testing.T, token string) (*fakeGrafana, *httptest.Server) {
	g := &fakeGrafana{token: token, dashboards: map[string]json.RawMessage{}, versions: map[string]int{}, inFolder: map[string]string{}}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return g, srv
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (g *fakeGrafana) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+g.token {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "invalid API key", "traceID": ""})
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/folders":
		writeJSON(w, http.StatusOK, g.folders)
	case r.Method == http.MethodPost && r.URL.Path == "/api/folders":
		var in struct{ Title string }
		if json.NewDecoder(r.Body).Decode(&in) != nil || in.Title == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "bad request data"})
			return
		}
		for _, f := range g.folders {
			if f.Title == in.Title {
				writeJSON(w, http.StatusConflict, map[string]string{"message": "a folder with the same name already exists"})
				return
			}
		}
		f := grafana.Folder{UID: "f" + string(rune('a'+len(g.folders))), Title: in.Title}
		g.folders = append(g.folders, f)
		writeJSON(w, http.StatusOK, f)
	case r.Method == http.MethodPost && r.URL.Path == "/api/dashboards/db":
		var in struct {
			Dashboard json.RawMessage `json:"dashboard"`
			FolderUID string          `json:"folderUid"`
			Overwrite bool            `json:"overwrite"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "bad request data"})
			return
		}
		var d struct {
			UID           string `json:"uid"`
			Title         string `json:"title"`
			SchemaVersion int    `json:"schemaVersion"`
			ID            *int   `json:"id"`
		}
		json.Unmarshal(in.Dashboard, &d)
		switch {
		case strings.TrimSpace(d.Title) == "":
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "Dashboard title cannot be empty", "status": "empty-name"})
			return
		case in.FolderUID != "" && !g.hasFolder(in.FolderUID):
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "folder not found", "status": "not-found"})
			return
		case g.versions[d.UID] > 0 && !in.Overwrite:
			writeJSON(w, http.StatusPreconditionFailed, map[string]string{"message": "A dashboard with the same uid already exists", "status": "name-exists"})
			return
		}
		g.versions[d.UID]++
		g.dashboards[d.UID] = in.Dashboard
		g.inFolder[d.UID] = in.FolderUID
		writeJSON(w, http.StatusOK, map[string]any{"id": 7, "uid": d.UID, "url": "/d/" + d.UID + "/slug", "status": "success", "version": g.versions[d.UID], "slug": "slug"})
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not found"})
	}
}

func (g *fakeGrafana) hasFolder(uid string) bool {
	for _, f := range g.folders {
		if f.UID == uid {
			return true
		}
	}
	return false
}

func TestPush(t *testing.T) {
	g, srv := newFakeGrafana(t, "tok")
	c, err := grafana.NewClient(srv.URL+"/", "tok", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for round := 1; round <= 2; round++ {
		folder, err := c.EnsureFolder(ctx, "Security")
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range grafana.Dashboards(grafana.Options{}) {
			p, err := c.PushDashboard(ctx, d, folder, "test")
			if err != nil {
				t.Fatal(err)
			}
			if p.Version != round || p.UID != d.UID || c.URL(p.URL) != srv.URL+"/d/"+d.UID+"/slug" {
				t.Errorf("round %d: pushed %+v, url %s", round, p, c.URL(p.URL))
			}
		}
	}
	if len(g.folders) != 1 || len(g.dashboards) != 2 || g.inFolder[grafana.OSSECAlertsUID] != g.folders[0].UID {
		t.Fatalf("folders %v, dashboards %d, folder of the OSSEC dashboard %q", g.folders, len(g.dashboards), g.inFolder[grafana.OSSECAlertsUID])
	}
	var d grafana.Dashboard
	if err := json.Unmarshal(g.dashboards[grafana.RampartUID], &d); err != nil || d.SchemaVersion != grafana.SchemaVersion || len(d.Panels) == 0 {
		t.Errorf("dashboard as received: %v, %+v", err, d)
	}
}

func TestPushErrors(t *testing.T) {
	_, srv := newFakeGrafana(t, "tok")
	ctx := t.Context()
	d := grafana.Rampart(grafana.Options{})

	// Grafana's message and status reach the user.
	bad, _ := grafana.NewClient(srv.URL, "wrong", nil)
	_, err := bad.PushDashboard(ctx, d, "", "")
	var ae *grafana.APIError
	if !errors.As(err, &ae) || ae.Status != 401 || !strings.Contains(err.Error(), "invalid API key") {
		t.Errorf("wrong token: %v", err)
	}
	c, _ := grafana.NewClient(srv.URL, "tok", nil)
	_, err = c.PushDashboard(ctx, d, "nosuchfolder", "")
	if err == nil || !strings.Contains(err.Error(), "400 Bad Request: folder not found (not-found)") {
		t.Errorf("missing folder: %v", err)
	}
	d.Title = " "
	if _, err = c.PushDashboard(ctx, d, "", ""); err == nil || !strings.Contains(err.Error(), "Dashboard title cannot be empty") {
		t.Errorf("empty title: %v", err)
	}

	// A proxy's HTML error page is shown as text, cut short.
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte("<html>\n<body>Bad Gateway</body>" + strings.Repeat("x", 1000) + "</html>"))
	}))
	defer proxy.Close()
	c, _ = grafana.NewClient(proxy.URL, "tok", nil)
	_, err = c.PushDashboard(ctx, d, "", "")
	if err == nil || !strings.Contains(err.Error(), "502 Bad Gateway: <html> <body>Bad Gateway") || len(err.Error()) > 400 {
		t.Errorf("proxy error: %v", err)
	}

	// A Grafana that does not answer is given up on.
	release := make(chan struct{})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer stuck.Close()
	defer close(release)
	c, _ = grafana.NewClient(stuck.URL, "tok", &http.Client{Timeout: 100 * time.Millisecond})
	start := time.Now()
	_, err = c.PushDashboard(ctx, d, "", "")
	if err == nil || !strings.Contains(err.Error(), "Timeout") || time.Since(start) > 5*time.Second {
		t.Errorf("stuck Grafana: %v after %v", err, time.Since(start))
	}

	// A password in the URL never shows in errors.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, _ = grafana.NewClient("http://admin:s3cret@"+addr, "", nil)
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err = c.EnsureFolder(cctx, "x"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("closed port: %v", err)
	}
}

func TestNewClientErrors(t *testing.T) {
	for _, tt := range []struct{ url, token, want string }{
		{"grafana:3000", "t", "want http(s)://"},
		{"ftp://grafana", "t", "want http(s)://"},
		{"http://grafana:3000", "", "no token"},
		{"http://admin:pw@:3000", "", "want http(s)://"},
	} {
		_, err := grafana.NewClient(tt.url, tt.token, nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), ":pw@") {
			t.Errorf("NewClient(%q) = %v, want %q", tt.url, err, tt.want)
		}
	}
}
