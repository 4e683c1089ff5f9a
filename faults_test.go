package milligold_test

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/milligold/milligold-go"
	"github.com/milligold/milligold-go/internal/faultserver"
	"github.com/milligold/milligold-go/internal/leak"
	"github.com/milligold/milligold-go/ratelimit"
	"github.com/milligold/milligold-go/sandbox"
)

// faultRig is the client under test, the real sandbox behind a fault server,
// and a log that keeps everything the client said.
type faultRig struct {
	srv    *faultserver.Server
	client *milligold.Client
	log    *leak.Log
}

func newFaultRig(t *testing.T, opts ...milligold.Option) *faultRig {
	t.Helper()
	sb, err := sandbox.New(sandbox.Default())
	if err != nil {
		t.Fatal(err)
	}
	r := &faultRig{srv: faultserver.New(t, sb), log: leak.NewLog()}
	opts = append([]milligold.Option{
		milligold.WithBaseURL(r.srv.URL),
		milligold.WithCredentials(sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret),
		milligold.WithHTTPClient(r.srv.Client()),
		milligold.WithLogger(r.log.Logger()),
	}, opts...)
	r.client, err = milligold.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *faultRig) goldRate(ctx context.Context) error { _, err := r.client.GoldRate(ctx); return err }

func (r *faultRig) userInfo(ctx context.Context) error {
	_, err := r.client.UserInfo(ctx, "1234567890")
	return err
}

func (r *faultRig) token(ctx context.Context) error { _, err := r.client.Token(ctx); return err }

// Outcome checks: each names what it wants, for the failure message.
type outcome struct {
	want string
	ok   func(error) bool
}

var (
	success  = outcome{"success", func(err error) bool { return err == nil }}
	deadline = outcome{"context.DeadlineExceeded", func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }}
	// A 429 whose reset lies past the deadline may come back at once, or be
	// waited for until the deadline: both are honest.
	rateLimitedOrDeadline = outcome{"*RateLimitError or context.DeadlineExceeded", func(err error) bool {
		var rl *milligold.RateLimitError
		return errors.As(err, &rl) || errors.Is(err, context.DeadlineExceeded)
	}}
	connReset = outcome{"a connection reset or EOF", func(err error) bool {
		return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
	}}
	unexpectedEOF = outcome{"io.ErrUnexpectedEOF", func(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }}
	badJSON       = outcome{"a *json.SyntaxError or io.ErrUnexpectedEOF", func(err error) bool {
		var se *json.SyntaxError
		return errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF)
	}}
	unauthorized = outcome{"ErrUnauthorized", func(err error) bool { return errors.Is(err, milligold.ErrUnauthorized) }}
)

func status(code int) outcome {
	return outcome{fmt.Sprintf("*APIError %d", code), func(err error) bool {
		var e *milligold.APIError
		return errors.As(err, &e) && e.StatusCode == code
	}}
}

func either(a, b outcome) outcome {
	return outcome{a.want + " or " + b.want, func(err error) bool { return a.ok(err) || b.ok(err) }}
}

