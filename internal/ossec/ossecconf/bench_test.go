package ossecconf

import (
	"os"
	"testing"
)

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("testdata/installer-local.conf")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		Parse("ossec.conf", data)
	}
}

func BenchmarkBlock(b *testing.B) {
	c, _, err := Load("testdata/installer-local.conf")
	if err != nil {
		b.Fatal(err)
	}
	groups := []string{"syslog", "sshd", "authentication_failures"}
	for b.Loop() {
		c.Block(5712, 10, groups)
	}
}
