package sandbox_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/milligold/milligold-go/sandbox"
)

// keepAlive opens a connection, makes one request on it and leaves it open
// and idle, as a keep-alive client does; it fails the test when no answer
// comes within 3 s.
func keepAlive(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.WriteString(c, "GET /partner/gold/rate HTTP/1.1\r\nHost: sandbox\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("a keep-alive request got no answer: %v", err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	c.SetDeadline(time.Time{})
	return c
}

// serveWith runs sandbox.Serve with h on a loopback listener until the test
// ends, and returns its address.
func serveWith(t *testing.T, h http.Handler, o sandbox.ServeOptions) string {
	t.Helper()
	ln := listen(t)
	serveOn(t, ln, h, o)
	return ln.Addr().String()
}

// serveOn runs sandbox.Serve on ln until the test ends; Serve must then
// return nil.
func serveOn(t *testing.T, ln net.Listener, h http.Handler, o sandbox.ServeOptions) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- sandbox.Serve(ctx, ln, h, o) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve = %v; want nil", err)
		}
	})
}

// TestServeMakesRoomFromIdleConnections (issue 11, item 9): with the cap
// taken by idle keep-alive connections, and an idle timeout far longer than
// the test, other clients are answered at once: the longest-idle
// connections are closed to make room.
func TestServeMakesRoomFromIdleConnections(t *testing.T) {
	const limit = 4
	addr := serveWith(t, slowHandler(t, nil, nil), sandbox.ServeOptions{MaxConns: limit, IdleTimeout: time.Minute})
	held := make([]net.Conn, limit)
	for i := range held {
		held[i] = keepAlive(t, addr)
	}
	c := &http.Client{Timeout: 3 * time.Second}
	for i := range 3 {
		res, err := c.Get(fmt.Sprintf("http://%s/partner/gold/rate", addr))
		if err != nil {
			t.Fatalf("request %d with %d idle connections held: %v", i+1, limit, err)
		}
		res.Body.Close()
		if res.StatusCode != 401 {
			t.Errorf("request %d = %d; want 401", i+1, res.StatusCode)
		}
		c.CloseIdleConnections() // the next request needs a new connection too
	}
	// Held connections were closed to make room. (Which ones depends on when
	// the server marked each idle, which a loaded machine delays.)
	closed := 0
	for _, c := range held {
		c.SetReadDeadline(time.Now().Add(time.Second))
		if _, err := c.Read(make([]byte, 1)); err == io.EOF {
			closed++
		}
	}
	if closed == 0 {
		t.Errorf("no held idle connection was closed; want the longest-idle ones closed to make room")
	}
}

// TestServeWaitsWhenEveryConnectionIsBusy: at the cap with every connection
// in a request, a new client waits (no error, no reset) and is answered
// once a request finishes.
func TestServeWaitsWhenEveryConnectionIsBusy(t *testing.T) {
	const limit = 2
	started, release := make(chan struct{}, limit), make(chan struct{})
	addr := serveWith(t, slowHandler(t, started, release), sandbox.ServeOptions{MaxConns: limit})
	done := make(chan error, limit)
	for range limit {
		go func() {
			res, err := http.Get("http://" + addr + "/slow")
			if err == nil {
				res.Body.Close()
			}
			done <- err
		}()
	}
	for range limit {
		<-started
	}
	got := make(chan error, 1)
	go func() {
		res, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + addr + "/partner/gold/rate")
		if err == nil {
			res.Body.Close()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("a request beyond the cap, every connection busy, ended (%v) before any slot was free", err)
	case <-time.After(300 * time.Millisecond):
	}
	close(release)
	if err := <-got; err != nil {
		t.Errorf("the waiting request = %v; want an answer once a slot freed", err)
	}
	for range limit {
		if err := <-done; err != nil {
			t.Errorf("a busy request = %v", err)
		}
	}
}