// TestClientFaults is the client's fault table: the real sandbox behind a
// fault server on loopback. Each row asserts the error the caller can branch
// on (or the recovery), how many requests reached the server per operation
// (the retry bound; a POST never retried blindly), that the call came back by
// its context deadline, and that nothing the client logged or returned
// carries the secret or a token.
func TestClientFaults(t *testing.T) {
	skew := func(d time.Duration) faultserver.Fault {
		return faultserver.EditData("createdAt "+d.String(), func(data map[string]any) {
			if v, ok := data["createdAt"].(float64); ok {
				data["createdAt"] = v + d.Seconds()
			}
		})
	}
	garbled := func(v string) http.Header { return http.Header{ratelimit.HeaderReset: {v}} }
	type plan struct {
		op     string
		faults []faultserver.Fault
	}
	tests := []struct {
		name    string
		plans   []plan
		always  map[string]faultserver.Fault
		timeout time.Duration
		calls   int // how many times call runs; the outcome is the last one's
		call    func(*faultRig, context.Context) error
		want    outcome
		// sent: requests per operation the server saw, at most (and at least
		// atLeast, when set).
		sent    map[string]int
		atLeast map[string]int
		opts    []milligold.Option
	}{
		{name: "token request reset: POST not retried",
			plans: []plan{{faultserver.CreateAccessToken, []faultserver.Fault{faultserver.Reset()}}},
			call:  (*faultRig).goldRate, want: connReset,
			sent: map[string]int{faultserver.CreateAccessToken: 1, faultserver.GetGoldRate: 0}},
		{name: "gold rate reset: an error or one transparent retry",
			plans: []plan{{faultserver.GetGoldRate, []faultserver.Fault{faultserver.Reset()}}},
			call:  (*faultRig).goldRate, want: either(success, connReset),
			sent: map[string]int{faultserver.CreateAccessToken: 1, faultserver.GetGoldRate: 2}},
		{name: "gold rate body cut halfway",
			plans: []plan{{faultserver.GetGoldRate, []faultserver.Fault{faultserver.CutBody()}}},
			call:  (*faultRig).goldRate, want: unexpectedEOF,
			sent: map[string]int{faultserver.GetGoldRate: 1}},
		{name: "user info truncated JSON",
			plans: []plan{{faultserver.GetUserInfo, []faultserver.Fault{faultserver.BadJSON()}}},
			call:  (*faultRig).userInfo, want: badJSON,
			sent: map[string]int{faultserver.GetUserInfo: 1}},
		{name: "token response truncated JSON: POST not retried",
			plans: []plan{{faultserver.CreateAccessToken, []faultserver.Fault{faultserver.BadJSON()}}},
			call:  (*faultRig).goldRate, want: badJSON,
			sent: map[string]int{faultserver.CreateAccessToken: 1, faultserver.GetGoldRate: 0}},
		{name: "token response body cut",
			plans: []plan{{faultserver.CreateAccessToken, []faultserver.Fault{faultserver.CutBody()}}},
			call:  (*faultRig).token, want: unexpectedEOF,
			sent: map[string]int{faultserver.CreateAccessToken: 1}},
		{name: "500 is returned, not retried",
			plans: []plan{{faultserver.GetGoldRate, []faultserver.Fault{faultserver.Status(500, nil)}}},
			call:  (*faultRig).goldRate, want: status(500),
			sent: map[string]int{faultserver.GetGoldRate: 1}},
		{name: "503 with Retry-After is returned, not retried",
			plans: []plan{{faultserver.GetGoldRate, []faultserver.Fault{faultserver.Status(503, http.Header{"Retry-After": {"1"}})}}},
			call:  (*faultRig).goldRate, want: status(503),
			sent: map[string]int{faultserver.GetGoldRate: 1}},
		{name: "token endpoint 500",
			plans: []plan{{faultserver.CreateAccessToken, []faultserver.Fault{faultserver.Status(500, nil)}}},
			call:  (*faultRig).userInfo, want: status(500),
			sent: map[string]int{faultserver.CreateAccessToken: 1, faultserver.GetUserInfo: 0}},
		{name: "gold rate slower than the deadline",
			plans:   []plan{{faultserver.GetGoldRate, []faultserver.Fault{faultserver.Delay(time.Minute)}}},
			timeout: 500 * time.Millisecond,
			call:    (*faultRig).goldRate, want: deadline,
			sent: map[string]int{faultserver.GetGoldRate: 1}},
		{name: "token endpoint slower than the deadline",
			plans:   []plan{{faultserver.CreateAccessToken, []faultserver.Fault{faultserver.Delay(time.Minute)}}},
			timeout: 500 * time.Millisecond,
			call:    (*faultRig).goldRate, want: deadline,
			sent: map[string]int{faultserver.CreateAccessToken: 1, faultserver.GetGoldRate: 0}},
		{name: "429 without headers",
			plans:   []plan{{faultserver.GetGoldRate, []faultserver.Fault{faultserver.Status(429, nil)}}},
			timeout: 500 * time.Millisecond,
			call:    (*faultRig).goldRate, want: rateLimitedOrDeadline,
			sent: map[string]int{faultserver.GetGoldRate: 1}},
		{name: "429 with a garbled reset",
			plans:   []plan{{faultserver.GetGoldRate, []faultserver.Fault{faultserver.Status(429, garbled("tomorrow"))}}},
			timeout: 500 * time.Millisecond,
			call:    (*faultRig).goldRate, want: rateLimitedOrDeadline,
			sent: map[string]int{faultserver.GetGoldRate: 1}},
		{name: "429 resetting now is retried within the bound",
			plans: []plan{{faultserver.GetGoldRate, []faultserver.Fault{
				faultserver.Status(429, garbled("0")), faultserver.Status(429, garbled("0"))}}},
			call: (*faultRig).goldRate, want: success,
			sent: map[string]int{faultserver.GetGoldRate: 3}, atLeast: map[string]int{faultserver.GetGoldRate: 3}},
		{name: "429 on every attempt stops at the retry bound",
			always: map[string]faultserver.Fault{faultserver.GetGoldRate: faultserver.Status(429, garbled("0"))},
			call:   (*faultRig).goldRate, want: status(429),
			sent: map[string]int{faultserver.GetGoldRate: 1 + milligold.DefaultMaxRetries}},
		{name: "429 resetting in an hour is returned at once",
			plans: []plan{{faultserver.GetGoldRate, []faultserver.Fault{
				faultserver.Status(429, garbled(strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)))}}},
			call: (*faultRig).goldRate, want: status(429),
			sent: map[string]int{faultserver.GetGoldRate: 1}},
		// One renewal may take two token requests: a server that hands back
		// the stale token (the same JWT within one second) is asked once more.
		{name: "tokens issued then refused: one renewal, one retry, no loop",
			always: map[string]faultserver.Fault{faultserver.GetGoldRate: faultserver.Status(401, nil)},
			call:   (*faultRig).goldRate, want: unauthorized,
			sent:    map[string]int{faultserver.CreateAccessToken: 3, faultserver.GetGoldRate: 2},
			atLeast: map[string]int{faultserver.CreateAccessToken: 2, faultserver.GetGoldRate: 2}},
		// Two calls: five requests each at most, so the rate limit stays out of it.
		{name: "tokens refused on every call: one renewal per call",
			always: map[string]faultserver.Fault{faultserver.GetGoldRate: faultserver.Status(401, nil)},
			calls:  2,
			call:   (*faultRig).goldRate, want: unauthorized,
			sent: map[string]int{faultserver.CreateAccessToken: 2 * 3, faultserver.GetGoldRate: 2 * 2}},
		{name: "server clock 5 h behind: token still used, not renewed",
			plans: []plan{{faultserver.CreateAccessToken, []faultserver.Fault{skew(-5 * time.Hour)}}},
			calls: 3,
			call:  (*faultRig).goldRate, want: success,
			sent: map[string]int{faultserver.CreateAccessToken: 1, faultserver.GetGoldRate: 3}},
		{name: "server clock 5 h ahead: token still used, not renewed",
			plans: []plan{{faultserver.CreateAccessToken, []faultserver.Fault{skew(5 * time.Hour)}}},
			calls: 3,
			call:  (*faultRig).goldRate, want: success,
			sent: map[string]int{faultserver.CreateAccessToken: 1, faultserver.GetGoldRate: 3}},
		{name: "client clock 3 h ahead: one token for all calls",
			opts:  []milligold.Option{milligold.WithClock(func() time.Time { return time.Now().Add(3 * time.Hour) })},
			calls: 3,
			call:  (*faultRig).goldRate, want: success,
			sent: map[string]int{faultserver.CreateAccessToken: 1, faultserver.GetGoldRate: 3}},
		{name: "client clock 3 h behind: one token for all calls",
			opts:  []milligold.Option{milligold.WithClock(func() time.Time { return time.Now().Add(-3 * time.Hour) })},
			calls: 3,
			call:  (*faultRig).goldRate, want: success,
			sent: map[string]int{faultserver.CreateAccessToken: 1, faultserver.GetGoldRate: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newFaultRig(t, tt.opts...)
			for _, p := range tt.plans {
				r.srv.Plan(p.op, p.faults...)
			}
			for op, f := range tt.always {
				r.srv.Always(op, f)
			}
			timeout := cmp.Or(tt.timeout, 10*time.Second)
			var err error
			var late time.Duration
			for range max(tt.calls, 1) {
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				end, _ := ctx.Deadline()
				err = tt.call(r, ctx)
				late = max(late, time.Since(end))
				cancel()
			}
			if !tt.want.ok(err) {
				t.Errorf("error = %v (%T); want %s", err, err, tt.want.want)
			}
			for op, n := range tt.sent {
				if got := r.srv.Count(op); got > n || got < tt.atLeast[op] {
					t.Errorf("server saw %d %s requests; want at most %d (at least %d)", got, op, n, tt.atLeast[op])
				}
			}
			for _, req := range r.srv.Requests() {
				if req.Method == http.MethodPost && req.Fault == "" && req.Status == 0 {
					t.Errorf("a POST got no answer and was not planned to: %+v", req)
				}
			}
			// Not a speed check: a call that honours its context is back once
			// the deadline passes; one that does not sleeps a whole window.
			if late > 2*time.Second {
				t.Errorf("a call returned %v after its context deadline", late)
			}
			leak.Check(t, "the client's log", r.log.String(), sandbox.DefaultPartnerSecret)
			if err != nil {
				leak.Check(t, "the error", leak.Formats(err), sandbox.DefaultPartnerSecret)
			}
		})
	}
}

