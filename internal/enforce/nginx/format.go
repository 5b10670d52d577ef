package nginx

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"strings"

	"github.com/rampart-ids/rampart/internal/enforce"
	"github.com/rampart-ids/rampart/internal/ossec"
)

// Form is the shape of the include file.
type Form int

const (
	// FormDeny writes "deny ADDR;" lines. It is the zero value because
	// its file works wherever the operator includes it.
	FormDeny Form = iota
	// FormGeo writes one "geo $var { ... }" block.
	FormGeo
	// FormAuto writes the deny form up to Options.AutoGeoAbove entries and
	// the geo form above; both then define the geo variable, so the file
	// must be included at http level.
	FormAuto
)

// String returns "deny", "geo" or "auto".
func (f Form) String() string {
	switch f {
	case FormDeny:
		return "deny"
	case FormGeo:
		return "geo"
	case FormAuto:
		return "auto"
	}
	return fmt.Sprintf("Form(%d)", int(f))
}

// ParseForm parses "deny", "geo" or "auto".
func ParseForm(s string) (Form, error) {
	for _, f := range []Form{FormDeny, FormGeo, FormAuto} {
		if s == f.String() {
			return f, nil
		}
	}
	return 0, fmt.Errorf("nginx form %q: want deny, geo or auto", s)
}

// header starts every file: it tells a reader who owns it.
const header = "# Written by rampart (enforce backend nginx). Do not edit: every apply replaces this file.\n"

// AppendDeny appends the deny form of prefixes to b. When geoVar is not
// empty the file also defines that geo variable as 0 for every client, so a
// configuration written for the geo form keeps working (FormAuto). Invalid
// prefixes are skipped: they cannot be blocked, and the caller validated
// them.
func AppendDeny(b []byte, prefixes []netip.Prefix, geoVar string) []byte {
	b = append(b, header...)
	if geoVar != "" {
		b = append(b, "geo $"...)
		b = append(b, geoVar...)
		b = append(b, " {\n    default 0;\n}\n"...)
	}
	for _, p := range prefixes {
		if !p.IsValid() {
			continue
		}
		p = p.Masked()
		b = append(b, "deny "...)
		if p.IsSingleIP() {
			b = p.Addr().AppendTo(b)
		} else {
			b = p.AppendTo(b)
		}
		b = append(b, ";\n"...)
	}
	return b
}

// AppendGeo appends the geo form of prefixes to b: a geo block setting
// $geoVar to 1 for every prefix (always written as CIDR) and 0 otherwise.
// Invalid prefixes are skipped.
func AppendGeo(b []byte, prefixes []netip.Prefix, geoVar string) []byte {
	b = append(b, header...)
	b = append(b, "geo $"...)
	b = append(b, geoVar...)
	b = append(b, " {\n    default 0;\n"...)
	for _, p := range prefixes {
		if !p.IsValid() {
			continue
		}
		b = append(b, "    "...)
		b = p.Masked().AppendTo(b)
		b = append(b, " 1;\n"...)
	}
	return append(b, "}\n"...)
}

// Parse reads a file in either form back. It knows the statements the
// Append functions write ("deny ADDR;", "geo $var {", "default 0;",
// "PREFIX 1;", "}") and comments; anything else is an error naming the file,
// the line and the statement, because an entry Rampart cannot read is one
// Status cannot report. name is only used in errors. The result is
// normalised (aggregated, sorted, no expiry).
func Parse(name string, data []byte) ([]enforce.Entry, error) {
	var entries []enforce.Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	line, inGeo := 0, false
	fail := func(reason, stmt string) error {
		return &ossec.ParseError{File: name, Line: line, Reason: reason, Snippet: ossec.Snip(stmt)}
	}
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		stmt := strings.Join(f, " ")
		switch {
		case !inGeo && len(f) == 3 && f[0] == "geo" && strings.HasPrefix(f[1], "$") && len(f[1]) > 1 && f[2] == "{":
			inGeo = true
		case !inGeo && len(f) == 2 && f[0] == "deny" && strings.HasSuffix(f[1], ";"):
			p, err := enforce.ParseEntry(strings.TrimSuffix(f[1], ";"))
			if err != nil {
				return nil, fail("want deny ADDRESS; or deny PREFIX;", stmt)
			}
			entries = append(entries, enforce.Entry{Prefix: p})
		case inGeo && len(f) == 1 && f[0] == "}":
			inGeo = false
		case inGeo && len(f) == 2 && f[0] == "default" && f[1] == "0;":
		case inGeo && len(f) == 2 && f[1] == "1;":
			p, err := enforce.ParseEntry(f[0])
			if err != nil {
				return nil, fail("want PREFIX 1; in the geo block", stmt)
			}
			entries = append(entries, enforce.Entry{Prefix: p})
		case inGeo:
			return nil, fail("want PREFIX 1;, default 0; or } in the geo block", stmt)
		default:
			return nil, fail("want deny ADDRESS; or geo $VAR {", stmt)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if inGeo {
		return nil, &ossec.ParseError{File: name, Line: line, Reason: "geo block not closed", Snippet: "geo"}
	}
	return enforce.Normalize(entries, enforce.NormalizeOptions{}), nil
}
