package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
)

// maxDecisionPages bounds how deep the decisions list pages: the server
// reads the decisions before a page to skip them.
const maxDecisionPages = 200

type decisionsData struct {
	Active    bool
	ActiveURL string
	AllURL    string
	Decisions []api.Decision
	Pager     pager
	Now       time.Time
	Durations []string
}

func (u *ui) decisionsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	page, err := pageParam(r)
	if err != nil {
		return err
	}
	if page > maxDecisionPages {
		return badRequest("page=%d: at most %d pages of decisions; look up an address for its own.", page, maxDecisionPages)
	}
	active := true
	switch v := r.URL.Query().Get("show"); v {
	case "", "active":
	case "all":
		active = false
	default:
		return badRequest("show=%q: want active or all.", v)
	}
	// One more than a page says whether there is a next one.
	ds, err := u.o.Decisions.DecisionPage(r.Context(), DecisionQuery{Active: active, Offset: (page - 1) * perPage, Limit: perPage + 1})
	if err != nil {
		return err
	}
	d := decisionsData{Active: active, Now: u.now(), Durations: banDurations,
		ActiveURL: linkWith(r, "show", "", "page", ""), AllURL: linkWith(r, "show", "all", "page", ""),
		Pager: pager{Page: page, From: (page-1)*perPage + 1, Total: -1}}
	if len(ds) > perPage {
		ds = ds[:perPage]
		d.Pager.Next = linkWith(r, "page", strconv.Itoa(page+1))
	}
	if page > 1 {
		d.Pager.Prev = linkWith(r, "page", strconv.Itoa(page-1))
	}
	d.Decisions = ds
	d.Pager.To = d.Pager.From + len(ds) - 1
	u.render(w, r, s, http.StatusOK, "decisions", "Decisions", d)
	return nil
}

// ban adds a manual ban from the ban form: value, duration (one of
// banDurations), reason, and force for management networks.
func (u *ui) ban(w http.ResponseWriter, r *http.Request, s *session) error {
	f := r.PostForm
	value := strings.TrimSpace(f.Get("value"))
	reason := strings.TrimSpace(f.Get("reason"))
	dur := f.Get("duration")
	switch {
	case value == "":
		return &UserError{Msg: "Ban: give an address or a CIDR prefix."}
	case len(value) > 100:
		return &UserError{Msg: "Ban: that value is too long to be an address."}
	case reason == "":
		return &UserError{Msg: "Ban: give a reason (it is recorded with the decision)."}
	case len(reason) > 500:
		return &UserError{Msg: "Ban: the reason is longer than 500 characters."}
	case !slices.Contains(banDurations, dur):
		return &UserError{Msg: "Ban: choose a duration from the list."}
	}
	req := api.DecisionRequest{Value: value, Action: "ban", Reason: reason, Force: f.Get("force") == "on"}
	if dur == "permanent" {
		req.Permanent = true
	} else {
		req.Duration = dur
	}
	d, err := u.o.Decisions.Ban(r.Context(), s.id.Name, req)
	if err != nil {
		return err
	}
	until := "permanently"
	if !d.Expires.IsZero() {
		until = "until " + fmtTime(d.Expires)
	}
	u.log.Info("ban from the UI", "value", d.Value, "admin", s.id.Name, "decision", d.ID)
	u.sessions.setFlash(s, "Banned "+d.Value.String()+" "+until+" (decision "+strconv.FormatInt(d.ID, 10)+").", false)
	u.redirect(w, r, u.back(r))
	return nil
}

func (u *ui) unban(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return badRequest("Decision %q: want a decision number.", r.PathValue("id"))
	}
	d, err := u.o.Decisions.Unban(r.Context(), s.id.Name, id)
	if err != nil {
		return err
	}
	u.log.Info("unban from the UI", "value", d.Value, "admin", s.id.Name, "decision", id)
	u.sessions.setFlash(s, "Lifted the ban on "+d.Value.String()+" (decision "+strconv.FormatInt(id, 10)+").", false)
	u.redirect(w, r, u.back(r))
	return nil
}

// active reports whether a decision is in force at now.
func active(d api.Decision, now time.Time) bool {
	return d.Deleted.IsZero() && (d.Expires.IsZero() || d.Expires.After(now))
}
