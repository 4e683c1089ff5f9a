package tokens

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
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
	first := withBearer(req, tok)
	resp, err := base.RoundTrip(first)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !replayable {
		return resp, err
	}
	fresh, err := t.Source.Renew(ctx, tok)
	if err != nil {
		// The 401 is the more useful answer; the renewal error would hide it.
		return resp, nil
	}
	second := withBearer(req, fresh)
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

func withBearer(req *http.Request, t Token) *http.Request {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+t.Value)
	return r
}

func closeBody(r *http.Request) {
	if r.Body != nil {
		r.Body.Close()
	}
}

// Route is an operation's method and path template ("/user/info/{id}").
type Route struct {
	Method string
	Path   string
}

// Match reports whether r has the route's method and a path that ends with
// the template's segments, a {param} matching any one non-empty segment; so
// the server's base path (/partner) is ignored.
func (rt Route) Match(r *http.Request) bool {
	if r.Method != rt.Method || r.URL == nil {
		return false
	}
	want := strings.Split(strings.Trim(rt.Path, "/"), "/")
	got := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	if len(got) < len(want) {
		return false
	}
	got = got[len(got)-len(want):]
	for i, w := range want {
		if strings.HasPrefix(w, "{") && strings.HasSuffix(w, "}") {
			if got[i] == "" {
				return false
			}
			continue
		}
		if got[i] != w {
			return false
		}
	}
	return true
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
