package sandbox

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"testing"
	"time"
)

func TestMaxConnsFor(t *testing.T) {
	for _, c := range []struct {
		nofile uint64
		want   int
	}{
		{1, 1},
		{2, 1},
		{64, 32},
		{127, 63},
		{128, 64},
		{256, 192},
		{1024, 896},
		{1 << 20, 1<<20 - 1<<17},
		{1 << 62, 1 << 20},
	} {
		if got := maxConnsFor(c.nofile); got != c.want {
			t.Errorf("maxConnsFor(%d) = %d; want %d", c.nofile, got, c.want)
		}
	}
}

// deadlineConn records the deadlines set on it.
type deadlineConn struct {
	net.Conn
	read, write []time.Time
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error  { c.read = append(c.read, t); return nil }
func (c *deadlineConn) SetWriteDeadline(t time.Time) error { c.write = append(c.write, t); return nil }

func TestDeadlinesRounded(t *testing.T) {
	if g := deadlineGrain(5*time.Second, 10*time.Second, 0); g != 250*time.Millisecond {
		t.Errorf("deadlineGrain(5s, 10s, 0) = %v; want 250ms", g)
	}
	if g := deadlineGrain(200 * time.Millisecond); g != 10*time.Millisecond {
		t.Errorf("deadlineGrain(200ms) = %v; want 10ms", g)
	}
	base := time.Unix(1000, 0)
	inner := &deadlineConn{}
	c := &limitedConn{Conn: inner, grain: int64(250 * time.Millisecond), opened: base.UnixNano()}
	for _, d := range []time.Time{
		base.Add(5*time.Second + 10*time.Millisecond),  // set: 1005.25
		base.Add(5*time.Second + 200*time.Millisecond), // same bucket: skipped
		base.Add(10 * time.Second),                     // later: waits for 1005.25 to fire
		{},                                             // none: waits too
		base.Add(2 * time.Second),                      // earlier: set, 1002
	} {
		c.SetReadDeadline(d)
	}
	// net/http's "a long time ago" with no Read in flight: held, not set;
	// a Read fails at once, as the connection's would.
	c.SetReadDeadline(time.Unix(1, 0))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read under a held past deadline: %v; want a timeout", err)
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Errorf("read under a held past deadline: %v; want a net.Error timeout (net/http's background read ignores only that)", err)
	}
	for _, d := range []time.Time{
		{},                    // none: takes the held one away, nothing to set
		base.Add(time.Second), // earlier than 1002: set
		{},                    // none: waits for 1001 to fire
	} {
		c.SetReadDeadline(d)
	}
	want := []time.Time{time.Unix(1005, 250e6), time.Unix(1002, 0), time.Unix(1001, 0)}
	if len(inner.read) != len(want) {
		t.Fatalf("read deadlines set %v; want %v", inner.read, want)
	}
	for i := range want {
		if !inner.read[i].Equal(want[i]) {
			t.Errorf("read deadline %d = %v; want %v (never earlier than asked)", i, inner.read[i], want[i])
		}
	}
	if c.readDL.want != 0 || c.readDL.armed != time.Unix(1001, 0).UnixNano() || c.reads.Load() != 0 {
		t.Errorf("read deadline asked %d, set %d, reads %#x; want none asked, 1001 set, none held", c.readDL.want, c.readDL.armed, c.reads.Load())
	}
	// With a Read in flight, the past deadline is set on the connection.
	c.reads.Add(1)
	c.SetReadDeadline(time.Unix(1, 0))
	c.SetReadDeadline(time.Time{})
	c.reads.Add(-1)
	if got := inner.read[len(want):]; len(got) != 2 || !got[0].Equal(time.Unix(1, 0)) || !got[1].IsZero() {
		t.Errorf("past deadline and none with a Read in flight: set %v; want both", got)
	}
	c.SetWriteDeadline(base)
	c.SetWriteDeadline(base)
	if len(inner.write) != 1 {
		t.Errorf("write deadlines set %v; want one", inner.write)
	}
	exact := &deadlineConn{}
	c = &limitedConn{Conn: exact}
	c.SetReadDeadline(base)
	c.SetReadDeadline(base)
	if len(exact.read) != 2 {
		t.Errorf("without a grain: %d deadlines set; want both", len(exact.read))
	}
}

