package alertdb

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// TimeRange returns the times of the oldest and the newest stored alert;
// ok is false when the store holds none. Alert ids order alerts by time, so
// this is two primary-key seeks, not a scan: a dashboard can place "the
// last 30 days" at the data's end without reading the data.
func (s *Store) TimeRange(ctx context.Context) (first, last time.Time, ok bool, err error) {
	var lo, hi sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT (SELECT min(id) FROM alerts), (SELECT max(id) FROM alerts)").Scan(&lo, &hi); err != nil {
		return time.Time{}, time.Time{}, false, fmt.Errorf("time range of %s: %w", s.path, err)
	}
	if !lo.Valid {
		return time.Time{}, time.Time{}, false, nil
	}
	return time.Unix(lo.Int64>>idCounterBits, 0).UTC(), time.Unix(hi.Int64>>idCounterBits, 0).UTC(), true, nil
}
