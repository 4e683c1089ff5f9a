//go:build quota

package quotatest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	milligold "github.com/milligold/milligold-go"
	"github.com/milligold/milligold-go/ratelimit"
	"github.com/milligold/milligold-go/redisquota"
	"github.com/milligold/milligold-go/sandbox"
	"github.com/milligold/milligold-go/tokens"
)

const childEnv = "QUOTATEST_CHILD"

// job is what a child process does, passed as JSON in childEnv.
type job struct {
	Mode       string // "client" or "holdlock"
	Redis      string // "" means per-process state (the control)
	BaseURL    string
	PartnerID  string
	Secret     string
	Requests   int
	Window     time.Duration
	Margin     time.Duration
	LockTTL    time.Duration
	Start      time.Time
	Duration   time.Duration
	Goroutines int
	Skew       time.Duration // added to this process's clock
	Op         string        // "user" or "rate"
	Pause      time.Duration // between a goroutine's calls
	CacheTTL   time.Duration // WithCache(getGoldRate, ttl) when set
}

// result is what a child prints on stdout.
type result struct {
	OK, Stale int
	Errors    []string // other than the deadline at the end
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(child(spec))
	}
	os.Exit(m.Run())
}

func child(spec string) int {
	var j job
	if err := json.Unmarshal([]byte(spec), &j); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	redis.SetLogger(quiet{}) // go-redis's own dial errors: the fault test provokes them
	now := func() time.Time { return time.Now().Add(j.Skew) }
	policy := ratelimit.Policy{Requests: j.Requests, Window: j.Window}
	opts := []milligold.Option{
		milligold.WithBaseURL(j.BaseURL),
		milligold.WithCredentials(j.PartnerID, j.Secret),
		milligold.WithClock(now),
		milligold.WithMaxRetries(2),
	}
	var shared *redisquota.Shared
	if j.Redis != "" && j.CacheTTL > 0 {
		// The coalescing run: the spec's policy, redisquota.WithRedis as a user writes it.
		rdb, err := redisquota.ParseURL(j.Redis)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		opts = append(opts, redisquota.WithRedis(rdb))
	} else if j.Redis != "" {
		rdb, err := redisquota.ParseURL(j.Redis)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		shared, err = redisquota.New(rdb, j.BaseURL, j.PartnerID, j.Secret, policy,
			redisquota.WithMargin(j.Margin), redisquota.WithClock(now, nil), redisquota.WithLockTTL(j.LockTTL))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		opts = append(opts, milligold.WithTokenStore(shared.Store), milligold.WithLimiter(shared.Limiter))
	} else {
		opts = append(opts, milligold.WithLimiter(ratelimit.NewSlidingLog(policy, ratelimit.WithMargin(j.Margin))))
	}
	if j.Mode == "holdlock" {
		// Take the token lock and die holding it (the parent kills us).
		_, _, _, err := shared.Store.Lock(context.Background(), tokens.Token{}, now())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		fmt.Println("locked")
		time.Sleep(time.Hour)
		return 0
	}
	if j.CacheTTL > 0 {
		opts = append(opts, milligold.WithCache("getGoldRate", j.CacheTTL))
	}
	c, err := milligold.New(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	time.Sleep(time.Until(j.Start))
	ctx, cancel := context.WithDeadline(context.Background(), j.Start.Add(j.Duration))
	defer cancel()
	var mu sync.Mutex
	var res result
	var wg sync.WaitGroup
	for range j.Goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				var err error
				stale := false
				if j.Op == "rate" {
					var info milligold.CacheInfo
					_, err = c.GoldRate(milligold.WithCacheInfo(ctx, &info))
					stale = info.Stale
				} else {
					_, err = c.UserInfo(ctx, "1234567890")
				}
				mu.Lock()
				switch {
				case err == nil:
					res.OK++
					if stale {
						res.Stale++
					}
				case errors.Is(err, context.DeadlineExceeded):
					// The run's end: its deadline passed, or the next slot is past it.
				case len(res.Errors) < 5:
					res.Errors = append(res.Errors, err.Error())
				}
				mu.Unlock()
				if j.Op == "rate" {
					return // one call per goroutine: the coalescing test
				}
				if j.Pause > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(j.Pause):
					}
				}
			}
		}()
	}
	wg.Wait()
	json.NewEncoder(os.Stdout).Encode(res)
	return 0
}

