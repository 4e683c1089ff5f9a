package milligold

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milligold/milligold-go/conformance"
	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/internal/clock"
	"github.com/milligold/milligold-go/internal/hostile"
	"github.com/milligold/milligold-go/internal/leak"
	"github.com/milligold/milligold-go/money"
	"github.com/milligold/milligold-go/ratelimit"
	"github.com/milligold/milligold-go/tokens"
)

// newTestClient builds a Client for baseURL (the fake API, mostly) with the
// test credentials. Its traffic goes through the validating transport of
// package conformance: every request the client sends and every answer it
// reads is checked against openapi.yaml, and the test fails at its end with
// each violation. (An opts' own WithHTTPClient replaces the validating one.)
func newTestClient(t *testing.T, baseURL string, opts ...Option) *Client {
	t.Helper()
	return testClient(t, baseURL, "", opts...)
}

// testClient is newTestClient for a test whose fake answers may break the
// spec on purpose: offSpec, when not empty, says why, and then only what the
// client sends is validated.
func testClient(t *testing.T, baseURL, offSpec string, opts ...Option) *Client {
	t.Helper()
	var tr *conformance.Transport
	if offSpec == "" {
		tr = conformance.NewTestTransport(t, baseURL, nil)
	} else {
		var err error
		if tr, err = conformance.NewTransport(baseURL, nil); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			for _, v := range tr.Violations() {
				if v.Side == conformance.SideRequest {
					t.Errorf("openapi.yaml violation: %s", v)
				}
			}
		})
	}
	base := []Option{WithBaseURL(baseURL), WithCredentials(fakePartnerID, testSecret), WithMaxRetries(0), WithHTTPClient(&http.Client{Transport: tr})}
	c, err := New(append(base, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func ptr(s string) *string { return &s }

func TestClientDocumentExamples(t *testing.T) {
	f := newFakeAPI(t)
	c := newTestClient(t, f.URL, WithUserAgent("partner-app/1.0"))
	ctx := context.Background()

	rate, err := c.GoldRate(ctx)
	if err != nil {
		t.Fatalf("GoldRate: %v", err)
	}
	wantRate := GoldRate{Rate: money.MustParse("1111"), CGSTRate: money.MustParse("0.015"), SGSTRate: money.MustParse("0.015"), UpdatedAt: time.Date(2023, 1, 5, 9, 17, 3, 459e6, time.UTC)}
	if !rate.UpdatedAt.Equal(wantRate.UpdatedAt) || !rate.Rate.Equal(wantRate.Rate.Decimal) || !rate.CGSTRate.Equal(wantRate.CGSTRate.Decimal) || !rate.SGSTRate.Equal(wantRate.SGSTRate.Decimal) {
		t.Errorf("GoldRate() = %+v; want %+v", rate, wantRate)
	}

	user, err := c.UserInfo(ctx, "1234567890")
	if err != nil {
		t.Fatalf("UserInfo: %v", err)
	}
	wantUser := User{ID: "cljwvd2x20001mm0gg0a9z5px", Name: "Test User", Email: "test@example.com", CountryCode: "91",
		MobileNumber: "1234567890", Gender: GenderMale, UPIID: "milligold.911234567890@icici"}
	if fmt.Sprint(user) != fmt.Sprint(wantUser) || user.Birthday != nil || user.Address != nil || user.Pincode != nil {
		t.Errorf("UserInfo() = %+v; want %+v", user, wantUser)
	}

	if n := f.Count(hostile.TokenPath); n != 1 {
		t.Errorf("token requests = %d; want 1 for both calls", n)
	}
	for _, r := range f.Requests() {
		if ua := r.Header.Get("User-Agent"); ua != "partner-app/1.0" {
			t.Errorf("%s %s: User-Agent = %q; want partner-app/1.0", r.Method, r.Path, ua)
		}
		if !strings.HasPrefix(r.Path, "/partner/") {
			t.Errorf("request to %s; want it under /partner", r.Path)
		}
	}
}

// TestForwardCompatibility: the API may add fields and enum values and send
// nulls or leave optional fields out; none of that breaks decoding.
func TestForwardCompatibility(t *testing.T) {
	tests := []struct {
		name string
		body string
		want User
		// offSpec says why the answer breaks openapi.yaml on purpose; such a
		// row validates the client's requests only.
		offSpec string
	}{
		{"unknown fields", `{"success":true,"data":{"id":"u1","name":"A","email":"a@x","countryCode":"91","mobileNumber":"1234567890","gender":"MALE","upiId":"u@icici","goldBalance":1.5,"kycStatus":"VERIFIED","wallet":{"inr":10}},"meta":{"v":2}}`,
			User{ID: "u1", Name: "A", Email: "a@x", CountryCode: "91", MobileNumber: "1234567890", Gender: GenderMale, UPIID: "u@icici", GoldBalance: money.MustParse("1.5")},
			""}, // extra fields: the spec's open schemas allow them
		{"new gender kept", `{"success":true,"data":{` + required("u2") + `,"gender":"NON_BINARY","goldBalance":0}}`,
			sparse("u2", "NON_BINARY", "0"), ""},
		{"nullable fields present", `{"success":true,"data":{` + required("u3") + `,"gender":"FEMALE","birthday":"1990-01-01","address":"1 MG Road","pincode":"560001","goldBalance":0.0001}}`,
			func() User {
				u := sparse("u3", "FEMALE", "0.0001")
				u.Birthday, u.Address, u.Pincode = ptr("1990-01-01"), ptr("1 MG Road"), ptr("560001")
				return u
			}(), ""},
		{"optional fields absent", `{"success":true,"data":{` + required("u4") + `,"gender":"MALE","goldBalance":2}}`,
			sparse("u4", GenderMale, "2"), ""},
		{"content type with charset", `{"success":true,"data":{` + required("u5") + `,"gender":"MALE","goldBalance":0}}`, sparse("u5", GenderMale, "0"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.Handle(hostile.UserPath, hostile.Answer(200, "application/json; charset=utf-8", tt.body))
			got, err := testClient(t, f.URL, tt.offSpec).UserInfo(context.Background(), "1234567890")
			if err != nil {
				t.Fatalf("UserInfo: %v", err)
			}
			if show(got) != show(tt.want) {
				t.Errorf("UserInfo() = %s; want %s", show(got), show(tt.want))
			}
		})
	}
}

// required is the fields of a User the spec requires, but gender and
// goldBalance, for a user with this id.
func required(id string) string {
	return `"id":"` + id + `","name":"A","email":"a@x","countryCode":"91","mobileNumber":"1234567890","upiId":"u@icici"`
}

// sparse is the User that required(id) and these make.
func sparse(id string, g Gender, balance string) User {
	return User{ID: id, Name: "A", Email: "a@x", CountryCode: "91", MobileNumber: "1234567890", UPIID: "u@icici", Gender: g, GoldBalance: money.MustParse(balance)}
}

// show prints a User with its pointers followed.
func show(u User) string {
	b, a, p := deref(u.Birthday), deref(u.Address), deref(u.Pincode)
	u.Birthday, u.Address, u.Pincode = nil, nil, nil
	return fmt.Sprintf("%+v birthday=%s address=%s pincode=%s", u, b, a, p)
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func TestClientErrors(t *testing.T) {
	reset := time.Now().Add(9 * time.Second).Unix()
	tests := []struct {
		name      string
		token     []http.HandlerFunc // the token endpoint's answers, in turn; nil means the fake's own
		rate      []http.HandlerFunc
		wantIs    error
		wantOp    string
		wantCode  int // 0: not an APIError
		wantInErr string
		// offSpec says why the fake's answer breaks openapi.yaml on
		// purpose; such a row validates the client's requests only.
		offSpec string
	}{
		{name: "wrong credentials", token: []http.HandlerFunc{hostile.JSON(401, `{"success":false,"error":"Invalid partner credentials","errorCode":"c1"}`)},
			wantIs: ErrUnauthorized, wantOp: "createAccessToken", wantCode: 401, wantInErr: "createAccessToken: 401 Unauthorized: Invalid partner credentials"},
		{name: "token rate limited", token: []http.HandlerFunc{hostile.WithHeaders(hostile.JSON(429, `{"success":false,"error":"Too many","errorCode":"r"}`), map[string]string{"X-Rate-Limit-Limit": "10", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": itoa(reset)})},
			wantIs: ErrRateLimited, wantOp: "createAccessToken", wantCode: 429, wantInErr: "rate limited; retry after"},
		{name: "rate limited", rate: []http.HandlerFunc{hostile.WithHeaders(hostile.JSON(429, `{"success":false,"error":"Too many","errorCode":"r"}`), map[string]string{"X-Rate-Limit-Reset": itoa(reset)})},
			wantIs: ErrRateLimited, wantOp: "getGoldRate", wantCode: 429, wantInErr: "getGoldRate: rate limited; retry after",
			offSpec: "a 429 with only the reset header: the spec requires all three"},
		{name: "500", rate: []http.HandlerFunc{hostile.JSON(500, `{"success":false,"error":"Internal error","errorCode":"boom"}`)},
			wantOp: "getGoldRate", wantCode: 500, wantInErr: "500 Internal Server Error: Internal error (errorCode boom)"},
		{name: "new status 451", rate: []http.HandlerFunc{hostile.JSON(451, `{"success":false,"error":"Unavailable here","errorCode":"l"}`)},
			wantOp: "getGoldRate", wantCode: 451, wantInErr: "451 Unavailable For Legal Reasons",
			offSpec: "a status the spec does not document"},
		{name: "502 from a proxy", rate: []http.HandlerFunc{hostile.Answer(502, "text/html", `<html>Bad Gateway</html>`)},
			wantOp: "getGoldRate", wantCode: 502, wantInErr: `502 Bad Gateway: "<html>Bad Gateway</html>"`,
			offSpec: "a proxy's undocumented status with an HTML body"},
		{name: "200 not JSON", rate: []http.HandlerFunc{hostile.Answer(200, "text/plain", `1111`)},
			wantIs: ErrUnexpectedResponse, wantInErr: `getGoldRate: unexpected answer (200 OK): content type "text/plain"; want application/json`,
			offSpec: "a 200 that is not JSON"},
		{name: "200 cut JSON", rate: []http.HandlerFunc{hostile.JSON(200, `{"success":true,"data":{"rate":11`)},
			wantIs: ErrUnexpectedResponse, wantInErr: "getGoldRate: unexpected answer (200 OK): body is not JSON",
			offSpec: "a 200 whose JSON is cut"},
		{name: "token answer without token", token: []http.HandlerFunc{hostile.JSON(200, `{"success":true,"data":{"expiresIn":3600}}`)},
			wantIs: ErrUnexpectedResponse, wantInErr: `createAccessToken: unexpected answer (200 OK): data has no "accessToken", "createdAt"`,
			offSpec: "a token answer without the required accessToken and createdAt"},
		{name: "token answer with an empty token", token: []http.HandlerFunc{hostile.JSON(200, `{"success":true,"data":{"accessToken":"","expiresIn":3600,"createdAt":1}}`)},
			wantIs: tokens.ErrBadGrant, wantInErr: "createAccessToken: unexpected answer (200 OK): empty access token"},
		{name: "401 twice", rate: []http.HandlerFunc{hostile.JSON(401, `{"success":false,"error":"Token expired","errorCode":"x"}`)},
			wantIs: ErrUnauthorized, wantOp: "getGoldRate", wantCode: 401, wantInErr: "getGoldRate: 401 Unauthorized: Token expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			if tt.token != nil {
				f.Handle(hostile.TokenPath, hostile.Sequence(tt.token...))
			}
			if tt.rate != nil {
				f.Handle(hostile.RatePath, hostile.Sequence(tt.rate...))
			}
			_, err := testClient(t, f.URL, tt.offSpec).GoldRate(context.Background())
			if err == nil {
				t.Fatal("GoldRate() = nil error; want one")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%q, %v) = false; want true", err, tt.wantIs)
			}
			var apiErr *APIError
			if got := errors.As(err, &apiErr); got != (tt.wantCode != 0) {
				t.Fatalf("errors.As(%q, *APIError) = %t; want %t", err, got, tt.wantCode != 0)
			}
			if apiErr != nil && (apiErr.StatusCode != tt.wantCode || apiErr.Operation != tt.wantOp) {
				t.Errorf("APIError status, operation = %d, %q; want %d, %q", apiErr.StatusCode, apiErr.Operation, tt.wantCode, tt.wantOp)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("GoldRate() error = %q; want it to contain %q", err, tt.wantInErr)
			}
			leak.Check(t, "the error", leak.Formats(err), testSecret, fakeToken)
		})
	}
}

func TestUserInfoNotFound(t *testing.T) {
	f := newFakeAPI(t)
	_, err := newTestClient(t, f.URL).UserInfo(context.Background(), "9999999999")
	var apiErr *APIError
	if !errors.Is(err, ErrNotFound) || !errors.As(err, &apiErr) {
		t.Fatalf("UserInfo(9999999999) = %v; want ErrNotFound and an *APIError", err)
	}
	if apiErr.ErrorCode != "3d1c75d0-37ee-4530-b281-4ab9c597f2bb" || apiErr.Message != "The requested resource was not found" {
		t.Errorf("APIError = %+v; want the document's errorCode and message", apiErr)
	}
}

// TestRetriesAfter429: with retries on, a 429 whose reset has passed is
// retried and the call succeeds; the retry goes to the same path.
func TestRetriesAfter429(t *testing.T) {
	f := newFakeAPI(t)
	f.Handle(hostile.RatePath, hostile.Sequence(tooMany(10, time.Now().Add(-time.Second).Unix()), hostile.JSON(200, hostile.RateAnswer)))
	c := newTestClient(t, f.URL, WithMaxRetries(1))
	if _, err := c.GoldRate(context.Background()); err != nil {
		t.Fatalf("GoldRate after one 429: %v", err)
	}
	if rateCalls := f.Count(hostile.RatePath); rateCalls != 2 {
		t.Errorf("gold rate requests = %d; want 2 (the 429 and its retry)", rateCalls)
	}
}

// TestTokenRequestRetriedAfter429: the token request, a POST, is retried
// after a 429 too: it creates nothing lasting.
func TestTokenRequestRetriedAfter429(t *testing.T) {
	f := newFakeAPI(t)
	f.Handle(hostile.TokenPath, hostile.Sequence(tooMany(middleware.RateLimit.Requests, time.Now().Add(-time.Second).Unix()), issue()))
	if _, err := newTestClient(t, f.URL, WithMaxRetries(1)).GoldRate(context.Background()); err != nil {
		t.Fatalf("GoldRate after a 429 on the token request: %v", err)
	}
	if n := f.Count(hostile.TokenPath); n != 2 {
		t.Errorf("token requests = %d; want 2 (the 429 and its retry)", n)
	}
}

func TestNetworkError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	_, err = newTestClient(t, "http://"+addr+"/partner").GoldRate(context.Background())
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Fatalf("GoldRate() against a closed port = %v; want a *net.OpError inside", err)
	}
	if !strings.HasPrefix(err.Error(), "milligold: getGoldRate: ") {
		t.Errorf("error = %q; want it to start with the operation", err)
	}
}

func TestContextCanceled(t *testing.T) {
	f := newFakeAPI(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newTestClient(t, f.URL).UserInfo(ctx, "1234567890")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("UserInfo(canceled ctx) = %v; want context.Canceled", err)
	}
}

// TestConcurrentCallsShareOneToken: many goroutines, one token request.
func TestConcurrentCallsShareOneToken(t *testing.T) {
	f := newFakeAPI(t)
	c := newTestClient(t, f.URL)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := c.GoldRate(context.Background())
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("GoldRate: %v", err)
		}
	}
	if n := f.Count(hostile.TokenPath); n != 1 {
		t.Errorf("token requests = %d; want 1 for 8 concurrent calls", n)
	}
}

