package ratelimit

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milligold/milligold-go/internal/clock"
)

// TestSlidingLogSchedule checks when each Wait returns, on a virtual clock
// that Sleep moves forward: the schedule is exact, and no test sleeps.
func TestSlidingLogSchedule(t *testing.T) {
	s := time.Second
	type op struct {
		pause   time.Duration // clock moves before the call
		observe int           // >0: Observe(n) instead of Wait
		penalty time.Duration // >0: Penalize(t0+penalty) instead of Wait
		want    time.Duration // Wait returns at t0+want
	}
	for _, c := range []struct {
		name string
		ops  []op
	}{
		{"a burst of the limit, then one window plus margin", []op{
			{want: 0}, {want: 0}, {want: 0}, {want: 21 * s}, {want: 21 * s}, {want: 21 * s}, {want: 42 * s},
		}},
		{"spaced sends free their slots one by one", []op{
			{want: 0}, {pause: 5 * s, want: 5 * s}, {pause: 5 * s, want: 10 * s}, {want: 21 * s}, {want: 26 * s}, {want: 31 * s},
		}},
		{"a penalty holds every send until it ends", []op{
			{want: 0}, {penalty: 30 * s}, {want: 30 * s}, {want: 30 * s}, {want: 30 * s}, {want: 51 * s},
		}},
		{"a higher announced limit is adopted", []op{
			{want: 0}, {want: 0}, {want: 0}, {observe: 5}, {want: 0}, {want: 0}, {want: 21 * s},
		}},
		{"a lower announced limit is adopted", []op{
			{want: 0}, {pause: s, want: s}, {pause: s, want: 2 * s}, {observe: 1}, {want: 23 * s}, {want: 44 * s},
		}},
		{"a nonsense limit is ignored", []op{
			{want: 0}, {observe: -1}, {want: 0}, {want: 0}, {want: 21 * s},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk := clock.NewAuto(t0)
			l := NewSlidingLog(policy, WithClock(clk.Now, clk.Sleep), WithMargin(time.Second))
			for i, o := range c.ops {
				clk.Advance(o.pause)
				switch {
				case o.observe != 0:
					l.Observe(o.observe)
				case o.penalty != 0:
					l.Penalize(t0.Add(o.penalty))
				default:
					if err := l.Wait(context.Background()); err != nil {
						t.Fatalf("op %d: Wait: %v", i, err)
					}
					if got := clk.Now().Sub(t0); got != o.want {
						t.Errorf("op %d: Wait returned at t0+%v; want t0+%v", i, got, o.want)
					}
				}
			}
		})
	}
}

// waitFor spins (without sleeping) until cond holds.
func waitFor(cond func() bool) {
	for !cond() {
		runtime.Gosched()
	}
}

func TestSlidingLogCancel(t *testing.T) {
	clk := clock.NewFake(t0)
	l := NewSlidingLog(policy, WithClock(clk.Now, clk.Sleep))
	for range policy.Requests {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Wait(ctx) }()
	waitFor(func() bool { return clk.Sleepers() == 1 })
	cancel()
	// The fake clock never moves: only the cancel can end this Wait.
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Wait after cancel = %v; want context.Canceled", err)
	}
	if clk.Sleepers() != 0 {
		t.Errorf("a cancelled Wait left %d sleepers", clk.Sleepers())
	}

	// A Wait on a context already done records nothing.
	l2 := NewSlidingLog(Policy{Requests: 1, Window: time.Minute}, WithClock(clk.Now, clk.Sleep))
	if err := l2.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait(done ctx) = %v; want context.Canceled", err)
	}
	if d := l2.reserve(); d != 0 {
		t.Errorf("after a cancelled Wait the only slot is taken (wait %v)", d)
	}
}

func TestSlidingLogConcurrent(t *testing.T) {
	clk := clock.NewFake(t0)
	p := Policy{Requests: 10, Window: 20 * time.Second}
	l := NewSlidingLog(p, WithClock(clk.Now, clk.Sleep), WithMargin(time.Second))
	var done atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Wait(context.Background()); err != nil {
				t.Error(err)
			}
			done.Add(1)
		}()
	}
	for round := 1; round <= 5; round++ {
		want := int64(10 * round)
		waitFor(func() bool { return done.Load() == want && clk.Sleepers() == int(50-want) })
		if round < 5 {
			clk.Advance(21 * time.Second)
		}
	}
	wg.Wait()
}

