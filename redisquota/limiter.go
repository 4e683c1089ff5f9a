package redisquota

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"math"
	"math/big"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/milligold/milligold-go/internal/quotakey"
	"github.com/milligold/milligold-go/ratelimit"
)

// reserveScript is the sliding log: at most limit sends in every interval
// of span (window plus the shared margin), on Redis's clock, in one atomic
// step.
//
//	KEYS[1] the log (sorted set, score = send time in µs)
//	KEYS[2] the limits (hash: limit, penalty in µs)
//	KEYS[3] the epoch: a random value, new whenever Redis lost the keys
//	KEYS[4] the margins (hash: process id -> "margin µs:expiry µs")
//	ARGV[1] window µs; ARGV[2] the default limit; ARGV[3] a unique member;
//	ARGV[4] the epoch the caller last saw; ARGV[5] a new epoch, in case;
//	ARGV[6] "1" when the caller holds recent sends it has not replayed;
//	ARGV[7] the caller's margin µs; ARGV[8] its process id; ARGV[9] the
//	caller's longest span µs (what the log keeps, at least the span in
//	force, and how long the caller's margin report lives);
//	ARGV[10…] pairs of member and age (µs): sends to replay (the fallback's,
//	and after a new epoch this process's recent ones); NX keeps a replay
//	from counting twice
//
// The margin in force is the largest of the live processes' margins (see
// Limiter). Only the limit-th latest send decides, and the log keeps every
// send of the longest span, so a margin that grows counts sends a smaller
// one would have let go.
//
// It returns {0, epoch, margin µs} (a send recorded), {µs to wait, epoch,
// margin µs}, or {-1, epoch, 0} when the epoch changed (Redis restarted
// empty) and the caller should call again with its recent sends.
var reserveScript = redis.NewScript(`
local ep = redis.call('GET', KEYS[3])
if not ep then
  ep = ARGV[5]
  redis.call('SET', KEYS[3], ep)
end
if ARGV[6] == '1' and ep ~= ARGV[4] then return {-1, ep, 0} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local keep = tonumber(ARGV[9])
local margin = tonumber(ARGV[7])
redis.call('HSET', KEYS[4], ARGV[8], ARGV[7] .. ':' .. string.format('%.0f', now + keep))
local ms = redis.call('HGETALL', KEYS[4])
for i = 1, #ms, 2 do
  local m, exp = string.match(ms[i + 1], '^(%d+):(%d+)$')
  if m and tonumber(exp) > now then
    if tonumber(m) > margin then margin = tonumber(m) end
  else
    redis.call('HDEL', KEYS[4], ms[i])
  end
end
redis.call('PEXPIRE', KEYS[4], math.ceil(keep / 1000) + 1000)
local span = tonumber(ARGV[1]) + margin
if span > keep then keep = span end
for i = 10, #ARGV - 1, 2 do
  redis.call('ZADD', KEYS[1], 'NX', now - tonumber(ARGV[i + 1]), ARGV[i])
end
local pen = tonumber(redis.call('HGET', KEYS[2], 'penalty') or '0')
if now < pen then return {pen - now, ep, margin} end
local limit = tonumber(redis.call('HGET', KEYS[2], 'limit') or ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - keep)
local n = redis.call('ZCARD', KEYS[1])
if n >= limit then
  local e = redis.call('ZRANGE', KEYS[1], n - limit, n - limit, 'WITHSCORES')
  local d = tonumber(e[2]) + span - now
  if d > 0 then return {d, ep, margin} end
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(keep / 1000) + 1000)
return {0, ep, margin}`)

// penalizeScript moves the shared penalty (Redis clock) to now + ARGV[1] µs
// unless it is already later.
var penalizeScript = redis.NewScript(`
local t = redis.call('TIME')
local at = tonumber(t[1]) * 1000000 + tonumber(t[2]) + tonumber(ARGV[1])
local cur = tonumber(redis.call('HGET', KEYS[1], 'penalty') or '0')
if at > cur then redis.call('HSET', KEYS[1], 'penalty', string.format('%.0f', at)) end
redis.call('PEXPIRE', KEYS[1], 86400000)
return 1`)

