package milligold_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	milligold "github.com/milligold/milligold-go"
	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/internal/redistest"
	"github.com/milligold/milligold-go/ratelimit"
	"github.com/milligold/milligold-go/redisquota"
	"github.com/milligold/milligold-go/sandbox"
	"github.com/milligold/milligold-go/tokens"
)

// tokenCounter fronts a default sandbox, counting token requests.
func tokenCounter(t *testing.T) (string, *atomic.Int32) {
	h, err := sandbox.New(sandbox.Default())
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/auth/token") {
			n.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + sandbox.BasePath, &n
}

// TestSharedOptions: Clients built with redisquota.WithRedis, or
// WithFileCache on one directory, share one token. (An external test: the
// client package does not import redisquota.)
func TestSharedOptions(t *testing.T) {
	rs := redistest.Start(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		opt  func() milligold.Option
	}{
		{"redisquota.WithRedis", func() milligold.Option {
			rdb, err := redisquota.ParseURL(rs.URL)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rdb.Close() })
			return redisquota.WithRedis(rdb)
		}},
		{"WithFileCache", func() milligold.Option { return milligold.WithFileCache(dir) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, tokens := tokenCounter(t)
			var wg sync.WaitGroup
			for range 3 {
				c, err := milligold.New(milligold.WithBaseURL(url), milligold.WithCredentials(sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret), tc.opt())
				if err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := c.GoldRate(context.Background()); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if n := tokens.Load(); n != 1 {
				t.Errorf("token requests from 3 Clients = %d; want 1", n)
			}
		})
	}
	if _, err := milligold.New(milligold.WithCredentials("p", "s"), redisquota.WithRedis(nil)); err == nil {
		t.Error("redisquota.WithRedis(nil): no error")
	}
	if _, err := milligold.New(milligold.WithCredentials("p", "s"), milligold.WithSharedQuota(nil)); err == nil {
		t.Error("WithSharedQuota(nil): no error")
	}
	empty := func(milligold.SharedPartner) (milligold.SharedQuota, error) { return milligold.SharedQuota{}, nil }
	if _, err := milligold.New(milligold.WithCredentials("p", "s"), milligold.WithSharedQuota(empty)); err == nil {
		t.Error("WithSharedQuota with a builder returning no store: no error")
	}
}

// observingLimiter records the round trips the Client reports.
type observingLimiter struct {
	ratelimit.Limiter
	n atomic.Int32
}

func (l *observingLimiter) ObserveRoundTrip(time.Duration) { l.n.Add(1) }

// TestSharedQuotaHook: New calls the builder with the partner, base URL and
// the spec's policy, uses its store and limiter, and reports each round
// trip to a limiter that observes them (the shared limiters' adaptive
// margin depends on it).
func TestSharedQuotaHook(t *testing.T) {
	url, _ := tokenCounter(t)
	var got milligold.SharedPartner
	lim := &observingLimiter{Limiter: ratelimit.NewSlidingLog(middleware.RateLimit)}
	c, err := milligold.New(milligold.WithBaseURL(url), milligold.WithCredentials(sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret),
		milligold.WithSharedQuota(func(p milligold.SharedPartner) (milligold.SharedQuota, error) {
			got = p
			return milligold.SharedQuota{Store: tokens.NewMemoryStore(), Limiter: lim}, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	if got.BaseURL != url || got.PartnerID != sandbox.DefaultPartnerID || got.Policy != middleware.RateLimit || got.Logger == nil {
		t.Errorf("builder got %s, %s, %+v, logger %v; want the Client's base URL, partner, the spec's policy and a logger", got.BaseURL, got.PartnerID, got.Policy, got.Logger)
	}
	if _, err := c.GoldRate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := lim.n.Load(); n != 2 { // the token request and the gold rate
		t.Errorf("round trips reported to the shared limiter = %d; want 2", n)
	}
}
