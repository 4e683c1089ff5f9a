package sandbox

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// streamWriter is a journal stream's ResponseWriter that reports, at each
// flush, what was written since the last one and in how many writes.
type streamWriter struct {
	h       http.Header
	mu      sync.Mutex
	pending []string
	flushed chan sent
}

type sent struct {
	writes int
	data   string
}

func (w *streamWriter) Header() http.Header { return w.h }
func (w *streamWriter) WriteHeader(int)     {}
func (w *streamWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.pending = append(w.pending, string(p))
	w.mu.Unlock()
	return len(p), nil
}

func (w *streamWriter) Flush() {
	w.mu.Lock()
	s := sent{writes: len(w.pending), data: strings.Join(w.pending, "")}
	w.pending = nil
	w.mu.Unlock()
	w.flushed <- s
}

func (w *streamWriter) next(t *testing.T) sent {
	t.Helper()
	select {
	case s := <-w.flushed:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("the stream sent nothing in 10 s")
		return sent{}
	}
}

// ids returns the event ids in what a flush sent.
func (s sent) ids() []string {
	var ids []string
	for _, line := range strings.Split(s.data, "\n") {
		if id, ok := strings.CutPrefix(line, "id: "); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

func seqs(from, to int) string {
	var s []string
	for i := from; i <= to; i++ {
		s = append(s, strconv.Itoa(i))
	}
	return strings.Join(s, ",")
}

// openStream opens a journal stream on s (its control token
// "coalesce-control-token"), served until the test ends.
func openStream(t *testing.T, s *Sandbox, query string) (*streamWriter, <-chan struct{}) {
	w := &streamWriter{h: http.Header{}, flushed: make(chan sent, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest("GET", ControlPrefix+"api/journal/stream"+query, nil).WithContext(ctx)
	req.Header.Set("Authorization", "Bearer coalesce-control-token")
	done := make(chan struct{})
	go func() { s.ServeHTTP(w, req); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return w, done
}

// waiting reports whether a stream waits for the next entry.
func (j *journal) waiting() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, w := range j.waiters {
		if w.ch != nil && w.at == j.next {
			return true
		}
	}
	return false
}

// A journal stream sends an entry that comes while it is idle at once; an
// entry that comes within StreamInterval of a send waits for the interval's
// end, and everything that came meanwhile goes out in one write and one
// flush. The stream's timer is the test's, so nothing here depends on how
// fast the machine is.
func TestJournalStreamCoalesces(t *testing.T) {
	s, err := NewWithControl(Default(), ControlOptions{Token: "coalesce-control-token"})
	if err != nil {
		t.Fatal(err)
	}
	c := s.ctl
	asked := make(chan time.Duration, 10)
	timers := make(chan chan time.Time, 10)
	c.after = func(d time.Duration) <-chan time.Time {
		ch := make(chan time.Time, 1)
		asked <- d
		timers <- ch
		return ch
	}
	nextTimer := func() chan time.Time {
		t.Helper()
		select {
		case d := <-asked:
			if d != StreamInterval {
				t.Fatalf("the stream waits %v; want StreamInterval (%v)", d, StreamInterval)
			}
			return <-timers
		case <-time.After(10 * time.Second):
			t.Fatal("the stream did not wait for the interval after sending")
			return nil
		}
	}
	w, done := openStream(t, s, "")
	if got := w.next(t); !strings.HasPrefix(got.data, ": milliGOLD sandbox journal") {
		t.Fatalf("the stream began with %q", got.data)
	}
	add := func(n int) {
		for range n {
			c.journal.add(&stored{Entry: Entry{Method: "GET", Path: "/partner/gold/rate", Status: 200, Client: "127.0.0.1"}})
		}
	}
	idle := func() {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !c.journal.waiting(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("the stream never went idle")
			}
		}
	}

	idle()
	add(1)
	if got := w.next(t); got.writes != 1 || strings.Join(got.ids(), ",") != "1" {
		t.Fatalf("an entry on an idle stream: %d writes with ids %v; want entry 1 at once, in one write", got.writes, got.ids())
	}
	timer := nextTimer()
	add(5) // within the interval
	select {
	case got := <-w.flushed:
		t.Fatalf("the stream sent ids %v before its interval ended", got.ids())
	case <-time.After(50 * time.Millisecond):
	}
	timer <- time.Now()
	if got := w.next(t); got.writes != 1 || strings.Join(got.ids(), ",") != seqs(2, 6) {
		t.Fatalf("entries within the interval: %d writes with ids %v; want %s in one write", got.writes, got.ids(), seqs(2, 6))
	}
	// Entries that come while the stream waits wake nothing: they too go out
	// when the interval ends.
	timer = nextTimer()
	add(200)
	if c.journal.waiting() {
		t.Fatal("a stream waiting out its interval is signalled per entry")
	}
	timer <- time.Now()
	if got := w.next(t); got.writes != 1 || strings.Join(got.ids(), ",") != seqs(7, 206) {
		t.Fatalf("200 entries within the interval: %d writes, %d ids; want ids 7..206 in one write", got.writes, len(got.ids()))
	}
	// Half the ring (1000) unsent ends the interval early, so the ring
	// does not overwrite what the stream has yet to send.
	timer = nextTimer()
	add(499)
	select {
	case got := <-w.flushed:
		t.Fatalf("the stream sent ids %v with 499 unsent; want it to wait for 500 or the interval", got.ids())
	case <-time.After(50 * time.Millisecond):
	}
	add(1)
	if got := w.next(t); got.writes != 1 || strings.Join(got.ids(), ",") != seqs(207, 706) {
		t.Fatalf("500 entries within the interval: %d writes, %d ids; want ids 207..706 in one write before the interval ended", got.writes, len(got.ids()))
	}
	timer <- time.Now() // the abandoned wait's timer wakes nothing
	// An interval with nothing new: the stream goes idle and sends the
	// next entry at once again.
	nextTimer() <- time.Now()
	idle()
	add(1)
	if got := w.next(t); got.writes != 1 || strings.Join(got.ids(), ",") != "707" {
		t.Fatalf("an entry after a quiet interval: ids %v; want 707 at once", got.ids())
	}
	// A lone stream keeps no encoding (it would allocate for nothing).
	entries, _ := c.journal.list(filter{})
	for _, e := range entries {
		if e.json.Load() != nil {
			t.Fatalf("entry %d: a lone stream kept its JSON", e.Seq)
		}
	}
	nextTimer()
	c.CloseStreams()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("CloseStreams did not end a stream waiting out its interval")
	}
}

// A filtered stream is not woken by each entry it does not send, and an
// entry that matches still goes out when the interval ends.
func TestJournalStreamFilteredCoalesces(t *testing.T) {
	s, err := NewWithControl(Default(), ControlOptions{Token: "coalesce-control-token"})
	if err != nil {
		t.Fatal(err)
	}
	c := s.ctl
	var mu sync.Mutex
	waits := 0
	fire := make(chan time.Time)
	c.after = func(time.Duration) <-chan time.Time {
		mu.Lock()
		waits++
		mu.Unlock()
		return fire
	}
	w, _ := openStream(t, s, "?status=4xx")
	w.next(t)
	for deadline := time.Now().Add(10 * time.Second); !c.journal.waiting(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the stream never went idle")
		}
	}
	for range 100 {
		c.journal.add(&stored{Entry: Entry{Status: 200}})
	}
	// The stream wakes once, finds nothing to send and waits out an
	// interval, during which the other 99 wake nothing.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		mu.Lock()
		n := waits
		mu.Unlock()
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 100 entries it does not send, the stream waited %d intervals; want 1", n)
		}
	}
	if c.journal.waiting() {
		t.Fatal("the stream waits for each entry it does not send")
	}
	c.journal.add(&stored{Entry: Entry{Status: 401}})
	fire <- time.Now()
	if got := w.next(t); strings.Join(got.ids(), ",") != "101" {
		t.Fatalf("filtered stream sent ids %v; want 101 (the 401) alone", got.ids())
	}
}

