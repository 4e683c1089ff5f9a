package tokens

import (
	"context"
	"errors"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"
)

// FetchFunc asks the server for a new token. gen/middleware.TokenFetcher
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
	// At most one more flight: a server may well answer the same token
	// twice (a JWT issued within the same second), and that must not loop.
	for again := true; ; again = false {
		ch := s.group.DoChan("token", func() (any, error) { return s.refresh(ctx, stale) })
		select {
		case <-ctx.Done():
			return Token{}, ctx.Err()
		case r := <-ch:
			t, _ := r.Val.(Token)
			switch {
			case again && r.Err != nil && isContextErr(r.Err) && ctx.Err() == nil:
				// The flight we joined belonged to a caller who gave up; fly our own.
				continue
			case r.Err != nil:
				return Token{}, r.Err
			case again && stale.Value != "" && t.Value == stale.Value:
				// We joined a flight that reused the token we want replaced.
				continue
			}
			return t, nil
		}
	}
}

// refresh runs inside the single flight.
func (s *Source) refresh(ctx context.Context, stale Token) (Token, error) {
	if t, ok, err := s.store.Load(ctx); err != nil {
		return Token{}, err
	} else if ok && t.Valid(s.now()) && t.Value != stale.Value {
		return t, nil // renewed by an earlier flight
	}
	sent := s.now()
	g, err := s.fetch(ctx)
	if err != nil {
		return Token{}, err
	}
	if _, err := NewGrant(g.Value, int64(g.ExpiresIn/time.Second)); err != nil {
		return Token{}, err
	}
	t := tokenAt(g, sent)
	if err := s.store.Save(ctx, t); err != nil {
		return Token{}, err
	}
	return t, nil
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
