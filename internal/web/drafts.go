package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/rampart-ids/rampart/internal/alertdb"
)

var draftStates = []string{alertdb.AbuseDraftDraft, alertdb.AbuseDraftApproved, alertdb.AbuseDraftSent, alertdb.AbuseDraftDiscarded}

type stateLink struct {
	State   string
	URL     string
	Current bool
}

type draftsData struct {
	State  string
	States []stateLink
	Drafts []alertdb.AbuseDraft
	Pager  pager
}

func (u *ui) draftsPage(w http.ResponseWriter, r *http.Request, s *session) error {
	page, err := pageParam(r)
	if err != nil {
		return err
	}
	state := r.URL.Query().Get("state")
	if state == "" {
		state = alertdb.AbuseDraftDraft
	}
	f := alertdb.AbuseDraftFilter{States: []string{state}}
	switch {
	case state == "all":
		f.States = nil
	case !validDraftState(state):
		return badRequest("state=%q: want draft, approved, sent, discarded or all.", state)
	}
	// Drafts are one per abuse contact and report run: hundreds, not
	// millions, so a page is cut from the list.
	ds, err := u.o.Drafts.AbuseDrafts(r.Context(), f)
	if err != nil {
		return err
	}
	// Newest first.
	for i, j := 0, len(ds)-1; i < j; i, j = i+1, j-1 {
		ds[i], ds[j] = ds[j], ds[i]
	}
	lo, hi, p := pageOf(r, page, len(ds))
	d := draftsData{State: state, Drafts: ds[lo:hi], Pager: p}
	for _, st := range append(draftStates[:len(draftStates):len(draftStates)], "all") {
		d.States = append(d.States, stateLink{State: st, URL: linkWith(r, "state", st, "page", ""), Current: st == state})
	}
	u.render(w, r, s, http.StatusOK, "drafts", "Abuse report drafts", d)
	return nil
}

func validDraftState(s string) bool {
	for _, st := range draftStates {
		if s == st {
			return true
		}
	}
	return false
}

type draftData struct {
	Draft alertdb.AbuseDraft
	Sends []alertdb.AbuseSend
	// Editable: the text may still change (draft or approved).
	Editable bool
}

func (u *ui) draftID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest("Draft %q: want a draft number.", r.PathValue("id"))
	}
	return id, nil
}

func draftErr(err error) error {
	var se *alertdb.AbuseStateError
	switch {
	case errors.Is(err, alertdb.ErrAbuseDraftNotFound):
		return &httpError{status: http.StatusNotFound, msg: "No such draft."}
	case errors.As(err, &se):
		return &UserError{Msg: "Draft " + strconv.FormatInt(se.ID, 10) + " is " + se.State + ": it cannot be " + pastTense(se.Op) + "."}
	}
	return err
}

func pastTense(op string) string {
	switch op {
	case "approve":
		return "approved"
	case "discard":
		return "discarded"
	case "edit":
		return "edited"
	case "reopen":
		return "reopened"
	}
	return op + "ed"
}

func (u *ui) draftPage(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := u.draftID(r)
	if err != nil {
		return err
	}
	dr, err := u.o.Drafts.AbuseDraft(r.Context(), id)
	if err != nil {
		return draftErr(err)
	}
	sends, err := u.o.Drafts.AbuseSends(r.Context(), id)
	if err != nil {
		return err
	}
	d := draftData{Draft: dr, Sends: sends,
		Editable: dr.State == alertdb.AbuseDraftDraft || dr.State == alertdb.AbuseDraftApproved}
	u.render(w, r, s, http.StatusOK, "draft", "Draft "+strconv.FormatInt(id, 10), d)
	return nil
}

// draftState approves, discards or reopens a draft (field "to").
func (u *ui) draftState(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := u.draftID(r)
	if err != nil {
		return err
	}
	to := r.PostForm.Get("to")
	switch to {
	case alertdb.AbuseDraftApproved, alertdb.AbuseDraftDiscarded, alertdb.AbuseDraftDraft:
	default:
		return badRequest("to=%q: want approved, discarded or draft.", to)
	}
	dr, err := u.o.Drafts.SetAbuseDraftState(r.Context(), id, to, u.now())
	if err != nil {
		return draftErr(err)
	}
	u.log.Info("abuse draft state from the UI", "draft", id, "state", dr.State, "admin", s.id.Name)
	u.sessions.setFlash(s, "Draft "+strconv.FormatInt(id, 10)+" is now "+dr.State+".", false)
	u.redirect(w, r, u.path("drafts/"+strconv.FormatInt(id, 10)))
	return nil
}

// draftText replaces a draft's text; an approved draft goes back to
// draft, to be approved as it now reads.
func (u *ui) draftText(w http.ResponseWriter, r *http.Request, s *session) error {
	id, err := u.draftID(r)
	if err != nil {
		return err
	}
	text := strings.ReplaceAll(r.PostForm.Get("text"), "\r\n", "\n")
	if strings.TrimSpace(text) == "" {
		return &UserError{Msg: "The draft's text cannot be empty."}
	}
	dr, err := u.o.Drafts.EditAbuseDraft(r.Context(), id, text, u.now())
	if err != nil {
		return draftErr(err)
	}
	u.log.Info("abuse draft edited in the UI", "draft", id, "admin", s.id.Name)
	u.sessions.setFlash(s, "Saved the text of draft "+strconv.FormatInt(id, 10)+" (now "+dr.State+").", false)
	u.redirect(w, r, u.path("drafts/"+strconv.FormatInt(id, 10)))
	return nil
}
