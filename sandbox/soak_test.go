package sandbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milligold/milligold-go/internal/clock"
	"github.com/milligold/milligold-go/ratelimit"
	"github.com/milligold/milligold-go/sandbox"
)

// Soak shape: every round, each partner asks for a token and then sends
// soakCalls protected requests through soakConns connections at once, on a
// frozen sandbox clock; then the clock moves one window on. The limit must
// hold exactly: per partner per round, the token and limit-1 calls pass and
// the rest get 429.
const (
	soakPartners = 300
	soakConns    = 100
	soakCalls    = 14
	soakBudget   = 50 * time.Second // plus start and shutdown: within a minute
	soakMaxRound = 500
)

// countingListener counts the connections Serve accepts.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestSoak runs the sandbox under sustained load on loopback for up to a
// minute. make test leaves it out (-skip) to stay under two minutes; make
// soak runs it, and CI runs both. -short skips it too. It checks: zero unexpected statuses, the
// per-partner limit exact every round, 429s with headers and envelope, heap
// flat between the first and the last round, idle windows dropped, and
// goroutines back to the baseline after shutdown.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: skipped with -short; make soak runs it")
	}
	baseGoroutines := runtime.NumGoroutine()

	cfg := sandbox.Default()
	cfg.Partners = nil
	for i := range soakPartners {
		cfg.Partners = append(cfg.Partners, sandbox.Partner{
			ID: fmt.Sprintf("soak-partner-%03d", i), Name: fmt.Sprintf("Soak %d", i), Secret: fmt.Sprintf("soak-secret-%03d", i),
		})
	}
	clk := clock.NewFake(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	cfg.Now = clk.Now
	window := time.Duration(cfg.RateLimit.WindowSeconds) * time.Second
	limit := cfg.RateLimit.Requests
	if window == 0 || limit == 0 {
		window, limit = 20*time.Second, 10 // the spec's policy
	}
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}

	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &countingListener{Listener: raw}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- sandbox.Serve(ctx, ln, sb, sandbox.ServeOptions{}) }()
	base := "http://" + raw.Addr().String() + sandbox.BasePath
	transport := &http.Transport{MaxConnsPerHost: soakConns, MaxIdleConnsPerHost: soakConns, IdleConnTimeout: time.Minute}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}

	// work is one request; the workers run them soakConns at a time.
	type result struct {
		partner int
		status  int
		token   string
		problem string
	}
	run := func(jobs []func() result) []result {
		out := make([]result, len(jobs))
		var next atomic.Int64
		var wg sync.WaitGroup
		for range soakConns {
			wg.Go(func() {
				for i := int(next.Add(1)) - 1; i < len(jobs); i = int(next.Add(1)) - 1 {
					out[i] = jobs[i]()
				}
			})
		}
		wg.Wait()
		return out
	}
	do := func(req *http.Request) (*http.Response, []byte, error) {
		res, err := client.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		return res, body, err
	}

	unexpected := map[string]int{}
	var rounds, requests int
	var heapFirst, heapLast uint64
	start := time.Now()
	for rounds < soakMaxRound && time.Since(start) < soakBudget {
		// Tokens: one per partner.
		tokenJobs := make([]func() result, soakPartners)
		for p := range soakPartners {
			tokenJobs[p] = func() result {
				form := url.Values{"partnerId": {cfg.Partners[p].ID}, "partnerSecret": {cfg.Partners[p].Secret}}.Encode()
				req, _ := http.NewRequest(http.MethodPost, base+"/auth/token", strings.NewReader(form))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				res, body, err := do(req)
				if err != nil {
					return result{partner: p, problem: err.Error()}
				}
				var ok struct{ Data struct{ AccessToken string } }
				if res.StatusCode != 200 || json.Unmarshal(body, &ok) != nil || ok.Data.AccessToken == "" {
					return result{partner: p, status: res.StatusCode, problem: fmt.Sprintf("token: %d", res.StatusCode)}
				}
				return result{partner: p, status: 200, token: ok.Data.AccessToken}
			}
		}
		tokens := run(tokenJobs)
		// Calls: soakCalls per partner, interleaved across partners.
		var callJobs []func() result
		for i := range soakCalls {
			for p := range soakPartners {
				tok := tokens[p].token
				path := "/gold/rate"
				if i%2 == 1 {
					path = "/user/info/1234567890"
				}
				callJobs = append(callJobs, func() result {
					req, _ := http.NewRequest(http.MethodGet, base+path, nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					res, body, err := do(req)
					if err != nil {
						return result{partner: p, problem: err.Error()}
					}
					r := result{partner: p, status: res.StatusCode}
					switch res.StatusCode {
					case 200:
					case 429:
						if problem := envelopeProblem(res, body); problem != "" {
							r.problem = "429 body: " + problem
						}
						for _, h := range []string{ratelimit.HeaderLimit, ratelimit.HeaderRemaining, ratelimit.HeaderReset} {
							if res.Header.Get(h) == "" {
								r.problem = "429 without " + h
							}
						}
					default:
						r.problem = fmt.Sprintf("%s: %d", path, res.StatusCode)
					}
					return r
				})
			}
		}
		calls := run(callJobs)
		requests += len(tokenJobs) + len(callJobs)

		passed := make([]int, soakPartners)
		for _, r := range slices.Concat(tokens, calls) {
			if r.problem != "" {
				unexpected[r.problem]++
			}
			if r.status == 200 {
				passed[r.partner]++
			}
		}
		for _, n := range passed {
			if n != limit {
				unexpected[fmt.Sprintf("round with %d of %d passing (want exactly the limit)", n, 1+soakCalls)]++
			}
		}
		rounds++
		if rounds == 1 {
			heapFirst = heapAlloc()
		}
		clk.Advance(window)
	}
	heapLast = heapAlloc()
	elapsed := time.Since(start)

	// Idle windows: one window after the last round, a single request
	// sweeps every partner's expired window away.
	windowsBusy := sb.Windows()
	clk.Advance(window)
	form := url.Values{"partnerId": {cfg.Partners[0].ID}, "partnerSecret": {cfg.Partners[0].Secret}}.Encode()
	req, _ := http.NewRequest(http.MethodPost, base+"/auth/token", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if res, _, err := do(req); err != nil || res.StatusCode != 200 {
		t.Errorf("token after the soak: %v, %v", res, err)
	}
	windowsIdle := sb.Windows()

	stop()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	transport.CloseIdleConnections()
	goroutines := runtime.NumGoroutine()
	for end := time.Now().Add(5 * time.Second); goroutines > baseGoroutines && time.Now().Before(end); goroutines = runtime.NumGoroutine() {
		time.Sleep(20 * time.Millisecond)
	}

	t.Logf("soak: %d partners, %d connections (%d accepted), %d rounds, %d requests in %v (%.0f req/s)",
		soakPartners, soakConns, ln.n.Load(), rounds, requests, elapsed.Round(time.Millisecond), float64(requests)/elapsed.Seconds())
	t.Logf("soak: heap after round 1 %.1f MiB, after round %d %.1f MiB", mib(heapFirst), rounds, mib(heapLast))
	t.Logf("soak: windows %d during, %d after an idle window", windowsBusy, windowsIdle)
	t.Logf("soak: goroutines %d before, %d after shutdown", baseGoroutines, goroutines)

	if len(unexpected) > 0 {
		keys := slices.Sorted(maps.Keys(unexpected))
		for _, k := range keys[:min(len(keys), 10)] {
			t.Errorf("unexpected, %d times: %s", unexpected[k], k)
		}
	}
	if rounds < 2 {
		t.Errorf("only %d rounds ran; the soak says nothing about memory", rounds)
	}
	// Flat: the last round may not hold more than the first plus slack for
	// the allocator's own noise; a leak per request grows with thousands of rounds' requests.
	if heapLast > heapFirst+heapFirst/2+4<<20 {
		t.Errorf("heap grew from %.1f MiB after round 1 to %.1f MiB after round %d", mib(heapFirst), mib(heapLast), rounds)
	}
	if windowsBusy < soakPartners || windowsIdle != 1 {
		t.Errorf("rate-limit windows: %d during (want >= %d), %d after an idle window (want 1)", windowsBusy, soakPartners, windowsIdle)
	}
	if goroutines > baseGoroutines {
		t.Errorf("goroutines: %d after shutdown; want at most the %d before", goroutines, baseGoroutines)
		pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
