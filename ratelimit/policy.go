// Package ratelimit holds the rate-limit algorithms: the server's per-key
// fixed window, the client's sliding-log limiter and its RoundTripper, and
// the reset-header parser. gen/middleware binds them to the spec's policy.
package ratelimit

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// The header names the API document uses; a Policy may name others.
const (
	HeaderLimit     = "X-Rate-Limit-Limit"
	HeaderRemaining = "X-Rate-Limit-Remaining"
	HeaderReset     = "X-Rate-Limit-Reset"
)

// maxRequests bounds a limit read from a spec or a header, so a garbled
// number cannot make a limiter's log grow without end.
const maxRequests = 1 << 20

// Policy is a rate limit of Requests per Window, announced in three headers.
// Empty header names mean the Header* constants. The zero Policy is invalid.
type Policy struct {
	Requests        int
	Window          time.Duration
	LimitHeader     string
	RemainingHeader string
	ResetHeader     string
}

// Validate reports whether p can be enforced.
func (p Policy) Validate() error {
	switch {
	case p.Requests < 1:
		return fmt.Errorf("ratelimit: requests %d; want at least 1", p.Requests)
	case p.Requests > maxRequests:
		return fmt.Errorf("ratelimit: requests %d; want at most %d", p.Requests, maxRequests)
	case p.Window <= 0:
		return fmt.Errorf("ratelimit: window %v; want a positive duration", p.Window)
	}
	return nil
}

func (p Policy) limitHeader() string     { return or(p.LimitHeader, HeaderLimit) }
func (p Policy) remainingHeader() string { return or(p.RemainingHeader, HeaderRemaining) }
func (p Policy) resetHeader() string     { return or(p.ResetHeader, HeaderReset) }

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// SetHeaders writes d's limit, remaining count and reset (unix seconds,
// rounded up so a client never retries before the window is over) into h.
func (p Policy) SetHeaders(h http.Header, d Decision) {
	h.Set(p.limitHeader(), strconv.Itoa(d.Limit))
	h.Set(p.remainingHeader(), strconv.Itoa(d.Remaining))
	h.Set(p.resetHeader(), strconv.FormatInt(ResetUnix(d.Reset), 10))
}

// ResetUnix is t in unix seconds, rounded up.
func ResetUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// Limit reads the limit header of a response; ok is false when it is absent,
// garbled or out of range.
func (p Policy) Limit(h http.Header) (n int, ok bool) {
	v := h.Get(p.limitHeader())
	if v == "" { // the usual case (the header comes with 429s only); Atoi("") would allocate an error
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxRequests {
		return 0, false
	}
	return n, true
}

// Remaining reads the remaining-count header of a response; ok is false
// when it is absent, garbled or out of range.
func (p Policy) Remaining(h http.Header) (n int, ok bool) {
	v := h.Get(p.remainingHeader())
	if v == "" {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > maxRequests {
		return 0, false
	}
	return n, true
}

// Reset reads the reset header of a response as a wait from now (see ParseReset).
func (p Policy) Reset(h http.Header, now time.Time) time.Duration {
	return ParseReset(h.Get(p.resetHeader()), now, p.Window)
}

// errPolicy is wrapped by constructors given an invalid policy.
var errPolicy = errors.New("ratelimit: invalid policy")
