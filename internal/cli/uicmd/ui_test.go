package uicmd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
)

func TestLoadToken(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", TokenFileName)
	d1, s1, err := loadToken(path, false)
	if err != nil || s1 == "" {
		t.Fatalf("first start: secret %q, %v; want a new token", s1, err)
	}
	if d1 != sha256.Sum256([]byte(s1)) {
		t.Fatal("the digest is not the secret's SHA-256")
	}
	b, err := os.ReadFile(path)
	if err != nil || strings.TrimSpace(string(b)) != hex.EncodeToString(d1[:]) || strings.Contains(string(b), s1) {
		t.Fatalf("token file %q (%v): want the digest's hex and not the secret", b, err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v (%v), want 0600", fi.Mode(), err)
	}
	d2, s2, err := loadToken(path, false)
	if err != nil || s2 != "" || d2 != d1 {
		t.Fatalf("second start: %x %q %v; want the same digest, no new secret", d2, s2, err)
	}
	d3, s3, err := loadToken(path, true)
	if err != nil || s3 == "" || s3 == s1 || d3 == d1 {
		t.Fatalf("--new-token: %q %v; want another token", s3, err)
	}
	bad := filepath.Join(dir, "bad")
	if err := os.WriteFile(bad, []byte("rpt_secret_in_the_file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadToken(bad, false); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("malformed token file: %v; want an error naming it", err)
	}
}

func TestListenRefusesPlainHTTPOffLoopback(t *testing.T) {
	tests := []struct {
		o    Options
		fail bool
	}{
		{Options{Listen: "127.0.0.1:0"}, false},
		{Options{Listen: "[::1]:0"}, false},
		{Options{Listen: "0.0.0.0:0"}, true},
		{Options{Listen: "0.0.0.0:0", Insecure: true}, false},
	}
	for _, tt := range tests {
		ln, err := listen(&tt.o)
		if (err != nil) != tt.fail {
			t.Errorf("listen(%+v) = %v, want failure %v", tt.o, err, tt.fail)
		}
		if ln != nil {
			ln.Close()
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the command's writes while the
// test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServesAndSignsIn(t *testing.T) {
	dir := t.TempDir()
	var out, errOut syncBuffer
	f := &cmdutil.Factory{In: strings.NewReader(""), Out: &out, Err: &errOut, Now: time.Now, Getenv: func(string) string { return "" },
		StorePath: filepath.Join(dir, "rampart.db"), ConfigPath: filepath.Join(dir, "rampart.toml"), LogLevel: "warn"}
	if err := os.WriteFile(f.ConfigPath, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ready := make(chan net.Addr, 1)
	o := &Options{Ready: func(a net.Addr) { ready <- a }}
	cmd := newCmd(f, o)
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--no-lookup", "--ossec-conf", filepath.Join(dir, "ossec.conf")})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	if err := os.WriteFile(filepath.Join(dir, "ossec.conf"), []byte("<ossec_config></ossec_config>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	var addr net.Addr
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("rampart ui ended: %v\n%s", err, errOut.String())
	case <-time.After(20 * time.Second):
		t.Fatal("rampart ui did not start")
	}
	secret := strings.TrimSpace(out.String())
	if !strings.HasPrefix(secret, "rpt_ui_") {
		t.Fatalf("stdout %q: want the new token", secret)
	}
	if !strings.Contains(errOut.String(), filepath.Join(dir, TokenFileName)) {
		t.Errorf("stderr does not name the token file:\n%s", errOut.String())
	}
	base := "http://" + addr.String() + "/"
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Get(base + "signin")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no sign-in form:\n%s", body)
	}
	resp, err = c.PostForm(base+"signin", url.Values{"token": {secret}, "csrf": {string(m[1])}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<h1>Overview</h1>") || !strings.Contains(string(body), "holds no alerts yet") {
		t.Fatalf("after sign-in: status %d:\n%s", resp.StatusCode, body)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("rampart ui after interrupt: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("rampart ui did not stop")
	}
}