// Limiter is a ratelimit.Limiter on Redis: one sliding log per partner for
// every process, and the 429 penalty and adopted limit shared too. While
// Redis is unreachable it falls back to an in-process sliding log at the
// fallback share of the limit. Safe for concurrent use.
//
// Its margin adapts as ratelimit.SlidingLog's does, unless WithMargin fixes
// it: each process takes the longest of its last 64 round trips (plus the
// reserve call that let the request out: the log is stamped on Redis's
// clock, before the answer reaches us), and the log's span is the window
// plus the largest margin of the processes that reserved within the
// longest span. The largest, not each its own: the server counts every
// process's arrivals in one window, so the margin must cover the spread of
// all their one-way latencies, and a process near the API would otherwise
// crowd a send into the window of a far one's. A report expires when a send
// made with it could no longer count (window + DefaultMargin), so a slow
// process that stops no longer holds the others back.
type Limiter struct {
	rdb    redis.UniversalClient
	keys   keys
	h      *health
	policy ratelimit.Policy
	window time.Duration
	keep   time.Duration // the longest span: what the log and this process keep
	fixed  bool          // WithMargin: the margin does not adapt
	margin time.Duration // the fixed margin
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	opTO   time.Duration
	share  float64
	onWait func(time.Duration, int, time.Duration)
	id     string
	seq    atomic.Uint64
	limit  atomic.Int64 // the limit in force, as last known

	mu        sync.Mutex
	fbLimit   int       // the fallback's limit: the share of the limit in force
	offline   []send    // sends the fallback allowed: its log, replayed into Redis
	recent    []send    // this process's shared sends within the span
	restore   bool      // Redis failed or lost its keys: replay recent too
	epoch     string    // the shared log's epoch last seen
	fullUntil time.Time // the shared log was full until then, as Redis last said
	penalty   time.Time // the latest Penalize, for the fallback
	observed  int       // the limit last written to Redis
	rtts      ratelimit.RoundTrips
	lastOp    time.Duration // the last reserve call's duration
	shared    time.Duration // the margin in force, as Redis last said
}

var (
	_ ratelimit.Limiter           = (*Limiter)(nil)
	_ ratelimit.RoundTripObserver = (*Limiter)(nil)
)

func newLimiter(rdb redis.UniversalClient, k keys, h *health, p ratelimit.Policy, st settings) *Limiter {
	var id [8]byte
	rand.Read(id[:])
	l := &Limiter{
		rdb: rdb, keys: k, h: h, policy: p, window: p.Window, fixed: st.fixed, margin: st.margin,
		keep: p.Window + max(st.margin, ratelimit.DefaultMargin),
		now:  st.now, sleep: st.sleep, opTO: st.opTimeout, share: st.share, onWait: st.onWait,
		id: hex.EncodeToString(id[:]),
	}
	l.limit.Store(int64(p.Requests))
	l.fbLimit = l.fallbackLimit(p.Requests)
	l.shared = l.ownMargin()
	return l
}

// ownMargin is this process's margin; l.mu held.
func (l *Limiter) ownMargin() time.Duration {
	if l.fixed {
		return l.margin
	}
	return l.rtts.Margin()
}

// ObserveRoundTrip implements ratelimit.RoundTripObserver: this process's
// margin becomes the longest of its recent round trips, each with the
// reserve call before it. A fixed margin (WithMargin) ignores it.
func (l *Limiter) ObserveRoundTrip(d time.Duration) {
	if l.fixed || d < 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rtts.Add(d + l.lastOp)
}

// Margin returns the margin in force: the largest of the live processes'
// as Redis last said, and at least this process's own.
func (l *Limiter) Margin() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return max(l.shared, l.ownMargin())
}

func (l *Limiter) fallbackLimit(n int) int {
	return max(1, int(math.Floor(float64(n)*l.share)))
}