func TestTokenIsCached(t *testing.T) {
	f := newFakeAPI(t)
	c := newTestClient(t, f.URL)
	t1, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t2, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if t1.AccessToken != fakeToken || t2.AccessToken != fakeToken {
		t.Error("Token() did not return the API's access token")
	}
	if n := f.Count(hostile.TokenPath); n != 1 {
		t.Errorf("token requests = %d; want 1", n)
	}
	if in := t1.ExpiresIn(time.Now()); in <= 59*time.Minute || in > time.Hour {
		t.Errorf("ExpiresIn = %v; want just under the API's 1h", in)
	}
}

func TestLoggerRecordsEveryAttempt(t *testing.T) {
	f := newFakeAPI(t)
	f.Handle(hostile.RatePath, hostile.Sequence(tooMany(middleware.RateLimit.Requests, 0), hostile.JSON(200, hostile.RateAnswer)))
	log := leak.NewLog()
	c := newTestClient(t, f.URL, WithLogger(log.Logger()), WithMaxRetries(1))
	if _, err := c.GoldRate(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := log.String()
	for _, want := range []string{"operation=createAccessToken", "operation=getGoldRate", "milligold rate limited", "status=200"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	leak.Check(t, "the log", out, testSecret, fakeToken)
}

// TestLoggerKeepsMobileNumbersOut: the path holds a user's mobile number;
// the log names the operation instead.
func TestLoggerKeepsMobileNumbersOut(t *testing.T) {
	f := newFakeAPI(t)
	log := leak.NewLog()
	if _, err := newTestClient(t, f.URL, WithLogger(log.Logger())).UserInfo(context.Background(), "1234567890"); err != nil {
		t.Fatal(err)
	}
	if out := log.String(); strings.Contains(out, "1234567890") || !strings.Contains(out, "operation=getUserInfo") {
		t.Errorf("log = %q; want operation=getUserInfo and no mobile number", out)
	}
}

// FuzzUserInfoAnswers: whatever the API answers (but a 429, which parks the
// limiter for a window), UserInfo returns a User or an error, never panics,
// succeeds only on a 200, maps every non-2xx to an *APIError with its status,
// and never puts the secret or the token in an error.
func FuzzUserInfoAnswers(f *testing.F) {
	f.Add(200, "application/json", hostile.UserAnswer)
	f.Add(200, "application/json", `{"success":true,"data":{"id":"u","gender":"NEW","goldBalance":1e308,"x":[1,{}]}}`)
	f.Add(200, "application/json", `{"success":true,"data":{"birthday":7}}`)
	f.Add(200, "text/html", `<html>`)
	f.Add(201, "application/json", hostile.UserAnswer)
	f.Add(404, "application/json", hostile.NotFoundAnswer)
	f.Add(400, "application/json", `{"success":false,"error":"bad `+testSecret+`","errorCode":"`+fakeToken+`"}`)
	f.Add(503, "", ``)
	fake := newFakeAPI(f)
	// Not through the validating transport: the fuzzer's answers break the
	// spec at will (any status, content type and body).
	lim := ratelimit.NewSlidingLog(ratelimit.Policy{Requests: 1 << 20, Window: time.Nanosecond})
	c, err := New(WithBaseURL(fake.URL), WithCredentials(fakePartnerID, testSecret), WithMaxRetries(0), WithLimiter(lim))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, status int, contentType, body string) {
		if status < 200 || status > 599 || status == 429 || (status >= 300 && status < 400) ||
			strings.ContainsFunc(contentType, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			t.Skip() // a control character makes the header itself malformed: a transport error, not an answer
		}
		fake.Handle(hostile.UserPath, hostile.Answer(status, contentType, body))
		_, err := c.UserInfo(context.Background(), "1234567890")
		if err == nil && status != 200 {
			t.Fatalf("UserInfo with a %d answer = nil error; want one", status)
		}
		var apiErr *APIError
		if status >= 300 && (!errors.As(err, &apiErr) || apiErr.StatusCode != status) {
			t.Fatalf("UserInfo with a %d answer = %v; want *APIError with that status", status, err)
		}
		if err != nil && (strings.Contains(leak.Formats(err), testSecret) || strings.Contains(leak.Formats(err), fakeToken)) {
			t.Fatalf("the error carries a secret: %q", err)
		}
	})
}

