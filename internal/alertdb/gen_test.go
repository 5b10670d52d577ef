package alertdb

import (
	"math"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// genConfig describes a synthetic alerts.log history: a few heavy sources
// and a long tail, each source hitting a few rules on a few locations.
type genConfig struct {
	Alerts  int
	Sources int
	Days    int
	Seed    uint64
	// Start is the first alert's time; zero means an odd second in 2025.
	Start time.Time
	// NoSource is the fraction of alerts without a source address.
	NoSource float64
	// SameSecond is the fraction of alerts that share the previous alert's
	// second (bursts), to exercise ordering ties.
	SameSecond float64
	// Rules and Locations default to 30 and 200.
	Rules, Locations int
}

type genRule struct {
	id     int
	level  int
	desc   string
	groups []string
}

type genProfile struct {
	rules []int
	locs  []int
}

// gen produces alerts in file order (ascending time), reusing one Alert the
// way a reader does.
type gen struct {
	cfg     genConfig
	r       *rand.Rand
	cum     []float64
	srcs    []netip.Addr
	profs   []genProfile
	rules   []genRule
	locs    []ossec.Location
	start   int64
	t       float64
	lastSec int64
	day     int64
	offset  int64
	n       int
	buf     []byte
}

func newGen(cfg genConfig) *gen {
	if cfg.Rules == 0 {
		cfg.Rules = 30
	}
	if cfg.Locations == 0 {
		cfg.Locations = 200
	}
	if cfg.Days == 0 {
		cfg.Days = 180
	}
	if cfg.Sources < 2 {
		cfg.Sources = 2
	}
	g := &gen{cfg: cfg, r: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))}
	g.start = cfg.Start.Unix()
	if cfg.Start.IsZero() {
		g.start = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).Unix() + 12345
	}
	levels := []int{2, 3, 5, 6, 7, 8, 10, 12}
	for i := 0; i < cfg.Rules; i++ {
		groups := []string{"syslog", "sshd"}
		if i%3 == 1 {
			groups = []string{"web", "accesslog", "attack"}
		}
		if i%7 == 0 {
			groups = append(groups, "authentication_failed")
		}
		g.rules = append(g.rules, genRule{
			id: 5700 + 3*i, level: levels[i%len(levels)],
			desc: "Synthetic rule " + strconv.Itoa(i) + ": it's an attack.", groups: groups,
		})
	}
	for i := 0; i < cfg.Locations; i++ {
		var raw string
		switch {
		case i%10 == 5:
			// ossec-dbd stores this sanitised: Key must not notice.
			raw = "web" + strconv.Itoa(i) + "->/var/log/caf\u00e9's.log"
		case i%2 == 0:
			raw = "web" + strconv.Itoa(i) + "->/var/log/auth.log"
		default:
			raw = "(agent" + strconv.Itoa(i) + ") 198.51.100." + strconv.Itoa(i%250+1) + "->/var/log/secure"
		}
		g.locs = append(g.locs, ossec.ParseLocation(raw))
	}
	// Source 0 draws 10% of the alerts; the rest follow Zipf(1).
	g.cum = make([]float64, cfg.Sources)
	tot := 0.0
	for i := 1; i < cfg.Sources; i++ {
		tot += 1 / float64(i)
		g.cum[i] = tot
	}
	seen := map[netip.Addr]bool{}
	for len(g.srcs) < cfg.Sources {
		var a netip.Addr
		if g.r.IntN(20) == 0 {
			var b [16]byte
			b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
			for j := 8; j < 16; j++ {
				b[j] = byte(g.r.IntN(256))
			}
			a = netip.AddrFrom16(b)
		} else {
			a = netip.AddrFrom4([4]byte{byte(1 + g.r.IntN(222)), byte(g.r.IntN(256)), byte(g.r.IntN(256)), byte(1 + g.r.IntN(254))})
		}
		if seen[a] {
			continue
		}
		seen[a] = true
		g.srcs = append(g.srcs, a)
		p := genProfile{}
		for j := 1 + g.r.IntN(3); j > 0; j-- {
			p.rules = append(p.rules, g.r.IntN(cfg.Rules))
		}
		for j := 1 + g.r.IntN(2); j > 0; j-- {
			p.locs = append(p.locs, g.r.IntN(cfg.Locations))
		}
		g.profs = append(g.profs, p)
	}
	return g
}

func (g *gen) pickSource() int {
	if g.r.IntN(10) == 0 {
		return 0
	}
	x := g.r.Float64() * g.cum[len(g.cum)-1]
	lo, hi := 1, len(g.cum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if g.cum[m] < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// next fills a with the next alert; false at the end.
func (g *gen) next(a *ossec.Alert) bool {
	if g.n >= g.cfg.Alerts {
		return false
	}
	g.n++
	sec := g.lastSec
	if g.n == 1 || g.r.Float64() >= g.cfg.SameSecond {
		g.t += g.r.ExpFloat64() * float64(g.cfg.Days) * 86400 / float64(g.cfg.Alerts)
		sec = g.start + int64(math.Floor(g.t))
	}
	if sec < g.lastSec {
		sec = g.lastSec
	}
	g.lastSec = sec
	if d := sec / 86400; d != g.day {
		g.day, g.offset = d, 0
	}
	s := g.pickSource()
	p := g.profs[s]
	rule := g.rules[p.rules[g.r.IntN(len(p.rules))]]
	loc := g.locs[p.locs[g.r.IntN(len(p.locs))]]

	*a = ossec.Alert{
		ID: ossec.ID{Epoch: sec, Seq: g.offset}, Time: time.Unix(sec, 0).UTC(), Mail: g.r.IntN(50) == 0,
		RuleID: rule.id, Level: rule.level, Description: rule.desc, Groups: rule.groups,
		Location: loc, Log: a.Log[:0],
	}
	src := g.srcs[s]
	if g.r.Float64() < g.cfg.NoSource {
		src = netip.Addr{}
	} else {
		a.SrcIP = src
		a.SrcPort = uint16(1024 + g.r.IntN(60000))
	}
	if g.r.IntN(8) == 0 {
		a.DstIP = netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + g.r.IntN(20))})
		a.DstPort = 22
		a.User = "user" + strconv.Itoa(g.r.IntN(40))
	}
	lines := 1
	if g.r.IntN(20) == 0 {
		lines = 3
	}
	for i := 0; i < lines; i++ {
		b := g.buf[:0]
		b = time.Unix(sec, 0).UTC().AppendFormat(b, time.Stamp)
		b = append(b, " host sshd["...)
		b = strconv.AppendInt(b, int64(1000+g.r.IntN(60000)), 10)
		b = append(b, "]: Failed password for invalid user admin from "...)
		if src.IsValid() {
			b = src.AppendTo(b)
		} else {
			b = append(b, "unknown"...)
		}
		b = append(b, " port 50122 ssh2"...)
		for want := 150 + g.r.IntN(100); len(b) < want; {
			b = append(b, " padding-words-to-reach-a-realistic-length"...)
		}
		g.buf = b
		a.Log = append(a.Log, string(b))
	}
	g.offset += int64(120 + len(a.Log[0])*lines)
	return true
}

// genAll returns cfg's alerts as independent copies.
func genAll(cfg genConfig) []ossec.Alert {
	g := newGen(cfg)
	var out []ossec.Alert
	var a ossec.Alert
	for g.next(&a) {
		c := a
		c.Log = append([]string(nil), a.Log...)
		out = append(out, c)
	}
	return out
}
