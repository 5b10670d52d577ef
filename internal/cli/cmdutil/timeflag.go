package cmdutil

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// ParseTime reads a --since/--until value: RFC 3339 ("2026-10-01T00:00:00Z"),
// a date ("2026-10-01", midnight UTC), or a duration back from now ("30d",
// "12h", "90m", "2w", "1d12h"). The result is UTC.
func ParseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("empty time")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	d, err := ParseDuration(s)
	if err != nil {
		return time.Time{}, errors.New(`want RFC 3339 (2026-10-01T00:00:00Z), a date (2026-10-01) or a time back from now (30d, 12h)`)
	}
	return now.Add(-d).UTC().Truncate(time.Second), nil
}

// ParseDuration is time.ParseDuration plus the units d (24 h) and w (7 d).
func ParseDuration(s string) (time.Duration, error) {
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, errors.New("bad duration " + strconv.Quote(s))
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			return 0, err
		}
		j := i
		for j < len(rest) && (rest[j] < '0' || rest[j] > '9') {
			j++
		}
		var unit time.Duration
		switch strings.ToLower(rest[i:j]) {
		case "w":
			unit = 7 * 24 * time.Hour
		case "d":
			unit = 24 * time.Hour
		case "h":
			unit = time.Hour
		case "m":
			unit = time.Minute
		case "s":
			unit = time.Second
		default:
			return 0, errors.New("bad duration unit in " + strconv.Quote(s))
		}
		if n > int64(1<<62)/int64(unit) {
			return 0, errors.New("duration too long: " + strconv.Quote(s))
		}
		total += time.Duration(n) * unit
		rest = rest[j:]
	}
	if total <= 0 {
		return 0, errors.New("bad duration " + strconv.Quote(s))
	}
	return total, nil
}