// simulate sends n requests through a SlidingLog on a virtual clock, with
// random pauses (so the server's window falls anywhere) and a one-way
// latency of base plus up to jitter, and counts the requests a server
// counting arrivals in a per-partner fixed window refuses.
func simulate(seed uint64, n int, margin, jitter time.Duration) (refused int, elapsed time.Duration) {
	rng := rand.New(rand.NewPCG(seed, seed))
	p := Policy{Requests: 10, Window: 20 * time.Second}
	clk := clock.NewAuto(t0)
	l := NewSlidingLog(p, WithClock(clk.Now, clk.Sleep), WithMargin(margin))
	arrivals := make([]time.Time, 0, n)
	for range n {
		if rng.IntN(4) == 0 {
			clk.Advance(time.Duration(rng.Int64N(int64(30 * time.Second))))
		}
		l.Wait(context.Background())
		latency := 50*time.Millisecond + time.Duration(rng.Int64N(int64(jitter)+1))
		arrivals = append(arrivals, clk.Now().Add(latency))
	}
	refused = refusals(p, arrivals)
	return refused, clk.Now().Sub(t0)
}

func TestSlidingLogAgainstServerWindow(t *testing.T) {
	const n = 300
	for seed := range uint64(20) {
		refused, _ := simulate(seed, n, DefaultMargin, 900*time.Millisecond)
		if refused != 0 {
			t.Errorf("seed %d: the server refused %d of %d requests; want 0", seed, refused, n)
		}
	}
	// The control: without the margin, the same jitter gets 429s, so the
	// simulation can tell a limiter that is not safe.
	total := 0
	for seed := range uint64(20) {
		refused, _ := simulate(seed, n, 0, 900*time.Millisecond)
		total += refused
	}
	t.Logf("no margin: the server refused %d of %d requests over 20 runs", total, 20*n)
	if total == 0 {
		t.Error("with no margin the simulated server refused nothing; the simulation cannot catch an unsafe limiter")
	}
}

// TestSlidingLogUsesTheQuota: back to back, the limiter sends Requests per
// Window+Margin, not fewer.
func TestSlidingLogUsesTheQuota(t *testing.T) {
	clk := clock.NewAuto(t0)
	l := NewSlidingLog(Policy{Requests: 10, Window: 20 * time.Second}, WithClock(clk.Now, clk.Sleep), WithMargin(time.Second))
	for range 100 {
		l.Wait(context.Background())
	}
	if got, want := clk.Now().Sub(t0), 9*21*time.Second; got != want {
		t.Errorf("100 sends took %v of virtual time; want %v (10 per 21 s)", got, want)
	}
}

func TestAdaptiveMargin(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		rtts []time.Duration
		want time.Duration
	}{
		{"before any round trip: the ceiling", nil, DefaultMargin},
		{"the longest round trip", []time.Duration{40 * ms, 300 * ms, 120 * ms}, 300 * ms},
		{"never below the floor", []time.Duration{ms, 2 * ms}, MinMargin},
		{"never above the ceiling", []time.Duration{3 * time.Second}, DefaultMargin},
		{"a negative report is ignored", []time.Duration{250 * ms, -time.Hour}, 250 * ms},
		{"an old slow round trip ages out after 64 others", append([]time.Duration{900 * ms}, slices.Repeat([]time.Duration{200 * ms}, roundTrips)...), 200 * ms},
		{"a slow round trip 63 reports ago still counts", append([]time.Duration{900 * ms}, slices.Repeat([]time.Duration{200 * ms}, roundTrips-1)...), 900 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewSlidingLog(policy)
			for _, d := range tt.rtts {
				l.ObserveRoundTrip(d)
			}
			if got := l.Margin(); got != tt.want {
				t.Errorf("after %d round trips Margin() = %v; want %v", len(tt.rtts), got, tt.want)
			}
		})
	}
	fixed := NewSlidingLog(policy, WithMargin(700*ms))
	fixed.ObserveRoundTrip(10 * ms)
	if got := fixed.Margin(); got != 700*ms {
		t.Errorf("WithMargin(700ms), then a 10ms round trip: Margin() = %v; want 700ms (fixed)", got)
	}
}

