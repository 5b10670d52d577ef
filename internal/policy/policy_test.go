package policy

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC)

var (
	attacker = netip.MustParseAddr("203.0.113.7")
	other    = netip.MustParseAddr("198.51.100.9")
	local    = netip.MustParseAddr("10.40.0.23")
)

// history is an in-memory History.
type history map[netip.Addr][]PastBan

func (h history) Bans(src netip.Addr, since time.Time) []PastBan {
	var out []PastBan
	for _, b := range h[src] {
		if !b.Start.Before(since) {
			out = append(out, b)
		}
	}
	return out
}

func sshPolicy() Policy {
	return Policy{
		Rules: []Rule{
			{Name: "ssh", MinAlerts: 5, MinLevel: 5, Window: 10 * time.Minute, Groups: []string{"authentication_failed"}, Ban: time.Hour},
			{Name: "level10", MinAlerts: 1, MinLevel: 10, Window: time.Minute, Ban: 10 * time.Minute},
		},
		Escalation:      []time.Duration{30 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour},
		ForgetAfter:     7 * 24 * time.Hour,
		ReturnTolerance: time.Minute,
	}
}

func ssh(src netip.Addr, at time.Duration) Observation {
	return Observation{Source: src, Time: t0.Add(at), Rule: 5710, Level: 5, Groups: []string{"syslog", "sshd", "authentication_failed"}, Sensor: "mgr1"}
}

