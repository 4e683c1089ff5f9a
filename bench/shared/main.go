// Command shared measures the shared token and rate limit (make bench runs
// it after the main table and appends its rows): N processes sharing one
// Redis against N independent clients, on one sandbox with a short window,
// and what the Redis limiter costs a request. It starts its own
// redis-server (Debian's package) on a free loopback port.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	milligold "github.com/milligold/milligold-go"
	"github.com/milligold/milligold-go/bench/redisserver"
	"github.com/milligold/milligold-go/ratelimit"
	"github.com/milligold/milligold-go/redisquota"
	"github.com/milligold/milligold-go/sandbox"
	"github.com/milligold/milligold-go/tokens"
)

const (
	limit  = 10
	window = 5 * time.Second
	margin = 500 * time.Millisecond
)

var policy = ratelimit.Policy{Requests: limit, Window: window}

// job is a child process's work.
type job struct {
	Redis, BaseURL string
	Start          time.Time
	Duration       time.Duration
	Goroutines     int
}

func main() {
	fs := flag.NewFlagSet("shared", flag.ExitOnError)
	procs := fs.Int("procs", 4, "client processes")
	gor := fs.Int("goroutines", 4, "goroutines per process")
	windows := fs.Int("windows", 3, "server windows measured (5 s each)")
	child := fs.String("child", "", "internal: run as a client process")
	fs.Parse(os.Args[1:])
	redis.SetLogger(quiet{})
	if *child != "" {
		os.Exit(runChild(*child))
	}
	if err := run(os.Stdout, os.Stderr, *procs, *gor, *windows); err != nil {
		fmt.Fprintf(os.Stderr, "bench/shared: %v\n", err)
		os.Exit(1)
	}
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func run(stdout, stderr io.Writer, procs, gor, windows int) error {
	addr, stop, err := redisserver.Start()
	if err != nil {
		return err
	}
	defer stop()
	url := "redis://" + addr + "/0"
	d := time.Duration(windows)*window + 500*time.Millisecond

	fmt.Fprintf(stderr, "bench/shared: %d processes × %d goroutines, shared Redis, %s\n", procs, gor, d)
	sh, err := fleet(url, procs, gor, d, windows)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "bench/shared: %d independent clients, %s\n", procs, d)
	ind, err := fleet("", procs, gor, d, windows)
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "bench/shared: the Redis limiter's cost per request")
	cost, err := limiterCost(url)
	if err != nil {
		return err
	}

	fmt.Fprintf(stdout, "\n### Shared quota (%d processes × %d goroutines, one sandbox at %d per %s, %d windows)\n\n", procs, gor, limit, window, windows)
	fmt.Fprintln(stdout, "| setup | requests | 429s | quota used | token requests |")
	fmt.Fprintln(stdout, "|---|---:|---:|---:|---:|")
	for _, r := range []struct {
		name string
		f    fleetResult
	}{{"shared Redis (`redisquota.WithRedis`)", sh}, {"independent clients", ind}} {
		fmt.Fprintf(stdout, "| %s | %d | %d | %.0f%% | %d |\n", r.name, r.f.requests, r.f.tooMany, 100*r.f.used, r.f.tokens)
	}
	fmt.Fprintf(stdout, "\n| limiter | µs per Wait | Redis round trips per Wait | token lookup round trips |\n|---|---:|---:|---:|\n")
	fmt.Fprintf(stdout, "| in process (`SlidingLog`) | %.2f | 0 | 0 |\n", cost.localUS)
	fmt.Fprintf(stdout, "| Redis (`redisquota`, loopback) | %.1f | %.2f | %.2f |\n", cost.redisUS, cost.roundTrips, cost.tokenRoundTrips)
	return nil
}

type fleetResult struct {
	requests, tooMany, tokens int
	used                      float64
}

