package milligold

import (
	"errors"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/milligold/milligold-go/filequota"
	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/ratelimit"
	"github.com/milligold/milligold-go/redisquota"
	"github.com/milligold/milligold-go/tokens"
)

// sharedState builds the token store and limiter that several processes
// share, once New knows the base URL and the partner.
type sharedState func(baseURL, partnerID, secret string, logger *slog.Logger) (tokens.Store, ratelimit.Limiter, sharedCache, error)

// WithRedis shares the access token and the rate limit with every process
// and host that uses the same Redis, base URL and partner: one token request
// per token lifetime, and one 10-per-20-s quota (the API's limit is per
// partner), kept on Redis's clock. Build rdb with redisquota.ParseURL
// ("redis://…" or "rediss://…" for TLS; AUTH from the URL), or pass any
// go-redis client (a cluster client works: a partner's keys share one hash
// slot; set ContextTimeoutEnabled, as ParseURL does, or a silent Redis holds
// a call for the client's ReadTimeout rather than a second). While Redis is unreachable, the Client keeps working on in-process
// state at a quarter of the limit and logs one warning through WithLogger;
// see package redisquota. WithTokenStore and WithLimiter, when also given,
// take precedence.
func WithRedis(rdb redis.UniversalClient, opts ...redisquota.Option) Option {
	return func(c *config) error {
		if rdb == nil {
			return errors.New("nil Redis client")
		}
		c.shared = func(baseURL, partnerID, secret string, logger *slog.Logger) (tokens.Store, ratelimit.Limiter, sharedCache, error) {
			s, err := redisquota.New(rdb, baseURL, partnerID, secret, middleware.RateLimit,
				append([]redisquota.Option{redisquota.WithLogger(logger)}, opts...)...)
			if err != nil {
				return nil, nil, nil, err
			}
			return s.Store, s.Limiter, s, nil
		}
		return nil
	}
}

// WithFileCache shares the access token and the rate limit with the other
// processes of this host through files in dir ("" means
// os.UserCacheDir()/milligold), as the CLI does: consecutive runs reuse
// one token and wait for the quota instead of hitting 429s. See package
// filequota.
func WithFileCache(dir string, opts ...filequota.Option) Option {
	return func(c *config) error {
		c.shared = func(baseURL, partnerID, secret string, _ *slog.Logger) (tokens.Store, ratelimit.Limiter, sharedCache, error) {
			s, err := filequota.New(dir, baseURL, partnerID, secret, middleware.RateLimit, opts...)
			if err != nil {
				return nil, nil, nil, err
			}
			return s.Store, s.Limiter, nil, nil
		}
		return nil
	}
}
