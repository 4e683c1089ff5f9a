package tokens

import (
	"context"
	"sync"
	"time"
)

// Store holds the current token, so a shared store (several processes) can
// come later. Implementations are safe for concurrent use.
type Store interface {
	// Load returns the stored token; ok is false when there is none.
	Load(ctx context.Context) (t Token, ok bool, err error)
	// Save replaces the stored token.
	Save(ctx context.Context, t Token) error
}

// MemoryStore is an in-memory Store; the zero value is empty and ready.
// Safe for concurrent use.
type MemoryStore struct {
	mu  sync.Mutex
	t   Token
	set bool
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// Load implements Store.
func (s *MemoryStore) Load(context.Context) (Token, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.t, s.set, nil
}

// Save implements Store.
func (s *MemoryStore) Save(_ context.Context, t Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.t, s.set = t, true
	return nil
}

// Locker is implemented by a Store shared between processes, so that one
// process fetches a token while the others wait for it and read it. Source
// calls Lock before it fetches.
type Locker interface {
	// Lock returns either a token other than stale that is valid at now,
	// saved meanwhile by the lock's holder (ok true, no lock taken), or,
	// with ok false, a held lock: the caller fetches, saves and calls
	// unlock (also when the fetch failed). A holder that dies holds the
	// lock no longer than the store's lock TTL. Lock returns ctx.Err()
	// when ctx is done first.
	Lock(ctx context.Context, stale Token, now time.Time) (t Token, ok bool, unlock func(), err error)
}
