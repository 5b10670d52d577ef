package blocklist

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// eq compares lists and deltas: prefixes by value, nil and empty slices
// alike.
var eq = cmp.Options{cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }), cmpopts.EquateEmpty()}

var t0 = time.Date(2026, 11, 27, 7, 0, 0, 0, time.UTC)

func testSigner(t testing.TB, seed byte) *Signer {
	t.Helper()
	s, err := NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustCanon(t testing.TB, es ...Entry) []Entry {
	t.Helper()
	out, err := Canon(es)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func e(p string, exp time.Time) Entry {
	if !strings.Contains(p, "/") {
		a := netip.MustParseAddr(p)
		return Entry{Prefix: netip.PrefixFrom(a, a.BitLen()), Expires: exp}
	}
	return Entry{Prefix: netip.MustParsePrefix(p), Expires: exp}
}

func TestSignedListRoundTrip(t *testing.T) {
	s := testSigner(t, 1)
	l := List{Version: 42, Generated: t0, Entries: mustCanon(t,
		e("203.0.113.7", time.Time{}),
		e("198.51.100.0/24", t0.Add(time.Hour+300*time.Millisecond)),
		e("2001:db8:1::/64", time.Time{}),
		e("::ffff:192.0.2.1", t0.Add(2*time.Hour)),
	)}
	data := s.SignList(l)
	want := "# rampart blocklist v1\n# version 42\n# generated 2026-11-27T07:00:00Z\n# key " + s.Public().ID() + "\n" +
		"192.0.2.1 # expires 2026-11-27T09:00:00Z\n198.51.100.0/24 # expires 2026-11-27T08:00:00Z\n203.0.113.7\n2001:db8:1::/64\n# signature "
	if !strings.HasPrefix(string(data), want) {
		t.Fatalf("encoding:\n%s\nwant prefix:\n%s", data, want)
	}
	got, err := s.Public().VerifyList(data)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(l, got, eq); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}

	// The txt format is readable as a plain list by anything that skips
	// '#' comments.
	var plain []string
	for _, line := range strings.Split(string(data), "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		if line = strings.TrimSpace(line); line != "" {
			plain = append(plain, line)
		}
	}
	if diff := cmp.Diff([]string{"192.0.2.1", "198.51.100.0/24", "203.0.113.7", "2001:db8:1::/64"}, plain); diff != "" {
		t.Errorf("plain reading (-want +got):\n%s", diff)
	}
}

func TestVerifyRejects(t *testing.T) {
	s := testSigner(t, 1)
	other := testSigner(t, 2)
	l := List{Version: 7, Generated: t0, Entries: mustCanon(t, e("203.0.113.7", time.Time{}), e("203.0.113.9", time.Time{}))}
	data := s.SignList(l)
	tamper := func(old, new string) []byte { return bytes.Replace(data, []byte(old), []byte(new), 1) }
	for name, in := range map[string][]byte{
		"other key":        data,
		"entry removed":    tamper("203.0.113.9\n", ""),
		"entry changed":    tamper("203.0.113.9", "203.0.113.8"),
		"version bumped":   tamper("# version 7", "# version 8"),
		"intended added":   tamper("# key", "# intended\n# key"),
		"signature gone":   data[:bytes.LastIndex(data, []byte(sigPrefix))],
		"line appended":    append(bytes.Clone(data), "198.51.100.1\n"...),
		"signature broken": tamper("# signature ", "# signature A"),
		"empty":            nil,
	} {
		t.Run(name, func(t *testing.T) {
			k := s.Public()
			if name == "other key" {
				k = other.Public()
			}
			if _, err := k.VerifyList(in); !errors.Is(err, ErrSignature) {
				t.Errorf("VerifyList = %v, want ErrSignature", err)
			}
		})
	}
	if _, err := s.Public().VerifyDelta(data); err == nil || !strings.Contains(err.Error(), "want a delta") {
		t.Errorf("VerifyDelta of a list = %v", err)
	}
}

