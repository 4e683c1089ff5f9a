package sandbox_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milligold/milligold-go/sandbox"
)

// closeNotifier tells when Serve's shutdown has closed the listener.
type closeNotifier struct {
	net.Listener
	once   sync.Once
	closed chan struct{}
}

func (l *closeNotifier) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() { close(l.closed) }) // after the close, so a dial then is refused
	return err
}

func listen(t *testing.T) *closeNotifier {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &closeNotifier{Listener: ln, closed: make(chan struct{})}
}

// slowHandler serves /slow by blocking until release is closed, and
// everything else with the default sandbox.
func slowHandler(t *testing.T, started chan<- struct{}, release <-chan struct{}) http.Handler {
	sb, err := sandbox.New(sandbox.Default())
	if err != nil {
		t.Fatal(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/slow" {
			sb.ServeHTTP(w, r)
			return
		}
		started <- struct{}{}
		<-release
		io.WriteString(w, "finished")
	})
}

// TestServeFinishesInFlightRequests cancels Serve's context while a request
// is in flight: the listener closes, the request still gets its whole
// response, and only then Serve returns nil.
func TestServeFinishesInFlightRequests(t *testing.T) {
	ln := listen(t)
	started, release := make(chan struct{}), make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- sandbox.Serve(ctx, ln, slowHandler(t, started, release), sandbox.ServeOptions{}) }()

	type result struct {
		status int
		body   string
		err    error
	}
	got := make(chan result, 1)
	go func() {
		res, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			got <- result{err: err}
			return
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		got <- result{res.StatusCode, string(body), err}
	}()
	<-started
	cancel()
	<-ln.closed // shutdown has begun
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a request in flight", err)
	default:
	}
	// Asked of the listener, not by dialing its port: another test's listener
	// may take the freed port at once, and a dial would then succeed.
	ln.Listener.(*net.TCPListener).SetDeadline(time.Now().Add(time.Second)) // never a hang
	if c, err := ln.Listener.Accept(); !errors.Is(err, net.ErrClosed) {
		if c != nil {
			c.Close()
		}
		t.Errorf("the listener still accepts after shutdown began (Accept: %v)", err)
	}
	close(release)
	if r := <-got; r.err != nil || r.status != 200 || r.body != "finished" {
		t.Errorf("in-flight request = %d %q, %v; want 200 \"finished\"", r.status, r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v after a graceful shutdown; want nil", err)
	}
}

// TestServeShutdownTimeout: a request that never finishes makes Serve give up
// after ShutdownTimeout and say so.
func TestServeShutdownTimeout(t *testing.T) {
	ln := listen(t)
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- sandbox.Serve(ctx, ln, slowHandler(t, started, release), sandbox.ServeOptions{ShutdownTimeout: 50 * time.Millisecond})
	}()
	go func() {
		if res, err := http.Get("http://" + ln.Addr().String() + "/slow"); err == nil {
			res.Body.Close()
		}
	}()
	<-started
	cancel()
	if err := <-served; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Serve = %v with a stuck request; want context.DeadlineExceeded", err)
	}
}

// TestServeCutsSlowHeaders: a client that never finishes its headers is
// disconnected after ReadHeaderTimeout, while a normal request on another
// connection is answered.
func TestServeCutsSlowHeaders(t *testing.T) {
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- sandbox.Serve(ctx, ln, slowHandler(t, nil, nil), sandbox.ServeOptions{ReadHeaderTimeout: 500 * time.Millisecond})
	}()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve = %v; want nil", err)
		}
	}()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /partner/gold/rate HTTP/1.1\r\nHost: sandbox\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	// Far longer than ReadHeaderTimeout and shorter than the 5 s default,
	// so only the option can end the read.
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	data, err := io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept a connection with unfinished headers open past ReadHeaderTimeout")
	}
	if len(data) > 0 && !strings.HasPrefix(string(data), "HTTP/1.1 4") {
		t.Errorf("unfinished headers got %q; want the connection closed (or a 4xx)", data)
	}

	res, err := http.Get("http://" + ln.Addr().String() + "/partner/gold/rate")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Errorf("GET /partner/gold/rate without a token = %d; want 401", res.StatusCode)
	}
}

// TestServeMaxHeaderBytes: headers over MaxHeaderBytes never reach the
// handler; net/http answers 431 itself.
func TestServeMaxHeaderBytes(t *testing.T) {
	ln := listen(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- sandbox.Serve(ctx, ln, slowHandler(t, nil, nil), sandbox.ServeOptions{MaxHeaderBytes: 1 << 10})
	}()
	defer func() { cancel(); <-served }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /partner/gold/rate HTTP/1.1\r\nHost: sandbox\r\nX-Big: "+strings.Repeat("x", 8<<10)+"\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("8 KiB of headers with MaxHeaderBytes 1 KiB = %d; want 431", res.StatusCode)
	}
}

// TestServeClosedListener: Serve reports a listener that cannot accept.
func TestServeClosedListener(t *testing.T) {
	ln := listen(t)
	ln.Close()
	err := sandbox.Serve(context.Background(), ln, http.NotFoundHandler(), sandbox.ServeOptions{})
	if err == nil || errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve(closed listener) = %v; want the accept error", err)
	}
}
