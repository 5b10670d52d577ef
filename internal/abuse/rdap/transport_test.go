package rdap

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestCheckRedirect(t *testing.T) {
	req := func(raw string) *http.Request {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		return &http.Request{URL: u}
	}
	tests := []struct {
		from, to string
		hops     int
		want     string // "" allowed
	}{
		{"https://rdap.arin.net/registry/ip/1.2.3.4", "https://rdap.db.ripe.net/ip/1.2.3.4", 1, ""},
		{"https://rdap.arin.net/registry/ip/1.2.3.4", "http://127.0.0.1:8080/ip/1.2.3.4", 1, `non-public host "127.0.0.1" refused`},
		{"https://rdap.arin.net/registry/ip/1.2.3.4", "http://[::1]/ip/1.2.3.4", 1, "refused"},
		{"https://rdap.arin.net/registry/ip/1.2.3.4", "http://10.0.0.1/ip/1.2.3.4", 1, "refused"},
		{"https://rdap.arin.net/registry/ip/1.2.3.4", "http://169.254.169.254/latest/meta-data", 1, "refused"},
		{"https://rdap.arin.net/registry/ip/1.2.3.4", "http://LocalHost./x", 1, "refused"},
		// A private start (a test or in-house service) may redirect within.
		{"http://127.0.0.1:1/arin/ip/1.2.3.4", "http://127.0.0.1:1/ripe/ip/1.2.3.4", 1, ""},
		{"https://rdap.arin.net/a", "https://rdap.db.ripe.net/b", DefaultRedirects, "stopped after 5 redirects"},
	}
	for _, tt := range tests {
		via := make([]*http.Request, tt.hops)
		for i := range via {
			via[i] = req(tt.from)
		}
		err := checkRedirect(req(tt.to), via)
		if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s -> %s: %v, want %q", tt.from, tt.to, err, tt.want)
		}
	}
}

func TestLimitBody(t *testing.T) {
	for _, tt := range []struct {
		size    int
		wantErr bool
	}{{99, false}, {100, false}, {101, true}, {5000, true}} {
		b := &limitBody{rc: io.NopCloser(strings.NewReader(strings.Repeat("x", tt.size))), left: 100, max: 100}
		got, err := io.ReadAll(b)
		if (err != nil) != tt.wantErr {
			t.Errorf("%d bytes: %v", tt.size, err)
		}
		if len(got) > 101 {
			t.Errorf("%d bytes: read %d, more than the limit and one", tt.size, len(got))
		}
	}
}