// Wait implements ratelimit.Limiter. It returns at once, with an error
// wrapping context.DeadlineExceeded, when the wait would outlast ctx's
// deadline: waiting could not help.
func (l *Limiter) Wait(ctx context.Context) error {
	told := false
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		d, shared, err := l.reserve(ctx)
		if err != nil {
			return err
		}
		if !shared {
			if err := l.waitLocal(ctx); err != errRetryShared {
				return err
			}
			continue
		}
		if d == 0 {
			return nil
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			return &quotakey.WaitError{Wait: d}
		}
		if !told && d >= time.Second && l.onWait != nil {
			told = true
			l.onWait(d, int(l.limit.Load()), l.policy.Window)
		}
		if err := l.sleep(ctx, d+jitter()); err != nil {
			return err
		}
	}
}

// jitter spreads the processes that wake for the same slot.
func jitter() time.Duration {
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(5*time.Millisecond)))
	return time.Duration(n.Int64())
}

// send is one send of this process: its time and its member in the log.
type send struct {
	at     time.Time
	member string
}

func (l *Limiter) member() string { return l.id + ":" + strconv.FormatUint(l.seq.Add(1), 36) }

// reserve runs the script; shared is false when Redis is unreachable.
func (l *Limiter) reserve(ctx context.Context) (d time.Duration, shared bool, err error) {
	for range 2 { // a second call only after a new epoch
		d, shared, again, err := l.reserveOnce(ctx)
		if !again {
			return d, shared, err
		}
	}
	return 0, false, nil
}

