package redisquota

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/milligold/milligold-go/internal/quotakey"
	"github.com/milligold/milligold-go/tokens"
)

// TokenStore is a tokens.Store and tokens.Locker on Redis: one token per
// partner for every process. A process keeps a copy in memory and reads
// Redis only when its copy is due for renewal, so a valid token costs no
// round trip. Safe for concurrent use.
type TokenStore struct {
	rdb     redis.UniversalClient
	pk      quotakey.Partner
	keys    keys
	h       *health
	now     func() time.Time
	sleep   func(context.Context, time.Duration) error
	lockTTL time.Duration
	opTO    time.Duration
	local   tokens.MemoryStore

	mu    sync.Mutex
	fence string // the lock value this process holds; "" when none
}

var (
	_ tokens.Store  = (*TokenStore)(nil)
	_ tokens.Locker = (*TokenStore)(nil)
)

func newTokenStore(rdb redis.UniversalClient, pk quotakey.Partner, k keys, h *health, st settings) *TokenStore {
	return &TokenStore{rdb: rdb, pk: pk, keys: k, h: h, now: st.now, sleep: st.sleep, lockTTL: st.lockTTL, opTO: st.opTimeout}
}

// Load implements tokens.Store. Redis being unreachable is not an error:
// the process's own copy (if any) is returned.
func (s *TokenStore) Load(ctx context.Context) (tokens.Token, bool, error) {
	if t, ok, _ := s.local.Load(ctx); ok && t.Valid(s.now()) {
		return t, true, nil
	}
	if t, ok := s.get(ctx); ok {
		return t, true, nil
	}
	t, ok, _ := s.local.Load(ctx)
	return t, ok, ctx.Err()
}

// get reads the shared token into the local copy.
func (s *TokenStore) get(ctx context.Context) (tokens.Token, bool) {
	if !s.h.usable() {
		return tokens.Token{}, false
	}
	octx, cancel := context.WithTimeout(ctx, s.opTO)
	defer cancel()
	var get *redis.StringCmd
	var ttl *redis.DurationCmd
	_, err := s.rdb.Pipelined(octx, func(p redis.Pipeliner) error {
		get = p.Get(octx, s.keys.token)
		ttl = p.PTTL(octx, s.keys.token)
		return nil
	})
	b, gerr := get.Bytes()
	if err == nil || errors.Is(err, redis.Nil) {
		err = gerr
	}
	if redisErr(ctx, err) {
		s.h.fail(err)
		return tokens.Token{}, false
	}
	if err != nil {
		if errors.Is(err, redis.Nil) {
			s.h.ok()
		}
		return tokens.Token{}, false
	}
	s.h.ok()
	t, err := s.pk.Open(b)
	if err != nil {
		return tokens.Token{}, false // written under another secret: fetch anew
	}
	// The key expires with the token, set as a duration by the process that
	// saved it: rebase the times on this process's clock, so a host whose
	// clock is ahead cannot make the others use a token past its expiry.
	if left, err := ttl.Result(); err == nil && left > 0 {
		margin := t.Expiry.Sub(t.RenewAt)
		t.Expiry = s.now().Add(left)
		t.RenewAt = t.Expiry.Add(-margin)
	}
	_ = s.local.Save(ctx, t)
	return t, true
}

// saveScript writes the token only while the caller's fence still holds the
// lock (ARGV[3] empty: no lock taken), so a holder that stalled past its TTL
// cannot overwrite the token of the process that took the lock after it.
var saveScript = redis.NewScript(`
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`)

// Save implements tokens.Store. The token is kept in process whatever
// Redis does; a Redis failure is logged (once) rather than returned.
func (s *TokenStore) Save(ctx context.Context, t tokens.Token) error {
	_ = s.local.Save(ctx, t)
	if !s.h.usable() {
		return nil
	}
	sealed, err := s.pk.Seal(t)
	if err != nil {
		return nil
	}
	ttl := t.Expiry.Sub(s.now())
	if ttl < time.Millisecond {
		return nil
	}
	s.mu.Lock()
	fence := s.fence
	s.mu.Unlock()
	octx, cancel := context.WithTimeout(ctx, s.opTO)
	defer cancel()
	err = saveScript.Run(octx, s.rdb, []string{s.keys.token, s.keys.lock}, sealed, ttl.Milliseconds(), fence).Err()
	if redisErr(ctx, err) {
		s.h.fail(err)
		return nil
	}
	if err == nil {
		s.h.ok()
	}
	return nil
}

var (
	extendScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`)
	releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)
)

// pollEvery is how often a waiting process looks for the holder's token.
const pollEvery = 20 * time.Millisecond

// Lock implements tokens.Locker with SET NX PX. The holder renews the lock
// every third of its TTL while it fetches (the fetch may wait for the rate
// limit), so only a dead holder lets it expire. With Redis unreachable, no
// lock is taken: the process fetches its own token.
func (s *TokenStore) Lock(ctx context.Context, stale tokens.Token, now time.Time) (tokens.Token, bool, func(), error) {
	noop := func() {}
	var fence [16]byte
	rand.Read(fence[:])
	value := hex.EncodeToString(fence[:])
	for {
		if err := ctx.Err(); err != nil {
			return tokens.Token{}, false, nil, err
		}
		if t, ok := s.fresh(ctx, stale); ok {
			return t, true, nil, nil
		}
		if s.h.isDown() {
			return tokens.Token{}, false, noop, nil
		}
		octx, cancel := context.WithTimeout(ctx, s.opTO)
		got, err := s.rdb.SetNX(octx, s.keys.lock, value, s.lockTTL).Result()
		cancel()
		if redisErr(ctx, err) {
			s.h.fail(err)
			return tokens.Token{}, false, noop, nil
		}
		if err == nil && got {
			// The holder may have saved and unlocked between our read and our SET.
			if t, ok := s.fresh(ctx, stale); ok {
				s.release(value)
				return t, true, nil, nil
			}
			return tokens.Token{}, false, s.hold(value), nil
		}
		if err := s.sleep(ctx, pollEvery); err != nil {
			return tokens.Token{}, false, nil, err
		}
	}
}

// fresh reads a shared token other than stale that is valid now.
func (s *TokenStore) fresh(ctx context.Context, stale tokens.Token) (tokens.Token, bool) {
	t, ok := s.get(ctx)
	if ok && t.Valid(s.now()) && t.Value != stale.Value {
		return t, true
	}
	return tokens.Token{}, false
}

// hold records the fence, keeps the lock alive, and returns its unlock.
func (s *TokenStore) hold(value string) func() {
	s.mu.Lock()
	s.fence = value
	s.mu.Unlock()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(s.lockTTL / 3)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				ctx, cancel := context.WithTimeout(context.Background(), s.opTO)
				n, err := extendScript.Run(ctx, s.rdb, []string{s.keys.lock}, value, s.lockTTL.Milliseconds()).Int()
				cancel()
				if err != nil || n == 0 {
					return // lost it (expired, or Redis gone): the fence check guards Save
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
			s.mu.Lock()
			if s.fence == value {
				s.fence = ""
			}
			s.mu.Unlock()
			s.release(value)
		})
	}
}

func (s *TokenStore) release(value string) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opTO)
	defer cancel()
	_ = releaseScript.Run(ctx, s.rdb, []string{s.keys.lock}, value).Err()
}
