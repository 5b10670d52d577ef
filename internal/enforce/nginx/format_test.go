package nginx

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rampart-ids/rampart/internal/enforce"
	"github.com/rampart-ids/rampart/internal/goldentest"
	"github.com/rampart-ids/rampart/internal/ossec"
)

var prefixEq = cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func entries(ps []netip.Prefix) []enforce.Entry {
	out := make([]enforce.Entry, len(ps))
	for i, p := range ps {
		out[i] = enforce.Entry{Prefix: p}
	}
	return out
}

// goldenSet covers hosts and prefixes of both families; it is already
// normalised, so Parse must give it back unchanged.
var goldenSet = prefixes("198.51.100.0/24", "203.0.113.5/32", "2001:db8::/64", "2001:db8:1::7/128")

func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"deny", AppendDeny(nil, goldenSet, "")},
		{"geo", AppendGeo(nil, goldenSet, DefaultVariable)},
		{"auto-deny", AppendDeny(nil, goldenSet, DefaultVariable)},
		{"deny-empty", AppendDeny(nil, nil, "")},
		{"geo-empty", AppendGeo(nil, nil, DefaultVariable)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join("testdata", tt.name+".conf.golden")
			goldentest.Check(t, path, tt.data)
			got, err := Parse(path, tt.data)
			if err != nil {
				t.Fatal(err)
			}
			wantSet := goldenSet
			if strings.HasSuffix(tt.name, "-empty") {
				wantSet = nil
			}
			if diff := cmp.Diff(entries(wantSet), got, prefixEq, cmp.Comparer(func(a, b []enforce.Entry) bool {
				return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b, prefixEq)
			})); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name, in string
		want     []netip.Prefix
		errLine  int    // 0: no error
		errSnip  string // quoted statement in the error
	}{
		{name: "hand spacing and comments", in: "  deny   192.0.2.1;  # bot\n\n#deny 10.0.0.1;\ndeny 192.0.2.0/24;\n",
			want: prefixes("192.0.2.0/24")},
		{name: "mapped and unmasked", in: "deny ::ffff:192.0.2.9;\ngeo $x {\n default 0;\n 198.51.100.7/24 1;\n}\n",
			want: prefixes("192.0.2.9/32", "198.51.100.0/24")},
		{name: "allow is not ours", in: "deny 192.0.2.1;\nallow all;\n", errLine: 2, errSnip: "allow all;"},
		{name: "deny all", in: "deny all;\n", errLine: 1, errSnip: "deny all;"},
		{name: "bad geo value", in: "geo $x {\n 192.0.2.1 2;\n}\n", errLine: 2, errSnip: "192.0.2.1 2;"},
		{name: "bad geo key", in: "geo $x {\n default 0;\n 192.0.2.300/32 1;\n}\n", errLine: 3, errSnip: "192.0.2.300/32 1;"},
		{name: "deny inside geo", in: "geo $x {\ndeny 192.0.2.1;\n}\n", errLine: 2, errSnip: "deny 192.0.2.1;"},
		{name: "unclosed geo", in: "geo $x {\n 192.0.2.1/32 1;\n", errLine: 2, errSnip: "geo"},
		{name: "missing semicolon", in: "deny 192.0.2.1\n", errLine: 1, errSnip: "deny 192.0.2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("list.conf", []byte(tt.in))
			if tt.errLine != 0 {
				var pe *ossec.ParseError
				if !errors.As(err, &pe) || pe.File != "list.conf" || pe.Line != tt.errLine || pe.Snippet != tt.errSnip {
					t.Fatalf("Parse error = %#v, want list.conf:%d quoting %q", err, tt.errLine, tt.errSnip)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(entries(tt.want), got, prefixEq); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseForm(t *testing.T) {
	for _, f := range []Form{FormDeny, FormGeo, FormAuto} {
		if got, err := ParseForm(f.String()); err != nil || got != f {
			t.Errorf("ParseForm(%q) = %v, %v", f.String(), got, err)
		}
	}
	if _, err := ParseForm("map"); err == nil || !strings.Contains(err.Error(), `"map"`) {
		t.Errorf("ParseForm(map) error = %v", err)
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"relative path", Options{Path: "rampart/blocklist.conf"}},
		{"path with space", Options{Path: "/etc/nginx/my list.conf"}},
		{"path with semicolon", Options{Path: "/etc/nginx/a;b.conf"}},
		{"variable with dollar", Options{Variable: "$blocked"}},
		{"variable with brace", Options{Variable: "a}"}},
		{"unknown form", Options{Form: Form(9)}},
		{"path is the config", Options{Path: "/etc/nginx/nginx.conf", Conf: "/etc/nginx//nginx.conf"}},
	}
	for _, tt := range tests {
		if _, err := New(tt.opts); err == nil {
			t.Errorf("%s: New accepted %+v", tt.name, tt.opts)
		}
	}
	if _, err := New(Options{}); err != nil {
		t.Errorf("New(defaults): %v", err)
	}
}

func TestIncludeFinder(t *testing.T) {
	want := "# configuration file /x/b.conf:"
	tests := []struct {
		name   string
		chunks []string
		found  bool
	}{
		{"whole", []string{"# configuration file /x/a.conf:\nfoo\n" + want + "\nbar\n"}, true},
		{"split", []string{"foo\n# configuration fi", "le /x/b.co", "nf:\n"}, true},
		{"longer line", []string{want + "x\n"}, false},
		{"in a longer line", []string{"  " + want + "\n"}, false},
		{"no final newline", []string{want}, false},
		{"other file", []string{"# configuration file /x/b.conf.bak:\n"}, false},
	}
	for _, tt := range tests {
		f := &includeFinder{want: want}
		for _, c := range tt.chunks {
			if n, err := f.Write([]byte(c)); n != len(c) || err != nil {
				t.Fatalf("%s: Write = %d, %v", tt.name, n, err)
			}
		}
		if f.found != tt.found {
			t.Errorf("%s: found = %v, want %v", tt.name, f.found, tt.found)
		}
	}
}

func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.golden"))
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("deny 192.0.2.1;\ngeo $x {\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Parse("fuzz.conf", data)
		if err != nil {
			return
		}
		ps := make([]netip.Prefix, len(got))
		for i, e := range got {
			ps[i] = e.Prefix
		}
		for _, out := range [][]byte{AppendDeny(nil, ps, ""), AppendGeo(nil, ps, "v")} {
			again, err := Parse("again.conf", out)
			if err != nil {
				t.Fatalf("Parse of our own output: %v\n%s", err, out)
			}
			if !cmp.Equal(again, got, prefixEq) {
				t.Fatalf("round trip changed the set: %v -> %v", got, again)
			}
		}
	})
}
