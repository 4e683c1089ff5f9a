// Package clock provides a fake clock for tests of code that takes
// `now func() time.Time` and `sleep func(ctx, d) error`.
package clock

import (
	"context"
	"slices"
	"sort"
	"sync"
	"time"
)

// Sleep waits for d on the real clock, or until ctx is done (then it returns ctx.Err()).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Fake is a manual clock. Time moves only through Advance (or, with Auto,
// through Sleep itself). Safe for concurrent use.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	auto    bool
	waiters []*waiter
	slept   []time.Duration
}

type waiter struct {
	until time.Time
	done  chan struct{}
}

// NewFake returns a fake clock at t0.
func NewFake(t0 time.Time) *Fake { return &Fake{now: t0} }

// NewAuto returns a fake clock at t0 whose Sleep moves time forward by the
// slept duration at once: virtual time for single-goroutine simulations.
func NewAuto(t0 time.Time) *Fake { return &Fake{now: t0, auto: true} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves time forward by d and wakes the sleepers whose time has come.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advanceLocked(d)
}

func (f *Fake) advanceLocked(d time.Duration) {
	f.now = f.now.Add(d)
	kept := f.waiters[:0]
	for _, w := range f.waiters {
		if w.until.After(f.now) {
			kept = append(kept, w)
			continue
		}
		close(w.done)
	}
	f.waiters = kept
}

// Sleep waits until the fake time has moved d forward, or until ctx is done.
func (f *Fake) Sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	f.slept = append(f.slept, d)
	f.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	f.mu.Lock()
	if f.auto {
		f.advanceLocked(d)
		f.mu.Unlock()
		return nil
	}
	w := &waiter{until: f.now.Add(d), done: make(chan struct{})}
	f.waiters = append(f.waiters, w)
	f.mu.Unlock()
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		f.mu.Lock()
		for i, x := range f.waiters {
			if x == w {
				f.waiters = append(f.waiters[:i], f.waiters[i+1:]...)
				break
			}
		}
		f.mu.Unlock()
		return ctx.Err()
	}
}

// Slept returns the durations Sleep was called with, in order (zero and
// negative ones too), so a test can assert how long the code under test chose to wait.
func (f *Fake) Slept() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.slept)
}

// Sleepers returns how many goroutines are blocked in Sleep, so tests can
// wait for a goroutine to park before advancing time (no wall-clock sleeps).
func (f *Fake) Sleepers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

// Next returns the earliest wake-up time of the sleepers, or false when none sleeps.
func (f *Fake) Next() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.waiters) == 0 {
		return time.Time{}, false
	}
	ts := make([]time.Time, len(f.waiters))
	for i, w := range f.waiters {
		ts[i] = w.until
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	return ts[0], true
}
