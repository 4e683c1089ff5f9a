// Package tokens caches and renews access tokens: a Source around a fetch
// function (x/oauth2 style), a Store for the current token, and a bearer
// RoundTripper. gen/middleware binds it to the spec's token operation.
// Token values never appear in errors, logs or formatted output.
package tokens

import (
	"errors"
	"fmt"
	"time"
)

// maxLifetime bounds an expiresIn from the server (ten years), so garbage
// cannot overflow time arithmetic.
const maxLifetime = 10 * 365 * 24 * time.Hour

// maxMargin caps how long before expiry a token is renewed.
const maxMargin = time.Minute

// Token is an access token and when to renew it. Formatting a Token with
// any verb redacts Value.
type Token struct {
	Value   string
	Expiry  time.Time // local clock when the request was sent, plus expiresIn
	RenewAt time.Time // Expiry minus a margin of a tenth of the lifetime, at most a minute
}

// Valid reports whether t may still be used at now (Value set, not due for renewal).
func (t Token) Valid(now time.Time) bool {
	return t.Value != "" && now.Before(t.RenewAt)
}

// Format redacts the token value for every verb (%v, %+v, %#v, %s, ...).
func (t Token) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "tokens.Token{Value:%s, Expiry:%s}", redact(t.Value), t.Expiry.Format(time.RFC3339))
}

// Grant is what one token response carries: the value and its lifetime.
// Formatting a Grant redacts Value.
type Grant struct {
	Value     string
	ExpiresIn time.Duration
}

// Format redacts the token value for every verb.
func (g Grant) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "tokens.Grant{Value:%s, ExpiresIn:%s}", redact(g.Value), g.ExpiresIn)
}

func redact(v string) string {
	if v == "" {
		return `""`
	}
	return "REDACTED"
}

// ErrBadGrant is wrapped by newGrant's errors.
var ErrBadGrant = errors.New("tokens: unusable token response")

// newGrant checks a token response's fields: a non-empty token and an
// expiresIn (seconds) that is positive and at most ten years.
func newGrant(value string, expiresInSeconds int64) (Grant, error) {
	if value == "" {
		return Grant{}, fmt.Errorf("%w: empty access token", ErrBadGrant)
	}
	if expiresInSeconds <= 0 || expiresInSeconds > int64(maxLifetime/time.Second) {
		return Grant{}, fmt.Errorf("%w: expiresIn %d; want 1 to %d seconds", ErrBadGrant, expiresInSeconds, int64(maxLifetime/time.Second))
	}
	return Grant{Value: value, ExpiresIn: time.Duration(expiresInSeconds) * time.Second}, nil
}

// tokenAt turns a grant requested at sent into a Token.
func tokenAt(g Grant, sent time.Time) Token {
	exp := sent.Add(g.ExpiresIn)
	return Token{Value: g.Value, Expiry: exp, RenewAt: exp.Add(-min(g.ExpiresIn/10, maxMargin))}
}
