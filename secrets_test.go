package milligold

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/milligold/milligold-go/internal/leak"
	"github.com/milligold/milligold-go/sandbox"
	"github.com/milligold/milligold-go/sandbox/sandboxtest"
)

// TestSecretsNeverLeak runs the client through success and every kind of
// failure against the sandbox, collects every error string, every log line
// (the client's and the sandbox's) and every way of printing the client, its
// options, its tokens and its errors, and greps the lot for the secrets and
// the tokens the run used.
func TestSecretsNeverLeak(t *testing.T) {
	const wrongSecret = "wrong-Partner-Secret-123"
	log := leak.NewLog()
	sb := sandboxtest.New(t, sandboxtest.WithLogger(log.Logger()), sandboxtest.WithConfig(func(c *sandbox.Config) { c.RateLimit.Requests = 6 }))
	ctx := context.Background()

	var out strings.Builder
	record := func(what string, v any) { fmt.Fprintf(&out, "%s: %s\n", what, leak.Formats(v)) }
	var tokensSeen []string

	opts := []Option{WithBaseURL(sb.URL), WithCredentials(sb.PartnerID, sb.PartnerSecret), WithLogger(log.Logger()), WithMaxRetries(0)}
	record("options", opts)
	c, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	record("client", c)
	log.Logger().Info("the client", "client", c)

	tok, err := c.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tokensSeen = append(tokensSeen, tok.AccessToken)
	record("token", tok)

	calls := []struct {
		name string
		call func() error
	}{
		{"gold rate", func() error { _, err := c.GoldRate(ctx); return err }},
		{"user", func() error { _, err := c.UserInfo(ctx, "1234567890"); return err }},
		{"user not found", func() error { _, err := c.UserInfo(ctx, "9999999999"); return err }},
		{"user bad number", func() error { _, err := c.UserInfo(ctx, "12"); return err }},
		{"user empty number", func() error { _, err := c.UserInfo(ctx, ""); return err }},
		{"canceled", func() error {
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			_, err := c.GoldRate(cctx)
			return err
		}},
		{"wrong secret", func() error {
			bad, err := New(WithBaseURL(sb.URL), WithCredentials(sb.PartnerID, wrongSecret), WithLogger(log.Logger()))
			if err != nil {
				return err
			}
			record("client with the wrong secret", bad)
			_, err = bad.GoldRate(ctx)
			return err
		}},
		{"bad base URL", func() error {
			_, err := New(WithBaseURL("https://id:"+sb.PartnerSecret+"@x/partner"), WithCredentials(sb.PartnerID, sb.PartnerSecret))
			return err
		}},
	}
	var errs []error
	for _, cl := range calls {
		err := cl.call()
		errs = append(errs, err)
		record(cl.name, err)
	}
	// Spend the quota up to the first 429 (after it the limiter would
	// hold the next call until the window resets).
	var rateLimited bool
	for i := 0; i < 8 && !rateLimited; i++ {
		_, err := c.GoldRate(ctx)
		record("quota", err)
		rateLimited = errors.Is(err, ErrRateLimited)
	}

	for i, want := range []bool{false, false, true, true, true, true, true, true} {
		if got := errs[i] != nil; got != want {
			t.Errorf("%s: error = %v; want error %t", calls[i].name, errs[i], want)
		}
	}
	if !rateLimited {
		t.Error("the quota was never exceeded; the 429 path went unchecked")
	}
	all := out.String() + log.String()
	if !strings.Contains(all, "milligold request") || !strings.Contains(all, "404 Not Found") {
		t.Fatalf("the collected output lacks the log lines or errors it should have:\n%s", all)
	}
	leak.Check(t, "errors, logs and formatted values", all, append(tokensSeen, sb.PartnerSecret, wrongSecret)...)
}
