package filequota

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milligold/milligold-go/internal/clock"
	"github.com/milligold/milligold-go/ratelimit"
	"github.com/milligold/milligold-go/tokens"
)

const (
	base    = "http://127.0.0.1:1/partner"
	partner = "partner-id-visible"
	secret  = "partner-secret-hidden"
)

var policy = ratelimit.Policy{Requests: 3, Window: 20 * time.Second}

func TestDirFollowsXDG(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", tmp)
	t.Setenv("HOME", tmp)
	d, err := Dir()
	if err != nil || !strings.HasPrefix(d, tmp) || filepath.Base(d) != "milligold" {
		t.Errorf("Dir() = %q, %v; want %s/…/milligold", d, err, tmp)
	}
}

// TestLimiterSharedByInstances: two limiters on one directory (two CLI runs)
// share one log: the fourth send waits for the first to leave the span, and
// OnWait says how long.
func TestLimiterSharedByInstances(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewAuto(time.Unix(1_800_000_000, 0))
	var told []string
	mk := func() *Limiter {
		s, err := New(dir, base, partner, secret, policy, WithClock(clk.Now, clk.Sleep),
			WithOnWait(func(d time.Duration, n int, w time.Duration) { told = append(told, fmt.Sprintf("%s %d %s", d, n, w)) }))
		if err != nil {
			t.Fatal(err)
		}
		return s.Limiter
	}
	ctx := context.Background()
	start := clk.Now()
	for i := range 3 {
		if err := mk().Wait(ctx); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
		_ = i
	}
	if err := mk().Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// First send at 0; span 21 s: the fourth goes at 21 s.
	if got := clk.Now().Sub(start); got != 21*time.Second {
		t.Errorf("fourth send at %s; want 21s", got)
	}
	if len(told) != 1 || told[0] != "18s 3 20s" {
		t.Errorf("OnWait calls = %q; want one \"18s 3 20s\"", told)
	}
}

