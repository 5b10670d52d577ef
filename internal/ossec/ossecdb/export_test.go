package ossecdb

import "github.com/rampart-ids/rampart/internal/analytics"

// TopQuery is the aggregate TopSources runs first for f, for tests that
// ask the engine how it would run it (EXPLAIN).
func TopQuery(db *DB, f analytics.Filter) (string, []any) {
	q := db.topQuery(f, !textBoundsOK(f))
	return q.String(), q.args
}
