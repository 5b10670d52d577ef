package alertdb

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rampart-ids/rampart/internal/ossec"
)

const crashChildEnv = "ALERTDB_CRASH_CHILD_DB"

func crashAlerts() []ossec.Alert {
	return genAll(genConfig{Alerts: 40000, Sources: 200, Days: 6, Seed: 21, NoSource: 0.05, SameSecond: 0.05})
}

// crashChild imports crashAlerts into path, reporting each commit on
// stdout, until its parent kills it.
func crashChild(path string) error {
	ctx := context.Background()
	s, err := Open(ctx, path, nil)
	if err != nil {
		return err
	}
	w, err := s.NewWriter(ctx, "alerts.log")
	if err != nil {
		return err
	}
	for i, a := range crashAlerts() {
		if err := w.Add(&a); err != nil {
			return err
		}
		if (i+1)%1500 == 0 {
			if err := w.Commit(Checkpoint{Offset: int64(i + 1)}); err != nil {
				return err
			}
			fmt.Printf("committed %d\n", i+1)
		}
	}
	fmt.Println("done")
	select {} // wait to be killed: never Close
}

// TestCrashResume kills an importing process with SIGKILL, then checks that
// the store holds exactly the alerts its checkpoint covers, and that
// resuming from the checkpoint yields every alert once.
func TestCrashResume(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		if err := crashChild(path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		return
	}
	if testing.Short() {
		t.Skip("needs a child process; skipped with -short")
	}
	path := filepath.Join(t.TempDir(), "rampart.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestCrashResume$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	commits := 0
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "committed ") {
			commits++
		}
		// Kill while the next batch is being added and committed.
		if commits == 7 || sc.Text() == "done" {
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if commits < 7 {
		t.Fatalf("child stopped after %d commits", commits)
	}

	alerts := crashAlerts()
	s := openTest(t, path)
	ctx := t.Context()
	cp, found, err := s.Checkpoint(ctx, "alerts.log")
	if err != nil || !found {
		t.Fatalf("checkpoint after kill: %v, found %v", err, found)
	}
	if cp.Offset < 7*1500 || cp.Offset%1500 != 0 {
		t.Fatalf("checkpoint offset %d after 7 reported commits", cp.Offset)
	}
	t.Logf("killed after checkpoint %d of %d alerts", cp.Offset, len(alerts))
	committed := unique(alerts[:cp.Offset])
	if n, err := s.Count(ctx); err != nil || n != int64(len(committed)) {
		t.Fatalf("Count = %d, %v after kill; checkpoint covers %d alerts", n, err, len(committed))
	}
	checkAgainstAnalytics(t, s, committed, testFilters(committed)[:4], reportAddrs(committed)[:2])

	importAll(t, s, "alerts.log", alerts[cp.Offset:], 5000)
	all := unique(alerts)
	if n, _ := s.Count(ctx); n != int64(len(all)) {
		t.Errorf("Count after resume = %d, want %d", n, len(all))
	}
	checkAgainstAnalytics(t, s, all, testFilters(all)[:9], reportAddrs(all)[:3])
}
