// Package redisquota shares one partner's access token and rate limit
// between processes and hosts through Redis: a tokens.Store whose lock lets
// one process fetch while the others wait, and a ratelimit.Limiter that keeps
// the sliding log in a sorted set, reserved by one Lua script on Redis's own
// clock, so hosts with skewed clocks still share one quota.
//
// Keys are "milligold:{HASH}:…", HASH a hash of the base URL and partner id:
// every key of a partner is in one Redis Cluster slot, and none names the
// partner or carries a secret. The token is stored sealed with a key derived
// from the partner secret.
//
// When Redis cannot be reached (or answers slower than the operation
// timeout), the store and the limiter fall back to in-process state: the
// token is fetched and kept per process, and the limiter allows a
// conservative share of the limit (a quarter by default), logging one
// warning; Redis is probed again every second, and when it answers, the
// sends made meanwhile are written into the shared log and the shared state
// takes over again. A Redis that restarted empty is told by its epoch key:
// each process then writes back its sends of the last window. Nothing here
// panics or blocks past the caller's context.
package redisquota

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/milligold/milligold-go/internal/clock"
	"github.com/milligold/milligold-go/internal/quotakey"
	"github.com/milligold/milligold-go/ratelimit"
)

// Defaults of the options.
const (
	DefaultLockTTL       = 5 * time.Second
	DefaultOpTimeout     = time.Second
	DefaultFallbackShare = 0.25
	probeEvery           = time.Second
)

// Shared is one partner's token store and limiter on one Redis.
type Shared struct {
	Store   *TokenStore
	Limiter *Limiter

	rdb  redis.UniversalClient
	keys keys
}

// Option configures New.
type Option func(*settings)

type settings struct {
	logger    *slog.Logger
	now       func() time.Time
	sleep     func(context.Context, time.Duration) error
	lockTTL   time.Duration
	opTimeout time.Duration
	share     float64
	margin    time.Duration
	fixed     bool // WithMargin was given
	onWait    func(d time.Duration, limit int, window time.Duration)
}

// WithLogger sets where the fallback warning and the recovery go; nil keeps
// the default, which discards.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) {
		if l != nil {
			s.logger = l
		}
	}
}

// WithClock replaces the process's clock (token validity, fallback limiter,
// probes) and sleep; nil keeps the real one. The shared log uses Redis's clock.
func WithClock(now func() time.Time, sleep func(context.Context, time.Duration) error) Option {
	return func(s *settings) {
		if now != nil {
			s.now = now
		}
		if sleep != nil {
			s.sleep = sleep
		}
	}
}

// WithLockTTL sets how long the token lock outlives a holder that stopped
// renewing it (a dead process): the longest the others wait for it.
func WithLockTTL(d time.Duration) Option {
	return func(s *settings) {
		if d > 0 {
			s.lockTTL = d
		}
	}
}

// WithOpTimeout bounds each Redis call; slower counts as unreachable.
func WithOpTimeout(d time.Duration) Option {
	return func(s *settings) {
		if d > 0 {
			s.opTimeout = d
		}
	}
}

// WithFallbackShare sets the share of the limit (0 < share ≤ 1) one process
// allows itself while Redis is unreachable. With N processes, 1/N keeps
// the partner within the limit.
func WithFallbackShare(share float64) Option {
	return func(s *settings) {
		if share > 0 && share <= 1 {
			s.share = share
		}
	}
}

// WithMargin fixes this process's safety margin: it no longer adapts to
// round trips (see Limiter). The log's span is still the window plus the
// largest margin of the processes sharing it.
func WithMargin(d time.Duration) Option {
	return func(s *settings) { s.margin, s.fixed = max(d, 0), true }
}

// WithOnWait calls fn when Wait must wait a second or more for the limit
// (the CLI prints it); fn must not block.
func WithOnWait(fn func(d time.Duration, limit int, window time.Duration)) Option {
	return func(s *settings) { s.onWait = fn }
}

