package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milligold/milligold-go/internal/clock"
)

// scripted answers each request with the next status of a script (the last
// one repeats) and records the bodies it received.
type scripted struct {
	mu      sync.Mutex
	answers []func(w http.ResponseWriter)
	bodies  []string
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	i := min(len(s.bodies), len(s.answers)-1)
	s.bodies = append(s.bodies, string(b))
	s.mu.Unlock()
	s.answers[i](w)
}

func (s *scripted) hits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.bodies)
}

func tooMany(reset string, limit string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		if limit != "" {
			w.Header().Set(HeaderLimit, limit)
		}
		if reset != "" {
			w.Header().Set(HeaderReset, reset)
		}
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"success":false,"error":"too many requests","errorCode":"x"}`)
	}
}

func ok(w http.ResponseWriter) { io.WriteString(w, `{"success":true}`) }

func TestTransport(t *testing.T) {
	for _, c := range []struct {
		name      string
		method    string
		body      string
		answers   []func(http.ResponseWriter)
		maxWait   time.Duration
		wantCode  int
		wantHits  int
		wantWait  time.Duration // virtual time the call took
		wantLimit int
	}{
		{"a 429 is waited out and retried", http.MethodGet, "", []func(http.ResponseWriter){tooMany("2", ""), ok},
			0, 200, 2, 2 * time.Second, 3},
		{"an absent reset falls back to the window", http.MethodGet, "", []func(http.ResponseWriter){tooMany("", ""), ok},
			0, 200, 2, 20 * time.Second, 3},
		{"retries are bounded", http.MethodGet, "", []func(http.ResponseWriter){tooMany("1", "")},
			0, 429, 3, 2 * time.Second, 3},
		{"a POST is not retried", http.MethodPost, "a=1", []func(http.ResponseWriter){tooMany("1", ""), ok},
			0, 429, 1, 0, 3},
		{"a reset beyond MaxWait is not waited for", http.MethodGet, "", []func(http.ResponseWriter){tooMany("600", ""), ok},
			time.Minute, 429, 1, 0, 3},
		{"an announced limit is adopted", http.MethodGet, "", []func(http.ResponseWriter){tooMany("1", "2"), ok},
			0, 200, 2, time.Second, 2},
		{"a GET body is replayed", http.MethodGet, "q=1", []func(http.ResponseWriter){tooMany("1", ""), ok},
			0, 200, 2, time.Second, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := &scripted{answers: c.answers}
			ts := httptest.NewServer(srv)
			defer ts.Close()
			clk := clock.NewAuto(t0)
			lim := NewSlidingLog(policy, WithClock(clk.Now, clk.Sleep))
			rt := &Transport{Limiter: lim, Policy: policy, Now: clk.Now, MaxWait: c.maxWait}
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			req, _ := http.NewRequest(c.method, ts.URL+"/partner/gold/rate", body)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.wantCode {
				t.Errorf("status %d; want %d", resp.StatusCode, c.wantCode)
			}
			if c.wantCode == 429 && !bytes.Contains(b, []byte("too many")) {
				t.Errorf("the returned 429 lost its body: %q", b)
			}
			if got := srv.hits(); got != c.wantHits {
				t.Errorf("server saw %d requests; want %d", got, c.wantHits)
			}
			if got := clk.Now().Sub(t0); got != c.wantWait {
				t.Errorf("the call waited %v; want %v", got, c.wantWait)
			}
			if got := lim.Limit(); got != c.wantLimit {
				t.Errorf("limiter limit %d; want %d", got, c.wantLimit)
			}
			for i, got := range srv.bodies {
				if got != c.body {
					t.Errorf("attempt %d sent body %q; want %q", i, got, c.body)
				}
			}
		})
	}
}

// closeTracker is a request body that records Close.
type closeTracker struct {
	io.Reader
	closed atomic.Bool
}

func (c *closeTracker) Close() error { c.closed.Store(true); return nil }

func TestTransportCancelWhileWaiting(t *testing.T) {
	clk := clock.NewFake(t0)
	lim := NewSlidingLog(Policy{Requests: 1, Window: time.Minute}, WithClock(clk.Now, clk.Sleep))
	lim.Wait(context.Background()) // the window is full
	var called atomic.Bool
	base := roundTripFunc(func(*http.Request) (*http.Response, error) { called.Store(true); return nil, errors.New("unreachable") })
	rt := &Transport{Base: base, Limiter: lim, Policy: policy, Now: clk.Now}
	ctx, cancel := context.WithCancel(context.Background())
	body := &closeTracker{Reader: strings.NewReader("x")}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://example.invalid/", body)
	done := make(chan error, 1)
	go func() {
		_, err := rt.RoundTrip(req)
		done <- err
	}()
	waitFor(func() bool { return clk.Sleepers() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("RoundTrip after cancel = %v; want context.Canceled", err)
	}
	if called.Load() {
		t.Error("the request was sent after its context was cancelled")
	}
	if !body.closed.Load() {
		t.Error("the request body was not closed on the cancel path")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestTransportReturns429WhenTheDeadlineComesFirst: a reset the caller's
// deadline cannot reach is not waited for; the caller gets the 429 at once.
func TestTransportReturns429WhenTheDeadlineComesFirst(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusTooManyRequests) // no reset header: the whole window
	}))
	defer srv.Close()
	policy := Policy{Requests: 10, Window: 20 * time.Second}
	tr := &Transport{Limiter: NewSlidingLog(policy), Policy: policy}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("RoundTrip = %v; want the 429 response", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || calls.Load() != 1 {
		t.Errorf("status %d after %d requests; want 429 after 1", resp.StatusCode, calls.Load())
	}
	if ctx.Err() != nil {
		t.Errorf("RoundTrip waited until the deadline")
	}
}

// TestTransportReportsRoundTrips: the time from the limiter's go-ahead to
// the response (or the error) reaches an adaptive limiter's margin.
func TestTransportReportsRoundTrips(t *testing.T) {
	clk := clock.NewAuto(t0)
	lim := NewSlidingLog(policy, WithClock(clk.Now, clk.Sleep))
	took := 250 * time.Millisecond
	fail := false
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		clk.Advance(took)
		if fail {
			return nil, errors.New("connection reset")
		}
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("{}")), Request: r}, nil
	})
	rt := &Transport{Base: base, Limiter: lim, Policy: policy, Now: clk.Now}
	send := func() {
		req, _ := http.NewRequest(http.MethodGet, "http://example.invalid/", nil)
		if resp, err := rt.RoundTrip(req); err == nil {
			resp.Body.Close()
		}
	}
	if got := lim.Margin(); got != DefaultMargin {
		t.Fatalf("Margin() before any request = %v; want %v", got, DefaultMargin)
	}
	send()
	if got := lim.Margin(); got != took {
		t.Errorf("Margin() after a %v round trip = %v; want %v", took, got, took)
	}
	took, fail = 700*time.Millisecond, true
	send()
	if got := lim.Margin(); got != took {
		t.Errorf("Margin() after a request that failed after %v = %v; want %v", took, got, took)
	}
}
