package alertdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// Checkpoint is where the import of one source stopped. It is committed in
// the same transaction as the alerts read before it, so it never runs ahead
// of (or behind) what the store holds.
type Checkpoint struct {
	// Offset is the byte offset in a file just after the last committed
	// alert.
	Offset int64
	// Line is the 1-based line number at Offset's position, for messages.
	Line int
	// Positions holds, for an ossec-dbd source, the last alert id imported
	// per server_id.
	Positions map[int]int64
	// Detail is opaque resume state of the reader that produced the
	// alerts, such as a followed file's identity (device, inode, first
	// line); the store keeps it and gives it back.
	Detail string
}

// WriterStats counts what a Writer's commits stored.
type WriterStats struct {
	// Added counts committed new alerts.
	Added int64
	// Duplicates counts alerts that were not stored because an alert with
	// the same time and key was already stored or earlier in the import.
	Duplicates int64
}

// Writer imports alerts of one source. Add buffers an alert, Commit stores
// the buffered alerts, their rollups and a checkpoint in one transaction.
// Alerts added but not committed are discarded by Close, which is what makes
// a resumed import exact.
//
// A Writer is used by one goroutine; it does its SQL work on a goroutine of
// its own so that the caller's parsing overlaps with the database work. After
// an error the Writer is unusable: Close it and start again from the last
// checkpoint.
type Writer struct {
	s      *Store
	ctx    context.Context
	source string
	lock   *os.File
	conn   *sql.Conn

	// Owned by the caller's goroutine.
	rules    map[int][]ruleVariant
	nextRule int64
	locs     map[string]int32
	nextLoc  int64
	cur      *chunk
	closed   bool

	work   chan msg
	free   chan *chunk
	exited chan struct{}
	// Checkpoints of the WAL run on their own connection and goroutine, so
	// that copying pages into the database overlaps with the next batch.
	ckptConn *sql.Conn
	ckpt     chan struct{}
	ckptDone chan struct{}
	failErr  atomic.Pointer[error]

	added, dups atomic.Int64

	sql sqlSide // owned by the SQL goroutine
}

// chunkRows is how many alerts travel together to the SQL goroutine.
const chunkRows = 4096

// insertRows is how many rows one INSERT statement carries: few enough to
// stay far below SQLITE_MAX_VARIABLE_NUMBER (32766) with 14 columns, many
// enough that per-statement overhead vanishes.
const insertRows = 256

type ruleVariant struct {
	id     int32
	ruleID int
	level  int
	desc   string
	groups string // joined with ","
}

type locRow struct {
	id  int32
	loc ossec.Location
}

type row struct {
	id, time     int64 // id is assigned by dedup
	key          int64
	seq, epoch   int64
	rule, loc    int32
	mail         bool
	src, dst     netip.Addr
	sport, dport uint16
	user, log    string
}

type chunk struct {
	rows     []row
	newRules []ruleVariant
	newLocs  []locRow
}

type msg struct {
	c      *chunk
	commit bool
	cp     Checkpoint
	close  bool
	reply  chan error
}

var errWriterClosed = errors.New("alert writer is closed")

// NewWriter starts an import of source (the key its checkpoint is stored
// under). Only one writer may exist per store at a time, across processes:
// while another exists NewWriter fails with an error wrapping ErrWriterBusy.
// ctx bounds the writer's whole life.
func (s *Store) NewWriter(ctx context.Context, source string) (*Writer, error) {
	if source == "" {
		return nil, errors.New("new alert writer: empty source")
	}
	lock, err := lockWriter(s.path + "-lock")
	if err != nil {
		return nil, err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("new alert writer for %s: %w", s.path, err)
	}
	ckptConn, err := s.db.Conn(ctx)
	if err != nil {
		conn.Close()
		lock.Close()
		return nil, fmt.Errorf("new alert writer for %s: %w", s.path, err)
	}
	w := &Writer{
		s: s, ctx: ctx, source: source, lock: lock, conn: conn,
		rules: map[int][]ruleVariant{}, locs: map[string]int32{},
		work: make(chan msg, 4), free: make(chan *chunk, 6), exited: make(chan struct{}),
		ckptConn: ckptConn, ckpt: make(chan struct{}, 1), ckptDone: make(chan struct{}),
	}
	if err := w.init(ctx); err != nil {
		w.release()
		return nil, fmt.Errorf("new alert writer for %s: %w", s.path, err)
	}
	w.cur = w.getChunk()
	go w.run()
	go w.checkpointer()
	return w, nil
}

