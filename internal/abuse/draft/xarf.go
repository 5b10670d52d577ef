package draft

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// XARFVersion is the X-ARF schema version the reports follow
// (xarf/xarf-spec, schemas/v4).
const XARFVersion = "4.0.0"

// XARFContact is X-ARF's contact_info: reporter and sender.
type XARFContact struct {
	Org     string `json:"org"`
	Contact string `json:"contact"`
	Domain  string `json:"domain"`
}

// XARFEvidence is one X-ARF evidence item.
type XARFEvidence struct {
	ContentType string `json:"content_type"`
	Description string `json:"description,omitempty"`
	// Payload is the evidence, base64 without line breaks.
	Payload string `json:"payload"`
	Hash    string `json:"hash,omitempty"`
	Size    int    `json:"size,omitempty"`
}

// XARFReport is one X-ARF v4 report: one source address. The fields are
// those of xarf-core.json and of the connection types login_attack,
// port_scan, sql_injection and vulnerability_scan.
type XARFReport struct {
	XARFVersion      string      `json:"xarf_version"`
	ReportID         string      `json:"report_id"`
	Timestamp        string      `json:"timestamp"`
	Reporter         XARFContact `json:"reporter"`
	Sender           XARFContact `json:"sender"`
	SourceIdentifier string      `json:"source_identifier"`
	Category         string      `json:"category"`
	Type             string      `json:"type"`
	EvidenceSource   string      `json:"evidence_source"`
	Protocol         string      `json:"protocol"`
	Service          string      `json:"service,omitempty"`
	ScanType         string      `json:"scan_type,omitempty"`
	FirstSeen        string      `json:"first_seen"`
	LastSeen         string      `json:"last_seen"`
	// The count of the type: attempt_count (login_attack, as the
	// published sample has it), attempts_count (sql_injection),
	// total_requests (vulnerability_scan).
	AttemptCount  int64          `json:"attempt_count,omitempty"`
	AttemptsCount int64          `json:"attempts_count,omitempty"`
	TotalRequests int64          `json:"total_requests,omitempty"`
	Description   string         `json:"description,omitempty"`
	Evidence      []XARFEvidence `json:"evidence"`
	Tags          []string       `json:"tags,omitempty"`
}

// NewUUID returns a random (version 4) UUID, the form X-ARF wants for
// report_id.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// XARF returns one X-ARF v4 report per address, in report order; newID
// gives each its report_id (nil: NewUUID).
func (d Draft) XARF(newID func() string) []XARFReport {
	if newID == nil {
		newID = NewUUID
	}
	who := XARFContact{
		Org:     cmp.Or(d.Reporter.Org, d.Reporter.Name, d.Reporter.Domain),
		Contact: d.Reporter.Contact(),
		Domain:  d.Reporter.Domain,
	}
	out := make([]XARFReport, 0, len(d.Reports))
	for _, r := range d.Reports {
		x := XARFReport{
			XARFVersion: XARFVersion, ReportID: newID(), Timestamp: rfc3339(r.LastSeen),
			Reporter: who, Sender: who,
			SourceIdentifier: r.Addr.String(),
			Category:         r.Kind.Category, Type: r.Kind.Type,
			EvidenceSource: "ids_detection",
			Protocol:       r.Kind.Protocol, Service: r.Kind.Service, ScanType: r.Kind.ScanType,
			FirstSeen: rfc3339(r.FirstSeen), LastSeen: rfc3339(r.LastSeen),
			Description: xarfDescription(r),
		}
		switch r.Kind.Type {
		case TypeLoginAttack:
			x.AttemptCount = r.Count
		case TypeSQLInjection:
			x.AttemptsCount = r.Count
		case TypeVulnScan:
			x.TotalRequests = r.Count
		}
		if len(r.Alerts) > 0 {
			payload := []byte(evidenceText(r))
			sum := sha256.Sum256(payload)
			x.Evidence = append(x.Evidence, XARFEvidence{
				ContentType: "text/plain",
				Description: fmt.Sprintf("OSSEC alert log lines, the latest %d of %d (times UTC)", len(r.Alerts), r.Count),
				Payload:     base64.StdEncoding.EncodeToString(payload),
				Hash:        "sha256:" + hex.EncodeToString(sum[:]),
				Size:        len(payload),
			})
		}
		if x.Evidence == nil {
			x.Evidence = []XARFEvidence{}
		}
		for i, rule := range r.Rules {
			if i == 10 {
				break
			}
			x.Tags = append(x.Tags, "ossec-rule:"+strconv.Itoa(rule.ID))
		}
		out = append(out, x)
	}
	return out
}

// xarfDescription says what happened in at most 1000 characters.
func xarfDescription(r Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s recorded by OSSEC HIDS from %s to %s.", r.Kind.Label(),
		plural(r.Count, "alert", "alerts"), rfc3339(r.FirstSeen), rfc3339(r.LastSeen))
	for _, rule := range r.Rules {
		s := fmt.Sprintf(" Rule %d (level %d, %d): %s.", rule.ID, rule.Level, rule.Count, strings.TrimSuffix(rule.Description, "."))
		if b.Len()+len(s) > 1000 {
			break
		}
		b.WriteString(s)
	}
	return b.String()
}

// evidenceText is the quoted alerts as text: each alert's UTC time and
// rule, then its log lines.
func evidenceText(r Report) string {
	var b strings.Builder
	for _, a := range r.Alerts {
		fmt.Fprintf(&b, "%s rule %d level %d\n", rfc3339(a.Time), a.RuleID, a.Level)
		for l := range strings.SplitSeq(a.Log, "\n") {
			b.WriteString("  " + l + "\n")
		}
	}
	return b.String()
}

// MarshalXARF writes reports as an indented JSON array: how a draft
// stores and shows them.
func MarshalXARF(reports []XARFReport) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if reports == nil {
		reports = []XARFReport{}
	}
	_ = enc.Encode(reports) // plain structs of strings and numbers always encode
	return b.Bytes()
}

// MarshalXARFReport writes one report as indented JSON: an attachment.
func MarshalXARFReport(x XARFReport) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(x) // plain structs of strings and numbers always encode
	return b.Bytes()
}

// UnmarshalXARF reads what MarshalXARF wrote.
func UnmarshalXARF(data []byte) ([]XARFReport, error) {
	var out []XARFReport
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("read X-ARF reports: %w", err)
	}
	return out, nil
}

// FilterXARF keeps the reports about addrs.
func FilterXARF(reports []XARFReport, addrs []netip.Addr) []XARFReport {
	var out []XARFReport
	for _, x := range reports {
		a, err := netip.ParseAddr(x.SourceIdentifier)
		if err != nil {
			continue
		}
		for _, b := range addrs {
			if a == b {
				out = append(out, x)
				break
			}
		}
	}
	return out
}
