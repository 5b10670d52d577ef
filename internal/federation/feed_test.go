package federation

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/blocklist"
	"github.com/rampart-ids/rampart/internal/goldentest"
)

func testSigner(t testing.TB, seed byte) *blocklist.Signer {
	t.Helper()
	s, err := blocklist.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sampleFeed() Feed {
	return Feed{Version: 1732690800000000, Generated: t0, Entries: []FeedEntry{
		{Prefix: pfx("203.0.113.7"), Alerts: 12, Levels: Levels{5: 10, 10: 2}, Groups: map[string]int{"sshd": 12, "authentication_failed": 12},
			First: t0.Add(-time.Hour), Last: t0.Add(-time.Minute), Banned: true, Expires: t0.Add(time.Hour)},
		{Prefix: pfx("2001:db8::/64"), Banned: true},
		{Prefix: pfx("198.51.100.0/24"), Alerts: 40, Levels: Levels{3: 40}, Groups: map[string]int{"web": 40, "accesslog": 40},
			First: t0.Add(-2 * time.Hour), Last: t0},
	}}
}

func TestFeedGolden(t *testing.T) {
	s := testSigner(t, 1)
	full, err := SignFeed(s, sampleFeed())
	if err != nil {
		t.Fatal(err)
	}
	goldentest.Check(t, "testdata/feed.golden", full)
	d := FeedDelta{From: 1732690800000000, To: 1732690800000007, Generated: t0.Add(time.Second),
		Changed:   []FeedEntry{{Prefix: pfx("203.0.113.9"), Alerts: 3, Levels: Levels{6: 3}, First: t0, Last: t0}},
		Withdrawn: []netip.Prefix{pfx("2001:db8::/64"), pfx("198.51.100.0/24")}}
	delta, err := SignFeedDelta(s, d)
	if err != nil {
		t.Fatal(err)
	}
	goldentest.Check(t, "testdata/feed-delta.golden", delta)
}

func TestFeedRoundTrip(t *testing.T) {
	s := testSigner(t, 1)
	f := sampleFeed()
	data, err := SignFeed(s, f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := VerifyFeed(s.Public(), data)
	if err != nil {
		t.Fatal(err)
	}
	want := f
	SortEntries(want.Entries)
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) }), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if _, err := VerifyFeedDelta(s.Public(), data); err == nil {
		t.Error("a full feed verified as a delta")
	}
	// A block list signed by the same key is not a feed.
	list := s.SignList(blocklist.List{Version: 1, Generated: t0})
	if _, err := VerifyFeed(s.Public(), list); err == nil || !strings.Contains(err.Error(), "not a Rampart feed") {
		t.Errorf("a block list read as a feed: %v", err)
	}
}

func TestFeedSignature(t *testing.T) {
	s, other := testSigner(t, 1), testSigner(t, 2)
	data, err := SignFeed(s, sampleFeed())
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(data, []byte("alerts=12"), []byte("alerts=99"), 1)
	for _, tt := range []struct {
		name string
		key  blocklist.PublicKey
		data []byte
	}{
		{"other key", other.Public(), data},
		{"tampered", s.Public(), tampered},
		{"truncated", s.Public(), data[:len(data)-10]},
		{"no signature", s.Public(), data[:bytes.LastIndex(data, []byte("# signature"))]},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := VerifyFeed(tt.key, tt.data); !errors.Is(err, blocklist.ErrSignature) {
				t.Errorf("got %v, want ErrSignature", err)
			}
		})
	}
}

