// Package sandboxtest starts a sandbox on loopback for one test:
//
//	sb := sandboxtest.New(t)
//	client, _ := milligold.New(milligold.WithBaseURL(sb.URL),
//		milligold.WithCredentials(sb.PartnerID, sb.PartnerSecret))
//
// Start does the same outside a test, for examples and TestMain.
// WithControl adds the control API, the journal and the console: the
// sandbox a test suite in another language drives over HTTP (sb.ControlURL,
// sb.ControlToken).
package sandboxtest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/milligold/milligold-go/internal/clock"
	"github.com/milligold/milligold-go/sandbox"
)

// Sandbox is a running sandbox and the credentials of its first partner.
type Sandbox struct {
	URL           string // base URL, ending in /partner
	PartnerID     string
	PartnerSecret string
	Handler       *sandbox.Sandbox
	ControlToken  string // the control API's token, under WithControl
	ControlURL    string // the control API's base, ending in /_sandbox/api/, under WithControl

	srv  *httptest.Server
	t    testing.TB  // nil when started with Start
	fake *clock.Fake // nil unless WithFakeClock
}

// Option adjusts the sandbox before it starts.
type Option func(*settings)

type settings struct {
	cfg     sandbox.Config
	fake    bool
	control *sandbox.ControlOptions
}

// WithConfig edits the configuration (the embedded default unless replaced).
func WithConfig(edit func(*sandbox.Config)) Option {
	return func(s *settings) { edit(&s.cfg) }
}

// WithFaults enables sandbox.FaultHeader, so a test can provoke the 500s.
func WithFaults() Option { return func(s *settings) { s.cfg.Faults = true } }

// WithLogger sends the sandbox's request log to l.
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.cfg.Logger = l } }

// WithControl turns the control API, the Prefer headers, the journal and
// the console on (see sandbox.NewWithControl), for tests that drive the
// sandbox over HTTP as a suite in another language would.
func WithControl(o sandbox.ControlOptions) Option {
	return func(s *settings) { s.control = &o }
}

// WithFakeClock stops the sandbox's clock at a fixed time; Advance moves it,
// so tests cover token expiry and window resets without sleeping. Give the
// client the same clock with Now and Sleep.
func WithFakeClock() Option { return func(s *settings) { s.fake = true } }

// New starts a sandbox on loopback, closed by t.Cleanup.
func New(t testing.TB, opts ...Option) *Sandbox {
	t.Helper()
	sb, err := Start(opts...)
	if err != nil {
		t.Fatalf("sandboxtest: %v", err)
	}
	sb.t = t
	t.Cleanup(sb.Close)
	return sb
}

// Start starts a sandbox on loopback outside a test (in an Example, a
// TestMain or a tool); the caller closes it.
func Start(opts ...Option) (*Sandbox, error) {
	st := settings{cfg: sandbox.Default()}
	for _, o := range opts {
		o(&st)
	}
	sb := &Sandbox{}
	if st.fake {
		sb.fake = clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		st.cfg.Now = sb.fake.Now
	}
	var h *sandbox.Sandbox
	var err error
	if st.control != nil {
		h, err = sandbox.NewWithControl(st.cfg, *st.control)
	} else {
		h, err = sandbox.New(st.cfg)
	}
	if err != nil {
		return nil, err
	}
	sb.srv = httptest.NewServer(h)
	if ctl := h.Control(); ctl != nil {
		sb.ControlToken = ctl.Token()
		sb.ControlURL = sb.srv.URL + sandbox.ControlPrefix + "api/"
	}
	sb.URL = sb.srv.URL + sandbox.BasePath
	sb.PartnerID = st.cfg.Partners[0].ID
	sb.PartnerSecret = st.cfg.Partners[0].Secret
	sb.Handler = h
	return sb, nil
}

// Close stops the sandbox and waits for its requests to finish.
func (sb *Sandbox) Close() {
	if ctl := sb.Handler.Control(); ctl != nil {
		ctl.CloseStreams()
	}
	sb.srv.Close()
}

// Now is the sandbox's clock: the fake one under WithFakeClock, else time.Now.
func (sb *Sandbox) Now() time.Time {
	if sb.fake == nil {
		return time.Now()
	}
	return sb.fake.Now()
}

// Sleep waits d on the sandbox's clock: under WithFakeClock until Advance
// has moved it d on, else on the real clock; ctx ends it early. With Now it
// lets one clock drive the client too, limiter included:
//
//	milligold.WithClock(sb.Now),
//	milligold.WithLimiter(ratelimit.NewSlidingLog(middleware.RateLimit,
//		ratelimit.WithClock(sb.Now, sb.Sleep)))
func (sb *Sandbox) Sleep(ctx context.Context, d time.Duration) error {
	if sb.fake == nil {
		return clock.Sleep(ctx, d)
	}
	return sb.fake.Sleep(ctx, d)
}

// Sleepers is how many goroutines wait in Sleep on the fake clock (0
// without one), so a test can Advance once its calls have parked.
func (sb *Sandbox) Sleepers() int {
	if sb.fake == nil {
		return 0
	}
	return sb.fake.Sleepers()
}

// Advance moves the fake clock. Without WithFakeClock it fails the test
// (t.Fatal, so call it from the test's goroutine); a Sandbox from Start has
// no test to fail, and there it panics.
func (sb *Sandbox) Advance(d time.Duration) {
	if sb.fake == nil {
		const msg = "sandboxtest: Advance needs WithFakeClock: sandboxtest.New(t, sandboxtest.WithFakeClock())"
		if sb.t != nil {
			sb.t.Helper()
			sb.t.Fatal(msg)
			return
		}
		panic(msg)
	}
	sb.fake.Advance(d)
}
