package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/milligold/milligold-go/bench/quota"
)

func TestReportWrite(t *testing.T) {
	ms := time.Millisecond
	rounds := func(name string, rps ...float64) *Series {
		s := &Series{Name: name}
		for i, r := range rps {
			s.Rounds = append(s.Rounds, Load{RPS: r, P50: time.Duration(i+1) * ms, P99: time.Duration(4*(i+1)) * ms, Requests: 1000,
				CPU: 1000 * time.Duration(1e9/r)}) // CPU per request in step with throughput
		}
		return s
	}
	// Paced: the rate offered, latencies as measured (in ms).
	paced := func(name string, p99 ...int) *Series {
		s := &Series{Name: name}
		for _, p := range p99 {
			s.Rounds = append(s.Rounds, Load{RPS: 20000, P50: ms, P99: 50 * ms, RawP50: ms / 2, RawP99: time.Duration(p) * ms, Requests: 40000})
		}
		return s
	}
	short := paced("bare GET paced", 1, 3, 4)
	short.Rounds[1].RPS = 18000 // under 95% of 20,000
	rep := &report{
		machine: "Test CPU, 2 cores, go1.26 linux/amd64", loadBefore: "0.10", loads: []string{"1.00", "2.00", "3.00"}, prismVersion: "5.16.0",
		load: options{threads: 2, conns: 64, rounds: 3, duration: 3 * time.Second, warmup: 2 * time.Second},
		body: 111,
		series: []*Series{
			rounds("sandbox GET", 30000, 36000, 20000),
			rounds("bare GET", 40000, 40000, 40000),
			rounds("sandbox POST", 10000, 12000, 8000),
			rounds("bare POST", 20000, 20000, 20000),
			rounds("Prism", 1500, 1500, 1000),
			rounds("Prism -v error", 4000, 4000, 4000),
			paced("sandbox GET paced", 2, 3, 5),
			short,
		},
		pacedRate: 20000, pacedShare: 0.5,
		sandboxFP: &Footprint{Startup: 50 * ms, RSS: 16 << 20},
		prismFP:   &Footprint{Startup: 1200 * ms, RSS: 144 << 20},
		quota: []quota.Result{
			{Name: "ours", Served: 1720, Windows: 172, PerWindow: 1, Quota: 0.986},
			{Name: "bucket", Served: 1699, Refused: 110, Windows: 170, PerWindow: 0.999, Quota: 0.944},
		},
		bench: map[string]Bench{
			"GoldRate/client":      {NsPerOp: 52000, BPerOp: 9900, Allocs: 104, HasAlloc: true},
			"GoldRate/handwritten": {NsPerOp: 40000, BPerOp: 7800, Allocs: 85, HasAlloc: true},
			"TokenPerPeriod64":     {Metrics: map[string]float64{"tokens/period": 1}},
			"Handler/goldRate":     {NsPerOp: 2688, BPerOp: 1296, Allocs: 20, HasAlloc: true},
		},
	}
	var buf bytes.Buffer
	rep.write(&buf)
	out := buf.String()
	for _, want := range []string{
		"Machine: Test CPU, 2 cores, go1.26 linux/amd64; 1-minute load average 0.10 before the run, 1.00, 2.00, 3.00 after each round, ",
		"3 rounds; each round runs every server once for 3s, each server right before or after the peer",
		// Per-round ratios 75%, 90%, 50%: the median is 75%, not the ratio of the best rounds (90%).
		"| GET /gold/rate, sandbox vs bare net/http: throughput | 30,000 req/s (20,000–36,000) | 40,000 req/s (40,000–40,000) | 75% (50–90%) | ≥ 85% | **no** |",
		"| GET /gold/rate, sandbox vs bare net/http: p99 | 8.00 ms (4.00 ms–12.00 ms) | 8.00 ms (4.00 ms–12.00 ms) | 1.00x (1.00–1.00x) | ≤ 1.3x | yes |",
		"| GET /gold/rate, server CPU per request: bare as a share of sandbox | 33.3 µs (27.8 µs–50.0 µs) | 25.0 µs (25.0 µs–25.0 µs) | 75% (50–90%) |  |  |",
		// Per-round ratios 2, 1, 1.25: the median is 1.25.
		"| GET /gold/rate at one offered load, 20,000 req/s (50% of the bare handler's flat-out warm-up), sandbox vs bare net/http: p99 as measured | 3.00 ms (2.00 ms–5.00 ms) | 3.00 ms (1.00 ms–4.00 ms) | 1.25x (1.00–2.00x) |  |  |",
		"| GET /gold/rate at one offered load, 20,000 req/s (50% of the bare handler's flat-out warm-up), sandbox vs bare net/http: served (in 1 of 3 rounds one of them served under 95% of the rate) | 20,000 req/s (20,000–20,000) | 20,000 req/s (18,000–20,000) | 100% (100–111%) |  |  |",
		"paced (its delay hook, a schedule per thread) to 20,000 req/s, 50% of what the bare handler served flat out in its warm-up",
		"| POST /auth/token, sandbox vs bare net/http: throughput | 10,000 req/s (8,000–12,000) | 20,000 req/s (20,000–20,000) | 50% (40–60%) | ≥ 60% | **no** |",
		// 30000/1500, 36000/1500, 20000/1000: 20x, 24x, 20x.
		"| GET /gold/rate, sandbox vs Prism as users run it: throughput | 30,000 req/s (20,000–36,000) | 1,500 req/s (1,000–1,500) | 20.0x (20.0–24.0x) | ≥ 20x | yes |",
		"| GET /gold/rate, bare net/http vs Prism with -v error: throughput (the ceiling of the row above) | 40,000 req/s (40,000–40,000) | 4,000 req/s (4,000–4,000) | 10.0x (10.0–10.0x) |  |  |",
		"| GET /gold/rate, sandbox vs Prism with -v error: throughput | 30,000 req/s (20,000–36,000) | 4,000 req/s (4,000–4,000) | 7.5x (5.0–9.0x) | ≥ 8x | **no** |",
		"| startup to first answer / idle RSS, `milligold sandbox` vs `prism mock` | 50.00 ms / 16 MiB | 1.20 s / 144 MiB | 0.04x / 0.11x | below Prism | yes |",
		"| client quota: ours vs bucket | 98.6% of quota (10.00 of 10 per window opened), 0 429s | 94.4% of quota (9.99 of 10 per window opened), 110 429s |  | 0 429s, ≥ 98% of quota | yes |",
		"| client GoldRate (warm token) vs hand-written GET + json decode: time | 52.0 µs/op | 40.0 µs/op | 1.30x | ≤ 1.3x | yes |",
		"| client: token requests per expiry period, 64 concurrent callers | 1.00 |  |  | 1 | yes |",
		"| sandbox handler (go test -bench, median of runs): GET /gold/rate | 2.7 µs/op, 20 allocs, 1296 B |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q; got:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n|---|"); n != 1 {
		t.Errorf("report has %d tables; want one:\n%s", n, out)
	}
}

