// Package filequota shares one partner's access token and rate limit
// between the processes of one host through files in the user's cache
// directory (os.UserCacheDir()/milligold): consecutive CLI runs reuse one
// token and one sliding log. flock(2) gives mutual exclusion, and the kernel
// drops a dead process's lock at once. Files are named by a hash of the base
// URL and partner id, mode 0600 in a 0700 directory, and the token is sealed
// with a key derived from the partner secret.
package filequota

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/milligold/milligold-go/internal/clock"
	"github.com/milligold/milligold-go/internal/quotakey"
	"github.com/milligold/milligold-go/ratelimit"
	"github.com/milligold/milligold-go/tokens"
)

// Dir is the default directory: os.UserCacheDir()/milligold (on Linux
// $XDG_CACHE_HOME/milligold, else ~/.cache/milligold).
func Dir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("filequota: %w", err)
	}
	return filepath.Join(d, "milligold"), nil
}

// Shared is one partner's token store and limiter in one directory.
type Shared struct {
	Store   *TokenStore
	Limiter *Limiter
}

// Option configures New.
type Option func(*settings)

type settings struct {
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
	margin time.Duration
	fixed  bool // WithMargin was given
	onWait func(d time.Duration, limit int, window time.Duration)
}

// WithClock replaces the clock and sleep; nil keeps the real one.
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

// WithMargin fixes the sliding log's safety margin: it no longer adapts to
// round trips (see Limiter).
func WithMargin(d time.Duration) Option {
	return func(s *settings) { s.margin, s.fixed = max(d, 0), true }
}

// WithOnWait calls fn when Wait must wait a second or more (the CLI prints
// it); fn must not block.
func WithOnWait(fn func(d time.Duration, limit int, window time.Duration)) Option {
	return func(s *settings) { s.onWait = fn }
}

// New returns the file-backed token store and limiter of one partner at
// one API in dir ("" means Dir()), creating dir (0700) if needed.
func New(dir, baseURL, partnerID, secret string, p ratelimit.Policy, opts ...Option) (*Shared, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	pk, err := quotakey.New(baseURL, partnerID, secret)
	if err != nil {
		return nil, err
	}
	if dir == "" {
		if dir, err = Dir(); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("filequota: %w", err)
	}
	st := settings{now: time.Now, sleep: clock.Sleep, margin: ratelimit.DefaultMargin}
	for _, o := range opts {
		o(&st)
	}
	path := filepath.Join(dir, pk.String())
	localOpts := []ratelimit.Option{ratelimit.WithClock(st.now, st.sleep)}
	if st.fixed {
		localOpts = append(localOpts, ratelimit.WithMargin(st.margin))
	}
	return &Shared{
		Store: &TokenStore{pk: pk, path: path + ".token", lockPath: path + ".token.lock", now: st.now, sleep: st.sleep},
		Limiter: &Limiter{path: path + ".quota", lockPath: path + ".quota.lock", policy: p,
			fixed: st.fixed, margin: st.margin, keep: p.Window + max(st.margin, ratelimit.DefaultMargin),
			now: st.now, sleep: st.sleep, onWait: st.onWait,
			local: ratelimit.NewSlidingLog(p, localOpts...)},
	}, nil
}

// Clear removes every partner's files from dir ("" means Dir()); a missing
// dir is not an error.
func Clear(dir string) error {
	if dir == "" {
		var err error
		if dir, err = Dir(); err != nil {
			return err
		}
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("filequota: %w", err)
	}
	for _, e := range ents {
		switch filepath.Ext(e.Name()) {
		case ".token", ".quota", ".lock":
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("filequota: %w", err)
			}
		}
	}
	return nil
}

// writeFile replaces path atomically with data, mode 0600, so a reader
// never sees half a file.
func writeFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// TokenStore is a tokens.Store and tokens.Locker in a file; a process keeps
// a copy in memory. Safe for concurrent use.
type TokenStore struct {
	pk       quotakey.Partner
	path     string
	lockPath string
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
	local    tokens.MemoryStore
}

var (
	_ tokens.Store  = (*TokenStore)(nil)
	_ tokens.Locker = (*TokenStore)(nil)
)

// Load implements tokens.Store; a missing, damaged or foreign file is no token.
func (s *TokenStore) Load(ctx context.Context) (tokens.Token, bool, error) {
	if t, ok, _ := s.local.Load(ctx); ok && t.Valid(s.now()) {
		return t, true, nil
	}
	if t, ok := s.read(); ok {
		_ = s.local.Save(ctx, t)
		return t, true, nil
	}
	t, ok, _ := s.local.Load(ctx)
	return t, ok, nil
}

