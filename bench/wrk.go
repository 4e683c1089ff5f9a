package main

import (
	"bufio"
	"fmt"
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
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
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
	return l, nil
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
