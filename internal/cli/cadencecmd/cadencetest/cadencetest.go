// Package cadencetest writes an alerts.log of sources whose cadence is
// known, for the tests of "rampart cadence" and "rampart ip": returners
// that wait out a 600 s and a 3,600 s block, one on the manager whose
// escalating blocks it does not wait out, a Poisson attacker, a burst, a
// fixed probe, a source with too few returns, a whitelisted one and a
// local one. It is for tests only.
package cadencetest

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-ids/rampart/internal/cli/cmdutil"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/alertslog"
)

// The planted sources.
var (
	// Returner600 brute-forces the agent bastion's sshd in rounds closed by
	// a level-10 5712 and comes back 603–617 s later, 12 rounds.
	Returner600 = netip.MustParseAddr("198.51.100.10")
	// Returner3600 scans fe01's web server in rounds closed by 31151 and
	// comes back 3,603–3,617 s later, 8 rounds.
	Returner3600 = netip.MustParseAddr("198.51.100.20")
	// Manager600 plays Returner600's game against the manager's own sshd,
	// where ossec.conf's repeated_offenders lengthen the blocks.
	Manager600 = netip.MustParseAddr("198.51.100.30")
	// Few plays Returner600's game for 4 rounds: 3 returns.
	Few = netip.MustParseAddr("198.51.100.40")
	// Poisson attacks at random, 400 s apart on average, level 6.
	Poisson = netip.MustParseAddr("203.0.113.50")
	// Burst fires 300 level-6 web attacks 1–2 s apart.
	Burst = netip.MustParseAddr("203.0.113.60")
	// Probe hits the manager's sshd every 300 s at level 6.
	Probe = netip.MustParseAddr("198.51.100.99")
	// Whitelisted is a Returner600 on the internet that ossec.conf's
	// white_list covers.
	Whitelisted = netip.MustParseAddr("192.0.2.77")
	// Local is a Returner600 in the default local networks.
	Local = netip.MustParseAddr("10.40.0.23")
)

// Start is the time of the first alert.
var Start = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

type rule struct {
	id, level int
	desc      string
	groups    []string
}

var (
	invalid = rule{5710, 5, "Attempt to login using a non-existent user", []string{"syslog", "sshd", "invalid_login", "authentication_failed"}}
	brute   = rule{5712, 10, "SSHD brute force trying to get access to the system.", []string{"syslog", "sshd", "authentication_failures"}}
	web400  = rule{31101, 5, "Web server 400 error code.", []string{"web", "accesslog"}}
	scan    = rule{31151, 10, "Multiple web server 400 error codes from same source ip.", []string{"web", "accesslog", "web_scan", "recon"}}
	attack  = rule{31104, 6, "Common web attack.", []string{"web", "accesslog", "attack"}}
	noIdent = rule{5706, 6, "SSH insecure connection attempt (scan).", []string{"syslog", "sshd", "recon"}}
)

const (
	bastion = "(bastion) 10.40.0.8->/var/log/auth.log"
	fe01    = "(fe01) 10.40.0.11->/var/log/nginx/access.log"
	fe02    = "(fe02) 10.40.0.12->/var/log/nginx/access.log"
	manager = "ossec-mgr->/var/log/auth.log"
)

type plan struct {
	alerts []ossec.Alert
}

func (p *plan) add(t time.Time, src netip.Addr, r rule, loc string) {
	p.alerts = append(p.alerts, ossec.Alert{
		Time: t, RuleID: r.id, Level: r.level, Description: r.desc, Groups: r.groups, SrcIP: src,
		Location: ossec.ParseLocation(loc),
		Log:      []string{t.Format(time.Stamp) + " host sshd[4242]: Failed password for invalid user admin from " + src.String() + " port 50122 ssh2"},
	})
}

