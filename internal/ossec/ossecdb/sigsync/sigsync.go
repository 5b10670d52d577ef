package sigsync

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
)

// Rule is what the rules files say of one rule.
type Rule struct {
	ID, Level   int
	Description string
	Groups      []string
}

// NoLevel is Row.Level for a NULL level.
const NoLevel = -1

// Row is one row of signature, or one to write.
type Row struct {
	RuleID      int64
	Level       int // NoLevel for NULL
	Description string
}

// Update is a row whose level or description the rules files change.
type Update struct{ Old, New Row }

// Link is a rule → group link (signature_category_mapping → category).
type Link struct {
	RuleID int64
	Group  string
}

// Skip is a rule the database cannot hold.
type Skip struct {
	RuleID int
	Reason string
}

// Plan is what Apply writes, and what it leaves alone. Lists are ordered by
// rule id, then group.
type Plan struct {
	Insert    []Row
	Update    []Update
	Unchanged int
	// Foreign are rows of rules the rules files do not define: left alone.
	Foreign []Row
	// Skipped are rules the rule_id column cannot hold.
	Skipped []Skip
	// HasGroups: the database has category and signature_category_mapping;
	// NewGroups and NewLinks are the rows to add there.
	HasGroups bool
	NewGroups []string
	NewLinks  []Link
}

// Changes counts the rows Apply writes.
func (p Plan) Changes() int {
	return len(p.Insert) + len(p.Update) + len(p.NewGroups) + len(p.NewLinks)
}

// Syncer writes rule names into one ossec-dbd database.
type Syncer struct {
	db  *sql.DB
	cfg ossecdb.Config
	sch schema
}

// schema is what the catalogue says of the tables Syncer writes.
type schema struct {
	dialect ossecdb.Dialect
	// maxRuleID is the largest id the rule_id columns hold.
	maxRuleID int64
	// descLen and groupLen are the lengths of signature.description and
	// category.cat_name in characters, 0 for unbounded.
	descLen, groupLen int
	groups            bool
}

// Open connects to the ossec-dbd database at dsn (see ossecdb.ParseDSN) and
// checks that it has the tables to fill. It writes nothing.
func Open(ctx context.Context, dsn string) (*Syncer, error) {
	cfg, err := ossecdb.ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	db, err := cfg.OpenSQL(ctx)
	if err != nil {
		return nil, err
	}
	sch, err := readSchema(ctx, db, cfg.Dialect)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", cfg, err)
	}
	return &Syncer{db: db, cfg: cfg, sch: sch}, nil
}

// Close closes the connections.
func (s *Syncer) Close() error { return s.db.Close() }

// String names the database as a DSN without its password.
func (s *Syncer) String() string { return s.cfg.String() }

// HasGroups reports whether the database has category and
// signature_category_mapping.
func (s *Syncer) HasGroups() bool { return s.sch.groups }

// Plan reads the tables and says what Apply would write. It writes nothing.
func (s *Syncer) Plan(ctx context.Context, rules []Rule) (Plan, error) {
	st, err := readState(ctx, s.db, s.sch)
	if err != nil {
		return Plan{}, fmt.Errorf("%s: %w", s.cfg, err)
	}
	return plan(s.sch, st, rules), nil
}

// Apply reads the tables again, computes the plan and writes it, all in one
// transaction: a failure writes nothing. It returns what it wrote.
func (s *Syncer) Apply(ctx context.Context, rules []Rule) (Plan, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Plan{}, fmt.Errorf("%s: begin: %w", s.cfg, err)
	}
	defer tx.Rollback()
	st, err := readState(ctx, tx, s.sch)
	if err != nil {
		return Plan{}, fmt.Errorf("%s: %w", s.cfg, err)
	}
	p := plan(s.sch, st, rules)
	if err := s.write(ctx, tx, p); err != nil {
		return Plan{}, fmt.Errorf("%s: %w (nothing written)", s.cfg, err)
	}
	if err := tx.Commit(); err != nil {
		return Plan{}, fmt.Errorf("%s: commit: %w", s.cfg, err)
	}
	return p, nil
}

