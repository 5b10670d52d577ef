package sample

import (
	"math"
	"net/netip"
)

// profile is the kind of log a session writes.
type profile uint8

const (
	pSSH       profile = iota // style 0: invalid users (5710, 5712); 1: real users (5716, 5720); 2: probes (5706, 5701)
	pPAM                      // 5503, every 8th 5551
	pSSHOK                    // local logins 5715, a few typos 5716
	pMonitor                  // 5706 from a monitoring probe at a fixed interval
	pWeb                      // style 0: scanner (31101/31103/31104/31106, 31151); 1: benign 404s
	pMail                     // style 0: relay (3302, 3351); 1: blocklisted (3306, 3357); 2: dovecot (9702, 9750)
	pSyscheck                 // 550/553/554, no source
	pRootcheck                // 510, no source
	pCollector                // 591/592, no source
	pOssec                    // 502/503/504, no source
	pAdmin                    // 5501/5502/5402, no source
	pSyslog                   // 1002, no source
)

// source is one planted address with its running truth.
type source struct {
	addr   netip.Addr // unmapped
	kind   Kind
	mapped bool  // every third alert spells the address "::ffff:a.b.c.d"
	block  int32 // a returner's block, seconds

	count, nMapped int64
	first, last    int64
	maxLevel       int
	rules          []ruleCount
}

type ruleCount struct {
	id int
	n  int64
}

// session is one stream of alerts in time order: a bot's visit, a
// syscheck scan, a monitoring probe. Sessions are merged by time.
type session struct {
	next         int64 // time of the next alert, Unix seconds
	left         int32 // alerts still to emit
	fails        int32 // events counted towards the frequency rule
	src          int32 // index into run.srcs; -1: no source address
	gapLo, gapHi int32 // seconds between alerts
	// retLo, retHi make the session a returner: after each frequency
	// (blocking) alert it waits block seconds plus [retLo, retHi].
	retLo, retHi int32
	block        int32
	pid          int32
	port         uint16
	loc          int16
	prof         profile
	style        uint8
	// quiet sessions (returners) write only the events their frequency
	// rule counts (no scan probes, no attacks), so that nothing but that
	// rule's alert triggers a block.
	quiet bool
	// user picks the session's fixed user name or user agent.
	user uint8
	ring *ring
}

// ring keeps a session's last event lines for frequency rules, which carry
// up to 11 earlier events.
type ring struct {
	lines [11]string
	n     int
	head  int // index of the most recent line
}

func (g *ring) push(s string) {
	g.head = (g.head + 1) % len(g.lines)
	g.lines[g.head] = s
	if g.n < len(g.lines) {
		g.n++
	}
}

// recent returns the i-th most recent line, i < n.
func (g *ring) recent(i int) string {
	return g.lines[(g.head-i+len(g.lines))%len(g.lines)]
}

// planner holds the state of planting: the budget and the addresses taken.
type planner struct {
	*run
	budget int
	used   map[netip.Addr]bool
}

// take reserves up to want alerts of the budget.
func (p *planner) take(want int) int {
	if want > p.budget {
		want = p.budget
	}
	if want < 0 {
		want = 0
	}
	p.budget -= want
	return want
}

// plant registers an address of a kind. The lists the generator draws from
// are disjoint, so a taken address means a random draw collided.
func (p *planner) plant(a netip.Addr, k Kind, mapped bool) int32 {
	p.used[a] = true
	p.srcs = append(p.srcs, source{addr: a, kind: k, mapped: mapped})
	return int32(len(p.srcs) - 1)
}

func (p *planner) plan() {
	n := p.cfg.Alerts
	p.budget = n
	p.used = make(map[netip.Addr]bool)
	dur := p.end - p.start

	// The traps first, so that they are present however small the sample.
	p.planReturner(p.randomV4(), returner{rounds: clamp(n*4/100/8, 6, 420), per: 8, block: 600, retLo: 3, retHi: 17,
		loc: p.t.bastion, prof: pSSH})
	for i := range n / 750_000 {
		lo := int32(1 + p.r.intn(8))
		p.planReturner(p.randomV4(), returner{rounds: int(p.r.between(30, 150)), per: 8, block: 600, retLo: lo,
			retHi: lo + int32(p.r.between(3, 10)), loc: p.t.bastion, prof: pSSH, style: uint8(i % 2)})
	}
	p.planReturner(p.randomV4(), returner{rounds: clamp(n*2/100/12, 8, 120), per: 12, block: 3600, retLo: 3, retHi: 20,
		loc: p.t.web[0], prof: pWeb})
	p.planSlow(n)
	p.planLookAlikes(n)
	p.planLocal(n, dur)
	nb := 2 + n/300_000
	for i := range nb {
		c := p.take(clamp(n/250, 20, 3000))
		if c == 0 {
			break
		}
		src := p.plant(p.randomV4(), Burst, false)
		if i%2 == 0 {
			p.addSessions(src, c, pWeb, 0, c, c, 0, 1, false)
		} else {
			p.addSessions(src, c, pSSH, 0, c, c, 0, 2, false)
		}
	}
	p.planNoSource(max(20, n*35/1000))
	p.planInternet(n, p.take(p.budget))
}

