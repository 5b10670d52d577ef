package peers

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rampart-ids/rampart/internal/federation"
)

func TestLoadExample(t *testing.T) {
	c, err := Load("testdata/peers.toml")
	if err != nil {
		t.Fatal(err)
	}
	r := c.Rules
	if r.Threshold != 1 || r.MinPeers != 2 || r.Quorum != 3 || r.EvidenceAlerts != 50 || r.SilentAfter != 10*time.Minute ||
		r.ReportTTL != 24*time.Hour || r.Ban != 4*time.Hour || c.Action != ActionBan {
		t.Errorf("rules: %+v %s", r, c.Action)
	}
	if f := c.Feed; f.Window != 12*time.Hour || f.MinAlerts != 25 || f.DefaultScope != federation.ScopeDecisions || f.MaxEntries != 50000 || f.Refresh != time.Second {
		t.Errorf("feed: %+v", f)
	}
	if len(c.Peers) != 2 || len(c.Lists) != 2 {
		t.Fatalf("peers %d, lists %d", len(c.Peers), len(c.Lists))
	}
	a, b := c.Peers[0], c.Peers[1]
	if a.URL != "https://rampart.a.example:8443" || a.Token != "rpt_from_a" || a.Trust != 0.6 || a.Scope != federation.ScopeSummaries ||
		a.Wait != 20*time.Second || a.Key.ID() == "" {
		t.Errorf("site-a: %+v", a)
	}
	if b.Scope != 0 || !b.Alone || b.MaxBits4 != 28 || b.Wait != DefaultWait {
		t.Errorf("site-b: %+v", b)
	}
	if c.Scope("site-a") != federation.ScopeSummaries || c.Scope("site-b") != 0 || c.Scope("web1") != federation.ScopeDecisions {
		t.Errorf("scopes by token name: %v %v %v", c.Scope("site-a"), c.Scope("site-b"), c.Scope("web1"))
	}
	d, l := c.Lists[0], c.Lists[1]
	if d.Format != federation.FormatSpamhaus || d.Interval != 12*time.Hour || d.Expiry != 48*time.Hour || d.MaxBits4 != 10 {
		t.Errorf("drop: %+v", d)
	}
	if l.File == "" || l.Interval != 30*time.Second || l.Expiry != time.Hour {
		t.Errorf("local: %+v", l)
	}
}

func TestParseErrors(t *testing.T) {
	const key = `public_key = "rampart-ed25519:iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w="`
	peer := func(extra string) string {
		return "[[peer]]\nname = \"a\"\nurl = \"https://a.example\"\n" + key + "\ntoken = \"t\"\ntrust = 0.5\n" + extra + "\n"
	}
	for _, tt := range []struct{ name, in, want string }{
		{"unknown key", "[rules]\nthreshhold = 2\n", "unknown key(s): rules.threshhold"},
		{"unknown peer key", peer("colour = \"red\""), "unknown key(s): peer.colour"},
		{"syntax", "[rules\n", "toml: line"},
		{"threshold", "[rules]\nthreshold = 0.0\n", "threshold must be positive"},
		{"min peers", "[rules]\nmin_peers = 0\n", "min_peers 0: want at least 1"},
		{"action", "[rules]\naction = \"nuke\"\n", `rules.action "nuke"`},
		{"duration", "[rules]\nban = \"forever\"\n", `rules.ban "forever"`},
		{"trust range", strings.Replace(peer(""), "trust = 0.5", "trust = 1.5", 1), "trust 1.5: want 0..1"},
		{"trust missing", strings.Replace(peer(""), "trust = 0.5", "", 1), "trust: required"},
		{"plain http", strings.Replace(peer(""), "https://a.example", "http://a.example", 1), "plain http only to a loopback"},
		{"bad key", strings.Replace(peer(""), key, `public_key = "ssh-ed25519 AAAA"`, 1), "public_key"},
		{"no token", strings.Replace(peer(""), `token = "t"`, "", 1), "token: required"},
		{"both tokens", peer(`token_file = "/x"`), "token or token_file, not both"},
		{"scope", peer(`scopes = ["everything"]`), `scope "everything"`},
		{"bits", peer("max_bits4 = 40"), "max_bits4 40"},
		{"long poll", peer(`poll = "10m"`), "at most 5m"},
		{"silent before a poll", "[rules]\nsilent_after = \"40s\"\n" + peer(""), "silent_after 40s must be at least two polls"},
		{"twice", peer("") + peer(""), `name "a" used twice`},
		{"name", strings.Replace(peer(""), `name = "a"`, `name = "a b"`, 1), `name "a b"`},
		{"list source", "[[list]]\nname = \"l\"\nformat = \"plain\"\ntrust = 0.1\n", "give url or file"},
		{"list format", "[[list]]\nname = \"l\"\nfile = \"/x\"\nformat = \"csv\"\ntrust = 0.1\n", `list format "csv"`},
		{"spamhaus interval", "[[list]]\nname = \"d\"\nurl = \"https://www.spamhaus.org/drop/drop.txt\"\nformat = \"spamhaus\"\ntrust = 0.1\ninterval = \"10m\"\n",
			"at most one fetch per 1h0m0s"},
		{"expiry", "[[list]]\nname = \"l\"\nfile = \"/x\"\nformat = \"plain\"\ntrust = 0.1\ninterval = \"2h\"\nexpiry = \"1h\"\n", "shorter than its interval"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("peers.toml", []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), "peers file peers.toml") {
				t.Errorf("error does not name the file: %v", err)
			}
		})
	}
}

func TestTokenFileAndDefaults(t *testing.T) {
	dir := t.TempDir()
	tf := filepath.Join(dir, "token")
	os.WriteFile(tf, []byte("rpt_secret\n"), 0o600)
	c, err := Parse("p", []byte("[[peer]]\nname = \"a\"\nurl = \"http://127.0.0.1:8440\"\npublic_key = \"rampart-ed25519:iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w=\"\ntoken_file = \""+tf+"\"\ntrust = 0.5\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Peers[0].Token != "rpt_secret" || c.Peers[0].Scope != federation.ScopeDecisions || c.Rules.Ban != DefaultBan || c.Action != ActionBan {
		t.Errorf("config: %+v", c)
	}
	if MinInterval("https://iplists.firehol.org/files/firehol_level1.netset") != time.Hour || MinInterval("http://127.0.0.1/x") != time.Minute {
		t.Error("provider minimums")
	}
}
