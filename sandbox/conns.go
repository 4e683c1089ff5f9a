package sandbox

import (
	"errors"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
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

	mu    sync.Mutex
	conns map[*limitedConn]struct{} // open connections, each marking when it went idle

	idleSeq atomic.Int64 // counts connections going idle: the order closeIdle needs, without a clock reading per request

	grain time.Duration // deadlines are rounded up to this (see limitedConn.setDeadline); 0 keeps them exact

	writeTimeout time.Duration // the http.Server's: what a request's write deadline is ahead of its header's reading (see headerRead)
}

// freshGrace is how long a connection that has sent nothing is left alone
// before it may be closed to make room (its request may be on the way).
const freshGrace = time.Second

// waitPoll is how often a connection waiting for a slot looks again for one
// to close (a fresh connection may have outlived freshGrace).
const waitPoll = 100 * time.Millisecond

// maxDeadlineGrain bounds the rounding of deadlines: timeouts fire up to
// this much late.
const maxDeadlineGrain = 250 * time.Millisecond

// deadlineGrain is the rounding for the shortest of timeouts: a
// twentieth of it, at most maxDeadlineGrain (5 s timeouts fire within 5.25 s).
func deadlineGrain(timeouts ...time.Duration) time.Duration {
	g := maxDeadlineGrain
	for _, t := range timeouts {
		if t > 0 {
			g = min(g, t/20)
		}
	}
	return g
}

func newConnLimiter(ln net.Listener, limit int) *connLimiter {
	return &connLimiter{
		Listener: ln,
		slots:    make(chan struct{}, limit),
		done:     make(chan struct{}),
		conns:    make(map[*limitedConn]struct{}),
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
			return l.open(c), nil
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
			return l.open(c), nil
		case <-l.done:
			t.Stop()
			c.Close()
			return nil, net.ErrClosed
		case <-t.C:
		}
	}
}

// open wraps a connection given a slot and adds it to the set.
func (l *connLimiter) open(c net.Conn) *limitedConn {
	now := time.Now().UnixNano()
	lc := &limitedConn{Conn: c, l: l, grain: int64(l.grain), opened: now, writeTimeout: l.writeTimeout}
	lc.idleAt.Store(now) // fresh until http.StateNew says so again
	lc.fresh.Store(true)
	l.mu.Lock()
	l.conns[lc] = struct{}{}
	l.mu.Unlock()
	return lc
}

// closeIdle closes the longest-idle connection: one between requests, else
// one that has sent nothing for freshGrace. It reports whether it closed one.
func (l *connLimiter) closeIdle() bool {
	now := time.Now().UnixNano()
	l.mu.Lock()
	var victim *limitedConn
	var bestAt int64
	var bestFresh bool
	for c := range l.conns {
		at, fresh := c.idleAt.Load(), c.fresh.Load()
		if at == 0 || (fresh && time.Duration(now-at) < freshGrace) {
			continue // busy, or its request may be on the way
		}
		better := victim == nil || (bestFresh && !fresh) || (bestFresh == fresh && at < bestAt)
		if better {
			victim, bestAt, bestFresh = c, at, fresh
		}
	}
	l.mu.Unlock()
	if victim == nil {
		return false
	}
	if !victim.idleAt.CompareAndSwap(bestAt, 0) {
		return true // it became busy (or idle anew) meanwhile: look again
	}
	victim.Close() // frees its slot
	return true
}

// track is the http.Server's ConnState hook: each connection marks when it
// went idle (or connected), which closeIdle reads. It runs twice per
// request, so it touches only the connection's own atomics and one counter:
// the set of connections changes on open and close only. A new connection
// marks the time (closeIdle leaves it alone for freshGrace); an idle one
// only its place in the order connections went idle, which is all closeIdle
// compares them by: a clock reading per request was about a hundredth of
// the sandbox's CPU on this machine's clock.
func (l *connLimiter) track(c net.Conn, state http.ConnState) {
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	switch state {
	case http.StateNew:
		lc.fresh.Store(true)
		lc.idleAt.Store(time.Now().UnixNano())
	case http.StateIdle:
		lc.fresh.Store(false)
		lc.idleAt.Store(l.idleSeq.Add(1))
	default:
		lc.idleAt.Store(0)
	}
}

func (l *connLimiter) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitedConn gives its slot back when closed, and rounds its deadlines.
type limitedConn struct {
	net.Conn
	l      *connLimiter
	mu     sync.Mutex
	closed bool

	idleAt atomic.Int64 // fresh: unix nanoseconds it connected; idle: its place in connLimiter.idleSeq; 0 while busy
	fresh  atomic.Bool  // connected, nothing read yet (http.StateNew)
	opened int64        // unix nanoseconds it was accepted: an armed deadline before it has passed

	grain           int64      // nanoseconds; 0 keeps deadlines exact
	dlMu            sync.Mutex // orders deadline updates with what they record
	readDL, writeDL deadline

	writeTimeout time.Duration // connLimiter.writeTimeout
	hdrAt        time.Time     // the clock reading of the last write deadline, less writeTimeout, until taken (under dlMu)

	// reads counts the Reads in flight, plus readPast while a read
	// deadline that passed before the connection opened is asked for and
	// not set on the connection (see setDeadline); a Read then fails at
	// once, as the connection's would.
	reads atomic.Int32
}

// readPast marks limitedConn.reads: a past read deadline holds.
const readPast = 1 << 30

// errReadPast is the error of a Read under a past read deadline that was
// not set on the connection: a timeout (net.Error) that is
// os.ErrDeadlineExceeded, as the connection's read would fail.
var errReadPast error = &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}

// deadline is one direction's deadline: the one asked for and the one set
// on the connection (rounded unix nanoseconds; 0 for none).
type deadline struct{ want, armed int64 }

