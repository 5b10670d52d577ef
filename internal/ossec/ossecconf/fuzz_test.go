package ossecconf

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/ossec"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.conf")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("<ossec_config><active-response><repeated_offenders>1,2</repeated_offenders>"))
	f.Add([]byte("<!-- -- --><a></b></a><"))
	f.Fuzz(func(t *testing.T, data []byte) {
		orig := bytes.Clone(data)
		c, probs := Parse("fuzz.conf", data)
		if c == nil || c.Commands == nil {
			t.Fatal("nil Config")
		}
		if !bytes.Equal(orig, data) {
			t.Fatal("Parse changed its input")
		}
		lines := bytes.Count(data, []byte{'\n'}) + 1
		for _, p := range probs {
			if p.Line < 1 || p.Line > lines || p.Reason == "" || len(p.Snippet) > ossec.SnippetLen {
				t.Errorf("bad problem %+v (input has %d lines)", p, lines)
			}
		}
		if len(c.RepeatedOffenders) > MaxRepeatedOffenders {
			t.Errorf("%d repeated_offenders steps", len(c.RepeatedOffenders))
		}
		for _, r := range c.Responses {
			if r.Line < 1 || r.Line > lines || r.Command == "" {
				t.Errorf("bad response %+v", r)
			}
		}
		d, ok := c.Block(5712, 10, []string{"sshd"})
		if ok && d <= 0 {
			t.Errorf("Block = %v, true", d)
		}
		esc := c.Escalation(d)
		if len(esc) == 0 || esc[0] <= 0 {
			t.Errorf("Escalation(%v) = %v", d, esc)
		}
		for _, s := range esc[1:] {
			if s < time.Minute {
				t.Errorf("escalation step %v", s)
			}
		}
	})
}
