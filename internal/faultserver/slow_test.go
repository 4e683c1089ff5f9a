package faultserver

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// big answers every request with 256 KiB, so unread responses fill the
// socket buffers quickly.
var big = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	io.WriteString(w, strings.Repeat("x", 256<<10))
})

func serve(t *testing.T, srv *http.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// waitCut polls until n connections are cut; the bound only keeps a broken
// server from hanging the test.
func waitCut(s *SlowClients, n int) bool {
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if s.Cut() >= n {
			return true
		}
	}
	return false
}

func TestSlowClientsAreCutByTimeouts(t *testing.T) {
	for _, mode := range []SlowMode{SlowHeaders, SlowBody, NoRead} {
		t.Run(mode.String(), func(t *testing.T) {
			addr := serve(t, &http.Server{Handler: big, ReadHeaderTimeout: 200 * time.Millisecond,
				ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond})
			s, err := StartSlowClients(addr, "/partner/gold/rate", 5, mode, 50*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if !waitCut(s, 5) {
				t.Errorf("%v: server cut %d of 5 connections; want all", mode, s.Cut())
			}
		})
	}
}

// TestSlowClientsHoldAServerWithoutTimeouts is the control: the same clients
// against a server with no timeouts are not cut, so the test above measures
// the timeouts and not the tool.
func TestSlowClientsHoldAServerWithoutTimeouts(t *testing.T) {
	for _, mode := range []SlowMode{SlowHeaders, SlowBody} {
		t.Run(mode.String(), func(t *testing.T) {
			addr := serve(t, &http.Server{Handler: big})
			s, err := StartSlowClients(addr, "/partner/gold/rate", 3, mode, 20*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(500 * time.Millisecond)
			if n := s.Cut(); n != 0 {
				t.Errorf("%v: a server without timeouts cut %d connections; want 0", mode, n)
			}
			s.Close()
		})
	}
}
