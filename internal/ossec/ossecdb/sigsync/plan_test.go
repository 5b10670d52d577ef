package sigsync

import (
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
)

func TestPlan(t *testing.T) {
	mysql := schema{dialect: ossecdb.MySQL, maxRuleID: 1<<24 - 1, descLen: 255, groupLen: 32, groups: true}
	pg := schema{dialect: ossecdb.Postgres, maxRuleID: math.MaxInt64, descLen: 255, groupLen: 32, groups: true}
	noGroups := schema{dialect: ossecdb.MySQL, maxRuleID: 1<<24 - 1, descLen: 255}
	empty := state{sigs: map[int64][]Row{}, cats: map[string]int64{}, links: map[[2]int64]bool{}}
	tests := []struct {
		name  string
		sch   schema
		st    state
		rules []Rule
		want  Plan
	}{
		{
			name: "empty table",
			sch:  noGroups, st: empty,
			rules: []Rule{{ID: 5712, Level: 10, Description: "SSHD brute force", Groups: []string{"sshd"}}, {ID: 1002, Level: 2, Description: "Unknown problem"}},
			want:  Plan{Insert: []Row{{1002, 2, "Unknown problem"}, {5712, 10, "SSHD brute force"}}},
		},
		{
			name: "update, unchanged, foreign",
			sch:  noGroups,
			st: state{sigs: map[int64][]Row{
				5712:   {{5712, 8, "SSHD brute force"}},
				5710:   {{5710, 5, "non-existent user"}},
				1002:   {{1002, NoLevel, "Unknown problem"}},
				999001: {{999001, 3, "operator's own"}},
			}},
			rules: []Rule{
				{ID: 5712, Level: 10, Description: "SSHD brute force"},
				{ID: 5710, Level: 5, Description: "non-existent user"},
				{ID: 1002, Level: 2, Description: "Unknown problem"},
			},
			want: Plan{
				Update: []Update{
					{Old: Row{1002, NoLevel, "Unknown problem"}, New: Row{1002, 2, "Unknown problem"}},
					{Old: Row{5712, 8, "SSHD brute force"}, New: Row{5712, 10, "SSHD brute force"}},
				},
				Unchanged: 1,
				Foreign:   []Row{{999001, 3, "operator's own"}},
			},
		},
		{
			name: "stored as dbd stores text",
			sch:  schema{dialect: ossecdb.MySQL, maxRuleID: 1<<24 - 1, descLen: 20},
			st:   state{sigs: map[int64][]Row{2: {{2, 1, "user`s caf  "}}}},
			rules: []Rule{
				{ID: 1, Level: 1, Description: strings.Repeat("x", 30)},
				{ID: 2, Level: 1, Description: "user's café"}, // equal once sanitised
				{ID: 3, Level: 1, Description: `back\slash`},
			},
			want: Plan{Insert: []Row{{1, 1, strings.Repeat("x", 20)}, {3, 1, "back/slash"}}, Unchanged: 1},
		},
		{
			name: "rule id beyond the column",
			sch:  noGroups, st: empty,
			rules: []Rule{{ID: 1 << 24, Level: 3, Description: "too big"}, {ID: 1<<24 - 1, Level: 3, Description: "fits"}},
			want: Plan{
				Insert:  []Row{{1<<24 - 1, 3, "fits"}},
				Skipped: []Skip{{RuleID: 1 << 24, Reason: "rule id beyond the rule_id column (at most 16777215)"}},
			},
		},
		{
			name: "a rule given twice counts once",
			sch:  noGroups, st: empty,
			rules: []Rule{{ID: 7, Level: 3, Description: "a"}, {ID: 7, Level: 3, Description: "a"}},
			want:  Plan{Insert: []Row{{7, 3, "a"}}},
		},
		{
			name: "groups: new and existing, case-insensitive in MySQL",
			sch:  mysql,
			st: state{
				sigs:  map[int64][]Row{5712: {{5712, 10, "brute"}}},
				cats:  map[string]int64{"syslog": 1, "sshd": 2},
				links: map[[2]int64]bool{{5712, 1}: true},
			},
			rules: []Rule{
				{ID: 5712, Level: 10, Description: "brute", Groups: []string{"SYSLOG", "sshd", "authentication_failures", "sshd"}},
				{ID: 5716, Level: 5, Description: "failed", Groups: []string{"syslog", "authentication_failed", strings.Repeat("g", 40), " "}},
			},
			want: Plan{
				HasGroups: true,
				Insert:    []Row{{5716, 5, "failed"}},
				Unchanged: 1,
				NewGroups: []string{"authentication_failed", "authentication_failures", strings.Repeat("g", 32)},
				NewLinks: []Link{
					{5712, "sshd"}, {5712, "authentication_failures"},
					{5716, "syslog"}, {5716, "authentication_failed"}, {5716, strings.Repeat("g", 32)},
				},
			},
		},
		{
			name: "groups: case matters in PostgreSQL",
			sch:  pg,
			st:   state{sigs: map[int64][]Row{}, cats: map[string]int64{"syslog": 1}, links: map[[2]int64]bool{{1, 1}: true}},
			rules: []Rule{
				{ID: 1, Level: 1, Description: "one", Groups: []string{"syslog", "SYSLOG"}},
			},
			want: Plan{HasGroups: true, Insert: []Row{{1, 1, "one"}}, NewGroups: []string{"SYSLOG"}, NewLinks: []Link{{1, "SYSLOG"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(tt.sch, tt.st, tt.rules)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if got.Changes() != len(tt.want.Insert)+len(tt.want.Update)+len(tt.want.NewGroups)+len(tt.want.NewLinks) {
				t.Errorf("Changes() = %d", got.Changes())
			}
		})
	}
}

func TestIntMax(t *testing.T) {
	tests := []struct {
		typ      string
		unsigned bool
		want     int64
	}{
		{"mediumint", true, 16777215},
		{"mediumint", false, 8388607},
		{"smallint", true, 65535},
		{"int", true, 4294967295},
		{"integer", false, 2147483647},
		{"bigint", false, math.MaxInt64},
		{"numeric", false, math.MaxInt64},
	}
	for _, tt := range tests {
		if got := intMax(tt.typ, tt.unsigned); got != tt.want {
			t.Errorf("intMax(%q, %t) = %d, want %d", tt.typ, tt.unsigned, got, tt.want)
		}
	}
}
