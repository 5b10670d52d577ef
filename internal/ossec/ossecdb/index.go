package ossecdb

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// TopIndexName is the name CreateTopIndex gives the index that lets
// TopSources read an index instead of the alert table.
const TopIndexName = "rampart_top"

// DefaultTopIndexAdviceRows is the estimated size of alert above which
// TopIndexAdvice speaks: below it a full scan takes well under a second.
const DefaultTopIndexAdviceRows = 200_000

// TopIndexColumns are the leading columns an index on alert needs for
// TopSources to read it alone: the group key first, so rows arrive
// grouped, then every other alert column the aggregate and the filters
// read. The 2.8 layout has no level column (its level comes from the small
// signature table).
func (l Layout) TopIndexColumns() []string {
	if l.HasLevel {
		return []string{"src_ip", "alertid", "level", "rule_id"}
	}
	return []string{"src_ip", "alertid", "rule_id"}
}

// alertIndex is one index on alert as the catalogue describes it.
type alertIndex struct {
	name string
	// cols are the indexed columns in order, lower case; "" stands for an
	// expression.
	cols []string
	// unusable says why no query can read the index alone (a column
	// prefix, an invalid or partial index, ...); "" when it can.
	unusable string
}

func (ix alertIndex) leads(cols []string) bool {
	return len(ix.cols) >= len(cols) && slices.Equal(ix.cols[:len(cols)], cols)
}

// findTopIndex picks the usable index that serves TopSources: the one
// named TopIndexName if it qualifies, else the first by name.
func findTopIndex(l Layout, idx []alertIndex) alertIndex {
	want := l.TopIndexColumns()
	var found alertIndex
	for _, ix := range idx {
		if ix.unusable != "" || !ix.leads(want) {
			continue
		}
		if ix.name == TopIndexName {
			return ix
		}
		if found.name == "" {
			found = ix
		}
	}
	return found
}

// readIndexes lists alert's indexes in name order.
func readIndexes(ctx context.Context, db *sql.DB, d Dialect) ([]alertIndex, error) {
	if d == Postgres {
		return readIndexesPostgres(ctx, db)
	}
	return readIndexesMySQL(ctx, db)
}