// fleet runs procs client processes against a fresh sandbox.
func fleet(redisURL string, procs, gor int, d time.Duration, windows int) (fleetResult, error) {
	cfg := sandbox.Default()
	cfg.RateLimit.Requests, cfg.RateLimit.WindowSeconds = limit, int(window/time.Second)
	h, err := sandbox.New(cfg)
	if err != nil {
		return fleetResult{}, err
	}
	var mu sync.Mutex
	type hit struct {
		at     time.Time
		status int
		token  bool
	}
	var hits []hit
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: 200}
		h.ServeHTTP(sw, r)
		mu.Lock()
		hits = append(hits, hit{time.Now(), sw.status, strings.HasSuffix(r.URL.Path, "/auth/token")})
		mu.Unlock()
	}))
	defer srv.Close()
	j := job{Redis: redisURL, BaseURL: srv.URL + sandbox.BasePath, Start: time.Now().Add(time.Second), Duration: d, Goroutines: gor}
	b, _ := json.Marshal(j)
	var cmds []*exec.Cmd
	for range procs {
		cmd := exec.Command(os.Args[0], "-child", string(b))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			return fleetResult{}, err
		}
		cmds = append(cmds, cmd)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			return fleetResult{}, fmt.Errorf("client process: %w", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var r fleetResult
	var first time.Time
	for _, x := range hits {
		if first.IsZero() || x.at.Before(first) {
			first = x.at
		}
	}
	ok := 0
	for _, x := range hits {
		r.requests++
		if x.status == http.StatusTooManyRequests {
			r.tooMany++
		}
		if x.token {
			r.tokens++
		}
		if x.status == 200 && x.at.Before(first.Add(time.Duration(windows)*window)) {
			ok++
		}
	}
	r.used = float64(ok) / float64(windows*limit)
	return r, nil
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) { w.status = s; w.ResponseWriter.WriteHeader(s) }

func runChild(spec string) int {
	var j job
	if err := json.Unmarshal([]byte(spec), &j); err != nil {
		return 2
	}
	opts := []milligold.Option{milligold.WithBaseURL(j.BaseURL), milligold.WithCredentials(sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret)}
	if j.Redis != "" {
		rdb, err := redisquota.ParseURL(j.Redis)
		if err != nil {
			return 2
		}
		sh, err := redisquota.New(rdb, j.BaseURL, sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret, policy, redisquota.WithMargin(margin))
		if err != nil {
			return 2
		}
		opts = append(opts, milligold.WithTokenStore(sh.Store), milligold.WithLimiter(sh.Limiter))
	} else {
		opts = append(opts, milligold.WithLimiter(ratelimit.NewSlidingLog(policy, ratelimit.WithMargin(margin))))
	}
	c, err := milligold.New(opts...)
	if err != nil {
		return 2
	}
	time.Sleep(time.Until(j.Start))
	ctx, cancel := context.WithDeadline(context.Background(), j.Start.Add(j.Duration))
	defer cancel()
	var wg sync.WaitGroup
	for range j.Goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				c.UserInfo(ctx, "1234567890")
			}
		}()
	}
	wg.Wait()
	return 0
}

type cost struct {
	localUS, redisUS, roundTrips, tokenRoundTrips float64
}

// limiterCost times Wait with a limit that never binds, in process and on
// Redis, and counts the commands Redis processed per Wait and per token lookup.
func limiterCost(url string) (cost, error) {
	const n = 2000
	ctx := context.Background()
	roomy := ratelimit.Policy{Requests: 1 << 20, Window: time.Second}
	local := ratelimit.NewSlidingLog(roomy)
	t0 := time.Now()
	for range n {
		local.Wait(ctx)
	}
	var c cost
	c.localUS = float64(time.Since(t0).Microseconds()) / n

	rdb, err := redisquota.ParseURL(url)
	if err != nil {
		return c, err
	}
	defer rdb.Close()
	sh, err := redisquota.New(rdb, "http://bench/partner", "bench", "bench-secret", roomy)
	if err != nil {
		return c, err
	}
	var trips atomic.Int64
	rdb.AddHook(tripCounter{&trips})
	sh.Limiter.Wait(ctx) // load the script
	trips.Store(0)
	t0 = time.Now()
	for range n {
		if err := sh.Limiter.Wait(ctx); err != nil {
			return c, err
		}
	}
	c.redisUS = float64(time.Since(t0).Microseconds()) / n
	c.roundTrips = float64(trips.Load()) / n

	sh.Store.Save(ctx, tokenFor())
	trips.Store(0)
	for range n {
		sh.Store.Load(ctx)
	}
	c.tokenRoundTrips = float64(trips.Load()) / n
	return c, nil
}

func tokenFor() (t tokens.Token) {
	t.Value = "bench-token-value"
	t.Expiry = time.Now().Add(time.Hour)
	t.RenewAt = time.Now().Add(50 * time.Minute)
	return t
}

// tripCounter counts the client's round trips to Redis (a pipeline is one).
type tripCounter struct{ n *atomic.Int64 }

func (tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}
