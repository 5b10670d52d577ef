package alertdb

import (
	"context"
	"fmt"
	"strings"
)

// RuleVariant is one distinct (rule id, level, description, groups) the
// store has met in alerts. A rule the operator changed has several.
type RuleVariant struct {
	RuleID      int
	Level       int
	Description string
	Groups      []string
}

// RuleVariants returns every rule variant stored, by rule id, each rule's
// variants in the order the store first met them (the last is the newest).
func (s *Store) RuleVariants(ctx context.Context) ([]RuleVariant, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT rule_id, level, description, groups FROM rules ORDER BY rule_id, id")
	if err != nil {
		return nil, fmt.Errorf("read rules from %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []RuleVariant
	for rows.Next() {
		var v RuleVariant
		var groups string
		if err := rows.Scan(&v.RuleID, &v.Level, &v.Description, &groups); err != nil {
			return nil, fmt.Errorf("read rules from %s: %w", s.path, err)
		}
		if groups != "" {
			v.Groups = strings.Split(groups, ",")
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read rules from %s: %w", s.path, err)
	}
	return out, nil
}
