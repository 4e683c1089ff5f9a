// Package quota simulates a client spending a rate-limited API's quota: a
// server enforcing the document's window (Requests per Window, opening at the
// first request), a network with random one-way latency, and callers that
// always want to send, all on a fake clock, so an hour runs in seconds.
// The server here is written apart from ratelimit.FixedWindow on purpose: it
// is the referee of the client limiters, not one of the players.
package quota

import "time"

// Server counts arrivals in fixed windows: a window opens at the first
// arrival after the previous one ended and lasts Window; at most Limit
// arrivals per window are served, the rest refused (refusals do not count).
// Times passed to Arrive must not go backwards. Not safe for concurrent use.
type Server struct {
	Limit  int
	Window time.Duration

	open     bool
	reset    time.Time // end of the current window
	count    int       // served in the current window
	served   []int     // served per closed or current window
	refused  int
	arrivals int
}

// Arrive decides one request arriving at t: allowed, and the end of the
// window it fell in (the 429's reset).
func (s *Server) Arrive(t time.Time) (allowed bool, reset time.Time) {
	s.arrivals++
	if !s.open || !t.Before(s.reset) {
		s.open, s.reset, s.count = true, t.Add(s.Window), 0
		s.served = append(s.served, 0)
	}
	if s.count >= s.Limit {
		s.refused++
		return false, s.reset
	}
	s.count++
	s.served[len(s.served)-1]++
	return true, s.reset
}

// Served returns the number of requests served in each window so far, oldest first.
func (s *Server) Served() []int { return append([]int(nil), s.served...) }

// Refused returns the number of refused arrivals (429s).
func (s *Server) Refused() int { return s.refused }

// Arrivals returns the number of requests that reached the server.
func (s *Server) Arrivals() int { return s.arrivals }
