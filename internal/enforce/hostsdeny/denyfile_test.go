package hostsdeny

import (
	"strings"
	"testing"
)

const (
	testList    = "/etc/rampart/hosts.deny.list"
	testInclude = "ALL: " + testList
	block       = Marker + "\n" + testInclude + "\n"
)

func TestWithInclude(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // after withInclude; withoutInclude must give back in (or clean, if set)
		// clean is what withoutInclude leaves when in held Rampart lines.
		clean string
	}{
		{name: "empty", in: "", want: block},
		{name: "ossec fail2ban hand", in: "# /etc/hosts.deny\nALL:192.0.2.9\nALL: 192.0.2.10\nsshd: 192.0.2.11\n",
			want: "# /etc/hosts.deny\nALL:192.0.2.9\nALL: 192.0.2.10\nsshd: 192.0.2.11\n" + block},
		{name: "missing final newline", in: "ALL:192.0.2.9\nsshd: 192.0.2.11",
			want: "ALL:192.0.2.9\n" + block + "sshd: 192.0.2.11"},
		{name: "only line without newline", in: "ALL:192.0.2.9", want: block + "ALL:192.0.2.9"},
		{name: "continuation kept whole", in: "ALL: 192.0.2.1 \\\n  192.0.2.2\nin.ftpd: \\\n 192.0.2.3",
			want: "ALL: 192.0.2.1 \\\n  192.0.2.2\n" + block + "in.ftpd: \\\n 192.0.2.3"},
		{name: "dangling continuation at end", in: "ALL:192.0.2.9\nsshd: 192.0.2.11 \\\n",
			want: "ALL:192.0.2.9\n" + block + "sshd: 192.0.2.11 \\\n"},
		{name: "crlf and blank lines", in: "ALL:192.0.2.9\r\n\n\n", want: "ALL:192.0.2.9\r\n\n\n" + block},
		{name: "already there", in: "ALL:192.0.2.9\n" + block + "ALL:192.0.2.12\n", want: "ALL:192.0.2.9\n" + block + "ALL:192.0.2.12\n",
			clean: "ALL:192.0.2.9\nALL:192.0.2.12\n"},
		{name: "duplicated blocks collapse", in: block + "ALL:192.0.2.9\n" + block, want: "ALL:192.0.2.9\n" + block,
			clean: "ALL:192.0.2.9\n"},
		{name: "marker lost by hand", in: testInclude + "\nALL:192.0.2.9\n", want: "ALL:192.0.2.9\n" + block,
			clean: "ALL:192.0.2.9\n"},
		{name: "stray marker", in: Marker + "\nALL:192.0.2.9\n", want: "ALL:192.0.2.9\n" + block, clean: "ALL:192.0.2.9\n"},
		{name: "other daemon list after marker", in: Marker + "\nsshd, in.ftpd: " + testList + "\nALL:192.0.2.9\n",
			want: "ALL:192.0.2.9\n" + block, clean: "ALL:192.0.2.9\n"},
		{name: "look-alike lines are not ours", in: "# " + testInclude + "\nsshd: " + testList + "\nALL: " + testList + " 192.0.2.1\n",
			want: "# " + testInclude + "\nsshd: " + testList + "\nALL: " + testList + " 192.0.2.1\n" + block},
		{name: "include inside a continuation is not ours", in: "sshd: 192.0.2.1 \\\n" + testInclude + "\n",
			want: "sshd: 192.0.2.1 \\\n" + testInclude + "\n" + block},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := withInclude([]byte(tt.in), testInclude, testList)
			if string(got) != tt.want {
				t.Fatalf("withInclude:\n got %q\nwant %q", got, tt.want)
			}
			if again, changed := withInclude(got, testInclude, testList); changed || string(again) != tt.want {
				t.Errorf("withInclude not idempotent: %q", again)
			}
			if !hasInclude(got, testInclude, testList) {
				t.Errorf("hasInclude false after withInclude")
			}
			if n := strings.Count(string(got), block); n != 1 {
				t.Errorf("block appears %d times", n)
			}
			clean := tt.in
			if tt.clean != "" {
				clean = tt.clean
			}
			back, _ := withoutInclude(got, testInclude, testList)
			if string(back) != clean {
				t.Errorf("withoutInclude:\n got %q\nwant %q", back, clean)
			}
			if _, changed := withoutInclude(back, testInclude, testList); changed {
				t.Errorf("withoutInclude not idempotent")
			}
		})
	}
}

func FuzzIncludeRoundTrip(f *testing.F) {
	for _, s := range []string{"", "ALL:192.0.2.9\n", "a \\\nb", "sshd: x\n\\", block, "ALL: 1.2.3.4\r\nfoo"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		with, _ := withInclude(data, testInclude, testList)
		if !hasInclude(with, testInclude, testList) {
			t.Fatalf("no include after withInclude: %q", with)
		}
		back, _ := withoutInclude(with, testInclude, testList)
		clean, _ := withoutInclude(data, testInclude, testList)
		if string(back) != string(clean) {
			t.Fatalf("round trip lost bytes:\n in %q\nout %q", clean, back)
		}
	})
}
