package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Session limits.
const (
	// sessionIdle ends a session unused for this long.
	sessionIdle = 8 * time.Hour
	// sessionMax ends every session this long after sign-in.
	sessionMax = 24 * time.Hour
	// recheck is how often a session's token is checked again.
	recheck = time.Minute
	// maxSessions bounds memory; the least recently used goes first.
	maxSessions = 1000
	// preSignInAge is how long a sign-in form stays valid.
	preSignInAge = 30 * time.Minute
)

// session is one signed-in browser.
type session struct {
	id      Identity
	csrf    string
	created time.Time
	seen    time.Time
	checked time.Time
	// flash is the message of the last action, shown once by the next
	// page (post, redirect, get).
	flash      string
	flashError bool
}

// sessionStore keeps sessions in memory, keyed by the SHA-256 of the
// cookie value, so that the map never holds a usable secret. A restart
// signs everyone out, which is acceptable for an admin UI.
type sessionStore struct {
	mu sync.Mutex
	m  map[string]*session
}

func newSessionStore() *sessionStore { return &sessionStore{m: map[string]*session{}} }

func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func sessionKey(cookie string) string {
	sum := sha256.Sum256([]byte(cookie))
	return string(sum[:])
}

// create makes a session for id and returns its cookie value.
func (st *sessionStore) create(id Identity, now time.Time) (string, *session) {
	cookie := randomToken()
	s := &session{id: id, csrf: randomToken(), created: now, seen: now, checked: now}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.expire(now)
	if len(st.m) >= maxSessions {
		var oldest string
		var t time.Time
		for k, v := range st.m {
			if oldest == "" || v.seen.Before(t) {
				oldest, t = k, v.seen
			}
		}
		delete(st.m, oldest)
	}
	st.m[sessionKey(cookie)] = s
	return cookie, s
}

// expire drops ended sessions; st.mu is held.
func (st *sessionStore) expire(now time.Time) {
	for k, s := range st.m {
		if now.Sub(s.seen) > sessionIdle || now.Sub(s.created) > sessionMax {
			delete(st.m, k)
		}
	}
}

// get returns the session of a cookie value, nil when there is none or it
// ended. needCheck reports that its token is due to be checked again.
func (st *sessionStore) get(cookie string, now time.Time) (s *session, needCheck bool) {
	if cookie == "" || len(cookie) > 100 {
		return nil, false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	k := sessionKey(cookie)
	s = st.m[k]
	if s == nil {
		return nil, false
	}
	if now.Sub(s.seen) > sessionIdle || now.Sub(s.created) > sessionMax {
		delete(st.m, k)
		return nil, false
	}
	s.seen = now
	return s, now.Sub(s.checked) > recheck
}

func (st *sessionStore) checked(s *session, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s.checked = now
}

func (st *sessionStore) delete(cookie string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.m, sessionKey(cookie))
}

// setFlash and takeFlash pass a message from an action to the next page.
func (st *sessionStore) setFlash(s *session, msg string, isErr bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	s.flash, s.flashError = msg, isErr
}

func (st *sessionStore) takeFlash(s *session) (string, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	msg, isErr := s.flash, s.flashError
	s.flash, s.flashError = "", false
	return msg, isErr
}

// sameToken compares a submitted CSRF token with the expected one in
// constant time.
func sameToken(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// failureLimiter slows down guessing: after burst failed sign-ins within
// window, further attempts are refused until the window has passed.
// Tokens are 256-bit random, so this is about log noise and load, not
// about the odds of a guess.
type failureLimiter struct {
	mu     sync.Mutex
	times  []time.Time
	burst  int
	window time.Duration
}

func (l *failureLimiter) allow(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	kept := l.times[:0]
	for _, t := range l.times {
		if now.Sub(t) < l.window {
			kept = append(kept, t)
		}
	}
	l.times = kept
	return len(l.times) < l.burst
}

func (l *failureLimiter) fail(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.times = append(l.times, now)
}

// sameOrigin rejects cross-site form posts by the browser's own account
// of where a request comes from (Sec-Fetch-Site, else Origin), on top of
// SameSite cookies and CSRF tokens. Requests without either header (old
// browsers, curl) rely on the CSRF token alone.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		return origin == ""
	}
	host := origin
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	return strings.EqualFold(host, r.Host)
}
