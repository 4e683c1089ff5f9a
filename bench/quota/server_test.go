package quota

import (
	"slices"
	"testing"
	"time"
)

func TestServerArrive(t *testing.T) {
	at := func(ms ...int) []time.Time {
		ts := make([]time.Time, len(ms))
		for i, m := range ms {
			ts[i] = t0.Add(time.Duration(m) * time.Millisecond)
		}
		return ts
	}
	tests := []struct {
		name     string
		limit    int
		arrivals []time.Time
		allowed  []bool
		resets   []time.Time // reset reported for each arrival
		served   []int
	}{
		{
			name:     "window opens at the first arrival, not on a grid",
			limit:    2,
			arrivals: at(700, 800, 900, 20_699, 20_700),
			allowed:  []bool{true, true, false, false, true},
			resets:   at(20_700, 20_700, 20_700, 20_700, 40_700),
			served:   []int{2, 1},
		},
		{
			name:     "refusals do not count and do not extend the window",
			limit:    1,
			arrivals: at(0, 1, 2, 3, 20_000),
			allowed:  []bool{true, false, false, false, true},
			resets:   at(20_000, 20_000, 20_000, 20_000, 40_000),
			served:   []int{1, 1},
		},
		{
			name:     "an idle gap opens the next window at the next arrival",
			limit:    10,
			arrivals: at(0, 65_000, 84_999, 85_000),
			allowed:  []bool{true, true, true, true},
			resets:   at(20_000, 85_000, 85_000, 105_000),
			served:   []int{1, 2, 1},
		},
		{
			name:     "simultaneous arrivals beyond the limit are refused",
			limit:    3,
			arrivals: at(5, 5, 5, 5, 5),
			allowed:  []bool{true, true, true, false, false},
			resets:   at(20_005, 20_005, 20_005, 20_005, 20_005),
			served:   []int{3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{Limit: tt.limit, Window: 20 * time.Second}
			refused := 0
			for i, a := range tt.arrivals {
				ok, reset := s.Arrive(a)
				if ok != tt.allowed[i] || !reset.Equal(tt.resets[i]) {
					t.Errorf("Arrive(+%v) = %v, reset +%v; want %v, reset +%v",
						a.Sub(t0), ok, reset.Sub(t0), tt.allowed[i], tt.resets[i].Sub(t0))
				}
				if !ok {
					refused++
				}
			}
			if got := s.Served(); !slices.Equal(got, tt.served) {
				t.Errorf("Served() = %v; want %v", got, tt.served)
			}
			if got := s.Refused(); got != refused {
				t.Errorf("Refused() = %d; want %d", got, refused)
			}
			if got := s.Arrivals(); got != len(tt.arrivals) {
				t.Errorf("Arrivals() = %d; want %d", got, len(tt.arrivals))
			}
		})
	}
}
