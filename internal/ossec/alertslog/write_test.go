package alertslog

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rampart-ids/rampart/internal/ossec"
)

// sampleAlerts are alerts with every field set, and a few with some absent.
func sampleAlerts() []ossec.Alert {
	mk := func(epoch, seq int64, mail bool, rule, level int, desc string, groups []string,
		src string, sport uint16, dst string, dport uint16, user, loc string, log ...string) ossec.Alert {
		a := ossec.Alert{
			ID: ossec.ID{Epoch: epoch, Seq: seq}, Mail: mail, RuleID: rule, Level: level,
			Description: desc, Groups: groups, SrcPort: sport, DstPort: dport, User: user,
			Location: ossec.ParseLocation(loc), Log: log,
		}
		a.Time = ossec.TimeFromID(a.ID)
		if src != "" {
			a.SrcIP = netip.MustParseAddr(src)
		}
		if dst != "" {
			a.DstIP = netip.MustParseAddr(dst)
		}
		return a
	}
	return []ossec.Alert{
		mk(1700000000, 48213, true, 5712, 10, "SSHD brute force: it's 'many' failures.", []string{"syslog", "sshd", "authentication_failures"},
			"203.0.113.45", 50122, "198.51.100.1", 22, "admin", "web1->/var/log/auth.log",
			"Nov 14 22:13:19 web1 sshd[41877]: Failed password", "Nov 14 22:13:16 web1 sshd[41877]: Failed password"),
		mk(1700000123, 48765, false, 31104, 6, "Common web attack pattern in request.", []string{"web", "accesslog", "attack"},
			"2001:db8:4:2::17", 443, "2001:db8::80", 8443, "www-data", "(fe02) 198.51.100.20->/var/log/nginx/access.log",
			`2001:db8:4:2::17 - - [14/Nov/2023:22:15:22 +0000] "GET / HTTP/1.1" 404 153`),
		mk(1700000450, 49106, false, 550, 7, "Integrity checksum changed.", []string{"ossec", "syscheck"},
			"192.0.2.9", 1, "192.0.2.10", 65535, "root", "web1->(ssh_integrity_check_linux) root@192.0.2.9->syscheck",
			"Integrity checksum changed for: '/usr/bin/ssh'", "Old md5sum was: 'aa'", "New md5sum was: 'bb'"),
		mk(1700000500, 49500, true, 1002, 2, "No fields at all.", nil, "", 0, "", 0, "", "(fe03) any->/var/log/syslog",
			"Nov 14 22:21:39 fe03 app: error"),
	}
}

func TestAppendAlertRoundTrip(t *testing.T) {
	tz := time.FixedZone("EST", -5*3600)
	for _, loc := range []*time.Location{nil, tz} {
		var buf []byte
		var ends []int64
		want := sampleAlerts()
		for i := range want {
			buf = AppendAlert(buf, &want[i], loc)
			ends = append(ends, int64(len(buf)))
		}
		r := NewReader(bytes.NewReader(buf), "rt.log", Options{Location: loc})
		var got []ossec.Alert
		for r.Next() {
			a := *r.Alert()
			a.Log = append([]string(nil), a.Log...)
			got = append(got, a)
			if r.Offset() != ends[len(got)-1] {
				t.Errorf("Offset after alert %d = %d, want %d", len(got), r.Offset(), ends[len(got)-1])
			}
		}
		if r.Err() != nil || r.Stats().Malformed != 0 {
			t.Fatalf("Err %v, stats %+v", r.Err(), r.Stats())
		}
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Errorf("round trip in %v (-want +got):\n%s", loc, diff)
		}
	}
}

