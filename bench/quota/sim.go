package quota

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/milligold/milligold-go/internal/clock"
	"github.com/milligold/milligold-go/ratelimit"
)

// Config describes one simulation.
type Config struct {
	Requests   int           // the server's limit per window (10)
	Window     time.Duration // the server's window (20 s)
	Duration   time.Duration // simulated time (1 h)
	MinLatency time.Duration // one-way latency, drawn uniformly from [MinLatency, MaxLatency]
	MaxLatency time.Duration
	Callers    int    // concurrent callers, each sending again as soon as its call returns
	Seed       uint64 // seeds each caller's latency draws
}

// Document is the API document's limit with the network: 10 per
// 20 s, 5-150 ms one way, four callers saturating demand, for an hour.
var Document = Config{
	Requests: 10, Window: 20 * time.Second, Duration: time.Hour,
	MinLatency: 5 * time.Millisecond, MaxLatency: 150 * time.Millisecond,
	Callers: 4, Seed: 1,
}

// Validate reports whether c can run.
func (c Config) Validate() error {
	switch {
	case c.Requests < 1 || c.Window <= 0 || c.Duration < c.Window:
		return fmt.Errorf("quota: %d per %v over %v: want a positive limit and a duration of at least one window", c.Requests, c.Window, c.Duration)
	case c.MinLatency < 0 || c.MaxLatency < c.MinLatency:
		return fmt.Errorf("quota: latency %v-%v: want 0 <= min <= max", c.MinLatency, c.MaxLatency)
	case c.Callers < 1:
		return fmt.Errorf("quota: %d callers; want at least 1", c.Callers)
	}
	return nil
}

// Result is what the server saw during one simulation.
type Result struct {
	Name      string
	Served    int     // requests served (200)
	Refused   int     // 429s
	Windows   int     // server windows opened
	PerWindow float64 // mean served per window, as a share of the limit
	Quota     float64 // served as a share of the most the server allows in Duration (Requests per Window, back to back)
}

// Client builds the RoundTripper under test around the simulated network;
// sleeps must use clk. The callers send GET requests through it.
type Client struct {
	Name string
	New  func(network http.RoundTripper, clk *clock.Fake, c Config) http.RoundTripper
}

// Ours is the project's client limiter: ratelimit.Transport over a
// SlidingLog with its default, adaptive margin (what gen/middleware wires
// into the client), on the fake clock.
var Ours = Client{
	Name: "milligold, adaptive margin",
	New:  ours(),
}

// OursFixed is Ours with the margin fixed at ratelimit.DefaultMargin (1 s),
// as before the margin adapted: the comparison for the adaptive one.
var OursFixed = Client{
	Name: "milligold, fixed 1 s margin",
	New:  ours(ratelimit.WithMargin(ratelimit.DefaultMargin)),
}

func ours(opts ...ratelimit.Option) func(network http.RoundTripper, clk *clock.Fake, c Config) http.RoundTripper {
	return func(network http.RoundTripper, clk *clock.Fake, c Config) http.RoundTripper {
		p := ratelimit.Policy{Requests: c.Requests, Window: c.Window}
		return &ratelimit.Transport{
			Base:    network,
			Limiter: ratelimit.NewSlidingLog(p, append([]ratelimit.Option{ratelimit.WithClock(clk.Now, clk.Sleep)}, opts...)...),
			Policy:  p,
			Now:     clk.Now,
		}
	}
}

// TokenBucket is golang.org/x/time/rate at r per second with burst b, waited
// on before every request, as its documentation suggests.
func TokenBucket(r float64, b int) Client {
	return Client{
		Name: fmt.Sprintf("x/time/rate, burst %d, %g/s", b, r),
		New: func(network http.RoundTripper, clk *clock.Fake, _ Config) http.RoundTripper {
			return &bucketTransport{lim: rate.NewLimiter(rate.Limit(r), b), clk: clk, next: network}
		},
	}
}

// Unlimited sends as fast as the callers ask.
var Unlimited = Client{
	Name: "no limiter",
	New:  func(network http.RoundTripper, _ *clock.Fake, _ Config) http.RoundTripper { return network },
}

type bucketTransport struct {
	lim  *rate.Limiter
	clk  *clock.Fake
	next http.RoundTripper
}

func (t *bucketTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	now := t.clk.Now()
	r := t.lim.ReserveN(now, 1)
	if err := t.clk.Sleep(req.Context(), r.DelayFrom(now)); err != nil {
		r.CancelAt(t.clk.Now())
		return nil, err
	}
	return t.next.RoundTrip(req)
}

