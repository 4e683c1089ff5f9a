package milligold

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/milligold/milligold-go/filequota"
	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/ratelimit"
	"github.com/milligold/milligold-go/tokens"
)

// sharedState builds the token store and limiter that several processes
// share, once New knows the base URL and the partner.
type sharedState func(baseURL, partnerID, secret string, logger *slog.Logger) (tokens.Store, ratelimit.Limiter, SharedCache, error)

// SharedPartner is what New tells a WithSharedQuota builder: the partner
// and API the Client is for, the spec's rate limit, and WithLogger's logger
// (one that discards when none was given).
type SharedPartner struct {
	BaseURL   string
	PartnerID string
	Secret    string
	Policy    ratelimit.Policy
	Logger    *slog.Logger
}

// SharedQuota is what a WithSharedQuota builder returns: a token store and
// a limiter shared with other processes, and optionally the cross-process
// half of WithCache (nil keeps WithCache in process). A Limiter that is a
// ratelimit.RoundTripObserver is told every round trip.
type SharedQuota struct {
	Store   tokens.Store
	Limiter ratelimit.Limiter
	Cache   SharedCache
}

// SharedCache is a cache of answers shared between processes, for the
// operations of WithCache. Entries are stored for keep; CacheGet returns an
// entry's age, and ok false on a miss or a failure (the Client then asks
// the API). CacheLock lets one process refresh an entry: ok false means
// another holds it. Implementations must be safe for concurrent use and
// must not block past ctx.
type SharedCache interface {
	CacheGet(ctx context.Context, key string, keep time.Duration) (e CacheEntry, age time.Duration, ok bool)
	CacheSet(ctx context.Context, key string, e CacheEntry, keep time.Duration)
	CacheLock(ctx context.Context, key string, ttl time.Duration) (unlock func(), ok bool)
}

// CacheEntry is a cached answer: what the Client needs to rebuild it.
type CacheEntry struct {
	Status      int
	ContentType string
	Body        []byte
}

// WithSharedQuota shares the access token and the rate limit (and, if the
// builder gives one, the cache) with other processes: New calls build once
// it knows the base URL and the partner. It is the hook the shared
// backends plug into without the client package importing them:
// redisquota.WithRedis (Redis, across hosts) returns one, and so does
// WithFileCache (files, one host). WithTokenStore and WithLimiter, when
// also given, take precedence.
func WithSharedQuota(build func(SharedPartner) (SharedQuota, error)) Option {
	return func(c *config) error {
		if build == nil {
			return errors.New("nil shared quota builder")
		}
		c.shared = func(baseURL, partnerID, secret string, logger *slog.Logger) (tokens.Store, ratelimit.Limiter, SharedCache, error) {
			q, err := build(SharedPartner{BaseURL: baseURL, PartnerID: partnerID, Secret: secret, Policy: middleware.RateLimit, Logger: logger})
			if err != nil {
				return nil, nil, nil, err
			}
			if q.Store == nil || q.Limiter == nil {
				return nil, nil, nil, errors.New("shared quota: the builder returned no token store or no limiter")
			}
			return q.Store, q.Limiter, q.Cache, nil
		}
		return nil
	}
}

// WithFileCache shares the access token and the rate limit with the other
// processes of this host through files in dir ("" means
// os.UserCacheDir()/milligold), as the CLI does: consecutive runs reuse
// one token and wait for the quota instead of hitting 429s. See package
// filequota. (Redis, to share across hosts: redisquota.WithRedis.)
func WithFileCache(dir string, opts ...filequota.Option) Option {
	return WithSharedQuota(func(p SharedPartner) (SharedQuota, error) {
		s, err := filequota.New(dir, p.BaseURL, p.PartnerID, p.Secret, p.Policy, opts...)
		if err != nil {
			return SharedQuota{}, err
		}
		return SharedQuota{Store: s.Store, Limiter: s.Limiter}, nil
	})
}
