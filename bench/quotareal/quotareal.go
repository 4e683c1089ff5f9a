// Package quotareal proves the client's rate limiting on the real clock:
// the real sandbox, configured with a short window, behind a loopback
// jitter proxy that delays each request and each answer by a uniform
// 5-150 ms one way, and goroutines calling the real client for a fixed
// time, with the in-process limiter and with the Redis-shared one in two
// clients (two processes' worth). It counts the sandbox's 429s and the
// quota used. `go run ./bench -only quota-real` runs it (make bench does).
//
// It is a bench, not a test: the margin covers the round trips seen
// lately, and on a loaded machine a scheduler stall is latency the
// proxy's sleeps add that no earlier round trip showed, so a 429 here can
// be the machine's and not the code's. The fake-clock simulation
// (bench/quota) and the redisquota tests are where correctness is asserted.
package quotareal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	milligold "github.com/milligold/milligold-go"
	"github.com/milligold/milligold-go/ratelimit"
	"github.com/milligold/milligold-go/redisquota"
	"github.com/milligold/milligold-go/sandbox"
)

// Setup is one run's server and network.
type Setup struct {
	Requests   int           // the sandbox's limit per window
	Window     time.Duration // whole seconds (the sandbox's config)
	MinLatency time.Duration // one way, each direction
	MaxLatency time.Duration
	Duration   time.Duration // how long the callers call
	Callers    int           // goroutines per client
}

// Default is what make bench runs: 10 per 5 s, 5-150 ms, 20 s per mode.
var Default = Setup{Requests: 10, Window: 5 * time.Second, MinLatency: 5 * time.Millisecond, MaxLatency: 150 * time.Millisecond,
	Duration: 20 * time.Second, Callers: 4}

// Result is one mode's outcome, counted at the proxy, which sees every
// request the sandbox answered.
type Result struct {
	Name     string
	Served   int     // answered 2xx
	Refused  int     // answered 429
	Windows  int     // complete windows (the last, cut by the end, not counted)
	Quota    float64 // served in the complete windows / (Requests per Window over their time)
	Margins  []time.Duration
	Elapsed  time.Duration
	Arrivals int
}

// Arrival is one request as the proxy forwarded it to the sandbox.
type Arrival struct {
	At     time.Time
	Status int
}

// Proxy is the loopback jitter proxy: it sleeps a uniform [Min, Max]
// before forwarding a request and again before writing the answer, and
// records when it forwarded each and what the sandbox answered.
type Proxy struct {
	Target   *url.URL
	Min, Max time.Duration

	rt http.RoundTripper
	mu sync.Mutex
	rn *rand.Rand
	a  []Arrival
}

// NewProxy returns a proxy to target (scheme and host).
func NewProxy(target *url.URL, lo, hi time.Duration, seed uint64) *Proxy {
	return &Proxy{Target: target, Min: lo, Max: hi, rt: &http.Transport{MaxIdleConnsPerHost: 64}, rn: rand.New(rand.NewPCG(seed, 1))}
}

