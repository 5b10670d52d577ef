package draft

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// UserAgent names us in ARF and X-ARF feedback-report parts.
const UserAgent = "Rampart (OSSEC HIDS)"

// Field is one header field.
type Field struct{ Name, Value string }

// Entity is a MIME entity: its header fields and its body, with lines
// ending in "\n" (SMTP's DATA turns them into CRLF).
type Entity struct {
	Header []Field
	Body   []byte
}

// Bytes writes the entity: its fields, a blank line, its body.
func (e Entity) Bytes() []byte {
	var b bytes.Buffer
	for _, f := range e.Header {
		b.WriteString(f.Name + ": " + f.Value + "\n")
	}
	b.WriteString("\n")
	b.Write(e.Body)
	return b.Bytes()
}

// Body assembles the body of the draft's mail, as Attach says:
//
//   - AttachNone: the text alone (text/plain).
//   - AttachXARF, one address: the X-ARF e-mail transport, RFC 6522
//     multipart/report with report-type=feedback-report: the text, a
//     message/feedback-report part saying "Feedback-Type: xarf", and the
//     report as application/json xarf.json.
//   - AttachXARF, several addresses: multipart/mixed, the text and one
//     xarf-<address>.json per address (X-ARF's transport carries one
//     report per mail).
//   - AttachARF, one address: RFC 5965 multipart/report, the text, a
//     message/feedback-report part (Feedback-Type "other": the abuse is
//     not about a mail; Source-IP, Incidents, Arrival-Date) and the
//     evidence lines as text/plain, where RFC 5965 puts the reported
//     message, which there is none of.
//   - AttachARF, several addresses: multipart/mixed, the text and one
//     message/rfc822 ARF report per address.
//
// text is the body text (the draft's Text, or the operator's edit); xarf
// the X-ARF reports of the draft's addresses; boundary the multipart
// boundary (nested parts add suffixes), which must not occur in the
// content: a random one does not.
func (d Draft) Body(text string, xarf []XARFReport, boundary string) Entity {
	textPart := textEntity(text, "")
	switch {
	case d.Attach == AttachXARF && len(xarf) == 1:
		fb := Entity{
			Header: []Field{{"Content-Type", "message/feedback-report"}, {"Content-Disposition", "inline"}},
			Body:   []byte("Feedback-Type: xarf\nUser-Agent: " + UserAgent + "\nVersion: 1\n"),
		}
		return multipartEntity("report", boundary, textPart, fb, jsonEntity(xarf[0], "xarf.json"))
	case d.Attach == AttachXARF && len(xarf) > 1:
		parts := []Entity{textPart}
		for _, x := range xarf {
			parts = append(parts, jsonEntity(x, "xarf-"+fileSafe(x.SourceIdentifier)+".json"))
		}
		return multipartEntity("mixed", boundary, parts...)
	case d.Attach == AttachARF && len(d.Reports) == 1:
		return d.arfReport(d.Reports[0], textPart, boundary)
	case d.Attach == AttachARF && len(d.Reports) > 1:
		parts := []Entity{textPart}
		for i, r := range d.Reports {
			parts = append(parts, d.arfMessage(r, boundary+"-"+strconv.Itoa(i+1)))
		}
		return multipartEntity("mixed", boundary, parts...)
	}
	return textPart
}

// ARF returns the draft's reports in ARF, as the mail would carry them.
func (d Draft) ARF(text, boundary string) Entity {
	d.Attach = AttachARF
	return d.Body(text, nil, boundary)
}

// arfReport is one address's RFC 5965 report with human as its
// human-readable part.
func (d Draft) arfReport(r Report, human Entity, boundary string) Entity {
	var fb strings.Builder
	fb.WriteString("Feedback-Type: other\n")
	fb.WriteString("User-Agent: " + UserAgent + "\n")
	fb.WriteString("Version: 1\n")
	fb.WriteString("Source-IP: " + r.Addr.String() + "\n")
	fb.WriteString("Incidents: " + strconv.FormatInt(r.Count, 10) + "\n")
	fb.WriteString("Arrival-Date: " + r.LastSeen.UTC().Format(time.RFC1123Z) + "\n")
	feedback := Entity{
		Header: []Field{{"Content-Type", "message/feedback-report"}, {"Content-Disposition", "inline"}},
		Body:   []byte(fb.String()),
	}
	evidence := textEntity(evidenceText(r), "evidence-"+fileSafe(r.Addr.String())+".txt")
	return multipartEntity("report", boundary, human, feedback, evidence)
}

