package alertdb

import (
	"context"
	"fmt"

	"github.com/rampart-ids/rampart/internal/analytics"
)

// Tallies counts the alerts f selects, with or without a source address,
// by rule variant and location: the breakdowns of a summary. Whole days
// come from src_day, alerts without a source and the partial days at the
// edges of the time filter from the alerts table, counted by SQLite.
func (s *Store) Tallies(ctx context.Context, f analytics.Filter) ([]analytics.Tally, error) {
	var out []analytics.Tally
	err := s.read(ctx, func(sn snap) error {
		var err error
		out, err = sn.tallies(ctx, f)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("count alerts by rule and location in %s: %w", s.path, err)
	}
	return out, nil
}

func (sn snap) tallies(ctx context.Context, f analytics.Filter) ([]analytics.Tally, error) {
	out := []analytics.Tally{}
	sp := filterSpan(f)
	data, err := sn.dataSpan(ctx)
	if err != nil {
		return nil, err
	}
	sp.lo, sp.hi = max(sp.lo, data.lo), min(sp.hi, data.hi)
	if sp.empty() {
		return out, nil
	}
	rs, err := sn.rules(ctx, f)
	if err != nil || rs.none() {
		return out, err
	}
	locs, err := sn.locationNames(ctx, nil)
	if err != nil {
		return nil, err
	}
	type key struct{ rule, loc int32 }
	counts := map[key]int64{}
	add := func(query string, args ...any) error {
		rows, err := sn.tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		var k key
		var n int64
		for rows.Next() {
			if err := rows.Scan(&k.rule, &k.loc, &n); err != nil {
				return err
			}
			counts[k] += n
		}
		return rows.Err()
	}
	d0, d1, edges := sp.split()
	if d0 < d1 {
		// alert_day holds every alert, with or without a source.
		if err := add("SELECT rule, location, SUM(count) FROM alert_day WHERE day >= ? AND day < ?"+rs.sqlIn+" GROUP BY rule, location", d0, d1); err != nil {
			return nil, err
		}
	}
	for _, e := range edges {
		if err := add("SELECT rule, location, count(*) FROM alerts WHERE id >= ? AND id < ?"+rs.sqlIn+" GROUP BY rule, location",
			idOf(e.lo), idOf(e.hi)); err != nil {
			return nil, err
		}
	}
	for k, n := range counts {
		ri := rs.info[k.rule]
		out = append(out, analytics.Tally{RuleID: ri.ruleID, Level: ri.level, Description: ri.desc, Location: locs[k.loc], Count: n})
	}
	return out, nil
}
