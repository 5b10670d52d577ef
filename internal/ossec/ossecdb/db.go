package ossecdb

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// DefaultPageSize is how many rows one query of Alerts fetches: large
// enough that per-query overhead vanishes, small enough that no query holds
// the server for long.
const DefaultPageSize = 10000

// Options tune a DB. The zero Options are the defaults.
type Options struct {
	// Problems receives the rows Alerts cannot turn into an alert (NULL or
	// unparsable alertid). File is "table alert, id N, server_id S"; the
	// row is skipped and counted (Rows.Malformed). Nil only counts.
	Problems ossec.Problems
	// PageSize is the number of rows per query of Alerts (0:
	// DefaultPageSize).
	PageSize int
	// Logger receives debug lines about the layout and the queries (nil:
	// discard).
	Logger *slog.Logger
	// TopIndexAdviceRows is the estimated size of alert above which
	// TopIndexAdvice advises the top index (0:
	// DefaultTopIndexAdviceRows).
	TopIndexAdviceRows int64
}

// DB is an open ossec-dbd database. It is safe for concurrent use.
type DB struct {
	sql    *sql.DB
	cfg    Config
	layout Layout
	opts   Options
	log    *slog.Logger
	// noSrcIndex is a MySQL hint keeping the optimiser off the src_ip
	// index for aggregation (see srcIndexHint), or "".
	noSrcIndex string
	// cols are alert's column types by name, for what an index may hold.
	cols map[string]string
	// rows is the catalogue's estimate of alert's rows at Open, -1 when
	// the catalogue has none.
	rows int64
}

// Open connects to the database named by dsn (see ParseDSN) with a connect
// timeout, pings it and detects its layout. An unreachable server or a
// refused login is one error line naming host and database.
func Open(ctx context.Context, dsn string) (*DB, error) {
	return OpenOptions(ctx, dsn, Options{})
}

// OpenOptions is Open with options.
func OpenOptions(ctx context.Context, dsn string, o Options) (*DB, error) {
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	sdb, err := cfg.OpenSQL(ctx)
	if err != nil {
		return nil, err
	}
	db, err := newDB(ctx, sdb, cfg, o)
	if err != nil {
		sdb.Close()
		return nil, err
	}
	return db, nil
}

func newDB(ctx context.Context, sdb *sql.DB, cfg Config, o Options) (*DB, error) {
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	if o.TopIndexAdviceRows <= 0 {
		o.TopIndexAdviceRows = DefaultTopIndexAdviceRows
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "ossecdb", "database", cfg.Database)
	db := &DB{sql: sdb, cfg: cfg, opts: o, log: log}
	l, cols, err := detectLayout(ctx, sdb, cfg.Dialect)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.where(), err)
	}
	db.cols = cols
	idx, err := readIndexes(ctx, sdb, cfg.Dialect)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.where(), err)
	}
	l.TopIndex = findTopIndex(l, idx).name
	db.layout = l
	if cfg.Dialect == MySQL {
		db.noSrcIndex = srcIndexHint(idx, l.TopIndex)
	}
	// The estimate only decides whether to give advice: a catalogue
	// that does not answer must not stop the reading.
	if db.rows, err = estimateRows(ctx, sdb, cfg.Dialect); err != nil {
		log.Debug("no row estimate", "error", err)
		db.rows = -1
	}
	log.Debug("layout detected", "layout", l.String(), "hint", db.noSrcIndex, "rows_estimate", db.rows)
	return db, nil
}

// Close closes the connections.
func (db *DB) Close() error { return db.sql.Close() }

// String names the database as a DSN without its password; it is stable, so
// it serves as a checkpoint key.
func (db *DB) String() string { return db.cfg.String() }

// Layout returns the table layout found at Open.
func (db *DB) Layout() Layout { return db.layout }

// Layout is what introspection found of ossec-dbd's tables. Layouts are
// detected, not inferred from a version, because pre-2.9 patched builds
// left "hybrid" databases (ossec-formats.md §2.2).
type Layout struct {
	Dialect Dialect
	// TextIPs: alert.src_ip is text (2.9+). Otherwise it is an integer
	// IPv4 address, 0 for none (2.8 and hybrid).
	TextIPs bool
	// AlertHasLog: alert has "user" and full_log columns (2.9+ and
	// hybrid). Otherwise they are in the data table (2.8).
	AlertHasLog bool
	// HasData: a data table with full_log exists (2.8; unused on
	// PostgreSQL 2.9+).
	HasData bool
	// HasLevel: alert.level exists. Otherwise the level comes from
	// signature (2.8), or is 0 when there is no signature table.
	HasLevel bool
	// HasSignature, HasGroups, HasLocation, HasServer: the lookup tables
	// signature, category + signature_category_mapping, location and
	// server exist.
	HasSignature, HasGroups, HasLocation, HasServer bool
	// TopIndex names an index on alert whose leading columns are
	// TopIndexColumns, under any name, so that TopSources reads that
	// index and never the table; "" when there is none.
	TopIndex string
}

