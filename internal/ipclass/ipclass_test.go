package ipclass

import (
	"net/netip"
	"testing"
)

func TestDefaultClassifier(t *testing.T) {
	c, err := New(DefaultLocalNetworks())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr  string
		local bool
	}{
		{"10.40.0.5", true},
		{"110.40.0.5", false}, // string-matching SQL ("LIKE '10.40.0.%'") would not be fooled, but '%10.40.0.%' would
		{"210.40.0.17", false},
		{"10.40.1.5", true},
		{"172.15.255.1", false},
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"172.32.0.1", false},
		{"100.63.255.254", false},
		{"100.64.0.1", true},
		{"100.127.255.255", true},
		{"100.128.0.1", false},
		{"169.254.1.1", true},
		{"169.255.0.1", false},
		{"127.0.0.1", true},
		{"127.255.0.9", true},
		{"192.168.0.77", true},
		{"192.169.0.1", false},
		{"::1", true},
		{"::2", false},
		{"fe80::1", true},
		{"fd12:3456::1", true},
		{"fc00::1", true},
		{"fe00::1", false},
		{"2001:db8::1", false},
		{"::ffff:10.40.0.5", true},
		{"::ffff:110.40.0.5", false},
		{"218.92.0.17", false},
	}
	for _, tt := range tests {
		a := netip.MustParseAddr(tt.addr)
		if got := c.IsLocal(a); got != tt.local {
			t.Errorf("IsLocal(%s) = %v, want %v", tt.addr, got, tt.local)
		}
		if got := c.InScope(Internet)(a); got == tt.local {
			t.Errorf("InScope(internet)(%s) = %v", tt.addr, got)
		}
		if got := c.InScope(Local)(a); got != tt.local {
			t.Errorf("InScope(local)(%s) = %v", tt.addr, got)
		}
		if !c.InScope(All)(a) {
			t.Errorf("InScope(all)(%s) = false", tt.addr)
		}
	}
}

func TestParseList(t *testing.T) {
	got, err := ParseList(" 10.40.0.0/24, 192.168.0.0/24,::1, 2001:db8::1/64,::ffff:10.1.0.0/112")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.40.0.0/24", "192.168.0.0/24", "::1/128", "2001:db8::/64", "10.1.0.0/16"}
	if len(got) != len(want) {
		t.Fatalf("ParseList = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("ParseList[%d] = %v, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"10.40.0.0/33", "10.40.0.", "10.40.0.%", "fe80::1%eth0", "::ffff:10.0.0.0/80", "a/b"} {
		if _, err := ParseList(bad); err == nil {
			t.Errorf("ParseList(%q) succeeded", bad)
		}
	}
	if got, err := ParseList(""); err != nil || len(got) != 0 {
		t.Errorf("ParseList(\"\") = %v, %v", got, err)
	}
}

func TestSeedNetworks(t *testing.T) {
	nets, _ := ParseList("10.40.0.0/24,192.168.0.0/24")
	c, _ := New(nets)
	for addr, local := range map[string]bool{"10.40.0.255": true, "10.40.1.0": false, "110.40.0.5": false, "192.168.0.1": true, "192.168.1.1": false} {
		if got := c.IsLocal(netip.MustParseAddr(addr)); got != local {
			t.Errorf("IsLocal(%s) = %v, want %v", addr, got, local)
		}
	}
	var zero Classifier
	if zero.IsLocal(netip.MustParseAddr("10.0.0.1")) {
		t.Error("zero Classifier has local networks")
	}
}

func TestParseScope(t *testing.T) {
	for _, s := range []Scope{Internet, Local, All} {
		got, err := ParseScope(s.String())
		if err != nil || got != s {
			t.Errorf("ParseScope(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseScope("lan"); err == nil {
		t.Error("ParseScope(lan) succeeded")
	}
}
