package sandbox

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Issuer is the iss claim of the sandbox's tokens; tokens without it are refused.
const Issuer = "milligold-sandbox"

// claims are the document's example token's claims, plus the issuer.
type claims struct {
	PartnerID   string `json:"partnerId"`
	PartnerName string `json:"partnerName"`
	jwt.RegisteredClaims
}

// signer issues and verifies HS256 access tokens. It is safe for concurrent use.
type signer struct {
	key      []byte
	lifetime time.Duration
	now      func() time.Time
	parser   *jwt.Parser

	mu       sync.Mutex
	verified map[string]verified // tokens whose signature checked out; at most maxVerified
}

// verified is what a good token proved: its partner and when it is valid.
// Parsing the claims' JSON dominated the request cost, so each token is
// parsed once.
type verified struct {
	partner     string
	issued, exp time.Time
}

// maxVerified bounds the cache of verified tokens; when full it starts over.
const maxVerified = 4096

func newSigner(key string, lifetime time.Duration, now func() time.Time) (*signer, error) {
	k := []byte(key)
	if len(k) == 0 {
		k = make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, err
		}
	}
	return &signer{
		key:      k,
		lifetime: lifetime,
		now:      now,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
			jwt.WithIssuer(Issuer),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithTimeFunc(now),
		),
	}, nil
}

// issue signs a token for p, issued now.
func (s *signer) issue(p Partner) (token string, issued time.Time, err error) {
	issued = s.now().Truncate(time.Second)
	c := claims{
		PartnerID:   p.ID,
		PartnerName: p.Name,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			ID:        uuid.NewString(), // two tokens issued in one second still differ
			IssuedAt:  jwt.NewNumericDate(issued),
			ExpiresAt: jwt.NewNumericDate(issued.Add(s.lifetime)),
		},
	}
	token, err = jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.key)
	return token, issued, err
}

var errNoPartner = errors.New("token names no partner")

// verify checks the signature, algorithm, issuer and expiry, and returns the
// partner id the token names.
func (s *signer) verify(token string) (string, error) {
	now := s.now()
	s.mu.Lock()
	v, ok := s.verified[token]
	s.mu.Unlock()
	if ok && !now.Before(v.issued) && now.Before(v.exp) {
		return v.partner, nil
	}
	var c claims
	if _, err := s.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.key, nil }); err != nil {
		return "", err
	}
	if c.PartnerID == "" {
		return "", errNoPartner
	}
	v = verified{partner: c.PartnerID, exp: c.ExpiresAt.Time} // the parser requires exp
	if c.IssuedAt != nil {
		v.issued = c.IssuedAt.Time
	}
	s.mu.Lock()
	if s.verified == nil || len(s.verified) >= maxVerified {
		s.verified = make(map[string]verified)
	}
	s.verified[token] = v
	s.mu.Unlock()
	return c.PartnerID, nil
}

// dummySecret stands in for an unknown partner's secret, so an unknown id
// and a wrong secret take the same path and time.
const dummySecret = "\x00unknown-partner"

// credentials returns the partner id names and whether secret is its secret.
// An unknown id and a wrong secret answer alike, in the same time: the
// comparison runs either way, against dummySecret for an unknown id.
func (s *Sandbox) credentials(id, secret string) (Partner, bool) {
	p, known := s.world.partners[id]
	want := p.Secret
	if !known {
		want = dummySecret
	}
	equal := secretsEqual(secret, want)
	return p, equal && known
}

// secretsEqual compares in constant time, whatever the lengths.
func secretsEqual(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
