package alertsjson

import (
	"encoding/json"
	"errors"
	"strconv"
)

// jsonAlert holds the keys Rampart uses from every dialect. Keys that change
// type between releases or decoders (OSSEC 3.3's second "decoder" is an
// object, OSSEC's "data" is a string where Wazuh's is an object) are either
// left out or decoded through types that tolerate the other form.
type jsonAlert struct {
	Rule      jsonRule    `json:"rule"`
	ID        string      `json:"id"`
	TimeStamp json.Number `json:"TimeStamp"` // epoch ms, OSSEC 3.0+
	Timestamp string      `json:"timestamp"` // OSSEC 3.2+ local time, Wazuh ISO-8601

	SrcIP   string `json:"srcip"`
	SrcPort port   `json:"srcport"`
	DstIP   string `json:"dstip"`
	DstPort port   `json:"dstport"`
	DstUser string `json:"dstuser"`

	Location  string `json:"location"`
	Hostname  string `json:"hostname"`
	AgentName string `json:"agent_name"`
	AgentIP   string `json:"agentip"`
	Logfile   string `json:"logfile"`

	FullLog        string `json:"full_log"`
	PreviousOutput string `json:"previous_output"`

	Agent   object[jsonAgent]   `json:"agent"`
	Manager object[jsonManager] `json:"manager"`
	Data    object[jsonData]    `json:"data"`
}

type jsonRule struct {
	SidID       flexInt  `json:"sidid"` // OSSEC
	ID          flexInt  `json:"id"`    // Wazuh, a string there
	Level       flexInt  `json:"level"`
	Comment     string   `json:"comment"`     // OSSEC
	Description string   `json:"description"` // Wazuh
	Group       string   `json:"group"`       // OSSEC 3.0–3.1 and 4.2: the <group> text
	Groups      []string `json:"groups"`      // OSSEC 3.2+, Wazuh
	Mail        bool     `json:"mail"`        // Wazuh
}

type jsonAgent struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	IP   string `json:"ip"`
}

type jsonManager struct {
	Name string `json:"name"`
}

type jsonData struct {
	SrcIP   string `json:"srcip"`
	SrcPort port   `json:"srcport"`
	DstIP   string `json:"dstip"`
	DstPort port   `json:"dstport"`
	DstUser string `json:"dstuser"`
}

// object decodes a JSON object into V and ignores every other JSON type:
// the same key is an object in Wazuh and a plain string in OSSEC ("data"),
// or a dynamic decoder field may take a name Wazuh uses for an object.
type object[T any] struct {
	V   T
	Set bool
}

func (o *object[T]) UnmarshalJSON(b []byte) error {
	if len(b) == 0 || b[0] != '{' {
		return nil
	}
	o.Set = true
	return json.Unmarshal(b, &o.V)
}

// flexInt is a non-negative integer written as a JSON number (OSSEC) or as
// a numeric string (Wazuh's rule.id).
type flexInt struct {
	v   int64
	set bool
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	s := b
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	n, ok := parseDigits(s)
	if !ok {
		return &valueError{field: "rule.sidid, rule.id or rule.level", want: "a non-negative integer", got: b}
	}
	f.v, f.set = n, true
	return nil
}

// port is a port written as a JSON string (OSSEC's decoders keep it as text)
// or a number. Text that is no port in range (a decoder that captured a
// service name) means no port, as ossec-dbd's atoi makes it 0.
type port uint16

func (p *port) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	switch c := b[0]; {
	case c == '"':
		if len(b) >= 2 {
			*p = portValue(b[1 : len(b)-1])
		}
	case c == '-' || (c >= '0' && c <= '9'):
		*p = portValue(b)
	case c == 'n': // null
	default:
		return &valueError{field: "srcport or dstport", want: "a port number or string", got: b}
	}
	return nil
}

func portValue(s []byte) port {
	n, ok := parseDigits(s)
	if !ok || n > 65535 {
		return 0
	}
	return port(n)
}

// parseDigits parses 1 to 18 decimal digits: enough for epochs, ids and
// ports, too few to overflow.
func parseDigits(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// valueError is a JSON value of the right syntax but the wrong kind.
// encoding/json does not say which field an UnmarshalJSON error belongs
// to, so the type names the fields it serves.
type valueError struct {
	field string
	want  string
	got   []byte
}

func (e *valueError) Error() string {
	got := e.got
	if len(got) > 40 {
		got = got[:40]
	}
	return e.field + ": want " + e.want + ", got " + strconv.Quote(string(got))
}

// describeJSONError turns an encoding/json error into a ParseError reason
// that names the field and the offending value without Go type names.
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var val *valueError
	switch {
	case errors.As(err, &syn):
		return "invalid JSON at byte " + strconv.FormatInt(syn.Offset, 10) + ": " + trimJSONPrefix(syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return "not a JSON object: found " + typ.Value
		}
		return "field " + strconv.Quote(field) + ": wrong type: " + typ.Value
	case errors.As(err, &val):
		return "field " + val.Error()
	case err.Error() == "unexpected end of JSON input":
		return "invalid JSON: unexpected end of input"
	default:
		return "invalid JSON: " + trimJSONPrefix(err.Error())
	}
}

func trimJSONPrefix(s string) string {
	const p = "json: "
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}
