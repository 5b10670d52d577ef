package alertdb

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/ossec"
)

// fuzzAlerts decodes data into a filter and a few alerts: 6 bytes of filter,
// then 4 bytes per alert (time step, source, rule and level, location). A
// time step of 255 repeats the previous alert, as a re-read file would.
func fuzzAlerts(data []byte) (analytics.Filter, []ossec.Alert) {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Unix() + 7
	var f analytics.Filter
	if len(data) >= 6 {
		// Bounds move by 997 s steps (odd, so they fall anywhere in a day)
		// plus a fraction.
		if data[0] != 0 {
			f.Since = time.Unix(base+int64(data[0])*997, int64(data[4]%4)*250e6).UTC()
		}
		if data[1] != 0 {
			f.Until = time.Unix(base+int64(data[1])*997*2, int64(data[5]%4)*250e6).UTC()
		}
		f.MinLevel = int(data[2] % 8)
		if data[3]%3 == 0 {
			f.RuleID = 100 + int(data[3]%4)
		}
		data = data[6:]
	}
	srcs := []netip.Addr{{}, netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"),
		netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("2001:db8::7")}
	var out []ossec.Alert
	t := base
	for i := 0; i+4 <= len(data) && len(out) < 400; i += 4 {
		b := data[i : i+4]
		if b[0] == 255 && len(out) > 0 {
			out = append(out, out[len(out)-1])
			continue
		}
		t += int64(b[0]) * 211 // a few alerts per day, many days
		rule := 100 + int(b[2]%4)
		loc := "web" + strconv.Itoa(int(b[3]%3)) + "->/var/log/auth.log"
		out = append(out, ossec.Alert{
			ID: ossec.ID{Epoch: t, Seq: int64(i)}, Time: time.Unix(t, 0).UTC(),
			RuleID: rule, Level: int(b[2]/4) % 8, Description: "rule " + strconv.Itoa(rule),
			SrcIP: srcs[int(b[1])%len(srcs)], Location: ossec.ParseLocation(loc),
			Log: []string{"event " + strconv.Itoa(i)},
		})
	}
	return f, out
}

func FuzzStoreMatchesAnalytics(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "fuzz-seeds", "*"))
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		filter, alerts := fuzzAlerts(data)
		s := openTest(t, "")
		importAll(t, s, "fuzz", alerts, 7)
		stored := unique(alerts)
		got, err := s.TopSources(t.Context(), filter)
		if err != nil {
			t.Fatal(err)
		}
		if diff := gocmp.Diff(wantTop(stored, filter), got, cmpOpts...); diff != "" {
			t.Fatalf("TopSources(%+v) (-want +got):\n%s", filter, diff)
		}
		for _, sc := range wantTop(stored, analytics.Filter{}) {
			rep, err := s.SourceReport(t.Context(), sc.Addr, filter, 3)
			if err != nil {
				t.Fatal(err)
			}
			want := wantReport(stored, sc.Addr, filter, 3)
			if diff := gocmp.Diff(wantReport(stored, sc.Addr, filter, 3).Alerts, rep.Alerts, cmpOpts...); diff != "" {
				t.Fatalf("SourceReport(%s, %+v) alerts (-want +got):\n%s", sc.Addr, filter, diff)
			}
			want.Alerts, rep.Alerts = nil, nil
			if diff := gocmp.Diff(want, rep, cmpOpts...); diff != "" {
				t.Fatalf("SourceReport(%s, %+v) (-want +got):\n%s", sc.Addr, filter, diff)
			}
		}
	})
}

// FuzzCellIDs checks that src_day.ids lists parse without panics and that
// what parses round-trips through appendCellID.
func FuzzCellIDs(f *testing.F) {
	for _, s := range []string{"0", "86399", "1:1,2,3:16777215", "", ",", "1,,2", "-1", "172800", "5:0", "9999999999999999999"} {
		f.Add(int64(20000), s)
	}
	f.Add(int64(-3), "7,8:2")
	f.Fuzz(func(t *testing.T, day int64, s string) {
		day %= 1 << 20
		ids, err := parseCellIDs(nil, day, s)
		if err != nil {
			return
		}
		var b []byte
		for i, id := range ids {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCellID(b, day, id)
		}
		again, err := parseCellIDs(nil, day, string(b))
		if err != nil || !slices.Equal(ids, again) {
			t.Fatalf("%q -> %v -> %q -> %v, %v", s, ids, b, again, err)
		}
	})
}

// FuzzDecodeDeltas feeds src_rule_log blobs to the decoder: no panics, and
// what decodes re-encodes to the same deltas.
func FuzzDecodeDeltas(f *testing.F) {
	f.Add(appendDelta(appendDelta(nil, srcRuleKey{netip.MustParseAddr("192.0.2.1"), 3}, agg{count: 5, first: -7, last: 100}),
		srcRuleKey{netip.MustParseAddr("2001:db8::1"), 1}, agg{count: 1, first: 1700000000, last: 1700000000}))
	f.Add([]byte{4, 1, 2, 3})
	f.Add([]byte{16})
	type delta struct {
		k srcRuleKey
		a agg
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var got, again []delta
		var re []byte
		if err := decodeDeltas(b, func(k srcRuleKey, a agg) {
			got = append(got, delta{k, a})
			re = appendDelta(re, k, a)
		}); err != nil {
			return
		}
		if err := decodeDeltas(re, func(k srcRuleKey, a agg) { again = append(again, delta{k, a}) }); err != nil || !slices.Equal(got, again) {
			t.Fatalf("%x decodes as %v, re-encoded as %x: %v, %v", b, got, re, again, err)
		}
	})
}
