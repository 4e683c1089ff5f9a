package ratelimit

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ParseReset turns an X-Rate-Limit-Reset value into how long to wait from now.
// It accepts unix seconds, unix milliseconds (13 digits and more), RFC 3339
// and HTTP dates; an integer below 1e9 (before 2001 as a date) is read as
// seconds from now, as some servers send. An absent or garbled value means
// window; a reset in the past means 0. The result is never negative.
func ParseReset(value string, now time.Time, window time.Duration) time.Duration {
	v := strings.TrimSpace(value)
	if v == "" {
		return window
	}
	var at time.Time
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		switch {
		case n < 0:
			return window
		case n < 1e9:
			return time.Duration(n) * time.Second
		case n < 1e12:
			at = time.Unix(n, 0)
		default:
			at = time.UnixMilli(n)
		}
	} else if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		at = t
	} else if t, err := http.ParseTime(v); err == nil {
		at = t
	} else {
		return window
	}
	return max(at.Sub(now), 0)
}
