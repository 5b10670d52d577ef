package sample

import (
	"bufio"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"go/parser"
	"go/token"
	"hash"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rampart-ids/rampart/internal/goldentest"
	"github.com/rampart-ids/rampart/internal/ossec"
)

// canon writes every field of a in a fixed text form, so hashing it covers
// the whole alert.
func canon(w *strings.Builder, a *ossec.Alert) {
	fmt.Fprintf(w, "%s %s mail=%t rule=%d level=%d %q groups=%s\n", a.ID, a.Time.Format(time.RFC3339), a.Mail,
		a.RuleID, a.Level, a.Description, strings.Join(a.Groups, ","))
	fmt.Fprintf(w, "  src=%s:%d dst=%s:%d user=%q loc=%q\n", addrText(a.SrcIP), a.SrcPort, addrText(a.DstIP), a.DstPort, a.User, a.Location.Raw)
	for _, l := range a.Log {
		fmt.Fprintf(w, "  | %s\n", l)
	}
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return "-"
	}
	return a.String()
}

type observed struct {
	alerts []string // canonical text of the first keep alerts
	hash   string
	count  int
}

// collect ranges over g.All, checks the invariants every alert must hold,
// and recounts the truth from the alerts themselves.
func collect(t testing.TB, g *Generator, keep int) (observed, *Truth) {
	t.Helper()
	cfg := g.Config()
	start, end := cfg.Start, cfg.Start.Add(cfg.Duration)
	var (
		obs     observed
		h       hash.Hash = sha256.New()
		w       strings.Builder
		prev    ossec.ID
		recount = &Truth{Sources: map[netip.Addr]*SourceTruth{}}
		bad     int
	)
	fail := func(format string, args ...any) {
		if bad++; bad <= 10 {
			t.Errorf(format, args...)
		}
	}
	for a := range g.All() {
		w.Reset()
		canon(&w, a)
		h.Write([]byte(w.String()))
		if obs.count < keep {
			obs.alerts = append(obs.alerts, w.String())
		}
		obs.count++

		if _, err := ossec.ParseID(a.ID.String()); err != nil || a.ID.Seq < 1 {
			fail("alert id %s: %v", a.ID, err)
		}
		if a.Time.Before(start) || !a.Time.Before(end) {
			fail("alert %s at %v outside [%v, %v)", a.ID, a.Time, start, end)
		}
		if a.Time.Location() != time.UTC || a.ID.Epoch != a.Time.Unix() {
			fail("alert %s: time %v does not match its id", a.ID, a.Time)
		}
		if obs.count > 1 && (a.ID.Epoch < prev.Epoch || (a.ID.Epoch == prev.Epoch && a.ID.Seq <= prev.Seq)) {
			fail("alert %s after %s: ids not unique and increasing", a.ID, prev)
		}
		prev = a.ID
		if a.Mail != (a.Level >= 7) {
			fail("alert %s: mail=%t at level %d", a.ID, a.Mail, a.Level)
		}
		if a.RuleID == 0 || a.Description == "" || len(a.Groups) == 0 || len(a.Log) == 0 || a.Location.Raw == "" {
			fail("alert %s: missing rule, groups, log or location", a.ID)
		}
		if len(a.Log) > 12 {
			fail("alert %s: %d log lines, OSSEC writes the event plus at most 11", a.ID, len(a.Log))
		}

		recount.Total++
		if !a.SrcIP.IsValid() {
			recount.NoSource++
			continue
		}
		addr := a.SrcIP.Unmap()
		if !strings.Contains(a.Log[0], a.SrcIP.String()) {
			fail("alert %s: log line %q does not contain the source %s", a.ID, a.Log[0], a.SrcIP)
		}
		s := recount.Sources[addr]
		if s == nil {
			s = &SourceTruth{Addr: addr, FirstSeen: a.Time, Rules: map[int]int64{}}
			recount.Sources[addr] = s
		}
		s.Count++
		if a.SrcIP.Is4In6() {
			s.Mapped++
		}
		s.LastSeen = a.Time
		s.MaxLevel = max(s.MaxLevel, a.Level)
		s.Rules[a.RuleID]++
	}
	obs.hash = hex.EncodeToString(h.Sum(nil))
	return obs, recount
}