// readIndexesMySQL reads information_schema.statistics with "SELECT *"
// because the columns that disable an index differ by server: MariaDB
// 10.6+ has IGNORED, MySQL 8 IS_VISIBLE and EXPRESSION, older servers
// neither, and naming a missing column is an error.
func readIndexesMySQL(ctx context.Context, db *sql.DB) ([]alertIndex, error) {
	const what = "read information_schema.statistics"
	rows, err := db.QueryContext(ctx, `SELECT * FROM information_schema.statistics
		WHERE table_schema = DATABASE() AND LOWER(table_name) = 'alert' ORDER BY index_name, seq_in_index`)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	at := map[string]int{}
	for i, n := range names {
		at[strings.ToLower(n)] = i
	}
	for _, need := range []string{"index_name", "column_name"} {
		if _, ok := at[need]; !ok {
			return nil, fmt.Errorf("%s: no column %s", what, need)
		}
	}
	vals := make([]sql.NullString, len(names))
	dest := make([]any, len(names))
	for i := range vals {
		dest[i] = &vals[i]
	}
	get := func(col string) sql.NullString {
		if i, ok := at[col]; ok {
			return vals[i]
		}
		return sql.NullString{}
	}
	var out []alertIndex
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		name := get("index_name").String
		if len(out) == 0 || out[len(out)-1].name != name {
			out = append(out, alertIndex{name: name})
		}
		ix := &out[len(out)-1]
		col := strings.ToLower(get("column_name").String)
		ix.cols = append(ix.cols, col)
		var why string
		switch {
		case col == "":
			why = "indexes an expression"
		case get("sub_part").Valid:
			why = fmt.Sprintf("indexes only a prefix of %s", col)
		case get("index_type").Valid && !strings.EqualFold(get("index_type").String, "BTREE"):
			why = fmt.Sprintf("is a %s index", get("index_type").String)
		case strings.EqualFold(get("ignored").String, "YES"):
			why = "is IGNORED"
		case strings.EqualFold(get("is_visible").String, "NO"):
			why = "is INVISIBLE"
		}
		if ix.unusable == "" {
			ix.unusable = why
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// readIndexesPostgres reads pg_index: pg_indexes has only the definition
// text, which would have to be parsed. Include columns count as columns:
// an index-only scan returns them as well.
func readIndexesPostgres(ctx context.Context, db *sql.DB) ([]alertIndex, error) {
	const what = "read pg_index"
	rows, err := db.QueryContext(ctx, `SELECT i.relname, COALESCE(a.attname, ''), am.amname,
			x.indisvalid AND x.indisready AND x.indislive, x.indpred IS NOT NULL
		FROM pg_index x
		JOIN pg_class t ON t.oid = x.indrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		JOIN pg_class i ON i.oid = x.indexrelid
		JOIN pg_am am ON am.oid = i.relam
		CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
		LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum AND k.attnum > 0
		WHERE n.nspname = current_schema() AND t.relname = 'alert'
		ORDER BY i.relname, k.ord`)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []alertIndex
	for rows.Next() {
		var name, col, am string
		var valid, partial bool
		if err := rows.Scan(&name, &col, &am, &valid, &partial); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if len(out) == 0 || out[len(out)-1].name != name {
			ix := alertIndex{name: name}
			switch {
			case !valid:
				ix.unusable = "is invalid (a CREATE INDEX CONCURRENTLY that failed or is still running)"
			case partial:
				ix.unusable = "is partial"
			case am != "btree":
				ix.unusable = fmt.Sprintf("is a %s index", am)
			}
			out = append(out, ix)
		}
		ix := &out[len(out)-1]
		col = strings.ToLower(col)
		if col == "" && ix.unusable == "" {
			ix.unusable = "indexes an expression"
		}
		ix.cols = append(ix.cols, col)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// estimateRows returns the catalogue's row estimate for alert, or -1 when
// it has none: information_schema.tables.table_rows (InnoDB's sampled
// estimate) or pg_class.reltuples (-1 before the first VACUUM or
// ANALYZE). Neither counts rows, so it costs nothing on a large table.
func estimateRows(ctx context.Context, db *sql.DB, d Dialect) (int64, error) {
	q := `SELECT table_rows FROM information_schema.tables WHERE table_schema = DATABASE() AND LOWER(table_name) = 'alert'`
	if d == Postgres {
		q = `SELECT c.reltuples::float8 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = current_schema() AND c.relname = 'alert' AND c.relkind IN ('r', 'p')`
	}
	var v sql.NullFloat64
	err := db.QueryRowContext(ctx, q).Scan(&v)
	if err == sql.ErrNoRows || (err == nil && (!v.Valid || v.Float64 < 0)) {
		return -1, nil
	}
	if err != nil {
		return -1, fmt.Errorf("estimate rows of alert: %w", err)
	}
	return int64(v.Float64), nil
}

// VisibleFraction returns the share of alert's pages that PostgreSQL's
// visibility map marks all-visible (pg_class.relallvisible / relpages),
// from 0 to 1, or -1 on MySQL and for an empty or never-vacuumed table. An
// index-only scan reads the table for every page not so marked, so the
// planner prefers the top index only when most are: VACUUM (or
// autovacuum, which on an append-only table comes rarely) marks them.
func (db *DB) VisibleFraction(ctx context.Context) (float64, error) {
	if db.layout.Dialect != Postgres {
		return -1, nil
	}
	var all, pages sql.NullFloat64
	err := db.sql.QueryRowContext(ctx, `SELECT c.relallvisible::float8, c.relpages::float8 FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relname = 'alert' AND c.relkind IN ('r', 'p')`).Scan(&all, &pages)
	if err == sql.ErrNoRows || (err == nil && (!pages.Valid || pages.Float64 <= 0)) {
		return -1, nil
	}
	if err != nil {
		return -1, fmt.Errorf("read pg_class of alert on %s: %w", db.cfg.where(), err)
	}
	return min(all.Float64/pages.Float64, 1), nil
}

// RowsEstimate is the catalogue's estimate of the rows in alert when the
// database was opened, -1 when it has none (PostgreSQL before the first
// VACUUM or ANALYZE of alert).
func (db *DB) RowsEstimate() int64 { return db.rows }

// topIndexBlocked says why the layout cannot have a top index, or nil.
// MySQL indexes TEXT columns (2.8's TINYTEXT alertid) only by prefix, and
// InnoDB never reads a prefixed column from the index alone; changing the
// column's type is the operator's decision, not Rampart's.
func (db *DB) topIndexBlocked() error {
	if db.layout.Dialect != MySQL {
		return nil
	}
	for _, c := range db.layout.TopIndexColumns() {
		switch typ := db.cols[c]; typ {
		case "tinytext", "text", "mediumtext", "longtext", "tinyblob", "blob", "mediumblob", "longblob":
			return fmt.Errorf("alert.%s is %s (as in the OSSEC 2.8 schema): MySQL indexes such a column only by a prefix, which cannot be read in place of the table; TopSources keeps scanning the table", c, strings.ToUpper(typ))
		}
	}
	return nil
}

// TopIndexAdvice returns one line of advice when TopSources has to scan
// the whole alert table although an index could spare it: no index leads
// with Layout.TopIndexColumns, the layout can have one, and alert held
// more than Options.TopIndexAdviceRows rows by the estimate at Open. The
// advice names the command with this database's DSN, password redacted.
func (db *DB) TopIndexAdvice() (advice string, ok bool) {
	if db.layout.TopIndex != "" || db.rows <= db.opts.TopIndexAdviceRows || db.topIndexBlocked() != nil {
		return "", false
	}
	return fmt.Sprintf(`"rampart db optimize --db %s" adds index %s (%s); top --db then reads the index only`,
		db.String(), TopIndexName, strings.Join(db.layout.TopIndexColumns(), ", ")), true
}

// TopIndexPlan is what CreateTopIndex would do, as the catalogue stands.
type TopIndexPlan struct {
	// Columns are the index's columns: Layout.TopIndexColumns.
	Columns []string
	// Existing names an index that already serves TopSources; there is
	// then nothing to do.
	Existing string
	// Statements create the index TopIndexName (on PostgreSQL
	// concurrently, then refresh alert's statistics). Empty when Existing
	// is set.
	Statements []string
}

// PlanTopIndex reads the catalogue afresh and returns the statements
// CreateTopIndex would run. It fails when the layout cannot have the index
// (MySQL 2.8) or another index named TopIndexName is in the way: Rampart
// never drops or changes what it did not create in the same call.
func (db *DB) PlanTopIndex(ctx context.Context) (TopIndexPlan, error) {
	p, err := db.planTopIndex(ctx)
	if err != nil {
		return TopIndexPlan{}, fmt.Errorf("plan index %s on %s: %w", TopIndexName, db.cfg.where(), err)
	}
	return p, nil
}

func (db *DB) planTopIndex(ctx context.Context) (TopIndexPlan, error) {
	l := db.layout
	cols := l.TopIndexColumns()
	p := TopIndexPlan{Columns: cols}
	if err := db.topIndexBlocked(); err != nil {
		return p, err
	}
	idx, err := readIndexes(ctx, db.sql, l.Dialect)
	if err != nil {
		return p, err
	}
	if ix := findTopIndex(l, idx); ix.name != "" {
		p.Existing = ix.name
		return p, nil
	}
	for _, ix := range idx {
		if ix.name != TopIndexName {
			continue
		}
		drop := "DROP INDEX " + TopIndexName + " ON alert"
		if l.Dialect == Postgres {
			drop = "DROP INDEX CONCURRENTLY " + TopIndexName
		}
		what := ix.unusable
		if what == "" {
			what = fmt.Sprintf("is on (%s)", strings.Join(ix.cols, ", "))
		}
		return p, fmt.Errorf("index %s on alert exists but %s, not (%s): drop it (%s) to let Rampart create it", TopIndexName, what, strings.Join(cols, ", "), drop)
	}
	// Identifiers are constants of this package; nothing here comes from
	// input.
	list := strings.Join(cols, ", ")
	if l.Dialect == Postgres {
		p.Statements = []string{
			"CREATE INDEX CONCURRENTLY IF NOT EXISTS " + TopIndexName + " ON alert (" + list + ")",
			"ANALYZE alert",
		}
	} else {
		p.Statements = []string{"CREATE INDEX " + TopIndexName + " ON alert (" + list + ")"}
	}
	return p, nil
}

// TopIndexResult is what CreateTopIndex did.
type TopIndexResult struct {
	// Name is the index that serves TopSources now.
	Name    string
	Columns []string
	// Created: the index was built by this call; otherwise Name existed.
	Created bool
	// Rows is the catalogue's estimate of alert's rows afterwards, -1
	// when it has none.
	Rows int64
	// Took is how long the statements ran.
	Took time.Duration
}

// CreateTopIndex creates the index TopIndexName on alert
// (Layout.TopIndexColumns) unless an index that serves TopSources exists
// under any name. It is the only statement of this package that changes
// the database, and it changes nothing else: no rows, no other index, no
// column. MySQL builds the index online on InnoDB; PostgreSQL builds it
// concurrently, so ossec-dbd keeps inserting meanwhile.
//
// The DB's Layout is not updated: open the database again for TopSources
// to use the index.
func (db *DB) CreateTopIndex(ctx context.Context) (TopIndexResult, error) {
	r, err := db.createTopIndex(ctx)
	if err != nil {
		return TopIndexResult{}, fmt.Errorf("create index %s on %s: %w", TopIndexName, db.cfg.where(), err)
	}
	return r, nil
}

func (db *DB) createTopIndex(ctx context.Context) (TopIndexResult, error) {
	p, err := db.planTopIndex(ctx)
	if err != nil {
		return TopIndexResult{}, err
	}
	r := TopIndexResult{Name: p.Existing, Columns: p.Columns}
	if p.Existing == "" {
		start := time.Now()
		for _, s := range p.Statements {
			db.log.Debug("create top index", "sql", s)
			if _, err := db.sql.ExecContext(ctx, s); err != nil {
				err = fmt.Errorf("%s: %w", s, err)
				if db.layout.Dialect == Postgres && strings.HasPrefix(s, "CREATE INDEX") {
					err = db.dropFailedIndex(ctx, err)
				}
				return TopIndexResult{}, err
			}
		}
		r.Took = time.Since(start)
		idx, err := readIndexes(ctx, db.sql, db.layout.Dialect)
		if err != nil {
			return TopIndexResult{}, err
		}
		ix := findTopIndex(db.layout, idx)
		if ix.name == "" {
			// PostgreSQL's IF NOT EXISTS skips silently when another
			// relation has the name.
			return TopIndexResult{}, fmt.Errorf("%s ran, but no usable index on alert (%s) is in the catalogue", p.Statements[0], strings.Join(p.Columns, ", "))
		}
		r.Name, r.Created = ix.name, ix.name == TopIndexName
	}
	if r.Rows, err = estimateRows(ctx, db.sql, db.layout.Dialect); err != nil {
		r.Rows = -1
	}
	return r, nil
}

// dropFailedIndex removes the invalid index a failed or interrupted CREATE
// INDEX CONCURRENTLY of this call left behind (the plan found no index of
// that name before), so the next run can start over. The drop gets its own
// bounded context: the caller's may be what was cancelled.
func (db *DB) dropFailedIndex(ctx context.Context, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	idx, err := readIndexes(ctx, db.sql, db.layout.Dialect)
	if err != nil {
		return fmt.Errorf("%w (and then: %w)", cause, err)
	}
	for _, ix := range idx {
		if ix.name == TopIndexName && ix.unusable != "" {
			const drop = "DROP INDEX CONCURRENTLY IF EXISTS " + TopIndexName
			if _, err := db.sql.ExecContext(ctx, drop); err != nil {
				return fmt.Errorf("%w (and the invalid index it left could not be dropped: run %q: %w)", cause, drop, err)
			}
			db.log.Debug("dropped the invalid index of a failed build", "index", TopIndexName)
		}
	}
	return cause
}
