package ossecconf

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rampart-ids/rampart/internal/goldentest"
	"github.com/rampart-ids/rampart/internal/ossec"
)

// probes are the alerts each golden file answers Block for: the sshd brute
// force rules, a web scan, a low-level rule and an ignored one.
var probes = []struct {
	id, level int
	groups    []string
}{
	{5712, 10, []string{"syslog", "sshd", "authentication_failures"}},
	{5720, 10, []string{"syslog", "sshd", "authentication_failures"}},
	{5710, 5, []string{"syslog", "sshd", "invalid_login", "authentication_failed"}},
	{31151, 10, []string{"web", "accesslog", "web_scan", "recon"}},
	{31104, 6, []string{"web", "accesslog", "attack"}},
	{5551, 10, []string{"pam", "syslog", "authentication_failures"}},
	{1002, 2, []string{"syslog", "errors"}},
	{5712, 0, []string{"syslog", "sshd"}},
}

func dump(c *Config, probs []*ossec.ParseError) string {
	var b strings.Builder
	for _, p := range probs {
		fmt.Fprintf(&b, "problem %v\n", p)
	}
	for _, n := range slices.Sorted(maps.Keys(c.Commands)) {
		cmd := c.Commands[n]
		fmt.Fprintf(&b, "command %q line=%d executable=%q expect=%q timeout_allowed=%t\n", cmd.Name, cmd.Line, cmd.Executable, cmd.Expect, cmd.TimeoutAllowed)
	}
	for _, r := range c.Responses {
		fmt.Fprintf(&b, "response line=%d command=%q location=%q agent_id=%q level=%d rules_id=%v rules_group=%q timeout=%v disabled=%t\n",
			r.Line, r.Command, r.Location, r.AgentID, r.Level, r.RulesID, r.RulesGroup, r.Timeout, r.Disabled)
	}
	fmt.Fprintf(&b, "repeated_offenders=%v execd_disabled=%t\n", c.RepeatedOffenders, c.ExecdDisabled)
	fmt.Fprintf(&b, "white_list=%v names=%q\n", c.WhiteList, c.WhiteListNames)
	fmt.Fprintf(&b, "jsonout=%t custom_alert_output=%q\n", c.JSONOut, c.CustomAlertOutput)
	for _, p := range probes {
		d, ok := c.Block(p.id, p.level, p.groups)
		fmt.Fprintf(&b, "block rule=%d level=%d groups=%s: %v %t escalation=%v\n", p.id, p.level, strings.Join(p.groups, ","), d, ok, c.Escalation(d))
	}
	return b.String()
}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.conf")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			c, probs, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			got := dump(c, probs)
			golden := strings.TrimSuffix(file, ".conf") + ".golden"
			goldentest.Check(t, golden, []byte(got))
		})
	}
}

// conf wraps AR lines in a minimal ossec.conf defining host-deny (srcip,
// timeouts), route-null (srcip, no timeouts) and disable-account (user).
func conf(body string) []byte {
	return []byte(`<ossec_config>
<command><name>host-deny</name><executable>host-deny.sh</executable><expect>srcip</expect><timeout_allowed>yes</timeout_allowed></command>
<command><name>route-null</name><executable>route-null.sh</executable><expect>srcip</expect><timeout_allowed>no</timeout_allowed></command>
<command><name>disable-account</name><executable>disable-account.sh</executable><expect>user</expect><timeout_allowed>yes</timeout_allowed></command>
` + body + "\n</ossec_config>\n")
}

