package redisquota

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/milligold/milligold-go/internal/redistest"
	"github.com/milligold/milligold-go/ratelimit"
	"github.com/milligold/milligold-go/tokens"
)

const (
	base    = "http://127.0.0.1:1/partner"
	partner = "partner-id-visible"
	secret  = "partner-secret-hidden"
)

// quick is a short policy, so tests take seconds.
var quick = ratelimit.Policy{Requests: 5, Window: time.Second}

func newShared(t *testing.T, rdb redis.UniversalClient, opts ...Option) *Shared {
	t.Helper()
	s, err := New(rdb, base, partner, secret, quick, append([]Option{WithMargin(100 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// maxInWindow is the most sends in any interval of length w.
func maxInWindow(ts []time.Time, w time.Duration) int {
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	most := 0
	for i := range ts {
		j := i
		for j < len(ts) && ts[j].Sub(ts[i]) < w {
			j++
		}
		most = max(most, j-i)
	}
	return most
}

// TestLimiterSharedAcrossInstances: three limiters (three processes' worth,
// one with its clock 5 s ahead) and 8 goroutines each keep every window
// within the limit together, and use it.
func TestLimiterSharedAcrossInstances(t *testing.T) {
	srv := redistest.Start(t)
	skewed := func() time.Time { return time.Now().Add(5 * time.Second) }
	// A 300 ms margin: the sends are stamped after Wait returns, which a
	// loaded machine delays.
	m := WithMargin(300 * time.Millisecond)
	lims := []*Limiter{
		newShared(t, srv.Client(t), m).Limiter,
		newShared(t, srv.Client(t), m).Limiter,
		newShared(t, srv.Client(t), m, WithClock(skewed, nil)).Limiter,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	var mu sync.Mutex
	var sent []time.Time
	var wg sync.WaitGroup
	for _, l := range lims {
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for l.Wait(ctx) == nil {
					mu.Lock()
					sent = append(sent, time.Now())
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	// 4 s at 5 per 1.3 s: 20 at most (0, 1.3, 2.6, 3.9 s); a loaded
	// machine may slip the last burst past the deadline, so 13 at least.
	if got := maxInWindow(sent, quick.Window); got > quick.Requests {
		t.Errorf("max sends in one %s = %d; want at most %d", quick.Window, got, quick.Requests)
	}
	if len(sent) < 13 || len(sent) > 20 {
		t.Errorf("sends in 4 s = %d; want 13 to 20 (the quota, shared)", len(sent))
	}
}

func TestPenaltyAndLimitShared(t *testing.T) {
	srv := redistest.Start(t)
	a, b := newShared(t, srv.Client(t)).Limiter, newShared(t, srv.Client(t)).Limiter
	a.Penalize(time.Now().Add(400 * time.Millisecond))
	start := time.Now()
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("Wait after another process's Penalize(+400ms) took %s; want about 400ms", d)
	}
	a.Observe(2) // one already sent: one more, then wait
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := b.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("third Wait under an adopted limit of 2 = %v; want DeadlineExceeded", err)
	}
}

func TestWaitBeyondDeadlineFailsAtOnce(t *testing.T) {
	srv := redistest.Start(t)
	var told atomic.Int32
	l := newShared(t, srv.Client(t), WithOnWait(func(time.Duration, int, time.Duration) { told.Add(1) })).Limiter
	for range quick.Requests {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := l.Wait(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 100*time.Millisecond {
		t.Errorf("Wait with 200ms left and ~1s to go = %v after %s; want DeadlineExceeded at once", err, time.Since(start))
	}
}

// fetcher counts token requests.
type fetcher struct {
	n     atomic.Int32
	delay time.Duration
}

func (f *fetcher) fetch(ctx context.Context) (tokens.Grant, error) {
	n := f.n.Add(1)
	select {
	case <-time.After(f.delay):
	case <-ctx.Done():
		return tokens.Grant{}, ctx.Err()
	}
	return tokens.Grant{Value: fmt.Sprintf("token-value-%d", n), ExpiresIn: time.Hour}, nil
}

// TestOneFetchAcrossStores: 6 stores (processes) × 20 goroutines, one fetch.
func TestOneFetchAcrossStores(t *testing.T) {
	srv := redistest.Start(t)
	f := &fetcher{delay: 100 * time.Millisecond}
	var wg sync.WaitGroup
	var got sync.Map
	for range 6 {
		// A Redis call slower than the op timeout counts as an outage and
		// each store falls back to fetching on its own (by design); 120
		// goroutines under -race on a loaded machine can be that slow, and
		// this test is about coalescing, not outages.
		src := tokens.NewSource(f.fetch, tokens.WithStore(newShared(t, srv.Client(t), WithOpTimeout(10*time.Second)).Store))
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tok, err := src.Get(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				got.Store(tok.Value, true)
			}()
		}
	}
	wg.Wait()
	if n := f.n.Load(); n != 1 {
		t.Errorf("token requests = %d; want 1", n)
	}
	distinct := 0
	got.Range(func(any, any) bool { distinct++; return true })
	if distinct != 1 {
		t.Errorf("distinct tokens handed out = %d; want 1", distinct)
	}
}

// TestDeadHolderStallsAtMostTTL: a lock left by a dead process (no
// renewal) delays the others by its TTL at most.
func TestDeadHolderStallsAtMostTTL(t *testing.T) {
	srv := redistest.Start(t)
	const ttl = time.Second
	s := newShared(t, srv.Client(t), WithLockTTL(ttl))
	if err := srv.Client(t).Set(context.Background(), s.keys.lock, "dead-process", ttl).Err(); err != nil {
		t.Fatal(err)
	}
	f := &fetcher{}
	start := time.Now()
	if _, err := tokens.NewSource(f.fetch, tokens.WithStore(s.Store)).Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < ttl/2 || d > ttl+time.Second { // wide: the machine is shared
		t.Errorf("Get behind a dead holder's lock took %s; want about the TTL (%s)", d, ttl)
	}
	if f.n.Load() != 1 {
		t.Errorf("fetches = %d; want 1", f.n.Load())
	}
}

// TestFencedSave: a holder whose lock expired and was taken by another
// cannot overwrite the newer token.
func TestFencedSave(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	a, b := newShared(t, srv.Client(t), WithLockTTL(300*time.Millisecond)), newShared(t, srv.Client(t))
	_, ok, unlockA, err := a.Store.Lock(ctx, tokens.Token{}, time.Now())
	if err != nil || ok {
		t.Fatalf("Lock = %v, %v", ok, err)
	}
	// a stalls: its renewals stop as if the process were frozen.
	srv.Client(t).Del(ctx, a.keys.lock)
	_, ok, unlockB, err := b.Store.Lock(ctx, tokens.Token{}, time.Now())
	if err != nil || ok {
		t.Fatalf("Lock = %v, %v", ok, err)
	}
	newer := tokens.Token{Value: "newer-token", Expiry: time.Now().Add(time.Hour), RenewAt: time.Now().Add(50 * time.Minute)}
	b.Store.Save(ctx, newer)
	unlockB()
	a.Store.Save(ctx, tokens.Token{Value: "older-token", Expiry: time.Now().Add(time.Hour), RenewAt: time.Now().Add(50 * time.Minute)})
	unlockA()
	c := newShared(t, srv.Client(t))
	got, ok, err := c.Store.Load(ctx)
	if err != nil || !ok || got.Value != "newer-token" {
		t.Errorf("Load after a fenced-out Save = %v, %v, %v; want newer-token", got.Value, ok, err)
	}
}

// TestKeysCarryNoSecret: every key of a partner shares one hash tag and
// names neither the partner nor the base URL; the stored token is sealed.
func TestKeysCarryNoSecret(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx := context.Background()
	s := newShared(t, rdb)
	tok := "tok-" + strings.Repeat("x", 20)
	s.Store.Save(ctx, tokens.Token{Value: tok, Expiry: time.Now().Add(time.Hour), RenewAt: time.Now().Add(time.Hour)})
	s.Limiter.Wait(ctx)
	s.Limiter.Penalize(time.Now().Add(time.Millisecond))
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil || len(keys) < 3 {
		t.Fatalf("KEYS * = %v, %v; want the token, log and limits", keys, err)
	}
	for _, k := range keys {
		for _, bad := range []string{partner, secret, tok, "127.0.0.1"} {
			if strings.Contains(k, bad) {
				t.Errorf("key %q contains %q", k, bad)
			}
		}
		if !strings.HasPrefix(k, s.keys.prefix) || !strings.Contains(k, "{") {
			t.Errorf("key %q lacks the partner's hash tag %s", k, s.keys.prefix)
		}
	}
	raw, _ := rdb.Get(ctx, s.keys.token).Bytes()
	if bytes.Contains(raw, []byte(tok)) || bytes.Contains(raw, []byte("tok-")) {
		t.Error("the stored token is readable without the secret")
	}
	other, _ := New(rdb, base, partner, "another-secret", quick)
	if _, ok, _ := other.Store.Load(ctx); ok {
		t.Error("a store with another secret opened the token")
	}
}

// countingHandler counts log records by level.
type countingHandler struct {
	mu   sync.Mutex
	recs []string
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Level.String()+" "+r.Message)
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }
func (h *countingHandler) records() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.recs)
}

// TestRedisDownFallsBackAndRecovers: with Redis stopped, calls neither fail
// nor hang; the limiter allows its fallback share; one warning is logged;
// after a restart, the shared state is used again (one more line).
func TestRedisDownFallsBackAndRecovers(t *testing.T) {
	srv := redistest.Start(t)
	h := &countingHandler{}
	// A wide margin keeps the offline sends within the span until the replay.
	s := newShared(t, srv.Client(t), WithLogger(slog.New(h)), WithFallbackShare(0.4), WithMargin(3*time.Second)) // 2 of 5
	ctx := context.Background()
	src := tokens.NewSource((&fetcher{}).fetch, tokens.WithStore(s.Store))
	if _, err := src.Get(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Stop()

	start := time.Now()
	allowed := 0
	wctx, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
	for s.Limiter.Wait(wctx) == nil {
		allowed++
	}
	cancel()
	if allowed != 2 {
		t.Errorf("sends allowed in 0.7 s with Redis down = %d; want the fallback share, 2", allowed)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Wait with Redis down took %s past its context", d)
	}
	if _, err := src.Get(ctx); err != nil {
		t.Errorf("Get with Redis down = %v; want the process's token", err)
	}
	if got := h.records(); len(got) != 1 || !strings.HasPrefix(got[0], "WARN") {
		t.Errorf("log with Redis down = %q; want one warning", got)
	}

	srv.Restart()
	time.Sleep(probeEvery + 100*time.Millisecond)
	if err := s.Limiter.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got := h.records(); len(got) != 2 || !strings.HasPrefix(got[1], "INFO") {
		t.Errorf("log after the restart = %q; want the warning, then one info line", got)
	}
	// The two offline sends were replayed: with this one, 3 in the shared log.
	n, err := srv.Client(t).ZCard(ctx, s.keys.log).Result()
	if err != nil || n != 3 {
		t.Errorf("shared log after recovery = %d, %v; want 3 (2 replayed + 1)", n, err)
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct{ name, url, wantErr string }{
		{"plain", "redis://127.0.0.1:6379/0", ""},
		{"tls and auth", "rediss://user:pw-hidden@redis.example:6380/2", ""},
		{"http", "http://127.0.0.1:6379", "want redis://"},
		{"bad db", "redis://u:pw-hidden@127.0.0.1:6379/notanumber", "redis URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseURL(tc.url)
			if c != nil {
				defer c.Close()
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("ParseURL(%q) = %v", tc.url, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("ParseURL(%q) = %v; want %q", tc.url, err, tc.wantErr)
			case err != nil && strings.Contains(err.Error(), "pw-hidden"):
				t.Errorf("ParseURL error %q shows the password", err)
			}
		})
	}
}

// TestSlowRedisFallsBack: a Redis that accepts connections and never
// answers costs a call the op timeout, then the fallback answers.
func TestSlowRedisFallsBack(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, say nothing
		}
	}()
	rdb, err := ParseURL("redis://" + l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	s := newShared(t, rdb, WithOpTimeout(200*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Limiter.Wait(ctx); err != nil {
		t.Fatalf("Wait on a silent Redis = %v; want the fallback's slot", err)
	}
	src := tokens.NewSource((&fetcher{}).fetch, tokens.WithStore(s.Store))
	if _, err := src.Get(ctx); err != nil {
		t.Fatalf("Get on a silent Redis = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Wait and Get on a silent Redis took %s; want about one op timeout (200ms)", d)
	}
}

// TestRestartRestoresTheLog: Redis restarted empty gets back the sends each
// process made within the span, so the quota already spent stays spent.
func TestRestartRestoresTheLog(t *testing.T) {
	srv := redistest.Start(t)
	s := newShared(t, srv.Client(t), WithMargin(3*time.Second)) // span 4 s
	ctx := context.Background()
	for range quick.Requests {
		if err := s.Limiter.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	srv.Restart()
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	err := s.Limiter.Wait(short) // the dead connection fails: fallback, which counts the 5
	cancel()
	if err == nil {
		t.Fatal("Wait right after the restart sent a sixth request in the span")
	}
	time.Sleep(probeEvery + 100*time.Millisecond)
	short, cancel = context.WithTimeout(ctx, 300*time.Millisecond)
	err = s.Limiter.Wait(short)
	cancel()
	if err == nil {
		t.Error("Wait after recovery sent a sixth request in the span")
	}
	n, err := srv.Client(t).ZCard(ctx, s.keys.log).Result()
	if err != nil || n != int64(quick.Requests) {
		t.Errorf("shared log after the restart and recovery = %d, %v; want the %d sends restored", n, err, quick.Requests)
	}
}

// TestSharedMarginIsTheLargest: the log's span is the window plus the
// largest margin of the live processes, not each process's own: a process
// with fast round trips still waits out a slow one's margin. The report
// expires a window plus DefaultMargin after the slow process's last call.
func TestSharedMarginIsTheLargest(t *testing.T) {
	srv := redistest.Start(t)
	ms := time.Millisecond
	mk := func() *Limiter {
		s, err := New(srv.Client(t), base, partner, secret, quick)
		if err != nil {
			t.Fatal(err)
		}
		return s.Limiter
	}
	slow, fast := mk(), mk()
	if got := fast.Margin(); got != ratelimit.DefaultMargin {
		t.Errorf("Margin before any round trip = %v; want DefaultMargin", got)
	}
	slow.ObserveRoundTrip(600 * ms)
	fast.ObserveRoundTrip(10 * ms) // its own margin: the 100 ms floor
	ctx := context.Background()
	t0 := time.Now()
	if err := slow.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	for range quick.Requests - 1 {
		if err := fast.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := fast.Margin(); got < 600*ms {
		t.Errorf("fast process's Margin = %v; want the slow one's 600ms at least", got)
	}
	if err := fast.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// The slot frees at the slow send's stamp (after t0) + window + 600 ms;
	// Redis's clock and ours are this host's, to the microsecond.
	if got, want := time.Since(t0), quick.Window+600*ms-5*ms; got < want {
		t.Errorf("sixth send %v after the first; want %v at least (window + the largest margin)", got, want)
	}
	// The slow process stops: its report outlives its sends by no more
	// than window + DefaultMargin, then the fast one's own margin rules.
	time.Sleep(quick.Window + ratelimit.DefaultMargin + 100*ms)
	if err := fast.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if got := fast.Margin(); got >= 600*ms || got < ratelimit.MinMargin {
		t.Errorf("Margin after the slow process's report expired = %v; want its own (%v to 600ms)", got, ratelimit.MinMargin)
	}
}

// TestAdaptiveMarginUnderJitter: two processes of three goroutines each
// share the quota; every request arrives 5-150 ms after Wait returns and
// its answer takes as long again, each round trip reported as Transport
// does. No 1 s interval of arrivals (so no server window of any alignment)
// may hold more than the limit, and the quota is used. A margin below the
// one-way spread (e.g. 0) fails: the arrivals of two consecutive windows'
// bursts overlap.
func TestAdaptiveMarginUnderJitter(t *testing.T) {
	srv := redistest.Start(t)
	var lims []*Limiter
	for range 2 {
		s, err := New(srv.Client(t), base, partner, secret, quick)
		if err != nil {
			t.Fatal(err)
		}
		lims = append(lims, s.Limiter)
	}
	const run = 6 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), run)
	defer cancel()
	var mu sync.Mutex
	var arrivals []time.Time
	var wg sync.WaitGroup
	for i, l := range lims {
		for g := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(i), uint64(g)))
				oneWay := func() time.Duration {
					return 5*time.Millisecond + time.Duration(rng.Int64N(int64(146*time.Millisecond)))
				}
				for l.Wait(ctx) == nil {
					sent := time.Now()
					out, back := oneWay(), oneWay()
					// The arrival is computed, not slept to: a loaded
					// machine's late wake-up is not network latency.
					mu.Lock()
					arrivals = append(arrivals, sent.Add(out))
					mu.Unlock()
					time.Sleep(out + back)
					l.ObserveRoundTrip(time.Since(sent))
				}
			}()
		}
	}
	wg.Wait()
	if got := maxInWindow(arrivals, quick.Window); got > quick.Requests {
		t.Errorf("max arrivals in one %s = %d; want at most %d (margins %v, %v)", quick.Window, got, quick.Requests, lims[0].Margin(), lims[1].Margin())
	}
	// 6 s at 5 per about 1.3 s (the margin adapts within the first
	// burst's round trips): 25 at best; 12 even when loaded.
	if len(arrivals) < 12 {
		t.Errorf("requests in %v = %d; want 12 at least", run, len(arrivals))
	}
	t.Logf("%d requests in %v; margins %v, %v", len(arrivals), run, lims[0].Margin(), lims[1].Margin())
}

// BenchmarkWait: one reserve on a loopback redis-server, the log never full
// (the script's cost: the margins hash is read and written each time).
func BenchmarkWait(b *testing.B) {
	srv := redistest.Start(b)
	s, err := New(srv.Client(b), base, partner, secret, ratelimit.Policy{Requests: 1 << 20, Window: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if err := s.Limiter.Wait(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