// TestClientKeepsTheSandboxLimit runs concurrent callers through one client
// against a sandbox with a short window, and checks what the server saw:
// no 429 at all, and never more requests than the limit in any window-long
// interval, whatever its alignment.
func TestClientKeepsTheSandboxLimit(t *testing.T) {
	cfg := sandbox.Default()
	cfg.RateLimit = sandbox.RateLimit{Requests: 5, WindowSeconds: 1}
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := faultserver.New(t, sb)
	policy := ratelimit.Policy{Requests: 5, Window: time.Second}
	client, err := milligold.New(
		milligold.WithBaseURL(srv.URL),
		milligold.WithCredentials(sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret),
		milligold.WithHTTPClient(srv.Client()),
		// The margin covers the time between the limiter's grant and the
		// server's stamp, which a loaded CI machine stretches.
		milligold.WithLimiter(ratelimit.NewSlidingLog(policy, ratelimit.WithMargin(500*time.Millisecond))),
	)
	if err != nil {
		t.Fatal(err)
	}
	const callers, each = 4, 3
	var wg sync.WaitGroup
	errs := make(chan error, callers*each)
	for range callers {
		wg.Go(func() {
			for i := range each {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				var err error
				if i%2 == 0 {
					_, err = client.GoldRate(ctx)
				} else {
					_, err = client.UserInfo(ctx, "1234567890")
				}
				cancel()
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	reqs := srv.Requests()
	if n := srv.Statuses("")[http.StatusTooManyRequests]; n != 0 {
		t.Errorf("the sandbox answered 429 %d times; want 0", n)
	}
	if got := faultserver.MaxInWindow(reqs, policy.Window); got > policy.Requests {
		t.Errorf("MaxInWindow = %d in %v; want at most %d", got, policy.Window, policy.Requests)
	}
	// Concurrent identical reads share one request, so the calls may take fewer.
	if want := callers*each + 1; len(reqs) > want || len(reqs) < 3 {
		t.Errorf("server saw %d requests; want one token request, then at most one per call (%d in all)", len(reqs), want)
	}
}