func clamp(v, lo, hi int) int {
	return max(lo, min(v, hi))
}

// returner describes a bot that comes back after each block: rounds of
// per alerts 1–4 s apart, the last of each round the frequency alert that
// blocks it for block seconds; it returns block + retLo..retHi seconds
// after that alert.
type returner struct {
	rounds, per         int
	block, retLo, retHi int32
	loc                 int
	prof                profile
	style               uint8
}

// planReturner plants a returner: the seed's bot that brute-forces sshd,
// is blocked by OSSEC's 600 s active response at each 5712/5720 (level 10)
// and comes back just after, or a web scanner blocked for 3,600 s at each
// 31151. Its rounds shrink to what fits the duration. It attacks an agent,
// whose execd has no repeated_offenders ladder, so every block lasts the
// same (see OSSECConf).
func (p *planner) planReturner(addr netip.Addr, rt returner) {
	dur := p.end - p.start
	roundSpan := int64(rt.per-1)*4 + int64(rt.block+rt.retHi)
	rounds := min(rt.rounds, int(max(1, (dur-60)/roundSpan)))
	c := p.take(rounds * rt.per)
	if c == 0 {
		return
	}
	src := p.plant(addr, Returner, false)
	p.srcs[src].block = rt.block
	span := int64(rounds) * roundSpan
	st := p.start + p.r.between(0, dur-1-span)
	p.sess = append(p.sess, session{
		next: st, left: int32(c), src: src, gapLo: 1, gapHi: 4, retLo: rt.retLo, retHi: rt.retHi, block: rt.block,
		loc: int16(rt.loc), prof: rt.prof, style: rt.style, quiet: true, user: uint8(p.r.intn(len(p.t.localUsers))),
		ring: &ring{},
	})
}

// planSlow plants the slow attacker: single sshd probes whose times are the
// arrivals of a Poisson process over the whole duration, with exponential
// gaps of mean duration/k, k = N/80 (30 to 1,000), on the agents. Each probe
// (5706, 5701: level 6 and 8) triggers the 600 s block, and its returns,
// exponential gaps, do not cluster after it: the negative control for
// returners.
func (p *planner) planSlow(n int) {
	dur := p.end - p.start
	k := clamp(n/80, 30, 1000)
	mean := max(1, dur/int64(k))
	var times []int64
	var at int64 // seconds since start, Q16
	for len(times) < min(p.budget, 4*k) {
		at += p.r.expGap(mean)
		t := p.start + at>>16
		if t >= p.end {
			break
		}
		times = append(times, t)
	}
	c := p.take(len(times))
	if c == 0 {
		return
	}
	src := p.plant(p.randomV4(), Slow, false)
	user := uint8(p.r.intn(len(p.t.localUsers)))
	for _, t := range times[:c] {
		p.sess = append(p.sess, session{
			next: t, left: 1, src: src, loc: int16(p.t.agentSSH[p.r.intn(len(p.t.agentSSH))]),
			prof: pSSH, style: 2, user: user,
		})
	}
}

