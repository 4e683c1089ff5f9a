package milligold

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
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

// blockingNext answers GETs with body once release is closed, counting
// them; it panics instead when panicking is set.
type blockingNext struct {
	n         atomic.Int32
	release   chan struct{}
	panicking bool
}

func (b *blockingNext) RoundTrip(req *http.Request) (*http.Response, error) {
	b.n.Add(1)
	<-b.release
	if b.panicking {
		panic("next layer")
	}
	body := `{"success":true}`
	return &http.Response{
		Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req.WithContext(req.Context()), // as the bearer layer's copy would be
	}, nil
}

// waiters waits until n callers besides the first have joined key's flight.
func waiters(t *testing.T, rt *readTransport, key string, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		rt.fmu.Lock()
		f := rt.flights[key]
		joined := f != nil && f.waiting == n
		rt.fmu.Unlock()
		if joined {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d callers did not join the flight", n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestFlightAnswers: the first caller of a GET gets the answer itself (its
// own request, the bytes read once), the callers that joined get copies
// with a header of their own; one request for all.
func TestFlightAnswers(t *testing.T) {
	base, _ := url.Parse("http://api.test/partner")
	next := &blockingNext{release: make(chan struct{})}
	rt := &readTransport{next: next, now: time.Now, origin: base}
	get := func() *http.Request {
		req, _ := http.NewRequest(http.MethodGet, "http://api.test/partner/gold/rate", nil)
		return req
	}
	first := get()
	type answer struct {
		resp *http.Response
		err  error
	}
	firstDone := make(chan answer, 1)
	go func() {
		resp, err := rt.RoundTrip(first)
		firstDone <- answer{resp, err}
	}()
	for next.n.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	const joiners = 5
	others := make(chan answer, joiners)
	for range joiners {
		go func() {
			resp, err := rt.RoundTrip(get())
			others <- answer{resp, err}
		}()
	}
	waiters(t, rt, "/partner/gold/rate", joiners)
	close(next.release)
	a := <-firstDone
	if a.err != nil {
		t.Fatal(a.err)
	}
	if a.resp.Request != first {
		t.Error("the first caller's answer names another request (the layer below's copy)")
	}
	if _, ok := a.resp.Body.(*bufferedBody); !ok {
		t.Errorf("the first caller's body is a %T; want the read bytes", a.resp.Body)
	}
	for range joiners {
		o := <-others
		if o.err != nil {
			t.Fatal(o.err)
		}
		b, _ := io.ReadAll(o.resp.Body)
		if string(b) != `{"success":true}` || o.resp.Status != "200 OK" || o.resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("a joined caller's answer: %q %q %v", o.resp.Status, b, o.resp.Header)
		}
		o.resp.Header.Set("X-Mine", "1") // its own header: the others do not see this
	}
	if a.resp.Header.Get("X-Mine") != "" {
		t.Error("a joined caller's header is the first caller's")
	}
	if n := next.n.Load(); n != 1 {
		t.Errorf("%d requests below; want 1", n)
	}
	if len(rt.flights) != 0 {
		t.Errorf("%d flights left", len(rt.flights))
	}
}

// TestFlightPanic: when the request panics in the first caller's goroutine,
// that caller gets the panic and the callers waiting on it an error.
func TestFlightPanic(t *testing.T) {
	next := &blockingNext{release: make(chan struct{}), panicking: true}
	rt := &readTransport{next: next, now: time.Now}
	get := func() *http.Request {
		req, _ := http.NewRequest(http.MethodGet, "http://api.test/partner/gold/rate", nil)
		return req
	}
	panicked := make(chan any, 1)
	go func() {
		defer func() { panicked <- recover() }()
		rt.RoundTrip(get())
	}()
	for next.n.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	joined := make(chan error, 1)
	go func() {
		_, err := rt.RoundTrip(get())
		joined <- err
	}()
	waiters(t, rt, "http://api.test/partner/gold/rate", 1) // no origin: the whole URL
	close(next.release)
	if p := <-panicked; p == nil {
		t.Error("the first caller did not get the panic")
	}
	if err := <-joined; !errors.Is(err, errFlightAborted) {
		t.Errorf("the joined caller: %v; want errFlightAborted", err)
	}
}

// TestFlightKey: an uncached GET at the Client's origin is known by its
// path; anything else by its whole URL.
func TestFlightKey(t *testing.T) {
	base, _ := url.Parse("http://api.test/partner")
	rt := &readTransport{origin: base}
	for raw, want := range map[string]string{
		"http://api.test/partner/gold/rate":         "/partner/gold/rate",
		"http://api.test/partner/user/info/12%2F34": "/partner/user/info/12%2F34",
		"http://api.test/partner/gold/rate?x=1":     "http://api.test/partner/gold/rate?x=1",
		"https://api.test/partner/gold/rate":        "https://api.test/partner/gold/rate",
		"http://other.test/partner/gold/rate":       "http://other.test/partner/gold/rate",
		"http://u@api.test/partner/gold/rate":       "http://u@api.test/partner/gold/rate",
		"http://api.test/partner/gold/rate#f":       "http://api.test/partner/gold/rate#f",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := rt.flightKey(u); got != want {
			t.Errorf("flightKey(%s) = %q; want %q", raw, got, want)
		}
	}
}
