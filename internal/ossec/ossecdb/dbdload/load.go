package dbdload

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// Limits of dbd's columns and buffers (ossec-formats.md §2, §3.2).
const (
	maxLogLines    = 20   // read-alert.c keeps 20 log lines
	maxLog         = 7456 // longer full_log is cut to maxLog-2 + ".."
	maxLocation    = 128  // location.name VARCHAR(128)
	maxCategory    = 32   // category.cat_name VARCHAR(32)
	maxDescription = 255  // signature.description VARCHAR(255)
)

// rowsPerInsert rows go in one multi-row INSERT and rowsPerTx in one
// transaction: a round trip per thousand rows, and commits small enough
// not to swell the undo log on millions of rows.
const (
	rowsPerInsert = 1000
	rowsPerTx     = 50 * rowsPerInsert
)

// Loader inserts alerts as one ossec-dbd process of the given version does:
// it upserts its server row, adds location rows (ids cached per name), the
// rule → group mapping for each rule it meets, signature rows in 2.8, and
// the alert rows with that writer's spellings. It is not safe for
// concurrent use.
type Loader struct {
	db         *sql.DB
	d          Dialect
	v          Version
	serverName string

	started  bool
	serverID int64
	nextID   int64 // 2.8: dbd numbers alerts itself from MAX(id)+1
	locs     map[string]int64
	rules    map[int]*rule
	cats     map[string]catRow // group as given → stored row
	skipped  int64
	loaded   int64
}

type rule struct {
	level       int
	description string
	groups      []string // as stored
}

type catRow struct {
	id   int64
	name string // as stored: sanitised, cut, and as the collation matched it
}

// NewLoader returns a Loader writing as the manager serverName (its
// server.hostname, at most 64 characters).
func NewLoader(db *sql.DB, d Dialect, v Version, serverName string) *Loader {
	return &Loader{db: db, d: d, v: v, serverName: serverName,
		locs: map[string]int64{}, rules: map[int]*rule{}, cats: map[string]catRow{}}
}

// Loaded returns how many alerts were inserted.
func (l *Loader) Loaded() int64 { return l.loaded }

// Skipped returns how many alerts were not inserted because dbd could not
// have inserted them: a location over 128 characters ("Unable to insert
// location").
func (l *Loader) Skipped() int64 { return l.skipped }

// Load inserts alerts. It may be called repeatedly, in batches.
func (l *Loader) Load(ctx context.Context, alerts []ossec.Alert) error {
	if err := l.load(ctx, alerts); err != nil {
		return fmt.Errorf("load alerts into %s %s database as %q: %w", l.d, l.v, l.serverName, err)
	}
	return nil
}

