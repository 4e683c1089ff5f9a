// Package guard is the sandbox's policy middleware for an oapi-codegen
// strict server: the bearer check of protected operations (401), then the
// fixed-window rate limit (429 with the rate-limit headers), then the
// handler with the partner id in the context. It is the same for every
// spec; gen/apiserver binds it to the spec's tables and typed answers
// (Binding), so changing this logic changes no generated line.
package guard

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/milligold/milligold-go/ratelimit"
)

// HandlerFunc is a strict server's handler (the underlying type of
// oapi-codegen's StrictHandlerFunc).
type HandlerFunc = func(ctx context.Context, w http.ResponseWriter, r *http.Request, request any) (any, error)

// RateHeaders are the values of the three rate-limit headers of a 429.
type RateHeaders struct {
	Limit, Remaining int64
	Reset            int64 // Unix seconds, rounded up
}

// Binding is what the generated code supplies: the spec's policy and
// operations, and the typed answers of its strict server. E is the error
// envelope's type.
type Binding[E any] struct {
	// Policy is the spec's rate limit.
	Policy ratelimit.Policy
	// Operation reports whether the strict server's operation name is
	// known and whether it needs a bearer token.
	Operation func(name string) (bearer, known bool)
	// TokenCredentials returns the partner id and secret of a token
	// request; ok is false for any other request or a missing field.
	TokenCredentials func(request any) (id, secret string, ok bool)
	// Envelope is the default error body: only the message set.
	Envelope func(message string) E
	// Unauthorized and TooManyRequests are operation name's typed 401 and
	// 429 answers.
	Unauthorized    func(name string, e E) any
	TooManyRequests func(name string, e E, h RateHeaders) any
}

// Options configures Middleware.
type Options[E any] struct {
	// Verify maps a bearer token to its partner id; an error means 401.
	// Required. Its error is not shown to the caller.
	Verify func(ctx context.Context, token string) (partnerID string, err error)
	// Credentials reports whether a token request's partner id and secret
	// are right: then the request counts against that partner's window, else
	// (an unknown id or a wrong secret alike) against ClientKey, so a stranger
	// who knows an id can neither lock its partner out nor learn that it
	// exists. It should take as long for an unknown id as for a wrong secret.
	// nil means no credentials are right.
	Credentials func(ctx context.Context, partnerID, partnerSecret string) bool
	// ClientKey keys callers without a partner; nil means the host of r.RemoteAddr.
	ClientKey func(r *http.Request) string
	// Envelope builds an error body; nil means Binding.Envelope.
	Envelope func(ctx context.Context, status int, message string) E
	// Window enforces the limit; nil means a new window for Binding.Policy.
	Window *ratelimit.FixedWindow
	// Now is the window's clock when Window is nil; nil means time.Now.
	Now func() time.Time
	// Clock, when set, returns the time of the request ctx on the window's
	// clock, read once where the request entered, so the window does not
	// read the clock again; nil means the window reads its own.
	Clock func(ctx context.Context) time.Time
	// HeadersOnEveryResponse sets the rate-limit headers on every counted
	// response, not only on 429s (the API document promises them on errors only).
	HeadersOnEveryResponse bool
	// Counted, when set, is told each request's decision by the window, with
	// the request's context (before the partner id is added).
	Counted func(ctx context.Context, d ratelimit.Decision)
}

type partnerKey struct{}

// WithPartnerID returns ctx carrying the authenticated partner id.
func WithPartnerID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, partnerKey{}, id)
}

// PartnerID returns the partner id Middleware authenticated, for handlers
// and logging.
func PartnerID(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(partnerKey{}).(string)
	return id, ok
}

// Guard enforces b's policy for one request at a time; the generated
// per-operation glue calls Admit directly, with the typed request in hand,
// so no closure is built and no request is boxed per request. It is safe
// for concurrent use.
type Guard[E any] struct {
	b         Binding[E]
	o         Options[E]
	window    *ratelimit.FixedWindow
	envelope  func(ctx context.Context, status int, message string) E
	clientKey func(r *http.Request) string
	keys      keyCache
}

// New returns the Guard of b's policy with o. It panics when o.Verify is nil.
func New[E any](b Binding[E], o Options[E]) *Guard[E] {
	if o.Verify == nil {
		panic("guard: Options.Verify is nil")
	}
	g := &Guard[E]{b: b, o: o, window: o.Window, envelope: o.Envelope, clientKey: o.ClientKey}
	if g.window == nil {
		g.window = ratelimit.NewFixedWindow(b.Policy, o.Now)
	}
	if g.envelope == nil {
		g.envelope = func(_ context.Context, _ int, message string) E { return b.Envelope(message) }
	}
	if g.clientKey == nil {
		g.clientKey = remoteHost
	}
	return g
}