func lockWriter(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: %w", path, ErrWriterBusy)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

func (w *Writer) init(ctx context.Context) error {
	// A bigger cache for the import: the newest days of the indexes and
	// the rollup tables stay in memory between commits.
	for _, p := range []string{"PRAGMA cache_size = -131072", "PRAGMA wal_autocheckpoint = 0"} {
		if _, err := w.conn.ExecContext(ctx, p); err != nil {
			return err
		}
	}
	rows, err := w.conn.QueryContext(ctx, "SELECT id, rule_id, level, description, groups FROM rules")
	if err != nil {
		return err
	}
	for rows.Next() {
		var v ruleVariant
		if err := rows.Scan(&v.id, &v.ruleID, &v.level, &v.desc, &v.groups); err != nil {
			rows.Close()
			return err
		}
		w.rules[v.ruleID] = append(w.rules[v.ruleID], v)
		w.nextRule = max(w.nextRule, int64(v.id))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = w.conn.QueryContext(ctx, "SELECT id, raw FROM locations")
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int32
		var raw string
		if err := rows.Scan(&id, &raw); err != nil {
			rows.Close()
			return err
		}
		w.locs[raw] = id
		w.nextLoc = max(w.nextLoc, int64(id))
	}
	if err := rows.Err(); err != nil {
		return err
	}
	w.sql.init(w)
	return w.sql.foldLog()
}

func (w *Writer) getChunk() *chunk {
	select {
	case c := <-w.free:
		return c
	default:
		return &chunk{rows: make([]row, 0, chunkRows)}
	}
}

func (w *Writer) putChunk(c *chunk) {
	clear(c.rows) // drop the strings for the garbage collector
	c.rows, c.newRules, c.newLocs = c.rows[:0], c.newRules[:0], c.newLocs[:0]
	select {
	case w.free <- c:
	default:
	}
}

func (w *Writer) failure() error {
	if p := w.failErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Add buffers a for the next Commit. It copies what it keeps: the caller may
// reuse a after Add returns. An error means the writer failed earlier (or is
// closed); the alert was not taken.
func (w *Writer) Add(a *ossec.Alert) error {
	if w.closed {
		return errWriterClosed
	}
	if err := w.failure(); err != nil {
		return err
	}
	c := w.cur
	c.rows = append(c.rows, row{})
	r := &c.rows[len(c.rows)-1]
	r.time = a.Time.Unix()
	if r.time < minTime || r.time > maxTime {
		c.rows = c.rows[:len(c.rows)-1]
		return fmt.Errorf("import %s into %s: alert %s: time %s out of range", w.source, w.s.path, a.ID, a.Time)
	}
	r.key = int64(a.Key())
	r.seq, r.epoch = a.ID.Seq, a.ID.Epoch
	r.mail = a.Mail
	r.rule = w.ruleRef(a, c)
	r.loc = w.locRef(&a.Location, c)
	if w.nextRule > maxRef || w.nextLoc > maxRef {
		c.rows = c.rows[:len(c.rows)-1]
		return fmt.Errorf("import %s into %s: more than %d rule variants or locations", w.source, w.s.path, maxRef)
	}
	r.src, r.dst = normAddr(a.SrcIP), normAddr(a.DstIP)
	r.sport, r.dport = a.SrcPort, a.DstPort
	if a.User != "" {
		r.user = strings.Clone(a.User)
	}
	r.log = joinLines(a.Log)
	if len(c.rows) == chunkRows {
		if err := w.send(msg{c: c}); err != nil {
			return err
		}
		w.cur = w.getChunk()
	}
	return nil
}

// normAddr stores addresses the way analytics compares them: unmapped,
// without zone (readers already do this; the store does not rely on it).
func normAddr(a netip.Addr) netip.Addr {
	if !a.IsValid() {
		return a
	}
	return a.Unmap().WithZone("")
}

func (w *Writer) ruleRef(a *ossec.Alert, c *chunk) int32 {
	for _, v := range w.rules[a.RuleID] {
		if v.level == a.Level && v.desc == a.Description && joinedEqual(v.groups, a.Groups) {
			return v.id
		}
	}
	w.nextRule++
	v := ruleVariant{id: int32(w.nextRule), ruleID: a.RuleID, level: a.Level,
		desc: strings.Clone(a.Description), groups: strings.Join(a.Groups, ",")}
	w.rules[a.RuleID] = append(w.rules[a.RuleID], v)
	c.newRules = append(c.newRules, v)
	return v.id
}

// joinedEqual reports whether strings.Join(parts, ",") == joined without
// building the joined string.
func joinedEqual(joined string, parts []string) bool {
	for i, p := range parts {
		if i > 0 {
			if joined == "" || joined[0] != ',' {
				return false
			}
			joined = joined[1:]
		}
		if !strings.HasPrefix(joined, p) {
			return false
		}
		joined = joined[len(p):]
	}
	return joined == ""
}

func (w *Writer) locRef(l *ossec.Location, c *chunk) int32 {
	if id, ok := w.locs[l.Raw]; ok {
		return id
	}
	w.nextLoc++
	id := int32(w.nextLoc)
	cl := ossec.Location{Raw: strings.Clone(l.Raw), Manager: strings.Clone(l.Manager), Agent: strings.Clone(l.Agent),
		AgentIP: strings.Clone(l.AgentIP), Source: strings.Clone(l.Source)}
	w.locs[cl.Raw] = id
	c.newLocs = append(c.newLocs, locRow{id: id, loc: cl})
	return id
}

func joinLines(lines []string) string {
	switch len(lines) {
	case 0:
		return ""
	case 1:
		return strings.Clone(lines[0])
	}
	return strings.Join(lines, "\n")
}

// send hands m to the SQL goroutine unless it has stopped.
func (w *Writer) send(m msg) error {
	select {
	case w.work <- m:
		return nil
	case <-w.exited:
		if err := w.failure(); err != nil {
			return err
		}
		return errWriterClosed
	}
}

// Commit stores the alerts added since the last Commit, their rollups and
// cp as the source's checkpoint, in one transaction. It returns when the
// transaction is committed.
func (w *Writer) Commit(cp Checkpoint) error {
	if w.closed {
		return errWriterClosed
	}
	if err := w.failure(); err != nil {
		return err
	}
	if len(w.cur.rows) > 0 || len(w.cur.newRules) > 0 || len(w.cur.newLocs) > 0 {
		if err := w.send(msg{c: w.cur}); err != nil {
			return err
		}
		w.cur = w.getChunk()
	}
	reply := make(chan error, 1)
	if err := w.send(msg{commit: true, cp: cloneCheckpoint(cp), reply: reply}); err != nil {
		return err
	}
	return <-reply
}

func cloneCheckpoint(cp Checkpoint) Checkpoint {
	if cp.Positions != nil {
		cp.Positions = maps.Clone(cp.Positions)
	}
	return cp
}

// Stats returns what the writer's commits have stored so far.
func (w *Writer) Stats() WriterStats {
	return WriterStats{Added: w.added.Load(), Duplicates: w.dups.Load()}
}

// Close ends the writer. Alerts added after the last Commit are discarded.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	reply := make(chan error, 1)
	var err error
	if w.send(msg{close: true, reply: reply}) == nil {
		err = <-reply
	}
	<-w.exited
	close(w.ckpt)
	<-w.ckptDone
	if e := w.release(); e != nil && err == nil {
		err = e
	}
	if err != nil {
		return fmt.Errorf("close alert writer for %s: %w", w.s.path, err)
	}
	return nil
}

// release returns the connections to the pool, with the pool's settings,
// and the writer lock.
func (w *Writer) release() error {
	ctx := context.WithoutCancel(w.ctx)
	var err error
	for _, p := range []string{"PRAGMA cache_size = -32768", "PRAGMA wal_autocheckpoint = 1000"} {
		if _, e := w.conn.ExecContext(ctx, p); e != nil && err == nil {
			err = e
		}
	}
	for _, c := range []interface{ Close() error }{w.conn, w.ckptConn, w.lock} {
		if e := c.Close(); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// checkpointer copies committed WAL frames into the database after each
// commit. PASSIVE never blocks the writer; every restartEvery rounds a
// RESTART makes the writer start the WAL over, or it would grow as large as
// the import (the writer begins its next transaction before a PASSIVE round
// has finished). A RESTART waits for the writer's current transaction, and
// the writer waits for the few frames the PASSIVE rounds left.
func (w *Writer) checkpointer() {
	defer close(w.ckptDone)
	ctx := context.WithoutCancel(w.ctx)
	const restartEvery = 4
	n := 0
	for range w.ckpt {
		n++
		mode := "PASSIVE"
		if n%restartEvery == 0 {
			mode = "RESTART"
		}
		if _, err := w.ckptConn.ExecContext(ctx, "PRAGMA wal_checkpoint("+mode+")"); err != nil {
			w.s.logger.Warn("wal checkpoint", "path", w.s.path, "mode", mode, "error", err)
		}
	}
	// Leave the WAL folded back for readers after the import.
	if _, err := w.ckptConn.ExecContext(ctx, "PRAGMA wal_checkpoint(RESTART)"); err != nil {
		w.s.logger.Warn("wal checkpoint", "path", w.s.path, "mode", "RESTART", "error", err)
	}
}
