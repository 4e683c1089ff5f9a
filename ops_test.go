package milligold_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	milligold "github.com/milligold/milligold-go"
	"github.com/milligold/milligold-go/gen/api"
	"github.com/milligold/milligold-go/ratelimit"
	"github.com/milligold/milligold-go/sandbox"
	"github.com/milligold/milligold-go/sandbox/sandboxtest"
)

// The generated typed methods against the real sandbox: data as the
// generated types, and the Client's typed errors for 404, 401 and 429.
func TestOpsSandbox(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithFakeClock(), sandboxtest.WithConfig(func(c *sandbox.Config) {
		c.RateLimit.Requests = 4
	}))
	// A limiter that lets everything through, so the server's 429 is reached.
	open := ratelimit.NewSlidingLog(ratelimit.Policy{Requests: 1 << 20, Window: 1})
	newClient := func(secret string) *milligold.Client {
		c, err := milligold.New(milligold.WithBaseURL(sb.URL), milligold.WithCredentials(sb.PartnerID, secret),
			milligold.WithLimiter(open), milligold.WithMaxRetries(0), milligold.WithClock(sb.Now))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	ops := newClient(sb.PartnerSecret).Ops()

	rate, err := ops.GetGoldRate(ctx) // token + 1
	if err != nil {
		t.Fatalf("GetGoldRate: %v", err)
	}
	var _ api.GoldRate = rate
	if rate.Rate.String() == "" || rate.Rate.String() == "0" {
		t.Errorf("GetGoldRate = %+v; want the sandbox's rate", rate)
	}

	user, err := ops.GetUserInfo(ctx, "1234567890") // 2
	if err != nil {
		t.Fatalf("GetUserInfo: %v", err)
	}
	var _ api.User = user
	if user.MobileNumber != "1234567890" || user.Id == "" {
		t.Errorf("GetUserInfo = %+v; want the sandbox's user 1234567890", user)
	}

	_, err = ops.GetUserInfo(ctx, "9999999999") // 3
	var apiErr *milligold.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || !errors.Is(err, milligold.ErrNotFound) {
		t.Errorf("GetUserInfo(unknown) = %v; want a 404 *APIError matching ErrNotFound", err)
	}

	if _, err := ops.GetUserInfo(ctx, ".."); !errors.Is(err, milligold.ErrInvalidCall) {
		t.Errorf("GetUserInfo(..) = %v; want ErrInvalidCall, nothing sent", err)
	}

	if _, err := newClient("wrong").Ops().GetGoldRate(ctx); !errors.Is(err, milligold.ErrUnauthorized) {
		t.Errorf("GetGoldRate with a wrong secret = %v; want ErrUnauthorized", err)
	}

	var rl *milligold.RateLimitError
	for range 4 {
		_, err := ops.GetGoldRate(ctx)
		if errors.As(err, &rl) {
			break
		}
		if err != nil {
			t.Fatalf("GetGoldRate before the limit: %v", err)
		}
	}
	if rl == nil || rl.Limit != 4 || rl.RetryAfter <= 0 {
		t.Errorf("RateLimitError = %+v; want limit 4 and a wait", rl)
	}
}
