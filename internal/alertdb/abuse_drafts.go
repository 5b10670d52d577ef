package alertdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// States of an abuse report draft.
const (
	AbuseDraftDraft     = "draft"
	AbuseDraftApproved  = "approved"
	AbuseDraftDiscarded = "discarded"
	AbuseDraftSent      = "sent"
)

// Outcomes of an attempt to send a draft.
const (
	AbuseSendSent   = "sent"
	AbuseSendFailed = "failed"
)

// ErrAbuseDraftNotFound is returned (wrapped, with the number) for a
// draft number the store does not have.
var ErrAbuseDraftNotFound = errors.New("no such abuse draft")

// AbuseStateError is a change a draft's state does not allow: approving a
// sent draft, editing a discarded one.
type AbuseStateError struct {
	ID    int64
	State string // the draft's state
	Op    string // what was asked: "approve", "discard", "edit", "reopen"
}

func (e *AbuseStateError) Error() string {
	return fmt.Sprintf("abuse draft %d is %s: cannot %s it", e.ID, e.State, e.Op)
}

// AbuseDraft is one stored abuse report draft. The store keeps what the
// drafting package rendered; it does not interpret it.
type AbuseDraft struct {
	ID      int64
	Created time.Time
	Updated time.Time
	State   string
	// Emails are the contact's mailboxes; Addrs the reported addresses.
	Emails  []string
	Addrs   []netip.Addr
	Subject string
	Text    string
	// XARF, ARF and Evidence are the renderings and the redacted draft,
	// opaque to the store.
	XARF     []byte
	ARF      []byte
	Evidence []byte
	Edited   bool
	Author   string
}

// AbuseDraftFilter selects drafts; the zero filter selects all.
type AbuseDraftFilter struct {
	States []string
	IDs    []int64
}

// AbuseSend is one attempt to send a draft.
type AbuseSend struct {
	ID         int64
	Draft      int64
	Time       time.Time
	Recipients []string
	// Addrs are the addresses the message reported: the draft's, less
	// those the repeat window held back.
	Addrs     []netip.Addr
	MessageID string
	Outcome   string // AbuseSendSent or AbuseSendFailed
	Error     string
}

// AbuseReport says that an address was reported to a mailbox.
type AbuseReport struct {
	Email string
	Addr  netip.Addr
	Time  time.Time
	Draft int64
}

func validState(s string) bool {
	switch s {
	case AbuseDraftDraft, AbuseDraftApproved, AbuseDraftDiscarded, AbuseDraftSent:
		return true
	}
	return false
}

func joinAddrs(addrs []netip.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = normAddr(a).String()
	}
	return strings.Join(s, ",")
}

func splitAddrs(s string) ([]netip.Addr, error) {
	if s == "" {
		return nil, nil
	}
	var out []netip.Addr
	for part := range strings.SplitSeq(s, ",") {
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fmt.Errorf("stored address %q: %w", part, err)
		}
		out = append(out, a)
	}
	return out, nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func checkEmails(emails []string) error {
	if len(emails) == 0 {
		return errors.New("no mailbox")
	}
	for _, e := range emails {
		if e == "" || strings.ContainsAny(e, ", \r\n") {
			return fmt.Errorf("mailbox %q", e)
		}
	}
	return nil
}