// arfMessage wraps one address's ARF report as a complete message, to be
// attached (message/rfc822) to the mail about several addresses.
func (d Draft) arfMessage(r Report, boundary string) Entity {
	var human strings.Builder
	fmt.Fprintf(&human, "Abuse report about %s: %s (%s) from %s to %s,\n", r.Addr, plural(r.Count, "alert", "alerts"),
		r.Kind.Label(), utc(r.FirstSeen), utc(r.LastSeen))
	fmt.Fprintf(&human, "recorded by OSSEC HIDS. The log lines are attached; the message this report\n")
	fmt.Fprintf(&human, "came with explains more. Contact: %s\n", d.Reporter.Contact())
	inner := d.arfReport(r, textEntity(human.String(), ""), boundary)
	from := (&mail.Address{Name: d.Reporter.Name, Address: d.Reporter.Email}).String()
	header := []Field{
		{"From", from},
		{"Date", d.Created.UTC().Format(time.RFC1123Z)},
		{"Subject", mime.QEncoding.Encode("utf-8", fmt.Sprintf("Abuse report: %s from %s", r.Kind.Label(), r.Addr))},
		{"MIME-Version", "1.0"},
	}
	msg := Entity{Header: append(header, inner.Header...), Body: inner.Body}
	name := "arf-" + fileSafe(r.Addr.String()) + ".eml"
	return Entity{
		Header: []Field{
			{"Content-Type", "message/rfc822"},
			{"Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name})},
		},
		Body: msg.Bytes(),
	}
}

// multipartEntity joins parts under a multipart/<sub> entity.
func multipartEntity(sub, boundary string, parts ...Entity) Entity {
	params := map[string]string{"boundary": boundary}
	if sub == "report" {
		params["report-type"] = "feedback-report"
	}
	var b bytes.Buffer
	b.WriteString("This is a multi-part message in MIME format.\n")
	for _, p := range parts {
		b.WriteString("\n--" + boundary + "\n")
		// The line break before a delimiter belongs to the delimiter
		// (RFC 2046), so each part keeps its own final one.
		b.Write(p.Bytes())
	}
	b.WriteString("\n--" + boundary + "--\n")
	return Entity{
		Header: []Field{{"Content-Type", mime.FormatMediaType("multipart/"+sub, params)}},
		Body:   b.Bytes(),
	}
}

// textEntity is a text/plain part: 7bit when it is short-lined ASCII,
// quoted-printable otherwise. A filename makes it an attachment.
func textEntity(text, filename string) Entity {
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	header := []Field{{"Content-Type", "text/plain; charset=utf-8"}}
	var body []byte
	if plainASCII(text) {
		header = append(header, Field{"Content-Transfer-Encoding", "7bit"})
		body = []byte(text)
	} else {
		header = append(header, Field{"Content-Transfer-Encoding", "quoted-printable"})
		var b bytes.Buffer
		w := quotedprintable.NewWriter(&b)
		_, _ = w.Write([]byte(text)) // writes to a bytes.Buffer do not fail
		_ = w.Close()
		body = bytes.ReplaceAll(b.Bytes(), []byte("\r\n"), []byte("\n"))
	}
	if filename != "" {
		header = append(header, Field{"Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename})})
	}
	return Entity{Header: header, Body: body}
}

// plainASCII reports whether text can travel as 7bit: ASCII without
// control characters but tab, and no line over 998 bytes (RFC 5322).
func plainASCII(text string) bool {
	if !utf8.ValidString(text) {
		return false
	}
	for line := range strings.SplitSeq(strings.TrimSuffix(text, "\n"), "\n") {
		if len(line) > 998 {
			return false
		}
		for i := 0; i < len(line); i++ {
			if c := line[i]; c >= 0x7f || c < 0x20 && c != '\t' {
				return false
			}
		}
	}
	return true
}

// jsonEntity attaches one X-ARF report, base64 in 76-column lines.
func jsonEntity(x XARFReport, filename string) Entity {
	enc := base64.StdEncoding.EncodeToString(MarshalXARFReport(x))
	var b strings.Builder
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\n")
	return Entity{
		Header: []Field{
			{"Content-Type", mime.FormatMediaType("application/json", map[string]string{"name": filename})},
			{"Content-Transfer-Encoding", "base64"},
			{"Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": filename})},
		},
		Body: []byte(b.String()),
	}
}

// fileSafe turns an address into a file name part (IPv6 colons are not
// welcome in every file system).
func fileSafe(s string) string { return strings.NewReplacer(":", "-", "%", "_").Replace(s) }
