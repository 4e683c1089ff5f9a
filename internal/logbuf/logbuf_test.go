package logbuf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milligold/milligold-go/internal/clock"
)

// sink is the underlying writer: it records each Write call.
type sink struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	err    error
}

func (s *sink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	if s.err != nil {
		return 0, s.err
	}
	return s.buf.Write(p)
}

func (s *sink) state() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String(), s.writes
}

// waitFor polls cond (real time, for the flusher goroutine to run after the
// fake clock woke it); the wide bound only matters when the test fails.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestFlushWithinInterval(t *testing.T) {
	clk := clock.NewFake(t0)
	s := &sink{}
	w := New(s, WithSleep(clk.Sleep))
	defer w.Close()

	w.Write([]byte("one\n"))
	w.Write([]byte("two\n"))
	// The first write into the empty buffer starts the flusher's sleep.
	waitFor(t, "the flusher sleeps", func() bool { return clk.Sleepers() == 1 })
	if got, n := s.state(); got != "" || n != 0 {
		t.Fatalf("before the interval the sink has %q (%d writes); want nothing", got, n)
	}
	clk.Advance(DefaultInterval - time.Nanosecond)
	if clk.Sleepers() != 1 {
		t.Fatalf("the flusher woke before %v", DefaultInterval)
	}
	clk.Advance(time.Nanosecond)
	waitFor(t, "both lines flushed at the interval", func() bool { got, _ := s.state(); return got == "one\ntwo\n" })
	if _, n := s.state(); n != 1 {
		t.Errorf("the two lines took %d writes; want 1", n)
	}

	// Idle: nothing buffered, so the flusher waits for a write, not the clock.
	waitFor(t, "the flusher waits for the next write", func() bool { return clk.Sleepers() == 0 })
	w.Write([]byte("three\n"))
	waitFor(t, "the flusher sleeps again", func() bool { return clk.Sleepers() == 1 })
	clk.Advance(DefaultInterval)
	waitFor(t, "the third line flushed", func() bool { got, _ := s.state(); return got == "one\ntwo\nthree\n" })
}

func TestCloseFlushes(t *testing.T) {
	clk := clock.NewFake(t0) // never advanced: only Close can flush
	s := &sink{}
	w := New(s, WithSleep(clk.Sleep))
	for i := range 100 {
		fmt.Fprintf(w, "line %d\n", i)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	got, _ := s.state()
	if n := strings.Count(got, "\n"); n != 100 {
		t.Errorf("after Close the sink has %d lines; want 100", n)
	}
	if _, err := w.Write([]byte("late\n")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v; want ErrClosed", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close() = %v; want nil", err)
	}
}

func TestFlushOnFullBuffer(t *testing.T) {
	clk := clock.NewFake(t0)
	s := &sink{}
	w := New(s, WithSleep(clk.Sleep), WithSize(16))
	defer w.Close()
	w.Write([]byte("0123456789\n")) // 11 bytes, buffered
	if got, _ := s.state(); got != "" {
		t.Fatalf("sink has %q; want nothing yet", got)
	}
	w.Write([]byte("abcdefghij\n")) // would overflow: the first line goes out whole
	if got, _ := s.state(); got != "0123456789\n" {
		t.Fatalf("sink has %q; want the first line only", got)
	}
	long := strings.Repeat("x", 40) + "\n" // larger than the buffer: flushed, then written straight through
	w.Write([]byte(long))
	if got, _ := s.state(); got != "0123456789\nabcdefghij\n"+long {
		t.Fatalf("sink has %q; want all three lines in order", got)
	}
}

func TestConcurrentWritesKeepEveryLineWhole(t *testing.T) {
	s := &sink{}
	w := New(s, WithSize(256), WithInterval(time.Millisecond)) // real clock: flushes interleave with writes
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				fmt.Fprintf(w, "goroutine %d line %03d\n", g, i)
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	got, _ := s.state()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 1600 {
		t.Fatalf("sink has %d lines; want 1600", len(lines))
	}
	seen := map[string]bool{}
	for _, l := range lines {
		var g, i int
		if _, err := fmt.Sscanf(l, "goroutine %d line %d", &g, &i); err != nil || seen[l] {
			t.Fatalf("line %q is torn or repeated", l)
		}
		seen[l] = true
	}
}

func TestWriteErrorSticks(t *testing.T) {
	broken := errors.New("disk full")
	s := &sink{err: broken}
	w := New(s, WithSize(8))
	w.Write([]byte("12345\n"))
	if _, err := w.Write([]byte("67890\n")); !errors.Is(err, broken) {
		t.Errorf("Write that flushes = %v; want the sink's error", err)
	}
	if _, err := w.Write([]byte("x\n")); !errors.Is(err, broken) {
		t.Errorf("later Write = %v; want the sink's error", err)
	}
	if err := w.Close(); !errors.Is(err, broken) {
		t.Errorf("Close() = %v; want the sink's error", err)
	}
}

// TestConcurrentWritesKeepOrder: lines leave in the order their Writes
// happened, so each goroutine's lines keep their order, across flushes.
func TestConcurrentWritesKeepOrder(t *testing.T) {
	s := &sink{}
	w := New(s, WithSize(512), WithInterval(time.Millisecond))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				fmt.Fprintf(w, "goroutine %d line %03d\n", g, i)
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	got, writes := s.state()
	next := make([]int, 8)
	for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		var g, i int
		if _, err := fmt.Sscanf(l, "goroutine %d line %d", &g, &i); err != nil {
			t.Fatalf("line %q is torn", l)
		}
		if i != next[g] {
			t.Fatalf("goroutine %d: line %d came where line %d was due", g, i, next[g])
		}
		next[g]++
	}
	for g, n := range next {
		if n != 500 {
			t.Errorf("goroutine %d: %d lines; want 500", g, n)
		}
	}
	if writes < 2 {
		t.Errorf("%d writes to the sink; want several flushes (size 512)", writes)
	}
}

// BenchmarkWrite writes a request-sized line, from one goroutine and from
// every P at once, to io.Discard.
func BenchmarkWrite(b *testing.B) {
	line := []byte(strings.Repeat("x", 180) + "\n")
	b.Run("serial", func(b *testing.B) {
		w := New(io.Discard)
		defer w.Close()
		b.ReportAllocs()
		for b.Loop() {
			w.Write(line)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		w := New(io.Discard)
		defer w.Close()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				w.Write(line)
			}
		})
	})
}
