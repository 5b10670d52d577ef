package alertdb

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rampart-ids/rampart/internal/ossec"
)

var abuseNow = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

func addrs(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddr(a)
	}
	return out
}

func newDrafts(t *testing.T, s *Store) []int64 {
	t.Helper()
	ids, err := s.CreateAbuseDrafts(t.Context(), []AbuseDraft{
		{Created: abuseNow, Emails: []string{"abuse@example.net"}, Addrs: addrs("203.0.113.5", "203.0.113.77"),
			Subject: "Abuse report: 2 addresses", Text: "Dear abuse team,\n", XARF: []byte(`[{"a":1}]`), ARF: []byte("Content-Type: x\n\n"),
			Evidence: []byte(`{"contact":{}}`), Author: "ops"},
		{Created: abuseNow, Emails: []string{"abuse@example.com", "noc@example.com"}, Addrs: addrs("2001:db8:4:2::17", "::ffff:192.0.2.33"),
			Subject: "Abuse report: 2 more", Text: "Hello\n"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []int64{1, 2}) {
		t.Fatalf("ids = %v", ids)
	}
	return ids
}

var addrCmp = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func TestAbuseDraftsCreateRead(t *testing.T) {
	s := openTest(t, "")
	ctx := t.Context()
	newDrafts(t, s)
	d, err := s.AbuseDraft(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := AbuseDraft{ID: 1, Created: abuseNow, Updated: abuseNow, State: AbuseDraftDraft, Emails: []string{"abuse@example.net"},
		Addrs: addrs("203.0.113.5", "203.0.113.77"), Subject: "Abuse report: 2 addresses", Text: "Dear abuse team,\n",
		XARF: []byte(`[{"a":1}]`), ARF: []byte("Content-Type: x\n\n"), Evidence: []byte(`{"contact":{}}`), Author: "ops"}
	if diff := cmp.Diff(want, d, addrCmp); diff != "" {
		t.Errorf("AbuseDraft(1) (-want +got):\n%s", diff)
	}
	d2, err := s.AbuseDraft(ctx, 2)
	if err != nil || !slices.Equal(d2.Addrs, addrs("2001:db8:4:2::17", "192.0.2.33")) || len(d2.Emails) != 2 {
		t.Errorf("AbuseDraft(2) = %+v, %v (mapped addresses are stored unmapped)", d2, err)
	}
	if _, err := s.AbuseDraft(ctx, 3); !errors.Is(err, ErrAbuseDraftNotFound) {
		t.Errorf("missing draft: %v", err)
	}
	all, err := s.AbuseDrafts(ctx, AbuseDraftFilter{})
	if err != nil || len(all) != 2 || all[0].ID != 1 {
		t.Fatalf("AbuseDrafts = %v, %v", all, err)
	}
	if _, err := s.AbuseDrafts(ctx, AbuseDraftFilter{States: []string{"bogus"}}); err == nil {
		t.Error("unknown state accepted")
	}
	for _, bad := range []AbuseDraft{
		{Emails: nil, Addrs: addrs("192.0.2.1")},
		{Emails: []string{"a@example.org,b@example.org"}, Addrs: addrs("192.0.2.1")},
		{Emails: []string{"a@example.org"}},
	} {
		if _, err := s.CreateAbuseDrafts(ctx, []AbuseDraft{{Emails: []string{"ok@example.org"}, Addrs: addrs("192.0.2.9")}, bad}); err == nil {
			t.Errorf("CreateAbuseDrafts accepted %+v", bad)
		}
	}
	if all, _ := s.AbuseDrafts(ctx, AbuseDraftFilter{}); len(all) != 2 {
		t.Errorf("a refused batch left %d drafts", len(all))
	}
}

func TestAbuseDraftStates(t *testing.T) {
	s := openTest(t, "")
	ctx := t.Context()
	newDrafts(t, s)
	later := abuseNow.Add(time.Hour)
	steps := []struct {
		id    int64
		op    string // a state, or "edit"
		state string // after
		err   string
	}{
		{1, AbuseDraftApproved, AbuseDraftApproved, ""},
		{1, AbuseDraftApproved, AbuseDraftApproved, ""}, // again: no change, no error
		{1, "edit", AbuseDraftDraft, ""},                // an edit needs a new approval
		{1, AbuseDraftApproved, AbuseDraftApproved, ""},
		{2, AbuseDraftDiscarded, AbuseDraftDiscarded, ""},
		{2, AbuseDraftApproved, AbuseDraftDiscarded, "abuse draft 2 is discarded: cannot approve it"},
		{2, "edit", AbuseDraftDiscarded, "abuse draft 2 is discarded: cannot edit it"},
		{2, AbuseDraftDraft, AbuseDraftDraft, ""}, // reopened
		{2, AbuseDraftSent, AbuseDraftDraft, `cannot set state "sent"`},
	}
	for i, st := range steps {
		var d AbuseDraft
		var err error
		if st.op == "edit" {
			d, err = s.EditAbuseDraft(ctx, st.id, "Edited text\n", later)
		} else {
			d, err = s.SetAbuseDraftState(ctx, st.id, st.op, later)
		}
		if st.err != "" {
			if err == nil || !strings.Contains(err.Error(), st.err) {
				t.Errorf("step %d: error %v, want %q", i, err, st.err)
			}
		} else if err != nil {
			t.Errorf("step %d: %v", i, err)
		}
		got, _ := s.AbuseDraft(ctx, st.id)
		if got.State != st.state || (err == nil && d.State != st.state) {
			t.Errorf("step %d (%s %d): state %s (returned %s), want %s", i, st.op, st.id, got.State, d.State, st.state)
		}
	}
	d, _ := s.AbuseDraft(ctx, 1)
	if !d.Edited || d.Text != "Edited text\n" || !d.Updated.Equal(later) || !d.Created.Equal(abuseNow) {
		t.Errorf("edited draft = %+v", d)
	}
	var se *AbuseStateError
	if _, err := s.SetAbuseDraftState(ctx, 9, AbuseDraftApproved, later); !errors.Is(err, ErrAbuseDraftNotFound) || errors.As(err, &se) {
		t.Errorf("approve missing: %v", err)
	}
	approved, err := s.AbuseDrafts(ctx, AbuseDraftFilter{States: []string{AbuseDraftApproved}})
	if err != nil || len(approved) != 1 || approved[0].ID != 1 {
		t.Errorf("approved = %v, %v", approved, err)
	}
	some, err := s.AbuseDrafts(ctx, AbuseDraftFilter{IDs: []int64{2, 7}, States: []string{AbuseDraftDraft, AbuseDraftApproved}})
	if err != nil || len(some) != 1 || some[0].ID != 2 {
		t.Errorf("by id and state = %v, %v", some, err)
	}
}

func TestAbuseSends(t *testing.T) {
	s := openTest(t, "")
	ctx := t.Context()
	newDrafts(t, s)
	if _, err := s.SetAbuseDraftState(ctx, 1, AbuseDraftApproved, abuseNow); err != nil {
		t.Fatal(err)
	}
	rcpt := []string{"abuse@example.net"}
	// A failure leaves the draft approved, to be sent again.
	failed := AbuseSend{Draft: 1, Time: abuseNow.Add(time.Minute), Recipients: rcpt, Addrs: addrs("203.0.113.5", "203.0.113.77"),
		MessageID: "<a@example.org>", Outcome: AbuseSendFailed, Error: "550 5.1.1 no such user"}
	if id, err := s.RecordAbuseSend(ctx, failed); err != nil || id != 1 {
		t.Fatalf("record failed: %d, %v", id, err)
	}
	if d, _ := s.AbuseDraft(ctx, 1); d.State != AbuseDraftApproved {
		t.Errorf("after a failure the draft is %s", d.State)
	}
	if rep, err := s.AbuseReported(ctx, rcpt, addrs("203.0.113.5"), abuseNow.Add(-24*time.Hour)); err != nil || len(rep) != 0 {
		t.Errorf("a failed send reported %v, %v", rep, err)
	}
	sent := failed
	sent.Time, sent.MessageID, sent.Outcome, sent.Error = abuseNow.Add(2*time.Minute), "<b@example.org>", AbuseSendSent, ""
	sent.Addrs = addrs("203.0.113.5") // .77 held back by the repeat window
	if id, err := s.RecordAbuseSend(ctx, sent); err != nil || id != 2 {
		t.Fatalf("record sent: %d, %v", id, err)
	}
	d, _ := s.AbuseDraft(ctx, 1)
	if d.State != AbuseDraftSent {
		t.Errorf("after sending the draft is %s", d.State)
	}
	if _, err := s.SetAbuseDraftState(ctx, 1, AbuseDraftApproved, abuseNow); err == nil {
		t.Error("a sent draft was approved again")
	}
	sends, err := s.AbuseSends(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	failed.ID, sent.ID = 1, 2
	failed.Time, sent.Time = failed.Time.UTC(), sent.Time.UTC()
	if diff := cmp.Diff([]AbuseSend{failed, sent}, sends, addrCmp); diff != "" {
		t.Errorf("AbuseSends (-want +got):\n%s", diff)
	}
	if all, _ := s.AbuseSends(ctx, 0); len(all) != 2 {
		t.Errorf("all sends: %d", len(all))
	}

	// The repeat window reads what was reported, per mailbox.
	tests := []struct {
		emails []string
		addrs  []netip.Addr
		since  time.Time
		want   []AbuseReport
	}{
		{rcpt, addrs("203.0.113.5", "203.0.113.77", "::ffff:203.0.113.5"), abuseNow, []AbuseReport{{"abuse@example.net", netip.MustParseAddr("203.0.113.5"), sent.Time, 1}}},
		{[]string{"ABUSE@example.net"}, addrs("203.0.113.5"), abuseNow, []AbuseReport{{"abuse@example.net", netip.MustParseAddr("203.0.113.5"), sent.Time, 1}}},
		{rcpt, addrs("203.0.113.5"), abuseNow.Add(time.Hour), nil},           // outside the window
		{[]string{"abuse@example.com"}, addrs("203.0.113.5"), abuseNow, nil}, // another contact
		{nil, addrs("203.0.113.5"), abuseNow, nil},
	}
	for i, tt := range tests {
		got, err := s.AbuseReported(ctx, tt.emails, tt.addrs, tt.since)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, got, addrCmp, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("case %d (-want +got):\n%s", i, diff)
		}
	}

	for _, bad := range []AbuseSend{
		{Draft: 1, Recipients: rcpt, Outcome: "maybe"},
		{Draft: 1, Recipients: rcpt, Outcome: AbuseSendSent},
		{Draft: 1, Outcome: AbuseSendFailed},
	} {
		if _, err := s.RecordAbuseSend(ctx, bad); err == nil {
			t.Errorf("RecordAbuseSend accepted %+v", bad)
		}
	}
	if _, err := s.RecordAbuseSend(ctx, AbuseSend{Draft: 5, Recipients: rcpt, Outcome: AbuseSendFailed}); !errors.Is(err, ErrAbuseDraftNotFound) {
		t.Errorf("send of a missing draft: %v", err)
	}
}

func TestRuleGroups(t *testing.T) {
	s := openTest(t, "")
	base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	mk := func(i int, rule int, groups ...string) ossec.Alert {
		return ossec.Alert{ID: ossec.ID{Epoch: base.Unix() + int64(i), Seq: int64(i)}, Time: base.Add(time.Duration(i) * time.Second),
			RuleID: rule, Level: 5, Description: "d", Groups: groups, SrcIP: netip.MustParseAddr("203.0.113.5"),
			Location: ossec.ParseLocation("web1->/var/log/auth.log"), Log: []string{"line"}}
	}
	importAll(t, s, "test", []ossec.Alert{
		mk(1, 5716, "syslog", "sshd", "authentication_failed"),
		mk(2, 5716, "syslog", "sshd", "authentication_failed", "extra"), // a changed rule: a second variant
		mk(3, 31104, "web", "accesslog", "attack"),
	}, 0)
	got, err := s.RuleGroups(t.Context(), []int{5716, 31104, 1})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int][]string{5716: {"syslog", "sshd", "authentication_failed", "extra"}, 31104: {"web", "accesslog", "attack"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RuleGroups (-want +got):\n%s", diff)
	}
	if got, err := s.RuleGroups(t.Context(), nil); err != nil || len(got) != 0 {
		t.Errorf("no rules: %v, %v", got, err)
	}
}
