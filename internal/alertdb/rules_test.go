package alertdb

import (
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
)

func TestRuleVariantsList(t *testing.T) {
	base := genAll(genConfig{Alerts: 40, Sources: 3, Days: 1, Seed: 4})
	for i := range base {
		switch i % 3 {
		case 0:
			base[i].RuleID, base[i].Level, base[i].Description, base[i].Groups = 5712, 10, "old text", []string{"syslog", "sshd"}
		case 1:
			base[i].RuleID, base[i].Level, base[i].Description, base[i].Groups = 5712, 12, "new text", []string{"syslog", "sshd"}
		case 2:
			base[i].RuleID, base[i].Level, base[i].Description, base[i].Groups = 31101, 5, "", nil
		}
	}
	s := openTest(t, "")
	if got, err := s.RuleVariants(t.Context()); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %v, %v", got, err)
	}
	importAll(t, s, "x", base, 10)
	got, err := s.RuleVariants(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []RuleVariant{
		{RuleID: 5712, Level: 10, Description: "old text", Groups: []string{"syslog", "sshd"}},
		{RuleID: 5712, Level: 12, Description: "new text", Groups: []string{"syslog", "sshd"}},
		{RuleID: 31101, Level: 5},
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
