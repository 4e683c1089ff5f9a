package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/milligold/milligold-go/bench/quota"
)

// report is everything one run measured.
type report struct {
	machine      string
	loadBefore   string
	prismVersion string
	load         options
	body         int // bytes of the gold-rate answer

	sandbox, bare Load
	prism         *Load
	quota         []quota.Result
	bench         map[string]Bench
}

// The targets, from the issue. Reporting only: a missed target is marked, never fatal.
const (
	targetVsPrism = 15.0 // sandbox throughput at least 15x Prism's
	targetVsBare  = 0.65 // at least 65% of the bare handler's
	targetP99     = 2.0  // p99 at most 2x the bare handler's
	targetQuota   = 0.95 // at least 95% of the quota, zero 429s
	targetClient  = 1.3  // client call at most 1.3x the hand-written one
)

// handlerPaths are the sandbox handler benchmarks (sandbox/handler_bench_test.go), in table order.
var handlerPaths = []struct{ bench, label string }{
	{"Handler/token", "POST /auth/token"},
	{"Handler/goldRate", "GET /gold/rate"},
	{"Handler/user", "GET /user/info/{mobileNumber}"},
	{"Handler/notFound", "GET /user/info/{mobileNumber}, no such user (404)"},
	{"Handler/rateLimited", "GET /gold/rate over the limit (429)"},
}

func (r *report) write(w io.Writer) {
	// Each line ends in a blank one, so the lines stay apart in Markdown.
	fmt.Fprintf(w, "Machine: %s; 1-minute load average %s before the run, %s after.\n\n", r.machine, r.loadBefore, loadAverage())
	if r.sandbox.Requests > 0 {
		peer := "a bare net/http handler writing the same %d bytes"
		if r.prism != nil {
			peer += ", and Prism " + r.prismVersion + " mocking openapi.yaml"
		}
		fmt.Fprintf(w, "Load: wrk -t%d -c%d --latency on loopback, GET /partner/gold/rate with a valid bearer token, "+
			"against the sandbox (validation, JWT check, rate-limit accounting and a text request log to /dev/null on), "+peer+". "+
			"Sandbox and bare handler: best of %d alternating %v rounds after a %v warm-up; Prism: one %v run.\n",
			r.load.threads, r.load.conns, r.body, r.load.rounds, r.load.duration, r.load.warmup, time.Duration(r.load.rounds)*r.load.duration)
		fmt.Fprintln(w)
	}
	if len(r.quota) > 0 {
		c := quota.Document
		fmt.Fprintf(w, "Quota: fake-clock simulation of %v, server allowing %d per %v from the first request, one-way latency %v-%v, %d callers always waiting to send; "+
			"quota is requests served as a share of %d per %v back to back.\n",
			c.Duration, c.Requests, c.Window, c.MinLatency, c.MaxLatency, c.Callers, c.Requests, c.Window)
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "| measurement | ours | peer | ratio | target | met |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	row := func(what, ours, peer, ratio, target, met string) {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", what, ours, peer, ratio, target, met)
	}
	if s := r.sandbox; s.Requests > 0 {
		if p := r.prism; p != nil {
			x := s.RPS / p.RPS
			row("sandbox vs Prism mock: throughput", rps(s.RPS), rps(p.RPS), fmt.Sprintf("%.1fx", x), fmt.Sprintf("≥ %gx", targetVsPrism), met(x >= targetVsPrism))
			row("sandbox vs Prism mock: p50 / p99", lat(s.P50)+" / "+lat(s.P99), lat(p.P50)+" / "+lat(p.P99), "", "", "")
		}
		if b := r.bare; b.Requests > 0 {
			x := s.RPS / b.RPS
			row("sandbox vs bare net/http: throughput", rps(s.RPS), rps(b.RPS), fmt.Sprintf("%.0f%%", 100*x), fmt.Sprintf("≥ %.0f%%", 100*targetVsBare), met(x >= targetVsBare))
			y := float64(s.P99) / float64(b.P99)
			row("sandbox vs bare net/http: p99", lat(s.P99), lat(b.P99), fmt.Sprintf("%.2fx", y), fmt.Sprintf("≤ %gx", targetP99), met(y <= targetP99))
			row("sandbox vs bare net/http: p50", lat(s.P50), lat(b.P50), fmt.Sprintf("%.2fx", float64(s.P50)/float64(b.P50)), "", "")
		} else {
			row("sandbox: throughput, p50 / p99", rps(s.RPS), lat(s.P50)+" / "+lat(s.P99), "", "", "")
		}
	}
	if len(r.quota) > 0 {
		ours := r.quota[0]
		ok := ours.Refused == 0 && ours.Quota >= targetQuota
		for _, peer := range r.quota[1:] {
			row("client quota: ours vs "+peer.Name, quotaCell(ours), quotaCell(peer), "", fmt.Sprintf("0 429s, ≥ %.0f%% of quota", 100*targetQuota), met(ok))
		}
	}
	client, hand := r.bench["GoldRate/client"], r.bench["GoldRate/handwritten"]
	if client.NsPerOp > 0 && hand.NsPerOp > 0 {
		x := client.NsPerOp / hand.NsPerOp
		row("client GoldRate (warm token) vs hand-written GET + json decode: time", ns(client.NsPerOp), ns(hand.NsPerOp), fmt.Sprintf("%.2fx", x), fmt.Sprintf("≤ %gx", targetClient), met(x <= targetClient))
		if client.HasAlloc && hand.Allocs > 0 {
			y := client.Allocs / hand.Allocs
			row("client GoldRate vs hand-written: allocations",
				fmt.Sprintf("%.0f allocs, %.0f B", client.Allocs, client.BPerOp), fmt.Sprintf("%.0f allocs, %.0f B", hand.Allocs, hand.BPerOp),
				fmt.Sprintf("%.2fx", y), fmt.Sprintf("≤ %gx", targetClient), met(y <= targetClient))
		}
	}
	if b, ok := r.bench["TokenPerPeriod64"]; ok {
		n := b.Metrics["tokens/period"]
		row("client: token requests per expiry period, 64 concurrent callers", fmt.Sprintf("%.2f", n), "", "", "1", met(n == 1))
	}
	for _, h := range handlerPaths {
		if b, ok := r.bench[h.bench]; ok {
			row("sandbox handler (go test -bench): "+h.label, fmt.Sprintf("%s, %.0f allocs, %.0f B", ns(b.NsPerOp), b.Allocs, b.BPerOp), "", "", "", "")
		}
	}
}

func met(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func rps(v float64) string { return fmt.Sprintf("%s req/s", thousands(int64(v+0.5))) }

func thousands(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func lat(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond))
	}
}

func ns(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.1f µs/op", v/1000)
	}
	return fmt.Sprintf("%.0f ns/op", v)
}

func quotaCell(q quota.Result) string {
	return fmt.Sprintf("%.1f%% of quota (%.2f of %d per window opened), %s 429s",
		100*q.Quota, q.PerWindow*float64(quota.Document.Requests), quota.Document.Requests, thousands(int64(q.Refused)))
}

// machine describes where the run happened: CPU model, cores, Go version.
func machine() string {
	model := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	return fmt.Sprintf("%s, %d cores, %s %s/%s", model, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// loadAverage is the 1-minute load average, or "" when unknown: a figure
// well above the core count means other work shared the machine and the
// ratios are noisier than usual.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}
