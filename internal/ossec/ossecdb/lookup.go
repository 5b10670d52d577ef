package ossecdb

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"slices"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// lookups are the small tables an alert row refers to, read once into
// memory: joining them per row would cost more than reading them whole.
type lookups struct {
	locs   map[locKey]ossec.Location
	sigs   map[int64]string // rule id → description (2.8 only in practice)
	groups map[int64][]string
}

type locKey struct{ id, server int64 }

func (db *DB) loadLookups(ctx context.Context, withGroups bool) (*lookups, error) {
	lk := &lookups{sigs: map[int64]string{}, groups: map[int64][]string{}}
	if err := db.loadLocations(ctx, lk); err != nil {
		return nil, err
	}
	l := db.layout
	if l.HasSignature {
		err := db.each(ctx, newQuery(l.Dialect).add("SELECT rule_id, description FROM signature"), func(rs *sql.Rows) error {
			var rule int64
			var desc sql.NullString
			if err := rs.Scan(&rule, &desc); err != nil {
				return err
			}
			lk.sigs[rule] = desc.String
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read table signature: %w", err)
		}
	}
	if l.HasGroups && withGroups {
		// Mapping ids follow the order dbd read the rule's groups.
		q := newQuery(l.Dialect).add(`SELECT m.rule_id, c.cat_name FROM signature_category_mapping m
			JOIN category c ON c.cat_id = m.cat_id ORDER BY m.rule_id, m.id`)
		err := db.each(ctx, q, func(rs *sql.Rows) error {
			var rule int64
			var name string
			if err := rs.Scan(&rule, &name); err != nil {
				return err
			}
			// dbd may have refreshed the mapping without clearing it.
			if g := lk.groups[rule]; !slices.Contains(g, name) {
				lk.groups[rule] = append(g, name)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read tables signature_category_mapping, category: %w", err)
		}
	}
	return lk, nil
}

// loadLocations (re)reads location and server. An agent location gets its
// Manager from server.hostname: the row says which manager received it.
func (db *DB) loadLocations(ctx context.Context, lk *lookups) error {
	l := db.layout
	hosts := map[int64]string{}
	if l.HasServer {
		err := db.each(ctx, newQuery(l.Dialect).add("SELECT id, hostname FROM server"), func(rs *sql.Rows) error {
			var id int64
			var h sql.NullString
			if err := rs.Scan(&id, &h); err != nil {
				return err
			}
			hosts[id] = h.String
			return nil
		})
		if err != nil {
			return fmt.Errorf("read table server: %w", err)
		}
	}
	locs := map[locKey]ossec.Location{}
	if l.HasLocation {
		err := db.each(ctx, newQuery(l.Dialect).add("SELECT id, server_id, name FROM location"), func(rs *sql.Rows) error {
			var k locKey
			var name sql.NullString
			if err := rs.Scan(&k.id, &k.server, &name); err != nil {
				return err
			}
			loc := ossec.ParseLocation(name.String)
			if loc.Manager == "" && loc.Agent != "" {
				loc.Manager = hosts[k.server]
			}
			locs[k] = loc
			return nil
		})
		if err != nil {
			return fmt.Errorf("read table location: %w", err)
		}
	}
	lk.locs = locs
	return nil
}

// each runs q and calls f for every row.
func (db *DB) each(ctx context.Context, q *query, f func(*sql.Rows) error) error {
	rs, err := db.sql.QueryContext(ctx, q.String(), q.args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
		if err := f(rs); err != nil {
			return err
		}
	}
	return rs.Err()
}

// textAddr reads a text address column.
func textAddr(s sql.NullString) netip.Addr {
	if !s.Valid {
		return netip.Addr{}
	}
	a, _ := ossec.ParseAddr(s.String)
	return a
}

// intAddr reads an integer address column (2.8, hybrid): host-order IPv4,
// where 0 and anything outside 32 bits mean none.
func intAddr(v sql.NullInt64) netip.Addr {
	if !v.Valid || v.Int64 <= 0 || v.Int64 > 0xFFFFFFFF {
		return netip.Addr{}
	}
	a, _ := ossec.AddrFromUint32(uint32(v.Int64))
	return a
}

func port(v sql.NullInt64) uint16 {
	if !v.Valid || v.Int64 <= 0 || v.Int64 > 65535 {
		return 0
	}
	return uint16(v.Int64)
}

// user maps dbd's spellings of "no user" (ossec-formats.md §3.1) to "".
func user(v sql.NullString) string {
	switch v.String {
	case "(null)", "NULL", "(none)":
		return ""
	}
	return v.String
}