// TestMarginGrowthCountsOlderSends: a send that fell out of the span while
// the margin was small counts again when the margin grows, so a longer
// round trip never lets a send out early.
func TestMarginGrowthCountsOlderSends(t *testing.T) {
	ms := time.Millisecond
	clk := clock.NewAuto(time.Unix(0, 0))
	t0 := clk.Now()
	l := NewSlidingLog(Policy{Requests: 2, Window: time.Second}, WithClock(clk.Now, clk.Sleep))
	l.ObserveRoundTrip(10 * ms) // margin: the 100 ms floor
	l.Wait(context.Background())
	clk.Advance(1150 * ms) // the first send is past window+margin
	l.Wait(context.Background())
	l.ObserveRoundTrip(800 * ms) // margin 800 ms: the first send counts again
	clk.Advance(50 * ms)
	l.Wait(context.Background())
	if got, want := clk.Now().Sub(t0), 1800*ms; got != want {
		t.Errorf("third send at t0+%v; want t0+%v (first send + window + the grown margin)", got, want)
	}
}

// simulateAdaptive sends n requests one after another through an adaptive
// SlidingLog on a virtual clock, each with a one-way latency out and back
// drawn from [lo, hi], reporting each round trip as Transport does, with
// random pauses so the server's window falls anywhere. It fails t when the
// margin in force is ever below the spread of the one-way latencies seen so
// far (capped at DefaultMargin), and returns the refusals of a server
// counting arrivals in fixed windows, and the share of the quota used.
func simulateAdaptive(t *testing.T, seed uint64, n int, lo, hi time.Duration, pauses bool) (refused int, quota float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	draw := func() time.Duration { return lo + time.Duration(rng.Int64N(int64(hi-lo)+1)) }
	p := Policy{Requests: 10, Window: 20 * time.Second}
	clk := clock.NewAuto(t0)
	l := NewSlidingLog(p, WithClock(clk.Now, clk.Sleep))
	arrivals := make([]time.Time, 0, n)
	oneWayMin, oneWayMax := time.Duration(1<<62), time.Duration(0)
	for range n {
		if pauses && rng.IntN(4) == 0 {
			clk.Advance(time.Duration(rng.Int64N(int64(30 * time.Second))))
		}
		l.Wait(context.Background())
		out, back := draw(), draw()
		arrivals = append(arrivals, clk.Now().Add(out))
		clk.Advance(out + back)
		l.ObserveRoundTrip(out + back)
		oneWayMin, oneWayMax = min(oneWayMin, out), max(oneWayMax, out)
		if spread := min(oneWayMax-oneWayMin, DefaultMargin); l.Margin() < spread {
			t.Fatalf("seed %d: margin %v below the one-way spread seen, %v", seed, l.Margin(), spread)
		}
	}
	refused = refusals(p, arrivals)
	served := float64(n - refused)
	most := float64(arrivals[len(arrivals)-1].Sub(arrivals[0])) / float64(p.Window) * float64(p.Requests)
	return refused, served / (most + float64(p.Requests)) // the last window's worth is in flight at the end
}

// TestAdaptiveMarginKeepsZero429s: on the network (5-150 ms one
// way) and on one whose one-way spread nearly reaches the ceiling, the
// adaptive limiter gets no 429 from a fixed-window server of any alignment,
// and on the first it uses at least 98% of the quota when always sending.
func TestAdaptiveMarginKeepsZero429s(t *testing.T) {
	ms := time.Millisecond
	for seed := range uint64(20) {
		if refused, _ := simulateAdaptive(t, seed, 300, 5*ms, 150*ms, true); refused != 0 {
			t.Errorf("seed %d, 5-150ms: the server refused %d of 300; want 0", seed, refused)
		}
		if refused, _ := simulateAdaptive(t, seed, 300, 50*ms, 950*ms, true); refused != 0 {
			t.Errorf("seed %d, 50-950ms: the server refused %d of 300; want 0", seed, refused)
		}
	}
	refused, quota := simulateAdaptive(t, 1, 2000, 5*ms, 150*ms, false)
	if refused != 0 || quota < 0.98 {
		t.Errorf("back to back, 5-150ms: %d refused, %.1f%% of the quota; want 0 and at least 98%%", refused, 100*quota)
	}
}

// refusals sorts arrivals and counts those a server counting them in fixed
// windows of p (opening at the first arrival) refuses.
func refusals(p Policy, arrivals []time.Time) (refused int) {
	slices.SortFunc(arrivals, func(a, b time.Time) int { return a.Compare(b) })
	var at time.Time
	server := NewFixedWindow(p, func() time.Time { return at })
	for _, a := range arrivals {
		at = a
		if !server.Allow("partner").Allowed {
			refused++
		}
	}
	return refused
}
