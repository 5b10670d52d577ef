package ipcmd

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/blocklist"
	"github.com/rampart-ids/rampart/internal/policy"
	"github.com/rampart-ids/rampart/internal/server"
	"github.com/rampart-ids/rampart/internal/serverdb"
)

// With --server, ip shows the central server's decisions about the source
// (a real server on loopback).
func TestDecisionsFromServer(t *testing.T) {
	db, err := serverdb.Open(t.Context(), filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	signer, _ := blocklist.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, 32)))
	srv, err := server.New(t.Context(), server.Options{DB: db, Signer: signer, Policy: policy.Default()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	secret, digest := server.NewToken()
	if _, err := db.CreateToken(t.Context(), "admin", api.RoleAdmin, digest, time.Now()); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, _, err := db.AddDecisions(t.Context(), []api.Decision{
		{Value: netip.MustParsePrefix("203.0.113.45/32"), Origin: "manual", Reason: "ticket 4711", Author: "admin", Expires: now.Add(time.Hour)},
		{Value: netip.MustParsePrefix("198.51.100.0/24"), Origin: "manual", Reason: "other source", Author: "admin"},
	}, now); err != nil {
		t.Fatal(err)
	}
	out, err := runIP(t, "", "203.0.113.45", "--format", "json", "--server", hs.URL, "--token", secret)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Decisions) != 1 || rep.Decisions[0].Reason != "ticket 4711" {
		t.Errorf("decisions = %+v, want the one ban of 203.0.113.45", rep.Decisions)
	}
	text, err := runIP(t, "", "203.0.113.45", "--server", hs.URL, "--token", secret)
	if err != nil || !strings.Contains(text, "Decisions (central server)") || !strings.Contains(text, "ticket 4711") {
		t.Errorf("text output: %v\n%s", err, text)
	}
	if _, err := runIP(t, "", "203.0.113.45", "--server", hs.URL, "--token", "rpt_wrong"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a wrong token: %v", err)
	}
	// Without a server the output has no decisions member.
	out, err = runIP(t, "", "203.0.113.45", "--format", "json")
	if err != nil || strings.Contains(out, `"decisions"`) {
		t.Errorf("without --server: %v, %s", err, out)
	}
}
