package main

import (
	"fmt"
	"slices"
	"time"
)

// Series is one target's measured rounds, in round order.
type Series struct {
	Name   string
	Rounds []Load
}

// Stat is the median of a sample with its range.
type Stat struct{ Median, Min, Max float64 }

// stat summarizes xs (the median of an even count is the mean of the middle two).
func stat(xs []float64) Stat {
	if len(xs) == 0 {
		return Stat{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Stat{Median: m, Min: s[0], Max: s[len(s)-1]}
}

// Spread is the range as a share of the median: (max-min)/median.
func (s Stat) Spread() float64 {
	if s.Median == 0 {
		return 0
	}
	return (s.Max - s.Min) / s.Median
}

// each summarizes f over the rounds; rounds where f is 0 (not measured, as
// the uncorrected percentiles of a run without a histogram) are left out.
func (s *Series) each(f func(Load) float64) Stat {
	xs := make([]float64, 0, len(s.Rounds))
	for _, l := range s.Rounds {
		if x := f(l); x != 0 {
			xs = append(xs, x)
		}
	}
	return stat(xs)
}

func (s *Series) RPS() Stat { return s.each(func(l Load) float64 { return l.RPS }) }
func (s *Series) P50() Stat { return s.each(func(l Load) float64 { return float64(l.P50) }) }
func (s *Series) P99() Stat { return s.each(func(l Load) float64 { return float64(l.P99) }) }

// Measured reports whether s has at least one round.
func (s *Series) Measured() bool { return s != nil && len(s.Rounds) > 0 }

// ratio is the per-round ratio f(ours)/f(peer) over the rounds both have
// (and f measured for both), summarized: rounds pair up because they ran
// back to back, so a burst of load from elsewhere on the machine hits both
// sides of a pair alike.
func ratio(ours, peer *Series, f func(Load) float64) Stat {
	n := min(len(ours.Rounds), len(peer.Rounds))
	xs := make([]float64, 0, n)
	for i := range n {
		if o, p := f(ours.Rounds[i]), f(peer.Rounds[i]); o > 0 && p > 0 {
			xs = append(xs, o/p)
		}
	}
	return stat(xs)
}

func rpsOf(l Load) float64    { return l.RPS }
func p50Of(l Load) float64    { return float64(l.P50) }
func p99Of(l Load) float64    { return float64(l.P99) }
func rawP50Of(l Load) float64 { return float64(l.RawP50) }
func rawP99Of(l Load) float64 { return float64(l.RawP99) }
func cpuOf(l Load) float64    { return float64(l.CPUPerRequest()) }

// order is the targets' order in round r. Targets come in pairs (0 and 1,
// 2 and 3, ...; an odd last one alone), and a pair's two runs are always
// back to back, so its per-round ratio compares runs that met the same
// machine; the pairs rotate by one each round, and within a pair who goes
// first alternates.
func order(n, r int) []int {
	pairs := (n + 1) / 2
	o := make([]int, 0, n)
	for k := range pairs {
		p := (k + r) % pairs
		a, b := 2*p, 2*p+1
		if r%2 == 1 {
			a, b = b, a
		}
		for _, i := range []int{a, b} {
			if i < n {
				o = append(o, i)
			}
		}
	}
	return o
}

// durations formats a Stat of durations: median (min–max).
func (s Stat) durations() string {
	return fmt.Sprintf("%s (%s–%s)", lat(time.Duration(s.Median)), lat(time.Duration(s.Min)), lat(time.Duration(s.Max)))
}

// rates formats a Stat of req/s: median (min–max).
func (s Stat) rates() string {
	return fmt.Sprintf("%s (%s–%s)", rps(s.Median), thousands(int64(s.Min+0.5)), thousands(int64(s.Max+0.5)))
}

// percent formats a Stat of ratios as percentages: median (min–max).
func (s Stat) percent() string {
	return fmt.Sprintf("%.0f%% (%.0f–%.0f%%)", 100*s.Median, 100*s.Min, 100*s.Max)
}

// times formats a Stat of ratios as multiples: median (min–max).
func (s Stat) times(prec int) string {
	return fmt.Sprintf("%.*fx (%.*f–%.*fx)", prec, s.Median, prec, s.Min, prec, s.Max)
}
