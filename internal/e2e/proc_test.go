//go:build linux

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a process writing and the test
// reading.
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

func (s *syncBuffer) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Len()
}

// proc is a long-running rampart process (server, sensor, agent) started in
// a namespace with `ip netns exec`, which execs the command in place: the
// PID is rampart's own, so a signal reaches it directly.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

// rampartBin runs the binary with a fixed config file, so that the machine's
// /etc/rampart/rampart.toml never changes what the test sees.
type rampartBin struct {
	bin, config string
}

// command builds the command line: inside namespace ns, or in the test's
// own namespace when ns is empty.
func (r rampartBin) command(ctx context.Context, ns string, args ...string) *exec.Cmd {
	full := append([]string{r.bin, "--config", r.config}, args...)
	if ns == "" {
		return exec.CommandContext(ctx, full[0], full[1:]...)
	}
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, full...)...)
}

// run runs a short rampart command and returns its standard output; a
// failure fails t.
func (r rampartBin) run(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := r.try(t, ns, args...)
	if err != nil {
		t.Fatalf("rampart %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// try runs a short rampart command; the error carries its stderr.
func (r rampartBin) try(t *testing.T, ns string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := r.command(ctx, ns, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// lastLine is the last non-empty line of s (tokens are printed there).
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// start starts a long-running rampart process. It is killed at t.Cleanup
// if still running, and its output is logged when t failed.
func (r rampartBin) start(t *testing.T, name, ns string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: &syncBuffer{}, done: make(chan struct{})}
	// Not CommandContext: the test decides when a process dies, and how.
	p.cmd = r.command(context.Background(), ns, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.Env = append(os.Environ(), env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill(syscall.SIGKILL)
		if t.Failed() {
			t.Logf("--- output of %s (%s):\n%s", name, strings.Join(p.cmd.Args, " "), p.out)
		}
	})
	return p
}

// running reports whether the process has not exited.
func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill sends sig and waits for the process to end (SIGKILL after 10 s).
func (p *proc) kill(sig syscall.Signal) {
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// stop sends SIGTERM and checks that the process exits cleanly within 10 s,
// as systemd's stop expects.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if !p.running() {
		t.Errorf("%s had exited before it was stopped: %v", p.name, p.err)
		return
	}
	start := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Errorf("%s still runs 10 s after SIGTERM", p.name)
		p.kill(syscall.SIGKILL)
		return
	}
	if p.err != nil {
		t.Errorf("%s after SIGTERM: %v", p.name, p.err)
	}
	t.Logf("%s stopped %s after SIGTERM", p.name, time.Since(start).Round(time.Millisecond))
}

// waitFor polls cond every 10 ms until it holds, failing t after timeout
// with what and cond's last error.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() error) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	for {
		err := cond()
		if err == nil {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("%s: %v", what, t.Context().Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
