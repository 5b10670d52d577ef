package ossecconf

import (
	"slices"
	"strings"
	"time"
)

// Block returns the block an alert of this rule triggers: the longest
// timeout among the enabled responses that match it, as analysisd matches
// them (rules.c): rule level ≥ <level>, or the rule id in <rules_id>, or a
// <rules_group> alternative found in the rule's group string. Only commands
// that expect srcip and allow timeouts count, since only those block an
// address for a time. A response without a timeout yields Permanent.
//
// Level-0 rules never trigger a response. ok is false when nothing matches
// or execd is disabled; the caller then falls back to DefaultBlock or its
// own --block.
func (c *Config) Block(ruleID, level int, groups []string) (d time.Duration, ok bool) {
	if c == nil || c.ExecdDisabled || level <= 0 {
		return 0, false
	}
	// OSSEC keeps a rule's groups as "a,b,c," and matches against that;
	// built only when a rules_group needs it, as Block runs per alert.
	var gs string
	var built bool
	groupString := func() string {
		if !built {
			var b strings.Builder
			for _, g := range groups {
				b.WriteString(g)
				b.WriteByte(',')
			}
			gs, built = b.String(), true
		}
		return gs
	}
	for i := range c.Responses {
		ar := &c.Responses[i]
		if ar.Disabled {
			continue
		}
		cmd, found := c.Commands[ar.Command]
		if !found || !cmd.TimeoutAllowed || !cmd.ExpectsSrcIP() || !ar.matches(ruleID, level, groupString) {
			continue
		}
		t := ar.Timeout
		if t <= 0 {
			t = Permanent
		}
		if !ok || t > d {
			d, ok = t, true
		}
	}
	return d, ok
}

func (ar *ActiveResponse) matches(ruleID, level int, groups func() string) bool {
	if ar.Level > 0 && level >= ar.Level {
		return true
	}
	if slices.Contains(ar.RulesID, ruleID) {
		return true
	}
	for _, g := range ar.RulesGroup {
		if groupMatch(g, groups()) {
			return true
		}
	}
	return false
}

// groupMatch approximates OS_Regex for the patterns <rules_group> holds: a
// group name, found anywhere in the group string, with optional ^ and $
// anchors.
func groupMatch(pat, groups string) bool {
	anchorStart := strings.HasPrefix(pat, "^")
	anchorEnd := strings.HasSuffix(pat, "$") && !strings.HasSuffix(pat, `\$`)
	pat = strings.TrimPrefix(pat, "^")
	if anchorEnd {
		pat = strings.TrimSuffix(pat, "$")
	}
	switch {
	case anchorStart && anchorEnd:
		return groups == pat
	case anchorStart:
		return strings.HasPrefix(groups, pat)
	case anchorEnd:
		return strings.HasSuffix(groups, pat)
	}
	return strings.Contains(groups, pat)
}

// Escalation returns execd's block ladder for an address: the first block
// lasts base (DefaultBlock if base ≤ 0), each later trigger the next
// repeated_offenders step, staying at the last one. A Permanent base has no
// later steps.
func (c *Config) Escalation(base time.Duration) []time.Duration {
	if base <= 0 {
		base = DefaultBlock
	}
	out := []time.Duration{base}
	if base == Permanent || c == nil {
		return out
	}
	return append(out, c.RepeatedOffenders...)
}
