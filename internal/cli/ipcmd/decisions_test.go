package ipcmd

import (
	"encoding/json"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/server/servertest"
)

// With --server, ip shows the central server's decisions about the source
// (a real server on loopback).
func TestDecisionsFromServer(t *testing.T) {
	st := servertest.New(t, 5)
	db := st.DB
	hs := httptest.NewServer(st.Server.Handler())
	defer hs.Close()
	secret := st.Token(api.RoleAdmin, "admin")
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
