package ingest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/alertdb"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/alertslog"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/dbdload"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/ossecdbtest"
)

func writeAlerts(t *testing.T, path string, alerts []ossec.Alert, flag int) {
	t.Helper()
	f, err := os.OpenFile(path, flag|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var b []byte
	for i := range alerts {
		b = alertslog.AppendAlert(b, &alerts[i], nil)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func testAlerts(n, from int) []ossec.Alert {
	out := make([]ossec.Alert, n)
	for i := range out {
		id := ossec.ID{Epoch: 1790000000 + int64(from+i), Seq: int64(from + i)}
		src, _ := ossec.ParseAddr("203.0.113.7")
		out[i] = ossec.Alert{ID: id, Time: ossec.TimeFromID(id), RuleID: 5710, Level: 5, Description: "x",
			SrcIP: src, Location: ossec.ParseLocation("web1->/var/log/auth.log"), Log: []string{"line"}}
	}
	return out
}

// waitCount waits until the store holds n alerts or the deadline passes.
func waitCount(t *testing.T, s *alertdb.Store, n int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := s.Count(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("store holds %d alerts, want %d", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFollowFileResumes follows a file, stops, lets OSSEC rotate it while
// the follower is down, and resumes: every alert stored once.
func TestFollowFileResumes(t *testing.T) {
	dir := t.TempDir()
	s, err := alertdb.Open(t.Context(), filepath.Join(dir, "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	im := &Importer{Store: s, BatchSize: 7}
	opts := FollowOptions{Poll: 10 * time.Millisecond, CommitEvery: 20 * time.Millisecond}
	live := filepath.Join(dir, "alerts.log")
	writeAlerts(t, live, testAlerts(10, 0), os.O_CREATE)

	run := func(body func()) Result {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan Result)
		go func() {
			res, err := im.FollowFile(ctx, live, opts)
			if err != nil {
				t.Errorf("FollowFile: %v", err)
			}
			done <- res
		}()
		body()
		cancel()
		return <-done
	}
	res := run(func() {
		waitCount(t, s, 10)
		writeAlerts(t, live, testAlerts(15, 10), os.O_APPEND)
		waitCount(t, s, 25)
	})
	if res.Read != 25 || res.Added != 25 {
		t.Errorf("first run: %+v", res)
	}
	// While stopped: more alerts for the old day, then the nightly swap.
	writeAlerts(t, live, testAlerts(5, 25), os.O_APPEND)
	day := filepath.Join(dir, "2026", "Oct", "ossec-alerts-01.log")
	os.MkdirAll(filepath.Dir(day), 0o755)
	if err := os.Link(live, day); err != nil {
		t.Fatal(err)
	}
	os.Remove(live)
	writeAlerts(t, live, testAlerts(8, 30), os.O_CREATE)
	res = run(func() { waitCount(t, s, 38) })
	if !res.Resumed || res.Read != 13 || res.Added != 13 {
		t.Errorf("resumed run: %+v, want 13 read and added", res)
	}
}

// TestFollowDBResumes follows an ossec-dbd database on the real MariaDB:
// rows inserted while following and while stopped are each stored once.
func TestFollowDBResumes(t *testing.T) {
	dsn, raw := ossecdbtest.Schema(t, ossecdb.MySQL, dbdload.V3x)
	loader := dbdload.NewLoader(raw, ossecdb.MySQL, dbdload.V3x, "ossec-mgr")
	load := func(n, from int) {
		t.Helper()
		if err := loader.Load(t.Context(), testAlerts(n, from)); err != nil {
			t.Fatal(err)
		}
	}
	load(40, 0)
	db, err := ossecdb.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := alertdb.Open(t.Context(), filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	im := &Importer{Store: s, BatchSize: 16}
	opts := FollowOptions{Poll: 20 * time.Millisecond, CommitEvery: 20 * time.Millisecond}
	run := func(body func()) Result {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan Result)
		go func() {
			res, err := im.FollowDB(ctx, db, db.String(), opts)
			if err != nil {
				t.Errorf("FollowDB: %v", err)
			}
			done <- res
		}()
		body()
		cancel()
		return <-done
	}
	first := run(func() {
		waitCount(t, s, 40)
		load(25, 40)
		waitCount(t, s, 65)
	})
	if first.Read != 65 || first.Added != 65 {
		t.Errorf("first run: %+v", first)
	}
	load(10, 65) // while stopped
	second := run(func() { waitCount(t, s, 75) })
	if !second.Resumed || second.Read != 10 || second.Added != 10 {
		t.Errorf("resumed run: %+v, want the 10 new rows", second)
	}
}
