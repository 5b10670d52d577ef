package federation

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC)

func pfx(s string) netip.Prefix {
	if !strings.Contains(s, "/") {
		a := netip.MustParseAddr(s)
		return netip.PrefixFrom(a, a.BitLen())
	}
	return netip.MustParsePrefix(s)
}

func banned(s string) Report {
	return Report{Prefix: pfx(s), Banned: true, Alerts: 40, MaxLevel: 10, First: t0.Add(-time.Hour), Last: t0, Expires: t0.Add(time.Hour)}
}

func seen(s string, alerts int) Report {
	return Report{Prefix: pfx(s), Alerts: alerts, MaxLevel: 5, First: t0.Add(-time.Hour), Last: t0}
}

func merger(t *testing.T, r Rules, peers ...Peer) *Merger {
	t.Helper()
	if r.Threshold == 0 {
		r.Threshold = 1
	}
	if r.Ban == 0 {
		r.Ban = 6 * time.Hour
	}
	r.Never = append(r.Never, netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.0/24"))
	m, err := NewMerger(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range peers {
		if err := m.SetPeer(p); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func verdict(vs []Verdict, p string) (Verdict, bool) {
	for _, v := range vs {
		if v.Prefix == pfx(p) {
			return v, true
		}
	}
	return Verdict{}, false
}

// The scenario: seen at sites A and B, banned at C.
func TestTwoSitesBan(t *testing.T) {
	m := merger(t, Rules{}, Peer{Name: "a", Trust: 0.6}, Peer{Name: "b", Trust: 0.6}, Peer{Name: "list", Trust: 0.3})
	m.Replace("a", []Report{banned("203.0.113.7")}, t0)
	vs := m.Evaluate(t0)
	if v, _ := verdict(vs, "203.0.113.7"); v.Ban {
		t.Fatalf("one peer at trust 0.6 banned alone: %+v", v)
	}
	m.Replace("b", []Report{banned("203.0.113.7")}, t0)
	v, _ := verdict(m.Evaluate(t0), "203.0.113.7")
	if !v.Ban || v.Score != 1.2 || len(v.Contributions) != 2 || !v.Expires.Equal(t0.Add(6*time.Hour)) || !strings.Contains(v.Why, "from 2 peers") {
		t.Fatalf("A and B banned: %+v", v)
	}
	// Weak evidence: 30 alerts at a 0.6 peer and 50 at another: 0.18 + 0.3 < 1.
	m.Replace("a", []Report{seen("198.51.100.1", 30)}, t0)
	m.Replace("b", []Report{seen("198.51.100.1", 50)}, t0)
	if v, _ := verdict(m.Evaluate(t0), "198.51.100.1"); v.Ban || v.Score < 0.47 || v.Score > 0.49 {
		t.Errorf("weak evidence: %+v", v)
	}
}

func TestOnePeerCannotBanAlone(t *testing.T) {
	m := merger(t, Rules{}, Peer{Name: "a", Trust: 1}, Peer{Name: "b", Trust: 1, Alone: true})
	m.Replace("a", []Report{banned("203.0.113.7")}, t0)
	if v, _ := verdict(m.Evaluate(t0), "203.0.113.7"); v.Ban {
		t.Errorf("a fully trusted peer without Alone banned by itself: %+v", v)
	}
	m.Replace("b", []Report{banned("203.0.113.9")}, t0)
	if v, _ := verdict(m.Evaluate(t0), "203.0.113.9"); !v.Ban || !strings.Contains(v.Why, "trusted alone") {
		t.Errorf("a peer trusted alone did not ban: %+v", v)
	}
}

func TestQuorum(t *testing.T) {
	m := merger(t, Rules{Quorum: 3}, Peer{Name: "a", Trust: 0.1}, Peer{Name: "b", Trust: 0.1}, Peer{Name: "c", Trust: 0.1})
	for _, p := range []string{"a", "b", "c"} {
		m.Replace(p, []Report{seen("203.0.113.7", 5)}, t0)
	}
	if v, _ := verdict(m.Evaluate(t0), "203.0.113.7"); !v.Ban || !strings.Contains(v.Why, "quorum 3") {
		t.Errorf("quorum: %+v", v)
	}
}

func TestMaliciousPeer(t *testing.T) {
	m := merger(t, Rules{}, Peer{Name: "evil", Trust: 1, Alone: true}, Peer{Name: "b", Trust: 1})
	refused, err := m.Replace("evil", []Report{banned("10.1.2.3"), banned("192.0.2.0/25"), banned("0.0.0.0/0"), banned("203.0.0.0/16"), banned("2001:db8::/32"), banned("203.0.113.7"), banned("::ffff:10.9.9.9")}, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(refused) != 6 {
		t.Fatalf("refused %d reports, want 6: %+v", len(refused), refused)
	}
	m.Replace("b", []Report{banned("10.1.2.3")}, t0)
	for _, v := range m.Evaluate(t0) {
		if v.Ban && v.Prefix != pfx("203.0.113.7") {
			t.Errorf("banned %s: %+v", v.Prefix, v)
		}
	}
}

func TestSilentPeerAndExpiry(t *testing.T) {
	m := merger(t, Rules{SilentAfter: 10 * time.Minute}, Peer{Name: "a", Trust: 0.6}, Peer{Name: "b", Trust: 0.6})
	m.Replace("a", []Report{banned("203.0.113.7")}, t0)
	m.Replace("b", []Report{banned("203.0.113.7")}, t0)
	// b keeps talking, a falls silent: after 10 minutes a counts nothing.
	m.Heard("b", t0.Add(20*time.Minute))
	if v, _ := verdict(m.Evaluate(t0.Add(20*time.Minute)), "203.0.113.7"); v.Ban || len(v.Contributions) != 1 {
		t.Errorf("a silent peer still counts: %+v", v)
	}
	// Peer bans that expired count nothing either.
	m.Heard("a", t0.Add(2*time.Hour))
	m.Heard("b", t0.Add(2*time.Hour))
	if v, ok := verdict(m.Evaluate(t0.Add(2*time.Hour)), "203.0.113.7"); ok && v.Ban {
		t.Errorf("expired peer bans still ban: %+v", v)
	}
	// A withdrawal removes the report at once.
	m.Replace("a", []Report{banned("198.51.100.1")}, t0)
	m.Update("a", nil, []netip.Prefix{pfx("198.51.100.1")}, t0)
	if _, ok := verdict(m.Evaluate(t0), "198.51.100.1"); ok {
		t.Error("a withdrawn report still counts")
	}
	if _, err := m.Replace("nobody", nil, t0); err == nil {
		t.Error("an unknown peer accepted")
	}
}