// With two streams open, each entry is encoded once and both send those
// bytes.
func TestJournalStreamsShareEncoding(t *testing.T) {
	s, err := NewWithControl(Default(), ControlOptions{Token: "coalesce-control-token"})
	if err != nil {
		t.Fatal(err)
	}
	c := s.ctl
	c.after = func(time.Duration) <-chan time.Time { return nil } // the interval never ends
	var writers []*streamWriter
	for range 2 {
		w, _ := openStream(t, s, "")
		w.next(t)
		writers = append(writers, w)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		c.journal.mu.Lock()
		n := 0
		for _, w := range c.journal.waiters {
			if w.ch != nil && w.at == c.journal.next {
				n++
			}
		}
		c.journal.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 2 streams went idle", n)
		}
	}
	c.journal.add(&stored{Entry: Entry{Method: "GET", Path: "/partner/gold/rate", Status: 200, Client: "127.0.0.1"}})
	a, b := writers[0].next(t), writers[1].next(t)
	if a.data != b.data || len(a.ids()) != 1 {
		t.Fatalf("two streams sent %q and %q; want the same one entry", a.data, b.data)
	}
	entries, _ := c.journal.list(filter{})
	p := entries[0].json.Load()
	if p == nil || string(*p) != string(entries[0].Entry.appendJSON(nil)) || !strings.Contains(a.data, string(*p)) {
		t.Fatalf("entry 1: kept JSON %v; want its encoding, as sent", p)
	}
}

// Served by Serve (as `milligold sandbox` serves it) the journal keeps a
// request's header map when it does not make the last header object;
// behind another handler it copies it (see Headers). Maps that make the
// last object share it.
func TestJournalKeepsMapsWhenServedDirectly(t *testing.T) {
	for _, wrapped := range []bool{false, true} {
		s, err := NewWithControl(Default(), ControlOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var h http.Handler = s
		if wrapped {
			h = http.HandlerFunc(s.ServeHTTP)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- Serve(ctx, ln, h, ServeOptions{}) }()
		for _, n := range []string{"1", "2", "1"} {
			req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+BasePath+"/gold/rate", nil)
			req.Header.Set("X-N", n)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
		}
		cancel()
		<-served
		entries, _ := s.ctl.journal.list(filter{})
		if len(entries) != 3 {
			t.Fatalf("wrapped %v: %d entries", wrapped, len(entries))
		}
		first, other, again := entries[0].Request.Headers, entries[1].Request.Headers, entries[2].Request.Headers
		if first.o == nil || first.o.json == nil || again.o != first.o || first.h != nil {
			t.Errorf("wrapped %v: the first and third requests' fields are not one shared object: %+v, %+v", wrapped, first, again)
		}
		if kept := other.h != nil && other.o == nil; kept == wrapped {
			t.Errorf("wrapped %v: the journal kept the second request's map: %v", wrapped, kept)
		}
		if !wrapped && entries[1].Response.Headers.o != entries[0].Response.Headers.o {
			t.Errorf("the answers' fields are not one shared object")
		}
		for i, e := range entries {
			if e.Response.Headers.Get("Content-Type") == "" || e.Request.Headers.Get("User-Agent") == "" || e.Request.Headers.Get("X-N") != []string{"1", "2", "1"}[i] {
				t.Errorf("wrapped %v, entry %d: no Content-Type (%d fields), User-Agent or X-N (%d fields)", wrapped, i, e.Response.Headers.Len(), e.Request.Headers.Len())
			}
		}
	}
}
