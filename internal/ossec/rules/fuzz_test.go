package rules

import (
	"bytes"
	"os"
	"testing"

	"github.com/rampart-ids/rampart/internal/ossec"
)

func FuzzParse(f *testing.F) {
	for _, file := range testdataFiles(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`<var name="V">$V$(V)</var><group name="$V"><rule id="1" level="1"><description>$V</description></rule></group>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		rs, probs := Parse("fuzz.xml", data)
		if !bytes.Equal(orig, data) {
			t.Fatal("Parse changed its input")
		}
		lines := bytes.Count(data, []byte{'\n'}) + 1
		for _, p := range probs {
			if p.Line < 1 || p.Line > lines || p.Reason == "" || len(p.Snippet) > ossec.SnippetLen {
				t.Errorf("bad problem %+v (input has %d lines)", p, lines)
			}
		}
		for _, r := range rs {
			if r.ID < 0 || r.Level < 0 || r.Level > MaxLevel || r.Line < 1 || r.Line > lines || r.File != "fuzz.xml" {
				t.Errorf("bad rule %+v", r)
			}
			for _, g := range r.Groups {
				if g == "" {
					t.Errorf("empty group in %+v", r)
				}
			}
		}
	})
}
