package enforce

import (
	"strings"
	"testing"
	"time"
)

func TestReadList(t *testing.T) {
	in := "# attackers\n203.0.113.5\n\n198.51.100.0/24 # a /24 of bots\n::ffff:192.0.2.1\n2001:db8::/32\nnot-an-ip\n10.40.0.%\n"
	exp := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	got, bad, err := ReadList(strings.NewReader(in), "list.txt", exp)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"203.0.113.5/32", "198.51.100.0/24", "192.0.2.1/32", "2001:db8::/32"}
	if len(got) != len(want) {
		t.Fatalf("entries = %v", got)
	}
	for i, w := range want {
		if got[i].Prefix.String() != w || !got[i].Expires.Equal(exp) {
			t.Errorf("entry %d = %v, want %s", i, got[i], w)
		}
	}
	if len(bad) != 2 || bad[0].Error() != `list.txt:7: invalid address or prefix "not-an-ip"` || bad[1].Line != 8 {
		t.Errorf("bad = %v", bad)
	}
}

func TestCheckChange(t *testing.T) {
	tests := []struct {
		add, remove, applied int
		share                float64
		ok                   bool
	}{
		{1000, 0, 0, 0.5, true},  // first apply
		{10, 10, 100, 0.5, true}, // small update
		{0, 60, 100, 0.5, false}, // a truncated list would unblock most
		{60, 0, 100, 0.5, false}, // a sudden flood
		{100, 100, 100, 0, true}, // guard off
		{50, 50, 100, 0.5, true}, // exactly the limit
		{1, 0, 1, 0.5, true},     // one ban on a one-entry list: not a mass change
		{0, 10, 12, 0.5, true},   // at the floor
		{0, 11, 12, 0.5, false},  // above the floor and the share
	}
	for _, tt := range tests {
		err := CheckChange(tt.add, tt.remove, tt.applied, tt.share)
		if (err == nil) != tt.ok {
			t.Errorf("CheckChange(%d, %d, %d, %v) = %v", tt.add, tt.remove, tt.applied, tt.share, err)
		}
	}
}
