package policy

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Default is the policy used when no file is given: what an OSSEC operator
// expects, a little stricter than OSSEC's stock active response (level 6,
// 600 s) and with memory of repeat offenders.
func Default() Policy {
	return Policy{
		Rules: []Rule{
			{Name: "high-level", MinAlerts: 1, MinLevel: 10, Window: time.Minute, Ban: time.Hour},
			{Name: "bruteforce", MinAlerts: 8, MinLevel: 5, Window: 10 * time.Minute, Ban: time.Hour,
				Groups: []string{"authentication_failed", "authentication_failures", "invalid_login", "web_scan", "recon"}},
			{Name: "persistent", MinAlerts: 20, MinLevel: 5, Window: time.Hour, Ban: time.Hour},
		},
		Escalation:      []time.Duration{time.Hour, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour},
		ForgetAfter:     30 * 24 * time.Hour,
		ReturnTolerance: 2 * time.Minute,
		Jitter:          0.2,
		SuspectFactor:   DefaultSuspectFactor,
		MaxBan:          30 * 24 * time.Hour,
	}
}

// fileRule and file are the TOML shapes.
type fileRule struct {
	Name      string   `toml:"name"`
	MinAlerts int      `toml:"min_alerts"`
	MinLevel  int      `toml:"min_level"`
	Window    string   `toml:"window"`
	Rules     []int    `toml:"rules"`
	Groups    []string `toml:"groups"`
	Ban       string   `toml:"ban"`
}

type file struct {
	Rules           []fileRule `toml:"rule"`
	Escalation      []string   `toml:"escalation"`
	ForgetAfter     string     `toml:"forget_after"`
	ReturnTolerance string     `toml:"return_tolerance"`
	Jitter          *float64   `toml:"jitter"`
	MaxBan          string     `toml:"max_ban"`
	Never           []string   `toml:"never"`
	SuspectFactor   *float64   `toml:"suspect_factor"`
}

// Load reads a policy file.
func Load(path string) (Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Policy{}, fmt.Errorf("read policy: %w", err)
	}
	return Parse(path, data)
}

// Parse reads a policy file's contents. Unknown keys are errors; keys left
// out keep Default's values, except rules: a file with [[rule]] tables
// replaces the default rules.
func Parse(name string, data []byte) (Policy, error) {
	var f file
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&f)
	if err != nil {
		return Policy{}, fmt.Errorf("policy %s: %w", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return Policy{}, fmt.Errorf("policy %s: unknown key(s): %s", name, strings.Join(keys, ", "))
	}
	p := Default()
	var errs []error
	dur := func(key, s string, dst *time.Duration) {
		if s == "" {
			return
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", key, s, err))
			return
		}
		*dst = d
	}
	if md.IsDefined("rule") {
		p.Rules = nil
		for i, fr := range f.Rules {
			r := Rule{Name: fr.Name, MinAlerts: fr.MinAlerts, MinLevel: fr.MinLevel, Rules: fr.Rules, Groups: fr.Groups}
			dur(fmt.Sprintf("rule %d: window", i+1), fr.Window, &r.Window)
			dur(fmt.Sprintf("rule %d: ban", i+1), fr.Ban, &r.Ban)
			p.Rules = append(p.Rules, r)
		}
	}
	if md.IsDefined("escalation") {
		p.Escalation = make([]time.Duration, len(f.Escalation))
		for i, s := range f.Escalation {
			dur(fmt.Sprintf("escalation[%d]", i), s, &p.Escalation[i])
		}
	}
	dur("forget_after", f.ForgetAfter, &p.ForgetAfter)
	dur("return_tolerance", f.ReturnTolerance, &p.ReturnTolerance)
	dur("max_ban", f.MaxBan, &p.MaxBan)
	if f.Jitter != nil {
		p.Jitter = *f.Jitter
	}
	if f.SuspectFactor != nil {
		p.SuspectFactor = *f.SuspectFactor
	}
	for i, s := range f.Never {
		pf, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				errs = append(errs, fmt.Errorf("never[%d] %q: not an address or prefix", i, s))
				continue
			}
			pf = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		p.Never = append(p.Never, pf.Masked())
	}
	if err := errors.Join(append(errs, p.Validate())...); err != nil {
		return Policy{}, fmt.Errorf("policy %s: %w", name, err)
	}
	return p, nil
}
