package milligold

import (
	"context"
	"encoding/json"
	"html"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/milligold/milligold-go/tokens"
)

// Things that look like credentials in text the Client did not write: JWTs,
// bearer headers and form-encoded secrets.
var secretish = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*|(?i:bearer)(\s|%20|\+)+[^\s"',;&]+|(?i:partnerSecret)(=|%3D)[^&\s"]*`)

// redactedAll replaces a whole text that still holds a credential in an
// encoding redact does not cut out piecemeal.
const redactedAll = "[REDACTED: the text held a credential]"

// redactor removes the partner secret and the access tokens the Client has
// held from text a server sent (an echo in an error body, a Location), in
// the encodings they take there. Safe for concurrent use.
type redactor struct {
	secret string
	forms  []string // the secret and its encodings, longest first
	seen   *seenTokens
}

func newRedactor(secret string) *redactor {
	return &redactor{secret: secret, forms: encodings(secret), seen: &seenTokens{}}
}

// redact cuts the secret and tokens out of s: first their common encodings
// (raw, JSON-escaped, percent-encoded) and anything token-shaped, piece by
// piece, so the rest of the message stays readable; then, if a decoding of
// what is left (JSON escapes, percent escapes, HTML entities, two levels
// deep) still shows one, the whole of s goes.
func (r *redactor) redact(s string) string {
	if s == "" {
		return s
	}
	for _, f := range r.forms {
		s = strings.ReplaceAll(s, f, redacted)
	}
	s = r.seen.redact(s)
	s = secretish.ReplaceAllString(s, redacted)
	for _, v := range decodings(s) {
		if (r.secret != "" && strings.Contains(v, r.secret)) || r.seen.in(v) {
			return redactedAll
		}
	}
	return s
}

// encodings returns v and the forms it takes in JSON strings and URLs,
// distinct, longest first.
func encodings(v string) []string {
	if v == "" {
		return nil
	}
	forms := []string{v, url.QueryEscape(v), url.PathEscape(v), strings.ReplaceAll(url.QueryEscape(v), "+", "%20")}
	for _, html := range []bool{true, false} {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(html)
		if enc.Encode(v) == nil {
			q := strings.TrimSuffix(b.String(), "\n")
			forms = append(forms, q[1:len(q)-1])
		}
	}
	for _, f := range forms[:len(forms):len(forms)] {
		forms = append(forms, lowerHex(f), strings.ReplaceAll(f, "/", `\/`))
	}
	slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
	return slices.Compact(forms)
}

// lowerHex lowercases the hex digits of percent escapes (%3C → %3c).
func lowerHex(s string) string {
	b := []byte(s)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' {
			b[i+1], b[i+2] = lower(b[i+1]), lower(b[i+2])
		}
	}
	return string(b)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'F' {
		return c + 'a' - 'A'
	}
	return c
}

// decodings returns what s reads as once and twice decoded, by JSON string
// escapes, percent escapes (with and without + for space) and HTML
// entities. Only forms that differ from s are returned.
func decodings(s string) []string {
	if !strings.ContainsAny(s, `\%+&`) {
		return nil
	}
	decoders := []func(string) string{
		jsonUnescape,
		func(s string) string { return percentDecode(s, false) },
		func(s string) string { return percentDecode(s, true) },
		html.UnescapeString,
	}
	var out []string
	level := []string{s}
	for range 2 {
		var next []string
		for _, v := range level {
			for _, d := range decoders {
				if w := d(v); w != v && !slices.Contains(out, w) {
					out = append(out, w)
					next = append(next, w)
				}
			}
		}
		level = next
	}
	return out
}

// jsonUnescape decodes the escapes of JSON strings (\" \\ \/ \b \f \n \r \t
// \uXXXX, surrogate pairs included) wherever they occur in s; it does not
// need s to be JSON, and keeps what is not a valid escape.
func jsonUnescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch c := s[i+1]; c {
		case '"', '\\', '/':
			b.WriteByte(c)
			i++
		case 'b', 'f', 'n', 'r', 't':
			b.WriteByte(map[byte]byte{'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}[c])
			i++
		case 'u':
			r, n := hex4(s[i+2:])
			if n == 0 {
				b.WriteByte('\\')
				continue
			}
			i += 1 + n
			if 0xD800 <= r && r < 0xDC00 && strings.HasPrefix(s[i+1:], `\u`) {
				if r2, n2 := hex4(s[i+3:]); n2 > 0 && 0xDC00 <= r2 && r2 < 0xE000 {
					r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
					i += 2 + n2
				}
			}
			b.WriteRune(r)
		default:
			b.WriteByte('\\')
		}
	}
	return b.String()
}

// hex4 reads four hex digits at the start of s; n is 4, or 0 when there are not four.
func hex4(s string) (r rune, n int) {
	if len(s) < 4 {
		return 0, 0
	}
	for i := range 4 {
		d, ok := unhex(s[i])
		if !ok {
			return 0, 0
		}
		r = r<<4 | rune(d)
	}
	return r, 4
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// percentDecode decodes the valid %XX escapes of s (and + as a space when
// plus is set), keeping invalid ones as they are, unlike url.QueryUnescape
// which gives up on the first.
func percentDecode(s string, plus bool) string {
	if !strings.Contains(s, "%") && !(plus && strings.Contains(s, "+")) {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '%' && i+2 < len(s):
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b = append(b, hi<<4|lo)
				i += 2
				continue
			}
			b = append(b, c)
		case c == '+' && plus:
			b = append(b, ' ')
		default:
			b = append(b, c)
		}
	}
	if !utf8.Valid(b) {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(b)
}

// seenTokens remembers the access tokens the Client has held, so redact
// removes them by value: the spec calls tokens opaque, so one need not look
// like a JWT for the pattern to catch it. It keeps the last maxSeenTokens:
// an hour-long token renewed each hour takes days to age out, and a server
// that rotates tokens by the second gets at most a few kilobytes of memory.
type seenTokens struct {
	mu    sync.Mutex
	vals  []string   // newest last
	forms [][]string // encodings(vals[i])
}

const maxSeenTokens = 64

// minRedactedToken keeps a degenerate one-letter token from mangling every
// message; a token that short protects nothing anyway.
const minRedactedToken = 6

func (s *seenTokens) add(v string) {
	if len(v) < minRedactedToken {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Every call loads the token: the common case is the newest one again.
	if n := len(s.vals); n > 0 && s.vals[n-1] == v {
		return
	}
	var forms []string
	if i := slices.Index(s.vals, v); i >= 0 {
		forms = s.forms[i]
		s.vals = slices.Delete(s.vals, i, i+1)
		s.forms = slices.Delete(s.forms, i, i+1)
	} else {
		forms = encodings(v)
	}
	s.vals = append(s.vals, v)
	s.forms = append(s.forms, forms)
	if n := len(s.vals) - maxSeenTokens; n > 0 {
		s.vals = slices.Delete(s.vals, 0, n)
		s.forms = slices.Delete(s.forms, 0, n)
	}
}

// redact replaces each token and its encodings in str.
func (s *seenTokens) redact(str string) string {
	if s == nil {
		return str
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Longest first, so a token that is a prefix of another cannot leave
	// the other's tail behind.
	var all []string
	for _, forms := range s.forms {
		for _, f := range forms {
			if strings.Contains(str, f) {
				all = append(all, f)
			}
		}
	}
	slices.SortFunc(all, func(a, b string) int { return len(b) - len(a) })
	for _, f := range all {
		str = strings.ReplaceAll(str, f, redacted)
	}
	return str
}

// in reports whether str holds one of the tokens.
func (s *seenTokens) in(str string) bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.vals {
		if strings.Contains(str, v) {
			return true
		}
	}
	return false
}

// redact removes the partner secret, the tokens the Client has held and
// anything token-shaped from s, in the encodings they take in messages.
func (c *Client) redact(s string) string { return c.redactor.redact(s) }

// recordingStore notes every token that passes through the Client's store,
// including one a shared store loads from elsewhere.
type recordingStore struct {
	tokens.Store
	seen *seenTokens
}

func (r recordingStore) Load(ctx context.Context) (tokens.Token, bool, error) {
	t, ok, err := r.Store.Load(ctx)
	if ok {
		r.seen.add(t.Value)
	}
	return t, ok, err
}

func (r recordingStore) Save(ctx context.Context, t tokens.Token) error {
	r.seen.add(t.Value)
	return r.Store.Save(ctx, t)
}

// Lock forwards to a shared store's lock; for another store it takes none.
func (r recordingStore) Lock(ctx context.Context, stale tokens.Token, now time.Time) (tokens.Token, bool, func(), error) {
	l, ok := r.Store.(tokens.Locker)
	if !ok {
		return tokens.Token{}, false, func() {}, nil
	}
	t, ok, unlock, err := l.Lock(ctx, stale, now)
	if ok {
		r.seen.add(t.Value)
	}
	return t, ok, unlock, err
}
