// Package loopback tells whether a host is this machine, the one place
// plain http may carry a partner's secret without an explicit opt-in.
package loopback

import (
	"net"
	"strings"
)

// Host reports whether host (a URL's Hostname) is this machine:
// "localhost" or an address in 127.0.0.0/8 or ::1.
func Host(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
