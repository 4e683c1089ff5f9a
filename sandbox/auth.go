package sandbox

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"hash"
	"strconv"
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
	macs     sync.Pool // of HMAC-SHA256 hashes keyed with key

	mu       sync.RWMutex        // read-locked per request: a plain mutex here blocked requests under load (mutex profile)
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
		macs:     sync.Pool{New: func() any { return hmac.New(sha256.New, k) }},
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
	return s.sign(&c), issued, nil
}

// jwtHeader is golang-jwt's HS256 header, encoded.
var jwtHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))

// sign encodes and signs c as golang-jwt's SignedString does, byte for byte
// (a test holds it to that; strings go through journal_json.go's
// appendJSONString), without its reflection-driven JSON encoding and
// per-token HMAC set-up, which were a quarter of the token request's cost.
// It writes the claims issue sets: partnerId, partnerName, iss, exp, iat, jti.
func (s *signer) sign(c *claims) string {
	var scratch [256]byte
	p := append(scratch[:0], `{"partnerId":`...)
	p = appendJSONString(p, c.PartnerID)
	p = append(p, `,"partnerName":`...)
	p = appendJSONString(p, c.PartnerName)
	p = append(p, `,"iss":`...)
	p = appendJSONString(p, c.Issuer)
	p = append(p, `,"exp":`...)
	p = strconv.AppendInt(p, c.ExpiresAt.Unix(), 10)
	p = append(p, `,"iat":`...)
	p = strconv.AppendInt(p, c.IssuedAt.Unix(), 10)
	if c.ID != "" { // omitempty, as in jwt.RegisteredClaims
		p = append(p, `,"jti":`...)
		p = appendJSONString(p, c.ID)
	}
	p = append(p, '}')

	enc := base64.RawURLEncoding
	t := make([]byte, 0, len(jwtHeader)+1+enc.EncodedLen(len(p))+1+enc.EncodedLen(sha256.Size))
	t = append(t, jwtHeader...)
	t = append(t, '.')
	t = enc.AppendEncode(t, p)
	mac := s.macs.Get().(hash.Hash)
	mac.Reset()
	mac.Write(t)
	var sum [sha256.Size]byte
	mac.Sum(sum[:0])
	s.macs.Put(mac)
	t = append(t, '.')
	t = enc.AppendEncode(t, sum[:])
	return string(t)
}

var errNoPartner = errors.New("token names no partner")

// verify checks the signature, algorithm, issuer and expiry, and returns the
// partner id the token names.
func (s *signer) verify(token string) (string, error) {
	now := s.now()
	s.mu.RLock()
	v, ok := s.verified[token]
	s.mu.RUnlock()
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
