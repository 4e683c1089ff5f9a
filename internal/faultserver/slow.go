package faultserver

import (
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SlowMode is how a slow client misbehaves.
type SlowMode int

const (
	// SlowHeaders sends a request's header one byte at a time, never ending
	// it (slowloris).
	SlowHeaders SlowMode = iota
	// SlowBody sends complete headers announcing a body, then trickles the
	// body one byte at a time.
	SlowBody
	// NoRead sends complete requests, a thousand at a time, until the
	// server cuts it, and never reads a response.
	NoRead
)

func (m SlowMode) String() string {
	switch m {
	case SlowHeaders:
		return "slow headers"
	case SlowBody:
		return "slow body"
	case NoRead:
		return "no read"
	}
	return fmt.Sprintf("SlowMode(%d)", int(m))
}

// SlowClients holds connections to a server open the way an attacker would,
// and counts how many the server has cut. Its methods are safe for
// concurrent use.
type SlowClients struct {
	cut    atomic.Int64
	stop   chan struct{}
	wg     sync.WaitGroup
	closed sync.Once
	conns  []net.Conn
}

// StartSlowClients opens n connections to addr (host:port) and has each
// misbehave per mode, sending one byte every interval, until the server closes
// it or Close is called. path is the request target (e.g. "/partner/gold/rate").
func StartSlowClients(addr, path string, n int, mode SlowMode, every time.Duration) (*SlowClients, error) {
	s := &SlowClients{stop: make(chan struct{})}
	for range n {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			s.Close()
			return nil, err
		}
		if tc, ok := conn.(*net.TCPConn); ok && mode == NoRead {
			_ = tc.SetReadBuffer(4 << 10) // a small window: the server blocks sooner
		}
		s.conns = append(s.conns, conn)
		s.wg.Go(func() { s.run(conn, path, mode, every) })
	}
	return s, nil
}

// Cut returns how many connections the server has closed so far.
func (s *SlowClients) Cut() int { return int(s.cut.Load()) }

// Close stops the clients and closes their connections, then waits for them.
func (s *SlowClients) Close() {
	s.closed.Do(func() {
		close(s.stop)
		for _, c := range s.conns {
			c.Close() // unblocks a write the server stopped reading
		}
	})
	s.wg.Wait()
}

func (s *SlowClients) run(conn net.Conn, path string, mode SlowMode, every time.Duration) {
	defer conn.Close()
	// The server cutting us shows up as a read returning (EOF, reset or a
	// response such as 408), or as a failed write.
	gone := make(chan struct{})
	go func() {
		defer close(gone)
		if mode == NoRead {
			<-s.stop // reading is exactly what this client does not do;
			return   // a cut shows as a failed write instead
		}
		buf := make([]byte, 512)
		for {
			if _, err := conn.Read(buf); err != nil {
				return
			}
		}
	}()

	var trickle string
	switch mode {
	case SlowHeaders:
		trickle = "GET " + path + " HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("a", 1<<20)
	case SlowBody:
		if _, err := io.WriteString(conn, "POST "+path+" HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1048576\r\n\r\n"); err != nil {
			s.cut.Add(1)
			return
		}
		trickle = strings.Repeat("a", 1<<20)
	case NoRead:
		// Pipelined requests, sent over and over; the responses pile up
		// unread. (A finite supply could fit whole into the server's receive
		// buffer, which loopback autotunes up to tens of megabytes, and the
		// cut that follows would go unseen.)
		trickle = strings.Repeat("GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n", 1024)
	}

	tick := time.NewTicker(every)
	defer tick.Stop()
	step := 1
	if mode == NoRead {
		// All 1024 requests per step, so the unread answers fill the socket
		// buffers within seconds and the server has to block.
		step = len(trickle)
	}
	for i := 0; ; i += step {
		if i >= len(trickle) {
			if mode != NoRead {
				break
			}
			i = 0
		}
		if _, err := io.WriteString(conn, trickle[i:min(i+step, len(trickle))]); err != nil {
			select {
			case <-s.stop: // we closed it
			default:
				s.cut.Add(1)
			}
			return
		}
		select {
		case <-gone:
			s.cut.Add(1)
			return
		case <-s.stop:
			return
		case <-tick.C:
		}
	}
	select {
	case <-gone:
		s.cut.Add(1)
	case <-s.stop:
	}
}