func TestWaitBeyondDeadline(t *testing.T) {
	s, _ := New(t.TempDir(), base, partner, secret, ratelimit.Policy{Requests: 1, Window: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.Limiter.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := s.Limiter.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 500*time.Millisecond {
		t.Errorf("Wait an hour with 1s left = %v after %s; want DeadlineExceeded at once", err, time.Since(start))
	}
}

func TestPenaltyAndLimitShared(t *testing.T) {
	dir := t.TempDir()
	clk := clock.NewAuto(time.Unix(1_800_000_000, 0))
	a, _ := New(dir, base, partner, secret, policy, WithClock(clk.Now, clk.Sleep))
	b, _ := New(dir, base, partner, secret, policy, WithClock(clk.Now, clk.Sleep))
	start := clk.Now()
	a.Limiter.Penalize(start.Add(7 * time.Second))
	a.Limiter.Observe(1)
	ctx := context.Background()
	b.Limiter.Wait(ctx)
	if got := clk.Now().Sub(start); got != 7*time.Second {
		t.Errorf("Wait after Penalize(+7s) returned at %s; want 7s", got)
	}
	b.Limiter.Wait(ctx)
	if got := clk.Now().Sub(start); got != 28*time.Second {
		t.Errorf("second Wait under an adopted limit of 1 at %s; want 28s (7 + 21)", got)
	}
}

// TestOneFetchAcrossStores: 5 stores (processes) × 10 goroutines, one fetch;
// the files are 0600, named by hash, and hold no secret and no token.
func TestOneFetchAcrossStores(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "milligold")
	var fetches atomic.Int32
	fetch := func(ctx context.Context) (tokens.Grant, error) {
		n := fetches.Add(1)
		time.Sleep(50 * time.Millisecond)
		return tokens.Grant{Value: fmt.Sprintf("token-value-%d", n), ExpiresIn: time.Hour}, nil
	}
	var wg sync.WaitGroup
	for range 5 {
		s, err := New(dir, base, partner, secret, policy)
		if err != nil {
			t.Fatal(err)
		}
		src := tokens.NewSource(fetch, tokens.WithStore(s.Store))
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := src.Get(context.Background()); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	if n := fetches.Load(); n != 1 {
		t.Errorf("token requests = %d; want 1", n)
	}
	s, _ := New(dir, base, partner, secret, policy)
	s.Limiter.Wait(context.Background())
	ents, _ := os.ReadDir(dir)
	if len(ents) == 0 {
		t.Fatal("no files")
	}
	for _, e := range ents {
		fi, _ := e.Info()
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v; want 0600", e.Name(), fi.Mode().Perm())
		}
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		for _, bad := range []string{partner, secret, "token-value", "127.0.0.1"} {
			if strings.Contains(e.Name(), bad) || strings.Contains(string(b), bad) {
				t.Errorf("%s: name or content contains %q", e.Name(), bad)
			}
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v; want 0700", fi.Mode().Perm())
	}
	if err := Clear(dir); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("after Clear: %d files left", len(ents))
	}
	other, _ := New(dir, base, partner, "rotated-secret", policy)
	if _, ok, _ := other.Store.Load(context.Background()); ok {
		t.Error("a token survived Clear")
	}
}

func TestForeignSecretCannotOpen(t *testing.T) {
	dir := t.TempDir()
	a, _ := New(dir, base, partner, secret, policy)
	a.Store.Save(context.Background(), tokens.Token{Value: "token-value", Expiry: time.Now().Add(time.Hour), RenewAt: time.Now().Add(time.Hour)})
	b, _ := New(dir, base, partner, "rotated-secret", policy)
	if _, ok, _ := b.Store.Load(context.Background()); ok {
		t.Error("a store with another secret opened the token")
	}
}

func FuzzDecodeQuota(f *testing.F) {
	for _, s := range []string{`{"sent":[1,2,3]}`, `{"limit":5,"penalty":9,"sent":[]}`, `{"limit":-1}`, `garbage`, `{"sent":[3,1,2]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		q := decodeQuota(b)
		if q.Limit < 0 || len(q.Sent) > maxSent {
			t.Errorf("decodeQuota(%q) = %+v", b, q)
		}
		for i := 1; i < len(q.Sent); i++ {
			if q.Sent[i] < q.Sent[i-1] {
				t.Fatalf("decodeQuota(%q): log not sorted", b)
			}
		}
	})
}

// TestUnwritableDirDegrades: when the files cannot be written, calls still
// work, paced in process and fetching their own token. (The directory is
// replaced by a file: a read-only mode would not stop root.)
func TestUnwritableDirDegrades(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "milligold")
	s, err := New(dir, base, partner, secret, ratelimit.Policy{Requests: 2, Window: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// Replace the directory by a file: every open, lock and rename fails.
	os.RemoveAll(dir)
	if err := os.WriteFile(dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for i := range 2 {
		if err := s.Limiter.Wait(ctx); err != nil {
			t.Fatalf("Wait %d with a broken cache dir = %v", i+1, err)
		}
	}
	if err := s.Limiter.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("third Wait under a limit of 2 = %v; want the in-process limiter to hold it", err)
	}
	src := tokens.NewSource(func(context.Context) (tokens.Grant, error) {
		return tokens.Grant{Value: "token-value", ExpiresIn: time.Hour}, nil
	}, tokens.WithStore(s.Store))
	if _, err := src.Get(context.Background()); err != nil {
		t.Errorf("Get with a broken cache dir = %v; want a token", err)
	}
}

// TestMarginSharedThroughTheFile: the processes of a host pool their round
// trips in the file, so one that saw 10 ms still waits out another's 600 ms,
// and a new run starts from them; with no round trip within rttKeep the
// margin is DefaultMargin again. Virtual time: the schedule is exact.
func TestMarginSharedThroughTheFile(t *testing.T) {
	dir := t.TempDir()
	ms := time.Millisecond
	clk := clock.NewAuto(time.Unix(1_800_000_000, 0))
	mk := func() *Limiter {
		s, err := New(dir, base, partner, secret, policy, WithClock(clk.Now, clk.Sleep))
		if err != nil {
			t.Fatal(err)
		}
		return s.Limiter
	}
	ctx := context.Background()
	// burst sends the limit through l at once and returns how long the next
	// send then waited.
	burst := func(l *Limiter) time.Duration {
		t.Helper()
		start := clk.Now()
		for range policy.Requests + 1 {
			if err := l.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
		return clk.Now().Sub(start)
	}
	slow, fast := mk(), mk()
	if got, want := burst(fast), policy.Window+ratelimit.DefaultMargin; got != want {
		t.Errorf("before any round trip the fourth send waited %v; want %v", got, want)
	}
	slow.ObserveRoundTrip(600 * ms)
	fast.ObserveRoundTrip(10 * ms)
	clk.Advance(time.Minute)
	if got, want := burst(fast), policy.Window+600*ms; got != want {
		t.Errorf("after round trips of 600 ms and 10 ms in two processes the fourth send waited %v; want %v (the longest)", got, want)
	}
	if got := mk().Margin(); got != 600*ms {
		t.Errorf("a new run's Margin = %v; want the host's 600ms", got)
	}
	clk.Advance(rttKeep)
	if got, want := burst(mk()), policy.Window+ratelimit.DefaultMargin; got != want {
		t.Errorf("round trips older than rttKeep: the fourth send waited %v; want %v", got, want)
	}
	fixed, err := New(dir, base, partner, secret, policy, WithClock(clk.Now, clk.Sleep), WithMargin(300*ms))
	if err != nil {
		t.Fatal(err)
	}
	fixed.Limiter.ObserveRoundTrip(10 * ms)
	clk.Advance(time.Minute)
	if got, want := burst(fixed.Limiter), policy.Window+300*ms; got != want {
		t.Errorf("WithMargin(300ms): the fourth send waited %v; want %v", got, want)
	}
}

// TestDamagedRoundTripsAreBounded: a file with more round trips than the
// ring holds is cut to the last 64 when read.
func TestDamagedRoundTripsAreBounded(t *testing.T) {
	q := quotaFile{Sent: []int64{}}
	for i := range 1000 {
		q.RTT = append(q.RTT, roundTrip{At: int64(i), D: int64(i)})
	}
	b, _ := json.Marshal(q)
	got := decodeQuota(b)
	if len(got.RTT) != maxRTT || got.RTT[0].D != 1000-maxRTT {
		t.Errorf("decoded %d round trips starting at %d; want the last %d", len(got.RTT), got.RTT[0].D, maxRTT)
	}
}
