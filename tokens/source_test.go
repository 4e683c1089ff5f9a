package tokens

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milligold/milligold-go/internal/clock"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const secret = "s3cr3t-token-value"

// counter is a FetchFunc that hands out "tok-1", "tok-2", ... with a lifetime.
type counter struct {
	n        atomic.Int64
	lifetime time.Duration
	release  chan struct{} // when set, each fetch waits for it
}

func (c *counter) fetch(ctx context.Context) (Grant, error) {
	if c.release != nil {
		select {
		case <-c.release:
		case <-ctx.Done():
			return Grant{}, ctx.Err()
		}
	}
	n := c.n.Add(1)
	return Grant{Value: fmt.Sprintf("tok-%d", n), ExpiresIn: c.lifetime}, nil
}

func TestOneFetchForManyCallers(t *testing.T) {
	c := &counter{lifetime: time.Hour, release: make(chan struct{})}
	s := NewSource(c.fetch, WithClock(clock.NewFake(t0).Now))
	const callers = 1000
	var started, wg sync.WaitGroup
	started.Add(callers)
	values := make([]string, callers)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			tok, err := s.Get(context.Background())
			if err != nil {
				t.Error(err)
			}
			values[i] = tok.Value
		}()
	}
	started.Wait()
	close(c.release)
	wg.Wait()
	if n := c.n.Load(); n != 1 {
		t.Errorf("%d callers made %d token requests; want 1", callers, n)
	}
	for i, v := range values {
		if v != "tok-1" {
			t.Fatalf("caller %d got %q; want tok-1", i, v)
		}
	}
}

func TestRenewalBeforeExpiry(t *testing.T) {
	for _, c := range []struct {
		name     string
		lifetime time.Duration
		margin   time.Duration // renewed this long before expiry
	}{
		{"an hour renews a minute early", time.Hour, time.Minute},
		{"a short lifetime renews a tenth early", 100 * time.Second, 10 * time.Second},
		{"a lifetime from the server, not a constant", 7 * time.Minute, 42 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			clk := clock.NewFake(t0)
			f := &counter{lifetime: c.lifetime}
			s := NewSource(f.fetch, WithClock(clk.Now))
			tok, err := s.Get(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if want := t0.Add(c.lifetime); !tok.Expiry.Equal(want) {
				t.Errorf("Expiry = %v; want %v", tok.Expiry, want)
			}
			clk.Advance(c.lifetime - c.margin - time.Nanosecond)
			if tok, _ := s.Get(context.Background()); tok.Value != "tok-1" || f.n.Load() != 1 {
				t.Errorf("just before the renewal point: %v after %d fetches; want tok-1 after 1", tok, f.n.Load())
			}
			clk.Advance(time.Nanosecond)
			if tok, _ := s.Get(context.Background()); tok.Value != "tok-2" || f.n.Load() != 2 {
				t.Errorf("at the renewal point (%v before expiry): %v after %d fetches; want tok-2 after 2", c.margin, tok, f.n.Load())
			}
		})
	}
}

func TestRenew(t *testing.T) {
	f := &counter{lifetime: time.Hour}
	s := NewSource(f.fetch, WithClock(clock.NewFake(t0).Now))
	first, _ := s.Get(context.Background())
	second, err := s.Renew(context.Background(), first)
	if err != nil || second.Value != "tok-2" {
		t.Fatalf("Renew(tok-1) = %v, %v; want tok-2", second, err)
	}
	// A caller still holding tok-1 gets tok-2 without another fetch.
	third, err := s.Renew(context.Background(), first)
	if err != nil || third.Value != "tok-2" || f.n.Load() != 2 {
		t.Errorf("second Renew(tok-1) = %v, %v after %d fetches; want tok-2 after 2", third, err, f.n.Load())
	}
}