func TestBlock(t *testing.T) {
	ssh := []string{"syslog", "sshd", "authentication_failures"}
	tests := []struct {
		name   string
		body   string
		id, lv int
		groups []string
		want   time.Duration
		ok     bool
	}{
		{"level at threshold", `<active-response><command>host-deny</command><location>local</location><level>6</level><timeout>600</timeout></active-response>`, 5712, 6, ssh, 600 * time.Second, true},
		{"level below threshold", `<active-response><command>host-deny</command><location>local</location><level>6</level><timeout>600</timeout></active-response>`, 5710, 5, ssh, 0, false},
		{"rule id listed", `<active-response><command>host-deny</command><location>local</location><rules_id>5710, 5712</rules_id><timeout>60</timeout></active-response>`, 5712, 2, ssh, time.Minute, true},
		{"rule id not listed", `<active-response><command>host-deny</command><location>local</location><rules_id>5710</rules_id><timeout>60</timeout></active-response>`, 5712, 2, ssh, 0, false},
		{"group substring", `<active-response><command>host-deny</command><location>local</location><rules_group>authentication_fail</rules_group><timeout>90</timeout></active-response>`, 5712, 2, ssh, 90 * time.Second, true},
		{"group alternative", `<active-response><command>host-deny</command><location>local</location><rules_group>web_scan|sshd</rules_group><timeout>90</timeout></active-response>`, 5712, 2, ssh, 90 * time.Second, true},
		{"group anchored", `<active-response><command>host-deny</command><location>local</location><rules_group>^sshd</rules_group><timeout>90</timeout></active-response>`, 5712, 2, ssh, 0, false},
		{"longest wins", `<active-response><command>host-deny</command><location>local</location><level>6</level><timeout>600</timeout></active-response>
<active-response><command>host-deny</command><location>local</location><rules_id>5712</rules_id><timeout>3600</timeout></active-response>`, 5712, 10, ssh, time.Hour, true},
		{"no timeout is permanent", `<active-response><command>host-deny</command><location>local</location><level>6</level></active-response>
<active-response><command>host-deny</command><location>local</location><level>6</level><timeout>600</timeout></active-response>`, 5712, 10, ssh, Permanent, true},
		{"disabled response", `<active-response><disabled>no</disabled></active-response><active-response><disabled>yes</disabled><command>host-deny</command><location>local</location><level>6</level><timeout>600</timeout></active-response>`, 5712, 10, ssh, 0, false},
		{"execd disabled", `<active-response><disabled>yes</disabled></active-response><active-response><command>host-deny</command><location>local</location><level>6</level><timeout>600</timeout></active-response>`, 5712, 10, ssh, 0, false},
		{"command without timeouts", `<active-response><command>route-null</command><location>local</location><level>6</level></active-response>`, 5712, 10, ssh, 0, false},
		{"command not on srcip", `<active-response><command>disable-account</command><location>local</location><level>6</level><timeout>600</timeout></active-response>`, 5712, 10, ssh, 0, false},
		{"level 0 rule never", `<active-response><command>host-deny</command><location>local</location><rules_id>5712</rules_id><timeout>600</timeout></active-response>`, 5712, 0, ssh, 0, false},
		{"no responses", ``, 5712, 10, ssh, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, probs := Parse("ossec.conf", conf(tt.body))
			if len(probs) > 0 {
				t.Fatalf("problems: %v", probs)
			}
			d, ok := c.Block(tt.id, tt.lv, tt.groups)
			if d != tt.want || ok != tt.ok {
				t.Errorf("Block(%d, %d, %v) = %v, %t; want %v, %t", tt.id, tt.lv, tt.groups, d, ok, tt.want, tt.ok)
			}
		})
	}
	var nilConf *Config
	if d, ok := nilConf.Block(5712, 10, ssh); ok || d != 0 {
		t.Errorf("nil Config: Block = %v, %t", d, ok)
	}
}

