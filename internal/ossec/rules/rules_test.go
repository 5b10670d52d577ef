package rules

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rampart-ids/rampart/internal/goldentest"
	"github.com/rampart-ids/rampart/internal/ossec"
)

func dumpRule(b *strings.Builder, r Rule) {
	fmt.Fprintf(b, "rule %d level=%d groups=%q overwrite=%t at %s:%d\n  %q\n", r.ID, r.Level, r.Groups, r.Overwrite, r.File, r.Line, r.Description)
}

func dumpProblems(b *strings.Builder, probs []*ossec.ParseError) {
	for _, p := range probs {
		fmt.Fprintf(b, "problem %v\n", p)
	}
}

func checkGolden(t *testing.T, golden, got string) {
	t.Helper()
	goldentest.Check(t, golden, []byte(got))
}

func testdataFiles(t testing.TB) []string {
	a, _ := filepath.Glob("testdata/*.xml")
	b, _ := filepath.Glob("testdata/rules/*.xml")
	files := append(a, b...)
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	return files
}

func TestParseGolden(t *testing.T) {
	for _, file := range testdataFiles(t) {
		t.Run(file, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			rs, probs := Parse(file, data)
			var b strings.Builder
			dumpProblems(&b, probs)
			for _, r := range rs {
				dumpRule(&b, r)
			}
			checkGolden(t, strings.TrimSuffix(file, ".xml")+".golden", b.String())
		})
	}
}

func TestLoadDirGolden(t *testing.T) {
	m, probs, err := LoadDir("testdata/rules")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	dumpProblems(&b, probs)
	for _, id := range slices.Sorted(maps.Keys(m)) {
		dumpRule(&b, m[id])
	}
	checkGolden(t, "testdata/loaddir.golden", b.String())
}

func TestLoadDirPrecedence(t *testing.T) {
	rule := func(id int, attrs, desc string) string {
		return fmt.Sprintf("<rule id=\"%d\" level=\"5\" %s><description>%s</description></rule>\n", id, attrs, desc)
	}
	group := func(rules ...string) string { return "<group name=\"g,\">\n" + strings.Join(rules, "") + "</group>\n" }
	files := map[string]string{
		// local_rules.xml sorts before zz_ but loads last.
		"local_rules.xml": group(rule(1, `overwrite="yes"`, "local 1"), rule(4, "", "local 4")),
		"a_rules.xml":     group(rule(1, "", "a 1"), rule(2, "", "a 2"), rule(3, "", "a 3"), rule(5, "", "a 5")),
		"b_rules.xml":     group(rule(2, `overwrite="yes"`, "b 2"), rule(3, "", "b 3")),
		"zz_rules.xml":    group(rule(4, "", "zz 4"), rule(2, "", "zz 2")),
		"notes.txt":       "<group><rule id=\"5\" level=\"1\"/></group>",
		"sub.xml/x.xml":   group(rule(5, "", "nested")),
	}
	dir := t.TempDir()
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, probs, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{
		1: "local 1", // overwrite in the last file
		2: "b 2",     // an overwrite is not replaced by a plain duplicate
		3: "b 3",     // later file wins
		4: "local 4", // local_rules.xml is last
		5: "a 5",     // .txt and subdirectories are not read
	}
	got := map[int]string{}
	for id, r := range m {
		got[id] = r.Description
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("winners (-want +got):\n%s", diff)
	}
	// The duplicates without overwrite are named, each at its own line.
	var dups []string
	for _, p := range probs {
		dups = append(dups, fmt.Sprintf("%s:%d %s", filepath.Base(p.File), p.Line, p.Snippet))
	}
	wantDups := []string{"b_rules.xml:3 3", "zz_rules.xml:3 2", "local_rules.xml:3 4"}
	if diff := cmp.Diff(wantDups, dups); diff != "" {
		t.Errorf("problems (-want +got):\n%s\n%v", diff, probs)
	}
}

func TestLoadDirErrors(t *testing.T) {
	if _, _, err := LoadDir(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: %v", err)
	}
	if _, _, err := LoadDir(t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("empty dir: %v", err)
	}
}

