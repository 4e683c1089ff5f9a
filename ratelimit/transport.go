package ratelimit

import (
	"context"
	"io"
	"net/http"
	"time"
)

// Transport is an http.RoundTripper that paces requests with a Limiter,
// adopts the limit the server announces, reports each round trip to a
// Limiter that is a RoundTripObserver, and waits out a 429 until its reset
// before retrying, within a bound. Only requests Retry accepts are retried
// (GET and HEAD by default: others may have had effects), and only when their
// body can be replayed. It never modifies the caller's request and closes
// request bodies on every path. Transport is safe for concurrent use.
type Transport struct {
	Base    http.RoundTripper // nil means http.DefaultTransport
	Limiter Limiter           // nil means no pacing and no retries
	Policy  Policy
	Retries int                      // retries after a 429; 0 means 2, negative means none
	MaxWait time.Duration            // longest reset waited for; 0 means 2*Policy.Window
	Retry   func(*http.Request) bool // nil means GET and HEAD only
	Now     func() time.Time         // nil means time.Now
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	retries := t.Retries
	if retries == 0 {
		retries = 2
	}
	maxWait := t.MaxWait
	if maxWait == 0 {
		maxWait = 2 * t.Policy.Window
	}
	now := t.Now
	if now == nil {
		now = time.Now
	}
	retry := t.Retry
	if retry == nil {
		retry = idempotent
	}
	attempt := req
	for i := 0; ; i++ {
		if t.Limiter != nil {
			if err := t.Limiter.Wait(ctx); err != nil {
				closeBody(attempt)
				return nil, err
			}
		}
		sent := now()
		resp, err := base(t.Base).RoundTrip(attempt)
		if o, ok := t.Limiter.(RoundTripObserver); ok {
			// Also on an error: a request that failed may still have arrived,
			// no later than now.
			o.ObserveRoundTrip(now().Sub(sent))
		}
		if err != nil {
			return nil, err
		}
		if n, ok := t.Policy.Limit(resp.Header); ok && t.Limiter != nil {
			t.Limiter.Observe(n)
		}
		if resp.StatusCode != http.StatusTooManyRequests {
			return resp, nil
		}
		at := now()
		wait := t.Policy.Reset(resp.Header, at)
		if t.Limiter != nil {
			t.Limiter.Penalize(at.Add(min(wait, maxWait)))
		}
		if i >= retries || wait > maxWait || !retry(req) || t.Limiter == nil || beyondDeadline(ctx, wait) {
			return resp, nil
		}
		next, err := replay(req)
		if err != nil || next == nil {
			return resp, nil
		}
		drain(resp)
		attempt = next
	}
}

// replay returns a copy of req with a fresh body from GetBody, or nil when
// the body cannot be replayed.
func replay(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.Body == nil || req.Body == http.NoBody {
		return r, nil
	}
	if req.GetBody == nil {
		return nil, nil
	}
	b, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r.Body = b
	return r, nil
}

// beyondDeadline reports whether ctx ends before wait is over: then waiting
// for the reset cannot succeed, and the caller is better served by the 429 now.
func beyondDeadline(ctx context.Context, wait time.Duration) bool {
	d, ok := ctx.Deadline()
	return ok && time.Until(d) < wait
}

func idempotent(r *http.Request) bool {
	return r.Method == http.MethodGet || r.Method == http.MethodHead
}

func base(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		return http.DefaultTransport
	}
	return rt
}

func closeBody(r *http.Request) {
	if r.Body != nil {
		r.Body.Close()
	}
}

// drain reads a little of a response body so the connection can be reused, then closes it.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
}
