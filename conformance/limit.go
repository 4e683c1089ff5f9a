package conformance

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// resetMargin covers the one-second resolution of the reset header.
const resetMargin = time.Second

type limitedKey struct{}

// expectLimited marks requests whose 429 the case wants to see, so the
// pacer does not wait it out.
func expectLimited(ctx context.Context) context.Context {
	return context.WithValue(ctx, limitedKey{}, true)
}

// pacer is the suite's api.HttpRequestDoer: a 429 that a case did not ask
// for is waited out until the window's reset and the request sent again,
// at most twice, so the suite's own traffic does not fail its cases against
// an API that limits it. It is not safe for concurrent use; Run sends one
// request at a time.
type pacer struct {
	client      *http.Client
	resetHeader string
	maxWait     time.Duration
	now         func() time.Time
	sleep       func(context.Context, time.Duration) error
}

func (p *pacer) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for attempt := 0; ; attempt++ {
		r := req
		if attempt > 0 {
			if req.GetBody == nil && req.Body != nil {
				return nil, fmt.Errorf("%s %s: cannot resend a body after a 429", req.Method, req.URL.Path)
			}
			r = req.Clone(ctx)
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		resp, err := p.client.Do(r)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests || attempt == 2 {
			return resp, err
		}
		if limited, _ := ctx.Value(limitedKey{}).(bool); limited {
			return resp, nil
		}
		wait, ok := p.untilReset(resp.Header)
		if !ok {
			return resp, nil // the case fails on the 429; the Transport names what is wrong with it
		}
		resp.Body.Close()
		if err := p.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// untilReset returns how long until the window in h resets, plus the
// margin; false when the header is missing or the reset is implausible.
func (p *pacer) untilReset(h http.Header) (time.Duration, bool) {
	reset, err := strconv.ParseInt(h.Get(p.resetHeader), 10, 64)
	if err != nil {
		return 0, false
	}
	wait := max(time.Unix(reset, 0).Sub(p.now())+resetMargin, 0)
	return wait, wait <= p.maxWait
}

func realSleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *session) window() time.Duration {
	return s.pol.Window
}

// maxWait is the longest a window can take to reset: the window, the reset
// header's rounding up to a second, and the margin.
func (s *session) maxWait() time.Duration { return s.window() + 2*resetMargin }

// waitPast sleeps until just after reset.
func (s *session) waitPast(ctx context.Context, reset time.Time) error {
	wait := reset.Sub(s.opts.Now()) + resetMargin
	if wait > s.maxWait() {
		return fmt.Errorf("the window resets in %s; want at most %s", wait.Round(time.Second), s.window())
	}
	if wait <= 0 {
		return nil
	}
	return s.opts.Sleep(ctx, wait)
}

// check429 checks a rate-limited answer and returns its window's reset.
func (s *session) check429(r response) (time.Time, error) {
	if err := wantError(r, http.StatusTooManyRequests); err != nil {
		return time.Time{}, err
	}
	rl := s.pol
	windowSeconds := int64(rl.Window / time.Second)
	header := func(name string) (int64, error) {
		v := r.header.Get(name)
		if v == "" {
			return 0, fmt.Errorf("no %s header on the 429", name)
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s = %q; want an integer", name, v)
		}
		return n, nil
	}
	limit, err := header(rl.LimitHeader)
	if err != nil {
		return time.Time{}, err
	}
	if limit != int64(rl.Requests) {
		return time.Time{}, fmt.Errorf("%s = %d; want %d (x-milligold-rate-limit)", rl.LimitHeader, limit, rl.Requests)
	}
	remaining, err := header(rl.RemainingHeader)
	if err != nil {
		return time.Time{}, err
	}
	if remaining != 0 {
		return time.Time{}, fmt.Errorf("%s = %d on a 429; want 0", rl.RemainingHeader, remaining)
	}
	reset, err := header(rl.ResetHeader)
	if err != nil {
		return time.Time{}, err
	}
	now := s.opts.Now().Unix()
	if reset < now || reset > now+windowSeconds+1 {
		return time.Time{}, fmt.Errorf("%s = %d, %ds from now; want within the %ds window", rl.ResetHeader, reset, reset-now, windowSeconds)
	}
	return time.Unix(reset, 0), nil
}

// rateLimited fills whatever window is open to learn its reset, waits past
// it, then sends the limit's worth of requests, which must all succeed, and
// one more, which must get 429 with the three headers.
func rateLimited(ctx context.Context, s *session) error {
	ctx = expectLimited(ctx)
	rl := s.pol
	if _, err := s.accessToken(ctx); err != nil {
		return err
	}
	var reset time.Time
	for i := 0; reset.IsZero(); i++ {
		if i > rl.Requests {
			return fmt.Errorf("no 429 after %d requests; the limit is %d per %v", i, rl.Requests, rl.Window)
		}
		r, err := s.send(ctx, opRate)
		if err != nil {
			return err
		}
		if r.status != http.StatusTooManyRequests {
			if err := checkGoldRate(r); err != nil {
				return fmt.Errorf("filling the open window: %w", err)
			}
			continue
		}
		if reset, err = s.check429(r); err != nil {
			return fmt.Errorf("filling the open window: %w", err)
		}
	}
	if err := s.waitPast(ctx, reset); err != nil {
		return err
	}
	for i := 1; i <= rl.Requests; i++ {
		r, err := s.send(ctx, opRate)
		if err != nil {
			return err
		}
		if err := checkGoldRate(r); err != nil {
			return fmt.Errorf("request %d of %d in a fresh window: %w", i, rl.Requests, err)
		}
	}
	r, err := s.send(ctx, opRate)
	if err != nil {
		return err
	}
	if s.reset, err = s.check429(r); err != nil {
		return fmt.Errorf("request %d in a fresh window: %w", rl.Requests+1, err)
	}
	return nil
}

// stillLimited checks that op, too, is refused until the window resets.
func stillLimited(op string) func(context.Context, *session) error {
	return func(ctx context.Context, s *session) error {
		if s.reset.IsZero() {
			return fmt.Errorf("no full window to test (%s: 429 did not pass)", opRate)
		}
		r, err := s.send(expectLimited(ctx), op)
		if err != nil {
			return err
		}
		_, err = s.check429(r)
		return err
	}
}

// windowReopens waits past the reset of the full window; the next request
// must succeed.
func windowReopens(ctx context.Context, s *session) error {
	if s.reset.IsZero() {
		return fmt.Errorf("no full window to wait out (%s: 429 did not pass)", opRate)
	}
	if err := s.waitPast(ctx, s.reset); err != nil {
		return err
	}
	r, err := s.send(expectLimited(ctx), opRate)
	if err != nil {
		return err
	}
	return checkGoldRate(r)
}