func (p *Proxy) delay() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Min + time.Duration(p.rn.Int64N(int64(p.Max-p.Min)+1))
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	time.Sleep(p.delay())
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host, out.Host, out.RequestURI = p.Target.Scheme, p.Target.Host, p.Target.Host, ""
	at := time.Now()
	resp, err := p.rt.RoundTrip(out)
	if err != nil {
		http.Error(w, "jitter proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	p.mu.Lock()
	p.a = append(p.a, Arrival{At: at, Status: resp.StatusCode})
	p.mu.Unlock()
	if err != nil {
		http.Error(w, "jitter proxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	time.Sleep(p.delay())
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(body)
}

// Arrivals returns what the proxy forwarded so far, in order.
func (p *Proxy) Arrivals() []Arrival {
	p.mu.Lock()
	defer p.mu.Unlock()
	a := slices.Clone(p.a)
	slices.SortFunc(a, func(x, y Arrival) int { return x.At.Compare(y.At) })
	return a
}

// Score referees arrivals as the sandbox counts them (a window opens at the
// first arrival after the previous one ended): the 429s, and the quota
// used over the complete windows, from the first window's opening to the
// last's, as a share of Requests per Window back to back.
func Score(a []Arrival, s Setup) (served, refused, windows int, quota float64) {
	var opens []time.Time
	var perWindow []int
	for _, x := range a {
		if len(opens) == 0 || !x.At.Before(opens[len(opens)-1].Add(s.Window)) {
			opens = append(opens, x.At)
			perWindow = append(perWindow, 0)
		}
		switch {
		case x.Status == http.StatusTooManyRequests:
			refused++
		case x.Status < 300:
			served++
			perWindow[len(perWindow)-1]++
		}
	}
	if len(opens) < 2 {
		return served, refused, 0, 0
	}
	windows = len(opens) - 1
	n := 0
	for _, c := range perWindow[:windows] {
		n += c
	}
	span := opens[windows].Sub(opens[0])
	quota = float64(n) / (float64(s.Requests) * span.Seconds() / s.Window.Seconds())
	return served, refused, windows, quota
}

// Mode is one client set-up: how many clients, each with what limiter.
type Mode struct {
	Name    string
	Clients int
	Redis   bool
	Fixed   bool // the fixed 1 s margin (ratelimit.DefaultMargin), not the adaptive one
}

// Modes are the rows make bench prints, ours then its peer.
var Modes = []Mode{
	{Name: "in process, adaptive margin", Clients: 1},
	{Name: "in process, fixed 1 s margin", Clients: 1, Fixed: true},
	{Name: "Redis, 2 clients, adaptive margin", Clients: 2, Redis: true},
	{Name: "Redis, 2 clients, fixed 1 s margin", Clients: 2, Redis: true, Fixed: true},
}

// Run runs one mode against a fresh sandbox and proxy; redisAddr is a
// running redis-server for the Redis modes.
func Run(ctx context.Context, s Setup, m Mode, redisAddr string, seed uint64) (Result, error) {
	cfg := sandbox.Default()
	cfg.RateLimit.Requests = s.Requests
	cfg.RateLimit.WindowSeconds = int(s.Window / time.Second)
	cfg.Logger = nil
	h, err := sandbox.New(cfg)
	if err != nil {
		return Result{}, err
	}
	sb, stopSB, err := serve(h)
	if err != nil {
		return Result{}, err
	}
	defer stopSB()
	target, _ := url.Parse(sb)
	proxy := NewProxy(target, s.MinLatency, s.MaxLatency, seed)
	px, stopPX, err := serve(proxy)
	if err != nil {
		return Result{}, err
	}
	defer stopPX()
	base := px + sandbox.BasePath
	policy := ratelimit.Policy{Requests: s.Requests, Window: s.Window}

	type client struct {
		c      *milligold.Client
		margin func() time.Duration
	}
	var clients []client
	for i := range m.Clients {
		opts := []milligold.Option{milligold.WithBaseURL(base), milligold.WithCredentials(sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret)}
		var margin func() time.Duration
		if m.Redis {
			rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
			defer rdb.Close()
			var ro []redisquota.Option
			if m.Fixed {
				ro = append(ro, redisquota.WithMargin(ratelimit.DefaultMargin))
			}
			sh, err := redisquota.New(rdb, base, sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret, policy, ro...)
			if err != nil {
				return Result{}, err
			}
			opts = append(opts, milligold.WithLimiter(sh.Limiter), milligold.WithTokenStore(sh.Store))
			margin = sh.Limiter.Margin
		} else {
			var lo []ratelimit.Option
			if m.Fixed {
				lo = append(lo, ratelimit.WithMargin(ratelimit.DefaultMargin))
			}
			l := ratelimit.NewSlidingLog(policy, lo...)
			opts = append(opts, milligold.WithLimiter(l))
			margin = l.Margin
		}
		c, err := milligold.New(opts...)
		if err != nil {
			return Result{}, fmt.Errorf("client %d: %w", i, err)
		}
		clients = append(clients, client{c, margin})
	}
	rctx, cancel := context.WithTimeout(ctx, s.Duration)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	for _, c := range clients {
		for range s.Callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for rctx.Err() == nil {
					_, err := c.c.GoldRate(rctx)
					// A 429 is counted at the proxy; a wait that would outlast
					// the run ends it (the Redis limiter says so at once).
					if err != nil && rctx.Err() == nil && !errors.As(err, new(*milligold.RateLimitError)) && !errors.Is(err, context.DeadlineExceeded) {
						errMu.Lock()
						firstErr = cmpOr(firstErr, err)
						errMu.Unlock()
					}
				}
			}()
		}
	}
	wg.Wait()
	if firstErr != nil {
		return Result{}, fmt.Errorf("%s: a call failed: %w", m.Name, firstErr)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	r := Result{Name: m.Name, Elapsed: time.Since(start)}
	a := proxy.Arrivals()
	r.Arrivals = len(a)
	r.Served, r.Refused, r.Windows, r.Quota = Score(a, s)
	for _, c := range clients {
		r.Margins = append(r.Margins, c.margin())
	}
	return r, nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// serve runs h on a loopback port until stop.
func serve(h http.Handler) (base string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}