// queryer is *sql.DB or *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// readSchema checks that db is an ossec-dbd database with a signature table
// and reads the limits of the columns Syncer writes.
func readSchema(ctx context.Context, db queryer, d ossecdb.Dialect) (schema, error) {
	q := `SELECT LOWER(table_name), LOWER(column_name), LOWER(data_type), LOWER(column_type), character_maximum_length
		FROM information_schema.columns WHERE table_schema = DATABASE()`
	if d == ossecdb.Postgres {
		q = `SELECT LOWER(table_name), LOWER(column_name), LOWER(data_type), LOWER(data_type), character_maximum_length
		FROM information_schema.columns WHERE table_schema = current_schema()`
	}
	q += " AND LOWER(table_name) IN ('alert', 'signature', 'category', 'signature_category_mapping')"
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return schema{}, fmt.Errorf("read information_schema: %w", err)
	}
	defer rows.Close()
	type column struct {
		typ, full string
		length    sql.NullInt64
	}
	cols := map[string]column{}
	for rows.Next() {
		var t, c string
		var col column
		if err := rows.Scan(&t, &c, &col.typ, &col.full, &col.length); err != nil {
			return schema{}, fmt.Errorf("read information_schema: %w", err)
		}
		cols[t+"."+c] = col
	}
	if err := rows.Err(); err != nil {
		return schema{}, fmt.Errorf("read information_schema: %w", err)
	}
	has := func(names ...string) bool {
		for _, n := range names {
			if _, ok := cols[n]; !ok {
				return false
			}
		}
		return true
	}
	if !has("alert.rule_id") {
		return schema{}, fmt.Errorf("not an ossec-dbd database: no table alert with a rule_id column (check the database name)")
	}
	if !has("signature.rule_id", "signature.level", "signature.description") {
		return schema{}, fmt.Errorf("no table signature with columns rule_id, level, description: nothing to fill (OSSEC's mysql.schema or postgresql.schema creates it)")
	}
	sch := schema{dialect: d, maxRuleID: math.MaxInt64}
	sch.groups = has("category.cat_id", "category.cat_name", "signature_category_mapping.rule_id", "signature_category_mapping.cat_id")
	limit := func(name string) {
		c := cols[name]
		sch.maxRuleID = min(sch.maxRuleID, intMax(c.typ, strings.Contains(c.full, "unsigned")))
	}
	limit("signature.rule_id")
	if sch.groups {
		limit("signature_category_mapping.rule_id")
		sch.groupLen = int(cols["category.cat_name"].length.Int64)
	}
	sch.descLen = int(cols["signature.description"].length.Int64)
	return sch, nil
}

// intMax is the largest value an integer column of type typ holds
// (math.MaxInt64 for types without a smaller bound).
func intMax(typ string, unsigned bool) int64 {
	bits := 0
	switch typ {
	case "tinyint":
		bits = 8
	case "smallint":
		bits = 16
	case "mediumint":
		bits = 24
	case "int", "integer":
		bits = 32
	}
	if bits == 0 {
		return math.MaxInt64
	}
	if !unsigned {
		bits--
	}
	return 1<<bits - 1
}

// state is what the tables hold.
type state struct {
	sigs  map[int64][]Row
	cats  map[string]int64 // groupKey(name) → cat_id
	links map[[2]int64]bool
}