func TestProblems(t *testing.T) {
	tests := []struct {
		name   string
		data   string
		line   int
		reason string
		ids    []int // rules still loaded
	}{
		{"unclosed description", "<group name=\"a,\">\n<rule id=\"1\" level=\"3\">\n<description>one\n</rule>\n<rule id=\"2\" level=\"3\"><description>two</description></rule>\n</group>\n",
			3, "element <description> is not closed (</rule> on line 4", []int{1, 2}},
		{"unclosed rule at eof", "<group name=\"a,\">\n<rule id=\"1\" level=\"3\"><description>one</description></rule>\n<rule id=\"2\" level=\"3\">\n", 3, "element <rule> is not closed at end of file", []int{1, 2}},
		{"bad id", "<group name=\"a,\">\n<rule id=\"x1\" level=\"3\"/>\n<rule id=\"2\" level=\"3\"/>\n</group>\n", 2, `attribute "id" is not a rule id`, []int{2}},
		{"negative level", "<group name=\"a,\">\n<rule id=\"1\" level=\"-1\"/>\n</group>\n", 2, `attribute "level" is not a level`, nil},
		{"level too high", "<group name=\"a,\">\n<rule id=\"1\" level=\"17\"/>\n</group>\n", 2, `attribute "level" is not a level`, nil},
		{"missing level", "<group name=\"a,\">\n<rule id=\"1\"/>\n</group>\n", 2, `missing attribute "level"`, nil},
		{"syntax error", "<group name=\"a,\">\n<rule id=\"1\" level=\"3\"><match>a < b</match></rule>\n<rule id=\"2\" level=\"3\"/>\n</group>\n", 2, "malformed XML", []int{1, 2}},
		{"rule outside group", "<rule id=\"7\" level=\"3\"/>\n", 1, "<rule> outside any <group>", []int{7}},
		{"unknown top level", "<grp name=\"a\">\n</grp>\n", 1, "unexpected top-level element <grp>", nil},
		{"bad overwrite", "<group name=\"a,\">\n<rule id=\"1\" level=\"3\" overwrite=\"true\"/>\n</group>\n", 2, `attribute "overwrite"`, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, probs := Parse("test.xml", []byte(tt.data))
			var found bool
			for _, p := range probs {
				if p.File != "test.xml" || p.Line < 1 || p.Reason == "" {
					t.Errorf("incomplete problem %+v", p)
				}
				if p.Line == tt.line && strings.Contains(p.Reason, tt.reason) {
					found = true
				}
			}
			if !found {
				t.Errorf("want a problem on line %d containing %q; got %v", tt.line, tt.reason, probs)
			}
			var ids []int
			for _, r := range rs {
				ids = append(ids, r.ID)
			}
			if diff := cmp.Diff(tt.ids, ids); diff != "" {
				t.Errorf("rules loaded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	p := &ruleParser{vars: map[string]string{"A": "x", "LONG_NAME": "y", "E": ""}}
	tests := []struct{ in, want string }{
		{"no vars", "no vars"},
		{"$A", "x"},
		{"$(A)", "x"},
		{"[$A]$LONG_NAME", "[x]y"},
		{"$(LONG_NAME)s", "ys"},
		{"$AB stays", "$AB stays"},
		{"$(B) stays", "$(B) stays"},
		{"$E|$", "|$"},
		{"$(A", "$(A"},
		{"$$A", "$x"},
	}
	for _, tt := range tests {
		if got := p.expand(tt.in); got != tt.want {
			t.Errorf("expand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGroupsOrder(t *testing.T) {
	data := "<group name=\"syslog, sshd,\">\n<rule id=\"5712\" level=\"10\"><group>authentication_failures,</group><description> SSHD\n  brute </description><description>force </description><group>a,b</group></rule>\n</group>\n"
	rs, probs := Parse("g.xml", []byte(data))
	if len(probs) != 0 || len(rs) != 1 {
		t.Fatalf("rules %v, problems %v", rs, probs)
	}
	want := Rule{ID: 5712, Level: 10, Description: "SSHD brute force", Groups: []string{"syslog", "sshd", "authentication_failures", "a", "b"}, File: "g.xml", Line: 2}
	if diff := cmp.Diff(want, rs[0]); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestSeveralTopLevelGroups checks that each top-level <group> names only
// its own rules, and that a file's <var> reaches every group after it.
func TestSeveralTopLevelGroups(t *testing.T) {
	data := `<var name="V">shared</var>
<group name="syslog,errors,">
  <rule id="1" level="2"><description>one $V</description><group>own,</group></rule>
</group> <!-- SYSLOG,ERRORS -->
<!-- between -->
<group name="syslog,nfs,">
  <rule id="2" level="4"><description>two $(V)</description></rule>
</group>
<group name="pam,">
  <rule id="3" level="5"><description>three</description></rule>
</group>
`
	rs, probs := Parse("s.xml", []byte(data))
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	want := []Rule{
		{ID: 1, Level: 2, Description: "one shared", Groups: []string{"syslog", "errors", "own"}, File: "s.xml", Line: 3},
		{ID: 2, Level: 4, Description: "two shared", Groups: []string{"syslog", "nfs"}, File: "s.xml", Line: 7},
		{ID: 3, Level: 5, Description: "three", Groups: []string{"pam"}, File: "s.xml", Line: 10},
	}
	if diff := cmp.Diff(want, rs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestNames(t *testing.T) {
	names, probs, err := Names("testdata/rules")
	if err != nil {
		t.Fatal(err)
	}
	if len(probs) != 0 {
		t.Errorf("problems: %v", probs)
	}
	m, _, err := LoadDir("testdata/rules")
	if err != nil {
		t.Fatal(err)
	}
	for id, r := range m {
		if got, ok := names[id]; r.Description != "" && (!ok || got != r.Description) {
			t.Errorf("rule %d: name %q, want %q", id, got, r.Description)
		}
	}
	for id, want := range map[int]string{
		5712:   "SSHD brute force, stricter local version (1 hour ban).", // local overwrite wins
		2502:   "User missed the password more than one time",            // second top-level group of a file
		100100: "WordPress login probe: 1 hour ban, $UNDEFINED stays.",
	} {
		if names[id] != want {
			t.Errorf("Names[%d] = %q, want %q", id, names[id], want)
		}
	}
	if _, _, err := Names(filepath.Join(t.TempDir(), "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: %v", err)
	}
}
