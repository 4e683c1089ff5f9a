package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

const wrkPrism = `Running 10s test @ http://127.0.0.1:4999/gold/rate
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    38.65ms   10.53ms   1.36s    84.35%
    Req/Sec   830.07    100.21     1.01k    70.00%
  Latency Distribution
     50%   36.35ms
     75%   40.86ms
     90%   48.23ms
     99%    1.20s
  16554 requests in 10.02s, 5.71MB read
  Socket errors: connect 0, read 2, write 0, timeout 5
  Non-2xx or 3xx responses: 12
Requests/sec:   1652.38
Transfer/sec:    583.66KB
`

const wrkBare = `Running 10s test @ http://127.0.0.1:40000/partner/gold/rate
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.52ms    1.91ms  40.12ms   88.01%
    Req/Sec    22.80k     1.92k   27.11k    71.50%
  Latency Distribution
     50%  812.00us
     75%    1.75ms
     90%    3.71ms
     99%    9.02ms
  453711 requests in 10.00s, 95.59MB read
Requests/sec:  45362.17
Transfer/sec:      9.56MB
`

func TestParseWrk(t *testing.T) {
	tests := []struct {
		name string
		out  string
		want Load
		err  string // substring; "" means no error
	}{
		{"prism with errors and non-2xx", wrkPrism, Load{RPS: 1652.38, P50: 36350 * time.Microsecond, P99: 1200 * time.Millisecond, Requests: 16554, Non2xx: 12, Errors: 7}, ""},
		{"bare, microseconds", wrkBare, Load{RPS: 45362.17, P50: 812 * time.Microsecond, P99: 9020 * time.Microsecond, Requests: 453711}, ""},
		{"no latency distribution", strings.Replace(wrkBare, "99%", "98%", 1), Load{}, "--latency"},
		{"connection refused", "unable to connect to 127.0.0.1:1 Connection refused\n", Load{}, "unable to connect"},
		{"garbled rate", strings.Replace(wrkBare, "45362.17", "fast", 1), Load{}, "not a rate"},
		{"unknown unit", strings.Replace(wrkBare, "9.02ms", "9.02parsecs", 1), Load{}, "9.02parsecs"},
		{"empty", "", Load{}, "lacks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseWrk(tt.out)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseWrk() error = %v; want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseWrk() = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestParseWrkDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"812.00us", 812 * time.Microsecond, true},
		{"36.35ms", 36350 * time.Microsecond, true},
		{"1.20s", 1200 * time.Millisecond, true},
		{"2.00m", 2 * time.Minute, true},
		{"1.00h", time.Hour, true},
		{"12", 0, false},
		{"-1ms", 0, false},
		{"ms", 0, false},
		{"1e9h", 0, false},
	}
	for _, tt := range tests {
		got, err := parseWrkDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseWrkDuration(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParseWrk(f *testing.F) {
	for _, s := range []string{wrkPrism, wrkBare, "", "Requests/sec: 1\n50% 1us\n99% 1us\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, out string) {
		l, err := ParseWrk(out)
		if err == nil && (l.RPS < 0 || l.P50 < 0 || l.P99 < 0) {
			t.Errorf("ParseWrk(%q) = %+v; want no negative figure", out, l)
		}
	})
}

const goBenchOut = `goos: linux
goarch: amd64
pkg: github.com/milligold/milligold-go
cpu: AMD EPYC 7B13
BenchmarkGoldRate/client-2         	   43966	     55345 ns/op	    9931 B/op	     104 allocs/op
BenchmarkGoldRate/handwritten-2    	   39926	     53314 ns/op	    7813 B/op	      85 allocs/op
BenchmarkGoldRate/client-2         	   40000	     61000 ns/op	    9931 B/op	     104 allocs/op
BenchmarkGoldRate/client-2         	   30000	     70000 ns/op	    9931 B/op	     104 allocs/op
BenchmarkTokenPerPeriod64-2   	     541	   2207944 ns/op	         1.000 tokens/period	  676781 B/op	    7079 allocs/op
Benchmark logged something
PASS
ok  	github.com/milligold/milligold-go	4.590s
`

func TestParseGoBench(t *testing.T) {
	got, err := ParseGoBench(goBenchOut)
	if err != nil {
		t.Fatalf("ParseGoBench: %v", err)
	}
	if len(got) != 3 {
		t.Errorf("ParseGoBench: %d benchmarks; want 3: %v", len(got), got)
	}
	c := got["GoldRate/client"] // the median of its three runs, not the fastest
	if c.NsPerOp != 61000 || c.BPerOp != 9931 || c.Allocs != 104 || !c.HasAlloc {
		t.Errorf(`ParseGoBench()["GoldRate/client"] = %+v; want 61000 ns/op, 9931 B/op, 104 allocs/op`, c)
	}
	if r := c.Runs; !slices.Equal(r, []float64{55345, 61000, 70000}) {
		t.Errorf(`ParseGoBench()["GoldRate/client"].Runs = %v; want every run in order`, r)
	}
	if m := got["TokenPerPeriod64"].Metrics["tokens/period"]; m != 1 {
		t.Errorf(`ParseGoBench()["TokenPerPeriod64"] tokens/period = %v; want 1`, m)
	}
	if _, err := ParseGoBench("BenchmarkX-2 10 5 ns/op 7\n"); err == nil {
		t.Error("ParseGoBench(unpaired columns) = nil error; want one")
	}
	if _, err := ParseGoBench("BenchmarkX-2 10 fast ns/op\n"); err == nil {
		t.Error("ParseGoBench(non-numeric value) = nil error; want one")
	}
}

// PairedRatio pairs the runs in order and takes the median ratio; runs
// that do not pair up give none.
func TestPairedRatio(t *testing.T) {
	a := Bench{Runs: []float64{120, 200, 110}}
	b := Bench{Runs: []float64{100, 100, 100}}
	if m, lo, hi, ok := PairedRatio(a, b); !ok || m != 1.2 || lo != 1.1 || hi != 2 {
		t.Errorf("PairedRatio = %v, %v, %v, %v; want 1.2, 1.1, 2, true", m, lo, hi, ok)
	}
	if _, _, _, ok := PairedRatio(a, Bench{Runs: []float64{100}}); ok {
		t.Error("PairedRatio of 3 runs and 1 = ok; want none")
	}
	if _, _, _, ok := PairedRatio(Bench{}, Bench{}); ok {
		t.Error("PairedRatio without runs = ok; want none")
	}
}

func TestBenchName(t *testing.T) {
	for in, want := range map[string]string{
		"BenchmarkGoldRate/client-2": "GoldRate/client",
		"BenchmarkHandler/token-16":  "Handler/token",
		"BenchmarkPlain":             "Plain",
		"BenchmarkSub/a-b":           "Sub/a-b",
	} {
		if got := benchName(in); got != want {
			t.Errorf("benchName(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestLuaString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Bearer abc.def-_", `"Bearer abc.def-_"`},
		{`a"b\c`, `"a\034b\092c"`},
		{"new\nline", `"new\010line"`},
		{"", `""`},
	}
	for _, tt := range tests {
		if got := luaString(tt.in); got != tt.want {
			t.Errorf("luaString(%q) = %s; want %s", tt.in, got, tt.want)
		}
	}
}

// correct is wrk 4's stats_correct (src/stats.c), the coordinated-omission
// correction uncorrect undoes, ported as it is written: for each latency n
// from 2*expected up, its count (taken before any larger n adds to it) is
// added at n-expected, n-2*expected, ... while above expected.
func correct(raw map[int64]int64, expected int64) map[int64]int64 {
	data := make(map[int64]int64, len(raw))
	var max int64
	for v, n := range raw {
		data[v] = n
		if v > max {
			max = v
		}
	}
	for n := expected * 2; n <= max; n++ {
		count := data[n]
		m := n - expected
		for count != 0 && m > expected {
			data[m] += count
			m -= expected
		}
	}
	for v, n := range data {
		if n == 0 {
			delete(data, v)
		}
	}
	return data
}

func TestUncorrect(t *testing.T) {
	// Each stall of 10 ms at a 1 ms pace adds a made-up latency at 9, 8,
	// ..., 2 ms.
	raw := map[int64]int64{500: 900, 1000: 95, 10000: 5}
	got := correct(raw, 1000)
	want := map[int64]int64{500: 900, 1000: 95, 10000: 5, 9000: 5, 8000: 5, 7000: 5, 6000: 5, 5000: 5, 4000: 5, 3000: 5, 2000: 5}
	if !maps.Equal(got, want) {
		t.Fatalf("correct() = %v; want %v", got, want)
	}
	if back := uncorrect(got, 1000); !maps.Equal(back, raw) {
		t.Errorf("uncorrect(correct(raw)) = %v; want %v", back, raw)
	}
	// The made-up latencies move the p99 from 1 ms to 8 ms.
	if p := percentile(raw, 99); p != 1000 {
		t.Errorf("percentile(raw, 99) = %d; want 1000", p)
	}
	if p := percentile(got, 99); p != 8000 {
		t.Errorf("percentile(corrected, 99) = %d; want 8000", p)
	}
}

func FuzzUncorrect(f *testing.F) {
	f.Add([]byte{1, 2, 3, 200, 7, 90}, int64(3))
	f.Add([]byte{10, 10, 10, 255, 255, 1, 2}, int64(1))
	f.Fuzz(func(t *testing.T, b []byte, expected int64) {
		if expected < 1 || expected > 300 {
			return
		}
		raw := make(map[int64]int64)
		for i := 0; i+1 < len(b); i += 2 {
			raw[int64(b[i])*7+int64(b[i+1]%5)] += int64(b[i+1]%4) + 1
		}
		if back := uncorrect(correct(raw, expected), expected); !maps.Equal(back, raw) {
			t.Errorf("uncorrect(correct(%v, %d)) = %v", raw, expected, back)
		}
	})
}

func TestParseWrkHistogram(t *testing.T) {
	// 1000 requests over 64 connections in 15 ms: 15 per connection
	// (wrk's integer division), an interval of 1000 µs.
	hist := "bench-histogram 15000 1000 64\nbench-h 500 900\nbench-h 1000 95\nbench-h 10000 5\n"
	for v, n := range correct(map[int64]int64{500: 900, 1000: 95, 10000: 5}, 1000) {
		if v != 500 && v != 1000 && v != 10000 {
			hist += fmt.Sprintf("bench-h %d %d\n", v, n)
		}
	}
	l, err := ParseWrk(wrkBare + hist)
	if err != nil {
		t.Fatal(err)
	}
	if l.RawP50 != 500*time.Microsecond || l.RawP99 != time.Millisecond || l.P99 != 9020*time.Microsecond {
		t.Errorf("ParseWrk() = %+v; want raw p50 500µs, raw p99 1ms, wrk's p99 9.02ms", l)
	}
	if l, err := ParseWrk(wrkBare); err != nil || l.RawP99 != 0 {
		t.Errorf("ParseWrk(no histogram) = %+v, %v; want no raw percentiles", l, err)
	}
	for _, bad := range []string{"bench-h 1 2\n", "bench-histogram 1 2\n", "bench-histogram 1 2 3\nbench-h x 1\n", "bench-histogram 1 2 3\nbench-h 1 -1\n"} {
		if _, err := ParseWrk(wrkBare + bad); err == nil || !strings.Contains(err.Error(), "histogram") {
			t.Errorf("ParseWrk(%q) error = %v; want a histogram error", bad, err)
		}
	}
}