func newEngine(t *testing.T, p Policy, h History) *Engine {
	t.Helper()
	e, err := NewEngine(p, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, h, func() float64 { return 0.5 })
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestThresholdWithinWindow(t *testing.T) {
	e := newEngine(t, sshPolicy(), history{})
	// Four alerts, then the fifth 11 minutes after the first: the window
	// holds only four.
	for i, at := range []time.Duration{0, time.Minute, 2 * time.Minute, 3 * time.Minute, 11 * time.Minute} {
		if v, ok := e.Observe(ssh(attacker, at)); ok {
			t.Fatalf("alert %d: banned too early: %+v", i+1, v)
		}
	}
	// Three more: 3m, 11m, 12m, 12m15s, 12m30s are five within 10 min.
	e.Observe(ssh(attacker, 12*time.Minute))
	e.Observe(ssh(attacker, 12*time.Minute+15*time.Second))
	v, ok := e.Observe(ssh(attacker, 12*time.Minute+30*time.Second))
	if !ok {
		t.Fatal("no ban after 5 alerts within 10 minutes")
	}
	if v.Rule != "ssh" || v.Alerts != 5 || v.Offence != 1 || v.Step != 1 || v.Duration != time.Hour || !v.Expires.Equal(t0.Add(12*time.Minute+30*time.Second+time.Hour)) {
		t.Errorf("verdict = %+v", v)
	}
	if got := v.Reason(sshPolicy()); !strings.Contains(got, "5 alerts of level >= 5 within 10m0s (rule ssh)") {
		t.Errorf("reason = %q", got)
	}
	// While banned, more alerts decide nothing.
	for i := range 10 {
		if _, ok := e.Observe(ssh(attacker, 13*time.Minute+time.Duration(i)*time.Second)); ok {
			t.Fatal("decided again during the ban")
		}
	}
	// Other sources are counted apart.
	if _, ok := e.Observe(ssh(other, 13*time.Minute)); ok {
		t.Error("one alert of another source banned it")
	}
}

func TestRulesFilterAndLongestWins(t *testing.T) {
	e := newEngine(t, sshPolicy(), history{})
	// Level 4 and a non-matching group do not count for "ssh".
	for i := range 10 {
		o := ssh(attacker, time.Duration(i)*time.Second)
		o.Level = 4
		if _, ok := e.Observe(o); ok {
			t.Fatal("level 4 alerts counted")
		}
	}
	for i := range 4 {
		e.Observe(ssh(attacker, time.Minute+time.Duration(i)*time.Second))
	}
	// The fifth counting alert is level 10: both rules trigger, the
	// longer ban (ssh, 1h) wins.
	o := ssh(attacker, 2*time.Minute)
	o.Level = 10
	v, ok := e.Observe(o)
	if !ok || v.Rule != "ssh" || v.Duration != time.Hour {
		t.Fatalf("verdict = %+v, %v; want rule ssh for 1h", v, ok)
	}
	o = Observation{Source: other, Time: t0, Rule: 31151, Level: 10, Groups: []string{"web", "attack"}}
	if v, ok := e.Observe(o); !ok || v.Rule != "level10" || v.Duration != 10*time.Minute {
		t.Fatalf("level 10 alert: %+v, %v", v, ok)
	}
}

func TestNeverBanned(t *testing.T) {
	p := sshPolicy()
	p.Never = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/28")}
	e := newEngine(t, p, history{})
	for i := range 20 {
		for _, src := range []netip.Addr{local, attacker, netip.MustParseAddr("::ffff:10.1.2.3")} {
			o := ssh(src, time.Duration(i)*time.Second)
			o.Level = 12
			if v, ok := e.Observe(o); ok {
				t.Fatalf("banned a never-ban source: %+v", v)
			}
		}
	}
}

func TestEscalationAndReturn(t *testing.T) {
	h := history{}
	p := sshPolicy()
	e := newEngine(t, p, h)
	ban := func(at time.Duration) Verdict {
		t.Helper()
		var v Verdict
		var ok bool
		for i := range 5 {
			v, ok = e.Observe(ssh(attacker, at+time.Duration(i)*time.Second))
		}
		if !ok {
			t.Fatalf("no ban at %s", at)
		}
		h[attacker] = append(h[attacker], PastBan{Start: v.Start, Expires: v.Expires})
		return v
	}
	// First offence: the rule's 1 h. Ladder: 1h, then steps > 1h: 6h, 24h.
	v1 := ban(0)
	if v1.Offence != 1 || v1.Duration != time.Hour {
		t.Fatalf("first = %+v", v1)
	}
	// Second offence long after the first ban ended: step 2, 6 h.
	v2 := ban(5 * time.Hour)
	if v2.Offence != 2 || v2.Step != 2 || v2.Duration != 6*time.Hour || v2.Returned {
		t.Fatalf("second = %+v", v2)
	}
	// Third: it comes back 20 s after the ban expired: step 3 + 1 = 4,
	// capped at the ladder's end (24 h).
	back := v2.Expires.Sub(t0) + 20*time.Second
	v3 := ban(back)
	if v3.Offence != 3 || !v3.Returned || v3.Step != 3 || v3.Duration != 24*time.Hour {
		t.Fatalf("third = %+v", v3)
	}
	// Offences older than ForgetAfter are forgotten.
	e2 := newEngine(t, p, history{attacker: {{Start: t0.Add(-8 * 24 * time.Hour), Expires: t0.Add(-8*24*time.Hour + time.Hour)}}})
	for i := range 5 {
		if v, ok := e2.Observe(ssh(attacker, time.Duration(i)*time.Second)); ok && v.Offence != 1 {
			t.Fatalf("an offence 8 days old counted: %+v", v)
		}
	}
}

func TestJitterAndCap(t *testing.T) {
	p := sshPolicy()
	p.Jitter = 0.2
	p.MaxBan = 45 * time.Minute
	e := newEngine(t, p, history{})
	var v Verdict
	for i := range 5 {
		v, _ = e.Observe(ssh(attacker, time.Duration(i)*time.Second))
	}
	// 1 h capped at 45 min, plus 0.5 × 0.2 × 45 min = 4.5 min.
	if v.Duration != 45*time.Minute+270*time.Second || v.Jitter != 270*time.Second {
		t.Errorf("duration = %s (jitter %s), want 49m30s (4m30s)", v.Duration, v.Jitter)
	}
}

func TestNoteBanAndExpire(t *testing.T) {
	e := newEngine(t, sshPolicy(), history{})
	e.NoteBan(netip.MustParseAddr("::ffff:203.0.113.7"), t0.Add(time.Hour))
	for i := range 10 {
		if _, ok := e.Observe(ssh(attacker, time.Duration(i)*time.Second)); ok {
			t.Fatal("decided while a manual ban lasts")
		}
	}
	e.NoteUnban(attacker)
	var ok bool
	for i := range 5 {
		_, ok = e.Observe(ssh(attacker, time.Minute+time.Duration(i)*time.Second))
	}
	if !ok {
		t.Error("no ban after the manual ban was lifted")
	}
	e.Observe(ssh(other, 0))
	e.Expire(t0.Add(3 * time.Hour))
	if e.Sources() != 0 {
		t.Errorf("%d sources held after they all went quiet and their bans ended", e.Sources())
	}
}

func TestParse(t *testing.T) {
	p, err := Parse("p.toml", []byte(`
escalation = ["2h", "12h"]
jitter = 0
never = ["192.0.2.10", "2001:db8::/32"]

[[rule]]
name = "ssh"
min_alerts = 6
min_level = 5
window = "5m"
groups = ["authentication_failed"]
ban = "30m"
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rules) != 1 || p.Rules[0].Window != 5*time.Minute || p.Rules[0].Ban != 30*time.Minute || p.Jitter != 0 ||
		len(p.Escalation) != 2 || p.ForgetAfter != Default().ForgetAfter || len(p.Never) != 2 || p.Never[0] != netip.MustParsePrefix("192.0.2.10/32") {
		t.Errorf("policy = %+v", p)
	}
	if d := p.ladder(p.Rules[0]); len(d) != 3 || d[1] != 2*time.Hour {
		t.Errorf("ladder = %v", d)
	}
	for _, tt := range []struct{ in, err string }{
		{"jiter = 0.1\n", "unknown key(s): jiter"},
		{"[[rule]]\nname = \"a\"\nmin_alerts = 0\nwindow = \"1m\"\nban = \"1h\"\n", "min_alerts"},
		{"[[rule]]\nname = \"a\"\nmin_alerts = 1\nwindow = \"soon\"\nban = \"1h\"\n", `rule 1: window "soon"`},
		{"escalation = [\"6h\", \"1h\"]\n", "increasing"},
		{"never = [\"10.0.0.300\"]\n", `never[0] "10.0.0.300"`},
		{"jitter = 2.0\n", "jitter 2"},
	} {
		if _, err := Parse("p.toml", []byte(tt.in)); err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "p.toml") {
			t.Errorf("Parse(%q) = %v, want an error with %q", tt.in, err, tt.err)
		}
	}
	if err := Default().Validate(); err != nil {
		t.Errorf("default policy: %v", err)
	}
}

// Sources other sites reported (the federation's feed action) are banned
// at half the local evidence, and the verdict says why.
func TestSuspects(t *testing.T) {
	e := newEngine(t, sshPolicy(), history{})
	e.NoteSuspect(netip.MustParsePrefix("203.0.113.0/24"), t0.Add(time.Hour), "sites a, b")
	var v Verdict
	var ok bool
	for i := range 3 {
		v, ok = e.Observe(ssh(attacker, time.Duration(i)*time.Second))
	}
	if !ok || v.Alerts != 3 || v.Suspect != "sites a, b" || !strings.Contains(v.Reason(sshPolicy()), "reported by other sites (sites a, b)") {
		t.Fatalf("suspect with 3 of 5 alerts: %+v, %v", v, ok)
	}
	// Another source needs the full five; a suspicion that ended counts
	// nothing.
	for i := range 3 {
		if _, ok := e.Observe(ssh(other, time.Duration(i)*time.Second)); ok {
			t.Fatal("an unreported source banned at 3 alerts")
		}
	}
	e2 := newEngine(t, sshPolicy(), history{})
	e2.NoteSuspect(netip.MustParsePrefix("203.0.113.7/32"), t0.Add(time.Second), "site a")
	for i := range 3 {
		if _, ok := e2.Observe(ssh(attacker, time.Minute+time.Duration(i)*time.Second)); ok {
			t.Fatal("an ended suspicion still lowered the threshold")
		}
	}
}