// SetReadDeadline, SetWriteDeadline and SetDeadline round t up to the grain
// and set it on the connection only when it is earlier than the one set
// there: a later one (or none) waits until the earlier one fires, and Read
// or Write then sets the one asked for and carries on. net/http sets the
// read deadline five or six times and the write deadline twice per
// keep-alive request (header, whole request, background read, its abort,
// idle, none), each a runtime timer update and a clock reading, about a
// tenth of a served gold-rate request's CPU; most of them move the deadline
// later. Timeouts fire up to the grain late, never early.
//
// A read deadline that passed before the connection opened (net/http's
// "a long time ago", which ends its background read once a handler is
// done) is set on the connection only while a Read is in flight: with
// none, it is kept here and the next Read fails at once, and the
// deadline that follows it (net/http's "none") takes it away again,
// with no runtime timer touched and no clock read. In a served GET the
// background read has mostly not begun its Read by then (its goroutine
// waits behind the handler's), so net/http's two deadline updates per
// request, and the re-arming of the idle deadline after them, cost
// nothing.
func (c *limitedConn) SetReadDeadline(t time.Time) error {
	return c.setDeadline(t, &c.readDL, c.Conn.SetReadDeadline)
}

func (c *limitedConn) SetWriteDeadline(t time.Time) error {
	return c.setDeadline(t, &c.writeDL, c.Conn.SetWriteDeadline)
}

// headerRead returns when net/http finished reading the header of the
// request being served on c, taken from the write deadline it sets then
// (time.Now() plus WriteTimeout, "reset whenever a new request's header is
// read"), once: a later call returns false until the next write deadline.
// The request needs no clock reading of its own for its start; a clock
// reading was 140-300 ns on this machine's VM. False without a
// WriteTimeout, or when no write deadline was set since the last call
// (then the caller reads the clock).
func (c *limitedConn) headerRead() (time.Time, bool) {
	c.dlMu.Lock()
	t := c.hdrAt
	c.hdrAt = time.Time{}
	c.dlMu.Unlock()
	return t, !t.IsZero()
}

func (c *limitedConn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}

func (c *limitedConn) setDeadline(t time.Time, d *deadline, set func(time.Time) error) error {
	if c.grain <= 0 {
		return set(t)
	}
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
		if r := ns % c.grain; r > 0 {
			ns += c.grain - r
		} else if r < 0 { // before 1970: toward zero is up
			ns -= r
		}
		if ns == 0 {
			ns = 1 // 0 means none
		}
	}
	c.dlMu.Lock()
	defer c.dlMu.Unlock()
	if d == &c.writeDL && c.writeTimeout > 0 && !t.IsZero() {
		c.hdrAt = t.Add(-c.writeTimeout)
	}
	if d == &c.readDL {
		if ns != 0 && ns < c.opened && c.holdPast() {
			d.want = ns
			return nil
		}
		c.reads.And(^int32(readPast)) // any other deadline takes a held one away
	}
	d.want = ns
	if ns != 0 && (d.armed == 0 || ns < d.armed) {
		return d.arm(ns, set)
	}
	if ns == 0 && d.armed != 0 && d.armed < c.opened {
		// The armed deadline passed before the connection opened (net/http
		// aborts a background read with one "a long time ago", then asks
		// for none): nothing is left to wait for, and none is set without a
		// clock reading, where waiting would cost the next read a timeout
		// and two.
		return d.arm(0, set)
	}
	return nil
}

func (d *deadline) arm(ns int64, set func(time.Time) error) error {
	t := time.Time{}
	if ns != 0 {
		t = time.Unix(0, ns)
	}
	err := set(t)
	if err == nil {
		d.armed = ns
	}
	return err
}

// holdPast marks a past read deadline as held, unless a Read is in
// flight (its Read must be cut by the connection's deadline: false).
func (c *limitedConn) holdPast() bool {
	for {
		n := c.reads.Load()
		if n&^readPast != 0 {
			return false
		}
		if n&readPast != 0 || c.reads.CompareAndSwap(n, n|readPast) {
			return true
		}
	}
}

// early reports whether err is a timeout of a deadline set earlier than the
// one now asked for; then it sets that one, and the I/O goes on.
func (c *limitedConn) early(err error, d *deadline, set func(time.Time) error) bool {
	if c.grain <= 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	c.dlMu.Lock()
	defer c.dlMu.Unlock()
	if d.want == d.armed || (d.want != 0 && d.want <= time.Now().UnixNano()) {
		return false // the deadline asked for has passed
	}
	return d.arm(d.want, set) == nil
}

func (c *limitedConn) Read(b []byte) (int, error) {
	for {
		n := c.reads.Load()
		if n&readPast != 0 {
			return 0, errReadPast
		}
		if c.reads.CompareAndSwap(n, n+1) {
			break
		}
	}
	defer c.reads.Add(-1)
	for {
		n, err := c.Conn.Read(b)
		if n > 0 || err == nil || !c.early(err, &c.readDL, c.Conn.SetReadDeadline) {
			return n, err
		}
	}
}

func (c *limitedConn) Write(b []byte) (int, error) {
	written := 0
	for {
		n, err := c.Conn.Write(b[written:])
		written += n
		if err == nil || !c.early(err, &c.writeDL, c.Conn.SetWriteDeadline) {
			return written, err
		}
	}
}

func (c *limitedConn) Close() error {
	c.mu.Lock()
	first := !c.closed
	c.closed = true
	c.mu.Unlock()
	err := c.Conn.Close()
	if first {
		c.idleAt.Store(0)
		c.l.mu.Lock()
		delete(c.l.conns, c)
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
