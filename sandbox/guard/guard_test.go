// These tests run the guard through gen/apiserver's binding to the real
// spec's strict server, so they check both the logic and its binding.
package guard_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milligold/milligold-go/gen/api"
	"github.com/milligold/milligold-go/gen/apiserver"
	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/internal/clock"
	"github.com/milligold/milligold-go/money"
	"github.com/milligold/milligold-go/ratelimit"
	"github.com/milligold/milligold-go/sandbox/guard"
	"github.com/milligold/milligold-go/tokens"
)

var t0 = time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)

const partnerSecret = "partner-secret-value"

// partnerAPI is a small StrictServerInterface: tokens are "good-<partner>",
// and each handler records the partner the middleware put in the context.
type partnerAPI struct {
	apiserver.Examples // operations the tests don't call
	mu                 sync.Mutex
	partners           []string
	tokens             atomic.Int64
}

var _ api.StrictServerInterface = (*partnerAPI)(nil)

func (s *partnerAPI) seen(ctx context.Context) {
	id, _ := guard.PartnerID(ctx)
	s.mu.Lock()
	s.partners = append(s.partners, id)
	s.mu.Unlock()
}

func (s *partnerAPI) CreateAccessToken(ctx context.Context, r api.CreateAccessTokenRequestObject) (api.CreateAccessTokenResponseObject, error) {
	if !credentials(ctx, r.Body.PartnerId, r.Body.PartnerSecret) {
		return api.CreateAccessToken401JSONResponse{UnauthorizedJSONResponse: api.UnauthorizedJSONResponse{Error: "wrong credentials"}}, nil
	}
	s.tokens.Add(1)
	return api.CreateAccessToken200JSONResponse{Success: true, Data: api.AccessToken{AccessToken: "good-" + r.Body.PartnerId, ExpiresIn: 3600, CreatedAt: t0.Unix()}}, nil
}

func (s *partnerAPI) GetGoldRate(ctx context.Context, _ api.GetGoldRateRequestObject) (api.GetGoldRateResponseObject, error) {
	s.seen(ctx)
	return api.GetGoldRate200JSONResponse{Success: true, Data: api.GoldRate{Rate: money.MustParse("1111"), UpdatedAt: t0}}, nil
}

func (s *partnerAPI) GetUserInfo(ctx context.Context, r api.GetUserInfoRequestObject) (api.GetUserInfoResponseObject, error) {
	s.seen(ctx)
	return api.GetUserInfo200JSONResponse{Success: true, Data: api.User{MobileNumber: r.MobileNumber}}, nil
}

func verify(_ context.Context, token string) (string, error) {
	if p, ok := strings.CutPrefix(token, "good-"); ok && p != "" {
		return p, nil
	}
	return "", errors.New("forged")
}

func credentials(_ context.Context, id, secret string) bool {
	return (id == "p1" || id == "p2") && secret == partnerSecret
}

func envelope(_ context.Context, status int, message string) api.ErrorResponse {
	return api.ErrorResponse{Error: message, ErrorCode: "code-" + strconv.Itoa(status)}
}

// mounts are the two ways the guard serves: the generated per-operation
// glue (NewStrictServer, as the sandbox serves) and oapi-codegen's strict
// handler with StrictMiddleware.
var mounts = []struct {
	name  string
	mount func(api.StrictServerInterface, apiserver.ServerOptions) api.ServerInterface
}{
	{"glue", func(impl api.StrictServerInterface, o apiserver.ServerOptions) api.ServerInterface {
		return apiserver.NewStrictServer(impl, nil, o, api.StrictHTTPServerOptions{})
	}},
	{"strict middleware", func(impl api.StrictServerInterface, o apiserver.ServerOptions) api.ServerInterface {
		return api.NewStrictHandler(impl, []api.StrictMiddlewareFunc{apiserver.StrictMiddleware(o)})
	}},
}

// server mounts the strict server with StrictMiddleware under /partner.
func server(t *testing.T, o apiserver.ServerOptions) (*httptest.Server, *partnerAPI) {
	return serverWith(t, mounts[1].mount, o)
}

// serverWith mounts the strict server under /partner with mount.
func serverWith(t *testing.T, mount func(api.StrictServerInterface, apiserver.ServerOptions) api.ServerInterface, o apiserver.ServerOptions) (*httptest.Server, *partnerAPI) {
	t.Helper()
	impl := &partnerAPI{}
	strict := mount(impl, o)
	ts := httptest.NewServer(api.HandlerWithOptions(strict, api.StdHTTPServerOptions{BaseURL: "/partner"}))
	t.Cleanup(ts.Close)
	return ts, impl
}

