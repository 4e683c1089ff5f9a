package main

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/milligold/milligold-go/bench/quota"
)

func TestReportWrite(t *testing.T) {
	ms := time.Millisecond
	rep := &report{
		machine: "Test CPU, 2 cores, go1.26 linux/amd64", loadBefore: "0.10", prismVersion: "5.16.0",
		load:    options{threads: 2, conns: 64, rounds: 2, duration: 5 * time.Second, warmup: 3 * time.Second},
		body:    111,
		sandbox: Load{RPS: 30000, P50: 2 * ms, P99: 9 * ms, Requests: 300000},
		bare:    Load{RPS: 40000, P50: 1 * ms, P99: 4 * ms, Requests: 400000},
		prism:   &Load{RPS: 1500, P50: 30 * ms, P99: 1200 * ms, Requests: 15000},
		quota: []quota.Result{
			{Name: "ours", Served: 1720, Windows: 172, PerWindow: 1, Quota: 0.956},
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
		"Machine: Test CPU, 2 cores, go1.26 linux/amd64; 1-minute load average 0.10 before the run",
		"| sandbox vs Prism mock: throughput | 30,000 req/s | 1,500 req/s | 20.0x | ≥ 15x | yes |",
		"| sandbox vs bare net/http: throughput | 30,000 req/s | 40,000 req/s | 75% | ≥ 65% | yes |",
		"| sandbox vs bare net/http: p99 | 9.00 ms | 4.00 ms | 2.25x | ≤ 2x | **no** |",
		"| sandbox vs Prism mock: p50 / p99 | 2.00 ms / 9.00 ms | 30.00 ms / 1.20 s |",
		"| client quota: ours vs bucket | 95.6% of quota (10.00 of 10 per window opened), 0 429s | 94.4% of quota (9.99 of 10 per window opened), 110 429s |  | 0 429s, ≥ 95% of quota | yes |",
		"| client GoldRate (warm token) vs hand-written GET + json decode: time | 52.0 µs/op | 40.0 µs/op | 1.30x | ≤ 1.3x | yes |",
		"| client: token requests per expiry period, 64 concurrent callers | 1.00 |  |  | 1 | yes |",
		"| sandbox handler (go test -bench): GET /gold/rate | 2.7 µs/op, 20 allocs, 1296 B |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q; got:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "\n|---|"); n != 1 {
		t.Errorf("report has %d tables; want one:\n%s", n, out)
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
	if n := strings.Count(stdout.String(), "| client quota: ours vs "); n != 3 {
		t.Errorf("run(-only quota): %d quota rows; want 3 (two token buckets, no limiter):\n%s", n, stdout.String())
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
		t.Skip("wrk not installed (bench/run.sh installs it)")
	}
	var stdout, stderr bytes.Buffer
	args := []string{"-only", "sandbox", "-wrk", wrk, "-duration", "1s", "-rounds", "1", "-warmup", "0s", "-threads", "1", "-conns", "4"}
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("run(%q) = %d; want 0; stderr:\n%s", args, code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "| sandbox: throughput, p50 / p99 | ") {
		t.Errorf("run(%q): no sandbox row:\n%s", args, stdout.String())
	}
	if strings.Contains(stdout.String()+stderr.String(), "eyJ") {
		t.Errorf("run(%q) printed a token:\n%s\n%s", args, stdout.String(), stderr.String())
	}
}