func TestEscalation(t *testing.T) {
	m := time.Minute
	tests := []struct {
		name string
		ro   string
		base time.Duration
		want []time.Duration
	}{
		{"no ladder", "", 600 * time.Second, []time.Duration{600 * time.Second}},
		{"ladder", "<repeated_offenders>30,60,120</repeated_offenders>", 600 * time.Second, []time.Duration{600 * time.Second, 30 * m, 60 * m, 120 * m}},
		{"spaces", "<repeated_offenders> 5 , 10 </repeated_offenders>", time.Hour, []time.Duration{time.Hour, 5 * m, 10 * m}},
		{"default base", "<repeated_offenders>30</repeated_offenders>", 0, []time.Duration{DefaultBlock, 30 * m}},
		{"permanent", "<repeated_offenders>30</repeated_offenders>", Permanent, []time.Duration{Permanent}},
		{"first of six", "<repeated_offenders>1,2,3,4,5,6</repeated_offenders>", time.Minute, []time.Duration{m, m, 2 * m, 3 * m, 4 * m, 5 * m}},
		{"stops at zero", "<repeated_offenders>10,0,30</repeated_offenders>", time.Minute, []time.Duration{m, 10 * m}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := ""
			if tt.ro != "" {
				body = "<active-response>" + tt.ro + "</active-response>"
			}
			c, _ := Parse("ossec.conf", conf(body))
			if diff := cmp.Diff(tt.want, c.Escalation(tt.base)); diff != "" {
				t.Errorf("Escalation(%v) (-want +got):\n%s", tt.base, diff)
			}
		})
	}
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name   string
		data   string
		line   int
		reason string
		// responses still loaded despite the problem
		responses int
	}{
		{"unclosed leaf", "<ossec_config>\n<command><name>host-deny</name><executable>h.sh</executable><expect>srcip</expect><timeout_allowed>yes</timeout_allowed></command>\n<active-response>\n<command>host-deny</command><location>local</location>\n<level>6\n<timeout>600</timeout>\n</active-response>\n<active-response><command>host-deny</command><location>local</location><level>7</level><timeout>60</timeout></active-response>\n</ossec_config>\n",
			5, "element <level> is not closed (</active-response> on line 7", 2},
		{"unclosed at eof", "<ossec_config>\n<global>\n<jsonout_output>yes</jsonout_output>\n", 2, "element <global> is not closed at end of file", 0},
		{"stray end tag", "<ossec_config>\n</global>\n</ossec_config>\n", 2, "closing tag </global> has no opening tag", 0},
		{"syntax error", "<ossec_config>\n<global>\n<white_list 127.0.0.1</white_list>\n<jsonout_output>yes</jsonout_output>\n</global>\n</ossec_config>\n", 3, "malformed XML", 0},
		{"unclosed comment", "<ossec_config>\n</ossec_config>\n<!-- oops\n", 3, "comment is not closed", 0},
		{"bad level", "<ossec_config>\n<active-response>\n<level>high</level>\n</active-response>\n</ossec_config>\n", 3, `<active-response><level>: want a level from 0 to 20`, 0},
		{"missing command", "<ossec_config>\n<active-response>\n<level>6</level>\n</active-response>\n</ossec_config>\n", 2, "<active-response>: missing <command>", 0},
		{"wrong root", "<config>\n</config>\n", 1, "unexpected top-level element <config>", 0},
		{"bad white_list", "<ossec_config><global>\n<white_list>10.0.0.0/40</white_list>\n</global></ossec_config>", 2, "<global><white_list>: not an address or network", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, probs := Parse("test.conf", []byte(tt.data))
			if c == nil {
				t.Fatal("nil Config")
			}
			var found bool
			for _, p := range probs {
				if p.File != "test.conf" || p.Line < 1 || p.Reason == "" {
					t.Errorf("incomplete problem %+v", p)
				}
				if p.Line == tt.line && strings.Contains(p.Reason, tt.reason) {
					found = true
				}
			}
			if !found {
				t.Errorf("want a problem on line %d containing %q; got %v", tt.line, tt.reason, probs)
			}
			if len(c.Responses) != tt.responses {
				t.Errorf("%d responses loaded, want %d", len(c.Responses), tt.responses)
			}
		})
	}
}

func TestWhiteList(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" for not a prefix
	}{
		{"127.0.0.1", "127.0.0.1/32"},
		{"::1", "::1/128"},
		{"192.168.0.7/24", "192.168.0.0/24"},
		{"172.16.0.0/255.240.0.0", "172.16.0.0/12"},
		{"10.0.0.0/255.0.255.0", ""},
		{"::ffff:10.1.2.3", "10.1.2.3/32"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"10.0.0.0/33", ""},
		{"10.0.0.0/-1", ""},
		{"fe80::1%eth0", ""},
		{"example.org", ""},
	}
	for _, tt := range tests {
		p, ok := parseWhiteList(tt.in)
		got := ""
		if ok {
			got = p.String()
		}
		if got != tt.want {
			t.Errorf("parseWhiteList(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLoadMissing(t *testing.T) {
	_, _, err := Load(filepath.Join(t.TempDir(), "ossec.conf"))
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) error = %v, want a not-exist error", err)
	}
}

func TestLatin1AndLines(t *testing.T) {
	// A Latin-1 byte must not fail the file nor shift the lines after it.
	data := []byte("<ossec_config>\n<global><custom_alert_output>caf\xe9</custom_alert_output></global>\n<active-response>\n<level>x</level>\n</active-response>\n</ossec_config>\n")
	c, probs := Parse("l1.conf", data)
	if c.CustomAlertOutput != "café" {
		t.Errorf("custom_alert_output = %q", c.CustomAlertOutput)
	}
	if len(probs) == 0 || probs[0].Line != 4 {
		t.Errorf("problems = %v, want one on line 4", probs)
	}
	if !bytes.Contains(data, []byte{0xe9}) {
		t.Error("Parse changed its input")
	}
}