// checkTruth compares the generator's truth with the recount from the
// alerts (kinds aside: only the generator knows them).
func checkTruth(t *testing.T, cfg Config, got, recount *Truth) {
	t.Helper()
	want := int64(max(0, cfg.Alerts))
	if got.Total != want || recount.Total != want {
		t.Errorf("Total = %d, alerts yielded = %d, want %d", got.Total, recount.Total, want)
	}
	var sum int64
	for _, s := range got.Sources {
		sum += s.Count
	}
	if sum+got.NoSource != got.Total {
		t.Errorf("sum of source counts %d + no-source %d != total %d", sum, got.NoSource, got.Total)
	}
	for _, s := range got.Sources {
		if !slices.Contains(Kinds(), s.Kind) {
			t.Errorf("source %s has kind %v", s.Addr, s.Kind)
		}
		if (s.Block != 0) != (s.Kind == Returner) {
			t.Errorf("source %s of kind %v has block %v; only returners have one", s.Addr, s.Kind, s.Block)
		}
	}
	if diff := gocmp.Diff(recount, got, cmpopts.IgnoreFields(SourceTruth{}, "Kind", "Block"), cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("truth differs from a recount of the alerts (-recount +truth):\n%s", diff)
	}
}

func TestTruthMatchesAlerts(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"default", DefaultConfig()},
		{"empty", Config{Seed: 1, Start: DefaultConfig().Start, Duration: time.Hour}},
		{"negative", Config{Seed: 1, Alerts: -5, Start: DefaultConfig().Start, Duration: time.Hour}},
		{"one", Config{Seed: 3, Alerts: 1, Start: DefaultConfig().Start, Duration: time.Hour}},
		{"tiny", Config{Seed: 4, Alerts: 37, Start: DefaultConfig().Start, Duration: 24 * time.Hour}},
		{"one second", Config{Seed: 5, Alerts: 500, Start: DefaultConfig().Start, Duration: time.Second}},
		{"zero duration", Config{Seed: 5, Alerts: 50, Start: DefaultConfig().Start}},
		{"short", Config{Seed: 6, Alerts: 20_000, Start: DefaultConfig().Start, Duration: 90 * time.Minute}},
		{"zone and fraction", Config{Seed: 7, Alerts: 3000,
			Start: time.Date(2026, 3, 29, 1, 59, 59, 500_000_000, time.FixedZone("CEST", 2*3600)), Duration: 36 * time.Hour}},
		{"before 1970", Config{Seed: -1, Alerts: 2000, Start: time.Date(1969, 12, 31, 12, 0, 0, 0, time.UTC), Duration: 24 * time.Hour}},
		{"medium", Config{Seed: 8, Alerts: 60_000, Start: DefaultConfig().Start, Duration: 30 * 24 * time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := Generate(tt.cfg)
			obs, recount := collect(t, g, 0)
			if obs.count != max(0, tt.cfg.Alerts) {
				t.Errorf("All yielded %d alerts, want %d", obs.count, tt.cfg.Alerts)
			}
			checkTruth(t, tt.cfg, g.Truth(), recount)
		})
	}
}

func TestDeterminism(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Alerts = 20_000
	a, _ := collect(t, Generate(cfg), 0)
	g := Generate(cfg)
	b, _ := collect(t, g, 0)
	if a.hash != b.hash {
		t.Errorf("same config, different alerts: %s vs %s", a.hash, b.hash)
	}
	// A second range over the same generator starts afresh.
	c, _ := collect(t, g, 0)
	if c.hash != a.hash || g.Truth().Total != int64(cfg.Alerts) {
		t.Errorf("second range over All: hash %s, total %d; want %s, %d", c.hash, g.Truth().Total, a.hash, cfg.Alerts)
	}
	for _, change := range []func(*Config){
		func(c *Config) { c.Seed = 2 },
		func(c *Config) { c.Start = c.Start.Add(time.Second) },
		func(c *Config) { c.Alerts-- },
	} {
		other := cfg
		change(&other)
		d, _ := collect(t, Generate(other), 0)
		if d.hash == a.hash {
			t.Errorf("config %+v gives the same alerts as %+v", other, cfg)
		}
	}
}

