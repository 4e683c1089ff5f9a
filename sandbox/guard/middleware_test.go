package guard

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/milligold/milligold-go/internal/clock"
	"github.com/milligold/milligold-go/ratelimit"
)

// These tests hold the guard to its contract with a hand-made binding and no
// generated code: envelopes are strings, answers are records of what the
// guard asked for.

type answer struct {
	status int
	name   string
	body   string
	h      RateHeaders
}

type tokenReq struct{ id, secret string }

var testBinding = Binding[string]{
	Policy: ratelimit.Policy{Requests: 2, Window: 10 * time.Second},
	Operation: func(name string) (bearer, known bool) {
		switch name {
		case "Secured":
			return true, true
		case "Token":
			return false, true
		}
		return false, false
	},
	TokenCredentials: func(request any) (string, string, bool) {
		r, ok := request.(tokenReq)
		return r.id, r.secret, ok && r.id != "" && r.secret != ""
	},
	Envelope:        func(message string) string { return "default: " + message },
	Unauthorized:    func(name, e string) any { return answer{status: 401, name: name, body: e} },
	TooManyRequests: func(name, e string, h RateHeaders) any { return answer{status: 429, name: name, body: e, h: h} },
}

func ok(_ context.Context, _ http.ResponseWriter, _ *http.Request, _ any) (any, error) {
	return answer{status: 200}, nil
}

func verifyTest(_ context.Context, token string) (string, error) {
	if token == "good" {
		return "p1", nil
	}
	return "", errors.New("forged")
}

func serve(t *testing.T, h HandlerFunc, auth, remote string, request any) answer {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/x", nil)
	r.RemoteAddr = remote
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	got, err := h(context.Background(), httptest.NewRecorder(), r, request)
	if err != nil {
		t.Fatal(err)
	}
	return got.(answer)
}

func TestMiddlewareUnknownOperationPassesThrough(t *testing.T) {
	mw := Middleware(testBinding, Options[string]{Verify: verifyTest})
	for range 5 { // more than the limit: an unknown operation is not counted
		if got := serve(t, mw(ok, "Other"), "", "192.0.2.1:1", nil); got.status != 200 {
			t.Fatalf("unknown operation answered %+v; want the handler's 200", got)
		}
	}
}

// With no Envelope option the binding's default builds the body; the 429's
// headers are the window's numbers, the reset rounded up to a whole second;
// callers without a partner are keyed by host, not host and port.
func TestMiddlewareDefaultsAndHeaders(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 6, 0, 0, 500_000_000, time.UTC) // half a second in
	clk := clock.NewFake(t0)
	mw := Middleware(testBinding, Options[string]{Verify: verifyTest, Now: clk.Now})
	h := mw(ok, "Secured")
	if got := serve(t, h, "Bearer forged", "192.0.2.1:1000", nil); got.status != 401 || got.name != "Secured" || got.body != "default: invalid or expired access token" {
		t.Errorf("forged token: %+v", got)
	}
	if got := serve(t, h, "", "192.0.2.1:2000", nil); got.status != 401 || got.body != "default: missing or malformed bearer token" {
		t.Errorf("no token: %+v", got)
	}
	got := serve(t, h, "", "192.0.2.1:3000", nil) // third from the same host, other ports
	want := RateHeaders{Limit: 2, Remaining: 0, Reset: t0.Add(10*time.Second).Unix() + 1}
	if got.status != 429 || got.body != "default: too many requests" || got.h != want {
		t.Errorf("over the limit: %+v; want 429 with %+v", got, want)
	}
	if got := serve(t, h, "Bearer good", "192.0.2.1:4000", nil); got.status != 200 {
		t.Errorf("a partner's first request after its client address is limited: %+v; want 200", got)
	}
}

// A token request with right credentials counts against the partner, with
// wrong ones against the client, and without Credentials never the partner.
func TestMiddlewareTokenRequests(t *testing.T) {
	right := func(_ context.Context, id, secret string) bool { return id == "p1" && secret == "s" }
	for _, c := range []struct {
		name        string
		credentials func(context.Context, string, string) bool
		req         tokenReq
		partnerHits int // partner p1's requests counted after two token requests
	}{
		{"right", right, tokenReq{"p1", "s"}, 2},
		{"wrong secret", right, tokenReq{"p1", "x"}, 0},
		{"no Credentials option", nil, tokenReq{"p1", "s"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			mw := Middleware(testBinding, Options[string]{Verify: verifyTest, Credentials: c.credentials, Now: clock.NewFake(time.Unix(0, 0)).Now})
			tok, sec := mw(ok, "Token"), mw(ok, "Secured")
			for range 2 {
				serve(t, tok, "", "192.0.2.9:1", c.req)
			}
			// The partner's window has 2 - partnerHits requests left.
			for i := range 2 - c.partnerHits {
				if got := serve(t, sec, "Bearer good", "192.0.2.9:1", nil); got.status != 200 {
					t.Fatalf("partner request %d: %+v; want 200", i, got)
				}
			}
			if got := serve(t, sec, "Bearer good", "192.0.2.9:1", nil); got.status != 429 {
				t.Errorf("partner request over its window: %+v; want 429", got)
			}
		})
	}
}

func TestRemoteHost(t *testing.T) {
	for addr, want := range map[string]string{"192.0.2.1:80": "192.0.2.1", "[2001:db8::1]:443": "2001:db8::1", "pipe": "pipe"} {
		if got := remoteHost(&http.Request{RemoteAddr: addr}); got != want {
			t.Errorf("remoteHost(%q) = %q; want %q", addr, got, want)
		}
	}
}

// FuzzMiddleware: whatever Authorization header, client address and token
// request arrive, the guard answers the handler's 200 only for the good
// token or right credentials, else 401 or 429, and never panics.
func FuzzMiddleware(f *testing.F) {
	for _, s := range []string{"Bearer good", "Bearer  good", "Bearer", "", "bearer good", "Bearer good\x00", "Bearer g\u00f6od"} {
		f.Add(s, "192.0.2.1:1", "p1", "s", true)
	}
	f.Add("Basic x", "[::1", "", "", false)
	f.Fuzz(func(t *testing.T, auth, remote, id, secret string, secured bool) {
		mw := Middleware(testBinding, Options[string]{
			Verify:      verifyTest,
			Credentials: func(_ context.Context, id, secret string) bool { return id == "p1" && secret == "s" },
			Now:         clock.NewFake(time.Unix(0, 0)).Now,
		})
		name := "Token"
		if secured {
			name = "Secured"
		}
		r := httptest.NewRequest(http.MethodGet, "/x", nil)
		r.RemoteAddr = remote
		r.Header["Authorization"] = []string{auth}
		got, err := mw(ok, name)(context.Background(), httptest.NewRecorder(), r, tokenReq{id, secret})
		if err != nil {
			t.Fatal(err)
		}
		a := got.(answer)
		switch {
		case a.status == 200 && secured && auth != "Bearer good":
			t.Fatalf("Authorization %q passed the bearer check", auth)
		case a.status == 401 && !secured:
			t.Fatalf("the token operation got the guard's 401")
		case a.status != 200 && a.status != 401 && a.status != 429:
			t.Fatalf("status %d", a.status)
		}
	})
}