func TestStat(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want Stat
	}{
		{[]float64{3, 1, 2}, Stat{2, 1, 3}},
		{[]float64{4, 1, 2, 3}, Stat{2.5, 1, 4}},
		{[]float64{7}, Stat{7, 7, 7}},
		{nil, Stat{}},
	} {
		if got := stat(tt.in); got != tt.want {
			t.Errorf("stat(%v) = %+v; want %+v", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct {
		n, r int
		want []int
	}{
		{6, 0, []int{0, 1, 2, 3, 4, 5}},
		{6, 1, []int{3, 2, 5, 4, 1, 0}},
		{6, 2, []int{4, 5, 0, 1, 2, 3}},
		{5, 1, []int{3, 2, 4, 1, 0}},
		{2, 1, []int{1, 0}},
	} {
		if got := order(tt.n, tt.r); !slices.Equal(got, tt.want) {
			t.Errorf("order(%d, %d) = %v; want %v", tt.n, tt.r, got, tt.want)
		}
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"positional argument", []string{"extra"}},
		{"sub-second duration", []string{"-duration", "500ms"}},
		{"no rounds", []string{"-rounds", "0"}},
		{"fewer connections than threads", []string{"-threads", "4", "-conns", "2"}},
		{"unknown -only", []string{"-only", "prism"}},
		{"unknown flag", []string{"-fast"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != 2 || stdout.Len() != 0 || stderr.Len() == 0 {
				t.Errorf("run(%q) = %d, stdout %q, stderr %q; want 2, nothing, a usage message", tt.args, code, stdout.String(), stderr.String())
			}
		})
	}
}

// TestRunQuota runs the real simulation end to end and checks the table's rows.
func TestRunQuota(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-only", "quota"}, &stdout, &stderr); code != 0 {
		t.Fatalf("run(-only quota) = %d; want 0; stderr:\n%s", code, stderr.String())
	}
	if n := strings.Count(stdout.String(), "| client quota: "+quota.Ours.Name+" vs "); n != 4 {
		t.Errorf("run(-only quota): %d quota rows; want 4 (the fixed margin, two token buckets, no limiter):\n%s", n, stdout.String())
	}
}

