package ossecxml

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	in := `<!-- OSSEC allows -- inside comments -->
<group name="syslog,">
  <rule id="1" level="2">
    <description>one</description>
  </rule>
</group>
<group name="web,">
  <rule id="2" level="6">
    <level>6
    <description>two</description>
  </rule>
</group>
`
	root, probs := Parse("rules.xml", []byte(in))
	if len(root.Children) != 2 || root.Children[0].Name != "group" || root.Children[1].Line != 7 {
		t.Fatalf("top level = %+v", root.Children)
	}
	if name, ok := root.Children[1].Attr("name"); !ok || name != "web," {
		t.Errorf("Attr(name) = %q, %v", name, ok)
	}
	if len(probs) != 1 || probs[0].Line != 9 || !strings.Contains(probs[0].Error(), "rules.xml:9") {
		t.Fatalf("problems = %v, want the unclosed <level> at line 9", probs)
	}
	rule := root.Children[1].Children[0]
	var desc *Node
	for _, c := range rule.Children {
		if c.Name == "description" {
			desc = c
		}
	}
	if desc == nil || desc.Text() != "two" {
		t.Errorf("the element after the unclosed one was lost: %+v", rule.Children)
	}
}
