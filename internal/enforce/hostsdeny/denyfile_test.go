package hostsdeny

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

const (
	testList    = "/etc/rampart/hosts.deny.list"
	testDir     = testList + ".d"
	testInclude = "ALL: " + testList
	block       = Marker + "\n" + testInclude + "\n"
)

// testOwner is the hosts.deny editor of an Enforcer with default paths.
func testOwner(t testing.TB, form Form) *owner {
	t.Helper()
	e, err := New(Options{Form: form})
	if err != nil {
		t.Fatal(err)
	}
	return e.own
}

// shardBlock is the sharded form's block for testDir with daemons.
func shardBlock(daemons string) string {
	return BlockBegin + "\n" + strings.Join(shardLines(daemons, testDir), "\n") + "\n" + BlockEnd + "\n"
}

type editCase struct {
	name string
	in   string
	want string // after with; without must give back in (or clean, if set)
	// clean is what without leaves when in held Rampart lines.
	clean string
}

func checkEdits(t *testing.T, o *owner, wantBlock string, tests []editCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := o.with([]byte(tt.in))
			if string(got) != tt.want {
				t.Fatalf("with:\n got %q\nwant %q", got, tt.want)
			}
			if again, changed := o.with(got); changed || string(again) != tt.want {
				t.Errorf("with not idempotent: %q", again)
			}
			if !o.has(got) {
				t.Errorf("has false after with")
			}
			if n := strings.Count(string(got), wantBlock); n != 1 {
				t.Errorf("block appears %d times", n)
			}
			clean := tt.in
			if tt.clean != "" {
				clean = tt.clean
			}
			back, _ := o.without(got)
			if string(back) != clean {
				t.Errorf("without:\n got %q\nwant %q", back, clean)
			}
			if _, changed := o.without(back); changed {
				t.Errorf("without not idempotent")
			}
		})
	}
}

func TestWithInclude(t *testing.T) {
	sb := shardBlock("ALL")
	checkEdits(t, testOwner(t, FormSingle), block, []editCase{
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
		{name: "sharded block replaced", in: "ALL:192.0.2.9\n" + sb + "ALL:192.0.2.12\n", want: "ALL:192.0.2.9\nALL:192.0.2.12\n" + block,
			clean: "ALL:192.0.2.9\nALL:192.0.2.12\n"},
	})
}

func TestWithBlock(t *testing.T) {
	sb := shardBlock("ALL")
	lines := shardLines("ALL", testDir)
	other := shardBlock("sshd, in.ftpd")
	// A block an editor cut short: no end marker, two lines lost.
	cut := BlockBegin + "\n" + strings.Join(lines[:100], "\n") + "\n" + strings.Join(lines[102:], "\n") + "\n"
	// A rule written by hand inside the block stays, outside it.
	withHand := BlockBegin + "\n" + strings.Join(lines[:5], "\n") + "\nsshd: 192.0.2.77\n" + strings.Join(lines[5:], "\n") + "\n" + BlockEnd + "\n"
	// The same shape with another daemon list outside a block is not ours.
	lookAlike := "sshd: 5. EXCEPT ALL EXCEPT " + testDir + "/current/5\n" +
		"ALL: 5. EXCEPT ALL EXCEPT " + testDir + "/current/6\n" +
		"ALL: 5. EXCEPT ALL EXCEPT /elsewhere/current/5\n"
	checkEdits(t, testOwner(t, FormSharded), sb, []editCase{
		{name: "empty", in: "", want: sb},
		{name: "ossec fail2ban hand", in: "# /etc/hosts.deny\nALL:192.0.2.9\nALL: 192.0.2.10\nsshd: 192.0.2.11\n",
			want: "# /etc/hosts.deny\nALL:192.0.2.9\nALL: 192.0.2.10\nsshd: 192.0.2.11\n" + sb},
		{name: "missing final newline", in: "ALL:192.0.2.9\nsshd: 192.0.2.11",
			want: "ALL:192.0.2.9\n" + sb + "sshd: 192.0.2.11"},
		{name: "continuation kept whole", in: "ALL: 192.0.2.1 \\\n  192.0.2.2\nin.ftpd: \\\n 192.0.2.3",
			want: "ALL: 192.0.2.1 \\\n  192.0.2.2\n" + sb + "in.ftpd: \\\n 192.0.2.3"},
		{name: "dangling continuation at end", in: "ALL:192.0.2.9\nsshd: 192.0.2.11 \\\n",
			want: "ALL:192.0.2.9\n" + sb + "sshd: 192.0.2.11 \\\n"},
		{name: "already there", in: "ALL:192.0.2.9\n" + sb + "ALL:192.0.2.12\n", want: "ALL:192.0.2.9\n" + sb + "ALL:192.0.2.12\n",
			clean: "ALL:192.0.2.9\nALL:192.0.2.12\n"},
		{name: "upgrade from the single include", in: "ALL:192.0.2.9\n" + block + "ALL:192.0.2.12\n",
			want: "ALL:192.0.2.9\nALL:192.0.2.12\n" + sb, clean: "ALL:192.0.2.9\nALL:192.0.2.12\n"},
		{name: "upgrade, other daemon list", in: Marker + "\nsshd: " + testList + "\nALL:192.0.2.9\n",
			want: "ALL:192.0.2.9\n" + sb, clean: "ALL:192.0.2.9\n"},
		{name: "duplicated blocks collapse", in: sb + "ALL:192.0.2.9\n" + sb, want: "ALL:192.0.2.9\n" + sb,
			clean: "ALL:192.0.2.9\n"},
		{name: "cut block", in: "ALL:192.0.2.9\n" + cut, want: "ALL:192.0.2.9\n" + sb, clean: "ALL:192.0.2.9\n"},
		{name: "hand line inside the block", in: withHand, want: "sshd: 192.0.2.77\n" + sb, clean: "sshd: 192.0.2.77\n"},
		{name: "other daemon list", in: other + "ALL:192.0.2.9\n", want: "ALL:192.0.2.9\n" + sb, clean: "ALL:192.0.2.9\n"},
		{name: "markers lost by hand", in: strings.Join(lines, "\n") + "\nALL:192.0.2.9\n", want: "ALL:192.0.2.9\n" + sb,
			clean: "ALL:192.0.2.9\n"},
		{name: "look-alike lines are not ours", in: lookAlike, want: lookAlike + sb},
		{name: "block line inside a continuation is not ours", in: "sshd: 192.0.2.1 \\\n" + lines[7] + "\n",
			want: "sshd: 192.0.2.1 \\\n" + lines[7] + "\n" + sb},
	})
}

