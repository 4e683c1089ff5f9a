package sandbox

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	macs     sync.Pool // of *macState keyed with key
	jtis     jtiSource

	verified [verifiedSlots]atomic.Pointer[verifiedToken] // tokens whose signature checked out, by their hash
}

// verifiedToken is a token whose signature checked out, and what it proved.
type verifiedToken struct {
	token string
	verified
}

// verified is what a good token proved: its partner and when it is valid.
// Parsing the claims' JSON dominated the request cost, so each token is
// parsed once.
type verified struct {
	partner     string
	issued, exp time.Time
}

// verifiedSlot is token's slot in signer.verified: its last eight bytes
// (a signature's, as random as HMAC-SHA256 makes them) mixed by a
// multiply, or what a shorter token has. Hashing the whole token (maphash)
// cost more instructions than the read-locked map's lookup it replaced; a
// token made to take another's slot only has that one parsed again.
func verifiedSlot(token string) uint64 {
	var x uint64
	for i := max(len(token)-8, 0); i < len(token); i++ {
		x = x<<8 | uint64(token[i])
	}
	return x * 0x9e3779b97f4a7c15 >> (64 - verifiedSlotBits)
}

// verifiedSlotBits is log2(verifiedSlots).
const verifiedSlotBits = 12

// verifiedSlots is the size of the cache of verified tokens, a power of
// two: a token is kept in the slot of its hash, in place of whichever was
// there (which is then parsed again when next seen). Reads take no lock:
// the read-locked map it replaces wrote the lock's shared word twice per
// request, from both cores.
const verifiedSlots = 1 << verifiedSlotBits

func newSigner(key string, lifetime time.Duration, now func() time.Time) (*signer, error) {
	k := []byte(key)
	if len(k) == 0 {
		k = make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return nil, err
		}
	}
	s := &signer{
		macs:     sync.Pool{New: func() any { return &macState{h: hmac.New(sha256.New, k)} }},
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
	}
	if err := s.jtis.init(); err != nil {
		return nil, err
	}
	return s, nil
}

// jtiSource makes the tokens' jti claims: UUIDs, as uuid.NewString's, but
// from a random base and a counter rather than 16 bytes of crypto/rand per
// token (a system call each). They stay unique: the base's low 62 bits plus
// the count, which wraps after 2^62 tokens; the base's random high half
// keeps another sandbox's tokens, made with the same key, apart. The jti
// is not a secret: the signature is what a token's holder cannot forge.
type jtiSource struct {
	base [16]byte
	seq  atomic.Uint64
}

func (j *jtiSource) init() error {
	if _, err := rand.Read(j.base[:]); err != nil {
		return err
	}
	j.base[6] = j.base[6]&0x0f | 0x40 // version 4 layout, as before
	return nil
}

// next returns a jti no earlier call returned. It is safe for concurrent use.
func (j *jtiSource) next() uuid.UUID {
	u := uuid.UUID(j.base)
	binary.BigEndian.PutUint64(u[8:], binary.BigEndian.Uint64(j.base[8:])+j.seq.Add(1))
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant: 62 bits of the sum are kept
	return u
}

// appendUUID appends u as uuid.UUID.String writes it.
func appendUUID(b []byte, u uuid.UUID) []byte {
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	hex.Encode(s[9:13], u[4:6])
	hex.Encode(s[14:18], u[6:8])
	hex.Encode(s[19:23], u[8:10])
	hex.Encode(s[24:36], u[10:16])
	s[8], s[13], s[18], s[23] = '-', '-', '-', '-'
	return append(b, s[:]...)
}

// issue signs a token for p, issued now: the claims sign writes for them,
// with a fresh jti (two tokens issued in one second still differ), written
// in place.
func (s *signer) issue(p Partner) (token string, issued time.Time, err error) {
	return s.issueAt(p, s.now())
}

// issueAt is issue at now, a reading of the signer's clock (the request's).
func (s *signer) issueAt(p Partner, now time.Time) (token string, issued time.Time, err error) {
	issued = now.Truncate(time.Second)
	var scratch [256]byte
	b := appendClaimsHead(scratch[:0], p.ID, p.Name, Issuer, issued.Add(s.lifetime).Unix(), issued.Unix())
	b = append(b, `,"jti":"`...)
	b = appendUUID(b, s.jtis.next())
	b = append(b, `"}`...)
	return s.signPayload(b), issued, nil
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
	p := appendClaimsHead(scratch[:0], c.PartnerID, c.PartnerName, c.Issuer, c.ExpiresAt.Unix(), c.IssuedAt.Unix())
	if c.ID != "" { // omitempty, as in jwt.RegisteredClaims
		p = append(p, `,"jti":`...)
		p = appendClaim(p, c.ID)
	}
	return s.signPayload(append(p, '}'))
}

