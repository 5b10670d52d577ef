package federation

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/rampart-ids/rampart/internal/goldentest"
)

func renderList(res ListResult) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d prefixes, %d bad lines\n", len(res.Prefixes), res.BadLines)
	for _, p := range res.Prefixes {
		fmt.Fprintln(&b, p)
	}
	for _, e := range res.Problems {
		fmt.Fprintln(&b, "error:", e)
	}
	return b.Bytes()
}

func TestParseListGolden(t *testing.T) {
	for _, tt := range []struct {
		file   string
		format ListFormat
	}{
		{"drop.txt", FormatSpamhaus},
		{"drop_v4.json", FormatSpamhaus},
		{"firehol_level1.netset", FormatFireHOL},
		{"plain-bad.txt", FormatPlain},
	} {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata", "lists", tt.file)
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			res, err := ParseList(path, tt.format, f)
			if err != nil {
				t.Fatal(err)
			}
			goldentest.Check(t, path+".golden", renderList(res))
		})
	}
}

func TestParseListLimits(t *testing.T) {
	var b strings.Builder
	for i := range MaxListProblems + 20 {
		fmt.Fprintf(&b, "bad%d\n", i)
	}
	b.WriteString("203.0.113.7\n")
	res, err := ParseList("many", FormatPlain, strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != MaxListProblems || res.BadLines != MaxListProblems+20 || len(res.Prefixes) != 1 {
		t.Errorf("problems %d, bad lines %d, prefixes %d", len(res.Problems), res.BadLines, len(res.Prefixes))
	}
	if _, err := ParseList("long", FormatPlain, strings.NewReader(strings.Repeat("x", maxListLine+1))); err == nil {
		t.Error("a line longer than the limit accepted")
	}
	if _, err := ParseList("broken", FormatPlain, iotest.ErrReader(os.ErrClosed)); err == nil {
		t.Error("a read error ignored")
	}
	if _, err := ParseListFormat("csv"); err == nil {
		t.Error("an unknown format accepted")
	}
}

// FuzzParseList: every prefix ParseList returns is canonical, and no
// input crashes it.
func FuzzParseList(f *testing.F) {
	paths, _ := filepath.Glob("testdata/lists/*")
	for _, p := range paths {
		if strings.HasSuffix(p, ".golden") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []ListFormat{FormatSpamhaus, FormatFireHOL, FormatPlain} {
			res, err := ParseList("fuzz", format, bytes.NewReader(data))
			if err != nil {
				continue
			}
			for i, p := range res.Prefixes {
				if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() || (i > 0 && comparePrefix(res.Prefixes[i-1], p) >= 0) {
					t.Errorf("%s: prefix %d %s not canonical or not sorted", format, i, p)
				}
			}
		}
	})
}