// TestOSSECPatterns: OSSEC's duplicate check (grep -w IP), OSSEC's delete
// (the regex ALL:IP$) and fail2ban's delete (^ALL: IP$), each with the
// address's dots unescaped as they use it, never match a line of either
// form, for addresses in every line's octet.
func TestOSSECPatterns(t *testing.T) {
	var ours []string
	for _, f := range []Form{FormSharded, FormSingle} {
		e, err := New(Options{Form: f})
		if err != nil {
			t.Fatal(err)
		}
		ours = append(ours, strings.Split(strings.TrimSuffix(e.Block(), "\n"), "\n")...)
	}
	ips := []string{"2001:db8::1", "::1", "1.2.3.4"}
	for n := range 256 {
		ips = append(ips, fmt.Sprintf("%d.%d.%d.%d", n, n, n, n), fmt.Sprintf("%d.0.0.1", n))
	}
	for _, ip := range ips {
		// grep -w IP | ALL:IP$ | ^ALL: IP$
		p := regexp.MustCompile(`(^|\W)` + ip + `(\W|$)|ALL:` + ip + `$|^ALL: ` + ip + `$`)
		for _, l := range ours {
			if p.MatchString(l) {
				t.Errorf("line %q matches %q", l, p)
			}
		}
	}
	// The test can fail: OSSEC's own line does match.
	if p := regexp.MustCompile(`(^|\W)1.2.3.4(\W|$)`); !p.MatchString("ALL:1.2.3.4") {
		t.Fatal("grep -w model broken")
	}
}

func FuzzIncludeRoundTrip(f *testing.F) {
	sb := shardBlock("ALL")
	for _, s := range []string{"", "ALL:192.0.2.9\n", "a \\\nb", "sshd: x\n\\", block, sb, block + sb, "ALL: 1.2.3.4\r\nfoo",
		BlockBegin + "\nsshd: 1. EXCEPT ALL EXCEPT " + testDir + "/current/1\nx\n"} {
		f.Add([]byte(s))
	}
	single, sharded := testOwner(f, FormSingle), testOwner(f, FormSharded)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, o := range []*owner{single, sharded} {
			with, _ := o.with(data)
			if !o.has(with) {
				t.Fatalf("no block after with: %q", with)
			}
			back, _ := o.without(with)
			clean, _ := o.without(data)
			if string(back) != string(clean) {
				t.Fatalf("round trip lost bytes:\n in %q\nout %q", clean, back)
			}
		}
	})
}