// New returns the shared token store and limiter of one partner at one API
// (baseURL, partnerID) on rdb; the secret seals the stored token. It makes
// no Redis call, so it succeeds while Redis is down.
func New(rdb redis.UniversalClient, baseURL, partnerID, secret string, p ratelimit.Policy, opts ...Option) (*Shared, error) {
	if rdb == nil {
		return nil, errors.New("redisquota: nil Redis client")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	pk, err := quotakey.New(baseURL, partnerID, secret)
	if err != nil {
		return nil, err
	}
	st := settings{
		logger:    slog.New(slog.DiscardHandler),
		now:       time.Now,
		sleep:     clock.Sleep,
		lockTTL:   DefaultLockTTL,
		opTimeout: DefaultOpTimeout,
		share:     DefaultFallbackShare,
		margin:    ratelimit.DefaultMargin,
	}
	for _, o := range opts {
		o(&st)
	}
	k := newKeys(pk)
	h := &health{logger: st.logger, now: st.now}
	return &Shared{
		Store:   newTokenStore(rdb, pk, k, h, st),
		Limiter: newLimiter(rdb, k, h, p, st),
		rdb:     rdb,
		keys:    k,
	}, nil
}

// Clear deletes the partner's shared state (token, lock, log, limits, and
// the cached answers, found by SCAN: on a cluster client, on the node SCAN
// reaches) and returns how many keys it deleted.
func (s *Shared) Clear(ctx context.Context) (int, error) {
	n, err := s.rdb.Del(ctx, s.keys.token, s.keys.lock, s.keys.log, s.keys.meta, s.keys.epoch, s.keys.margins).Result()
	if err != nil {
		return 0, fmt.Errorf("redisquota: clear: %w", err)
	}
	iter := s.rdb.Scan(ctx, 0, s.keys.prefix+"cache:*", 100).Iterator()
	for iter.Next(ctx) {
		d, err := s.rdb.Del(ctx, iter.Val()).Result()
		if err != nil {
			return int(n), fmt.Errorf("redisquota: clear: %w", err)
		}
		n += d
	}
	if err := iter.Err(); err != nil {
		return int(n), fmt.Errorf("redisquota: clear: %w", err)
	}
	return int(n), nil
}

// keys are one partner's Redis keys; the braces make Redis Cluster hash
// only the partner hash, so the Lua scripts' keys share a slot.
type keys struct {
	prefix, token, lock, log, meta, epoch, margins string
}

func newKeys(p quotakey.Partner) keys {
	pre := "milligold:{" + p.String() + "}:"
	return keys{prefix: pre, token: pre + "token", lock: pre + "token-lock", log: pre + "log", meta: pre + "limits", epoch: pre + "epoch", margins: pre + "margins"}
}

// ParseURL builds a client from a redis:// or rediss:// (TLS) URL, with
// AUTH from its user info and the database from its path. Context deadlines
// are honoured on every call and the timeouts are short, so a dead Redis
// costs a caller at most DefaultOpTimeout before the fallback. Errors never
// quote the URL (it may hold a password).
func ParseURL(raw string) (*redis.Client, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return nil, errors.New("redis URL: want redis://[user:password@]host:port[/db] or rediss://… for TLS")
	}
	opt, err := redis.ParseURL(raw)
	if err != nil {
		msg := err.Error()
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "REDACTED")
		}
		return nil, fmt.Errorf("redis URL: %s", msg)
	}
	opt.ContextTimeoutEnabled = true
	opt.DialTimeout = time.Second
	opt.ReadTimeout = time.Second
	opt.WriteTimeout = time.Second
	opt.MaxRetries = -1 // no retries: a failed call falls back at once; retrying is the probe's job
	return redis.NewClient(opt), nil
}

// health tracks whether Redis answers, shared by a partner's store and
// limiter: one warning when it stops, one line when it is back.
type health struct {
	logger *slog.Logger
	now    func() time.Time

	mu        sync.Mutex
	down      bool
	nextProbe time.Time
}

// usable reports whether to try Redis: it is up, or a probe is due (then
// the next probe is pushed back, so one caller probes at a time).
func (h *health) usable() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down {
		return true
	}
	now := h.now()
	if now.Before(h.nextProbe) {
		return false
	}
	h.nextProbe = now.Add(probeEvery)
	return true
}

// fail records a failed call; it returns true when Redis just went down.
func (h *health) fail(err error) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nextProbe = h.now().Add(probeEvery)
	if h.down {
		return false
	}
	h.down = true
	h.logger.Warn("milligold: Redis unreachable; sharing the token and rate limit in process until it answers", "error", err.Error())
	return true
}

// ok records a successful call; it returns true when Redis just came back.
func (h *health) ok() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down {
		return false
	}
	h.down = false
	h.logger.Info("milligold: Redis answers again; token and rate limit shared again")
	return true
}

// probeDue reports, without taking it, whether a probe of a down Redis is due.
func (h *health) probeDue() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down && !h.now().Before(h.nextProbe)
}

// isDown reports the state without probing.
func (h *health) isDown() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.down
}

// redisErr tells a Redis failure from the caller giving up: only the first
// counts against Redis.
func redisErr(ctx context.Context, err error) bool {
	return err != nil && !errors.Is(err, redis.Nil) && ctx.Err() == nil
}
