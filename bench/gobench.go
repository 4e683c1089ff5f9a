package main

import (
	"bufio"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Bench is one line of `go test -bench -benchmem` output.
type Bench struct {
	Name     string // without the "Benchmark" prefix and the -GOMAXPROCS suffix
	NsPerOp  float64
	BPerOp   float64
	Allocs   float64
	HasAlloc bool // -benchmem columns were present
	Metrics  map[string]float64
	Runs     []float64 // every run's ns/op, in the order they ran
}

// ParseGoBench reads the benchmark lines of `go test -bench` output and
// ignores everything else (package headers, PASS, ok lines). A benchmark run
// more than once (-count) keeps its median line by ns/op (the upper middle
// one of an even count), not its fastest: the best of several runs flatters.
func ParseGoBench(out string) (map[string]Bench, error) {
	runs := make(map[string][]Bench)
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue // a log line that happens to start with "Benchmark"
		}
		b := Bench{Name: benchName(f[0]), Metrics: make(map[string]float64)}
		if (len(f)-2)%2 != 0 {
			return nil, fmt.Errorf("gobench: %q: values and units do not pair up", sc.Text())
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("gobench: %q: %q is not a number", sc.Text(), f[i])
			}
			switch unit := f[i+1]; unit {
			case "ns/op":
				b.NsPerOp = v
			case "B/op":
				b.BPerOp, b.HasAlloc = v, true
			case "allocs/op":
				b.Allocs, b.HasAlloc = v, true
			default:
				b.Metrics[unit] = v
			}
		}
		runs[b.Name] = append(runs[b.Name], b)
	}
	res := make(map[string]Bench, len(runs))
	for name, bs := range runs {
		ns := make([]float64, len(bs))
		for i, b := range bs {
			ns[i] = b.NsPerOp
		}
		slices.SortStableFunc(bs, func(a, b Bench) int { return cmp.Compare(a.NsPerOp, b.NsPerOp) })
		m := bs[len(bs)/2]
		m.Runs = ns
		res[name] = m
	}
	return res, sc.Err()
}

// PairedRatio is the median, lowest and highest of a's time over b's run by
// run (the i-th run of each: make bench runs them back to back), when both
// ran the same number of times; ok is false otherwise.
func PairedRatio(a, b Bench) (median, lo, hi float64, ok bool) {
	if len(a.Runs) == 0 || len(a.Runs) != len(b.Runs) {
		return 0, 0, 0, false
	}
	r := make([]float64, len(a.Runs))
	for i := range r {
		if b.Runs[i] <= 0 {
			return 0, 0, 0, false
		}
		r[i] = a.Runs[i] / b.Runs[i]
	}
	slices.Sort(r)
	return r[len(r)/2], r[0], r[len(r)-1], true
}

// benchName strips "Benchmark" and the "-N" GOMAXPROCS suffix.
func benchName(s string) string {
	s = strings.TrimPrefix(s, "Benchmark")
	if i := strings.LastIndexByte(s, '-'); i > 0 {
		if _, err := strconv.Atoi(s[i+1:]); err == nil {
			s = s[:i]
		}
	}
	return s
}
