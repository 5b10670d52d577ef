package alertslog

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"

	"github.com/rampart-ids/rampart/internal/ossec"
)

// benchInput is n alerts shaped like §4.5 A, B and C (250–400 bytes each),
// with a few hundred distinct sources, as a busy manager's day file holds.
func benchInput(n int) []byte {
	var b []byte
	for i := range n {
		a := ossec.Alert{ID: ossec.ID{Epoch: 1700000000 + int64(i), Seq: int64(len(b))}}
		ip := netip.AddrFrom4([4]byte{203, 0, byte(113 + i%3), byte(i % 251)})
		switch i % 3 {
		case 0:
			a.Mail, a.RuleID, a.Level = true, 5712, 10
			a.Description = "SSHD brute force: many failed logins from one source."
			a.Groups = []string{"syslog", "sshd", "authentication_failures"}
			a.SrcIP, a.User = ip, "admin"
			a.Location = ossec.ParseLocation("web1->/var/log/auth.log")
			a.Log = []string{
				fmt.Sprintf("Nov 14 22:13:19 web1 sshd[%d]: Failed password for invalid user admin from %s port 50122 ssh2", 41000+i%997, ip),
				fmt.Sprintf("Nov 14 22:13:16 web1 sshd[%d]: Failed password for invalid user admin from %s port 50122 ssh2", 41000+i%997, ip),
			}
		case 1:
			a.RuleID, a.Level = 31104, 6
			a.Description = "Common web attack pattern in request."
			a.Groups = []string{"web", "accesslog", "attack"}
			a.SrcIP = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 4, 0, 2, 15: byte(i % 241)})
			a.Location = ossec.ParseLocation("(fe02) 198.51.100.20->/var/log/nginx/access.log")
			a.Log = []string{fmt.Sprintf(`%s - - [14/Nov/2023:22:15:22 +0000] "GET /index.php?page=../../../../etc/passwd HTTP/1.1" 404 153 "-" "Mozilla/5.0"`, a.SrcIP)}
		default:
			a.RuleID, a.Level = 1002, 2
			a.Description = "Unclassified error message in a system log."
			a.Groups = []string{"syslog", "errors"}
			a.Location = ossec.ParseLocation("web1->/var/log/syslog")
			a.Log = []string{fmt.Sprintf("Nov 14 22:20:49 web1 backupd[%d]: error: state file /srv/backup/state is missing", 2000+i)}
		}
		b = AppendAlert(b, &a, nil)
	}
	return b
}

func BenchmarkParse(b *testing.B) {
	const n = 30000
	data := benchInput(n)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var total int64
	for b.Loop() {
		r := NewReader(bytes.NewReader(data), "bench.log", Options{})
		for r.Next() {
		}
		if r.Err() != nil || r.Stats().Alerts != n {
			b.Fatalf("err %v stats %+v", r.Err(), r.Stats())
		}
		total += n
	}
	b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "alerts/s")
	b.ReportMetric(float64(len(data))/n, "bytes/alert")
}

func BenchmarkAppendAlert(b *testing.B) {
	all := sampleAlerts()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = AppendAlert(buf[:0], &all[i%len(all)], nil)
	}
}
