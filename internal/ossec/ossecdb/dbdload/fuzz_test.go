package dbdload_test

import (
	"bufio"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/dbdload"
)

// FuzzStored: for any text, what a reader gets back is dbd-shaped: sanitised
// ASCII, at most 20 log lines and 7 456 characters, a location of at most
// 128 characters, and never a panic. Stored needs no database.
func FuzzStored(f *testing.F) {
	fh, err := os.Open("testdata/texts.txt")
	if err != nil {
		f.Fatal(err)
	}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		user, rest, _ := strings.Cut(sc.Text(), "|")
		loc, log, _ := strings.Cut(rest, "|")
		f.Add(user, loc, strings.ReplaceAll(log, `\n`, "\n"), "203.0.113.45")
	}
	fh.Close()
	f.Fuzz(func(t *testing.T, user, loc, log, src string) {
		a := ossec.Alert{ID: ossec.ID{Epoch: 1700000000, Seq: 1}, Time: time.Unix(1700000000, 0), RuleID: 1, Level: 5,
			User: user, Location: ossec.ParseLocation(loc), Log: strings.Split(log, "\n"), Groups: []string{user}}
		a.SrcIP, _ = netip.ParseAddr(src)
		for _, d := range []dbdload.Dialect{dbdload.MySQL, dbdload.Postgres} {
			for _, v := range []dbdload.Version{dbdload.V28, dbdload.V29, dbdload.V3x, dbdload.VMaster, dbdload.VHybrid} {
				l := dbdload.NewLoader(nil, d, v, "web1")
				got, ok := l.Stored(&a)
				if !ok {
					continue
				}
				full := strings.Join(got.Log, "\n")
				if len(got.Log) > 20 || len(full) > 7456 {
					t.Errorf("%s %s: %d lines, %d chars", d, v, len(got.Log), len(full))
				}
				for _, s := range append([]string{got.User, full}, got.Groups...) {
					if s != ossec.SanitizeDB(s) {
						t.Errorf("%s %s: unsanitised %q", d, v, s)
					}
				}
				if got.SrcIP.IsValid() && got.SrcIP.Is4In6() {
					t.Errorf("%s %s: source %v left mapped", d, v, got.SrcIP)
				}
				for _, g := range got.Groups {
					if g == "" || len(g) > 32 {
						t.Errorf("%s %s: group %q", d, v, g)
					}
				}
			}
		}
	})
}