// appendClaimsHead appends the claims' JSON up to the jti, unclosed.
func appendClaimsHead(p []byte, partnerID, partnerName, iss string, exp, iat int64) []byte {
	p = append(p, `{"partnerId":`...)
	p = appendClaim(p, partnerID)
	p = append(p, `,"partnerName":`...)
	p = appendClaim(p, partnerName)
	p = append(p, `,"iss":`...)
	p = appendClaim(p, iss)
	p = append(p, `,"exp":`...)
	p = strconv.AppendInt(p, exp, 10)
	p = append(p, `,"iat":`...)
	return strconv.AppendInt(p, iat, 10)
}

// signPayload returns the HS256 token of the claims' JSON p.
func (s *signer) signPayload(p []byte) string {
	enc := base64.RawURLEncoding
	m := s.macs.Get().(*macState)
	t := append(m.buf[:0], jwtHeader...)
	t = append(t, '.')
	t = enc.AppendEncode(t, p)
	m.h.Reset()
	m.h.Write(t)
	var sig [64]byte // a signature's 43 characters
	sigB64 := enc.AppendEncode(sig[:0], m.h.Sum(m.sum[:0]))
	var b strings.Builder // one allocation: the token
	b.Grow(len(t) + 1 + len(sigB64))
	b.Write(t)
	b.WriteByte('.')
	b.Write(sigB64)
	m.buf = t
	s.macs.Put(m)
	return b.String()
}

// appendClaim appends s as a JSON string, as appendJSONString does; the
// ids, names and jtis of a sandbox's tokens need no escapes, which a table
// finds faster than appendJSONString's escaping loop.
func appendClaim(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !jsonVerbatim[s[i]] {
			return appendJSONString(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// jsonVerbatim is the bytes appendJSONString copies as they are: ASCII
// from space up, except the quote, the backslash and what encoding/json
// escapes for HTML.
var jsonVerbatim = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = !strings.ContainsRune(`"\<>&`, rune(c))
	}
	return t
}()

// macState is a keyed HMAC with the buffers a signature needs, pooled so a
// token costs no set-up and no allocation but its own string.
type macState struct {
	h   hash.Hash
	buf []byte // header.payload
	sum [sha256.Size]byte
}

var errNoPartner = errors.New("token names no partner")

// verify checks the signature, algorithm, issuer and expiry, and returns the
// partner id the token names.
func (s *signer) verify(token string) (string, error) { return s.verifyAt(token, s.now()) }

// verifyAt is verify at now, a reading of the signer's clock (the
// request's): a token verified before is answered from the cache with it;
// a new one is parsed, and the parser reads the clock itself.
func (s *signer) verifyAt(token string, now time.Time) (string, error) {
	slot := &s.verified[verifiedSlot(token)]
	if v := slot.Load(); v != nil && v.token == token && !now.Before(v.issued) && now.Before(v.exp) {
		return v.partner, nil
	}
	var c claims
	if _, err := s.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.key, nil }); err != nil {
		return "", err
	}
	if c.PartnerID == "" {
		return "", errNoPartner
	}
	v := &verifiedToken{token: token, verified: verified{partner: c.PartnerID, exp: c.ExpiresAt.Time}} // the parser requires exp
	if c.IssuedAt != nil {
		v.issued = c.IssuedAt.Time
	}
	slot.Store(v)
	return c.PartnerID, nil
}

// dummySecret stands in for an unknown partner's secret, so an unknown id
// and a wrong secret take the same path and time.
const dummySecret = "\x00unknown-partner"

// dummySecretHash is dummySecret's SHA-256, as world.secrets holds a
// partner's.
var dummySecretHash = sha256.Sum256([]byte(dummySecret))

// credentials returns the partner id names and whether secret is its secret.
// An unknown id and a wrong secret answer alike, in the same time: the
// comparison runs either way, against dummySecret for an unknown id. The
// stored side's hash is made with the world, so a check hashes only secret.
func (s *Sandbox) credentials(id, secret string) (Partner, bool) {
	p, known := s.world.partners[id]
	want, ok := s.world.secrets[id]
	if !ok {
		want = dummySecretHash
	}
	equal := secretMatches(secret, &want)
	return p, equal && known
}

// verified is credentials, answered from what the guard already checked for
// this request when it is the same id and secret.
func (s *Sandbox) verified(ctx context.Context, id, secret string) (Partner, bool) {
	if i := info(ctx); i.verifiedID != "" && i.verifiedID == id && i.verifiedSecret == secret {
		if p, known := s.world.partners[id]; known {
			return p, true
		}
	}
	return s.credentials(id, secret)
}

// secretMatches reports whether secret's SHA-256 is want, in constant time
// whatever the lengths.
func secretMatches(secret string, want *[sha256.Size]byte) bool {
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// secretsEqual compares in constant time, whatever the lengths.
func secretsEqual(a, b string) bool {
	hb := sha256.Sum256([]byte(b))
	return secretMatches(a, &hb)
}

// secretHash is what world.secrets holds for a partner's secret.
func secretHash(secret string) [sha256.Size]byte { return sha256.Sum256([]byte(secret)) }
