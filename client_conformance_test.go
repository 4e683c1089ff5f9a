package milligold_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"

	milligold "github.com/milligold/milligold-go"
	"github.com/milligold/milligold-go/conformance"
	"github.com/milligold/milligold-go/ratelimit"
	"github.com/milligold/milligold-go/sandbox"
	"github.com/milligold/milligold-go/sandbox/sandboxtest"
)

// TestClientTrafficConforms sends the client's own traffic, successes and
// failures, through the validating transport: every request the client sends
// and every answer it reads must match openapi.yaml (NewTestTransport fails
// the test at cleanup with each violation).
func TestClientTrafficConforms(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithFakeClock(), sandboxtest.WithConfig(func(c *sandbox.Config) {
		c.RateLimit.Requests = 5
	}))
	tr := conformance.NewTestTransport(t, sb.URL, nil)
	// A limiter that lets everything through, so the server's 429 is reached.
	open := ratelimit.NewSlidingLog(ratelimit.Policy{Requests: 1 << 20, Window: 1})
	newClient := func(secret string) *milligold.Client {
		c, err := milligold.New(milligold.WithBaseURL(sb.URL), milligold.WithCredentials(sb.PartnerID, secret),
			milligold.WithHTTPClient(&http.Client{Transport: tr}), milligold.WithLimiter(open),
			milligold.WithMaxRetries(0), milligold.WithClock(sb.Now))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	c := newClient(sb.PartnerSecret)

	if _, err := newClient("wrong").GoldRate(ctx); !errors.Is(err, milligold.ErrUnauthorized) {
		t.Errorf("GoldRate with a wrong secret = %v; want ErrUnauthorized", err)
	}
	if _, err := c.GoldRate(ctx); err != nil {
		t.Errorf("GoldRate = %v", err)
	}
	if _, err := c.UserInfo(ctx, "1234567890"); err != nil {
		t.Errorf("UserInfo = %v", err)
	}
	if _, err := c.UserInfo(ctx, "9999999999"); !errors.Is(err, milligold.ErrNotFound) {
		t.Errorf("UserInfo(unknown) = %v; want ErrNotFound", err)
	}
	var rl *milligold.RateLimitError
	for range 3 {
		_, err := c.GoldRate(ctx)
		if errors.As(err, &rl) {
			break
		}
	}
	if rl == nil || rl.Limit != 5 || rl.RetryAfter <= 0 {
		t.Errorf("RateLimitError = %+v; want limit 5 and a wait", rl)
	}

	want := []conformance.Pair{
		{Operation: "POST /auth/token", Status: 200}, {Operation: "POST /auth/token", Status: 401},
		{Operation: "GET /gold/rate", Status: 200}, {Operation: "GET /gold/rate", Status: 429},
		{Operation: "GET /user/info/{mobileNumber}", Status: 200}, {Operation: "GET /user/info/{mobileNumber}", Status: 404},
	}
	got := tr.Exercised()
	for _, p := range want {
		if !slices.Contains(got, p) {
			t.Errorf("the client's traffic never produced %v; exercised %v", p, got)
		}
	}
}
