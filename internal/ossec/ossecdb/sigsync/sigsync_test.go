package sigsync_test

import (
	"database/sql"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rampart-ids/rampart/internal/analytics"
	"github.com/rampart-ids/rampart/internal/ossec"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/dbdload"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/ossecdbtest"
	"github.com/rampart-ids/rampart/internal/ossec/ossecdb/sigsync"
	"github.com/rampart-ids/rampart/internal/ossec/rules"
)

// testRules are the real-format rules files of the rules package.
func testRules(t *testing.T) []sigsync.Rule {
	t.Helper()
	m, probs, err := rules.LoadDir("../../rules/testdata/rules")
	if err != nil || len(probs) > 0 {
		t.Fatalf("load rules: %v %v", err, probs)
	}
	var out []sigsync.Rule
	for _, id := range slices.Sorted(maps.Keys(m)) {
		r := m[id]
		out = append(out, sigsync.Rule{ID: r.ID, Level: r.Level, Description: r.Description, Groups: r.Groups})
	}
	return out
}

type sigRow struct {
	ID, RuleID int64
	Level      sql.NullInt64
	Desc       string
}

// dump is every row of the tables sync writes, ids included, so that "no
// change" means no change at all.
func dump(t *testing.T, db *sql.DB) (sigs []sigRow, links []string) {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT id, rule_id, level, description FROM signature ORDER BY rule_id, id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r sigRow
		if err := rows.Scan(&r.ID, &r.RuleID, &r.Level, &r.Desc); err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	lrows, err := db.QueryContext(t.Context(), `SELECT m.id, m.rule_id, c.cat_id, c.cat_name FROM signature_category_mapping m
		JOIN category c ON c.cat_id = m.cat_id ORDER BY m.rule_id, c.cat_name, m.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer lrows.Close()
	for lrows.Next() {
		var id, rule, cat int64
		var name string
		if err := lrows.Scan(&id, &rule, &cat, &name); err != nil {
			t.Fatal(err)
		}
		links = append(links, fmt.Sprintf("%d:%d→%d:%s", id, rule, cat, name))
	}
	if err := lrows.Err(); err != nil {
		t.Fatal(err)
	}
	return sigs, links
}

func exec(t *testing.T, db *sql.DB, d ossecdb.Dialect, q string, args ...any) {
	t.Helper()
	if d == ossecdb.Postgres {
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
		}
	}
	if _, err := db.ExecContext(t.Context(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func open(t *testing.T, dsn string) *sigsync.Syncer {
	t.Helper()
	s, err := sigsync.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestSync runs the sync against the real engines: the first run inserts
// every rule, the second changes nothing, a changed level is updated, and a
// row of a rule the files do not define is left alone.
func TestSync(t *testing.T) {
	cases := []struct {
		name string
		d    ossecdb.Dialect
		v    dbdload.Version
	}{
		{"mysql-2.9", ossecdb.MySQL, dbdload.V29},
		{"mysql-3.x", ossecdb.MySQL, dbdload.V3x},
		{"postgres-3.x", ossecdb.Postgres, dbdload.V3x},
		{"postgres-master", ossecdb.Postgres, dbdload.VMaster},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			dsn, db := ossecdbtest.Schema(t, tc.d, tc.v)
			want := testRules(t)
			// The operator's own row, and a group dbd already linked.
			exec(t, db, tc.d, "INSERT INTO signature (rule_id, level, description) VALUES (?, ?, ?)", 999001, 4, "operator's own row")
			exec(t, db, tc.d, "INSERT INTO category (cat_name) VALUES (?)", "sshd")
			var sshd int64
			if err := db.QueryRowContext(ctx, "SELECT cat_id FROM category WHERE cat_name = 'sshd'").Scan(&sshd); err != nil {
				t.Fatal(err)
			}
			exec(t, db, tc.d, "INSERT INTO signature_category_mapping (rule_id, cat_id) VALUES (?, ?)", 5710, sshd)

			s := open(t, dsn)
			if !s.HasGroups() {
				t.Fatal("HasGroups is false")
			}
			p, err := s.Plan(ctx, want)
			if err != nil {
				t.Fatal(err)
			}
			before, beforeLinks := dump(t, db)
			if len(before) != 1 || len(beforeLinks) != 1 {
				t.Fatalf("Plan wrote: %v %v", before, beforeLinks)
			}
			if len(p.Insert) != len(want) || len(p.Update) != 0 || len(p.Foreign) != 1 || p.Foreign[0].RuleID != 999001 {
				t.Errorf("plan: %d inserts, %d updates, foreign %v; want %d, 0, [999001]", len(p.Insert), len(p.Update), p.Foreign, len(want))
			}

			// First sync: every rule inserted, its groups linked once.
			got, err := s.Apply(ctx, want)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(p, got); diff != "" {
				t.Errorf("Apply wrote other than Plan said (-plan +apply):\n%s", diff)
			}
			sigs, links := dump(t, db)
			gotSigs := map[int64]string{}
			for _, r := range sigs {
				if _, dup := gotSigs[r.RuleID]; dup {
					t.Errorf("rule %d twice in signature", r.RuleID)
				}
				gotSigs[r.RuleID] = fmt.Sprintf("%d %s", r.Level.Int64, r.Desc)
			}
			wantSigs := map[int64]string{999001: "4 operator's own row"}
			var linkCount int
			for _, r := range want {
				wantSigs[int64(r.ID)] = fmt.Sprintf("%d %s", r.Level, ossec.SanitizeDB(r.Description))
				linkCount += len(r.Groups)
			}
			if diff := cmp.Diff(wantSigs, gotSigs); diff != "" {
				t.Errorf("signature after sync (-want +got):\n%s", diff)
			}
			if len(links) != linkCount {
				t.Errorf("%d links, want %d (one per rule and group):\n%s", len(links), linkCount, strings.Join(links, "\n"))
			}
			if !slices.Contains(links, beforeLinks[0]) {
				t.Errorf("dbd's link 5710 → sshd not kept: %v", links)
			}

			// Second sync: nothing to do, nothing written.
			p2, err := s.Apply(ctx, want)
			if err != nil {
				t.Fatal(err)
			}
			if p2.Changes() != 0 || p2.Unchanged != len(want) {
				t.Errorf("second sync: %d changes, %d unchanged; want 0, %d: %+v", p2.Changes(), p2.Unchanged, len(want), p2)
			}
			sigs2, links2 := dump(t, db)
			if diff := cmp.Diff(sigs, sigs2); diff != "" {
				t.Errorf("second sync changed signature:\n%s", diff)
			}
			if diff := cmp.Diff(links, links2); diff != "" {
				t.Errorf("second sync changed the links:\n%s", diff)
			}

			// The operator raises a level in local_rules.xml, and someone
			// cleared another rule's level by hand: both are updated.
			changed := slices.Clone(want)
			i := slices.IndexFunc(changed, func(r sigsync.Rule) bool { return r.ID == 5712 })
			changed[i].Level = 14
			exec(t, db, tc.d, "UPDATE signature SET level = NULL WHERE rule_id = ?", 5716)
			p3, err := s.Apply(ctx, changed)
			if err != nil {
				t.Fatal(err)
			}
			wantUpd := []sigsync.Update{
				{Old: sigsync.Row{RuleID: 5712, Level: 12, Description: "SSHD brute force, stricter local version (1 hour ban)."},
					New: sigsync.Row{RuleID: 5712, Level: 14, Description: "SSHD brute force, stricter local version (1 hour ban)."}},
				{Old: sigsync.Row{RuleID: 5716, Level: sigsync.NoLevel, Description: "SSHD authentication failed."},
					New: sigsync.Row{RuleID: 5716, Level: 5, Description: "SSHD authentication failed."}},
			}
			if diff := cmp.Diff(wantUpd, p3.Update); diff != "" || len(p3.Insert) != 0 {
				t.Errorf("updates (-want +got):\n%s\ninserts %v", diff, p3.Insert)
			}
			sigs3, _ := dump(t, db)
			wantSigs3 := slices.Clone(sigs)
			for j := range wantSigs3 {
				if wantSigs3[j].RuleID == 5712 {
					wantSigs3[j].Level.Int64 = 14
				}
			}
			// Same ids, the foreign row as it was, only 5712's level new.
			if diff := cmp.Diff(wantSigs3, sigs3); diff != "" {
				t.Errorf("signature after the update (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSyncNamesAlerts checks what the sync is for: ossec-dbd 2.9+ stores no
// description, and after the sync the reader names the rules.
func TestSyncNamesAlerts(t *testing.T) {
	for _, d := range []ossecdb.Dialect{ossecdb.MySQL, ossecdb.Postgres} {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			dsn, db := ossecdbtest.Schema(t, d, dbdload.V3x)
			src := netip.MustParseAddr("203.0.113.9")
			var as []ossec.Alert
			for i, rule := range []int{5712, 5716, 5716, 31101} {
				e := int64(1_700_000_000 + 60*i)
				as = append(as, ossec.Alert{
					ID: ossec.ID{Epoch: e, Seq: int64(i)}, Time: time.Unix(e, 0).UTC(), RuleID: rule, Level: 5,
					Description: "dbd drops this", Groups: []string{"syslog", "sshd"},
					Location: ossec.ParseLocation("web1->/var/log/auth.log"), SrcIP: src, Log: []string{"event"},
				})
			}
			if err := dbdload.NewLoader(db, d, dbdload.V3x, "web1").Load(ctx, as); err != nil {
				t.Fatal(err)
			}
			descs := func() map[int]string {
				r, err := ossecdb.Open(ctx, dsn)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				rep, err := r.SourceReport(ctx, src, analytics.Filter{}, 0)
				if err != nil {
					t.Fatal(err)
				}
				out := map[int]string{}
				for _, c := range rep.ByRule {
					out[c.RuleID] = c.Description
				}
				return out
			}
			if got := descs(); got[5712] != "" {
				t.Fatalf("before sync the reader already names rules: %v", got)
			}
			if _, err := open(t, dsn).Apply(ctx, testRules(t)); err != nil {
				t.Fatal(err)
			}
			want := map[int]string{
				5712:  "SSHD brute force, stricter local version (1 hour ban).",
				5716:  "SSHD authentication failed.",
				31101: "Web server 400 error code.",
			}
			if diff := cmp.Diff(want, descs()); diff != "" {
				t.Errorf("descriptions after sync (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	ctx := t.Context()
	t.Run("not ossec-dbd", func(t *testing.T) {
		dsn, _ := ossecdbtest.Fresh(t, ossecdb.MySQL)
		_, err := sigsync.Open(ctx, dsn)
		if err == nil || !strings.Contains(err.Error(), "not an ossec-dbd database") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("no signature table", func(t *testing.T) {
		dsn, db := ossecdbtest.Fresh(t, ossecdb.Postgres)
		exec(t, db, ossecdb.Postgres, "CREATE TABLE alert (id INT8, rule_id INT8)")
		_, err := sigsync.Open(ctx, dsn)
		if err == nil || !strings.Contains(err.Error(), "no table signature") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		_, err := sigsync.Open(ctx, "mysql://ossec:s3cret@127.0.0.1:1/ossec")
		if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Errorf("err = %v", err)
		}
	})
}

// TestApplyAtomic makes the write fail after signature is filled (the
// operator's database refuses one group name) and checks that nothing
// stays.
func TestApplyAtomic(t *testing.T) {
	for _, d := range []ossecdb.Dialect{ossecdb.MySQL, ossecdb.Postgres} {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			dsn, db := ossecdbtest.Schema(t, d, dbdload.V3x)
			exec(t, db, d, "ALTER TABLE category ADD CONSTRAINT no_web CHECK (cat_name <> 'web')")
			_, err := open(t, dsn).Apply(t.Context(), testRules(t))
			if err == nil || !strings.Contains(err.Error(), `insert group "web" into category`) || !strings.Contains(err.Error(), "nothing written") {
				t.Fatalf("Apply: %v", err)
			}
			if sigs, links := dump(t, db); len(sigs) != 0 || len(links) != 0 {
				t.Errorf("a failed sync left %d signature rows and %d links", len(sigs), len(links))
			}
		})
	}
}
