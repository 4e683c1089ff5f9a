// Package quotakey holds what the shared token stores and limiters (Redis,
// file) have in common: the partner's key, which names their Redis keys and
// files without revealing the partner or the API, and the sealed encoding of
// a token, so a stored token is readable only by holders of the secret.
package quotakey

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/milligold/milligold-go/tokens"
)

// Partner names one partner at one API: the shared state's unit. Its
// String is a hash, safe for key and file names; it never shows the secret.
type Partner struct {
	hash string
	aead cipher.AEAD
}

// New derives the partner's key from the base URL and partner id (hashed:
// the id is not a secret, but it is nobody's business either) and the
// sealing key from the secret. The base URL is compared without a trailing
// slash.
func New(baseURL, partnerID, secret string) (Partner, error) {
	if partnerID == "" || secret == "" {
		return Partner{}, errors.New("quotakey: empty partner id or secret")
	}
	h := sha256.New()
	h.Write([]byte("milligold-go partner v1\x00"))
	h.Write([]byte(strings.TrimRight(baseURL, "/")))
	h.Write([]byte{0})
	h.Write([]byte(partnerID))
	sum := h.Sum(nil)

	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("milligold-go token seal v1"))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return Partner{}, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return Partner{}, err
	}
	return Partner{hash: hex.EncodeToString(sum[:16]), aead: aead}, nil
}

// String is the partner's hash (32 hex digits).
func (p Partner) String() string { return p.hash }

// Format prints the hash for every verb, so %+v cannot reach the cipher.
func (p Partner) Format(f fmt.State, _ rune) { f.Write([]byte(p.hash)) }

// sealed is a token at rest. Times are unix nanoseconds of the clock of the
// process that fetched it.
type sealed struct {
	Value   string `json:"v"`
	Expiry  int64  `json:"e"`
	RenewAt int64  `json:"r"`
}

// Seal encrypts t for this partner (AES-GCM, the partner hash as associated
// data, so a token cannot be moved to another partner's key).
func (p Partner) Seal(t tokens.Token) ([]byte, error) {
	plain, err := json.Marshal(sealed{Value: t.Value, Expiry: t.Expiry.UnixNano(), RenewAt: t.RenewAt.UnixNano()})
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, p.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return p.aead.Seal(nonce, nonce, plain, []byte(p.hash)), nil
}

// ErrUnsealable means a stored token was written with another secret, or
// damaged; callers treat it as no token.
var ErrUnsealable = errors.New("quotakey: stored token cannot be opened (another secret, or damaged)")

// Open decrypts what Seal wrote.
func (p Partner) Open(b []byte) (tokens.Token, error) {
	n := p.aead.NonceSize()
	if len(b) < n {
		return tokens.Token{}, ErrUnsealable
	}
	plain, err := p.aead.Open(nil, b[:n], b[n:], []byte(p.hash))
	if err != nil {
		return tokens.Token{}, ErrUnsealable
	}
	var s sealed
	if err := json.Unmarshal(plain, &s); err != nil || s.Value == "" {
		return tokens.Token{}, ErrUnsealable
	}
	return tokens.Token{Value: s.Value, Expiry: time.Unix(0, s.Expiry), RenewAt: time.Unix(0, s.RenewAt)}, nil
}

// SealBytes encrypts b for this partner, as Seal does a token.
func (p Partner) SealBytes(b []byte) ([]byte, error) {
	nonce := make([]byte, p.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return p.aead.Seal(nonce, nonce, b, []byte(p.hash)), nil
}

// OpenBytes decrypts what SealBytes wrote.
func (p Partner) OpenBytes(b []byte) ([]byte, error) {
	n := p.aead.NonceSize()
	if len(b) < n {
		return nil, ErrUnsealable
	}
	plain, err := p.aead.Open(nil, b[:n], b[n:], []byte(p.hash))
	if err != nil {
		return nil, ErrUnsealable
	}
	return plain, nil
}

// WaitError is what the shared limiters return when the next slot comes
// after the caller's deadline: waiting could not help, so they fail at once.
// It matches context.DeadlineExceeded.
type WaitError struct {
	Wait time.Duration // until the next slot
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("rate limit: the next request may go in %s, after the deadline", e.Wait.Round(time.Second))
}

// Unwrap makes errors.Is(err, context.DeadlineExceeded) hold.
func (e *WaitError) Unwrap() error { return context.DeadlineExceeded }