func readState(ctx context.Context, db queryer, sch schema) (state, error) {
	st := state{sigs: map[int64][]Row{}, cats: map[string]int64{}, links: map[[2]int64]bool{}}
	err := each(ctx, db, "SELECT rule_id, level, description FROM signature", func(rs *sql.Rows) error {
		var r Row
		var level sql.NullInt64
		var desc sql.NullString
		if err := rs.Scan(&r.RuleID, &level, &desc); err != nil {
			return err
		}
		r.Level, r.Description = NoLevel, desc.String
		if level.Valid {
			r.Level = int(level.Int64)
		}
		st.sigs[r.RuleID] = append(st.sigs[r.RuleID], r)
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("read table signature: %w", err)
	}
	if !sch.groups {
		return st, nil
	}
	err = each(ctx, db, "SELECT cat_id, cat_name FROM category", func(rs *sql.Rows) error {
		var id int64
		var name string
		if err := rs.Scan(&id, &name); err != nil {
			return err
		}
		st.cats[groupKey(sch.dialect, name)] = id
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("read table category: %w", err)
	}
	err = each(ctx, db, "SELECT rule_id, cat_id FROM signature_category_mapping", func(rs *sql.Rows) error {
		var k [2]int64
		if err := rs.Scan(&k[0], &k[1]); err != nil {
			return err
		}
		st.links[k] = true
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("read table signature_category_mapping: %w", err)
	}
	return st, nil
}

func each(ctx context.Context, db queryer, q string, fn func(*sql.Rows) error) error {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// groupKey is the identity of a category name under the column's
// collation: MySQL's default collations ignore case.
func groupKey(d ossecdb.Dialect, name string) string {
	if d == ossecdb.MySQL {
		return strings.ToLower(name)
	}
	return name
}

// stored is text as ossec-dbd stores it (sanitised, so the rows match the
// ones dbd itself wrote in 2.8 and any column charset takes them), cut to
// the column's length.
func stored(s string, n int) string {
	s = ossec.SanitizeDB(s)
	if n > 0 && len(s) > n {
		s = s[:n] // ASCII after sanitising: bytes are characters
	}
	return s
}

// plan compares the rules with the tables' state.
func plan(sch schema, st state, rules []Rule) Plan {
	p := Plan{HasGroups: sch.groups}
	rules = slices.Clone(rules)
	slices.SortFunc(rules, func(a, b Rule) int { return a.ID - b.ID })
	defined := map[int64]bool{}
	newCats := map[string]bool{}
	for _, r := range rules {
		id := int64(r.ID)
		if id < 0 || id > sch.maxRuleID {
			p.Skipped = append(p.Skipped, Skip{RuleID: r.ID, Reason: fmt.Sprintf("rule id beyond the rule_id column (at most %d)", sch.maxRuleID)})
			continue
		}
		if defined[id] {
			continue
		}
		defined[id] = true
		want := Row{RuleID: id, Level: r.Level, Description: stored(r.Description, sch.descLen)}
		have := st.sigs[id]
		if len(have) == 0 {
			p.Insert = append(p.Insert, want)
		} else if i := slices.IndexFunc(have, func(h Row) bool { return h != want }); i >= 0 {
			p.Update = append(p.Update, Update{Old: have[i], New: want})
		} else {
			p.Unchanged++
		}
		if !sch.groups {
			continue
		}
		var seen []string
		for _, g := range r.Groups {
			name := stored(g, sch.groupLen)
			key := groupKey(sch.dialect, name)
			if strings.TrimSpace(name) == "" || slices.Contains(seen, key) {
				continue
			}
			seen = append(seen, key)
			cat, ok := st.cats[key]
			if !ok && !newCats[key] {
				newCats[key] = true
				p.NewGroups = append(p.NewGroups, name)
			}
			if !ok || !st.links[[2]int64{id, cat}] {
				p.NewLinks = append(p.NewLinks, Link{RuleID: id, Group: name})
			}
		}
	}
	for id, rows := range st.sigs {
		if !defined[id] {
			p.Foreign = append(p.Foreign, rows...)
		}
	}
	slices.SortFunc(p.Foreign, func(a, b Row) int {
		if a.RuleID != b.RuleID {
			return compareInt(a.RuleID, b.RuleID)
		}
		return strings.Compare(a.Description, b.Description)
	})
	slices.Sort(p.NewGroups)
	return p
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// rowsPerInsert rows go in one multi-row INSERT: a few round trips for a
// full OSSEC rule set, and far below either engine's placeholder limit.
const rowsPerInsert = 500

func (s *Syncer) write(ctx context.Context, tx *sql.Tx, p Plan) error {
	rows := make([][]any, len(p.Insert))
	for i, r := range p.Insert {
		rows[i] = []any{r.RuleID, r.Level, r.Description}
	}
	if err := s.insert(ctx, tx, "signature (rule_id, level, description)", rows); err != nil {
		return fmt.Errorf("insert into signature: %w", err)
	}
	for _, u := range p.Update {
		q := s.ph("UPDATE signature SET level = ?, description = ? WHERE rule_id = ?")
		if _, err := tx.ExecContext(ctx, q, u.New.Level, u.New.Description, u.New.RuleID); err != nil {
			return fmt.Errorf("update signature of rule %d: %w", u.New.RuleID, err)
		}
	}
	if len(p.NewLinks) == 0 && len(p.NewGroups) == 0 {
		return nil
	}
	for _, g := range p.NewGroups {
		if _, err := tx.ExecContext(ctx, s.ph("INSERT INTO category (cat_name) VALUES (?)"), g); err != nil {
			return fmt.Errorf("insert group %q into category: %w", g, err)
		}
	}
	cats := map[string]int64{}
	err := each(ctx, tx, "SELECT cat_id, cat_name FROM category", func(rs *sql.Rows) error {
		var id int64
		var name string
		if err := rs.Scan(&id, &name); err != nil {
			return err
		}
		cats[groupKey(s.sch.dialect, name)] = id
		return nil
	})
	if err != nil {
		return fmt.Errorf("read table category: %w", err)
	}
	rows = rows[:0]
	for _, l := range p.NewLinks {
		id, ok := cats[groupKey(s.sch.dialect, l.Group)]
		if !ok {
			return fmt.Errorf("group %q not in category after inserting it", l.Group)
		}
		rows = append(rows, []any{l.RuleID, id})
	}
	if err := s.insert(ctx, tx, "signature_category_mapping (rule_id, cat_id)", rows); err != nil {
		return fmt.Errorf("insert into signature_category_mapping: %w", err)
	}
	return nil
}

// insert adds rows to into ("table (columns)") with multi-row INSERTs.
func (s *Syncer) insert(ctx context.Context, tx *sql.Tx, into string, rows [][]any) error {
	for len(rows) > 0 {
		n := min(len(rows), rowsPerInsert)
		var b strings.Builder
		b.WriteString("INSERT INTO " + into + " VALUES ")
		args := make([]any, 0, n*len(rows[0]))
		for i, r := range rows[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(")
			for j, v := range r {
				if j > 0 {
					b.WriteString(", ")
				}
				args = append(args, v)
				b.WriteString(s.placeholder(len(args)))
			}
			b.WriteString(")")
		}
		if _, err := tx.ExecContext(ctx, b.String(), args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

func (s *Syncer) placeholder(n int) string {
	if s.sch.dialect == ossecdb.Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// ph numbers the "?" placeholders of q for PostgreSQL.
func (s *Syncer) ph(q string) string {
	if s.sch.dialect != ossecdb.Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteString(s.placeholder(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}