func (s *TokenStore) read() (tokens.Token, bool) {
	b, err := os.ReadFile(s.path)
	if err != nil {
		return tokens.Token{}, false
	}
	t, err := s.pk.Open(b)
	return t, err == nil
}

// Save implements tokens.Store.
func (s *TokenStore) Save(ctx context.Context, t tokens.Token) error {
	_ = s.local.Save(ctx, t)
	b, err := s.pk.Seal(t)
	if err != nil {
		return err
	}
	// A file that cannot be written (disk full, read-only home) costs the
	// next process a token request, not this call.
	_ = writeFile(s.path, b)
	return nil
}

const pollEvery = 20 * time.Millisecond

// Lock implements tokens.Locker with flock(2) on a lock file.
func (s *TokenStore) Lock(ctx context.Context, stale tokens.Token, _ time.Time) (tokens.Token, bool, func(), error) {
	for {
		if t, ok := s.read(); ok && t.Valid(s.now()) && t.Value != stale.Value {
			_ = s.local.Save(ctx, t)
			return t, true, nil, nil
		}
		unlock, err := tryLock(s.lockPath)
		if err != nil {
			// No lock to be had (an unwritable dir, no flock): fetch alone.
			return tokens.Token{}, false, func() {}, nil
		}
		if unlock != nil {
			if t, ok := s.read(); ok && t.Valid(s.now()) && t.Value != stale.Value {
				unlock()
				_ = s.local.Save(ctx, t)
				return t, true, nil, nil
			}
			return tokens.Token{}, false, unlock, nil
		}
		if err := s.sleep(ctx, pollEvery); err != nil {
			return tokens.Token{}, false, nil, err
		}
	}
}

// lockCtx takes the flock on path, polling until ctx is done.
func lockCtx(ctx context.Context, path string, sleep func(context.Context, time.Duration) error) (func(), error) {
	for {
		unlock, err := tryLock(path)
		if err != nil {
			return nil, fmt.Errorf("filequota: %w", err)
		}
		if unlock != nil {
			return unlock, nil
		}
		if err := sleep(ctx, time.Millisecond); err != nil {
			return nil, err
		}
	}
}

// quotaFile is the sliding log at rest. Times are unix nanoseconds.
type quotaFile struct {
	Limit   int         `json:"limit,omitempty"`
	Penalty int64       `json:"penalty,omitempty"`
	Sent    []int64     `json:"sent"`
	RTT     []roundTrip `json:"rtt,omitempty"` // the host's last round trips, oldest first
}

// roundTrip is one observed round trip: when (unix ns) and how long (ns).
type roundTrip struct {
	At int64 `json:"at"`
	D  int64 `json:"d"`
}

// rttKeep is how long a round trip counts for the margin: about what 64 of
// them last at the document's 10 per 20 s. After a pause the margin starts
// again from DefaultMargin, since the network may have changed.
const rttKeep = 2 * time.Minute

// margin is the adaptive margin the file's round trips give at now.
func (q *quotaFile) margin(now time.Time) time.Duration {
	var r ratelimit.RoundTrips
	for _, x := range q.RTT {
		if now.Sub(time.Unix(0, x.At)) < rttKeep {
			r.Add(time.Duration(x.D))
		}
	}
	return r.Margin()
}

// maxSent bounds what a damaged or hostile file can make us hold.
const maxSent = 1 << 16

// maxRTT is how many round trips the file keeps (ratelimit's 64).
const maxRTT = 64

// decodeQuota reads a quota file; anything malformed is an empty log.
func decodeQuota(b []byte) quotaFile {
	var q quotaFile
	if json.Unmarshal(b, &q) != nil || len(q.Sent) > maxSent || q.Limit < 0 || q.Limit > 1<<20 {
		return quotaFile{}
	}
	if len(q.RTT) > maxRTT {
		q.RTT = q.RTT[len(q.RTT)-maxRTT:]
	}
	slices.Sort(q.Sent)
	return q
}