// planLookAlikes plants the addresses next to the local networks that text
// matching gets wrong. 10.40.1.5 and 192.168.1.20 are outside the seed's
// /24s but inside the default local networks, so they are Local.
func (p *planner) planLookAlikes(n int) {
	list := []struct {
		addr string
		kind Kind
	}{
		{"110.40.0.5", LookAlike}, {"210.40.0.17", LookAlike}, {"10.40.1.5", Local},
		{"192.168.1.20", Local}, {"172.15.255.1", LookAlike}, {"172.32.0.1", LookAlike},
		{"100.63.255.254", LookAlike}, {"100.128.0.1", LookAlike}, {"11.40.0.1", LookAlike},
		{"169.255.0.1", LookAlike},
	}
	for i, la := range list {
		c := p.take(int(p.r.between(3, int64(3+n/1500))))
		if c == 0 {
			return
		}
		src := p.plant(netip.MustParseAddr(la.addr), la.kind, false)
		switch i % 3 {
		case 0:
			p.addSessions(src, c, pSSH, uint8(i%2), 8, 64, 2, 12, false)
		case 1:
			p.addSessions(src, c, pWeb, 0, 5, 80, 0, 3, false)
		default:
			p.addSessions(src, c, pMail, uint8(i%3), 3, 30, 5, 60, false)
		}
	}
}

// planLocal plants loopback and local-network noise: monitoring probes, an
// admin workstation, an internal vulnerability scanner (threats come from
// inside too), mail clients with wrong passwords.
func (p *planner) planLocal(n int, dur int64) {
	type def struct {
		addr   string
		kind   Kind
		prof   profile
		style  uint8
		weight int
		mapped bool
	}
	loop := []def{
		{"127.0.0.1", Loopback, pWeb, 1, 4, false},
		{"::1", Loopback, pWeb, 1, 2, false},
		{"127.0.0.1", Loopback, pMail, 2, 2, false},
	}
	local := []def{
		{"10.40.0.5", Local, pMonitor, 0, 6, false},
		{"10.40.0.23", Local, pSSHOK, 0, 5, true},
		{"10.40.0.31", Local, pWeb, 1, 3, false},
		{"10.40.0.250", Local, pWeb, 0, 8, false},
		{"192.168.0.12", Local, pMail, 2, 3, false},
		{"192.168.0.23", Local, pSSHOK, 0, 3, false},
		{"192.168.0.101", Local, pWeb, 1, 2, false},
		{"172.20.3.7", Local, pSSHOK, 0, 2, false},
		{"172.31.255.254", Local, pWeb, 1, 1, false},
		{"100.72.14.3", Local, pSSH, 1, 2, false},
		{"100.127.255.254", Local, pWeb, 1, 1, false},
		{"169.254.12.7", Local, pWeb, 1, 1, false},
		{"fd12:3456:789a:1::23", Local, pSSHOK, 0, 2, false},
		{"fe80::1c2d:3eff:fe4f:5a6b", Local, pSSHOK, 0, 1, false},
	}
	// A probe every 300 s fits the duration only so often; what does not
	// fit goes to the other hosts.
	monitorCap := int(max(1, dur/300*3/4))
	plantAll := func(defs []def, total int) (spill int) {
		w := make([]float64, len(defs))
		for i, d := range defs {
			w[i] = float64(d.weight)
		}
		counts := apportion(total, w)
		idx := map[string]int32{}
		for i, d := range defs {
			if d.prof == pMonitor && counts[i] > monitorCap {
				spill += counts[i] - monitorCap
				counts[i] = monitorCap
			}
			if counts[i] == 0 {
				continue
			}
			src, ok := idx[d.addr]
			if !ok {
				src = p.plant(netip.MustParseAddr(d.addr), d.kind, d.mapped)
				idx[d.addr] = src
			}
			p.addLocal(src, counts[i], d.prof, d.style)
		}
		return spill
	}
	spill := plantAll(loop, p.take(max(6, n*6/1000)))
	budget := p.take(max(30, n*5/100))
	fixed := budget * 6 / 10
	spill += plantAll(local, fixed)

	// The rest: ordinary hosts of the seed's two local /24s, more of them
	// the larger the sample.
	rest := budget - fixed + spill
	h := min(rest, clamp(n/25_000, 4, 200))
	if h <= 0 {
		return
	}
	w := make([]float64, h)
	for i := range w {
		w[i] = 1 / float64(i+2)
	}
	profs := []profile{pSSHOK, pWeb, pMail, pSSH}
	styles := []uint8{0, 1, 2, 1}
	for _, c := range apportion1(rest, w) {
		var a netip.Addr
		for {
			net := [2][3]byte{{10, 40, 0}, {192, 168, 0}}[p.r.intn(2)]
			a = netip.AddrFrom4([4]byte{net[0], net[1], net[2], byte(p.r.between(20, 249))})
			if !p.used[a] {
				break
			}
		}
		i := p.r.pick([]int{30, 40, 20, 10})
		p.addLocal(p.plant(a, Local, false), c, profs[i], styles[i])
	}
}

