package redisquota

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	milligold "github.com/milligold/milligold-go"
)

// WithRedis is a milligold.Option (for milligold.New) that shares the
// access token, the rate limit and WithCache's answers with every process
// and host that uses the same Redis, base URL and partner: one token
// request per token lifetime, and one 10-per-20-s quota (the API's limit is
// per partner), kept on Redis's clock. Build rdb with ParseURL
// ("redis://…" or "rediss://…" for TLS; AUTH from the URL), or pass any
// go-redis client (a cluster client works: a partner's keys share one hash
// slot; set ContextTimeoutEnabled, as ParseURL does, or a silent Redis
// holds a call for the client's ReadTimeout rather than a second). While
// Redis is unreachable, the Client keeps working on in-process state at a
// quarter of the limit and logs one warning through milligold.WithLogger.
// milligold.WithTokenStore and WithLimiter, when also given, take
// precedence.
//
// It lives here, not in package milligold, so that a program that does not
// use Redis does not link or require go-redis (milligold.WithSharedQuota is
// the hook).
func WithRedis(rdb redis.UniversalClient, opts ...Option) milligold.Option {
	return milligold.WithSharedQuota(func(p milligold.SharedPartner) (milligold.SharedQuota, error) {
		if rdb == nil {
			return milligold.SharedQuota{}, errors.New("redisquota: nil Redis client")
		}
		s, err := New(rdb, p.BaseURL, p.PartnerID, p.Secret, p.Policy, append([]Option{WithLogger(p.Logger)}, opts...)...)
		if err != nil {
			return milligold.SharedQuota{}, err
		}
		return milligold.SharedQuota{Store: s.Store, Limiter: s.Limiter, Cache: clientCache{s}}, nil
	})
}

// clientCache is Shared's cache as milligold.SharedCache.
type clientCache struct{ s *Shared }

func (c clientCache) CacheGet(ctx context.Context, key string, keep time.Duration) (milligold.CacheEntry, time.Duration, bool) {
	e, age, ok := c.s.CacheGet(ctx, key, keep)
	return milligold.CacheEntry{Status: e.Status, ContentType: e.ContentType, Body: e.Body}, age, ok
}

func (c clientCache) CacheSet(ctx context.Context, key string, e milligold.CacheEntry, keep time.Duration) {
	c.s.CacheSet(ctx, key, Entry{Status: e.Status, ContentType: e.ContentType, Body: e.Body}, keep)
}

func (c clientCache) CacheLock(ctx context.Context, key string, ttl time.Duration) (func(), bool) {
	return c.s.CacheLock(ctx, key, ttl)
}
