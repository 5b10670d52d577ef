package serverdb

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// FeedBan is a prefix this site banned itself (origin policy or manual),
// as the federation feed shows it.
type FeedBan struct {
	Prefix netip.Prefix
	// Expires is the longest active ban's expiry, zero when one is
	// permanent.
	Expires time.Time
	// Created is the newest active ban's creation.
	Created time.Time
}

// FeedBans returns the prefixes with an active ban of origin policy or
// manual at now: never those only banned by the federation or an external
// list, so that sites do not echo each other's bans back and forth.
func (d *DB) FeedBans(ctx context.Context, now time.Time) ([]FeedBan, error) {
	rows, err := d.db.QueryContext(ctx, d.q(`SELECT value, coalesce(sum(CASE WHEN expires = 0 THEN 1 ELSE 0 END), 0), max(expires), max(created)
		FROM decisions WHERE origin IN ('policy', 'manual') AND deleted = 0 AND (expires = 0 OR expires > ?)
		GROUP BY value`), now.Unix())
	if err != nil {
		return nil, fmt.Errorf("feed bans: %w", err)
	}
	defer rows.Close()
	var out []FeedBan
	for rows.Next() {
		var value string
		var permanent, expires, created int64
		if err := rows.Scan(&value, &permanent, &expires, &created); err != nil {
			return nil, fmt.Errorf("feed bans: %w", err)
		}
		p, err := netip.ParsePrefix(value)
		if err != nil {
			return nil, fmt.Errorf("feed bans: stored value %q: %w", value, err)
		}
		b := FeedBan{Prefix: p, Created: fromUnix(created)}
		if permanent == 0 {
			b.Expires = fromUnix(expires)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// SignalSummary is what one source's signals add up to since a time.
type SignalSummary struct {
	Source netip.Addr
	Alerts int
	// Levels and Groups count the alerts by OSSEC level and by rule group
	// (an alert counts once in each of its groups).
	Levels      map[int]int
	Groups      map[string]int
	First, Last time.Time
}

// SignalSummaries adds up the signals of time >= since by source. Sensor,
// agent and log lines are left out: they name our own hosts.
func (d *DB) SignalSummaries(ctx context.Context, since time.Time) ([]SignalSummary, error) {
	rows, err := d.db.QueryContext(ctx, d.q(`SELECT source, level, groups, count(*), min(time), max(time)
		FROM signals WHERE time >= ? GROUP BY source, level, groups`), since.Unix())
	if err != nil {
		return nil, fmt.Errorf("signal summaries: %w", err)
	}
	defer rows.Close()
	by := map[string]*SignalSummary{}
	var order []string
	for rows.Next() {
		var src, groups string
		var level, n int
		var first, last int64
		if err := rows.Scan(&src, &level, &groups, &n, &first, &last); err != nil {
			return nil, fmt.Errorf("signal summaries: %w", err)
		}
		s, ok := by[src]
		if !ok {
			a, err := netip.ParseAddr(src)
			if err != nil {
				return nil, fmt.Errorf("signal summaries: stored source %q: %w", src, err)
			}
			s = &SignalSummary{Source: a, Levels: map[int]int{}, Groups: map[string]int{}, First: fromUnix(first), Last: fromUnix(last)}
			by[src] = s
			order = append(order, src)
		}
		s.Alerts += n
		s.Levels[level] += n
		if groups != "" {
			for _, g := range strings.Split(groups, ",") {
				s.Groups[g] += n
			}
		}
		if t := fromUnix(first); t.Before(s.First) {
			s.First = t
		}
		if t := fromUnix(last); t.After(s.Last) {
			s.Last = t
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]SignalSummary, len(order))
	for i, src := range order {
		out[i] = *by[src]
	}
	return out, nil
}

// SignalMark is a cheap token that changes when newer signals arrive: the
// newest signal's time (an index lookup).
func (d *DB) SignalMark(ctx context.Context) (int64, error) {
	var t sql.NullInt64
	if err := d.db.QueryRowContext(ctx, `SELECT max(time) FROM signals`).Scan(&t); err != nil {
		return 0, fmt.Errorf("signal mark: %w", err)
	}
	return t.Int64, nil
}