// addLocal adds the sessions of a local or loopback source.
func (p *planner) addLocal(src int32, c int, prof profile, style uint8) {
	switch prof {
	case pMonitor:
		// check_ssh every 5 minutes: a fixed cadence that is local and
		// must not be mistaken for a returner.
		p.addSessions(src, c, pMonitor, 0, 12, 48, 300, 300, false)
	case pWeb:
		if style == 0 {
			p.addSessions(src, c, pWeb, 0, 20, 200, 0, 2, true)
		} else {
			p.addSessions(src, c, pWeb, 1, 1, 4, 1, 120, true)
		}
	case pMail:
		p.addSessions(src, c, pMail, style, 1, 4, 5, 300, true)
	case pSSH:
		p.addSessions(src, c, pSSH, style, 1, 9, 3, 30, true)
	default:
		p.addSessions(src, c, prof, style, 1, 3, 60, 3600, true)
	}
}

// planNoSource plants alerts without a source address: syscheck scans,
// rootcheck, log rotation, OSSEC's own messages, admin sessions.
func (p *planner) planNoSource(want int) {
	left := p.take(want)
	weights := []int{30, 10, 15, 5, 30, 10}
	profs := []profile{pSyscheck, pRootcheck, pCollector, pOssec, pAdmin, pSyslog}
	dur := p.end - p.start
	for left > 0 {
		i := p.r.pick(weights)
		var c int
		var gLo, gHi int64
		var locs []int
		switch profs[i] {
		case pSyscheck:
			c, gLo, gHi, locs = int(p.r.between(1, 12)), 0, 2, p.t.syscheck
		case pRootcheck:
			c, gLo, gHi, locs = int(p.r.between(1, 3)), 0, 1, p.t.rootcheck
		case pCollector:
			c, gLo, gHi, locs = int(p.r.between(1, 4)), 0, 1, p.t.collector
		case pOssec:
			c, gLo, gHi, locs = int(p.r.between(1, 2)), 0, 5, p.t.ossecd
		case pAdmin:
			c, gLo, gHi, locs = int(p.r.between(2, 6)), 5, 900, p.t.auth
		default:
			c, gLo, gHi, locs = int(p.r.between(1, 2)), 0, 60, p.t.syslog
		}
		c = min(c, left)
		left -= c
		gHi = min(gHi, (dur-1)/int64(c))
		gLo = min(gLo, gHi)
		span := int64(c) * gHi
		var st int64
		if profs[i] == pCollector {
			// logrotate runs from cron.daily at 06:25.
			d := floorDiv(p.start+p.r.between(0, dur-1), 86400)
			st = d*86400 + 6*3600 + 25*60 + p.r.between(0, 9)
			if st < p.start || st+span >= p.end {
				st = p.start + p.r.between(0, dur-1-span)
			}
		} else {
			st = p.pickStart(p.start, p.end-1-span, profs[i] == pAdmin)
		}
		p.sess = append(p.sess, session{
			next: st, left: int32(c), src: -1, gapLo: int32(gLo), gapHi: int32(gHi),
			loc: int16(locs[p.r.intn(len(locs))]), prof: profs[i], user: uint8(p.r.intn(len(p.t.localUsers))),
		})
	}
}