type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// proc is a started child.
type proc struct {
	cmd *exec.Cmd
	out *strings.Builder
}

func start(t *testing.T, j job) *proc {
	t.Helper()
	b, _ := json.Marshal(j)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	out := &strings.Builder{}
	cmd.Stdout = out
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return &proc{cmd: cmd, out: out}
}

// wait waits for the child's result, failing if it runs past limit.
func (p *proc) wait(t *testing.T, limit time.Duration) result {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("child: %v", err)
		}
	case <-time.After(limit):
		p.cmd.Process.Kill()
		<-done
		t.Fatalf("child still running after %s: stuck", limit)
	}
	var r result
	if err := json.Unmarshal([]byte(p.out.String()), &r); err != nil {
		t.Errorf("child output %q: %v", p.out.String(), err)
	}
	return r
}

// startHoldLock starts a child that takes the token lock, and returns once it holds it.
func startHoldLock(t *testing.T, j job) *exec.Cmd {
	t.Helper()
	j.Mode = "holdlock"
	b, _ := json.Marshal(j)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	cmd.Stderr = os.Stderr
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("holdlock child said %q, %v", line, err)
	}
	return cmd
}

// arrival is one request the sandbox answered.
type arrival struct {
	at     time.Time
	path   string
	status int
}

// recorder is a sandbox that records every answer.
type recorder struct {
	URL string
	mu  sync.Mutex
	log []arrival
	n   atomic.Int64
}

func newRecorder(t *testing.T, edit func(*sandbox.Config)) *recorder {
	cfg := sandbox.Default()
	edit(&cfg)
	h, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: 200}
		h.ServeHTTP(sw, req)
		r.mu.Lock()
		r.log = append(r.log, arrival{at: time.Now(), path: req.URL.Path, status: sw.status})
		r.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + sandbox.BasePath
	return r
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) { w.status = s; w.ResponseWriter.WriteHeader(s) }

// counts summarises the log.
type counts struct {
	total, ok, tooMany, server, tokens, rate, unauthorized int
	tokensGranted                                          int // token requests answered 200
	first                                                  time.Time
}

func (r *recorder) counts() counts {
	r.mu.Lock()
	defer r.mu.Unlock()
	var c counts
	for _, a := range r.log {
		if c.first.IsZero() || a.at.Before(c.first) {
			c.first = a.at
		}
		c.total++
		switch {
		case a.status == 200:
			c.ok++
		case a.status == 429:
			c.tooMany++
		case a.status == 401:
			c.unauthorized++
		case a.status >= 500:
			c.server++
		}
		if strings.HasSuffix(a.path, "/auth/token") {
			c.tokens++
			if a.status == 200 {
				c.tokensGranted++
			}
		}
		if strings.HasSuffix(a.path, "/gold/rate") {
			c.rate++
		}
	}
	return c
}

// timeline prints every answer's offset from the first and its status,
// so a failure shows where the 429s landed.
func (r *recorder) timeline() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, a := range r.log {
		fmt.Fprintf(&b, "%6.3fs %d %s\n", a.at.Sub(r.log[0].at).Seconds(), a.status, a.path[strings.LastIndex(a.path, "/"):])
	}
	return b.String()
}

// okWithin counts the 200s in [from, from+d).
func (r *recorder) okWithin(from time.Time, d time.Duration) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, a := range r.log {
		if a.status == 200 && !a.at.Before(from) && a.at.Before(from.Add(d)) {
			n++
		}
	}
	return n
}
