package milligold_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	milligold "github.com/milligold/milligold-go"
	"github.com/milligold/milligold-go/conformance"
	"github.com/milligold/milligold-go/internal/clock"
	"github.com/milligold/milligold-go/ratelimit"
)

// The bodies a minimal local API answers with, from the document's examples.
const (
	benchToken    = "bench-access-token"
	goldRateBody  = `{"success":true,"data":{"rate":1111,"cgstRate":0.015,"sgstRate":0.015,"updatedAt":"2023-01-05T09:17:03.459Z"}}`
	benchPartner  = "bench-partner"
	benchSecret   = "bench-partner-secret"
	benchLifetime = 3600
)

// rateAPI is the smallest server that answers the token request and
// getGoldRate under /partner, so the benchmarks below time the clients, not
// a server. It counts token requests.
type rateAPI struct {
	tokens atomic.Int64
	now    func() time.Time
}

func (a *rateAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/partner/auth/token":
		a.tokens.Add(1)
		fmt.Fprintf(w, `{"success":true,"data":{"accessToken":%q,"expiresIn":%d,"createdAt":%d}}`,
			benchToken, benchLifetime, a.now().Unix())
	case r.Method == http.MethodGet && r.URL.Path == "/partner/gold/rate" && r.Header.Get("Authorization") == "Bearer "+benchToken:
		w.Write([]byte(goldRateBody))
	default:
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"success":false,"error":"Unauthorized","errorCode":""}`))
	}
}

// unthrottled is the client's own limiter with a limit no benchmark reaches,
// so the pacing code runs on every call without ever waiting.
func unthrottled() ratelimit.Limiter {
	return ratelimit.NewSlidingLog(ratelimit.Policy{Requests: 1 << 20, Window: time.Millisecond}, ratelimit.WithMargin(0))
}

func newBenchClient(tb testing.TB, base string, opts ...milligold.Option) *milligold.Client {
	tb.Helper()
	c, err := milligold.New(append([]milligold.Option{
		milligold.WithBaseURL(base + "/partner"),
		milligold.WithCredentials(benchPartner, benchSecret),
		milligold.WithLimiter(unthrottled()),
	}, opts...)...)
	if err != nil {
		tb.Fatalf("milligold.New: %v", err)
	}
	return c
}

// validated sends a test's client traffic through the validating transport
// (see newTestClient); the benchmarks go without, as they time the client.
func validated(t *testing.T, srvURL string) milligold.Option {
	return milligold.WithHTTPClient(&http.Client{Transport: conformance.NewTestTransport(t, srvURL+"/partner", nil)})
}

// handWritten is the peer: what a careful engineer writes without the
// client, given a token: one GET with the bearer header, a status check, a
// json decode into a struct of the same shape and a look at its success.
func handWritten(ctx context.Context, hc *http.Client, url, token string) (milligold.GoldRate, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return milligold.GoldRate{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return milligold.GoldRate{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return milligold.GoldRate{}, fmt.Errorf("GET gold rate: %s", resp.Status)
	}
	var body struct {
		Success bool               `json:"success"`
		Data    milligold.GoldRate `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return milligold.GoldRate{}, err
	}
	if !body.Success {
		return milligold.GoldRate{}, errors.New("GET gold rate: success is false")
	}
	return body.Data, nil
}

// BenchmarkGoldRate compares the client's GoldRate on a warm token with the
// hand-written call against the same local server, both on a fresh
// http.DefaultTransport clone. make bench prints the ratio.
func BenchmarkGoldRate(b *testing.B) {
	srv := httptest.NewServer(&rateAPI{now: time.Now})
	defer srv.Close()
	ctx := context.Background()

	b.Run("client", func(b *testing.B) {
		hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		c := newBenchClient(b, srv.URL, milligold.WithHTTPClient(hc))
		if _, err := c.GoldRate(ctx); err != nil { // warms the token and the connection
			b.Fatalf("GoldRate: %v", err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.GoldRate(ctx); err != nil {
				b.Fatalf("GoldRate: %v", err)
			}
		}
	})
	b.Run("handwritten", func(b *testing.B) {
		hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		url := srv.URL + "/partner/gold/rate"
		if _, err := handWritten(ctx, hc, url, benchToken); err != nil {
			b.Fatalf("handWritten: %v", err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := handWritten(ctx, hc, url, benchToken); err != nil {
				b.Fatalf("handWritten: %v", err)
			}
		}
	})
}

// TestGoldRateMatchesHandWritten keeps the benchmark honest: both calls
// decode the same gold rate.
func TestGoldRateMatchesHandWritten(t *testing.T) {
	srv := httptest.NewServer(&rateAPI{now: time.Now})
	defer srv.Close()
	ctx := context.Background()
	got, err := newBenchClient(t, srv.URL, validated(t, srv.URL)).GoldRate(ctx)
	if err != nil {
		t.Fatalf("GoldRate: %v", err)
	}
	want, err := handWritten(ctx, srv.Client(), srv.URL+"/partner/gold/rate", benchToken)
	if err != nil {
		t.Fatalf("handWritten: %v", err)
	}
	if !got.UpdatedAt.Equal(want.UpdatedAt) || !got.Rate.Equal(want.Rate.Decimal) || !got.GSTRate().Equal(want.GSTRate().Decimal) {
		t.Errorf("GoldRate() = %+v; want %+v (the hand-written decode)", got, want)
	}
}

// burst makes n goroutines call GoldRate at once and returns the first error.
func burst(c *milligold.Client, n int) error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			if _, err := c.GoldRate(context.Background()); err != nil {
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	return <-errs
}

// TestConcurrentCallersOneTokenPerPeriod: 64 goroutines calling at once
// cause one token request, and one more per expiry period as the (fake)
// clock moves past the token's expiry.
func TestConcurrentCallersOneTokenPerPeriod(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	api := &rateAPI{now: clk.Now}
	srv := httptest.NewServer(api)
	defer srv.Close()
	c := newBenchClient(t, srv.URL, milligold.WithClock(clk.Now), validated(t, srv.URL))

	const callers, periods = 64, 4
	for period := 1; period <= periods; period++ {
		if err := burst(c, callers); err != nil {
			t.Fatalf("period %d: GoldRate: %v", period, err)
		}
		if got := api.tokens.Load(); got != int64(period) {
			t.Fatalf("after period %d with %d concurrent callers: %d token requests; want %d", period, callers, got, period)
		}
		clk.Advance(benchLifetime * time.Second)
	}
}

// BenchmarkTokenPerPeriod64: each op is one expiry period in which 64
// goroutines call GoldRate at once; it reports token requests per period
// (1 is the target: one request in flight, shared by all callers).
func BenchmarkTokenPerPeriod64(b *testing.B) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	api := &rateAPI{now: clk.Now}
	srv := httptest.NewServer(api)
	defer srv.Close()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	c := newBenchClient(b, srv.URL, milligold.WithClock(clk.Now), milligold.WithHTTPClient(hc))
	periods := 0
	for b.Loop() {
		if err := burst(c, 64); err != nil {
			b.Fatalf("GoldRate: %v", err)
		}
		clk.Advance(benchLifetime * time.Second)
		periods++
	}
	b.ReportMetric(float64(api.tokens.Load())/float64(periods), "tokens/period")
}