// planInternet plants the heavy-tailed internet attackers. The number of
// sources grows as 0.7·N^0.75 (a few hundred at 5,000 alerts, ~50,000 at
// 3,000,000); 60 % are a long tail of scanners with 1–5 alerts. The rest,
// the head, share the remaining budget by a Zipf law of exponent about 1
// whose first rank holds about 10 % of all N alerts, as in real OSSEC data
// where one brute-forcer outweighs everything else (see headWeights).
func (p *planner) planInternet(n, budget int) {
	if budget <= 0 {
		return
	}
	fn := float64(n)
	d := int(float64(0.7 * float64(math.Sqrt(fn)*math.Sqrt(math.Sqrt(fn)))))
	d = clamp(d, 1, budget)
	dh := max(1, d-d*6/10)
	counts := make([]int, 0, d)
	// Tail first in the budget, heavy ranks take the rest.
	tail := make([]int, 0, d-dh)
	tailSum := 0
	for range d - dh {
		c := int(p.r.between(1, 5))
		if tailSum+c > budget-dh {
			break
		}
		tail = append(tail, c)
		tailSum += c
	}
	// The busiest source's share of N varies a little with the seed.
	target := fn * float64(p.r.between(95, 105)) / 1000
	// apportion1 gives every rank one alert and shares out the rest.
	head := budget - tailSum
	share := (target - 1) / float64(max(1, head-dh))
	counts = append(counts, apportion1(head, headWeights(dh, share))...)
	counts = append(counts, tail...)
	d = len(counts)

	// Attributes by index: the 218.92.0.0/24 cluster (three among the top
	// ten, then the largest of the rest until it holds clusterShare of N,
	// the rest anywhere), IPv6 sources, and sources whose alerts sometimes
	// spell them IPv4-mapped (one in the top five). Index 0, the busiest,
	// stays an ordinary IPv4 brute-forcer. The returner may outnumber the
	// fifth attacker, so "top five" means indexes 1 to 3, and one cluster
	// bot goes there too, which keeps it in the overall top ten whatever
	// else is planted.
	const (
		plain = iota
		cluster
		v6
	)
	attr := make([]uint8, d)
	mapped := make([]bool, d)
	mark := func(want, lo, hi int, ok func(i int) bool, set func(i int)) {
		for tries := 0; want > 0 && hi > lo && tries < 20*d+100; tries++ {
			i := lo + p.r.intn(hi-lo)
			if ok(i) {
				set(i)
				want--
			}
		}
	}
	isPlain := func(i int) bool { return attr[i] == plain }
	k := clamp(d/25, 12, 200)
	top := min(d, 10)
	members, sum := 0, 0
	join := func(i int) { attr[i] = cluster; members++; sum += counts[i] }
	mark(1, 1, min(d, 4), isPlain, join)
	mark(min(3, k)-1, 1, top, isPlain, join)
	// The busiest source holds at most 10.5% of N; the cluster, with more
	// than that, is the largest /24 by far, as the seed's operator saw it.
	for i := top; i < d && members < k && sum < n*clusterShare/100; i++ {
		if attr[i] == plain {
			join(i)
		}
	}
	mark(k-members, 1, d, isPlain, join)
	mark(max(6, d/25), 1, d, isPlain, func(i int) { attr[i] = v6 })
	canMap := func(i int) bool { return attr[i] != v6 && !mapped[i] && counts[i] >= 2 }
	mark(1, 1, min(d, 4), canMap, func(i int) { mapped[i] = true })
	mark(clamp(d/200, 3, 25)-1, 1, min(d, dh), canMap, func(i int) { mapped[i] = true })

	hosts := make([]bool, 256)
	for i, c := range counts {
		var a netip.Addr
		switch attr[i] {
		case cluster:
			a = p.clusterAddr(hosts)
		case v6:
			a = p.randomV6()
		default:
			a = p.randomV4()
		}
		src := p.plant(a, Internet, mapped[i])
		if i == 0 {
			p.planBusiest(src, c)
			continue
		}
		prof, style := pSSH, uint8(0)
		switch {
		case attr[i] == cluster:
			style = uint8(min(1, p.r.intn(4)))
		case attr[i] == v6:
			if p.r.chance(3, 5) {
				prof = pWeb
			}
		default:
			switch x := p.r.intn(100); {
			case x < 30:
				style = 1
			case x < 50:
			case x < 56:
				prof = pPAM
			case x < 86:
				prof = pWeb
			default:
				prof, style = pMail, uint8(p.r.intn(3))
			}
		}
		switch prof {
		case pSSH, pPAM:
			p.addSessions(src, c, prof, style, 8, 64, 1, 12, false)
		case pWeb:
			p.addSessions(src, c, prof, style, 5, 150, 0, 3, false)
		default:
			p.addSessions(src, c, prof, style, 3, 30, 5, 90, false)
		}
	}
}

// clusterShare is the least share of N, in percent, that the attackers in
// 218.92.0.0/24 hold together.
const clusterShare = 13

// planBusiest plants the busiest internet source: a brute-forcer that
// keeps at sshd all through the sample, on many hosts, trying invalid users
// (5710, 5712) and real ones (5716, 5720).
func (p *planner) planBusiest(src int32, c int) {
	dur := p.end - p.start
	invalid := c * 3 / 5
	p.addSessionsIn(src, invalid, pSSH, 0, 8, 64, 1, 12, false, p.start, dur)
	p.addSessionsIn(src, c-invalid, pSSH, 1, 8, 64, 1, 12, false, p.start, dur)
}