// TestTokenRenewedByTheClock: with WithClock, the token is renewed when the
// clock passes its renewal point, not before.
func TestTokenRenewedByTheClock(t *testing.T) {
	f := newFakeAPI(t)
	clk := clock.NewFake(t0)
	c := newTestClient(t, f.URL, WithClock(clk.Now))
	steps := []struct {
		advance    time.Duration
		wantTokens int
	}{
		{0, 1},
		{50 * time.Minute, 1},
		{8 * time.Minute, 1},  // 58 min: still before the renewal margin
		{90 * time.Second, 2}, // 59.5 min: renewed
		{time.Minute, 2},
	}
	for _, s := range steps {
		clk.Advance(s.advance)
		if _, err := c.GoldRate(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := f.Count(hostile.TokenPath); got != s.wantTokens {
			t.Errorf("at %v: token requests = %d; want %d", clk.Now().Sub(t0), got, s.wantTokens)
		}
	}
}

// TestSharedTokenStore: two Clients on one store share one token.
func TestSharedTokenStore(t *testing.T) {
	f := newFakeAPI(t)
	store := tokens.NewMemoryStore()
	for i := range 2 {
		if _, err := newTestClient(t, f.URL, WithTokenStore(store)).GoldRate(context.Background()); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	if n := f.Count(hostile.TokenPath); n != 1 {
		t.Errorf("token requests = %d; want 1 for two clients on one store", n)
	}
}

// countingLimiter lets everything through and counts.
type countingLimiter struct {
	mu      sync.Mutex
	waits   int
	limits  []int
	penalty time.Time
}

func (l *countingLimiter) Wait(context.Context) error {
	l.mu.Lock()
	l.waits++
	l.mu.Unlock()
	return nil
}
func (l *countingLimiter) Observe(n int)        { l.mu.Lock(); l.limits = append(l.limits, n); l.mu.Unlock() }
func (l *countingLimiter) Penalize(t time.Time) { l.mu.Lock(); l.penalty = t; l.mu.Unlock() }

// TestWithLimiter: every request, the token request too, waits on the
// caller's limiter, and a 429's reset reaches it.
func TestWithLimiter(t *testing.T) {
	f := newFakeAPI(t)
	reset := t0.Add(30 * time.Second)
	f.Handle(hostile.RatePath, tooMany(7, reset.Unix()))
	lim := &countingLimiter{}
	_, err := newTestClient(t, f.URL, WithLimiter(lim), WithClock(func() time.Time { return t0 })).GoldRate(context.Background())
	if !errors.Is(err, ErrRateLimited) {
		t.Fatalf("GoldRate = %v; want ErrRateLimited", err)
	}
	lim.mu.Lock()
	defer lim.mu.Unlock()
	if lim.waits != 2 {
		t.Errorf("limiter waits = %d; want 2 (token, gold rate)", lim.waits)
	}
	if !lim.penalty.Equal(reset) {
		t.Errorf("limiter penalized until %v; want the reset %v", lim.penalty, reset)
	}
	if len(lim.limits) == 0 || lim.limits[len(lim.limits)-1] != 7 {
		t.Errorf("limiter observed limits %v; want the announced 7", lim.limits)
	}
}

// TestTokenRouteFromSpec: the client knows the token request by the spec's
// token operation (retried after a 429, logged as createAccessToken), under
// any base path, and nothing else.
func TestTokenRouteFromSpec(t *testing.T) {
	for _, tt := range []struct {
		method, url string
		want        bool
	}{
		{"POST", "https://api.milligold.in/partner/auth/token", true},
		{"POST", "http://127.0.0.1:8080/other/base/auth/token", true},
		{"GET", "https://api.milligold.in/partner/auth/token", false},
		{"POST", "https://api.milligold.in/partner/gold/rate", false},
		{"POST", "https://api.milligold.in/partner/auth/token/x", false},
	} {
		req := httptest.NewRequest(tt.method, tt.url, nil)
		if got := retryable(req) && req.Method == http.MethodPost; got != tt.want {
			t.Errorf("%s %s: a retryable token request = %v; want %v", tt.method, tt.url, got, tt.want)
		}
		if got := operation(req) == opCreateAccessToken; got != tt.want {
			t.Errorf("%s %s: logged as createAccessToken = %v; want %v", tt.method, tt.url, got, tt.want)
		}
	}
}
