package ratelimit

import "time"

// Peek reports key's current window without counting a request: the requests
// counted and when the window ends. ok is false when key has no open window.
// It is for inspection (the sandbox's control API), not for enforcement.
func (f *FixedWindow) Peek(key string) (count int, reset time.Time, ok bool) {
	now := f.now()
	f.mu.RLock()
	w, found := f.keys[key]
	f.mu.RUnlock()
	if !found {
		return 0, time.Time{}, false
	}
	for {
		s, sp := w.state.Load(), w.span.Load()
		if sp == nil {
			return 0, time.Time{}, false
		}
		if sp.gen != uint32(s>>32) {
			continue // a window is being opened
		}
		if !now.Before(sp.reset) {
			return 0, time.Time{}, false
		}
		return int(s & (1<<32 - 1)), sp.reset, true
	}
}

// Reset closes every window, so each key's next request opens a fresh one.
func (f *FixedWindow) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, w := range f.keys {
		w.kill()
	}
	clear(f.keys)
}
