package topcmd

import (
	"encoding/json"
	"strconv"
	"time"
)

// appendJSON writes rows exactly as encoding/json with a two-space indent
// would (the tests hold it to that), without reflection: top prints tens of
// thousands of rows, and encoding/json took as long as the query itself.
// Every string in a Row is an IP address or an RFC 3339 time, so nothing
// needs escaping.
func appendJSON(b []byte, rows []Row) []byte {
	if len(rows) == 0 {
		return append(b, "[]\n"...)
	}
	b = append(b, "[\n"...)
	for i, r := range rows {
		b = append(b, "  {\n    \"ip\": \""...)
		b = append(b, r.IP...)
		b = append(b, "\",\n    \"count\": "...)
		b = strconv.AppendInt(b, r.Count, 10)
		b = append(b, ",\n    \"first_seen\": \""...)
		b = r.FirstSeen.AppendFormat(b, time.RFC3339Nano)
		b = append(b, "\",\n    \"last_seen\": \""...)
		b = r.LastSeen.AppendFormat(b, time.RFC3339Nano)
		b = append(b, "\",\n    \"max_level\": "...)
		b = strconv.AppendInt(b, int64(r.MaxLevel), 10)
		b = append(b, ",\n    \"rules\": "...)
		b = strconv.AppendInt(b, int64(r.Rules), 10)
		b = append(b, "\n  }"...)
		if i < len(rows)-1 {
			b = append(b, ',')
		}
		b = append(b, '\n')
	}
	return append(b, "]\n"...)
}

// appendJSON writes groups as encoding/json with a two-space indent would
// write the rows g.row makes (the tests hold it to that).
func (g *grouping) appendJSON(b []byte, keys []string, stats []GroupStats) []byte {
	if len(stats) == 0 {
		return append(b, "[]\n"...)
	}
	b = append(b, "[\n"...)
	for i, s := range stats {
		b = append(b, "  {\n"...)
		b = g.appendLabel(b, keys[i])
		b = append(b, "    \"count\": "...)
		b = strconv.AppendInt(b, s.Count, 10)
		b = append(b, ",\n    \"sources\": "...)
		b = strconv.AppendInt(b, int64(s.Sources), 10)
		b = append(b, ",\n    \"first_seen\": \""...)
		b = s.FirstSeen.AppendFormat(b, time.RFC3339Nano)
		b = append(b, "\",\n    \"last_seen\": \""...)
		b = s.LastSeen.AppendFormat(b, time.RFC3339Nano)
		b = append(b, "\",\n    \"max_level\": "...)
		b = strconv.AppendInt(b, int64(s.MaxLevel), 10)
		b = append(b, ",\n    \"top\": "...)
		if len(s.Top) == 0 {
			b = append(b, "[]"...)
		} else {
			b = append(b, "[\n"...)
			for j, ip := range s.Top {
				b = append(b, "      "...)
				b = appendJSONString(b, ip)
				if j < len(s.Top)-1 {
					b = append(b, ',')
				}
				b = append(b, '\n')
			}
			b = append(b, "    ]"...)
		}
		b = append(b, "\n  }"...)
		if i < len(stats)-1 {
			b = append(b, ',')
		}
		b = append(b, '\n')
	}
	return append(b, "]\n"...)
}

// appendMember appends one object member "name": value and the separator
// that follows it inside a group object.
func appendMember(b []byte, name string, value func([]byte, string) []byte, v string) []byte {
	b = append(b, "    \""...)
	b = append(b, name...)
	b = append(b, "\": "...)
	b = value(b, v)
	return append(b, ",\n"...)
}

// appendJSONString appends s as encoding/json quotes it (HTML characters
// escaped, as the Encoder does by default).
func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}