// A body that is signed but not canonical is refused: one list has exactly
// one encoding, so two agents that verified the same version hold the same
// bytes.
func TestDecodeStrict(t *testing.T) {
	head := "# rampart blocklist v1\n# version 1\n# generated 2026-11-27T07:00:00Z\n# key k\n"
	for _, tt := range []struct{ body, reason string }{
		{head + "203.0.113.9\n203.0.113.7\n", "out of order"},
		{head + "203.0.113.7\n203.0.113.7\n", "out of order or repeated"},
		{head + "203.0.113.7/32\n", "bad prefix"},
		{head + "198.51.100.1/24\n", "bad prefix"},
		{head + "::ffff:192.0.2.1\n", "bad prefix"},
		{head + "fe80::1%eth0\n", "bad prefix"},
		{head + "203.0.113.7 # expires 2026-11-27T09:00:00+01:00\n", "bad expiry"},
		{head + "203.0.113.7 # note\n", "unexpected text"},
		{head + "203.0.113.7", "final newline"},
		{head + "# version 2\n", "version given twice"},
		{head + "# owner me\n", "unexpected header"},
		{"# rampart blocklist v2\n", "not a Rampart block list"},
		{"# rampart blocklist v1\n# generated 2026-11-27T07:00:00Z\n# key k\n", "no version header"},
	} {
		_, err := decode([]byte(tt.body))
		var de *DecodeError
		if !errors.As(err, &de) || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("decode(%q) = %v, want a DecodeError with %q", tt.body, err, tt.reason)
		}
	}
}

func randomList(r *rand.Rand, version uint64, n int) List {
	es := make([]Entry, 0, n)
	seen := map[netip.Prefix]bool{}
	for len(es) < n {
		var p netip.Prefix
		if r.IntN(5) == 0 {
			var a [16]byte
			a[0], a[1], a[2], a[15] = 0x20, 0x01, byte(r.IntN(4)), byte(r.IntN(8))
			p = netip.PrefixFrom(netip.AddrFrom16(a), 64+r.IntN(65)).Masked()
		} else {
			p = netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, byte(r.IntN(4)), byte(r.IntN(16))}), 24+r.IntN(9)).Masked()
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		var exp time.Time
		if r.IntN(2) == 0 {
			exp = t0.Add(time.Duration(r.IntN(3)) * time.Hour)
		}
		es = append(es, Entry{Prefix: p, Expires: exp})
	}
	es, _ = Canon(es)
	return List{Version: version, Generated: t0.Add(time.Duration(version) * time.Second), Entries: es}
}

func TestDiffApply(t *testing.T) {
	s := testSigner(t, 3)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		a := randomList(r, uint64(i+1), r.IntN(40))
		b := randomList(r, uint64(i+2+r.IntN(3)), r.IntN(40))
		b.Intended = r.IntN(2) == 0
		d := Diff(a, b)
		// Through the wire: sign, verify, then apply.
		wire, err := s.Public().VerifyDelta(s.SignDelta(d))
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if diff := cmp.Diff(d, wire, eq); diff != "" {
			t.Fatalf("case %d: delta through the wire (-sent +got):\n%s", i, diff)
		}
		got, err := wire.Apply(a)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if !cmp.Equal(got.Entries, b.Entries, eq) || got.Version != b.Version || got.Intended != b.Intended {
			t.Fatalf("case %d: apply(diff(a, b), a) != b:\n%v\n%v", i, got, b)
		}
		if d.Changes() == 0 && (len(a.Entries) != len(b.Entries)) {
			t.Fatalf("case %d: no changes between lists of different sizes", i)
		}
	}
	if _, err := (Delta{From: 3, To: 4}).Apply(List{Version: 2}); err == nil {
		t.Error("a delta applied to the wrong version")
	}
}

func TestPublicKeyText(t *testing.T) {
	k := testSigner(t, 4).Public()
	got, err := ParsePublicKey(" " + k.String() + "\n")
	if err != nil || got.ID() != k.ID() || got.String() != k.String() {
		t.Fatalf("ParsePublicKey(String()) = %v, %v", got, err)
	}
	for _, bad := range []string{"", "ed25519:AAAA", pubPrefix + "!!", pubPrefix + "AAAA"} {
		if _, err := ParsePublicKey(bad); err == nil {
			t.Errorf("ParsePublicKey(%q) accepted", bad)
		}
	}
}

func TestCanonRejectsRepeats(t *testing.T) {
	if _, err := Canon([]Entry{e("192.0.2.1", time.Time{}), e("::ffff:192.0.2.1", t0)}); err == nil {
		t.Error("the same address in two spellings accepted")
	}
}

// FuzzDecode: anything decode accepts re-encodes to the same bytes, so a
// list has exactly one canonical form.
func FuzzDecode(f *testing.F) {
	s := testSigner(f, 5)
	r := rand.New(rand.NewPCG(3, 4))
	a, b := randomList(r, 1, 5), randomList(r, 2, 5)
	for _, signed := range [][]byte{s.SignList(a), s.SignDelta(Diff(a, b))} {
		body, _, _ := split(signed)
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := decode(data)
		if err != nil {
			return
		}
		var again []byte
		if d.delta {
			again = encodeDelta(Delta{From: d.from, To: d.to, Generated: d.generated, Intended: d.intended, Added: d.added, Removed: d.removed}, d.keyID)
		} else {
			again = encodeList(List{Version: d.version, Generated: d.generated, Intended: d.intended, Entries: d.entries}, d.keyID)
		}
		if !bytes.Equal(again, data) {
			t.Errorf("decode accepted a non-canonical form:\n%q\nre-encodes as\n%q", data, again)
		}
	})
}