// TestRunSandboxLoad drives the sandbox with the real wrk for a second (when
// wrk is installed): token fetch, header script, parsing, the table row.
func TestRunSandboxLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("loads the sandbox for a second")
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Fatal("wrk not installed: apt-get install -y wrk (bench/run.sh and .ci/run install it)")
	}
	var stdout, stderr bytes.Buffer
	args := []string{"-only", "sandbox", "-wrk", wrk, "-duration", "1s", "-rounds", "1", "-warmup", "0s", "-threads", "1", "-conns", "4"}
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("run(%q) = %d; want 0; stderr:\n%s", args, code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "| GET /gold/rate, sandbox: throughput, p50 / p99 | ") || !strings.Contains(stdout.String(), "| POST /auth/token, sandbox: throughput, p50 / p99 | ") {
		t.Errorf("run(%q): no sandbox row:\n%s", args, stdout.String())
	}
	if strings.Contains(stdout.String()+stderr.String(), "eyJ") {
		t.Errorf("run(%q) printed a token:\n%s\n%s", args, stdout.String(), stderr.String())
	}
}

// TestWrkPacedHistogram runs the real wrk against a bare handler, paced, with
// the histogram: wrk serves the rate asked for, not what the server could
// take, and the histogram ParseWrk reads is the one wrk computed its
// percentiles from (its p99 and the histogram's agree).
func TestWrkPacedHistogram(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a server for two seconds")
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Fatal("wrk not installed: apt-get install -y wrk (bench/run.sh and .ci/run install it)")
	}
	base, stop, err := serve(bareHandler("application/json", []byte(`{"ok":true}`)))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	const rate = 2000
	target := Target{Name: "bare", URL: base + "/", Rate: rate, Histogram: true}
	l, out, err := runWrk(t.Context(), wrk, target, 2, 16, 2*time.Second)
	if err != nil {
		t.Fatalf("runWrk: %v\n%s", err, out)
	}
	// Flat out this handler serves tens of thousands a second; paced, wrk
	// keeps to the schedule (wide margins: the machine may be loaded).
	if l.RPS < 0.8*rate || l.RPS > 1.1*rate {
		t.Errorf("paced to %d req/s, wrk served %.0f req/s", rate, l.RPS)
	}
	if l.RawP50 <= 0 || l.RawP99 < l.RawP50 {
		t.Errorf("raw p50 %v, p99 %v; want both from the histogram", l.RawP50, l.RawP99)
	}
	h := make(map[int64]int64)
	for _, line := range strings.Split(out, "\n") {
		var v, n int64
		if _, err := fmt.Sscanf(line, "bench-h %d %d", &v, &n); err == nil {
			h[v] += n
		}
	}
	// wrk prints its p99 to two decimals of its unit.
	p := time.Duration(percentile(h, 99)) * time.Microsecond
	if d := p - l.P99; d < -l.P99/100-10*time.Microsecond || d > l.P99/100+10*time.Microsecond {
		t.Errorf("p99 of the histogram = %v; wrk printed %v", p, l.P99)
	}
}