func TestAppendAlertMatchesOSSEC(t *testing.T) {
	// Alert A of ossec-formats.md §4.5, byte for byte.
	a := ossec.Alert{
		ID: ossec.ID{Epoch: 1700000000, Seq: 48213}, Mail: true, RuleID: 5712, Level: 10,
		Description: "SSHD brute force: many failed logins from one source.",
		Groups:      []string{"syslog", "sshd", "authentication_failures"},
		SrcIP:       netip.MustParseAddr("203.0.113.45"), User: "admin",
		Location: ossec.ParseLocation("web1->/var/log/auth.log"),
		Log: []string{
			"Nov 14 22:13:19 web1 sshd[41877]: Failed password for invalid user admin from 203.0.113.45 port 50122 ssh2",
			"Nov 14 22:13:16 web1 sshd[41877]: Failed password for invalid user admin from 203.0.113.45 port 50122 ssh2",
			"Nov 14 22:13:12 web1 sshd[41871]: Failed password for invalid user test from 203.0.113.45 port 50098 ssh2",
		},
	}
	ref := readTestdata(t, "reference.log")
	want := ref[:bytes.Index(ref, []byte("\n\n"))+2]
	if got := AppendAlert(nil, &a, nil); !bytes.Equal(got, want) {
		t.Errorf("AppendAlert =\n%s\nwant\n%s", got, want)
	}
}

func TestResumeAtOffset(t *testing.T) {
	var buf []byte
	all := sampleAlerts()
	for i := range all {
		buf = AppendAlert(buf, &all[i], nil)
	}
	// Resume after each alert in turn: the rest must come out unchanged.
	r := NewReader(bytes.NewReader(buf), "x.log", Options{})
	for n := 1; r.Next(); n++ {
		off, line := r.Offset(), r.Line()
		r2 := NewReader(bytes.NewReader(buf[off:]), "x.log", Options{StartOffset: off, StartLine: line})
		var ids []string
		for r2.Next() {
			ids = append(ids, r2.Alert().ID.String())
		}
		var want []string
		for _, a := range all[n:] {
			want = append(want, a.ID.String())
		}
		if !slices.Equal(ids, want) || r2.Err() != nil || r2.Stats().Malformed != 0 {
			t.Errorf("resume at %d (line %d): %v, err %v, stats %+v; want %v", off, line, ids, r2.Err(), r2.Stats(), want)
		}
		if r2.Offset() != int64(len(buf)) || r2.Line() != strings.Count(string(buf), "\n") {
			t.Errorf("resumed reader ends at %d line %d, want %d line %d", r2.Offset(), r2.Line(), len(buf), strings.Count(string(buf), "\n"))
		}
	}
}

// TestManyDistinctValues runs the intern tables past their bound: values
// must stay right when a table is dropped and refilled.
func TestManyDistinctValues(t *testing.T) {
	const n = 3*internMax + 7
	var buf []byte
	for i := range n {
		a := ossec.Alert{
			ID: ossec.ID{Epoch: int64(1700000000 + i), Seq: int64(i)}, RuleID: i, Level: i % 16,
			Description: fmt.Sprintf("rule %d", i), Groups: []string{fmt.Sprintf("g%d", i), "x"},
			SrcIP: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), User: fmt.Sprintf("u%d", i),
			Location: ossec.ParseLocation(fmt.Sprintf("h%d->/var/log/%d", i, i)), Log: []string{fmt.Sprintf("log %d", i)},
		}
		buf = AppendAlert(buf, &a, nil)
	}
	r := NewReader(bytes.NewReader(buf), "x", Options{})
	i := 0
	for ; r.Next(); i++ {
		a := r.Alert()
		if a.Description != fmt.Sprintf("rule %d", i) || a.Groups[0] != fmt.Sprintf("g%d", i) ||
			a.User != fmt.Sprintf("u%d", i) || a.SrcIP != netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) ||
			a.Location.Manager != fmt.Sprintf("h%d", i) || a.Log[0] != fmt.Sprintf("log %d", i) {
			t.Fatalf("alert %d read back as %+v", i, a)
		}
	}
	if i != n || r.Err() != nil {
		t.Errorf("read %d of %d alerts, err %v", i, n, r.Err())
	}
}