// rounds plays n rounds of k alerts of first, 1–4 s apart, closed by last,
// each round lo + (i·7 mod (hi−lo+1)) seconds after the previous closing
// alert.
func (p *plan) rounds(src netip.Addr, start time.Time, n, k int, first, last rule, loc string, lo, hi int) {
	t := start
	for i := range n {
		for j := range k {
			p.add(t, src, first, loc)
			t = t.Add(time.Duration(1+(i+j)%4) * time.Second)
		}
		p.add(t, src, last, loc)
		t = t.Add(time.Duration(lo+(i*7)%(hi-lo+1)) * time.Second)
	}
}

// Alerts returns the planted alerts in time order.
func Alerts() []ossec.Alert {
	p := &plan{}
	h := func(hours int) time.Time { return Start.Add(time.Duration(hours) * time.Hour) }
	p.rounds(Returner600, h(1), 12, 7, invalid, brute, bastion, 603, 617)
	p.rounds(Returner3600, h(2), 8, 5, web400, scan, fe01, 3603, 3617)
	p.rounds(Manager600, h(3), 12, 7, invalid, brute, manager, 603, 617)
	p.rounds(Few, h(4), 4, 7, invalid, brute, bastion, 603, 617)
	p.rounds(Whitelisted, h(5), 12, 7, invalid, brute, bastion, 603, 617)
	p.rounds(Local, h(6), 12, 7, invalid, brute, bastion, 603, 617)
	r := rand.New(rand.NewPCG(3, 5))
	t := h(0)
	for range 300 {
		t = t.Add(time.Duration(1+r.ExpFloat64()*400) * time.Second)
		p.add(t, Poisson, attack, fe02)
	}
	t = h(7)
	for i := range 300 {
		t = t.Add(time.Duration(1+i%2) * time.Second)
		p.add(t, Burst, attack, fe02)
	}
	for i := range 100 {
		p.add(h(0).Add(time.Duration(i*300)*time.Second), Probe, noIdent, manager)
	}
	slices.SortStableFunc(p.alerts, func(a, b ossec.Alert) int { return a.Time.Compare(b.Time) })
	seq := map[int64]int64{}
	for i := range p.alerts {
		a := &p.alerts[i]
		seq[a.Time.Unix()]++
		a.ID = ossec.ID{Epoch: a.Time.Unix(), Seq: seq[a.Time.Unix()]}
	}
	return p.alerts
}

// WriteLog writes the planted alerts as dir/alerts.log and returns its
// path.
func WriteLog(t testing.TB, dir string) string {
	t.Helper()
	var b []byte
	for _, a := range Alerts() {
		b = alertslog.AppendAlert(b, &a, nil)
	}
	path := filepath.Join(dir, "alerts.log")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Env is a test's files: the planted alerts.log, a config whose ossec_dir
// has no ossec.conf, and a store path (not created).
type Env struct {
	Dir, Log, Config, Store string
}

// NewEnv writes the planted alerts and the config into a fresh t.TempDir.
func NewEnv(t testing.TB) Env {
	t.Helper()
	dir := t.TempDir()
	e := Env{Dir: dir, Log: WriteLog(t, dir), Config: filepath.Join(dir, "rampart.toml"), Store: filepath.Join(dir, "store.db")}
	if err := os.WriteFile(e.Config, []byte("ossec_dir = \""+filepath.Join(dir, "ossec")+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// Run runs the command newCmd makes with args over e's config and store, a
// month after Start, with an empty environment, and returns what it wrote
// and its error.
func (e Env) Run(t testing.TB, newCmd func(*cmdutil.Factory) *cobra.Command, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	f := &cmdutil.Factory{Out: &out, Err: &errb, ConfigPath: e.Config, StorePath: e.Store,
		Now: func() time.Time { return Start.AddDate(0, 1, 0) }, Getenv: func(string) string { return "" }}
	defer f.Close()
	cmd := newCmd(f)
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err = cmd.ExecuteContext(t.Context())
	return out.String(), errb.String(), err
}