func TestEarlyStop(t *testing.T) {
	g := Generate(DefaultConfig())
	n := 0
	for range g.All() {
		if n++; n == 100 {
			break
		}
	}
	tr := g.Truth()
	var sum int64
	for _, s := range tr.Sources {
		sum += s.Count
	}
	if tr.Total != 100 || sum+tr.NoSource != 100 {
		t.Errorf("after 100 alerts: total %d, sources+none %d", tr.Total, sum+tr.NoSource)
	}
}

func sortedSources(tr *Truth) []*SourceTruth {
	list := make([]*SourceTruth, 0, len(tr.Sources))
	for _, s := range tr.Sources {
		list = append(list, s)
	}
	slices.SortFunc(list, func(a, b *SourceTruth) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return a.Addr.Compare(b.Addr)
	})
	return list
}

// TestTraps checks that every trap is planted at the shipped size.
func TestTraps(t *testing.T) {
	g := Generate(DefaultConfig())
	var (
		times    = map[netip.Addr][]time.Time{}
		srcLocs  = map[netip.Addr]map[string]bool{}
		locs     = map[string]bool{}
		agents   = map[string]bool{}
		levels   = map[int]int{}
		text     = map[string]bool{}
		freqMax  int
		sshUsers int
		plainV4  = map[netip.Addr]bool{}
		mapped   = map[netip.Addr]bool{}
		noSource = map[int]int{}
	)
	for a := range g.All() {
		levels[a.Level]++
		l := a.Location
		locs[l.Raw] = true
		switch {
		case l.AgentIP == "any":
			text["agent any"] = true
		case strings.HasPrefix(l.Agent, "("):
			text["agentless"] = true
		case l.Agent != "":
			agents[l.Agent] = true
		case l.Manager == manager && strings.HasPrefix(l.Source, "/var/log/"):
			text["manager-local"] = true
		}
		log := strings.Join(a.Log, "\n")
		if strings.Contains(log, "'") {
			text["quote"] = true
		}
		if strings.Contains(log, `\`) {
			text["backslash"] = true
		}
		if strings.Contains(a.User, "ü") || strings.Contains(a.User, "а") {
			text["utf-8 user"] = true
		}
		if strings.Contains(log, "Old md5sum was: '") && strings.HasPrefix(log, "Integrity checksum changed for: '/etc/") {
			text["syscheck multi-line"] = true
		}
		if a.RuleID == 5712 || a.RuleID == 5720 {
			freqMax = max(freqMax, len(a.Log)-1)
		}
		if (a.RuleID == 5710 || a.RuleID == 5716) && a.User != "" {
			sshUsers++
		}
		if a.SrcPort != 0 {
			text["src port"] = true
		}
		if a.DstIP.IsValid() && a.DstPort != 0 {
			text["dst ip and port"] = true
		}
		if !a.SrcIP.IsValid() {
			noSource[a.RuleID]++
			continue
		}
		addr := a.SrcIP.Unmap()
		times[addr] = append(times[addr], a.Time)
		if srcLocs[addr] == nil {
			srcLocs[addr] = map[string]bool{}
		}
		srcLocs[addr][l.Raw] = true
		switch {
		case a.SrcIP.Is4In6():
			mapped[addr] = true
		case a.SrcIP.Is4():
			plainV4[addr] = true
		}
	}
	tr := g.Truth()

	t.Run("kinds", func(t *testing.T) {
		kinds := map[Kind]int{}
		for _, s := range tr.Sources {
			kinds[s.Kind]++
		}
		for _, k := range Kinds() {
			if kinds[k] == 0 {
				t.Errorf("no source of kind %v", k)
			}
		}
	})

	t.Run("kinds agree with the local networks", func(t *testing.T) {
		nets := LocalNetworks()
		for _, s := range tr.Sources {
			in := slices.ContainsFunc(nets, func(p netip.Prefix) bool { return p.Contains(s.Addr) })
			if in != s.Kind.IsLocal() {
				t.Errorf("%s: kind %v, but inside the local networks = %t", s.Addr, s.Kind, in)
			}
			if (s.Kind == Loopback) != s.Addr.IsLoopback() {
				t.Errorf("%s: kind %v, loopback = %t", s.Addr, s.Kind, s.Addr.IsLoopback())
			}
			if s.Addr.Is4In6() || s.Addr.Zone() != "" {
				t.Errorf("truth key %s is not the analyst's (unmapped, zoneless) form", s.Addr)
			}
		}
	})

	t.Run("look-alikes", func(t *testing.T) {
		want := map[string]Kind{
			"110.40.0.5": LookAlike, "210.40.0.17": LookAlike, "172.15.255.1": LookAlike, "172.32.0.1": LookAlike,
			"100.63.255.254": LookAlike, "100.128.0.1": LookAlike, "11.40.0.1": LookAlike, "169.255.0.1": LookAlike,
			"10.40.1.5": Local, "192.168.1.20": Local,
		}
		for addr, k := range want {
			s := tr.Sources[netip.MustParseAddr(addr)]
			if s == nil || s.Kind != k || s.Count == 0 {
				t.Errorf("look-alike %s: got %+v, want kind %v with alerts", addr, s, k)
			}
		}
	})

	t.Run("seed networks", func(t *testing.T) {
		seedNets := []netip.Prefix{netip.MustParsePrefix("10.40.0.0/24"), netip.MustParsePrefix("192.168.0.0/24")}
		for _, p := range seedNets {
			n := 0
			for a := range tr.Sources {
				if p.Contains(a) {
					n++
				}
			}
			if n < 2 {
				t.Errorf("%d sources in the seed's local network %s, want several", n, p)
			}
		}
		for _, a := range []string{"127.0.0.1", "::1"} {
			if s := tr.Sources[netip.MustParseAddr(a)]; s == nil || s.Kind != Loopback {
				t.Errorf("loopback %s: %+v", a, s)
			}
		}
		for _, p := range []string{"172.16.0.0/12", "100.64.0.0/10", "169.254.0.0/16", "fc00::/7", "fe80::/10"} {
			pfx := netip.MustParsePrefix(p)
			if !slices.ContainsFunc(sortedSources(tr), func(s *SourceTruth) bool { return pfx.Contains(s.Addr) && s.Kind == Local }) {
				t.Errorf("no local source in %s", p)
			}
		}
	})

	t.Run("mapped spellings", func(t *testing.T) {
		both := 0
		for a := range mapped {
			if !plainV4[a] {
				t.Errorf("%s appears only as ::ffff:%s", a, a)
			}
			both++
			if s := tr.Sources[a]; s == nil || s.Mapped == 0 || s.Mapped >= s.Count {
				t.Errorf("%s: truth %+v does not count both spellings", a, s)
			}
		}
		if both < 3 {
			t.Errorf("%d sources spelled IPv4-mapped, want at least 3", both)
		}
		top := sortedSources(tr)[:5]
		if !slices.ContainsFunc(top, func(s *SourceTruth) bool { return s.Mapped > 0 }) {
			t.Errorf("no mapped spelling among the top five sources")
		}
	})

	t.Run("heavy tail and cluster", func(t *testing.T) {
		list := sortedSources(tr)
		var internet []*SourceTruth
		cluster, v6 := 0, map[netip.Prefix]int{}
		for _, s := range list {
			if s.Kind != Internet {
				continue
			}
			internet = append(internet, s)
			if netip.MustParsePrefix("218.92.0.0/24").Contains(s.Addr) {
				cluster++
			}
			if s.Addr.Is6() {
				p, _ := s.Addr.Prefix(64)
				v6[p]++
				if s.Addr.As16()[0]>>5 != 1 || netip.MustParsePrefix("2001:db8::/32").Contains(s.Addr) {
					t.Errorf("IPv6 attacker %s is not global unicast outside documentation space", s.Addr)
				}
			}
		}
		if n := len(internet); n < 200 || n > 1000 {
			t.Errorf("%d internet sources, want a few hundred", n)
		}
		small := 0
		for _, s := range internet {
			if s.Count <= 5 {
				small++
			}
		}
		if small*10 < len(internet)*4 {
			t.Errorf("%d of %d internet sources have 1–5 alerts, want a long tail (>= 40%%)", small, len(internet))
		}
		if median := internet[len(internet)/2].Count; internet[0].Count < 20*median {
			t.Errorf("top source %d alerts, median %d: not heavy-tailed", internet[0].Count, median)
		}
		if cluster < 10 {
			t.Errorf("%d sources in 218.92.0.0/24, want many", cluster)
		}
		if !slices.ContainsFunc(list[:10], in21892) {
			t.Errorf("no 218.92.0.x source among the top ten")
		}
		busiest := list[0]
		if share := float64(busiest.Count) / float64(tr.Total); share < 0.07 || share > 0.13 {
			t.Errorf("busiest source %s has %d of %d alerts, want about 10%%", busiest.Addr, busiest.Count, tr.Total)
		}
		checkBusiest(t, busiest, DefaultConfig().Duration)
		days := map[int64]bool{}
		for _, ts := range times[busiest.Addr] {
			days[ts.Unix()/86400] = true
		}
		if len(days) < 7 || len(srcLocs[busiest.Addr]) < 3 {
			t.Errorf("busiest source %s: alerts on %d days at %d locations, want many days and several locations",
				busiest.Addr, len(days), len(srcLocs[busiest.Addr]))
		}
		if len(v6) == 0 || slices.Max(mapsValues(v6)) < 2 {
			t.Errorf("IPv6 attackers by /64: %v; want several in one /64", v6)
		}
	})

	t.Run("returners", func(t *testing.T) {
		blocks := map[time.Duration]int{}
		for _, s := range tr.Sources {
			if s.Kind != Returner {
				continue
			}
			blocks[s.Block]++
			ts := times[s.Addr]
			var returns, off int
			for i := 1; i < len(ts); i++ {
				gap := ts[i].Sub(ts[i-1])
				switch {
				case gap >= s.Block && gap <= s.Block+20*time.Second:
					returns++
				case gap > 4*time.Second:
					off++
				}
			}
			if returns < 6 || off > 0 {
				t.Errorf("returner %s (block %v): %d returns %v–%v after the last alert, %d other gaps over 4 s",
					s.Addr, s.Block, returns, s.Block, s.Block+20*time.Second, off)
			}
			if span := s.LastSeen.Sub(s.FirstSeen); span < time.Hour {
				t.Errorf("returner %s active for %v, want hours", s.Addr, span)
			}
			if s.Rules[5712]+s.Rules[5720]+s.Rules[31151] == 0 {
				t.Errorf("returner %s has no blocking alerts: %v", s.Addr, s.Rules)
			}
		}
		if blocks[600*time.Second] != 1 || blocks[time.Hour] != 1 || len(blocks) != 2 {
			t.Errorf("returners by block: %v; want one of 600 s and one of 3,600 s", blocks)
		}
	})

	t.Run("bursts", func(t *testing.T) {
		for _, s := range tr.Sources {
			if s.Kind != Burst {
				continue
			}
			if span := s.LastSeen.Sub(s.FirstSeen); s.Count < 20 || span > 10*time.Minute {
				t.Errorf("burst %s: %d alerts within %v, want many within minutes", s.Addr, s.Count, span)
			}
		}
	})

	t.Run("slow", func(t *testing.T) {
		for _, s := range tr.Sources {
			if s.Kind != Slow {
				continue
			}
			if s.Count < 30 || s.Count > 100 {
				t.Errorf("slow attacker %s: %d alerts, want 30–100", s.Addr, s.Count)
			}
			if span := s.LastSeen.Sub(s.FirstSeen); span < DefaultConfig().Duration*8/10 {
				t.Errorf("slow attacker %s active for %v, want most of the duration", s.Addr, span)
			}
			if s.Rules[5706]+s.Rules[5701] != s.Count || s.Rules[5706] == 0 || s.Rules[5701] == 0 {
				t.Errorf("slow attacker %s: rules %v, want only sshd probes 5706 and 5701", s.Addr, s.Rules)
			}
		}
	})

	t.Run("no-source alerts", func(t *testing.T) {
		frac := float64(tr.NoSource) / float64(tr.Total)
		if frac < 0.02 || frac > 0.08 {
			t.Errorf("%.1f%% of alerts without source, want a few %%", 100*frac)
		}
		for _, id := range []int{550, 510, 591} {
			if noSource[id] == 0 {
				t.Errorf("no source-less alert of rule %d", id)
			}
		}
	})

	t.Run("locations and text", func(t *testing.T) {
		if len(agents) < 9 {
			t.Errorf("%d agents, want about 10: %v", len(agents), agents)
		}
		for _, k := range []string{"agent any", "agentless", "manager-local", "quote", "backslash", "utf-8 user",
			"syscheck multi-line", "src port", "dst ip and port"} {
			if !text[k] {
				t.Errorf("no alert with %s", k)
			}
		}
		if freqMax < 7 || freqMax > 11 {
			t.Errorf("frequency alerts carry at most %d earlier events, want 7–11", freqMax)
		}
		if sshUsers == 0 {
			t.Errorf("no sshd alert with a user")
		}
		if len(levels) < 5 {
			t.Errorf("levels %v, want a spread", levels)
		}
	})
}

func mapsValues[K comparable, V any](m map[K]V) []V {
	var out []V
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// TestHead checks the Zipf head of the internet attackers at sizes where
// it shows: the busiest source holds about 10% of all alerts and is an
// ordinary ssh brute-forcer, the next ones fall off roughly as 1/rank, and
// the distinct sources still grow with N, most of them in the 1–5 tail.
// At 1,000,000 it also checks what only shows at that size: more
// returners and bursts.
func TestHead(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name     string
		cfg      Config
		distinct int // at least this many distinct sources
		long     bool
	}{
		{"60k", Config{Seed: 8, Alerts: 60_000, Start: DefaultConfig().Start, Duration: 30 * day}, 2000, false},
		{"60k seed 2", Config{Seed: 2, Alerts: 60_000, Start: DefaultConfig().Start, Duration: 14 * day}, 2000, false},
		{"60k in 2 hours", Config{Seed: 3, Alerts: 60_000, Start: DefaultConfig().Start, Duration: 2 * time.Hour}, 2000, false},
		{"1M", Config{Seed: 1, Alerts: 1_000_000, Start: DefaultConfig().Start, Duration: 14 * day}, 15_000, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.long && testing.Short() {
				t.Skip("needs 1,000,000 alerts; skipped with -short")
			}
			g := Generate(tt.cfg)
			n := 0
			for range g.All() {
				n++
			}
			tr := g.Truth()
			if n != tt.cfg.Alerts {
				t.Fatalf("yielded %d alerts, want %d", n, tt.cfg.Alerts)
			}
			list := sortedSources(tr)
			busiest := list[0]
			share := float64(busiest.Count) / float64(n)
			if share < 0.07 || share > 0.13 {
				t.Errorf("busiest source %s has %d alerts, %.1f%% of %d; want 7–13%%", busiest.Addr, busiest.Count, 100*share, n)
			}
			checkBusiest(t, busiest, tt.cfg.Duration)

			var internet []int64
			small := 0
			for _, s := range list {
				if s.Kind == Internet {
					internet = append(internet, s.Count)
					if s.Count <= 5 {
						small++
					}
				}
			}
			// Zipf with exponent 1: the tenth has about a tenth of the first.
			if r := float64(internet[0]) / float64(internet[9]); r < 4 || r > 25 {
				t.Errorf("internet head %v: first/tenth = %.1f, want a 1/rank fall-off (4–25)", internet[:10], r)
			}
			if r := float64(internet[0]) / float64(internet[1]); r < 1.3 || r > 4 {
				t.Errorf("internet head %v: first/second = %.1f, want about 2", internet[:10], r)
			}
			if len(tr.Sources) < tt.distinct {
				t.Errorf("%d distinct sources, want at least %d", len(tr.Sources), tt.distinct)
			}
			if small*2 < len(internet) {
				t.Errorf("%d of %d internet sources have 1–5 alerts, want most", small, len(internet))
			}
			if !slices.ContainsFunc(list[:10], in21892) {
				t.Errorf("no 218.92.0.x source among the top ten")
			}
			if !slices.ContainsFunc(list[:5], func(s *SourceTruth) bool { return s.Mapped > 0 }) {
				t.Errorf("no mapped spelling among the top five sources")
			}
			if tt.cfg.Alerts >= 1_000_000 {
				kinds := map[Kind]int{}
				for _, s := range tr.Sources {
					kinds[s.Kind]++
				}
				if kinds[Returner] < 2 || kinds[Burst] < 4 || kinds[Internet] < 15_000 {
					t.Errorf("kinds %v, want at least 2 returners, 4 bursts, 15,000 internet sources", kinds)
				}
			}
		})
	}
}

func TestHeadWeights(t *testing.T) {
	tests := []struct {
		n     int
		share float64
		exact bool // the share is reachable with -1/2 <= a <= 100
	}{
		{1, 0.1, false},
		{2, 0.7, true},
		{167, 0.15, true},
		{167, 0.9, false},
		{1070, 0.12, true},
		{20_000, 0.115, true},
		{20_000, 0.01, false}, // flatter than 1/r allows
		{20_000, 0, false},
		{5, 1e9, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d ranks share %g", tt.n, tt.share), func(t *testing.T) {
			w := headWeights(tt.n, tt.share)
			if len(w) != tt.n {
				t.Fatalf("%d weights, want %d", len(w), tt.n)
			}
			sum := 0.0
			for i, x := range w {
				if !(x > 0) || (i > 0 && x > w[i-1]) {
					t.Fatalf("weight %d = %g after %v: want positive and non-increasing", i+1, x, w[max(0, i-1)])
				}
				sum += x
			}
			got := w[0] / sum
			if tt.exact && (got < tt.share*0.999 || got > tt.share*1.001) {
				t.Errorf("rank 1 gets %.4f of the weight, want %.4f", got, tt.share)
			}
			// Far down, the weights fall off as 1/r.
			if tt.n >= 1000 {
				if r := w[99] / w[999]; r < 9.5 || r > 10.5 {
					t.Errorf("w(100)/w(1000) = %.2f, want about 10 (exponent 1)", r)
				}
			}
		})
	}
}

func in21892(s *SourceTruth) bool {
	return netip.MustParsePrefix("218.92.0.0/24").Contains(s.Addr)
}

// checkBusiest checks that the busiest source is an ordinary internet ssh
// brute-forcer active through most of the sample.
func checkBusiest(t *testing.T, s *SourceTruth, dur time.Duration) {
	t.Helper()
	if s.Kind != Internet || !s.Addr.Is4() || in21892(s) || s.Mapped != 0 {
		t.Errorf("busiest source %s: kind %v, mapped %d; want a plain IPv4 internet attacker outside the cluster", s.Addr, s.Kind, s.Mapped)
	}
	ssh := s.Rules[5710] + s.Rules[5712] + s.Rules[5716] + s.Rules[5720]
	if ssh*10 < s.Count*9 {
		t.Errorf("busiest source %s: rules %v; want mostly 5710/5712/5716/5720", s.Addr, s.Rules)
	}
	if s.Rules[5710] == 0 || s.Rules[5716] == 0 {
		t.Errorf("busiest source %s: rules %v; want both invalid and real users", s.Addr, s.Rules)
	}
	if span := s.LastSeen.Sub(s.FirstSeen); span*10 < dur*7 {
		t.Errorf("busiest source %s active for %v of %v, want most of it", s.Addr, span, dur)
	}
}

// TestGolden pins the shipped example: its hash, totals, kinds, top sources
// and first alerts. A change here changes every test that uses the sample;
// rewrite with -update only on purpose.
func TestGolden(t *testing.T) {
	g := Generate(DefaultConfig())
	obs, _ := collect(t, g, 40)
	tr := g.Truth()
	var b strings.Builder
	fmt.Fprintf(&b, "config %+v\n", DefaultConfig())
	fmt.Fprintf(&b, "sha256 %s\n", obs.hash)
	fmt.Fprintf(&b, "total %d no-source %d sources %d\n", tr.Total, tr.NoSource, len(tr.Sources))
	kinds := map[Kind]int{}
	for _, s := range tr.Sources {
		kinds[s.Kind]++
	}
	for _, k := range Kinds() {
		fmt.Fprintf(&b, "kind %s %d\n", k, kinds[k])
	}
	line := func(what string, s *SourceTruth) {
		fmt.Fprintf(&b, "%s %s %s count=%d mapped=%d max-level=%d rules=%d first=%s last=%s", what, s.Addr, s.Kind, s.Count,
			s.Mapped, s.MaxLevel, len(s.Rules), s.FirstSeen.Format(time.RFC3339), s.LastSeen.Format(time.RFC3339))
		if s.Block != 0 {
			fmt.Fprintf(&b, " block=%s", s.Block)
		}
		b.WriteString("\n")
	}
	list := sortedSources(tr)
	for _, s := range list[:25] {
		line("top", s)
	}
	for _, s := range list {
		if s.Kind == Returner || s.Kind == Burst || s.Kind == Slow {
			line("planted", s)
		}
	}
	b.WriteString("\n")
	for _, a := range obs.alerts {
		b.WriteString(a)
	}
	path := filepath.Join("testdata", "default.golden")
	goldentest.Check(t, path, []byte(b.String()))
}

// fuzzSeeds reads testdata/fuzz-configs.txt: "seed alerts start-unix
// duration-seconds" per line.
func fuzzSeeds(f *testing.F) [][4]int64 {
	file, err := os.Open(filepath.Join("testdata", "fuzz-configs.txt"))
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	var out [][4]int64
	sc := bufio.NewScanner(file)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 4 {
			f.Fatalf("fuzz-configs.txt:%d: want 4 fields, got %q", line, text)
		}
		var v [4]int64
		for i, s := range fields {
			if v[i], err = strconv.ParseInt(s, 10, 64); err != nil {
				f.Fatalf("fuzz-configs.txt:%d: field %d: %v", line, i+1, err)
			}
		}
		out = append(out, v)
	}
	return out
}

func FuzzGenerate(f *testing.F) {
	for _, v := range fuzzSeeds(f) {
		f.Add(v[0], v[1], v[2], v[3])
	}
	f.Fuzz(func(t *testing.T, seed, alerts, startUnix, durSec int64) {
		alerts %= 20_000
		startUnix %= 1 << 36 // years -2000 .. 4000
		durSec %= 400 * 86400
		cfg := Config{Seed: seed, Alerts: int(alerts), Start: time.Unix(startUnix, 0), Duration: time.Duration(durSec) * time.Second}
		g := Generate(cfg)
		_, recount := collect(t, g, 0)
		checkTruth(t, g.Config(), g.Truth(), recount)
	})
}

func BenchmarkGenerate1M(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Alerts = 1_000_000
	for b.Loop() {
		n := 0
		for range Generate(cfg).All() {
			n++
		}
		if n != cfg.Alerts {
			b.Fatalf("%d alerts", n)
		}
	}
	b.ReportMetric(float64(cfg.Alerts)*float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
}

// TestImports keeps the generator independent of what it checks: the
// standard library and the shared alert model only.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.Contains(path, ".") && path != "github.com/rampart-ids/rampart/internal/ossec" {
				t.Errorf("%s imports %s: the generator may use only the standard library and internal/ossec", name, path)
			}
		}
	}
}