// TestRenewSameToken: a server that answers the token it just issued again
// (a JWT made within the same second) does not make Renew loop.
func TestRenewSameToken(t *testing.T) {
	var n atomic.Int64
	s := NewSource(func(context.Context) (Grant, error) {
		n.Add(1)
		return Grant{Value: "same", ExpiresIn: time.Hour}, nil
	}, WithClock(clock.NewFake(t0).Now))
	first, _ := s.Get(context.Background())
	got, err := s.Renew(context.Background(), first)
	if err != nil || got.Value != "same" {
		t.Errorf("Renew = %v, %v; want the server's answer", got, err)
	}
	if n.Load() != 2 {
		t.Errorf("Get and Renew made %d token requests; want 2", n.Load())
	}
}

func TestGetCancelled(t *testing.T) {
	f := &counter{lifetime: time.Hour, release: make(chan struct{})}
	s := NewSource(f.fetch, WithClock(clock.NewFake(t0).Now))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.Get(ctx)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Get after cancel = %v; want context.Canceled", err)
	}
	// A caller whose context is live is not failed by the one who gave up.
	close(f.release)
	tok, err := s.Get(context.Background())
	if err != nil || tok.Value != "tok-1" {
		t.Errorf("Get after another caller cancelled = %v, %v; want tok-1", tok, err)
	}
}

// statusError stands for a failed token request's error, which the Source
// must pass on for errors.As.
type statusError struct{ status int }

func (e *statusError) Error() string { return "token request answered " + http.StatusText(e.status) }

func TestFetchErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		grant Grant
		err   error
		want  error
	}{
		{"fetch fails", Grant{}, &statusError{401}, &statusError{}},
		{"empty token", Grant{ExpiresIn: time.Hour}, nil, ErrBadGrant},
		{"no lifetime", Grant{Value: secret}, nil, ErrBadGrant},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := NewSource(func(context.Context) (Grant, error) { return c.grant, c.err })
			_, err := s.Get(context.Background())
			var se *statusError
			switch {
			case errors.As(c.want, &se):
				if !errors.As(err, &se) || se.status != 401 {
					t.Errorf("Get = %v; want the fetch's *statusError", err)
				}
			case !errors.Is(err, c.want):
				t.Errorf("Get = %v; want %v", err, c.want)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("error %q leaks the token", err)
			}
		})
	}
}

func TestOAuth2TokenSource(t *testing.T) {
	f := &counter{lifetime: time.Hour}
	s := NewSource(f.fetch, WithClock(clock.NewFake(t0).Now))
	tok, err := s.Token()
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken != "tok-1" || tok.Type() != "Bearer" || !tok.Expiry.Equal(t0.Add(time.Hour)) {
		t.Errorf("Token() = %q %q %v; want tok-1 Bearer %v", tok.AccessToken, tok.Type(), tok.Expiry, t0.Add(time.Hour))
	}
}

func TestNewGrant(t *testing.T) {
	for _, c := range []struct {
		name      string
		value     string
		expiresIn int64
		want      time.Duration
		ok        bool
	}{
		{"the document's", "eyJ", 3600, time.Hour, true},
		{"one second", "x", 1, time.Second, true},
		{"empty token", "", 3600, 0, false},
		{"zero lifetime", "x", 0, 0, false},
		{"negative lifetime", "x", -5, 0, false},
		{"absurd lifetime", "x", 1 << 60, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, err := newGrant(c.value, c.expiresIn)
			if (err == nil) != c.ok || g.ExpiresIn != c.want {
				t.Errorf("newGrant(%q, %d) = %v, %v; want %v, ok=%v", c.value, c.expiresIn, g.ExpiresIn, err, c.want, c.ok)
			}
		})
	}
}

func TestFormatRedacts(t *testing.T) {
	tok := Token{Value: secret, Expiry: t0, RenewAt: t0}
	g := Grant{Value: secret, ExpiresIn: time.Hour}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		for _, v := range []any{tok, &tok, g, []Token{tok}, struct{ T Token }{tok}} {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, secret) || strings.Contains(out, fmt.Sprintf("%x", secret)) {
				t.Errorf("Sprintf(%s, %T) = %q leaks the token", verb, v, out)
			}
		}
	}
}

// waitFor spins (without sleeping) until cond holds.
func waitFor(cond func() bool) {
	for !cond() {
		runtime.Gosched()
	}
}