// headWeights returns the Zipf weights of n head ranks, w(r) = 1/r + a/r²,
// with a chosen so that rank 1 gets the given share of their sum. The
// weights fall off as 1/r (exponent 1) in the long run; a only bends the
// first ranks, so the share holds at every N without math.Pow (which may
// differ in the last bit between platforms). a ≥ -1/2 keeps the weights
// decreasing, so rank 1 stays the largest.
func headWeights(n int, share float64) []float64 {
	// h1 and h2 are the harmonic sums of 1/r and 1/r² (summed in a fixed
	// order); share = (1+a)/(h1 + a·h2) solved for a. The float64
	// conversions forbid fused multiply-adds, which not every platform
	// does.
	var h1, h2 float64
	for r := 1; r <= n; r++ {
		x := float64(r)
		h1 += 1 / x
		h2 += 1 / float64(x*x)
	}
	// A share beyond reach (a tiny head) gets the steepest weights.
	a := 100.0
	if den := 1 - float64(share*h2); den > 0 {
		a = min(a, (float64(share*h1)-1)/den)
	}
	if !(a >= -0.5) { // also NaN
		a = -0.5
	}
	w := make([]float64, n)
	for i := range w {
		x := float64(i + 1)
		w[i] = 1/x + a/float64(x*x)
	}
	return w
}

// clusterAddr returns an unused address of 218.92.0.0/24, the seed's
// "Chinese segment 218.92.0.xxx"; once all 254 hosts are taken it falls back
// to a random address.
func (p *planner) clusterAddr(hosts []bool) netip.Addr {
	for tries := 0; tries < 64; tries++ {
		h := 1 + p.r.intn(254)
		a := netip.AddrFrom4([4]byte{218, 92, 0, byte(h)})
		if !hosts[h] && !p.used[a] {
			hosts[h] = true
			return a
		}
	}
	for h := 1; h < 255; h++ {
		a := netip.AddrFrom4([4]byte{218, 92, 0, byte(h)})
		if !hosts[h] && !p.used[a] {
			hosts[h] = true
			return a
		}
	}
	return p.randomV4()
}

// attackOctets are first octets of address blocks that attackers commonly
// come from. They leave out every block that is local, reserved or
// documentation, 218 (the cluster's own block), and 11, 110 and 210, whose
// addresses are the planted look-alikes' business.
const attackOctets = "\x01\x05\x0e\x17\x1b\x1f\x24\x25\x27\x2a\x2b\x2d\x2e\x31\x33\x3a\x3b\x3c\x3d\x3e" +
	"\x40\x42\x44\x47\x4d\x4e\x4f\x50\x51\x52\x53\x55\x56\x57\x58\x59\x5b\x5c\x5d\x5e\x5f" +
	"\x65\x67\x68\x6a\x6b\x6d\x70\x71\x72\x73\x74\x75\x76\x77\x78\x79\x7a\x7b\x7c\x7d" +
	"\x86\x8a\x8b\x8d\x8e\x8f\x90\x92\x93\x95\x96\x97\x98\x9a\x9d\x9e\x9f\xa1\xa2\xa4\xa5\xa7" +
	"\xaa\xab\xaf\xb0\xb1\xb2\xb3\xb4\xb5\xb6\xb7\xb9\xba\xbb\xbc\xbd\xbe\xbf\xc1\xc2\xc3\xc5" +
	"\xc8\xc9\xca\xce\xd1\xd4\xd5\xd9\xdc\xdd\xde"

func (p *planner) randomV4() netip.Addr {
	for {
		a := netip.AddrFrom4([4]byte{
			attackOctets[p.r.intn(len(attackOctets))],
			byte(p.r.intn(256)), byte(p.r.intn(256)), byte(1 + p.r.intn(254)),
		})
		if !p.used[a] {
			return a
		}
	}
}

// v6Nets are /64s of hosting providers' global unicast space. The first
// ones get most IPv6 attackers, so several share one /64.
func v6Nets() []netip.Prefix {
	return []netip.Prefix{
		netip.MustParsePrefix("2a01:4f8:c17:2d4e::/64"),
		netip.MustParsePrefix("2604:a880:400:d1::/64"),
		netip.MustParsePrefix("2a03:b0c0:3:e0::/64"),
		netip.MustParsePrefix("2001:41d0:302:1100::/64"),
		netip.MustParsePrefix("2400:8901:e001:52::/64"),
		netip.MustParsePrefix("2a0e:97c0:3e3:3a2::/64"),
		netip.MustParsePrefix("240e:3b7:3272:d8d0::/64"),
	}
}

