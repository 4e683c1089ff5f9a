package tokens

import (
	"context"
	"errors"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"
)

// FetchFunc asks the server for a new token. Fetcher, bound by gen/middleware.TokenFetcher,
// builds one from the spec's token operation.
type FetchFunc func(ctx context.Context) (Grant, error)

// Source hands out the current token and fetches a new one when none is
// stored or the stored one is due for renewal (a margin before its expiry,
// from the expiresIn the server returned). However many goroutines call, one
// fetch is in flight. Source is safe for concurrent use and satisfies
// oauth2.TokenSource.
type Source struct {
	fetch FetchFunc
	store Store
	now   func() time.Time
	group singleflight.Group
}

var _ oauth2.TokenSource = (*Source)(nil)

// Option configures a Source.
type Option func(*Source)

// WithStore keeps the token in st instead of memory; nil is ignored.
func WithStore(st Store) Option {
	return func(s *Source) {
		if st != nil {
			s.store = st
		}
	}
}

// WithClock replaces time.Now; nil is ignored.
func WithClock(now func() time.Time) Option {
	return func(s *Source) {
		if now != nil {
			s.now = now
		}
	}
}

// NewSource returns a Source around fetch, caching in a MemoryStore.
func NewSource(fetch FetchFunc, opts ...Option) *Source {
	s := &Source{fetch: fetch, store: NewMemoryStore(), now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Get returns a valid token, fetching one if needed.
func (s *Source) Get(ctx context.Context) (Token, error) {
	t, ok, err := s.store.Load(ctx)
	if err != nil {
		return Token{}, err
	}
	if ok && t.Valid(s.now()) {
		return t, nil
	}
	return s.renew(ctx, Token{})
}

// Renew returns a token other than stale (a token the server refused),
// fetching one unless another goroutine already has.
func (s *Source) Renew(ctx context.Context, stale Token) (Token, error) {
	return s.renew(ctx, stale)
}

func (s *Source) renew(ctx context.Context, stale Token) (Token, error) {
	// At most one more flight, so nothing here can loop.
	for again := true; ; again = false {
		ch := s.group.DoChan("token", func() (any, error) { return s.refresh(ctx, stale) })
		select {
		case <-ctx.Done():
			return Token{}, ctx.Err()
		case r := <-ch:
			f, _ := r.Val.(flight)
			switch {
			case again && r.Err != nil && isContextErr(r.Err) && ctx.Err() == nil:
				// The flight we joined belonged to a caller who gave up; fly our own.
				continue
			case r.Err != nil:
				return Token{}, r.Err
			case again && !f.fetched && stale.Value != "" && f.token.Value == stale.Value:
				// We joined a flight that reused, without fetching, the token
				// we want replaced. (A fetched token equal to stale is the
				// server's answer, e.g. a JWT issued twice in one second.)
				continue
			}
			return f.token, nil
		}
	}
}

// flight is the result of one refresh.
type flight struct {
	token   Token
	fetched bool // false when an earlier flight's token was reused
}

// refresh runs inside the single flight.
func (s *Source) refresh(ctx context.Context, stale Token) (flight, error) {
	if t, ok, err := s.store.Load(ctx); err != nil {
		return flight{}, err
	} else if ok && t.Valid(s.now()) && t.Value != stale.Value {
		return flight{token: t}, nil // renewed by an earlier flight
	}
	if l, ok := s.store.(Locker); ok {
		// A shared store: another process may be fetching; wait for its token.
		t, ok, unlock, err := l.Lock(ctx, stale, s.now())
		if err != nil {
			return flight{}, err
		}
		if ok {
			return flight{token: t}, nil
		}
		defer unlock()
	}
	sent := s.now()
	g, err := s.fetch(ctx)
	if err != nil {
		return flight{}, err
	}
	if _, err := newGrant(g.Value, int64(g.ExpiresIn/time.Second)); err != nil {
		return flight{}, err
	}
	t := tokenAt(g, sent)
	if err := s.store.Save(ctx, t); err != nil {
		return flight{}, err
	}
	return flight{token: t, fetched: true}, nil
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// Token implements oauth2.TokenSource with a background context.
func (s *Source) Token() (*oauth2.Token, error) {
	t, err := s.Get(context.Background())
	if err != nil {
		return nil, err
	}
	return &oauth2.Token{AccessToken: t.Value, TokenType: "Bearer", Expiry: t.Expiry}, nil
}
