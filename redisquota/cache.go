package redisquota

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/redis/go-redis/v9"
)

// Entry is a cached answer: what the client needs to rebuild the response.
type Entry struct {
	Status      int    `json:"s"`
	ContentType string `json:"t"`
	Body        []byte `json:"b"`
}

func (s *Shared) cacheKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return s.keys.prefix + "cache:" + hex.EncodeToString(sum[:16])
}

// CacheGet returns the entry stored under key and its age, measured from
// the key's remaining lifetime (keep, as CacheSet was given it), so clocks
// do not matter. A miss or Redis failure is ok false.
func (s *Shared) CacheGet(ctx context.Context, key string, keep time.Duration) (e Entry, age time.Duration, ok bool) {
	if !s.Store.h.usable() {
		return Entry{}, 0, false
	}
	k := s.cacheKey(key)
	octx, cancel := context.WithTimeout(ctx, s.Store.opTO)
	defer cancel()
	var get *redis.StringCmd
	var ttl *redis.DurationCmd
	_, err := s.rdb.Pipelined(octx, func(p redis.Pipeliner) error {
		get = p.Get(octx, k)
		ttl = p.PTTL(octx, k)
		return nil
	})
	if err != nil && err != redis.Nil {
		if redisErr(ctx, err) {
			s.Store.h.fail(err)
		}
		return Entry{}, 0, false
	}
	s.Store.h.ok()
	b, err := get.Bytes()
	left, terr := ttl.Result()
	if err != nil || terr != nil || left <= 0 {
		return Entry{}, 0, false
	}
	plain, err := s.Store.pk.OpenBytes(b)
	if err != nil || json.Unmarshal(plain, &e) != nil {
		return Entry{}, 0, false
	}
	return e, max(keep-left, 0), true
}

// CacheSet stores e under key for keep (the fresh time plus how long a
// stale entry may still be served).
func (s *Shared) CacheSet(ctx context.Context, key string, e Entry, keep time.Duration) {
	if !s.Store.h.usable() {
		return
	}
	plain, err := json.Marshal(e)
	if err != nil {
		return
	}
	sealed, err := s.Store.pk.SealBytes(plain)
	if err != nil {
		return
	}
	octx, cancel := context.WithTimeout(ctx, s.Store.opTO)
	defer cancel()
	if err := s.rdb.Set(octx, s.cacheKey(key), sealed, keep).Err(); redisErr(ctx, err) {
		s.Store.h.fail(err)
	}
}

// CacheLock takes the refresh lock of key for ttl: ok false means another
// process is refreshing (or Redis failed: then the caller refreshes alone,
// which ok true with a no-op unlock says).
func (s *Shared) CacheLock(ctx context.Context, key string, ttl time.Duration) (unlock func(), ok bool) {
	noop := func() {}
	if !s.Store.h.usable() {
		return noop, true
	}
	var b [16]byte
	rand.Read(b[:])
	v := hex.EncodeToString(b[:])
	k := s.cacheKey(key) + ":lock"
	octx, cancel := context.WithTimeout(ctx, s.Store.opTO)
	defer cancel()
	got, err := s.rdb.SetNX(octx, k, v, ttl).Result()
	if err != nil {
		if redisErr(ctx, err) {
			s.Store.h.fail(err)
		}
		return noop, true
	}
	if !got {
		return nil, false
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.Store.opTO)
		defer cancel()
		_ = releaseScript.Run(ctx, s.rdb, []string{k}, v).Err()
	}, true
}
