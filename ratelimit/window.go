package ratelimit

import (
	"fmt"
	"sync"
	"sync/atomic"
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
// FixedWindow is safe for concurrent use: a request of a known key takes no
// lock (a read lock on the key table, then a compare-and-swap on the key's
// count), so concurrent requests of one partner do not queue behind each
// other; only opening a window takes the key's lock.
type FixedWindow struct {
	policy Policy
	now    func() time.Time

	mu        sync.RWMutex // guards keys and nextSweep
	keys      map[string]*window
	nextSweep time.Time
}

// window is one key's window. state packs the window's generation (high
// 32 bits) with the requests counted in it (low 32); span is the
// generation's end. A request counts by a compare-and-swap of state within
// the generation span names; a new window is opened under mu by storing its
// span, then its state, so a reader seeing both of one generation sees a
// consistent pair, and a count raced by the opening fails its swap.
type window struct {
	mu    sync.Mutex // opens windows; marks the window dead
	state atomic.Uint64
	span  atomic.Pointer[span]
	dead  bool // swept or reset: look the key up again (under mu)
}

type span struct {
	gen   uint32
	reset time.Time
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
	return &FixedWindow{policy: p, now: now, keys: make(map[string]*window)}
}

// Policy returns the enforced policy.
func (f *FixedWindow) Policy() Policy { return f.policy }

// Allow counts one request for key and reports whether it is within the limit.
func (f *FixedWindow) Allow(key string) Decision { return f.AllowAt(key, f.now()) }

// AllowAt is Allow at now, a reading of the window's clock the caller took
// (a server reads it once per request and shares it with its other checks:
// the clock was a twentieth of a served request's CPU when each read it).
// Concurrent requests' readings may arrive out of order, as they could
// when Allow read the clock itself.
func (f *FixedWindow) AllowAt(key string, now time.Time) Decision {
	limit := uint64(f.policy.Requests)
	w := f.window(key, now)
	for {
		s := w.state.Load()
		sp := w.span.Load()
		if sp == nil || sp.gen != uint32(s>>32) {
			if sp == nil && w.open(now, f.policy.Window, nil) {
				continue
			}
			if w.isDead() {
				w = f.window(key, now)
			}
			continue // a window is being opened
		}
		if !now.Before(sp.reset) {
			if !w.open(now, f.policy.Window, sp) {
				w = f.window(key, now) // swept meanwhile
			}
			continue
		}
		count := s & (1<<32 - 1)
		if count >= limit {
			return Decision{Limit: int(limit), Reset: sp.reset}
		}
		if w.state.CompareAndSwap(s, s+1) {
			return Decision{Allowed: true, Limit: int(limit), Remaining: int(limit - count - 1), Reset: sp.reset}
		}
	}
}

// open starts a new window at now unless another goroutine already
// replaced expired (the window it saw; nil: none yet). It reports false when
// the window is dead (the caller looks the key up again).
func (w *window) open(now time.Time, d time.Duration, expired *span) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dead {
		return false
	}
	if w.span.Load() != expired {
		return true // opened by another request meanwhile
	}
	gen := uint32(w.state.Load()>>32) + 1
	w.span.Store(&span{gen: gen, reset: now.Add(d)})
	w.state.Store(uint64(gen) << 32)
	return true
}

func (w *window) isDead() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dead
}

// window returns key's window, creating it, and sweeps the keys whose
// window is over at most once per Policy.Window.
func (f *FixedWindow) window(key string, now time.Time) *window {
	f.mu.RLock()
	w, ok := f.keys[key]
	sweep := !now.Before(f.nextSweep)
	f.mu.RUnlock()
	if ok && !sweep {
		return w
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !now.Before(f.nextSweep) {
		for k, w := range f.keys {
			if sp := w.span.Load(); sp == nil || !now.Before(sp.reset) {
				if testHookSweep != nil {
					testHookSweep(w)
				}
				if w.killExpired(now) {
					delete(f.keys, k)
				}
			}
		}
		f.nextSweep = now.Add(f.policy.Window)
	}
	if w, ok = f.keys[key]; !ok {
		w = &window{}
		f.keys[key] = w
	}
	return w
}

// testHookSweep, when set, runs as the sweep finds a window over, before
// it takes the window's lock.
var testHookSweep func(*window)

// killExpired marks w dead unless its window is not over at now: a request
// holding w may have opened a new one since the sweep looked (open holds
// w.mu too), and a window dropped from keys with requests still counting in
// it would let a second window of the key open beside it.
func (w *window) killExpired(now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if sp := w.span.Load(); sp != nil && now.Before(sp.reset) {
		return false
	}
	w.dead = true
	return true
}

// kill marks w dead: a request holding it looks the key up again.
func (w *window) kill() {
	w.mu.Lock()
	w.dead = true
	w.mu.Unlock()
}

// Len returns the number of keys held (for tests of the sweep).
func (f *FixedWindow) Len() int {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return len(f.keys)
}
