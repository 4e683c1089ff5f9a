package ratelimit

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/milligold/milligold-go/internal/clock"
)

// Limiter paces a client's requests. Implementations are safe for concurrent
// use; SlidingLog is the in-memory one (a shared store can come later).
type Limiter interface {
	// Wait blocks until one more request may be sent and records it. When ctx
	// is done it returns ctx.Err() at once and records nothing.
	Wait(ctx context.Context) error
	// Observe adopts a limit the server announced; n < 1 is ignored.
	Observe(n int)
	// Penalize holds every Wait until t, e.g. the reset of a 429.
	Penalize(t time.Time)
}

// DefaultMargin is SlidingLog's largest safety margin, and its margin until
// it has seen a round trip: the one-way network jitter it absorbs.
const DefaultMargin = time.Second

// MinMargin is the smallest margin the adaptive SlidingLog uses, however
// fast its round trips: room for scheduling and clock granularity.
const MinMargin = 100 * time.Millisecond

// roundTrips is how many recent round trips the adaptive margin follows:
// at the document's 10 per 20 s, about two minutes of traffic.
const roundTrips = 64

// RoundTripObserver is implemented by limiters that learn from the time
// between a Wait's return and the end of the request it let through
// (response headers or an error). Transport reports every round trip.
type RoundTripObserver interface {
	ObserveRoundTrip(d time.Duration)
}

// SlidingLog is a Limiter that logs send times and keeps at most Limit sends
// in every interval of Window+Margin. A server counting arrivals in fixed
// windows of any alignment then never sees more than Limit in one window, as
// long as each request's one-way latency varies by less than Margin. (A token
// bucket with burst Limit can send 2*Limit across one server window edge.)
//
// The margin adapts unless WithMargin fixes it: it is the longest of the
// last 64 round trips reported to ObserveRoundTrip, kept between MinMargin
// and DefaultMargin, and DefaultMargin before the first report. A request's
// one-way latency lies between 0 and its round trip, so the spread of
// one-way latencies, which is what the margin must cover, is at most the
// longest round trip. On a network with 5-150 ms one way this spends 20 of
// every 20.3 s instead of 20 of 21. Latency beyond what was seen lately, up
// to DefaultMargin, is the risk this trades; the Transport waits out a 429
// that still comes. SlidingLog is safe for concurrent use.
type SlidingLog struct {
	window time.Duration
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	fixed  bool // WithMargin: the margin never adapts

	mu      sync.Mutex
	margin  time.Duration
	limit   int
	sent    []time.Time // ascending; the last limit sends at most
	penalty time.Time
	rtts    RoundTrips
}

// RoundTrips holds the last 64 round trips and derives the adaptive margin
// from them; the shared limiters (redisquota, filequota) use it too. The
// zero value is ready. Not safe for concurrent use.
type RoundTrips struct {
	ring [roundTrips]time.Duration
	n    int // round trips added, ever
}

// Add records one round trip; a negative d is ignored.
func (r *RoundTrips) Add(d time.Duration) {
	if d < 0 {
		return
	}
	r.ring[r.n%roundTrips] = d
	r.n++
}

// Margin is the longest recent round trip within [MinMargin,
// DefaultMargin], or DefaultMargin before the first.
func (r *RoundTrips) Margin() time.Duration {
	if r.n == 0 {
		return DefaultMargin
	}
	return ClampMargin(slices.Max(r.ring[:min(r.n, roundTrips)]))
}

// ClampMargin keeps an adaptive margin within [MinMargin, DefaultMargin].
func ClampMargin(d time.Duration) time.Duration {
	return min(max(d, MinMargin), DefaultMargin)
}

// Option configures a SlidingLog.
type Option func(*SlidingLog)

// WithMargin fixes the safety margin (negative means 0): it no longer
// adapts to round trips.
func WithMargin(d time.Duration) Option {
	return func(l *SlidingLog) { l.margin, l.fixed = max(d, 0), true }
}

// WithClock replaces the real clock: now tells the time and sleep waits
// (returning ctx.Err() when ctx is done first). nil arguments keep the real one.
func WithClock(now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(l *SlidingLog) {
		if now != nil {
			l.now = now
		}
		if sleep != nil {
			l.sleep = sleep
		}
	}
}

// NewSlidingLog returns a SlidingLog for p. It panics on an invalid policy
// (policies come from the generated tables, validated by the generator).
func NewSlidingLog(p Policy, opts ...Option) *SlidingLog {
	if err := p.Validate(); err != nil {
		panic(fmt.Errorf("%w: %v", errPolicy, err))
	}
	l := &SlidingLog{
		window: p.Window,
		margin: DefaultMargin,
		now:    time.Now,
		sleep:  clock.Sleep,
		limit:  p.Requests,
	}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Wait implements Limiter.
func (l *SlidingLog) Wait(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := l.reserve()
		if d == 0 {
			return nil
		}
		if err := l.sleep(ctx, d); err != nil {
			return err
		}
	}
}

// reserve records a send and returns 0, or returns how long to wait first.
func (l *SlidingLog) reserve() time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.penalty) {
		return l.penalty.Sub(now)
	}
	span := l.window + l.margin
	// Only the limit-th latest send decides, so the log keeps the last limit
	// sends whatever their age: trimming by the span would forget sends that
	// count again when the margin grows.
	if len(l.sent) >= l.limit {
		if oldest := l.sent[len(l.sent)-l.limit]; now.Sub(oldest) < span {
			// The send limit places back frees the slot; never 0, so we sleep.
			return max(oldest.Add(span).Sub(now), time.Nanosecond)
		}
	}
	if len(l.sent) >= l.limit {
		l.sent = l.sent[len(l.sent)-l.limit+1:] // append reallocates: amortised O(1)
	}
	l.sent = append(l.sent, now)
	return 0
}

// Observe implements Limiter.
func (l *SlidingLog) Observe(n int) {
	if n < 1 || n > maxRequests {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.limit = n
	if len(l.sent) > n {
		l.sent = append([]time.Time(nil), l.sent[len(l.sent)-n:]...)
	}
}

// Penalize implements Limiter.
func (l *SlidingLog) Penalize(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.penalty) {
		l.penalty = t
	}
}

// ObserveRoundTrip implements RoundTripObserver: the margin becomes the
// longest of the recent round trips, within [MinMargin, DefaultMargin].
// A fixed margin (WithMargin) ignores it; so does a negative d.
func (l *SlidingLog) ObserveRoundTrip(d time.Duration) {
	if l.fixed || d < 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rtts.Add(d)
	l.margin = l.rtts.Margin()
}

// Margin returns the margin in force.
func (l *SlidingLog) Margin() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.margin
}

// Limit returns the limit in force.
func (l *SlidingLog) Limit() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.limit
}