// Limiter is a ratelimit.Limiter whose sliding log is a file, shared by
// every process of the host. Safe for concurrent use.
//
// Its margin adapts as ratelimit.SlidingLog's does (the longest of the last
// 64 round trips within [MinMargin, DefaultMargin]) unless WithMargin fixes
// it, but from one ring in the file that every process of the host adds to:
// they share the host's path to the API, and a CLI run makes too few
// requests to learn alone, so a run starts from what the runs before it
// saw. A round trip counts for rttKeep (2 min); with none the margin is
// DefaultMargin.
type Limiter struct {
	path, lockPath string
	policy         ratelimit.Policy
	fixed          bool          // WithMargin: the margin does not adapt
	margin         time.Duration // the fixed margin
	keep           time.Duration // the longest span: sends older are dropped
	now            func() time.Time
	sleep          func(context.Context, time.Duration) error
	onWait         func(time.Duration, int, time.Duration)
	local          *ratelimit.SlidingLog // when the file fails
}

var (
	_ ratelimit.Limiter           = (*Limiter)(nil)
	_ ratelimit.RoundTripObserver = (*Limiter)(nil)
)

// update runs fn on the quota file under its lock and writes the result.
func (l *Limiter) update(ctx context.Context, fn func(q *quotaFile)) error {
	unlock, err := lockCtx(ctx, l.lockPath, l.sleep)
	if err != nil {
		return err
	}
	defer unlock()
	b, _ := os.ReadFile(l.path)
	q := decodeQuota(b)
	fn(&q)
	out, err := json.Marshal(q)
	if err != nil {
		return err
	}
	if err := writeFile(l.path, out); err != nil {
		return fmt.Errorf("filequota: %w", err)
	}
	return nil
}

// Wait implements ratelimit.Limiter. It returns at once, with an error
// wrapping context.DeadlineExceeded, when the wait would outlast ctx's deadline.
func (l *Limiter) Wait(ctx context.Context) error {
	told := false
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var d time.Duration
		limit := l.policy.Requests
		err := l.update(ctx, func(q *quotaFile) {
			now := l.now()
			if q.Limit > 0 {
				limit = q.Limit
			}
			if p := time.Unix(0, q.Penalty); now.Before(p) {
				d = p.Sub(now)
				return
			}
			margin := l.margin
			if !l.fixed {
				margin = q.margin(now)
			}
			span := l.window() + margin
			// Only the limit-th latest send decides; the file keeps the
			// longest span's, so a margin that grows counts them again.
			cut := now.Add(-max(l.keep, span)).UnixNano()
			i := 0
			for i < len(q.Sent) && q.Sent[i] <= cut {
				i++
			}
			q.Sent = q.Sent[i:]
			if len(q.Sent) >= limit {
				if oldest := time.Unix(0, q.Sent[len(q.Sent)-limit]); now.Sub(oldest) < span {
					d = max(oldest.Add(span).Sub(now), time.Nanosecond)
					return
				}
			}
			q.Sent = append(q.Sent, now.UnixNano())
		})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// The file failed (unwritable, no flock): pace this process alone.
			return l.local.Wait(ctx)
		}
		if d == 0 {
			return nil
		}
		if dl, ok := ctx.Deadline(); ok && dl.Sub(l.now()) < d {
			return &quotakey.WaitError{Wait: d}
		}
		if !told && d >= time.Second && l.onWait != nil {
			told = true
			l.onWait(d, limit, l.policy.Window)
		}
		if err := l.sleep(ctx, d); err != nil {
			return err
		}
	}
}

func (l *Limiter) window() time.Duration { return l.policy.Window }

// ObserveRoundTrip implements ratelimit.RoundTripObserver: d joins the
// host's ring in the file. A fixed margin (WithMargin) ignores it.
func (l *Limiter) ObserveRoundTrip(d time.Duration) {
	if l.fixed || d < 0 {
		return
	}
	l.local.ObserveRoundTrip(d)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = l.update(ctx, func(q *quotaFile) {
		q.RTT = append(q.RTT, roundTrip{At: l.now().UnixNano(), D: int64(d)})
		if len(q.RTT) > maxRTT {
			q.RTT = q.RTT[len(q.RTT)-maxRTT:]
		}
	})
}

// Margin returns the margin in force (the file's, or the fixed one).
func (l *Limiter) Margin() time.Duration {
	if l.fixed {
		return l.margin
	}
	b, _ := os.ReadFile(l.path)
	q := decodeQuota(b)
	return q.margin(l.now())
}

// Observe implements ratelimit.Limiter.
func (l *Limiter) Observe(n int) {
	if n < 1 || n > 1<<20 {
		return
	}
	l.local.Observe(n)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = l.update(ctx, func(q *quotaFile) { q.Limit = n })
}

// Penalize implements ratelimit.Limiter.
func (l *Limiter) Penalize(t time.Time) {
	l.local.Penalize(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = l.update(ctx, func(q *quotaFile) { q.Penalty = max(q.Penalty, t.UnixNano()) })
}
