package alertdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"go4.org/netipx"

	"github.com/rampart-ids/rampart/internal/abuse"
)

// AbuseContactEntry is a cached abuse contact.
type AbuseContactEntry struct {
	// Contact is the answer as it was obtained: its Addr is the address
	// that was looked up then.
	Contact abuse.Contact
	// Range is the address range of the row that matched.
	Range netipx.IPRange
	// Expires is when the entry stops answering.
	Expires time.Time
}

// AbuseContact returns the cached contact for addr: of the entries not
// expired at now whose range contains addr, the most specific. found is
// false when there is none.
func (s *Store) AbuseContact(ctx context.Context, addr netip.Addr, now time.Time) (e AbuseContactEntry, found bool, err error) {
	addr = addr.Unmap()
	if !addr.IsValid() {
		return AbuseContactEntry{}, false, errors.New("read abuse contact: invalid address")
	}
	b := addr.AsSlice()
	var js string
	var first, last []byte
	var expires int64
	// Cached ranges nest or are disjoint, so of those containing addr the
	// one starting last is the most specific.
	err = s.db.QueryRowContext(ctx, `SELECT contact, first, last, expires FROM abuse_contacts
		WHERE family = ? AND first <= ? AND last >= ? AND expires > ?
		ORDER BY first DESC, last ASC LIMIT 1`, family(addr), b, b, now.Unix()).Scan(&js, &first, &last, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return AbuseContactEntry{}, false, nil
	}
	if err != nil {
		return AbuseContactEntry{}, false, fmt.Errorf("read abuse contact of %s from %s: %w", addr, s.path, err)
	}
	if err := json.Unmarshal([]byte(js), &e.Contact); err != nil {
		return AbuseContactEntry{}, false, fmt.Errorf("read abuse contact of %s from %s: %w", addr, s.path, err)
	}
	f, ok1 := netip.AddrFromSlice(first)
	l, ok2 := netip.AddrFromSlice(last)
	if !ok1 || !ok2 {
		return AbuseContactEntry{}, false, fmt.Errorf("read abuse contact of %s from %s: bad range %x - %x", addr, s.path, first, last)
	}
	e.Range = netipx.IPRangeFrom(f, l)
	e.Expires = time.Unix(expires, 0).UTC()
	return e, true, nil
}

// PutAbuseContact caches c until expires for every address of covers (for
// c.Addr alone when covers is empty), replacing an entry of the same range.
func (s *Store) PutAbuseContact(ctx context.Context, c abuse.Contact, covers []netip.Prefix, expires time.Time) error {
	var sb netipx.IPSetBuilder
	if len(covers) == 0 {
		if !c.Addr.IsValid() {
			return errors.New("cache abuse contact: no address and no range")
		}
		sb.Add(c.Addr.Unmap())
	}
	for _, p := range covers {
		if !p.IsValid() {
			return fmt.Errorf("cache abuse contact of %s: invalid prefix %v", c.Addr, p)
		}
		sb.AddPrefix(unmapPrefix(p).Masked())
	}
	set, err := sb.IPSet()
	if err != nil {
		return fmt.Errorf("cache abuse contact of %s: %w", c.Addr, err)
	}
	js, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("cache abuse contact of %s: %w", c.Addr, err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("cache abuse contact of %s in %s: %w", c.Addr, s.path, err)
	}
	defer tx.Rollback()
	found := 0
	if c.Found() {
		found = 1
	}
	for _, r := range set.Ranges() {
		_, err := tx.ExecContext(ctx, `INSERT INTO abuse_contacts (family, first, last, found, fetched, expires, contact)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (family, first, last) DO UPDATE SET
				found = excluded.found, fetched = excluded.fetched, expires = excluded.expires, contact = excluded.contact`,
			family(r.From()), r.From().AsSlice(), r.To().AsSlice(), found, c.Fetched.Unix(), expires.Unix(), string(js))
		if err != nil {
			return fmt.Errorf("cache abuse contact of %s in %s: %w", c.Addr, s.path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("cache abuse contact of %s in %s: %w", c.Addr, s.path, err)
	}
	return nil
}

// PruneAbuseContacts deletes the entries expired at now and returns how
// many.
func (s *Store) PruneAbuseContacts(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, "DELETE FROM abuse_contacts WHERE expires <= ?", now.Unix())
	if err != nil {
		return 0, fmt.Errorf("prune abuse contacts in %s: %w", s.path, err)
	}
	return res.RowsAffected()
}

func family(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}

// unmapPrefix turns a v4-mapped prefix (::ffff:a.b.c.d/96+n) into the IPv4
// prefix a.b.c.d/n, as addresses are unmapped on entry.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p
}
