package blocklist

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// PublicKey is a server's list-signing key as agents pin it.
type PublicKey struct {
	key ed25519.PublicKey
	id  string
}

// ErrSignature is returned when a list or delta is not signed by the
// pinned key: a wrong key, a tampered body, or a missing signature.
var ErrSignature = errors.New("blocklist signature does not verify")

const pubPrefix = "rampart-ed25519:"

// KeyID names a public key: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// NewPublicKey wraps an Ed25519 public key.
func NewPublicKey(pub ed25519.PublicKey) (PublicKey, error) {
	if len(pub) != ed25519.PublicKeySize {
		return PublicKey{}, fmt.Errorf("public key: %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	return PublicKey{key: slices.Clone(pub), id: KeyID(pub)}, nil
}

// ParsePublicKey reads the text form String writes:
// "rampart-ed25519:" and the base64 of the 32-byte key.
func ParsePublicKey(s string) (PublicKey, error) {
	b64, ok := strings.CutPrefix(strings.TrimSpace(s), pubPrefix)
	if !ok {
		return PublicKey{}, fmt.Errorf("public key %q: want %s<base64>", s, pubPrefix)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return PublicKey{}, fmt.Errorf("public key %q: %w", s, err)
	}
	return NewPublicKey(raw)
}

// String is the key's text form, as "rampart server pubkey" prints it.
func (k PublicKey) String() string {
	return pubPrefix + base64.StdEncoding.EncodeToString(k.key)
}

// ID is the key's id (see KeyID).
func (k PublicKey) ID() string { return k.id }

// Signer signs lists and deltas with a server's private key.
type Signer struct {
	priv ed25519.PrivateKey
	pub  PublicKey
}

// NewSigner wraps an Ed25519 private key.
func NewSigner(priv ed25519.PrivateKey) (*Signer, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("private key: %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	pub, err := NewPublicKey(priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	return &Signer{priv: priv, pub: pub}, nil
}

// Public is the signer's public key.
func (s *Signer) Public() PublicKey { return s.pub }

// SignList returns the signed canonical encoding of l (its "txt" format).
// l.Entries must be canonical (see Canon).
func (s *Signer) SignList(l List) []byte {
	return s.seal(encodeList(l, s.pub.id))
}

// SignDelta returns the signed canonical encoding of d.
func (s *Signer) SignDelta(d Delta) []byte {
	d.Added = slices.Clone(d.Added)
	slices.SortFunc(d.Added, compareEntries)
	d.Removed = slices.Clone(d.Removed)
	slices.SortFunc(d.Removed, comparePrefixes)
	return s.seal(encodeDelta(d, s.pub.id))
}

func (s *Signer) seal(body []byte) []byte {
	sig := ed25519.Sign(s.priv, body)
	body = append(body, sigPrefix...)
	body = base64.StdEncoding.AppendEncode(body, sig)
	return append(body, '\n')
}

// split separates a signed encoding into the signed bytes and the
// signature.
func split(data []byte) (body, sig []byte, err error) {
	if len(data) == 0 || data[len(data)-1] != '\n' {
		return nil, nil, fmt.Errorf("%w: no final signature line", ErrSignature)
	}
	i := bytes.LastIndexByte(data[:len(data)-1], '\n') + 1
	last := data[i : len(data)-1]
	b64, ok := bytes.CutPrefix(last, []byte(sigPrefix))
	if !ok {
		return nil, nil, fmt.Errorf("%w: no final signature line", ErrSignature)
	}
	sig, err = base64.StdEncoding.AppendDecode(nil, b64)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, nil, fmt.Errorf("%w: malformed signature line", ErrSignature)
	}
	return data[:i], sig, nil
}

// verify checks data's signature with k and decodes the signed part.
func (k PublicKey) verify(data []byte) (*decoded, error) {
	body, sig, err := split(data)
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(k.key, body, sig) {
		return nil, ErrSignature
	}
	d, err := decode(body)
	if err != nil {
		return nil, err
	}
	if d.keyID != k.id {
		// The signature verified, so the signer holds our key: a wrong
		// id is a bug on its side, still not something to trust.
		return nil, fmt.Errorf("%w: signed with key %s, pinned %s", ErrSignature, d.keyID, k.id)
	}
	return d, nil
}

// VerifyList checks a signed list against the pinned key and decodes it.
func (k PublicKey) VerifyList(data []byte) (List, error) {
	d, err := k.verify(data)
	if err != nil {
		return List{}, err
	}
	if d.delta {
		return List{}, errors.New("blocklist: got a delta, want a full list")
	}
	return List{Version: d.version, Generated: d.generated, Intended: d.intended, Entries: d.entries}, nil
}

// VerifyDelta checks a signed delta against the pinned key and decodes it.
func (k PublicKey) VerifyDelta(data []byte) (Delta, error) {
	d, err := k.verify(data)
	if err != nil {
		return Delta{}, err
	}
	if !d.delta {
		return Delta{}, errors.New("blocklist: got a full list, want a delta")
	}
	if d.to <= d.from {
		return Delta{}, fmt.Errorf("blocklist delta goes from version %d back to %d", d.from, d.to)
	}
	return Delta{From: d.from, To: d.to, Generated: d.generated, Intended: d.intended, Added: d.added, Removed: d.removed}, nil
}

// Signature signs l's canonical encoding and returns the signature alone,
// for formats that carry the list's fields instead of its encoding (JSON).
func (s *Signer) Signature(l List) []byte {
	return ed25519.Sign(s.priv, encodeList(l, s.pub.id))
}

// VerifyFields checks a signature made by Signature over a list rebuilt from
// its fields. keyID is the id the sender claims.
func (k PublicKey) VerifyFields(l List, keyID string, sig []byte) error {
	if keyID != k.id {
		return fmt.Errorf("%w: signed with key %s, pinned %s", ErrSignature, keyID, k.id)
	}
	entries, err := Canon(l.Entries)
	if err != nil {
		return err
	}
	l.Entries = entries
	l.Generated = canonTime(l.Generated)
	if !ed25519.Verify(k.key, encodeList(l, keyID), sig) {
		return ErrSignature
	}
	return nil
}
