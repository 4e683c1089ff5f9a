package tokens

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
)

// TokenSource is what Transport needs from a Source.
type TokenSource interface {
	Get(ctx context.Context) (Token, error)
	Renew(ctx context.Context, stale Token) (Token, error)
}

// Transport is an http.RoundTripper that sets "Authorization: Bearer <token>"
// on the requests NeedsToken accepts. When the server answers 401 it renews
// the token once and retries once (when the body can be replayed); a second
// 401 is returned as is. It never modifies the caller's request and closes
// request bodies on every path. Safe for concurrent use.
//
// With Scope set, a request that needs a token but is not for Scope's
// origin and path fails with ErrOutOfScope without being sent, so an
// http.Client that follows a redirect elsewhere cannot carry the token there.
type Transport struct {
	Base       http.RoundTripper // nil means http.DefaultTransport
	Source     TokenSource
	NeedsToken func(*http.Request) bool // nil means every request
	// Scope is the API's base URL: the token goes only to its scheme, host
	// and port, and to paths at or below its path. nil means anywhere.
	Scope *url.URL

	auth atomic.Pointer[bearerHeader] // the last token's header value
}

// ErrOutOfScope is the error of a request outside Transport.Scope.
var ErrOutOfScope = errors.New("tokens: request outside the API's base URL; the token is not sent")

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if t.NeedsToken != nil && !t.NeedsToken(req) {
		return base.RoundTrip(req)
	}
	if t.Scope != nil && !inScope(t.Scope, req.URL) {
		closeBody(req)
		return nil, ErrOutOfScope
	}
	ctx := req.Context()
	tok, err := t.Source.Get(ctx)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	// Check replayability now: the first attempt consumes the body.
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	first := withBearer(req, t.authorization(tok))
	resp, err := base.RoundTrip(first)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !replayable {
		return resp, err
	}
	fresh, err := t.Source.Renew(ctx, tok)
	if err != nil {
		// The 401 is the more useful answer; the renewal error would hide it.
		return resp, nil
	}
	second := withBearer(req, t.authorization(fresh))
	if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		body, err := req.GetBody()
		if err != nil {
			return resp, nil
		}
		second.Body = body
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	return base.RoundTrip(second)
}

// authorization is the Authorization header's value for tok, made once per
// token rather than once per request.
func (t *Transport) authorization(tok Token) []string {
	if a := t.auth.Load(); a != nil && a.token == tok.Value {
		return a.header
	}
	a := &bearerHeader{token: tok.Value, header: []string{"Bearer " + tok.Value}}
	t.auth.Store(a)
	return a.header
}

// bearerHeader is a token and its Authorization header value. The slice is
// shared by the requests that carry it: net/http only reads it, and a
// Header.Set or Add elsewhere replaces or grows it rather than writing it.
type bearerHeader struct {
	token  string
	header []string
}

// withBearer is req with Authorization set: a shallow copy with its own
// header map, as a RoundTripper may not modify the caller's request. The
// rest (URL, body) is shared, and nothing below writes it; a replay of the
// request (ratelimit's) clones it in full.
func withBearer(req *http.Request, auth []string) *http.Request {
	r := req.WithContext(req.Context())
	h := make(http.Header, len(req.Header)+1)
	for k, v := range req.Header {
		h[k] = v
	}
	h["Authorization"] = auth
	r.Header = h
	return r
}

func closeBody(r *http.Request) {
	if r.Body != nil {
		r.Body.Close()
	}
}

// inScope reports whether u is at or below base: the same origin (scheme,
// host and port, a missing port being the scheme's default) and a path equal
// to base's or under it, with no "." or ".." segment that could climb out.
func inScope(base, u *url.URL) bool {
	if u == nil || !SameOrigin(base, u) {
		return false
	}
	p := u.EscapedPath()
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "." || seg == ".." || strings.EqualFold(seg, "%2e") || strings.EqualFold(seg, "%2e%2e") ||
			strings.EqualFold(seg, ".%2e") || strings.EqualFold(seg, "%2e.") {
			return false
		}
	}
	root := strings.TrimSuffix(base.EscapedPath(), "/")
	return root == "" || p == root || strings.HasPrefix(p, root+"/")
}

// SameOrigin reports whether a and b have the same scheme, host and port
// (a port left out is the scheme's default).
func SameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		port(a) == port(b)
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}