func (l *Loader) load(ctx context.Context, alerts []ossec.Alert) error {
	if !l.v.valid() || (l.d != MySQL && l.d != Postgres) {
		return fmt.Errorf("unknown dialect %v or version %v", l.d, l.v)
	}
	if len(alerts) == 0 {
		return nil
	}
	if !l.started {
		if err := l.start(ctx, alerts[0]); err != nil {
			return err
		}
		l.started = true
	}
	rows := make([]row, 0, min(len(alerts), rowsPerTx))
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		err := l.insert(ctx, rows)
		rows = rows[:0]
		return err
	}
	for i := range alerts {
		a := &alerts[i]
		name := l.locationName(a.Location.Raw)
		if utf8.RuneCountInString(name) > maxLocation {
			l.skipped++
			continue
		}
		locID, err := l.location(ctx, name)
		if err != nil {
			return err
		}
		if _, ok := l.rules[a.RuleID]; !ok {
			if err := l.addRule(ctx, a); err != nil {
				return err
			}
		}
		rows = append(rows, l.row(a, locID))
		if len(rows) == rowsPerTx {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// start upserts the server row, as dbd does at start.
func (l *Loader) start(ctx context.Context, first ossec.Alert) error {
	version := map[Version]string{V28: "v2.8.3", V29: "v2.9.4", V3x: "v3.7.0", VMaster: "v4.3.0", VHybrid: "v2.8.3"}[l.v]
	contact := alertTime(&first)
	info := "Linux " + l.serverName + " (rampart dbdload)"
	var q string
	if l.d == MySQL {
		q = `INSERT INTO server (last_contact, version, hostname, information) VALUES (?, ?, ?, ?)
			ON DUPLICATE KEY UPDATE last_contact = VALUES(last_contact), version = VALUES(version)`
	} else {
		q = `INSERT INTO server (last_contact, version, hostname, information) VALUES ($1, $2, $3, $4)
			ON CONFLICT (hostname) DO UPDATE SET last_contact = EXCLUDED.last_contact, version = EXCLUDED.version`
	}
	if _, err := l.db.ExecContext(ctx, q, contact, version, l.serverName, info); err != nil {
		return fmt.Errorf("upsert server row: %w", err)
	}
	if err := l.db.QueryRowContext(ctx, l.ph("SELECT id FROM server WHERE hostname = ?"), l.serverName).Scan(&l.serverID); err != nil {
		return fmt.Errorf("read server id: %w", err)
	}
	if l.v == V28 {
		err := l.db.QueryRowContext(ctx, l.ph("SELECT COALESCE(MAX(id), 0) FROM alert WHERE server_id = ?"), l.serverID).Scan(&l.nextID)
		if err != nil {
			return fmt.Errorf("read MAX(id): %w", err)
		}
		l.nextID++
	}
	return nil
}

// ph rewrites "?" placeholders for PostgreSQL.
func (l *Loader) ph(q string) string {
	if l.d != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// locationName is the location as this version stores it: sanitised from
// 3.0, raw before (made valid UTF-8, which the column's charset demands).
func (l *Loader) locationName(raw string) string {
	if l.v == V3x || l.v == VMaster {
		return ossec.SanitizeDB(raw)
	}
	return rawText(raw)
}

func rawText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", " ")
}

// location returns the id of a location row, adding the row if needed.
// dbd looks names up with SQL "=", which a MySQL collation makes case- and
// trailing-space-insensitive; only a byte-equal row is reused here, so what
// is read back is exactly what was loaded.
func (l *Loader) location(ctx context.Context, name string) (int64, error) {
	if id, ok := l.locs[name]; ok {
		return id, nil
	}
	rs, err := l.db.QueryContext(ctx, l.ph("SELECT id, name FROM location WHERE server_id = ? AND name = ?"), l.serverID, name)
	if err != nil {
		return 0, fmt.Errorf("look up location %q: %w", name, err)
	}
	var id int64
	for rs.Next() {
		var i int64
		var n string
		if err := rs.Scan(&i, &n); err != nil {
			rs.Close()
			return 0, fmt.Errorf("look up location %q: %w", name, err)
		}
		if n == name {
			id = i
		}
	}
	rs.Close()
	if err := rs.Err(); err != nil {
		return 0, fmt.Errorf("look up location %q: %w", name, err)
	}
	if id == 0 {
		id, err = l.insertID(ctx, "location", "INSERT INTO location (server_id, name) VALUES (?, ?)", l.serverID, name)
		if err != nil {
			return 0, fmt.Errorf("insert location %q: %w", name, err)
		}
	}
	l.locs[name] = id
	return id, nil
}

// insertID inserts one row and returns its generated id.
func (l *Loader) insertID(ctx context.Context, table, q string, args ...any) (int64, error) {
	if l.d == Postgres {
		var id int64
		idCol := "id"
		if table == "category" {
			idCol = "cat_id"
		}
		err := l.db.QueryRowContext(ctx, l.ph(q)+" RETURNING "+idCol, args...).Scan(&id)
		return id, err
	}
	res, err := l.db.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// addRule records a rule met for the first time: its groups in category
// and signature_category_mapping (dbd refreshes them at start from the
// rules), and in 2.8 its signature row, where the level lives.
func (l *Loader) addRule(ctx context.Context, a *ossec.Alert) error {
	r := &rule{level: min(max(a.Level, 0), 255), description: cut(ossec.SanitizeDB(a.Description), maxDescription)}
	if _, err := l.db.ExecContext(ctx, l.ph("DELETE FROM signature_category_mapping WHERE rule_id = ?"), a.RuleID); err != nil {
		return fmt.Errorf("clear groups of rule %d: %w", a.RuleID, err)
	}
	for _, g := range a.Groups {
		c, err := l.category(ctx, g)
		if err != nil {
			return err
		}
		if c.name == "" || containsString(r.groups, c.name) {
			continue
		}
		r.groups = append(r.groups, c.name)
		if _, err := l.db.ExecContext(ctx, l.ph("INSERT INTO signature_category_mapping (rule_id, cat_id) VALUES (?, ?)"), a.RuleID, c.id); err != nil {
			return fmt.Errorf("map rule %d to group %q: %w", a.RuleID, c.name, err)
		}
	}
	if l.v == V28 {
		q := "INSERT INTO signature (rule_id, level, description) VALUES (?, ?, ?)"
		if l.d == MySQL {
			q += " ON DUPLICATE KEY UPDATE level = VALUES(level), description = VALUES(description)"
		} else {
			q += " ON CONFLICT (rule_id) DO UPDATE SET level = EXCLUDED.level, description = EXCLUDED.description"
		}
		if _, err := l.db.ExecContext(ctx, l.ph(q), a.RuleID, r.level, r.description); err != nil {
			return fmt.Errorf("insert signature of rule %d: %w", a.RuleID, err)
		}
	}
	l.rules[a.RuleID] = r
	return nil
}

// category returns the category row of group g, adding it if needed.
func (l *Loader) category(ctx context.Context, g string) (catRow, error) {
	if c, ok := l.cats[g]; ok {
		return c, nil
	}
	name := cut(ossec.SanitizeDB(g), maxCategory)
	if name == "" {
		return catRow{}, nil
	}
	q := "INSERT IGNORE INTO category (cat_name) VALUES (?)"
	if l.d == Postgres {
		q = "INSERT INTO category (cat_name) VALUES (?) ON CONFLICT (cat_name) DO NOTHING"
	}
	if _, err := l.db.ExecContext(ctx, l.ph(q), name); err != nil {
		return catRow{}, fmt.Errorf("insert group %q: %w", name, err)
	}
	var c catRow
	if err := l.db.QueryRowContext(ctx, l.ph("SELECT cat_id, cat_name FROM category WHERE cat_name = ?"), name).Scan(&c.id, &c.name); err != nil {
		return catRow{}, fmt.Errorf("read group %q: %w", name, err)
	}
	l.cats[g] = c
	return c, nil
}

// row is one alert's column values.
type row struct {
	id               int64 // 2.8 only
	rule             int
	level            int
	timestamp        int64
	location         int64
	src, dst         any
	srcPort, dstPort int
	alertid          any
	user, log        string
}

func (l *Loader) row(a *ossec.Alert, locID int64) row {
	r := row{
		rule:      a.RuleID,
		level:     min(max(a.Level, 0), 255),
		timestamp: alertTime(a) + insertLag(a.ID),
		location:  locID,
		srcPort:   int(a.SrcPort),
		dstPort:   int(a.DstPort),
		src:       l.addr(a.SrcIP),
		dst:       l.addr(a.DstIP),
		user:      l.user(a.User),
		log:       fullLog(a.Log),
	}
	if !a.ID.IsZero() {
		r.alertid = a.ID.String()
	}
	if l.v == V28 {
		r.id = l.nextID
		l.nextID++
	}
	return r
}

// alertTime is the alert's epoch: Time, or the ID's epoch when Time is
// unset.
func alertTime(a *ossec.Alert) int64 {
	if !a.Time.IsZero() {
		return a.Time.Unix()
	}
	return a.ID.Epoch
}

// insertLag is the 0–2 s between analysisd writing an alert and dbd
// inserting it, derived from the ID so loads are reproducible.
func insertLag(id ossec.ID) int64 {
	h := fnv.New32a()
	h.Write([]byte(id.String()))
	return int64(h.Sum32() % 3)
}

// addr is an address as this writer stores it (ossec-formats.md §3.1).
func (l *Loader) addr(a netip.Addr) any {
	if !l.v.textIPs() {
		a = a.Unmap()
		if !a.Is4() {
			return int64(0) // none, and 2.8 cannot store IPv6
		}
		b := a.As4()
		return int64(b[0])<<24 | int64(b[1])<<16 | int64(b[2])<<8 | int64(b[3])
	}
	if a.IsValid() {
		return a.String()
	}
	switch {
	case l.v == VMaster:
		return nil
	case l.v == V3x && l.d == Postgres:
		return "NULL"
	}
	return "(null)"
}

// user is the User: value as this writer stores it.
func (l *Loader) user(u string) string {
	if u != "" {
		return ossec.SanitizeDB(u)
	}
	switch {
	case l.v == VMaster:
		return ""
	case l.v == V3x && l.d == Postgres:
		return "NULL"
	}
	return "(null)"
}

// fullLog joins at most 20 log lines, sanitises them and cuts the text to
// what dbd's 8 KiB INSERT buffer leaves.
func fullLog(lines []string) string {
	if len(lines) > maxLogLines {
		lines = lines[:maxLogLines]
	}
	s := ossec.SanitizeDB(strings.Join(lines, "\n"))
	if len(s) > maxLog {
		s = s[:maxLog-2] + ".."
	}
	return s
}

// cut shortens ASCII text (sanitised text is ASCII) to n bytes.
func cut(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// insert writes rows in one transaction, rowsPerInsert rows per statement.
func (l *Loader) insert(ctx context.Context, rows []row) (err error) {
	n := int64(len(rows))
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	var full *sql.Stmt // the statement for a whole chunk, prepared once
	var fullData *sql.Stmt
	for len(rows) > 0 {
		chunk := rows[:min(len(rows), rowsPerInsert)]
		rows = rows[len(chunk):]
		stmt, dataStmt := full, fullData
		if len(chunk) < rowsPerInsert || stmt == nil {
			if stmt, err = tx.PrepareContext(ctx, l.alertInsert(len(chunk))); err != nil {
				return fmt.Errorf("prepare alert insert: %w", err)
			}
			if l.v == V28 {
				if dataStmt, err = tx.PrepareContext(ctx, l.dataInsert(len(chunk))); err != nil {
					return fmt.Errorf("prepare data insert: %w", err)
				}
			}
			if len(chunk) == rowsPerInsert {
				full, fullData = stmt, dataStmt
			}
		}
		if _, err = stmt.ExecContext(ctx, l.alertArgs(chunk)...); err != nil {
			return fmt.Errorf("insert alerts: %w", err)
		}
		if l.v == V28 {
			if _, err = dataStmt.ExecContext(ctx, l.dataArgs(chunk)...); err != nil {
				return fmt.Errorf("insert data: %w", err)
			}
		}
	}
	if err = tx.Commit(); err != nil {
		return err
	}
	l.loaded += n
	return nil
}

func (l *Loader) alertColumns() []string {
	if l.v == V28 {
		return []string{"id", "server_id", "rule_id", "timestamp", "location_id", "src_ip", "dst_ip", "src_port", "dst_port", "alertid"}
	}
	user := "`user`"
	if l.d == Postgres {
		user = `"user"`
	}
	return []string{"server_id", "rule_id", "level", "timestamp", "location_id", "src_ip", "dst_ip", "src_port", "dst_port", "alertid", user, "full_log"}
}

func (l *Loader) alertInsert(n int) string {
	return l.multiInsert("alert", l.alertColumns(), n)
}

func (l *Loader) dataInsert(n int) string {
	user := "`user`"
	if l.d == Postgres {
		user = `"user"`
	}
	return l.multiInsert("data", []string{"id", "server_id", user, "full_log"}, n)
}

// multiInsert is "INSERT INTO t (cols) VALUES (...), (...)" for n rows.
func (l *Loader) multiInsert(table string, cols []string, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	p := 0
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range cols {
			if j > 0 {
				b.WriteString(", ")
			}
			p++
			if l.d == Postgres {
				b.WriteString("$" + strconv.Itoa(p))
			} else {
				b.WriteByte('?')
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}

func (l *Loader) alertArgs(rows []row) []any {
	args := make([]any, 0, len(rows)*12)
	for _, r := range rows {
		if l.v == V28 {
			args = append(args, r.id, l.serverID, r.rule, r.timestamp, r.location, r.src, r.dst, r.srcPort, r.dstPort, r.alertid)
			continue
		}
		args = append(args, l.serverID, r.rule, r.level, r.timestamp, r.location, r.src, r.dst, r.srcPort, r.dstPort, r.alertid, r.user, r.log)
	}
	return args
}

func (l *Loader) dataArgs(rows []row) []any {
	args := make([]any, 0, len(rows)*4)
	for _, r := range rows {
		args = append(args, r.id, l.serverID, r.user, r.log)
	}
	return args
}