// TestDeadlinesNeverEarly: on a real connection, a deadline moved later
// (or taken away) does not cut a read or a write at the earlier one still
// set on the connection; one moved earlier does; the last one asked for
// always holds. Margins are wide: the grain is 10 ms, the waits 100s of ms.
func TestDeadlinesNeverEarly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peerc := make(chan net.Conn, 1)
	go func() {
		p, err := ln.Accept()
		if err != nil {
			close(peerc)
			return
		}
		peerc <- p
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer := <-peerc
	if peer == nil {
		t.Fatal("accept failed")
	}
	defer peer.Close()
	c := &limitedConn{Conn: raw, grain: int64(10 * time.Millisecond), opened: time.Now().UnixNano()}
	defer raw.Close() // not c.Close: c belongs to no limiter here

	// Later: the read waits for data sent after the first deadline.
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	go func() { time.Sleep(300 * time.Millisecond); peer.Write([]byte("a")) }()
	buf := make([]byte, 1)
	if n, err := c.Read(buf); n != 1 || err != nil {
		t.Fatalf("read after the deadline moved later = %d, %v; want the byte sent at 300 ms", n, err)
	}

	// None: the same, with no deadline at all.
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	c.SetReadDeadline(time.Time{})
	go func() { time.Sleep(300 * time.Millisecond); peer.Write([]byte("b")) }()
	if n, err := c.Read(buf); n != 1 || err != nil {
		t.Fatalf("read after the deadline was taken away = %d, %v; want the byte sent at 300 ms", n, err)
	}

	// Earlier, and the last asked for: the read is cut, not long after.
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	n, err := c.Read(buf)
	if !errors.Is(err, os.ErrDeadlineExceeded) || n != 0 {
		t.Fatalf("read past the deadline = %d, %v; want a timeout", n, err)
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 3*time.Second {
		t.Errorf("read cut after %v; want at the 100 ms deadline (never before)", d)
	}

	// A past deadline: at once; then a later one lets reads go on.
	c.SetReadDeadline(time.Unix(1, 0))
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read with a past deadline: %v; want a timeout", err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	peer.Write([]byte("c"))
	if n, err := c.Read(buf); n != 1 || err != nil || buf[0] != 'c' {
		t.Fatalf("read after a later deadline = %d, %v; want the byte", n, err)
	}

	// A past deadline while a Read waits (net/http's abort of a
	// background read that has begun): the Read is cut at once.
	cut := make(chan error, 1)
	go func() { _, err := c.Read(buf); cut <- err }()
	for c.reads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // into the connection's read
	c.SetReadDeadline(time.Unix(1, 0))
	select {
	case err := <-cut:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read in flight, cut by a past deadline: %v; want a timeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a read in flight was not cut by a past deadline")
	}

	// A past deadline, then none (net/http's abort of a background read):
	// the next read waits for its data.
	c.SetReadDeadline(time.Unix(1, 0))
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read with a past deadline: %v; want a timeout", err)
	}
	c.SetReadDeadline(time.Time{})
	go func() { time.Sleep(300 * time.Millisecond); peer.Write([]byte("d")) }()
	if n, err := c.Read(buf); n != 1 || err != nil || buf[0] != 'd' {
		t.Fatalf("read after the past deadline was taken away = %d, %v; want the byte sent at 300 ms", n, err)
	}

	// Writes: a deadline moved later does not cut a write blocked on a full
	// buffer at the earlier one; every byte arrives.
	c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	payload := make([]byte, 16<<20) // more than the socket buffers hold
	got := make(chan int, 1)
	go func() {
		time.Sleep(300 * time.Millisecond) // the peer starts reading late
		n, _ := io.Copy(io.Discard, io.LimitReader(peer, int64(len(payload))))
		got <- int(n)
	}()
	if n, err := c.Write(payload); n != len(payload) || err != nil {
		t.Fatalf("write after the deadline moved later = %d, %v; want all %d bytes", n, err, len(payload))
	}
	if n := <-got; n != len(payload) {
		t.Fatalf("peer read %d bytes; want %d", n, len(payload))
	}
}

// TestCloseIdleTakesTheLongestIdle: connections that went idle are closed
// in the order they went idle (their place in idleSeq, no clock), and a new
// one that has sent nothing is left alone for freshGrace.
func TestCloseIdleTakesTheLongestIdle(t *testing.T) {
	l := newConnLimiter(nil, 4)
	open := func() *limitedConn {
		a, b := net.Pipe()
		t.Cleanup(func() { a.Close(); b.Close() })
		l.slots <- struct{}{}
		c := l.open(a)
		l.track(c, http.StateNew)
		return c
	}
	first, second, third, fresh := open(), open(), open(), open()
	for _, c := range []*limitedConn{first, second, third} {
		l.track(c, http.StateActive)
	}
	for _, c := range []*limitedConn{second, first, third} { // the order they go idle
		l.track(c, http.StateIdle)
	}
	closed := func(c *limitedConn) bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.closed
	}
	order := []*limitedConn{second, first, third}
	for i := range order {
		if !l.closeIdle() {
			t.Fatalf("closeIdle %d: closed nothing; want the longest-idle connection", i+1)
		}
		for j, c := range order {
			if got, want := closed(c), j <= i; got != want {
				t.Errorf("after closeIdle %d: connection that went idle %d. closed = %v; want %v", i+1, j+1, got, want)
			}
		}
	}
	if l.closeIdle() || closed(fresh) {
		t.Error("closeIdle closed a connection that connected within freshGrace and sent nothing")
	}
}