func (l *Limiter) reserveOnce(ctx context.Context) (d time.Duration, shared, again bool, err error) {
	if !l.h.usable() {
		return 0, false, false, nil
	}
	l.mu.Lock()
	now := l.now()
	me := l.member()
	l.recent = trim(l.recent, now, l.keep)
	unreplayed := "0"
	if !l.restore && len(l.recent) > 0 {
		unreplayed = "1"
	}
	var fresh [8]byte
	rand.Read(fresh[:])
	args := []any{l.window.Microseconds(), l.policy.Requests, me, l.epoch, hex.EncodeToString(fresh[:]), unreplayed,
		l.ownMargin().Microseconds(), l.id, l.keep.Microseconds()}
	replay := l.offline
	if l.restore {
		replay = append(slices.Clip(l.recent), l.offline...)
	}
	replayed := make(map[string]bool, len(l.offline))
	for _, r := range l.offline {
		replayed[r.member] = true
	}
	for _, r := range replay {
		if age := now.Sub(r.at); age < l.keep {
			args = append(args, r.member, age.Microseconds())
		}
	}
	l.mu.Unlock()
	octx, cancel := context.WithTimeout(ctx, l.opTO)
	defer cancel()
	res, err := reserveScript.Run(octx, l.rdb, []string{l.keys.log, l.keys.meta, l.keys.epoch, l.keys.margins}, args...).Slice()
	took := l.now().Sub(now)
	var us, marginUS int64
	var epoch string
	if err == nil {
		if len(res) != 3 {
			err = errors.New("redisquota: unexpected reply to the reserve script")
		} else {
			us, _ = res[0].(int64)
			epoch, _ = res[1].(string)
			marginUS, _ = res[2].(int64)
		}
	}
	if redisErr(ctx, err) {
		l.h.fail(err)
		l.mu.Lock()
		l.restore = true
		l.mu.Unlock()
		return 0, false, false, nil
	}
	if err != nil {
		return 0, false, false, ctx.Err()
	}
	l.h.ok()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.epoch = epoch
	if us < 0 {
		// Redis lost the log (restarted empty): put back what we sent.
		l.restore = true
		return 0, true, true, nil
	}
	d = time.Duration(us) * time.Microsecond
	l.restore = false
	l.lastOp = max(took, 0)
	l.shared = time.Duration(marginUS) * time.Microsecond
	// The replayed fallback sends are in the shared log now. (Another Wait
	// may have changed offline meanwhile: go by member.)
	l.recent = trim(l.recent, now, l.keep)
	keep := l.offline[:0]
	for _, x := range l.offline {
		if replayed[x.member] {
			l.recent = append(l.recent, x)
		} else {
			keep = append(keep, x)
		}
	}
	l.offline = keep
	if d > 0 {
		l.fullUntil = later(l.fullUntil, now.Add(d))
	} else {
		l.recent = append(l.recent, send{now, me})
	}
	return d, true, false, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// trim drops the sends at or past span before now.
func trim(ss []send, now time.Time, span time.Duration) []send {
	keep := ss[:0]
	for _, x := range ss {
		if now.Sub(x.at) < span {
			keep = append(keep, x)
		}
	}
	return keep
}

// waitLocal is the fallback: a sliding log in process at the fallback
// share of the limit. It counts this process's recent shared sends too, and
// holds until the shared log was last known to be full and until a
// penalty, so a slow Redis call in a busy window does not let a burst out.
func (l *Limiter) waitLocal(ctx context.Context) error {
	for {
		l.mu.Lock()
		now := l.now()
		span := l.window + max(l.shared, l.ownMargin())
		l.recent = trim(l.recent, now, l.keep)
		l.offline = trim(l.offline, now, l.keep)
		var d time.Duration
		// The sends within the span: recent and offline keep the longest
		// span, for the replay and for a margin that grows.
		var all []time.Time
		for _, x := range append(slices.Clip(l.recent), l.offline...) {
			if now.Sub(x.at) < span {
				all = append(all, x.at)
			}
		}
		if until := later(l.fullUntil, l.penalty); now.Before(until) {
			d = until.Sub(now)
		} else if n := len(all); n >= l.fbLimit {
			slices.SortFunc(all, func(a, b time.Time) int { return a.Compare(b) })
			d = max(all[n-l.fbLimit].Add(span).Sub(now), time.Nanosecond)
		} else {
			l.offline = append(l.offline, send{now, l.member()})
		}
		l.mu.Unlock()
		if d == 0 {
			return nil
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			return &quotakey.WaitError{Wait: d}
		}
		if err := l.sleep(ctx, min(d, probeEvery)); err != nil {
			return err
		}
		if l.h.probeDue() {
			// Redis may be back: let Wait try it.
			return errRetryShared
		}
	}
}

// errRetryShared sends Wait back to Redis after a probe came due.
var errRetryShared = errors.New("redisquota: retry the shared log")

// Observe implements ratelimit.Limiter: the limit is written to Redis when
// it changes, so every process adopts it.
func (l *Limiter) Observe(n int) {
	if n < 1 || n > 1<<20 {
		return
	}
	l.limit.Store(int64(n))
	l.mu.Lock()
	l.fbLimit = l.fallbackLimit(n)
	same := l.observed == n
	l.observed = n
	l.mu.Unlock()
	if same || !l.h.usable() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.opTO)
	defer cancel()
	if err := l.rdb.HSet(ctx, l.keys.meta, "limit", n).Err(); err != nil {
		l.h.fail(err)
		l.mu.Lock()
		l.observed = 0 // write it again next time
		l.mu.Unlock()
		return
	}
	l.h.ok()
}

// Penalize implements ratelimit.Limiter: every process holds until t. The
// wait is sent as a duration, so the penalty lands on Redis's clock
// whatever this host's clock says.
func (l *Limiter) Penalize(t time.Time) {
	l.mu.Lock()
	l.penalty = later(l.penalty, t)
	l.mu.Unlock()
	d := t.Sub(l.now())
	if d <= 0 || !l.h.usable() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.opTO)
	defer cancel()
	if err := penalizeScript.Run(ctx, l.rdb, []string{l.keys.meta}, d.Microseconds()).Err(); err != nil {
		l.h.fail(err)
		return
	}
	l.h.ok()
}

// Limit returns the limit in force as this process last knew it.
func (l *Limiter) Limit() int { return int(l.limit.Load()) }
