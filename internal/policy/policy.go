// Package policy decides when a source is banned and for how long: rules of
// the form "at least N alerts of level >= L (of these rules or groups) within
// W from one source → ban for D", an escalation ladder for repeat offenders
// that survives restarts (the offences come from the decision history, not
// from memory as in OSSEC's repeated_offenders), a jump ahead for bots that
// return right after their ban expires, and random jitter on every expiry so
// that a bot cannot time its return.
//
// The engine is pure: the caller feeds it observations in time order and
// hands it the decision history through a small interface; it keeps only
// sliding windows in memory. It never decides against the networks it is told
// never to ban (allowlist, local networks). It must not do I/O, read the
// clock or import the server, the store or the enforcers.
package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Rule is one threshold rule.
type Rule struct {
	Name string
	// MinAlerts alerts within Window from one source trigger the rule.
	MinAlerts int
	Window    time.Duration
	// MinLevel is the lowest OSSEC level that counts.
	MinLevel int
	// Rules and Groups, when set, restrict which alerts count: an alert
	// counts when its rule id is in Rules or one of its groups is in
	// Groups (either list empty: no restriction from it).
	Rules  []int
	Groups []string
	// Ban is the first offence's ban; later offences climb the policy's
	// escalation ladder from there.
	Ban time.Duration
}

func (r Rule) counts(o Observation) bool {
	if o.Level < r.MinLevel {
		return false
	}
	if len(r.Rules) == 0 && len(r.Groups) == 0 {
		return true
	}
	if slices.Contains(r.Rules, o.Rule) {
		return true
	}
	for _, g := range o.Groups {
		if slices.Contains(r.Groups, g) {
			return true
		}
	}
	return false
}

// Policy is the whole decision policy.
type Policy struct {
	Rules []Rule
	// Escalation is the ladder of ban durations for repeat offenders: the
	// n-th offence (1 = first) gets the n-th step of [rule's Ban, the
	// steps longer than it...], the last step for every offence beyond.
	Escalation []time.Duration
	// ForgetAfter: bans older than this are not counted as offences.
	ForgetAfter time.Duration
	// ReturnTolerance: when a source's first alert after its last ban
	// expired came within this time of the expiry, it waited the ban out,
	// and the new ban skips one step of the ladder (0: off).
	ReturnTolerance time.Duration
	// Jitter lengthens every ban by a random share in [0, Jitter) of it.
	Jitter float64
	// MaxBan caps every ban (0: no cap).
	MaxBan time.Duration
	// Never holds networks never banned, on top of the allowlist and
	// local networks the caller adds.
	Never []netip.Prefix
	// SuspectFactor scales the rules' MinAlerts for sources other sites
	// report (the federation's "feed" action, see Engine.NoteSuspect): 0.5
	// bans them at half the local evidence. 0 means DefaultSuspectFactor.
	SuspectFactor float64
}

// DefaultSuspectFactor is Policy.SuspectFactor's default.
const DefaultSuspectFactor = 0.5

// Validate checks a policy.
func (p Policy) Validate() error {
	var errs []error
	names := map[string]bool{}
	for i, r := range p.Rules {
		where := fmt.Sprintf("rule %d (%q)", i+1, r.Name)
		switch {
		case r.Name == "":
			errs = append(errs, fmt.Errorf("rule %d: name: missing", i+1))
		case names[r.Name]:
			errs = append(errs, fmt.Errorf("%s: name used twice", where))
		}
		names[r.Name] = true
		if r.MinAlerts < 1 {
			errs = append(errs, fmt.Errorf("%s: min_alerts: want at least 1", where))
		}
		if r.Window <= 0 {
			errs = append(errs, fmt.Errorf("%s: window: want a positive duration", where))
		}
		if r.Ban <= 0 {
			errs = append(errs, fmt.Errorf("%s: ban: want a positive duration", where))
		}
		if r.MinLevel < 0 || r.MinLevel > 16 {
			errs = append(errs, fmt.Errorf("%s: min_level %d: want 0..16", where, r.MinLevel))
		}
	}
	for i, d := range p.Escalation {
		if d <= 0 || (i > 0 && d <= p.Escalation[i-1]) {
			errs = append(errs, fmt.Errorf("escalation: steps must be positive and increasing (step %d is %s)", i+1, d))
			break
		}
	}
	if p.SuspectFactor < 0 || p.SuspectFactor > 1 {
		errs = append(errs, fmt.Errorf("suspect_factor %g: want 0..1", p.SuspectFactor))
	}
	if p.Jitter < 0 || p.Jitter > 1 {
		errs = append(errs, fmt.Errorf("jitter %g: want 0..1", p.Jitter))
	}
	if p.ForgetAfter < 0 || p.ReturnTolerance < 0 || p.MaxBan < 0 {
		errs = append(errs, errors.New("forget_after, return_tolerance and max_ban must not be negative"))
	}
	return errors.Join(errs...)
}

// ladder is the ban ladder of rule r: its own ban, then the escalation
// steps longer than it.
func (p Policy) ladder(r Rule) []time.Duration {
	l := []time.Duration{r.Ban}
	for _, d := range p.Escalation {
		if d > r.Ban {
			l = append(l, d)
		}
	}
	return l
}

// Observation is one alert from one source.
type Observation struct {
	Source netip.Addr
	Time   time.Time
	Rule   int
	Level  int
	Groups []string
	Sensor string
}

// PastBan is an earlier policy ban of a source.
type PastBan struct {
	Start, Expires time.Time
}

// History gives the engine a source's earlier policy bans, oldest first.
// The server answers from its decision store, so offences survive restarts.
type History interface {
	Bans(src netip.Addr, since time.Time) []PastBan
}

// Verdict is a decision to ban, with everything that explains it.
type Verdict struct {
	Source   netip.Addr
	Rule     string
	Start    time.Time
	Duration time.Duration // with jitter, after the cap
	Expires  time.Time
	// Alerts is how many counting alerts the window held; Sensors the
	// sensors that reported them.
	Alerts  int
	Sensors []string
	// Offence is 1 for a first ban; Step the ladder step used (1-based).
	Offence, Step int
	// Returned is set when the source came back within ReturnTolerance of
	// its last ban's expiry (the ladder skipped a step).
	Returned bool
	// Suspect is set when other sites reported the source, so that fewer
	// local alerts sufficed (Suspect says why, as the federation put it).
	Suspect string
	Jitter  time.Duration
}

// Why renders the verdict's evidence for a decision record.
func (v Verdict) Why() map[string]any {
	return map[string]any{
		"alerts": v.Alerts, "sensors": v.Sensors, "offence": v.Offence, "step": v.Step,
		"returned_after_ban": v.Returned, "jitter_seconds": int64(v.Jitter / time.Second),
		"federation_suspect": v.Suspect,
	}
}

// Reason is a one-line human explanation.
func (v Verdict) Reason(p Policy) string {
	var r Rule
	for _, x := range p.Rules {
		if x.Name == v.Rule {
			r = x
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d alerts of level >= %d within %s (rule %s)", v.Alerts, r.MinLevel, r.Window, v.Rule)
	if v.Offence > 1 {
		fmt.Fprintf(&b, "; offence %d", v.Offence)
	}
	if v.Returned {
		b.WriteString("; came back right after its last ban")
	}
	if v.Suspect != "" {
		b.WriteString("; reported by other sites (" + v.Suspect + "), so fewer local alerts sufficed")
	}
	return b.String()
}
