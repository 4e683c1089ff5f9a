package sandbox_test

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milligold/milligold-go/internal/clock"
	"github.com/milligold/milligold-go/sandbox"
)

// TestOneClockReadingPerRequest: a request reads the sandbox's clock once,
// where it enters, and its window, token check and token all use that
// reading; the fake clock still moves them (a token expires, a window resets).
func TestOneClockReadingPerRequest(t *testing.T) {
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var reads atomic.Int64
	cfg := sandbox.Default()
	cfg.Now = func() time.Time { reads.Add(1); return fake.Now() }
	cfg.RateLimit.Requests, cfg.RateLimit.WindowSeconds = 3, 20
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	send := func(r *http.Request) (int, string) {
		w := httptest.NewRecorder()
		sb.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	get := func(bearer string) *http.Request {
		return wireRequest("GET /partner/gold/rate HTTP/1.1\r\nHost: sandbox.test\r\nAuthorization: " + bearer + "\r\n\r\n")
	}

	reads.Store(0)
	code, body := send(tokenRequest())
	tok := regexp.MustCompile(`"accessToken":"([^"]+)"`).FindStringSubmatch(body)
	if code != http.StatusOK || tok == nil {
		t.Fatalf("token request = %d %s; want 200 with a token", code, body)
	}
	if n := reads.Load(); n != 1 {
		t.Errorf("token request read the clock %d times; want 1", n)
	}
	bearer := "Bearer " + tok[1]
	send(get(bearer)) // the token's first use parses it (the JWT parser reads the clock)
	reads.Store(0)
	if code, _ := send(get(bearer)); code != http.StatusOK {
		t.Fatalf("GET /gold/rate = %d; want 200", code)
	}
	if n := reads.Load(); n != 1 {
		t.Errorf("GET /gold/rate read the clock %d times; want 1", n)
	}
	if code, _ := send(get(bearer)); code != http.StatusTooManyRequests {
		t.Errorf("4th request of 3 per window = %d; want 429", code)
	}
	fake.Advance(20 * time.Second)
	if code, _ := send(get(bearer)); code != http.StatusOK {
		t.Errorf("after the window = %d; want 200", code)
	}
	fake.Advance(time.Hour)
	if code, _ := send(get(bearer)); code != http.StatusUnauthorized {
		t.Errorf("after the token's hour = %d; want 401", code)
	}
}
