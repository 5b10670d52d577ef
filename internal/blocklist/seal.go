package blocklist

import (
	"crypto/ed25519"
	"slices"
)

// Seal signs body, a text encoding that ends with a newline, and returns
// body followed by the "# signature <base64>" line, the same envelope lists
// and deltas use. Other signed texts of the server (the federation feed)
// use it; each starts with its own magic line, so a signed text of one kind
// never decodes as another.
func (s *Signer) Seal(body []byte) []byte {
	// Clipped: the signature line must not overwrite whatever the
	// caller keeps beyond len(body).
	return s.seal(slices.Clip(body))
}

// Open checks the final signature line of data against the key and
// returns the signed bytes before it. It does not parse them: the caller
// decodes and checks that the key id they name is k.ID().
func (k PublicKey) Open(data []byte) ([]byte, error) {
	body, sig, err := split(data)
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(k.key, body, sig) {
		return nil, ErrSignature
	}
	return body, nil
}
