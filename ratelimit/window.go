package ratelimit

import (
	"fmt"
	"sync"
	"time"
)

// Decision is the outcome of one FixedWindow.Allow call.
type Decision struct {
	Allowed   bool
	Limit     int
	Remaining int       // requests left in the window after this one; 0 when refused
	Reset     time.Time // when the key's window ends
}

// FixedWindow enforces a Policy per key (the sandbox's key is the partner):
// a key's window opens at its first request and lasts Policy.Window; refused
// requests do not count. Keys whose window is over are swept at most once per
// window, so memory is bounded by the keys active within one window.
// FixedWindow is safe for concurrent use.
type FixedWindow struct {
	policy Policy
	now    func() time.Time

	mu        sync.Mutex
	keys      map[string]window
	nextSweep time.Time
}

type window struct {
	reset time.Time
	count int
}

// NewFixedWindow returns a FixedWindow for p; nil now means time.Now.
// It panics on an invalid policy (a programming error: policies come from the
// generated tables, which the generator validated).
func NewFixedWindow(p Policy, now func() time.Time) *FixedWindow {
	if err := p.Validate(); err != nil {
		panic(fmt.Errorf("%w: %v", errPolicy, err))
	}
	if now == nil {
		now = time.Now
	}
	return &FixedWindow{policy: p, now: now, keys: make(map[string]window)}
}

// Policy returns the enforced policy.
func (f *FixedWindow) Policy() Policy { return f.policy }

// Allow counts one request for key and reports whether it is within the limit.
func (f *FixedWindow) Allow(key string) Decision {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if !now.Before(f.nextSweep) {
		for k, w := range f.keys {
			if !now.Before(w.reset) {
				delete(f.keys, k)
			}
		}
		f.nextSweep = now.Add(f.policy.Window)
	}
	w, ok := f.keys[key]
	if !ok || !now.Before(w.reset) {
		w = window{reset: now.Add(f.policy.Window)}
	}
	limit := f.policy.Requests
	if w.count >= limit {
		return Decision{Limit: limit, Reset: w.reset}
	}
	w.count++
	f.keys[key] = w
	return Decision{Allowed: true, Limit: limit, Remaining: limit - w.count, Reset: w.reset}
}

// Len returns the number of keys held (for tests of the sweep).
func (f *FixedWindow) Len() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.keys)
}
