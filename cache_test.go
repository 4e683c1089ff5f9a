package milligold

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milligold/milligold-go/internal/clock"
	"github.com/milligold/milligold-go/sandbox"
	"github.com/milligold/milligold-go/sandbox/sandboxtest"
)

// rateCounter fronts a sandbox, counting gold-rate requests; fail makes the
// sandbox answer them 500 (its opt-in fault header), slow delays them.
type rateCounter struct {
	URL  string
	n    atomic.Int32
	fail atomic.Bool
	slow time.Duration
}

func newRateCounter(t *testing.T) *rateCounter {
	sb := sandboxtest.New(t, sandboxtest.WithFaults())
	rc := &rateCounter{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/gold/rate") {
			rc.n.Add(1)
			time.Sleep(rc.slow)
			if rc.fail.Load() {
				r.Header.Set(sandbox.FaultHeader, "500")
			}
		}
		sb.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL + sandbox.BasePath
	return rc
}

func TestWithCacheOneRequestPerTTL(t *testing.T) {
	rc := newRateCounter(t)
	clk := clock.NewFake(time.Now())
	c, err := New(WithBaseURL(rc.URL), WithCredentials(sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret),
		WithCache("getGoldRate", 10*time.Second), WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	var cached atomic.Int32
	for range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var info CacheInfo
			if _, err := c.GoldRate(WithCacheInfo(ctx, &info)); err != nil {
				t.Error(err)
			}
			if info.Cached {
				cached.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := rc.n.Load(); n != 1 {
		t.Errorf("1000 concurrent GoldRate calls: %d upstream requests; want 1", n)
	}

	clk.Advance(11 * time.Second)
	rc.fail.Store(true)
	var info CacheInfo
	if _, err := c.GoldRate(WithCacheInfo(ctx, &info)); err != nil {
		t.Fatalf("GoldRate when the refresh fails = %v; want the stale answer", err)
	}
	if !info.Stale || info.Age < 11*time.Second || info.Err == nil || !strings.Contains(info.Err.Error(), "500") {
		t.Errorf("CacheInfo of a stale answer = %+v; want Stale, Age ≥ 11s, Err naming the 500", info)
	}
	if n := rc.n.Load(); n != 2 {
		t.Errorf("upstream requests = %d; want 2 (one refresh attempt)", n)
	}

	rc.fail.Store(false)
	info = CacheInfo{}
	if _, err := c.GoldRate(WithCacheInfo(ctx, &info)); err != nil || info.Cached || info.Stale {
		t.Errorf("GoldRate after the API recovers = %v, %+v; want a fresh answer", err, info)
	}
}

func TestConcurrentReadsShareOneRequest(t *testing.T) {
	rc := newRateCounter(t)
	rc.slow = 300 * time.Millisecond
	c, err := New(WithBaseURL(rc.URL), WithCredentials(sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, err := c.GoldRate(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	// Goroutines that start after the flight lands fly again: a few at most.
	if n := rc.n.Load(); n > 3 {
		t.Errorf("200 concurrent GoldRate calls without a cache: %d upstream requests; want 1 (3 at most)", n)
	}
}

func TestWithCacheRejects(t *testing.T) {
	for _, tc := range []struct {
		op  string
		ttl time.Duration
	}{{"createAccessToken", time.Second}, {"nope", time.Second}, {"getGoldRate", 0}} {
		if _, err := New(WithCredentials("p", "s"), WithCache(tc.op, tc.ttl)); err == nil {
			t.Errorf("WithCache(%q, %s): no error", tc.op, tc.ttl)
		}
	}
}
