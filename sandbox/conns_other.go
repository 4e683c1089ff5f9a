//go:build !unix

package sandbox

// DefaultMaxConns is the connection cap Serve uses by default; without
// RLIMIT_NOFILE it is a fixed number.
func DefaultMaxConns() int { return fallbackMaxConns }
