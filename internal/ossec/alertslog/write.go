package alertslog

import (
	"strconv"
	"time"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// AppendAlert appends a as OSSEC 2.6 to 4.x writes it with OS_Log(): the
// header (with the " mail " flag when a.Mail, groups joined with "," and
// ended by ","), the date line in loc (nil = UTC), the Rule line, the Src
// IP, Src Port, Dst IP, Dst Port and User lines of the fields that are set,
// the log lines and the empty line that ends the block.
//
// The date line shows a.Time, or the time of a.ID when a.Time is zero. Log
// lines are written as they are: a line holding "\n", or an empty line not
// followed by a Wazuh section marker (see Reader), cannot be read back as
// part of the same alert, as with OSSEC itself.
func AppendAlert(b []byte, a *ossec.Alert, loc *time.Location) []byte {
	if loc == nil {
		loc = time.UTC
	}
	b = append(b, headerPrefix...)
	b = strconv.AppendInt(b, a.ID.Epoch, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, a.ID.Seq, 10)
	b = append(b, ':')
	if a.Mail {
		b = append(b, " mail "...)
	}
	b = append(b, " - "...)
	for _, g := range a.Groups {
		b = append(b, g...)
		b = append(b, ',')
	}
	b = append(b, '\n')

	t := a.Time
	if t.IsZero() {
		t = ossec.TimeFromID(a.ID)
	}
	b = t.In(loc).AppendFormat(b, "2006 Jan 02 15:04:05")
	b = append(b, ' ')
	b = append(b, a.Location.Raw...)
	b = append(b, '\n')

	b = append(b, "Rule: "...)
	b = strconv.AppendInt(b, int64(a.RuleID), 10)
	b = append(b, " (level "...)
	b = strconv.AppendInt(b, int64(a.Level), 10)
	b = append(b, ") -> '"...)
	b = append(b, a.Description...)
	b = append(b, "'\n"...)

	if a.SrcIP.IsValid() {
		b = append(b, "Src IP: "...)
		b = a.SrcIP.AppendTo(b)
		b = append(b, '\n')
	}
	if a.SrcPort != 0 {
		b = append(b, "Src Port: "...)
		b = strconv.AppendUint(b, uint64(a.SrcPort), 10)
		b = append(b, '\n')
	}
	if a.DstIP.IsValid() {
		b = append(b, "Dst IP: "...)
		b = a.DstIP.AppendTo(b)
		b = append(b, '\n')
	}
	if a.DstPort != 0 {
		b = append(b, "Dst Port: "...)
		b = strconv.AppendUint(b, uint64(a.DstPort), 10)
		b = append(b, '\n')
	}
	if a.User != "" {
		b = append(b, "User: "...)
		b = append(b, a.User...)
		b = append(b, '\n')
	}
	for _, l := range a.Log {
		b = append(b, l...)
		b = append(b, '\n')
	}
	return append(b, '\n')
}