// Admit runs the policy for a request of operation name, in this order: the
// bearer check when bearer is set (401), then the fixed-window rate limit
// (429 with the three headers). A request counts against the partner it is
// proven to come from (a valid token, or a token request whose id and
// secret o.Credentials accepts; id and secret are "" for other requests);
// any other, refused by the bearer check or by the token handler, counts
// against its client's address: 401, or 429 once that address is over the
// limit. It returns the context for the handler, carrying the partner id,
// and refused: nil when the request may proceed, else the operation's typed
// answer to write instead.
func (g *Guard[E]) Admit(ctx context.Context, w http.ResponseWriter, r *http.Request, name string, bearer bool, id, secret string) (_ context.Context, refused any) {
	var key string
	if bearer {
		var header string
		if v := r.Header["Authorization"]; len(v) > 0 { // Get, without canonicalizing a canonical key per request
			header = v[0]
		}
		token, ok := parseBearer(header)
		if !ok {
			return ctx, g.refuse(ctx, r, name, "missing or malformed bearer token")
		}
		partner, err := g.o.Verify(ctx, token)
		if err != nil {
			return ctx, g.refuse(ctx, r, name, "invalid or expired access token")
		}
		k := g.keys.get(partnerPrefix, partner)
		ctx = context.WithValue(ctx, partnerKey{}, k.name) // WithPartnerID, with the id boxed once
		key = k.key
	} else if id != "" && secret != "" && g.o.Credentials != nil && g.o.Credentials(ctx, id, secret) {
		key = g.keys.get(partnerPrefix, id).key
	} else {
		key = g.keys.get(clientPrefix, g.clientKey(r)).key
	}
	d := g.allow(ctx, key)
	if g.o.Counted != nil {
		g.o.Counted(ctx, d)
	}
	if !d.Allowed {
		return ctx, g.tooMany(ctx, name, d)
	}
	if g.o.HeadersOnEveryResponse {
		g.window.Policy().SetHeaders(w.Header(), d)
	}
	return ctx, nil
}

// allow counts the request ctx against key's window, at the request's
// time when Options.Clock gives it.
func (g *Guard[E]) allow(ctx context.Context, key string) ratelimit.Decision {
	if g.o.Clock != nil {
		return g.window.AllowAt(key, g.o.Clock(ctx))
	}
	return g.window.Allow(key)
}

func (g *Guard[E]) tooMany(ctx context.Context, name string, d ratelimit.Decision) any {
	h := RateHeaders{Limit: int64(d.Limit), Remaining: int64(d.Remaining), Reset: ratelimit.ResetUnix(d.Reset)}
	return g.b.TooManyRequests(name, g.envelope(ctx, http.StatusTooManyRequests, "too many requests"), h)
}

// refuse counts a request refused by the bearer check against its client.
func (g *Guard[E]) refuse(ctx context.Context, r *http.Request, name, message string) any {
	d := g.allow(ctx, g.keys.get(clientPrefix, g.clientKey(r)).key)
	if g.o.Counted != nil {
		g.o.Counted(ctx, d)
	}
	if !d.Allowed {
		return g.tooMany(ctx, name, d)
	}
	return g.b.Unauthorized(name, g.envelope(ctx, http.StatusUnauthorized, message))
}

// Middleware is g as oapi-codegen strict-server middleware, for operations
// the generated glue leaves to oapi-codegen's strict handler. Operations b
// does not know pass through untouched.
func (g *Guard[E]) Middleware(next HandlerFunc, name string) HandlerFunc {
	bearer, known := g.b.Operation(name)
	if !known {
		return next
	}
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, request any) (any, error) {
		var id, secret string
		if !bearer {
			id, secret, _ = g.b.TokenCredentials(request)
		}
		ctx, refused := g.Admit(ctx, w, r, name, bearer, id, secret)
		if refused != nil {
			return refused, nil
		}
		return next(ctx, w, r, request)
	}
}

// Middleware enforces b's policy in the strict server (see Guard.Admit);
// operations b does not know pass through untouched. It panics when
// o.Verify is nil.
func Middleware[E any](b Binding[E], o Options[E]) func(next HandlerFunc, operationID string) HandlerFunc {
	return New(b, o).Middleware
}

// Answer writes a strict handler's result as oapi-codegen's strict server
// does: an error to fail; a response of type R through visit (its error to
// fail); any other non-nil response is an error.
func Answer[R any](w http.ResponseWriter, r *http.Request, response any, err error, visit func(R, http.ResponseWriter) error, fail func(http.ResponseWriter, *http.Request, error)) {
	if err != nil {
		fail(w, r, err)
	} else if valid, ok := response.(R); ok {
		if err := visit(valid, w); err != nil {
			fail(w, r, err)
		}
	} else if response != nil {
		fail(w, r, fmt.Errorf("unexpected response type: %T", response))
	}
}

// RequestError and ResponseError are oapi-codegen's default error handlers
// of a strict server: the error's text as plain text, 400 and 500.
func RequestError(w http.ResponseWriter, r *http.Request, err error) {
	http.Error(w, err.Error(), http.StatusBadRequest)
}

func ResponseError(w http.ResponseWriter, r *http.Request, err error) {
	http.Error(w, err.Error(), http.StatusInternalServerError)
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// parseBearer returns the token of an Authorization header of the form
// "Bearer <token>" (one space, a token without spaces); ok is false otherwise.
func parseBearer(header string) (token string, ok bool) {
	token, ok = strings.CutPrefix(header, "Bearer ")
	if !ok || token == "" {
		return "", false
	}
	// strings.ContainsAny(token, " \t\r\n") as four vectorized byte
	// searches: this runs on every sandbox request, and ContainsAny was a
	// seventh of a gold-rate request's instructions on a JWT-length token.
	for _, c := range []byte{' ', '\t', '\r', '\n'} {
		if strings.IndexByte(token, c) >= 0 {
			return "", false
		}
	}
	return token, true
}
