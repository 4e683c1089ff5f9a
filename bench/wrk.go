package main

import (
	"bufio"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Load is what one wrk run measured.
type Load struct {
	RPS      float64       // "Requests/sec:"
	P50, P99 time.Duration // "Latency Distribution" (wrk --latency)
	Requests int64         // "N requests in …"
	Non2xx   int64         // "Non-2xx or 3xx responses: N"
	Errors   int64         // "Socket errors: connect a, read b, write c, timeout d", summed
	CPU      time.Duration // the serving process's CPU time during the run; 0 when unknown (a server in another process)

	// RawP50 and RawP99 are the percentiles of the latencies wrk measured,
	// before its coordinated-omission correction (see uncorrect); 0 when the
	// report has no histogram (the target asked for none, or its slowest
	// answer was beyond histogramMax).
	RawP50, RawP99 time.Duration
}

// CPUPerRequest is the server's CPU time per request, or 0 when unknown.
func (l Load) CPUPerRequest() time.Duration {
	if l.Requests == 0 {
		return 0
	}
	return l.CPU / time.Duration(l.Requests)
}

// ParseWrk reads wrk's report (run with --latency). It fails when the
// throughput or either percentile is missing, so a broken run never turns
// into a row of zeros.
func ParseWrk(out string) (Load, error) {
	var l Load
	var haveRPS, have50, have99 bool
	var h histogram
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) > 0 && (f[0] == "bench-histogram" || f[0] == "bench-h"):
			if err := h.parse(f); err != nil {
				return Load{}, err
			}
		case len(f) == 2 && f[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil || v < 0 {
				return Load{}, fmt.Errorf("wrk: Requests/sec %q: not a rate", f[1])
			}
			l.RPS, haveRPS = v, true
		case len(f) == 2 && (f[0] == "50%" || f[0] == "99%"):
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return Load{}, err
			}
			if f[0] == "50%" {
				l.P50, have50 = d, true
			} else {
				l.P99, have99 = d, true
			}
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return Load{}, fmt.Errorf("wrk: request count %q: %v", f[0], err)
			}
			l.Requests = n
		case len(f) == 5 && strings.Join(f[:4], " ") == "Non-2xx or 3xx responses:":
			n, err := strconv.ParseInt(f[4], 10, 64)
			if err != nil {
				return Load{}, fmt.Errorf("wrk: non-2xx count %q: %v", f[4], err)
			}
			l.Non2xx = n
		case len(f) == 10 && f[0] == "Socket" && f[1] == "errors:":
			for _, i := range []int{3, 5, 7, 9} {
				n, err := strconv.ParseInt(strings.TrimSuffix(f[i], ","), 10, 64)
				if err != nil {
					return Load{}, fmt.Errorf("wrk: socket errors %q: %v", sc.Text(), err)
				}
				l.Errors += n
			}
		}
	}
	if !haveRPS || !have50 || !have99 {
		return Load{}, fmt.Errorf("wrk: report lacks Requests/sec or the 50%%/99%% latency (run with --latency): %q", firstLine(out))
	}
	if h.counts != nil && h.requests >= h.conns && h.conns > 0 {
		raw := uncorrect(h.counts, h.duration/(h.requests/h.conns))
		l.RawP50 = time.Duration(percentile(raw, 50)) * time.Microsecond
		l.RawP99 = time.Duration(percentile(raw, 99)) * time.Microsecond
	}
	return l, nil
}

// histogram is wrk's latency histogram as the script's done hook prints it
// (see wrkScript): a line "bench-histogram DURATION_US REQUESTS CONNECTIONS",
// then a line "bench-h MICROSECONDS COUNT" per distinct latency.
type histogram struct {
	duration, requests, conns int64
	counts                    map[int64]int64
}

func (h *histogram) parse(f []string) error {
	n := make([]int64, len(f)-1)
	for i, s := range f[1:] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil || v < 0 {
			return fmt.Errorf("wrk: histogram line %q: not counts", strings.Join(f, " "))
		}
		n[i] = v
	}
	switch {
	case f[0] == "bench-histogram" && len(n) == 3:
		h.duration, h.requests, h.conns = n[0], n[1], n[2]
		h.counts = make(map[int64]int64)
	case f[0] == "bench-h" && len(n) == 2 && h.counts != nil:
		h.counts[n[0]] += n[1]
	default:
		return fmt.Errorf("wrk: histogram line %q out of place", strings.Join(f, " "))
	}
	return nil
}

// uncorrect undoes wrk's coordinated-omission correction (stats_correct in
// wrk 4's stats.c), which wrk applies to its histogram before it reports:
// with interval the mean time a connection took per request over the run
// (runtime / (requests / connections), in whole microseconds), every
// latency n of at least twice the interval adds one made-up latency at each
// of n-interval, n-2*interval, ... down to just above the interval, the
// requests a connection "would have sent" meanwhile at that pace. In a
// closed loop run flat out those requests were never due: one stall of a
// few ms adds several made-up samples, and the p99 wrk prints is mostly
// them. A made-up latency always lies below the one it came from, so going
// from the largest latency down, each count is the measured one once the
// additions of the larger ones are taken off.
func uncorrect(corrected map[int64]int64, interval int64) map[int64]int64 {
	keys := make([]int64, 0, len(corrected))
	for v := range corrected {
		keys = append(keys, v)
	}
	slices.Sort(keys)
	added := make(map[int64]int64)
	raw := make(map[int64]int64, len(corrected))
	for i := len(keys) - 1; i >= 0; i-- {
		v := keys[i]
		n := corrected[v] - added[v]
		if n <= 0 {
			continue
		}
		raw[v] = n
		if interval > 0 && v >= 2*interval {
			for m := v - interval; m > interval; m -= interval {
				added[m] += n
			}
		}
	}
	return raw
}

// percentile is wrk's stats_percentile over a histogram: the smallest
// latency whose cumulative count reaches round(p/100*count + 0.5).
func percentile(h map[int64]int64, p float64) int64 {
	keys := make([]int64, 0, len(h))
	var count int64
	for v, n := range h {
		keys = append(keys, v)
		count += n
	}
	slices.Sort(keys)
	rank := int64(math.Round(p/100*float64(count) + 0.5))
	var total int64
	for _, v := range keys {
		total += h[v]
		if total >= rank {
			return v
		}
	}
	return 0
}

// wrkUnits are the suffixes wrk prints latencies with.
var wrkUnits = []struct {
	suffix string
	unit   time.Duration
}{{"us", time.Microsecond}, {"ms", time.Millisecond}, {"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}}

// parseWrkDuration reads a latency as wrk prints it: "36.35ms", "812.00us", "1.20s".
func parseWrkDuration(s string) (time.Duration, error) {
	for _, u := range wrkUnits {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(num, 64)
		if err != nil || v < 0 || v > 1e6 {
			break
		}
		return time.Duration(v * float64(u.unit)), nil
	}
	return 0, fmt.Errorf("wrk: latency %q: want a number with us, ms, s, m or h", s)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
