package sandbox

import (
	"net"
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
	c := &limitedConn{Conn: inner, grain: int64(250 * time.Millisecond)}
	for _, d := range []time.Time{
		base.Add(5*time.Second + 10*time.Millisecond),  // set: 1005.25
		base.Add(5*time.Second + 200*time.Millisecond), // same bucket: skipped
		base.Add(10 * time.Second),                     // set: 1010 exactly
		{},                                             // set: none
		{},                                             // skipped
		time.Unix(1, 0),                                // set: net/http's "a long time ago"
	} {
		c.SetReadDeadline(d)
	}
	want := []time.Time{time.Unix(1005, 250e6), time.Unix(1010, 0), {}, time.Unix(1, 0)}
	if len(inner.read) != len(want) {
		t.Fatalf("read deadlines set %v; want %v", inner.read, want)
	}
	for i := range want {
		if !inner.read[i].Equal(want[i]) {
			t.Errorf("read deadline %d = %v; want %v (never earlier than asked)", i, inner.read[i], want[i])
		}
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
