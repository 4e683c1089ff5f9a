package sandbox_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/milligold/milligold-go/sandbox"
)

// discard is a reusable http.ResponseWriter, so the benchmarks count the
// handler's allocations, not a recorder's.
type discard struct {
	h      http.Header
	status int
	n      int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(code int)        { d.status = code }
func (d *discard) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
func (d *discard) reset()                      { clear(d.h); d.status, d.n = 0, 0 }

// benchSandbox is the default sandbox as `milligold sandbox` runs it (its
// text request log on, through the same buffered writer, into /dev/null)
// with a token for the default partner (which spends one request of the
// window). With full, the limit is one request on a stopped clock, so every
// later request is over the limit. Otherwise the limit is the most ratelimit
// allows per one-second window on the real clock, more than a handler can
// serve, whatever -benchtime.
func benchSandbox(b *testing.B, full bool) (h http.Handler, bearer string) {
	b.Helper()
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	logger, closeLog := sandbox.NewTextLog(devNull)
	b.Cleanup(func() { closeLog.Close(); devNull.Close() })
	cfg := sandbox.Default()
	cfg.Logger = logger
	cfg.RateLimit.Requests, cfg.RateLimit.WindowSeconds = 1<<20, 1
	if full {
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		cfg.RateLimit.Requests, cfg.Now = 1, func() time.Time { return t0 }
	}
	sb, err := sandbox.New(cfg)
	if err != nil {
		b.Fatalf("sandbox.New: %v", err)
	}
	w := &discard{h: make(http.Header)}
	rec := &capture{discard: w}
	sb.ServeHTTP(rec, tokenRequest())
	var body struct {
		Data struct {
			AccessToken string `json:"accessToken"`
		} `json:"data"`
	}
	if w.status != http.StatusOK && w.status != 0 || json.Unmarshal(rec.body, &body) != nil || body.Data.AccessToken == "" {
		b.Fatalf("token request: status %d; want 200 with an accessToken", w.status)
	}
	return sb, "Bearer " + body.Data.AccessToken
}

// capture keeps the body too (for the one token request).
type capture struct {
	*discard
	body []byte
}

func (c *capture) Write(p []byte) (int, error) {
	c.body = append(c.body, p...)
	return c.discard.Write(p)
}

func tokenRequest() *http.Request {
	form := url.Values{"partnerId": {sandbox.DefaultPartnerID}, "partnerSecret": {sandbox.DefaultPartnerSecret}}.Encode()
	return wireRequest("POST /partner/auth/token HTTP/1.1\r\nHost: sandbox.test\r\n" +
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + itoa(int64(len(form))) + "\r\n\r\n" + form)
}

// wireRequest reads raw as net/http's server does, so the request has what
// a served one has: RequestURI, RemoteAddr, and http.NoBody when it has no body.
func wireRequest(raw string) *http.Request {
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		panic(err)
	}
	r.RemoteAddr = "127.0.0.1:40000"
	return r
}

// BenchmarkHandler times each handler path through the whole pipeline
// (route, validate, authenticate, rate limit, handle, encode, log) with
// allocations, so a regression shows in review. make bench prints them.
func BenchmarkHandler(b *testing.B) {
	open, bearer := benchSandbox(b, false)
	full, fullBearer := benchSandbox(b, true)
	form := url.Values{"partnerId": {sandbox.DefaultPartnerID}, "partnerSecret": {sandbox.DefaultPartnerSecret}}.Encode()
	get := func(path, auth string) *http.Request {
		return wireRequest("GET /partner" + path + " HTTP/1.1\r\nHost: sandbox.test\r\nAuthorization: " + auth + "\r\n\r\n")
	}
	tests := []struct {
		name string
		h    http.Handler
		req  *http.Request
		body string // replayed each iteration
		want int
	}{
		{"token", open, tokenRequest(), form, http.StatusOK},
		{"goldRate", open, get("/gold/rate", bearer), "", http.StatusOK},
		{"user", open, get("/user/info/1234567890", bearer), "", http.StatusOK},
		{"notFound", open, get("/user/info/9999999999", bearer), "", http.StatusNotFound},
		{"rateLimited", full, get("/gold/rate", fullBearer), "", http.StatusTooManyRequests},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			w := &discard{h: make(http.Header)}
			body := strings.NewReader(tt.body)
			serve := func() {
				w.reset()
				if tt.body != "" {
					body.Reset(tt.body)
					tt.req.Body = io.NopCloser(body)
				}
				tt.h.ServeHTTP(w, tt.req)
			}
			serve()
			if status := max(w.status, http.StatusOK); status != tt.want || w.n == 0 {
				b.Fatalf("%s %s = %d with %d bytes; want %d with a body", tt.req.Method, tt.req.URL.Path, status, w.n, tt.want)
			}
			b.ReportAllocs()
			for b.Loop() {
				serve()
			}
		})
	}
}
