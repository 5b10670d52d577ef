package analytics

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// BucketLabel names a bucket in charts: "2026-10-01 13:00" (hour),
// "2026-10-01" (day), "2026-09-28 W40" (week: its Monday and ISO week).
func BucketLabel(by Interval, start time.Time) string {
	start = start.UTC()
	switch by {
	case Hour:
		return start.Format("2006-01-02 15:04")
	case Week:
		_, w := start.ISOWeek()
		return fmt.Sprintf("%s W%02d", start.Format(time.DateOnly), w)
	default:
		return start.Format(time.DateOnly)
	}
}

// eighths are the block characters of a bar's last cell, 1/8 to 8/8.
var eighths = [...]string{"▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"}

// Bar returns a bar of n out of peak drawn in at most width cells with
// block characters, in eighths of a cell. A non-zero n gets at least an
// eighth, so a quiet bucket stays visible beside an empty one.
func Bar(n, peak int64, width int) string {
	if n <= 0 || peak <= 0 || width <= 0 {
		return ""
	}
	e := int64(float64(n) / float64(peak) * float64(width*8))
	e = min(max(e, 1), int64(width*8))
	var b strings.Builder
	for ; e >= 8; e -= 8 {
		b.WriteString(eighths[7])
	}
	if e > 0 {
		b.WriteString(eighths[e-1])
	}
	return b.String()
}

// WriteTimelineChart draws buckets as a text chart: one line per bucket with
// its label, its count and a bar scaled to the largest bucket, then the
// total.
func WriteTimelineChart(w io.Writer, by Interval, buckets []Bucket, width int) error {
	bw := bufio.NewWriter(w)
	var peak, total int64
	labelW, countW := len(by.String())+6, len("ALERTS")
	for _, b := range buckets {
		peak, total = max(peak, b.Count), total+b.Count
		labelW = max(labelW, len(BucketLabel(by, b.Start)))
	}
	countW = max(countW, len(strconv.FormatInt(total, 10)))
	fmt.Fprintf(bw, "%-*s  %*s\n", labelW, strings.ToUpper(by.String())+" (UTC)", countW, "ALERTS")
	for _, b := range buckets {
		line := fmt.Sprintf("%-*s  %*d  %s", labelW, BucketLabel(by, b.Start), countW, b.Count, Bar(b.Count, peak, width))
		bw.WriteString(strings.TrimRight(line, " "))
		bw.WriteByte('\n')
	}
	fmt.Fprintf(bw, "%-*s  %*d\n", labelW, "total", countW, total)
	return bw.Flush()
}

// AppendTimelineJSON appends buckets as a JSON array of objects
// {"start": RFC 3339 UTC, "count": n, "levels": {"<level>": n, ...}},
// levels highest first, and a newline.
func AppendTimelineJSON(b []byte, buckets []Bucket) []byte {
	if len(buckets) == 0 {
		return append(b, "[]\n"...)
	}
	b = append(b, "[\n"...)
	for i, bk := range buckets {
		b = append(b, `  {"start": "`...)
		b = bk.Start.UTC().AppendFormat(b, time.RFC3339)
		b = append(b, `", "count": `...)
		b = strconv.AppendInt(b, bk.Count, 10)
		b = append(b, `, "levels": {`...)
		for j, l := range bk.ByLevel {
			if j > 0 {
				b = append(b, ", "...)
			}
			b = append(b, '"')
			b = strconv.AppendInt(b, int64(l.Level), 10)
			b = append(b, `": `...)
			b = strconv.AppendInt(b, l.Count, 10)
		}
		b = append(b, "}}"...)
		if i < len(buckets)-1 {
			b = append(b, ',')
		}
		b = append(b, '\n')
	}
	return append(b, "]\n"...)
}

// WriteTimelineCSV writes buckets as CSV: start, count, then one column
// "level_<n>" for each level that has alerts anywhere, highest first.
func WriteTimelineCSV(w io.Writer, buckets []Bucket) error {
	var levels []int
	for _, b := range buckets {
		for _, l := range b.ByLevel {
			if !slices.Contains(levels, l.Level) {
				levels = append(levels, l.Level)
			}
		}
	}
	slices.SortFunc(levels, func(a, b int) int { return cmp.Compare(b, a) })
	cw := csv.NewWriter(w)
	header := []string{"start", "count"}
	for _, l := range levels {
		header = append(header, "level_"+strconv.Itoa(l))
	}
	cw.Write(header)
	row := make([]string, len(header))
	for _, b := range buckets {
		row[0], row[1] = b.Start.UTC().Format(time.RFC3339), strconv.FormatInt(b.Count, 10)
		for i, l := range levels {
			row[2+i] = "0"
			for _, lc := range b.ByLevel {
				if lc.Level == l {
					row[2+i] = strconv.FormatInt(lc.Count, 10)
				}
			}
		}
		cw.Write(row)
	}
	cw.Flush()
	return cw.Error()
}