func (p *planner) randomV6() netip.Addr {
	nets := v6Nets()
	for {
		i := p.r.pick([]int{40, 20, 10, 10, 8, 6, 6})
		b := nets[i].Addr().As16()
		if p.r.chance(1, 2) {
			// Providers number hosts low (::1, ::2a) ...
			b[14], b[15] = 0, byte(1+p.r.intn(255))
		} else {
			// ... or SLAAC/privacy addresses fill the interface id.
			x := p.r.u64()
			for j := 8; j < 16; j++ {
				b[j] = byte(x >> (8 * (15 - j)))
			}
		}
		a := netip.AddrFrom16(b)
		if !p.used[a] {
			return a
		}
	}
}

// addSessions splits count alerts of a source into sessions of chunkLo to
// chunkHi alerts, gapLo to gapHi seconds apart, placed in a window of the
// sample's time range (the whole range for sources with few alerts).
func (p *planner) addSessions(src int32, count int, prof profile, style uint8, chunkLo, chunkHi int, gapLo, gapHi int64, diurnal bool) {
	dur := p.end - p.start
	ws, wl := p.start, dur
	if count > 5 {
		wl = p.r.between(max(1, dur/10), dur)
		ws = p.start + p.r.between(0, dur-wl)
	}
	p.addSessionsIn(src, count, prof, style, chunkLo, chunkHi, gapLo, gapHi, diurnal, ws, wl)
}

// addSessionsIn is addSessions within the window [ws, ws+wl).
func (p *planner) addSessionsIn(src int32, count int, prof profile, style uint8, chunkLo, chunkHi int, gapLo, gapHi int64, diurnal bool, ws, wl int64) {
	var locs []int
	switch prof {
	case pWeb:
		locs = p.t.web
	case pMail:
		locs = p.t.mail
	default:
		locs = p.t.ssh
	}
	user := uint8(p.r.intn(len(p.t.localUsers)))
	for count > 0 {
		c := min(count, int(p.r.between(int64(chunkLo), int64(chunkHi))))
		count -= c
		gLo, gHi := gapLo, gapHi
		if span := int64(c-1) * gHi; span >= wl {
			gHi = (wl - 1) / int64(max(1, c-1))
			gLo = min(gLo, gHi)
		}
		span := int64(c-1) * gHi
		st := p.pickStart(ws, ws+wl-1-span, diurnal)
		s := session{
			next: st, left: int32(c), src: src, gapLo: int32(gLo), gapHi: int32(gHi),
			loc: int16(locs[p.r.intn(len(locs))]), prof: prof, style: style, user: user,
		}
		if prof != pMonitor && prof != pSSHOK && c > 1 {
			s.ring = &ring{}
		}
		p.sess = append(p.sess, s)
	}
}

// pickStart returns a time in [lo, hi]; diurnal ones prefer office hours
// (UTC), as people and their machines do.
func (p *planner) pickStart(lo, hi int64, diurnal bool) int64 {
	t := p.r.between(lo, hi)
	if !diurnal || hi-lo < 86400 {
		return t
	}
	for range 8 {
		h := (t - floorDiv(t, 86400)*86400) / 3600
		if h >= 7 && h < 19 || p.r.chance(1, 6) {
			return t
		}
		t = p.r.between(lo, hi)
	}
	return t
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// apportion splits total into len(w) integer parts proportional to w
// (largest remainder), ties broken by index.
func apportion(total int, w []float64) []int {
	out := make([]int, len(w))
	if total <= 0 || len(w) == 0 {
		return out
	}
	sum := 0.0
	for _, x := range w {
		sum += x
	}
	given := 0
	for i, x := range w {
		out[i] = int(float64(total) * x / sum)
		given += out[i]
	}
	// Rounding can leave the floors a part short or, rarely, one over.
	for i := 0; given < total; i = (i + 1) % len(out) {
		out[i]++
		given++
	}
	for i := len(out) - 1; given > total; i = (i + len(out) - 1) % len(out) {
		if out[i] > 0 {
			out[i]--
			given--
		}
	}
	return out
}

// apportion1 is apportion with every part at least 1; total must be at
// least len(w).
func apportion1(total int, w []float64) []int {
	out := apportion(total-len(w), w)
	for i := range out {
		out[i]++
	}
	return out
}
