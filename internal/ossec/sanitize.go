package ossec

import "strings"

// SanitizeDB returns s as ossec-dbd stores text (osdb_escapestr in
// src/os_dbd/db_op.c): ' becomes `, \ becomes /, every byte other than \n
// and printable ASCII becomes a space, and a trailing backslash is dropped.
// Readers use it to compare file text with database text.
func SanitizeDB(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\'' || c == '\\' || (c != '\n' && (c < 32 || c > 126)) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	s = strings.TrimSuffix(s, `\`)
	b := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			c = '`'
		case c == '\\':
			c = '/'
		case c != '\n' && (c < 32 || c > 126):
			c = ' '
		}
		b[i] = c
	}
	return string(b)
}
