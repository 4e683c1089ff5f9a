package sandbox

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestRequestStartIsHeaderRead: served by Serve, a request's start is the
// clock reading net/http took when it had read the request's header (from
// the write deadline it set then, less the WriteTimeout given), for each
// request of a keep-alive connection: after the client sent it and not
// after the handler began. It is taken once; outside Serve, it is the
// clock now.
func TestRequestStartIsHeaderRead(t *testing.T) {
	type seen struct {
		start, entered time.Time
		again          bool
	}
	got := make(chan seen, 3)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered := time.Now()
		start := requestStart(r)
		lc, _ := r.Context().Value(connKey{}).(*limitedConn)
		again := false
		if lc != nil {
			_, again = lc.headerRead()
		}
		got <- seen{start, entered, again}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, h, ServeOptions{WriteTimeout: 7 * time.Second}) }()
	defer func() { cancel(); <-served }()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	var last time.Time
	for i := range 3 {
		time.Sleep(20 * time.Millisecond)
		sent := time.Now()
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: sandbox\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		s := <-got
		if s.start.Before(sent) || s.start.After(s.entered) {
			t.Errorf("request %d: start %v; want between its sending %v and the handler's entry %v", i, s.start, sent, s.entered)
		}
		if !s.start.After(last) {
			t.Errorf("request %d: start %v not after the last one's %v", i, s.start, last)
		}
		if s.again {
			t.Errorf("request %d: the header's reading was given twice", i)
		}
		last = s.start
	}

	r, _ := http.NewRequest(http.MethodGet, "http://sandbox.test/", nil)
	before := time.Now()
	if start := requestStart(r); start.Before(before) || start.After(time.Now()) {
		t.Errorf("outside Serve: start %v; want the clock now (%v)", start, before)
	}
}