// String describes the layout in a few words, e.g. "mysql, text IPs,
// log in alert, level in alert".
func (l Layout) String() string {
	parts := []string{l.Dialect.String()}
	if l.TextIPs {
		parts = append(parts, "text IPs")
	} else {
		parts = append(parts, "integer IPs")
	}
	switch {
	case l.AlertHasLog:
		parts = append(parts, "log in alert")
	case l.HasData:
		parts = append(parts, "log in data")
	default:
		parts = append(parts, "no log")
	}
	switch {
	case l.HasLevel:
		parts = append(parts, "level in alert")
	case l.HasSignature:
		parts = append(parts, "level from signature")
	default:
		parts = append(parts, "no level")
	}
	if l.TopIndex != "" {
		parts = append(parts, "top index "+l.TopIndex)
	}
	return strings.Join(parts, ", ")
}

// Family names the ossec-dbd schema family of the layout: "2.8" (integer
// IPs, log in data), "hybrid" (integer IPs, log in alert: pre-2.9 patched
// builds) or "2.9+" (text IPs: 2.9, 3.x, 4.x and master, whose tables
// differ only in the nullability of src_ip).
func (l Layout) Family() string {
	switch {
	case l.TextIPs:
		return "2.9+"
	case l.AlertHasLog:
		return "hybrid"
	}
	return "2.8"
}

// detectLayout reads information_schema for the current database (MySQL)
// or schema (PostgreSQL). It also returns alert's column types by column
// name.
func detectLayout(ctx context.Context, db *sql.DB, d Dialect) (Layout, map[string]string, error) {
	scope := "table_schema = DATABASE()"
	if d == Postgres {
		scope = "table_schema = current_schema()"
	}
	rows, err := db.QueryContext(ctx, `SELECT LOWER(table_name), LOWER(column_name), LOWER(data_type)
		FROM information_schema.columns WHERE `+scope+`
		AND LOWER(table_name) IN ('alert', 'data', 'signature', 'category', 'signature_category_mapping', 'location', 'server')`)
	if err != nil {
		return Layout{}, nil, fmt.Errorf("read information_schema: %w", err)
	}
	defer rows.Close()
	cols := map[string]string{} // "table.column" → data type
	for rows.Next() {
		var t, c, typ string
		if err := rows.Scan(&t, &c, &typ); err != nil {
			return Layout{}, nil, fmt.Errorf("read information_schema: %w", err)
		}
		cols[t+"."+c] = typ
	}
	if err := rows.Err(); err != nil {
		return Layout{}, nil, fmt.Errorf("read information_schema: %w", err)
	}
	has := func(tc string) bool { _, ok := cols[tc]; return ok }
	for _, need := range []string{"alert.id", "alert.server_id", "alert.rule_id", "alert.alertid", "alert.src_ip", "alert.location_id"} {
		if !has(need) {
			return Layout{}, nil, fmt.Errorf("not an ossec-dbd database: no column %s (import OSSEC's mysql.schema or postgresql.schema, or check the database name)", need)
		}
	}
	l := Layout{Dialect: d}
	switch cols["alert.src_ip"] {
	case "varchar", "char", "text", "tinytext", "mediumtext", "character varying", "character":
		l.TextIPs = true
	case "int", "integer", "bigint", "smallint", "mediumint", "tinyint", "numeric", "decimal":
	default:
		return Layout{}, nil, fmt.Errorf("alert.src_ip has type %q: want text or integer", cols["alert.src_ip"])
	}
	l.AlertHasLog = has("alert.full_log") && has("alert.user")
	l.HasData = has("data.id") && has("data.server_id") && has("data.full_log") && has("data.user")
	l.HasLevel = has("alert.level")
	l.HasSignature = has("signature.rule_id") && has("signature.level") && has("signature.description")
	l.HasGroups = has("signature_category_mapping.rule_id") && has("signature_category_mapping.cat_id") && has("category.cat_name")
	l.HasLocation = has("location.id") && has("location.server_id") && has("location.name")
	l.HasServer = has("server.id") && has("server.hostname")
	alertCols := map[string]string{}
	for tc, typ := range cols {
		if c, ok := strings.CutPrefix(tc, "alert."); ok {
			alertCols[c] = typ
		}
	}
	return l, alertCols, nil
}

// srcIndexHint returns " IGNORE INDEX (…)" naming the indexes that lead
// with alert.src_ip, except the top index. MariaDB picks them for GROUP BY
// src_ip, then fetches every row by primary key; a table scan and sort is
// three times faster at 200 000 rows and sequential on disk at millions.
// The names come from the catalogue because operators' schemas need not
// name the index "src_ip", and a hint naming a missing index is an error.
func srcIndexHint(idx []alertIndex, top string) string {
	var names []string
	for _, ix := range idx {
		if len(ix.cols) > 0 && ix.cols[0] == "src_ip" && ix.name != top {
			names = append(names, "`"+strings.ReplaceAll(ix.name, "`", "``")+"`")
		}
	}
	if len(names) == 0 {
		return ""
	}
	return " IGNORE INDEX (" + strings.Join(names, ", ") + ")"
}
