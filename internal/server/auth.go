package server

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rampart-ids/rampart/internal/api"
	"github.com/rampart-ids/rampart/internal/serverdb"
)

const tokenPrefix = "rpt_"

// NewToken makes a token secret and the digest the server stores.
func NewToken() (secret string, digest []byte) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on Linux
	}
	secret = tokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return secret, Digest(secret)
}

// Digest is the stored form of a token secret.
func Digest(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// tokenCache remembers token lookups for a short time, so that a busy
// agent's polls do not each cost a database read.
type tokenCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedToken
}

type cachedToken struct {
	tok     api.Token
	ok      bool
	digest  []byte
	expires time.Time
}

func newTokenCache(ttl time.Duration) *tokenCache {
	return &tokenCache{ttl: ttl, m: map[string]cachedToken{}}
}

func (c *tokenCache) get(key string, now time.Time) (cachedToken, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || now.After(e.expires) {
		return cachedToken{}, false
	}
	return e, true
}

func (c *tokenCache) put(key string, e cachedToken) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) > 10000 {
		// Bounded: a flood of wrong tokens must not grow memory.
		clear(c.m)
	}
	c.m[key] = e
}

func (c *tokenCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.m)
}

// errUnauthorized and errForbidden map to 401 and 403.
var (
	errUnauthorized = &httpError{status: http.StatusUnauthorized, msg: "missing or invalid token"}
	errForbidden    = &httpError{status: http.StatusForbidden, msg: "this token's role may not do that"}
)

// bearer extracts the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// lookup resolves a secret to its token. The digest is the map key and the
// database key; the final constant-time compare of digests keeps a cache
// or index hit from answering for a different secret.
func (s *Server) lookup(r *http.Request, secret string) (api.Token, error) {
	if secret == "" || len(secret) > 200 {
		return api.Token{}, errUnauthorized
	}
	digest := Digest(secret)
	key := string(digest)
	now := s.now()
	e, hit := s.tokens.get(key, now)
	if !hit {
		tok, err := s.db.TokenByHash(r.Context(), digest)
		switch {
		case errors.Is(err, serverdb.ErrNotFound):
			e = cachedToken{digest: digest, expires: now.Add(s.opts.TokenCacheTTL)}
		case err != nil:
			return api.Token{}, err
		default:
			e = cachedToken{tok: tok, ok: true, digest: digest, expires: now.Add(s.opts.TokenCacheTTL)}
			if now.Sub(tok.LastUsed) > time.Minute {
				if err := s.db.TouchToken(r.Context(), tok.ID, now); err != nil {
					s.log.Warn("record token use", "token", tok.Name, "error", err)
				}
			}
		}
		s.tokens.put(key, e)
	}
	if !e.ok || subtle.ConstantTimeCompare(e.digest, digest) != 1 {
		return api.Token{}, errUnauthorized
	}
	return e.tok, nil
}

// auth checks the bearer token and its role; admin may do everything.
func (s *Server) auth(r *http.Request, roles ...string) (api.Token, error) {
	tok, err := s.lookup(r, bearer(r))
	if err != nil {
		s.metrics.authFailures.WithLabelValues("bearer").Inc()
		return api.Token{}, err
	}
	if tok.Role != api.RoleAdmin && !slices.Contains(roles, tok.Role) {
		s.metrics.authFailures.WithLabelValues("role").Inc()
		return api.Token{}, errForbidden
	}
	return tok, nil
}