// network is the simulated wire and server: each request travels one way,
// is decided by the server at its arrival, and the answer travels back.
// 429s carry the three rate-limit headers (reset in unix seconds), 200s none,
// as the document promises.
type network struct {
	clk    *clock.Fake
	min    time.Duration
	spread time.Duration

	mu     sync.Mutex
	server *Server
}

type rngKey struct{}

func (n *network) latency(ctx context.Context) time.Duration {
	if n.spread == 0 {
		return n.min
	}
	r := ctx.Value(rngKey{}).(*rand.Rand) // each caller draws from its own source
	return n.min + time.Duration(r.Int64N(int64(n.spread)+1))
}

func (n *network) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := n.clk.Sleep(ctx, n.latency(ctx)); err != nil {
		return nil, err
	}
	n.mu.Lock()
	allowed, reset := n.server.Arrive(n.clk.Now())
	limit := n.server.Limit
	n.mu.Unlock()
	resp := &http.Response{StatusCode: http.StatusOK, Header: make(http.Header), Request: req,
		Body: io.NopCloser(strings.NewReader(`{"success":true}`))}
	if !allowed {
		resp.StatusCode = http.StatusTooManyRequests
		resp.Body = io.NopCloser(strings.NewReader(`{"success":false,"error":"Too many requests","errorCode":""}`))
		resp.Header.Set(ratelimit.HeaderLimit, strconv.Itoa(limit))
		resp.Header.Set(ratelimit.HeaderRemaining, "0")
		resp.Header.Set(ratelimit.HeaderReset, strconv.FormatInt(ratelimit.ResetUnix(reset), 10))
	}
	resp.Status = http.StatusText(resp.StatusCode)
	if err := n.clk.Sleep(ctx, n.latency(ctx)); err != nil {
		return nil, err
	}
	return resp, nil
}

// t0 is where simulated time starts; a whole second, so the server's
// reset header (whole seconds, rounded up) is not systematically late.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Run simulates client for c.Duration of fake time and reports what the
// server saw. Callers run as goroutines; the clock moves to the next sleeper's
// wake-up only when every caller is asleep, so the run is a faithful
// discrete-event simulation of the real code paths.
func Run(c Config, client Client) (Result, error) {
	if err := c.Validate(); err != nil {
		return Result{}, err
	}
	clk := clock.NewFake(t0)
	srv := &Server{Limit: c.Requests, Window: c.Window}
	net := &network{clk: clk, min: c.MinLatency, spread: c.MaxLatency - c.MinLatency, server: srv}
	rt := client.New(net, clk, c)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i := range c.Callers {
		cctx := context.WithValue(ctx, rngKey{}, rand.New(rand.NewPCG(c.Seed, uint64(i))))
		wg.Go(func() { call(cctx, rt) })
	}
	end := t0.Add(c.Duration)
	var err error
	for {
		if err = settle(clk, c.Callers); err != nil {
			break
		}
		next, ok := clk.Next()
		if !ok || !next.Before(end) {
			break
		}
		clk.Advance(next.Sub(clk.Now()))
	}
	net.mu.Lock()
	served := srv.Served()
	refused := srv.Refused()
	net.mu.Unlock()
	cancel()
	wg.Wait()
	if err != nil {
		return Result{}, err
	}
	return summarize(client.Name, c, served, refused), nil
}

func summarize(name string, c Config, served []int, refused int) Result {
	r := Result{Name: name, Refused: refused, Windows: len(served)}
	for _, n := range served {
		r.Served += n
	}
	if r.Windows > 0 {
		r.PerWindow = float64(r.Served) / float64(r.Windows*c.Requests)
	}
	most := float64(c.Duration) / float64(c.Window) * float64(c.Requests)
	r.Quota = float64(r.Served) / most
	return r
}

// call sends requests one after another until ctx is done.
func call(ctx context.Context, rt http.RoundTripper) {
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://sim.invalid/partner/gold/rate", nil)
		resp, err := rt.RoundTrip(req)
		if err == nil {
			resp.Body.Close()
		}
	}
}

// errStalled means a caller stopped neither sleeping nor running: a limiter
// that blocks on something other than its clock.
var errStalled = errors.New("quota: simulation stalled: a caller blocks outside the fake clock")

// settle waits until all n callers sleep on clk, yielding the processor while
// they run. It gives up when they have not all slept for stallAfter of real
// time (a guard against a hang, not a measurement).
func settle(clk *clock.Fake, n int) error {
	var start time.Time
	for i := 0; clk.Sleepers() < n; i++ {
		if i%1024 == 1023 {
			if start.IsZero() {
				start = time.Now()
			} else if time.Since(start) > stallAfter {
				return errStalled
			}
		}
		runtime.Gosched()
	}
	return nil
}

const stallAfter = 10 * time.Second
