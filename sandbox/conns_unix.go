//go:build unix

package sandbox

import "syscall"

// DefaultMaxConns is the connection cap Serve uses by default: the
// RLIMIT_NOFILE soft limit less headroom for the process's other files
// (an eighth, at least 64; half of a limit below 128).
func DefaultMaxConns() int {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur == 0 {
		return fallbackMaxConns
	}
	return maxConnsFor(r.Cur)
}
