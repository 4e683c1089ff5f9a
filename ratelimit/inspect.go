package ratelimit

import "time"

// Peek reports key's current window without counting a request: the requests
// counted and when the window ends. ok is false when key has no open window.
// It is for inspection (the sandbox's control API), not for enforcement.
func (f *FixedWindow) Peek(key string) (count int, reset time.Time, ok bool) {
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	w, found := f.keys[key]
	if !found || !now.Before(w.reset) {
		return 0, time.Time{}, false
	}
	return w.count, w.reset, true
}

// Reset closes every window, so each key's next request opens a fresh one.
func (f *FixedWindow) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.keys)
}
