package rules

import (
	"os"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("testdata/rules/sshd_rules.xml")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		Parse("sshd_rules.xml", data)
	}
}

func BenchmarkLoadDir(b *testing.B) {
	for b.Loop() {
		if _, _, err := LoadDir("testdata/rules"); err != nil {
			b.Fatal(err)
		}
	}
}
