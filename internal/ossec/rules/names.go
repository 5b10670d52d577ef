package rules

import "github.com/rampart-ids/rampart/internal/ossec"

// Names returns the description of every rule in dir that has one, by rule
// id, as LoadDir resolves them (local_rules.xml last, overwrites kept). It
// names the rules of alerts that carry no description: ossec-dbd 2.9+
// stores none. Problems and the error are LoadDir's.
func Names(dir string) (map[int]string, []*ossec.ParseError, error) {
	rs, probs, err := LoadDir(dir)
	if err != nil {
		return nil, probs, err
	}
	out := make(map[int]string, len(rs))
	for id, r := range rs {
		if r.Description != "" {
			out[id] = r.Description
		}
	}
	return out, probs, nil
}
