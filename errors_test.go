package milligold

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/internal/leak"
	"github.com/milligold/milligold-go/ratelimit"
)

const testSecret = "s3cr3t-Partner-Value"

var t0 = time.Date(2026, 11, 25, 6, 0, 0, 0, time.UTC)

func testRedact(s string) string {
	c := &Client{secret: testSecret, redactor: newRedactor(testSecret)}
	return c.redact(s)
}

func response(status int, header map[string]string, body string) *http.Response {
	h := http.Header{}
	for k, v := range header {
		h.Set(k, v)
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}
}

func TestCheckResponse(t *testing.T) {
	reset := t0.Add(12 * time.Second).Unix()
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		wantNil    bool
		wantIs     error // a sentinel errors.Is must match, nil for none
		wantMsg    string
		wantCode   string
		wantRetry  time.Duration
		wantLimit  int
		wantInText string
	}{
		{name: "200", status: 200, body: `{"success":true}`, wantNil: true},
		{name: "204", status: 204, wantNil: true},
		{name: "400 envelope", status: 400, body: `{"success":false,"error":"partnerId is required","errorCode":"e1"}`,
			wantMsg: "partnerId is required", wantCode: "e1", wantInText: "400 Bad Request: partnerId is required (errorCode e1)"},
		{name: "401", status: 401, body: `{"success":false,"error":"Unauthorized","errorCode":"e2"}`, wantIs: ErrUnauthorized, wantMsg: "Unauthorized", wantCode: "e2"},
		{name: "404 document", status: 404, body: `{"success":false,"error":"The requested resource was not found","errorCode":"3d1c75d0-37ee-4530-b281-4ab9c597f2bb"}`,
			wantIs: ErrNotFound, wantMsg: "The requested resource was not found", wantCode: "3d1c75d0-37ee-4530-b281-4ab9c597f2bb"},
		{name: "404 reworded", status: 404, body: `{"success":false,"error":"No such user, sorry","errorCode":"x"}`, wantIs: ErrNotFound, wantMsg: "No such user, sorry", wantCode: "x"},
		{name: "404 extra fields", status: 404, body: `{"success":false,"error":"gone","errorCode":"x","hint":{"a":1},"traceId":7}`, wantIs: ErrNotFound, wantMsg: "gone", wantCode: "x"},
		{name: "404 no envelope", status: 404, body: `not found`, wantIs: ErrNotFound, wantInText: `404 Not Found: "not found"`},
		{name: "errorCode a number", status: 400, body: `{"error":"bad","errorCode":42}`, wantInText: `400 Bad Request: "{\"error\":\"bad\",\"errorCode\":42}"`},
		{name: "new status 418", status: 418, body: `{"success":false,"error":"teapot","errorCode":"t"}`, wantMsg: "teapot", wantInText: "418 I'm a teapot: teapot"},
		{name: "unnamed status 599", status: 599, body: ``, wantInText: "HTTP 599"},
		{name: "3xx is an error", status: 302, body: ``, wantInText: "302 Found"},
		{name: "500 HTML", status: 500, body: `<html><body>Bad gateway</body></html>`, wantInText: `500 Internal Server Error: "<html>`},
		{name: "message folded to one line", status: 400, body: `{"error":"line one\nfake log line","errorCode":"e"}`, wantMsg: "line one fake log line"},
		{name: "429 headers", status: 429, header: map[string]string{"X-Rate-Limit-Limit": "10", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": itoa(reset)},
			body: `{"success":false,"error":"Too many requests","errorCode":"r"}`, wantIs: ErrRateLimited, wantRetry: 12 * time.Second, wantLimit: 10,
			wantInText: "rate limited; retry after 12s (limit 10)"},
		{name: "429 new limit", status: 429, header: map[string]string{"X-Rate-Limit-Limit": "25", "X-Rate-Limit-Reset": itoa(reset)},
			wantIs: ErrRateLimited, wantRetry: 12 * time.Second, wantLimit: 25},
		{name: "429 no headers waits a window", status: 429, wantIs: ErrRateLimited, wantRetry: 20 * time.Second},
		{name: "429 garbled headers", status: 429, header: map[string]string{"X-Rate-Limit-Limit": "ten", "X-Rate-Limit-Reset": "soon"},
			wantIs: ErrRateLimited, wantRetry: 20 * time.Second},
		{name: "429 reset in the past", status: 429, header: map[string]string{"X-Rate-Limit-Reset": itoa(t0.Unix() - 5)}, wantIs: ErrRateLimited, wantRetry: 0,
			wantInText: "milligold: getGoldRate: rate limited"},
		{name: "429 fractional wait rounds up", status: 429, header: map[string]string{"X-Rate-Limit-Reset": "2026-11-25T06:00:03.2Z"}, wantIs: ErrRateLimited, wantRetry: 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkResponse("getGoldRate", response(tt.status, tt.header, tt.body), middleware.RateLimit, testRedact, t0)
			if tt.wantNil {
				if err != nil {
					t.Fatalf("checkResponse(%d) = %v; want nil", tt.status, err)
				}
				return
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("checkResponse(%d) = %T %v; want an *APIError inside", tt.status, err, err)
			}
			if apiErr.StatusCode != tt.status || apiErr.Operation != "getGoldRate" {
				t.Errorf("StatusCode, Operation = %d, %q; want %d, getGoldRate", apiErr.StatusCode, apiErr.Operation, tt.status)
			}
			for _, s := range []error{ErrNotFound, ErrUnauthorized, ErrRateLimited} {
				if got := errors.Is(err, s); got != (s == tt.wantIs) {
					t.Errorf("errors.Is(err, %v) = %t; want %t", s, got, s == tt.wantIs)
				}
			}
			if tt.wantMsg != "" && apiErr.Message != tt.wantMsg {
				t.Errorf("Message = %q; want %q", apiErr.Message, tt.wantMsg)
			}
			if tt.wantCode != "" && apiErr.ErrorCode != tt.wantCode {
				t.Errorf("ErrorCode = %q; want %q", apiErr.ErrorCode, tt.wantCode)
			}
			if !strings.Contains(err.Error(), tt.wantInText) {
				t.Errorf("Error() = %q; want it to contain %q", err.Error(), tt.wantInText)
			}
			var rl *RateLimitError
			if got := errors.As(err, &rl); got != (tt.status == 429) {
				t.Fatalf("errors.As(*RateLimitError) = %t for status %d", got, tt.status)
			}
			if rl != nil {
				if rl.RetryAfter != tt.wantRetry {
					t.Errorf("RetryAfter = %v; want %v", rl.RetryAfter, tt.wantRetry)
				}
				if rl.Limit != tt.wantLimit {
					t.Errorf("Limit = %d; want %d", rl.Limit, tt.wantLimit)
				}
				if rl.Reset.Before(t0) {
					t.Errorf("Reset = %v; want at or after %v", rl.Reset, t0)
				}
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestCheckResponseBoundsAndRedacts: a huge body is read only up to the
// bound, the snippet is short, and secrets and tokens in it are gone.
func TestCheckResponseBoundsAndRedacts(t *testing.T) {
	const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJwYXJ0bmVySWQiOiJwIn0.c2lnbmF0dXJl"
	tests := []struct {
		name string
		body string
	}{
		{"secret in message", `{"error":"bad secret ` + testSecret + `","errorCode":"e"}`},
		{"token in message", `{"error":"token ` + jwt + ` expired","errorCode":"` + jwt + `"}`},
		{"echoed form", `partnerId=p&partnerSecret=` + testSecret},
		{"bearer header echoed", `Authorization: Bearer opaque-token-value`},
		{"secret past the snippet", strings.Repeat("x", snippetLen-5) + testSecret},
		{"huge body", strings.Repeat("é", 3*maxErrorBody) + testSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := &countingReader{r: strings.NewReader(tt.body)}
			resp := &http.Response{StatusCode: 400, Header: http.Header{}, Body: io.NopCloser(body)}
			err := checkResponse("createAccessToken", resp, middleware.RateLimit, testRedact, t0)
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("checkResponse = %v; want *APIError", err)
			}
			if body.n > maxErrorBody {
				t.Errorf("read %d bytes of the body; want at most %d", body.n, maxErrorBody)
			}
			if len(apiErr.Body) > snippetLen+len("…") || !utf8.ValidString(apiErr.Body) {
				t.Errorf("Body is %d bytes (valid UTF-8: %t); want at most %d", len(apiErr.Body), utf8.ValidString(apiErr.Body), snippetLen)
			}
			out := leak.Formats(err) + leak.Formats(apiErr.Body)
			leak.Check(t, "the error", out, testSecret, "opaque-token-value")
		})
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestRateLimitErrorUnwrapsToAPIError(t *testing.T) {
	err := checkResponse("getUserInfo", response(429, nil, `{"error":"slow down","errorCode":"c"}`), middleware.RateLimit, testRedact, t0)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.Message != "slow down" {
		t.Fatalf("errors.As(%v, *APIError) = %+v; want the 429's APIError", err, apiErr)
	}
	if !errors.Is(apiErr, ErrRateLimited) {
		t.Error("the inner APIError does not match ErrRateLimited")
	}
}

// FuzzCheckResponse: any status, headers and body give nil for 2xx and an
// *APIError otherwise, never a panic, and never carry the secret.
func FuzzCheckResponse(f *testing.F) {
	f.Add(404, "", `{"success":false,"error":"The requested resource was not found","errorCode":"3d1c"}`)
	f.Add(429, "1764050412", `{"success":false,"error":"Too many requests","errorCode":"r"}`)
	f.Add(429, "garbage", ``)
	f.Add(500, "", `<html>`+testSecret)
	f.Add(400, "", `{"error":"`+testSecret+`"}`)
	f.Add(200, "", `{}`)
	f.Fuzz(func(t *testing.T, status int, reset, body string) {
		if status < 100 || status > 999 {
			t.Skip()
		}
		rl := middleware.RateLimit // the fuzzed value in all three headers
		resp := response(status, map[string]string{rl.ResetHeader: reset, rl.LimitHeader: reset, rl.RemainingHeader: reset}, body)
		err := checkResponse("getGoldRate", resp, middleware.RateLimit, testRedact, t0)
		if status >= 200 && status < 300 {
			if err != nil {
				t.Fatalf("checkResponse(%d) = %v; want nil", status, err)
			}
			return
		}
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != status {
			t.Fatalf("checkResponse(%d) = %v; want *APIError with that status", status, err)
		}
		var rle *RateLimitError
		if errors.As(err, &rle) && (rle.RetryAfter < 0 || rle.Limit < 0 || rle.Remaining < 0) {
			t.Fatalf("RetryAfter, Limit, Remaining = %v, %d, %d; want none negative", rle.RetryAfter, rle.Limit, rle.Remaining)
		}
		if strings.Contains(leak.Formats(err), testSecret) {
			t.Fatalf("the error carries the secret: %q", err)
		}
	})
}

// customHeaders is a rate-limit policy whose spec names other headers than
// the API document's, as the generator's ok-custom-headers spec does.
var customHeaders = ratelimit.Policy{Requests: 5, Window: 30 * time.Second,
	LimitHeader: "Ratelimit-Limit", RemainingHeader: "Ratelimit-Remaining", ResetHeader: "Ratelimit-Reset"}

// The 429's numbers come from the headers the policy (the spec) names, not
// from fixed X-Rate-Limit-* names: those are a decoy here.
func TestRateLimitErrorReadsThePolicysHeaders(t *testing.T) {
	header := map[string]string{
		"Ratelimit-Limit": "5", "Ratelimit-Remaining": "0", "Ratelimit-Reset": itoa(t0.Unix() + 7),
		"X-Rate-Limit-Limit": "99", "X-Rate-Limit-Remaining": "42", "X-Rate-Limit-Reset": itoa(t0.Unix() + 1),
	}
	err := checkResponse("getGoldRate", response(429, header, `{"error":"slow down"}`), customHeaders, testRedact, t0)
	var rl *RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("checkResponse = %v; want *RateLimitError", err)
	}
	if rl.Limit != 5 || rl.Remaining != 0 || rl.RetryAfter != 7*time.Second {
		t.Errorf("Limit, Remaining, RetryAfter = %d, %d, %v; want 5, 0, 7s", rl.Limit, rl.Remaining, rl.RetryAfter)
	}
	// Without the reset header the wait is the policy's window.
	delete(header, "Ratelimit-Reset")
	err = checkResponse("getGoldRate", response(429, header, ``), customHeaders, testRedact, t0)
	if !errors.As(err, &rl) || rl.RetryAfter != 30*time.Second {
		t.Errorf("without a reset header: %v; want a RateLimitError with RetryAfter 30s", err)
	}
}

// The log's retryAfter reads the policy's reset header too.
func TestLogReadsThePolicysResetHeader(t *testing.T) {
	var buf strings.Builder
	lt := &logTransport{
		base: roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			return response(429, map[string]string{"Ratelimit-Reset": itoa(t0.Unix() + 7), "X-Rate-Limit-Reset": itoa(t0.Unix() + 1)}, ``), nil
		}),
		logger: slog.New(slog.NewTextHandler(&buf, nil)),
		redact: testRedact,
		policy: customHeaders,
		now:    func() time.Time { return t0 },
	}
	req, _ := http.NewRequest("GET", "http://127.0.0.1/gold/rate", nil)
	resp, err := lt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.Contains(buf.String(), "retryAfter=7s") {
		t.Errorf("log = %q; want retryAfter=7s (from Ratelimit-Reset)", buf.String())
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }
