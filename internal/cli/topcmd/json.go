package topcmd

import (
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
