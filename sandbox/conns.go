package sandbox

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// connLimiter is a net.Listener that keeps at most limit connections open, so
// a few clients holding keep-alive connections cannot exhaust the process's
// descriptors (accept4: too many open files) and starve everyone else. Like
// x/net/netutil's LimitListener, but a connection accepted at the cap first
// makes room by closing the longest-idle keep-alive connection (HTTP lets a
// server close an idle connection at any time; clients retry), and only when
// every connection is busy waits for one to end. At most limit+1 descriptors
// are used: the one waiting for a slot.
type connLimiter struct {
	net.Listener
	slots chan struct{} // one element per open connection
	done  chan struct{} // closed by Close
	once  sync.Once

	mu   sync.Mutex
	idle map[*limitedConn]idleSince // connections that could be closed to make room
}

type idleSince struct {
	at    time.Time
	fresh bool // http.StateNew: connected, nothing read yet
}

// freshGrace is how long a connection that has sent nothing is left alone
// before it may be closed to make room (its request may be on the way).
const freshGrace = time.Second

// waitPoll is how often a connection waiting for a slot looks again for one
// to close (a fresh connection may have outlived freshGrace).
const waitPoll = 100 * time.Millisecond

func newConnLimiter(ln net.Listener, limit int) *connLimiter {
	return &connLimiter{
		Listener: ln,
		slots:    make(chan struct{}, limit),
		done:     make(chan struct{}),
		idle:     make(map[*limitedConn]idleSince),
	}
}

// Accept accepts a connection, then waits for a slot: free, made by closing
// an idle connection, or freed when a connection ends.
func (l *connLimiter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	for {
		select {
		case l.slots <- struct{}{}:
			return &limitedConn{Conn: c, l: l}, nil
		default:
		}
		if l.closeIdle() {
			continue // its Close freed a slot
		}
		// Every connection is busy: wait for one to end, looking again now
		// and then for one that has become idle.
		t := time.NewTimer(waitPoll)
		select {
		case l.slots <- struct{}{}:
			t.Stop()
			return &limitedConn{Conn: c, l: l}, nil
		case <-l.done:
			t.Stop()
			c.Close()
			return nil, net.ErrClosed
		case <-t.C:
		}
	}
}

// closeIdle closes the longest-idle connection: one between requests, else
// one that has sent nothing for freshGrace. It reports whether it closed one.
func (l *connLimiter) closeIdle() bool {
	now := time.Now()
	l.mu.Lock()
	var victim *limitedConn
	var best idleSince
	for c, s := range l.idle {
		if s.fresh && now.Sub(s.at) < freshGrace {
			continue
		}
		better := victim == nil || (best.fresh && !s.fresh) || (best.fresh == s.fresh && s.at.Before(best.at))
		if better {
			victim, best = c, s
		}
	}
	if victim != nil {
		delete(l.idle, victim)
	}
	l.mu.Unlock()
	if victim == nil {
		return false
	}
	victim.Close() // frees its slot
	return true
}

// track is the http.Server's ConnState hook: it keeps the set of
// connections that may be closed to make room.
func (l *connLimiter) track(c net.Conn, state http.ConnState) {
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch state {
	case http.StateNew, http.StateIdle:
		if !lc.isClosed() {
			l.idle[lc] = idleSince{at: time.Now(), fresh: state == http.StateNew}
		}
	default:
		delete(l.idle, lc)
	}
}

func (l *connLimiter) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitedConn gives its slot back when closed.
type limitedConn struct {
	net.Conn
	l      *connLimiter
	mu     sync.Mutex
	closed bool
}

func (c *limitedConn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func (c *limitedConn) Close() error {
	c.mu.Lock()
	first := !c.closed
	c.closed = true
	c.mu.Unlock()
	err := c.Conn.Close()
	if first {
		c.l.mu.Lock()
		delete(c.l.idle, c)
		c.l.mu.Unlock()
		<-c.l.slots
	}
	return err
}

// fallbackMaxConns is the cap where the descriptor limit is unknown.
const fallbackMaxConns = 1024

// maxConnsFor sizes the cap from a descriptor limit: an eighth of it, at
// least 64, is left for the listener, logs and the like; half of a limit
// below 128.
func maxConnsFor(nofile uint64) int {
	const most = 1 << 20 // RLIM_INFINITY and other huge limits
	if nofile < 128 {
		return max(int(nofile/2), 1)
	}
	return int(min(nofile-max(nofile/8, 64), most))
}

// CloseWrite half-closes a TCP connection: net/http does so after an error
// answer, so the client reads the answer before the connection goes.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
