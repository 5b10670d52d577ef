package web

import (
	"errors"
	"net/http"
	"strings"
)

// preCookie carries the sign-in form's own CSRF token (double submit):
// without it another site could sign a browser in with the attacker's
// token.
const preCookie = "rampart_ui_signin"

type signInData struct {
	Next  string
	Error string
}

func (u *ui) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: u.o.Prefix, MaxAge: maxAge, HttpOnly: true,
		Secure: u.secure(r), SameSite: http.SameSiteStrictMode}
}

func (u *ui) nextOf(r *http.Request, v string) string {
	if u.local(v) && !strings.HasPrefix(v, u.path("signin")) && !strings.HasPrefix(v, u.path("signout")) {
		return v
	}
	return u.o.Prefix
}

func (u *ui) signInForm(w http.ResponseWriter, r *http.Request) {
	if u.current(r) != nil {
		u.redirect(w, r, u.nextOf(r, r.URL.Query().Get("next")))
		return
	}
	u.showSignIn(w, r, http.StatusOK, u.nextOf(r, r.URL.Query().Get("next")), "")
}

func (u *ui) showSignIn(w http.ResponseWriter, r *http.Request, status int, next, msg string) {
	// Keep the browser's sign-in token when it has one: a second form
	// (another tab, a reload) must not invalidate the first.
	pre := ""
	if c, err := r.Cookie(preCookie); err == nil && len(c.Value) == len(randomToken()) {
		pre = c.Value
	} else {
		pre = randomToken()
	}
	http.SetCookie(w, u.cookie(r, preCookie, pre, int(preSignInAge.Seconds())))
	v := view{Title: "Sign in", Prefix: u.o.Prefix, CSRF: pre, Data: signInData{Next: next, Error: msg}}
	t := u.pages["signin"]
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := t.ExecuteTemplate(w, "layout", v); err != nil {
		u.log.Error("render sign-in", "error", err)
	}
}

func (u *ui) signIn(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		u.showSignIn(w, r, http.StatusBadRequest, u.o.Prefix, "Unreadable form.")
		return
	}
	next := u.nextOf(r, r.PostForm.Get("next"))
	pre, err := r.Cookie(preCookie)
	if err != nil || !sameToken(r.PostForm.Get("csrf"), pre.Value) || !sameOrigin(r) {
		u.showSignIn(w, r, http.StatusForbidden, next, "The sign-in form expired or came from another site: try again.")
		return
	}
	now := u.now()
	if !u.failures.allow(now) {
		u.showSignIn(w, r, http.StatusTooManyRequests, next, "Too many failed sign-ins: wait a minute.")
		return
	}
	secret := strings.TrimSpace(r.PostForm.Get("token"))
	if secret == "" || len(secret) > 200 {
		u.failures.fail(now)
		u.showSignIn(w, r, http.StatusUnauthorized, next, "That is not an admin token.")
		return
	}
	id, err := u.o.Auth.Authenticate(r.Context(), secret)
	switch {
	case errors.Is(err, ErrInvalidToken):
		u.failures.fail(now)
		u.log.Warn("sign-in refused", "remote", r.RemoteAddr)
		u.showSignIn(w, r, http.StatusUnauthorized, next, "That is not an admin token.")
		return
	case err != nil:
		u.log.Error("sign-in", "error", err)
		u.showSignIn(w, r, http.StatusInternalServerError, next, "The token could not be checked (the server's log has the details).")
		return
	}
	cookie, _ := u.sessions.create(id, now)
	http.SetCookie(w, u.cookie(r, cookieName, cookie, 0))
	http.SetCookie(w, u.cookie(r, preCookie, "", -1))
	u.log.Info("signed in", "admin", id.Name, "remote", r.RemoteAddr)
	u.redirect(w, r, next)
}

func (u *ui) signOut(w http.ResponseWriter, r *http.Request, s *session) error {
	if c, err := r.Cookie(cookieName); err == nil {
		u.sessions.delete(c.Value)
	}
	http.SetCookie(w, u.cookie(r, cookieName, "", -1))
	u.log.Info("signed out", "admin", s.id.Name)
	u.redirect(w, r, u.path("signin"))
	return nil
}
