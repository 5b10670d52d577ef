package alertsjson

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// benchInput is a realistic mix: the well-formed lines of the 3.2 (duplicate
// keys), 3.4, 4.2 and Wazuh samples, repeated to about 1 000 alerts.
func benchInput(b *testing.B, names ...string) (data []byte, alerts int) {
	b.Helper()
	var lines [][]byte
	for _, n := range names {
		raw, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			b.Fatal(err)
		}
		r := NewReader(bytes.NewReader(raw), n, Options{})
		all := bytes.Split(raw, []byte("\n"))
		for r.Next() {
			lines = append(lines, all[r.Line()-1])
		}
	}
	for alerts < 1000 {
		for _, l := range lines {
			data = append(append(data, l...), '\n')
			alerts++
		}
	}
	return data, alerts
}

func benchParse(b *testing.B, names ...string) {
	data, n := benchInput(b, names...)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := NewReader(bytes.NewReader(data), "bench", Options{})
		got := 0
		for r.Next() {
			got++
		}
		if got != n {
			b.Fatalf("read %d alerts, want %d", got, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
	b.ReportMetric(float64(len(data))/float64(n), "B/alert")
}

func BenchmarkParse(b *testing.B) {
	benchParse(b, "ossec32.json", "ossec34.json", "ossec42.json", "wazuh4.json")
}

func BenchmarkParseOSSEC34(b *testing.B) { benchParse(b, "ossec34.json") }
func BenchmarkParseOSSEC32(b *testing.B) { benchParse(b, "ossec32.json") }
func BenchmarkParseWazuh(b *testing.B)   { benchParse(b, "wazuh4.json") }

func BenchmarkAppendAlert(b *testing.B) {
	alerts := sampleAlerts()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = buf[:0]
		for i := range alerts {
			buf = AppendAlert(buf, &alerts[i], OSSEC34)
		}
	}
	b.ReportMetric(float64(len(alerts))*float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
}