type call struct {
	op, auth, partnerID string // op: "rate" or "token"
	secret              string // of a token request; "" means partnerSecret
	wantStatus          int
	wantCode            string // errorCode of the envelope
	wantHeaders         map[string]string
	advance             time.Duration // clock moves before the call
	repeat              int           // send this call repeat times (default 1)
}

func do(t *testing.T, base string, c call) *http.Response {
	t.Helper()
	var req *http.Request
	switch c.op {
	case "rate":
		req, _ = http.NewRequest(http.MethodGet, base+"/partner/gold/rate", nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
	case "token":
		secret := c.secret
		if secret == "" {
			secret = partnerSecret
		}
		form := url.Values{"partnerId": {c.partnerID}, "partnerSecret": {secret}}
		req, _ = http.NewRequest(http.MethodPost, base+"/partner/auth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestStrictMiddleware(t *testing.T) {
	// The spec's numbers, so an edit of the policy keeps this test meaningful.
	n, window := middleware.RateLimit.Requests, middleware.RateLimit.Window
	if n < 2 {
		t.Fatalf("these cases need a limit of at least 2; the spec says %d", n)
	}
	reset := strconv.FormatInt(t0.Add(window).Unix(), 10)
	limit := strconv.Itoa(n)
	limited := map[string]string{"X-Rate-Limit-Limit": limit, "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": reset}
	noHeaders := map[string]string{"X-Rate-Limit-Limit": "", "X-Rate-Limit-Remaining": "", "X-Rate-Limit-Reset": ""}
	for _, c := range []struct {
		name     string
		everyRsp bool
		calls    []call
	}{
		{"missing, malformed and forged tokens get 401", false, []call{
			{op: "rate", wantStatus: 401, wantCode: "code-401"},
			{op: "rate", auth: "Bearer", wantStatus: 401, wantCode: "code-401"},
			{op: "rate", auth: "bearer good-p1", wantStatus: 401, wantCode: "code-401"},
			{op: "rate", auth: "Bearer  good-p1", wantStatus: 401, wantCode: "code-401"},
			{op: "rate", auth: "Bearer forged", wantStatus: 401, wantCode: "code-401"},
			{op: "rate", auth: "Bearer good-p1", wantStatus: 200, wantHeaders: noHeaders},
		}},
		{"the request after the limit in a window gets 429 with the headers", false, []call{
			{op: "rate", auth: "Bearer good-p1", wantStatus: 200, repeat: n},
			{op: "rate", auth: "Bearer good-p1", wantStatus: 429, wantCode: "code-429", wantHeaders: limited, advance: window - time.Second},
			{op: "rate", auth: "Bearer good-p2", wantStatus: 200},
			{op: "rate", auth: "Bearer good-p1", wantStatus: 200, advance: time.Second},
		}},
		{"401s count against the client address, not a partner", false, []call{
			{op: "rate", auth: "Bearer forged", wantStatus: 401, repeat: n},
			{op: "rate", wantStatus: 429, wantCode: "code-429", wantHeaders: limited},
			{op: "rate", auth: "Bearer forged", wantStatus: 429, wantCode: "code-429", wantHeaders: limited},
			{op: "rate", auth: "Bearer good-p1", wantStatus: 200, repeat: n},
			{op: "rate", auth: "Bearer good-p1", wantStatus: 429},
			{op: "rate", auth: "Bearer forged", wantStatus: 401, advance: window},
		}},
		{"a known partner's token requests count against its window", false, []call{
			{op: "token", partnerID: "p1", wantStatus: 200, repeat: n},
			{op: "rate", auth: "Bearer good-p1", wantStatus: 429, wantHeaders: limited},
			{op: "token", partnerID: "p1", wantStatus: 429, wantCode: "code-429", wantHeaders: limited},
			{op: "rate", auth: "Bearer good-p2", wantStatus: 200},
		}},
		{"unknown partners count against the client address", false, []call{
			{op: "token", partnerID: "nobody", wantStatus: 401, repeat: n / 2},
			{op: "token", partnerID: "someone", wantStatus: 401, repeat: n - n/2},
			{op: "token", partnerID: "nobody", wantStatus: 429, wantHeaders: limited},
			{op: "token", partnerID: "p2", wantStatus: 200},
		}},
		{"wrong secrets count against the client address, not the partner they name", false, []call{
			{op: "token", partnerID: "p1", secret: "wrong", wantStatus: 401, repeat: n},
			{op: "token", partnerID: "p1", secret: "wrong", wantStatus: 429, wantCode: "code-429", wantHeaders: limited},
			{op: "token", partnerID: "nobody", secret: "wrong", wantStatus: 429, wantCode: "code-429", wantHeaders: limited},
			{op: "token", partnerID: "p1", wantStatus: 200},
			{op: "rate", auth: "Bearer good-p1", wantStatus: 200},
		}},
		{"headers on every response, when asked", true, []call{
			{op: "rate", auth: "Bearer good-p1", wantStatus: 200, wantHeaders: map[string]string{"X-Rate-Limit-Limit": limit, "X-Rate-Limit-Remaining": strconv.Itoa(n - 1), "X-Rate-Limit-Reset": reset}},
			{op: "rate", auth: "Bearer good-p1", wantStatus: 200, wantHeaders: map[string]string{"X-Rate-Limit-Remaining": strconv.Itoa(n - 2)}},
		}},
	} {
		for _, m := range mounts {
			t.Run(m.name+"/"+c.name, func(t *testing.T) {
				clk := clock.NewFake(t0)
				ts, _ := serverWith(t, m.mount, apiserver.ServerOptions{
					Verify: verify, Credentials: credentials, Envelope: envelope, Now: clk.Now, HeadersOnEveryResponse: c.everyRsp,
				})
				for i, cl := range c.calls {
					clk.Advance(cl.advance)
					for n := range max(cl.repeat, 1) {
						resp := do(t, ts.URL, cl)
						body, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						if n < max(cl.repeat, 1)-1 {
							if resp.StatusCode != cl.wantStatus {
								t.Fatalf("call %d #%d: status %d; want %d: %s", i, n, resp.StatusCode, cl.wantStatus, body)
							}
							continue
						}
						if resp.StatusCode != cl.wantStatus {
							t.Errorf("call %d: %s %q: status %d; want %d: %s", i, cl.op, cl.auth, resp.StatusCode, cl.wantStatus, body)
						}
						if cl.wantCode != "" {
							var e api.ErrorResponse
							if err := json.Unmarshal(body, &e); err != nil || e.Success || e.Error == "" || e.ErrorCode != cl.wantCode {
								t.Errorf("call %d: envelope %s (%v); want success false, an error and errorCode %q", i, body, err, cl.wantCode)
							}
						}
						for k, v := range cl.wantHeaders {
							if got := resp.Header.Get(k); got != v {
								t.Errorf("call %d: %s = %q; want %q", i, k, got, v)
							}
						}
					}
				}
			})
		}
	}
}

func TestStrictMiddlewarePartnerInContext(t *testing.T) {
	for _, m := range mounts {
		ts, impl := serverWith(t, m.mount, apiserver.ServerOptions{Verify: verify})
		resp := do(t, ts.URL, call{op: "rate", auth: "Bearer good-p2"})
		resp.Body.Close()
		if len(impl.partners) != 1 || impl.partners[0] != "p2" {
			t.Errorf("%s: handler saw partners %q; want [p2]", m.name, impl.partners)
		}
	}
}

func TestStrictMiddlewareNeedsVerify(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("StrictMiddleware without Verify did not panic")
		}
	}()
	apiserver.StrictMiddleware(apiserver.ServerOptions{})
}

// client builds the client side from the generated glue: token fetcher,
// bearer transport over the rate-limit transport, one limiter.
func client(t *testing.T, base string, clk *clock.Fake, partnerID string) *api.ClientWithResponses {
	t.Helper()
	lim := middleware.NewLimiter(ratelimit.WithClock(clk.Now, clk.Sleep))
	rt := middleware.NewRateLimitTransport(nil, lim)
	rt.Now = clk.Now // round trips on the virtual clock, so the adaptive margin is deterministic
	paced := &http.Client{Transport: rt}
	tc, err := api.NewClientWithResponses(base+"/partner", api.WithHTTPClient(paced))
	if err != nil {
		t.Fatal(err)
	}
	src := tokens.NewSource(middleware.TokenFetcher(tc, partnerID, partnerSecret, readJSON), tokens.WithClock(clk.Now))
	hc := &http.Client{Transport: middleware.NewBearerTransport(paced.Transport, src)}
	c, err := api.NewClientWithResponses(base+"/partner", api.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestClientMeetsServer runs both generated sides, bound to the same
// RateLimit, over loopback on one virtual clock: the client fetches one
// token, paces three and a half windows' worth of calls plus that token
// request, and never sees a 429.
func TestClientMeetsServer(t *testing.T) {
	clk := clock.NewAuto(t0)
	ts, impl := server(t, apiserver.ServerOptions{Verify: verify, Credentials: credentials, Now: clk.Now})
	c := client(t, ts.URL, clk, "p1")
	n := middleware.RateLimit.Requests
	calls := 3*n + n/2 // with the token request, more than 3n and at most 4n requests
	for i := range calls {
		resp, err := c.GetGoldRateWithResponse(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode() != http.StatusOK {
			t.Fatalf("call %d: status %d; want 200: %s", i, resp.StatusCode(), resp.Body)
		}
	}
	if n := impl.tokens.Load(); n != 1 {
		t.Errorf("%d token requests; want 1", n)
	}
	// At n per window+margin, the last request goes out in the fourth window.
	// Round trips take no virtual time, so after the first the margin is
	// the adaptive limiter's floor.
	if got, want := clk.Now().Sub(t0), 3*(middleware.RateLimit.Window+ratelimit.MinMargin); got != want {
		t.Errorf("36 requests took %v of virtual time; want %v", got, want)
	}
}

func TestTokenFetcher(t *testing.T) {
	clk := clock.NewFake(t0)
	ts, _ := server(t, apiserver.ServerOptions{Verify: verify, Credentials: credentials, Now: clk.Now})
	tc, _ := api.NewClientWithResponses(ts.URL + "/partner")

	g, err := middleware.TokenFetcher(tc, "p1", partnerSecret, readJSON)(context.Background())
	if err != nil || g.Value != "good-p1" || g.ExpiresIn != time.Hour {
		t.Errorf("TokenFetcher = %v, %v; want good-p1 for 1h", g, err)
	}

	_, err = middleware.TokenFetcher(tc, "p1", "wrong-"+partnerSecret, readJSON)(context.Background())
	var se *statusError
	if !errors.As(err, &se) || se.status != http.StatusUnauthorized {
		t.Errorf("wrong secret: %v; want read's *statusError with 401", err)
	}
	if err != nil && strings.Contains(err.Error(), partnerSecret) {
		t.Errorf("error %q leaks the secret", err)
	}
}

// readJSON is the least a TokenFetcher's read can be: a non-200 answer is
// a *statusError, a 200 is decoded. (The client's reader also holds
// the answer to its media type and required fields.)
func readJSON(resp *http.Response, dst any) error {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &statusError{resp.StatusCode}
	}
	return json.Unmarshal(body, dst)
}

type statusError struct{ status int }

func (e *statusError) Error() string { return "token request answered " + http.StatusText(e.status) }

// TestClockIsTheRequests: with Options.Clock, the window counts at the
// request's reading and never reads Options.Now.
func TestClockIsTheRequests(t *testing.T) {
	for _, m := range mounts {
		t.Run(m.name, func(t *testing.T) {
			fake := clock.NewFake(t0)
			var reads atomic.Int64
			ts, _ := serverWith(t, m.mount, apiserver.ServerOptions{
				Verify: verify,
				Now:    func() time.Time { reads.Add(1); return t0 },
				Clock:  func(context.Context) time.Time { return fake.Now() },
			})
			limit := middleware.RateLimit.Requests
			for i := range limit {
				if resp := do(t, ts.URL, call{op: "rate", auth: "Bearer good-p1"}); resp.StatusCode != http.StatusOK {
					t.Fatalf("request %d = %d; want 200", i+1, resp.StatusCode)
				}
			}
			if resp := do(t, ts.URL, call{op: "rate", auth: "Bearer good-p1"}); resp.StatusCode != http.StatusTooManyRequests {
				t.Fatalf("request over the limit = %d; want 429", resp.StatusCode)
			}
			fake.Advance(middleware.RateLimit.Window)
			if resp := do(t, ts.URL, call{op: "rate", auth: "Bearer good-p1"}); resp.StatusCode != http.StatusOK {
				t.Errorf("after the window on the request's clock = %d; want 200", resp.StatusCode)
			}
			if n := reads.Load(); n != 0 {
				t.Errorf("Options.Now read %d times; want 0", n)
			}
		})
	}
}
