package nginx

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/rampart-ids/rampart/internal/enforce"
)

// bigSet is n disjoint IPv4 /32s spread so that they do not aggregate.
func bigSet(n, salt int) []enforce.Entry {
	out := make([]enforce.Entry, n)
	for i := range out {
		v := uint32(0x0b000000) + uint32(i)*2 + uint32(salt)*2*uint32(n)
		out[i] = enforce.Entry{Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), 32)}
	}
	return out
}

// BenchmarkApply measures a full apply (render, atomic write, nginx -T,
// reload attempt against a stopped nginx) of large lists, alternating two
// sets so that every iteration changes the file.
func BenchmarkApply(b *testing.B) {
	for _, form := range []Form{FormDeny, FormGeo} {
		for _, n := range []int{1000, 100000} {
			b.Run(fmt.Sprintf("%s-%d", form, n), func(b *testing.B) {
				where, initial := inLocation, AppendDeny(nil, nil, "")
				if form == FormGeo {
					where, initial = atHTTP, AppendGeo(nil, nil, DefaultVariable)
				}
				s := newServer(b, where, initial)
				e, err := New(Options{Path: s.list, Form: form, Binary: nginxBinary(b), Conf: s.conf, Prefix: s.dir})
				if err != nil {
					b.Fatal(err)
				}
				sets := [2][]enforce.Entry{bigSet(n, 0), bigSet(n, 1)}
				for i := 0; b.Loop(); i++ {
					if _, err := e.Apply(b.Context(), sets[i%2]); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRequest measures one request from an allowed client (the worst
// case for the deny form: every rule is checked) with 100,000 entries in
// place, against a real nginx: why FormAuto switches to geo.
func BenchmarkRequest(b *testing.B) {
	for _, form := range []Form{FormDeny, FormGeo} {
		for _, n := range []int{0, 100000} {
			b.Run(fmt.Sprintf("%s-%d", form, n), func(b *testing.B) {
				where, initial := inLocation, AppendDeny(nil, nil, "")
				if form == FormGeo {
					where, initial = atHTTP, AppendGeo(nil, nil, DefaultVariable)
				}
				s := newServer(b, where, initial)
				e, err := New(Options{Path: s.list, Form: form, Binary: nginxBinary(b), Conf: s.conf, Prefix: s.dir})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := e.Apply(b.Context(), bigSet(n, 0)); err != nil {
					b.Fatal(err)
				}
				s.start(b)
				for b.Loop() {
					if code, err := s.status(b.Context(), "127.0.0.1"); err != nil || code != 200 {
						b.Fatalf("status = %d, %v", code, err)
					}
				}
			})
		}
	}
}
