package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
)

// StaticToken is an Authenticator for one admin token known by its
// SHA-256 digest: "rampart ui" on a single host, which has no token table.
type StaticToken struct {
	// Name is shown as the signed-in admin.
	Name string
	// Digest is SHA-256 of the token secret.
	Digest [sha256.Size]byte
}

// Authenticate compares the secret's digest with the known one in
// constant time.
func (s StaticToken) Authenticate(_ context.Context, secret string) (Identity, error) {
	sum := sha256.Sum256([]byte(secret))
	if secret == "" || subtle.ConstantTimeCompare(sum[:], s.Digest[:]) != 1 {
		return Identity{}, ErrInvalidToken
	}
	return Identity{Name: s.Name, Key: hex.EncodeToString(sum[:])}, nil
}

// Check accepts the identity Authenticate gave for the current digest.
func (s StaticToken) Check(_ context.Context, id Identity) error {
	want := hex.EncodeToString(s.Digest[:])
	if subtle.ConstantTimeCompare([]byte(id.Key), []byte(want)) != 1 {
		return ErrInvalidToken
	}
	return nil
}
