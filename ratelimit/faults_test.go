package ratelimit_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/milligold/milligold-go/internal/faultserver"
	"github.com/milligold/milligold-go/ratelimit"
)

// okAPI answers every request with a small success envelope.
var okAPI = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"success":true,"data":{"rate":7150.5}}`)
})

// TestTransportFaults runs ratelimit.Transport on a real loopback connection
// against 429s that are missing, garbled or far away, and checks the three
// promises: back within the context deadline, no blind retry of a request that
// may have had effects, and at most the retry bound.
func TestTransportFaults(t *testing.T) {
	policy := ratelimit.Policy{Requests: 10, Window: 20 * time.Second}
	inOneSecond := strconv.FormatInt(time.Now().Add(time.Second).Unix()+1, 10)
	tests := []struct {
		name     string
		method   string
		faults   []faultserver.Fault
		deadline time.Duration
		// want: the status returned (0: an error), the error when 0, and how
		// many requests the server saw.
		wantStatus int
		wantErr    error
		wantSent   int
	}{
		// The first three rows accept the 429 itself too: returning it at once
		// when the reset lies past the deadline is better than sleeping into it.
		{name: "429 without headers waits a window: the deadline comes first",
			method: "GET", faults: []faultserver.Fault{faultserver.Status(429, nil)}, deadline: 300 * time.Millisecond,
			wantErr: context.DeadlineExceeded, wantSent: 1},
		{name: "429 with a garbled reset is read as a window",
			method: "GET", faults: []faultserver.Fault{faultserver.Status(429, http.Header{"X-Rate-Limit-Reset": {"soon-ish"}})}, deadline: 300 * time.Millisecond,
			wantErr: context.DeadlineExceeded, wantSent: 1},
		{name: "429 with a negative reset is read as a window",
			method: "GET", faults: []faultserver.Fault{faultserver.Status(429, http.Header{"X-Rate-Limit-Reset": {"-5"}})}, deadline: 300 * time.Millisecond,
			wantErr: context.DeadlineExceeded, wantSent: 1},
		{name: "429 resetting in a second is waited out and retried",
			method: "GET", faults: []faultserver.Fault{faultserver.Status(429, http.Header{"X-Rate-Limit-Reset": {inOneSecond}, "X-Rate-Limit-Limit": {"10"}})}, deadline: 10 * time.Second,
			wantStatus: 200, wantSent: 2},
		{name: "429 resetting in an hour is returned at once",
			method: "GET", faults: []faultserver.Fault{faultserver.Status(429, http.Header{"X-Rate-Limit-Reset": {strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)}})}, deadline: 10 * time.Second,
			wantStatus: 429, wantSent: 1},
		{name: "429 on every attempt stops after the retry bound",
			method: "GET", faults: []faultserver.Fault{
				faultserver.Status(429, http.Header{"X-Rate-Limit-Reset": {"0"}}),
				faultserver.Status(429, http.Header{"X-Rate-Limit-Reset": {"0"}}),
				faultserver.Status(429, http.Header{"X-Rate-Limit-Reset": {"0"}}),
				faultserver.Status(429, http.Header{"X-Rate-Limit-Reset": {"0"}}),
			}, deadline: 10 * time.Second,
			wantStatus: 429, wantSent: 3},
		{name: "a POST is not retried after a 429",
			method: "POST", faults: []faultserver.Fault{faultserver.Status(429, http.Header{"X-Rate-Limit-Reset": {"0"}})}, deadline: 10 * time.Second,
			wantStatus: 429, wantSent: 1},
		{name: "a reset connection is returned, not retried by the limiter",
			method: "POST", faults: []faultserver.Fault{faultserver.Reset()}, deadline: 10 * time.Second,
			wantErr: errAny, wantSent: 1},
		{name: "a response slower than the deadline",
			method: "GET", faults: []faultserver.Fault{faultserver.Delay(time.Minute)}, deadline: 300 * time.Millisecond,
			wantErr: context.DeadlineExceeded, wantSent: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := faultserver.New(t, okAPI)
			op := faultserver.GetGoldRate
			path := "/gold/rate"
			if tt.method == "POST" {
				op, path = faultserver.CreateAccessToken, "/auth/token"
			}
			srv.Plan(op, tt.faults...)
			rt := &ratelimit.Transport{Base: srv.Client().Transport, Limiter: ratelimit.NewSlidingLog(policy), Policy: policy}

			ctx, cancel := context.WithTimeout(context.Background(), tt.deadline)
			defer cancel()
			deadline, _ := ctx.Deadline()
			req, _ := http.NewRequestWithContext(ctx, tt.method, srv.URL+path, body(tt.method))
			res, err := rt.RoundTrip(req)
			returned := time.Now()
			if res != nil {
				res.Body.Close()
			}

			switch {
			case tt.wantErr == context.DeadlineExceeded && err == nil && res.StatusCode == 429:
			case tt.wantErr == errAny && err == nil:
				t.Errorf("RoundTrip = %v, nil; want an error", res.Status)
			case tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Errorf("RoundTrip error = %v; want %v", err, tt.wantErr)
			case tt.wantErr == nil && (err != nil || res.StatusCode != tt.wantStatus):
				t.Errorf("RoundTrip = %v, %v; want status %d", res, err, tt.wantStatus)
			}
			if got := srv.Count(op); got != tt.wantSent {
				t.Errorf("server saw %d requests; want %d", got, tt.wantSent)
			}
			// Not a speed check: a call that honours its context is back as
			// soon as the deadline passes; one that does not sleeps a window.
			if late := returned.Sub(deadline); late > 2*time.Second {
				t.Errorf("RoundTrip returned %v after the context deadline", late)
			}
		})
	}
}

// TestTransportKeepsTheLimitUnderLoad sends more requests than one window
// allows from several goroutines and checks what the server saw: never more
// than the limit in any window-long interval, whatever its alignment.
func TestTransportKeepsTheLimitUnderLoad(t *testing.T) {
	policy := ratelimit.Policy{Requests: 5, Window: 500 * time.Millisecond}
	srv := faultserver.New(t, okAPI)
	rt := &ratelimit.Transport{
		Base: srv.Client().Transport,
		// The margin covers the time between the limiter's grant and the
		// server's arrival stamp, which a loaded CI machine can stretch.
		Limiter: ratelimit.NewSlidingLog(policy, ratelimit.WithMargin(300*time.Millisecond)),
		Policy:  policy,
	}
	const goroutines, each = 4, 4
	errs := make(chan error, goroutines*each)
	for range goroutines {
		go func() {
			for range each {
				req, _ := http.NewRequest("GET", srv.URL+"/gold/rate", nil)
				res, err := rt.RoundTrip(req)
				if err == nil {
					res.Body.Close()
					if res.StatusCode != 200 {
						err = errors.New(res.Status)
					}
				}
				errs <- err
			}
		}()
	}
	for range goroutines * each {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	reqs := srv.Requests()
	if len(reqs) != goroutines*each {
		t.Fatalf("server saw %d requests; want %d", len(reqs), goroutines*each)
	}
	if got := faultserver.MaxInWindow(reqs, policy.Window); got > policy.Requests {
		t.Errorf("MaxInWindow = %d in %v; want at most %d", got, policy.Window, policy.Requests)
	}
}

var errAny = errors.New("any error")

func body(method string) io.Reader {
	if method == "POST" {
		return strings.NewReader("partnerId=p1&partnerSecret=fault-fixture")
	}
	return nil
}