func TestFeedDecodeErrors(t *testing.T) {
	head := "# rampart feed v1\n# version 5\n# generated 2026-11-27T07:00:00Z\n# key k\n"
	dhead := "# rampart feed delta v1\n# from 5\n# to 6\n# generated 2026-11-27T07:00:00Z\n# key k\n"
	for _, tt := range []struct{ name, in, want string }{
		{"magic", "# rampart blocklist v1\n", "line 1: not a Rampart feed"},
		{"header order", "# rampart feed v1\n# generated 2026-11-27T07:00:00Z\n# version 5\n# key k\n", "line 2: want the version header"},
		{"headers missing", "# rampart feed v1\n# version 5\n", "headers missing"},
		{"leading zero", "# rampart feed v1\n# version 05\n# generated 2026-11-27T07:00:00Z\n# key k\n", "bad version"},
		{"says nothing", head + "203.0.113.7\n", "says nothing"},
		{"field order", head + "203.0.113.7 ban alerts=3\n", "not in canonical form"},
		{"unknown field", head + "203.0.113.7 agent=web1\n", `unknown field "agent"`},
		{"host bits", head + "203.0.113.7/24 ban\n", "bad prefix"},
		{"single as prefix", head + "203.0.113.7/32 ban\n", "bad prefix"},
		{"mapped", head + "::ffff:203.0.113.7 ban\n", "bad prefix"},
		{"order", head + "203.0.113.9 ban\n203.0.113.7 ban\n", "out of order"},
		{"level range", head + "203.0.113.7 alerts=1 levels=17:1\n", "bad level"},
		{"group name", head + "203.0.113.7 alerts=1 groups=web/1:1\n", "bad group name"},
		{"zero count", head + "203.0.113.7 alerts=1 levels=5:0\n", "bad count"},
		{"unsorted levels", head + "203.0.113.7 alerts=2 levels=6:1,5:1\n", "not in canonical form"},
		{"first only", head + "203.0.113.7 alerts=2 first=2026-11-27T07:00:00Z\n", "want both"},
		{"local time", head + "203.0.113.7 ban=2026-11-27T08:00:00+01:00\n", "not a canonical UTC time"},
		{"no newline", head + "203.0.113.7 ban", "without a final newline"},
		{"v6 spelling", head + "2001:DB8::1 ban\n", "not in canonical form"},
		{"v6 zeros", head + "2001:0db8::/32 ban\n", "not in canonical form"},
		{"zero time", head + "203.0.113.7 ban=0001-01-01T00:00:00Z\n", "not a canonical UTC time"},
		{"february 30", head + "203.0.113.7 ban=2026-02-30T00:00:00Z\n", "not a canonical UTC time"},
		{"repeated", head + "203.0.113.7 alerts=1 alerts=1\n", "out of order or repeated"},
		{"ban equals", head + "203.0.113.7 ban=\n", "not a canonical UTC time"},
		{"leading zero count", head + "203.0.113.7 alerts=01\n", "bad count"},
		{"last only", head + "203.0.113.7 alerts=1 last=2026-11-27T07:00:00Z\n", "want both"},
		{"first after last", head + "203.0.113.7 alerts=1 first=2026-11-27T07:00:01Z last=2026-11-27T07:00:00Z\n", "first not after last"},
		{"delta op", dhead + "203.0.113.7 ban\n", `want "+ " or "- "`},
		{"delta both", dhead + "+ 203.0.113.7 ban\n- 203.0.113.7\n", "both changed and withdrawn"},
		{"delta after", dhead + "- 203.0.113.7\n+ 203.0.113.9 ban\n", "changes after withdrawals"},
		{"withdrawn text", dhead + "- 203.0.113.7 ban\n", "text after a withdrawn prefix"},
		{"delta back", "# rampart feed delta v1\n# from 6\n# to 6\n# generated 2026-11-27T07:00:00Z\n# key k\n", "back"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeFeed([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestCanonEntry(t *testing.T) {
	groups := map[string]int{"bad name": 5}
	for i := range 40 {
		groups[fmt.Sprintf("g%02d", i)] = i + 1
	}
	e, ok := CanonEntry(FeedEntry{Prefix: netip.MustParsePrefix("::ffff:203.0.113.77/120"), Alerts: 3, Groups: groups,
		Levels: Levels{5: 3, 7: 0, 9: -2}, First: t0.Add(time.Minute + 300*time.Millisecond), Last: t0})
	if !ok {
		t.Fatal("entry refused")
	}
	if e.Prefix != pfx("203.0.113.0/24") || len(e.Groups) != MaxGroups || e.Groups["g39"] != 40 || e.Groups["g07"] != 0 ||
		e.Levels != (Levels{5: 3}) || !e.First.Equal(t0) || !e.Last.Equal(t0.Add(time.Minute)) || e.Banned || !e.Expires.IsZero() {
		t.Errorf("canon: %+v", e)
	}
	if _, ok := CanonEntry(FeedEntry{Prefix: pfx("203.0.113.7"), Expires: t0}); ok {
		t.Error("an entry without alerts or ban accepted")
	}
	v, ok := FeedEntry{Prefix: pfx("203.0.113.7"), Alerts: 5, Banned: true, Expires: t0}.View(ScopeDecisions)
	if !ok || v.Alerts != 0 || !v.Banned {
		t.Errorf("decisions view: %+v %v", v, ok)
	}
	if _, ok := (FeedEntry{Prefix: pfx("203.0.113.7"), Alerts: 5}).View(ScopeDecisions); ok {
		t.Error("a summary shown in the decisions view")
	}
}

func randomFeed(r *rand.Rand, version uint64, n int) Feed {
	f := Feed{Version: version, Generated: t0.Add(time.Duration(version) * time.Second)}
	seen := map[netip.Prefix]bool{}
	for len(f.Entries) < n {
		var e FeedEntry
		if r.IntN(4) == 0 {
			var b [16]byte
			b[0], b[1] = 0x20, 0x01
			for i := 2; i < 8; i++ {
				b[i] = byte(r.UintN(256))
			}
			e.Prefix = netip.PrefixFrom(netip.AddrFrom16(b), 48+16*r.IntN(2)).Masked()
		} else {
			e.Prefix = netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(1 + r.IntN(220)), byte(r.UintN(256)), byte(r.UintN(256)), byte(r.UintN(256))}), 32)
		}
		if seen[e.Prefix] {
			continue
		}
		seen[e.Prefix] = true
		if r.IntN(3) > 0 {
			e.Alerts = 1 + r.IntN(500)
			e.Levels = Levels{5: e.Alerts}
			e.Groups = map[string]int{"sshd": e.Alerts, "authentication_failed": e.Alerts}
			e.First, e.Last = t0.Add(-time.Hour), t0
		}
		if e.Alerts == 0 || r.IntN(2) == 0 {
			e.Banned, e.Expires = true, t0.Add(time.Duration(1+r.IntN(48))*time.Hour)
		}
		f.Entries = append(f.Entries, e)
	}
	SortEntries(f.Entries)
	return f
}

// FuzzDecodeFeed: anything the decoder accepts re-encodes to the same
// bytes, so a feed has exactly one signed form.
func FuzzDecodeFeed(f *testing.F) {
	s := testSigner(f, 3)
	seeds, _ := filepath.Glob("testdata/feed*.golden")
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:bytes.LastIndex(b, []byte("# signature"))])
	}
	r := rand.New(rand.NewPCG(1, 2))
	full, _ := SignFeed(s, randomFeed(r, 7, 5))
	f.Add(full[:bytes.LastIndex(full, []byte("# signature"))])
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := decodeFeed(data)
		if err != nil {
			return
		}
		var again []byte
		if d.delta {
			again = encodeFeedDelta(FeedDelta{From: d.from, To: d.to, Generated: d.generated, Changed: d.entries, Withdrawn: d.withdrawn}, d.keyID)
		} else {
			again = encodeFeed(Feed{Version: d.version, Generated: d.generated, Entries: d.entries}, d.keyID)
		}
		if !bytes.Equal(again, data) {
			t.Errorf("decode accepted a non-canonical form:\n%q\nre-encodes as\n%q", data, again)
		}
	})
}

func BenchmarkVerifyFeed100k(b *testing.B) {
	s := testSigner(b, 1)
	data, err := SignFeed(s, randomFeed(rand.New(rand.NewPCG(5, 6)), 1, 100_000))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := VerifyFeed(s.Public(), data); err != nil {
			b.Fatal(err)
		}
	}
}