// CreateAbuseDrafts stores new drafts, all or none, in state draft, and
// returns their numbers. ID, State, Updated and Edited are ignored.
func (s *Store) CreateAbuseDrafts(ctx context.Context, drafts []AbuseDraft) ([]int64, error) {
	for i, d := range drafts {
		if err := checkEmails(d.Emails); err != nil {
			return nil, fmt.Errorf("create abuse draft %d of %d: %w", i+1, len(drafts), err)
		}
		if len(d.Addrs) == 0 {
			return nil, fmt.Errorf("create abuse draft %d of %d: no address", i+1, len(drafts))
		}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("create abuse drafts in %s: %w", s.path, err)
	}
	defer tx.Rollback()
	ids := make([]int64, 0, len(drafts))
	for _, d := range drafts {
		created := d.Created.Unix()
		res, err := tx.ExecContext(ctx, `INSERT INTO abuse_drafts
			(created, updated, state, emails, addresses, subject, text, xarf, arf, evidence, edited, author)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
			created, created, AbuseDraftDraft, strings.Join(d.Emails, ","), joinAddrs(d.Addrs),
			d.Subject, d.Text, string(d.XARF), string(d.ARF), string(d.Evidence), d.Author)
		if err != nil {
			return nil, fmt.Errorf("create abuse drafts in %s: %w", s.path, err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return nil, fmt.Errorf("create abuse drafts in %s: %w", s.path, err)
		}
		ids = append(ids, id)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("create abuse drafts in %s: %w", s.path, err)
	}
	return ids, nil
}

const draftColumns = "id, created, updated, state, emails, addresses, subject, text, xarf, arf, evidence, edited, author"

type rowScanner interface{ Scan(...any) error }

func scanDraft(r rowScanner) (AbuseDraft, error) {
	var d AbuseDraft
	var created, updated int64
	var emails, addrs, xarf, arf, evidence string
	if err := r.Scan(&d.ID, &created, &updated, &d.State, &emails, &addrs, &d.Subject, &d.Text,
		&xarf, &arf, &evidence, &d.Edited, &d.Author); err != nil {
		return AbuseDraft{}, err
	}
	d.Created, d.Updated = time.Unix(created, 0).UTC(), time.Unix(updated, 0).UTC()
	d.Emails = splitList(emails)
	var err error
	if d.Addrs, err = splitAddrs(addrs); err != nil {
		return AbuseDraft{}, fmt.Errorf("abuse draft %d: %w", d.ID, err)
	}
	d.XARF, d.ARF, d.Evidence = []byte(xarf), []byte(arf), []byte(evidence)
	return d, nil
}

// AbuseDraft returns draft id; a missing one is ErrAbuseDraftNotFound.
func (s *Store) AbuseDraft(ctx context.Context, id int64) (AbuseDraft, error) {
	d, err := scanDraft(s.db.QueryRowContext(ctx, "SELECT "+draftColumns+" FROM abuse_drafts WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return AbuseDraft{}, fmt.Errorf("abuse draft %d: %w", id, ErrAbuseDraftNotFound)
	}
	if err != nil {
		return AbuseDraft{}, fmt.Errorf("read abuse draft %d from %s: %w", id, s.path, err)
	}
	return d, nil
}

// AbuseDrafts returns the drafts f selects, by number.
func (s *Store) AbuseDrafts(ctx context.Context, f AbuseDraftFilter) ([]AbuseDraft, error) {
	q := "SELECT " + draftColumns + " FROM abuse_drafts"
	var where []string
	var args []any
	if len(f.States) > 0 {
		for _, st := range f.States {
			if !validState(st) {
				return nil, fmt.Errorf("read abuse drafts: unknown state %q", st)
			}
			args = append(args, st)
		}
		where = append(where, "state IN (?"+strings.Repeat(", ?", len(f.States)-1)+")")
	}
	if len(f.IDs) > 0 {
		for _, id := range f.IDs {
			args = append(args, id)
		}
		where = append(where, "id IN (?"+strings.Repeat(", ?", len(f.IDs)-1)+")")
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("read abuse drafts from %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []AbuseDraft
	for rows.Next() {
		d, err := scanDraft(rows)
		if err != nil {
			return nil, fmt.Errorf("read abuse drafts from %s: %w", s.path, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read abuse drafts from %s: %w", s.path, err)
	}
	return out, nil
}

// stateChanges says from which states a draft may move to each state by
// SetAbuseDraftState. Only RecordAbuseSend makes a draft sent, and a sent
// draft never changes again.
var stateChanges = map[string][]string{
	AbuseDraftApproved:  {AbuseDraftDraft},
	AbuseDraftDiscarded: {AbuseDraftDraft, AbuseDraftApproved},
	AbuseDraftDraft:     {AbuseDraftApproved, AbuseDraftDiscarded},
}

var stateOps = map[string]string{AbuseDraftApproved: "approve", AbuseDraftDiscarded: "discard", AbuseDraftDraft: "reopen"}

// SetAbuseDraftState approves (draft → approved), discards (draft or
// approved → discarded) or reopens (approved or discarded → draft) a draft
// and returns it. Asking for the state it is in changes nothing; a change
// its state does not allow is an *AbuseStateError.
func (s *Store) SetAbuseDraftState(ctx context.Context, id int64, to string, now time.Time) (AbuseDraft, error) {
	from, ok := stateChanges[to]
	if !ok {
		return AbuseDraft{}, fmt.Errorf("abuse draft %d: cannot set state %q", id, to)
	}
	return s.updateDraft(ctx, id, func(tx *sql.Tx, d AbuseDraft) (AbuseDraft, error) {
		if d.State == to {
			return d, nil
		}
		if !slices.Contains(from, d.State) {
			return d, &AbuseStateError{ID: id, State: d.State, Op: stateOps[to]}
		}
		_, err := tx.ExecContext(ctx, "UPDATE abuse_drafts SET state = ?, updated = ? WHERE id = ?", to, now.Unix(), id)
		d.State, d.Updated = to, time.Unix(now.Unix(), 0).UTC()
		return d, err
	})
}

// EditAbuseDraft replaces the text of a draft that is not sent or
// discarded, and marks it edited. An approved draft goes back to draft: it
// must be approved as it now reads.
func (s *Store) EditAbuseDraft(ctx context.Context, id int64, text string, now time.Time) (AbuseDraft, error) {
	return s.updateDraft(ctx, id, func(tx *sql.Tx, d AbuseDraft) (AbuseDraft, error) {
		if d.State != AbuseDraftDraft && d.State != AbuseDraftApproved {
			return d, &AbuseStateError{ID: id, State: d.State, Op: "edit"}
		}
		_, err := tx.ExecContext(ctx, "UPDATE abuse_drafts SET text = ?, edited = 1, state = ?, updated = ? WHERE id = ?",
			text, AbuseDraftDraft, now.Unix(), id)
		d.Text, d.Edited, d.State, d.Updated = text, true, AbuseDraftDraft, time.Unix(now.Unix(), 0).UTC()
		return d, err
	})
}

// updateDraft reads draft id and applies fn in one write transaction.
func (s *Store) updateDraft(ctx context.Context, id int64, fn func(*sql.Tx, AbuseDraft) (AbuseDraft, error)) (AbuseDraft, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return AbuseDraft{}, fmt.Errorf("update abuse draft %d in %s: %w", id, s.path, err)
	}
	defer tx.Rollback()
	d, err := scanDraft(tx.QueryRowContext(ctx, "SELECT "+draftColumns+" FROM abuse_drafts WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return AbuseDraft{}, fmt.Errorf("abuse draft %d: %w", id, ErrAbuseDraftNotFound)
	}
	if err != nil {
		return AbuseDraft{}, fmt.Errorf("update abuse draft %d in %s: %w", id, s.path, err)
	}
	d, err = fn(tx, d)
	if err != nil {
		var se *AbuseStateError
		if errors.As(err, &se) {
			return d, err
		}
		return AbuseDraft{}, fmt.Errorf("update abuse draft %d in %s: %w", id, s.path, err)
	}
	if err := tx.Commit(); err != nil {
		return AbuseDraft{}, fmt.Errorf("update abuse draft %d in %s: %w", id, s.path, err)
	}
	return d, nil
}

// RecordAbuseSend records an attempt to send a draft and returns its
// number. A successful one marks the draft sent and records each address
// as reported to each recipient, in the same transaction; a failed one
// leaves the draft as it was, to be sent again.
func (s *Store) RecordAbuseSend(ctx context.Context, r AbuseSend) (int64, error) {
	switch {
	case r.Outcome != AbuseSendSent && r.Outcome != AbuseSendFailed:
		return 0, fmt.Errorf("record send of abuse draft %d: unknown outcome %q", r.Draft, r.Outcome)
	case r.Outcome == AbuseSendSent && len(r.Addrs) == 0:
		return 0, fmt.Errorf("record send of abuse draft %d: a sent report without addresses", r.Draft)
	}
	if err := checkEmails(r.Recipients); err != nil {
		return 0, fmt.Errorf("record send of abuse draft %d: %w", r.Draft, err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("record send of abuse draft %d in %s: %w", r.Draft, s.path, err)
	}
	defer tx.Rollback()
	var state string
	err = tx.QueryRowContext(ctx, "SELECT state FROM abuse_drafts WHERE id = ?", r.Draft).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("abuse draft %d: %w", r.Draft, ErrAbuseDraftNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("record send of abuse draft %d in %s: %w", r.Draft, s.path, err)
	}
	t := r.Time.Unix()
	res, err := tx.ExecContext(ctx, `INSERT INTO abuse_sends (draft, time, recipients, addresses, message_id, outcome, error)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, r.Draft, t, strings.Join(r.Recipients, ","), joinAddrs(r.Addrs), r.MessageID, r.Outcome, r.Error)
	if err != nil {
		return 0, fmt.Errorf("record send of abuse draft %d in %s: %w", r.Draft, s.path, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("record send of abuse draft %d in %s: %w", r.Draft, s.path, err)
	}
	if r.Outcome == AbuseSendSent {
		// The message went out whatever the draft's state says now.
		if _, err := tx.ExecContext(ctx, "UPDATE abuse_drafts SET state = ?, updated = ? WHERE id = ?", AbuseDraftSent, t, r.Draft); err != nil {
			return 0, fmt.Errorf("record send of abuse draft %d in %s: %w", r.Draft, s.path, err)
		}
		for _, e := range r.Recipients {
			for _, a := range r.Addrs {
				if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO abuse_reported (email, addr, time, send) VALUES (?, ?, ?, ?)",
					strings.ToLower(e), addrBlob(normAddr(a)), t, id); err != nil {
					return 0, fmt.Errorf("record send of abuse draft %d in %s: %w", r.Draft, s.path, err)
				}
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("record send of abuse draft %d in %s: %w", r.Draft, s.path, err)
	}
	return id, nil
}

// AbuseSends returns the attempts to send draft (every draft's when draft
// is 0), oldest first.
func (s *Store) AbuseSends(ctx context.Context, draft int64) ([]AbuseSend, error) {
	q := "SELECT id, draft, time, recipients, addresses, message_id, outcome, error FROM abuse_sends"
	var args []any
	if draft != 0 {
		q += " WHERE draft = ?"
		args = append(args, draft)
	}
	rows, err := s.db.QueryContext(ctx, q+" ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("read abuse sends from %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []AbuseSend
	for rows.Next() {
		var r AbuseSend
		var t int64
		var rcpts, addrs string
		if err := rows.Scan(&r.ID, &r.Draft, &t, &rcpts, &addrs, &r.MessageID, &r.Outcome, &r.Error); err != nil {
			return nil, fmt.Errorf("read abuse sends from %s: %w", s.path, err)
		}
		r.Time = time.Unix(t, 0).UTC()
		r.Recipients = splitList(rcpts)
		if r.Addrs, err = splitAddrs(addrs); err != nil {
			return nil, fmt.Errorf("read abuse sends from %s: send %d: %w", s.path, r.ID, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read abuse sends from %s: %w", s.path, err)
	}
	return out, nil
}

// AbuseReported returns, for each of the mailboxes and addresses, the
// latest time at or after since that the address was reported to the
// mailbox, ordered by mailbox and address.
func (s *Store) AbuseReported(ctx context.Context, emails []string, addrs []netip.Addr, since time.Time) ([]AbuseReport, error) {
	if len(emails) == 0 || len(addrs) == 0 {
		return nil, nil
	}
	args := []any{since.Unix()}
	for _, e := range emails {
		args = append(args, strings.ToLower(e))
	}
	for _, a := range addrs {
		args = append(args, addrBlob(normAddr(a)))
	}
	q := `SELECT r.email, r.addr, MAX(r.time), s.draft FROM abuse_reported r JOIN abuse_sends s ON s.id = r.send
		WHERE r.time >= ? AND r.email IN (?` + strings.Repeat(", ?", len(emails)-1) + `)
		AND r.addr IN (?` + strings.Repeat(", ?", len(addrs)-1) + `)
		GROUP BY r.email, r.addr ORDER BY r.email, r.addr`
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read reported addresses from %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []AbuseReport
	for rows.Next() {
		var r AbuseReport
		var blob []byte
		var t int64
		if err := rows.Scan(&r.Email, &blob, &t, &r.Draft); err != nil {
			return nil, fmt.Errorf("read reported addresses from %s: %w", s.path, err)
		}
		a, ok := netip.AddrFromSlice(blob)
		if !ok {
			return nil, fmt.Errorf("read reported addresses from %s: stored address of %d bytes", s.path, len(blob))
		}
		r.Addr, r.Time = a, time.Unix(t, 0).UTC()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read reported addresses from %s: %w", s.path, err)
	}
	return out, nil
}

// RuleGroups returns the groups of each of the rules (the union over the
// rule's stored variants, in first-seen order); rules the store never met
// are absent.
func (s *Store) RuleGroups(ctx context.Context, ruleIDs []int) (map[int][]string, error) {
	out := map[int][]string{}
	if len(ruleIDs) == 0 {
		return out, nil
	}
	ids := make([]string, len(ruleIDs))
	for i, id := range ruleIDs {
		ids[i] = strconv.Itoa(id)
	}
	rows, err := s.db.QueryContext(ctx, "SELECT rule_id, groups FROM rules WHERE rule_id IN ("+strings.Join(ids, ",")+") ORDER BY rule_id, id")
	if err != nil {
		return nil, fmt.Errorf("read rule groups from %s: %w", s.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int
		var groups string
		if err := rows.Scan(&id, &groups); err != nil {
			return nil, fmt.Errorf("read rule groups from %s: %w", s.path, err)
		}
		for g := range strings.SplitSeq(groups, ",") {
			if g = strings.TrimSpace(g); g != "" && !slices.Contains(out[id], g) {
				out[id] = append(out[id], g)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read rule groups from %s: %w", s.path, err)
	}
	return out, nil
}