func TestSignatureFields(t *testing.T) {
	s := testSigner(t, 6)
	l := List{Version: 9, Generated: t0, Entries: mustCanon(t, e("203.0.113.7", t0.Add(time.Hour)), e("2001:db8::/48", time.Time{}))}
	sig := s.Signature(l)
	// The receiver rebuilds the list from JSON fields: order and spelling
	// may differ from the canonical form.
	rebuilt := List{Version: 9, Generated: t0.In(time.FixedZone("x", 3600)), Entries: []Entry{
		{Prefix: netip.MustParsePrefix("2001:db8::/48")},
		{Prefix: netip.MustParsePrefix("::ffff:203.0.113.7/128"), Expires: t0.Add(time.Hour)},
	}}
	if err := s.Public().VerifyFields(rebuilt, s.Public().ID(), sig); err != nil {
		t.Fatal(err)
	}
	rebuilt.Entries = rebuilt.Entries[:1]
	if err := s.Public().VerifyFields(rebuilt, s.Public().ID(), sig); !errors.Is(err, ErrSignature) {
		t.Errorf("a shortened list verified: %v", err)
	}
	if err := s.Public().VerifyFields(l, "0000000000000000", sig); !errors.Is(err, ErrSignature) {
		t.Errorf("a foreign key id verified: %v", err)
	}
}

// applyByMap is the obvious Delta.Apply: a map of the list, changed, then
// sorted. The merge must give the same.
func applyByMap(t *testing.T, d Delta, l List) List {
	t.Helper()
	set := map[netip.Prefix]Entry{}
	for _, e := range l.Entries {
		set[e.Prefix] = e
	}
	for _, p := range d.Removed {
		delete(set, p)
	}
	for _, e := range d.Added {
		set[e.Prefix] = e
	}
	var es []Entry
	for _, e := range set {
		es = append(es, e)
	}
	return List{Version: d.To, Generated: d.Generated, Intended: d.Intended, Entries: mustCanon(t, es...)}
}

// Apply's merge against the obvious implementation: new, re-timed and
// removed prefixes, removals of prefixes the list does not hold, changes in
// any order, IPv4 and IPv6, empty lists and deltas.
func TestApplyMatchesMap(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	prefix := func() netip.Prefix {
		if r.IntN(4) == 0 {
			a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(r.IntN(8))})
			return netip.PrefixFrom(a, 120+r.IntN(9)).Masked()
		}
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(r.IntN(64))}), 28+r.IntN(5)).Masked()
	}
	expiry := func() time.Time {
		if r.IntN(5) == 0 {
			return time.Time{}
		}
		return t0.Add(time.Duration(r.IntN(100)) * time.Minute)
	}
	for round := range 500 {
		var es []Entry
		seen := map[netip.Prefix]bool{}
		for range r.IntN(40) {
			if p := prefix(); !seen[p] {
				seen[p] = true
				es = append(es, Entry{Prefix: p, Expires: expiry()})
			}
		}
		l := List{Version: 7, Generated: t0, Entries: mustCanon(t, es...)}
		d := Delta{From: 7, To: 9, Generated: t0.Add(time.Minute)}
		touched := map[netip.Prefix]bool{}
		for range r.IntN(12) {
			p := prefix()
			if touched[p] {
				continue
			}
			touched[p] = true
			if r.IntN(2) == 0 {
				d.Added = append(d.Added, Entry{Prefix: p, Expires: expiry()})
			} else {
				d.Removed = append(d.Removed, p)
			}
		}
		got, err := d.Apply(l)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(applyByMap(t, d, l), got, eq); diff != "" {
			t.Fatalf("round %d: Apply differs from the map (-want +got):\n%s", round, diff)
		}
	}
}

// BenchmarkApply: a delta of 10 changes on a list of 100,000 entries (an
// agent's every ban).
func BenchmarkApply(b *testing.B) {
	es := make([]Entry, 100_000)
	for i := range es {
		es[i] = Entry{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(1 + i>>16), byte(i >> 8), byte(i), 1}), 32)}
	}
	l := List{Version: 1, Entries: mustCanon(b, es...)}
	d := Delta{From: 1, To: 2}
	for i := range 5 {
		d.Added = append(d.Added, Entry{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{200, 0, 0, byte(i)}), 32)})
		d.Removed = append(d.Removed, es[i*1000].Prefix)
	}
	for b.Loop() {
		if _, err := d.Apply(l); err != nil {
			b.Fatal(err)
		}
	}
}
