// Package logbuf buffers a log's writes so a busy server makes one write
// system call per batch instead of one per line, without losing or holding
// back a line for long: what is written is flushed within an interval, when
// the buffer fills, on Flush and on Close.
package logbuf

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/milligold/milligold-go/internal/clock"
)

// DefaultInterval is the longest a line waits in the buffer.
const DefaultInterval = 100 * time.Millisecond

// DefaultSize is the buffer size; a write that would overflow it flushes first.
const DefaultSize = 64 << 10

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("logbuf: writer closed")

// Writer buffers writes to an underlying io.Writer. Each Write is kept whole
// (a log line is never split between two flushes unless it is larger than
// the buffer). A flush happens at most Interval after the first write into
// an empty buffer, so an idle Writer costs no wake-ups. Writer is safe for
// concurrent use; the underlying writer is only ever called by one goroutine
// at a time. Close flushes and stops the background flusher; it does not
// close the underlying writer.
type Writer struct {
	w        io.Writer
	interval time.Duration
	sleep    func(context.Context, time.Duration) error

	mu     sync.Mutex
	buf    []byte
	spare  []byte // the other buffer, when not being written out
	err    error  // the first error from the underlying writer, returned by later calls
	closed bool

	// out serializes writes to w, in the order the buffers were taken. A
	// flush takes it before letting go of mu and writes without mu, so a
	// write system call (or the flusher's thread losing its core during one)
	// never holds up the goroutines appending lines: that lock is taken by
	// every request.
	out sync.Mutex

	wake   chan struct{} // a write made the buffer non-empty
	cancel context.CancelFunc
	done   chan struct{}
}

// Option configures a Writer.
type Option func(*Writer)

// WithInterval sets the longest a line waits (<= 0 means DefaultInterval).
func WithInterval(d time.Duration) Option {
	return func(w *Writer) {
		if d > 0 {
			w.interval = d
		}
	}
}

// WithSleep replaces the real clock's sleep (tests pass a fake clock's).
func WithSleep(sleep func(context.Context, time.Duration) error) Option {
	return func(w *Writer) {
		if sleep != nil {
			w.sleep = sleep
		}
	}
}

// WithSize sets the buffer size (<= 0 means DefaultSize).
func WithSize(n int) Option {
	return func(w *Writer) {
		if n > 0 {
			w.buf = make([]byte, 0, n)
		}
	}
}

// New returns a Writer over w and starts its flusher; call Close when done.
func New(w io.Writer, opts ...Option) *Writer {
	ctx, cancel := context.WithCancel(context.Background())
	b := &Writer{
		w:        w,
		interval: DefaultInterval,
		sleep:    clock.Sleep,
		wake:     make(chan struct{}, 1),
		cancel:   cancel,
		done:     make(chan struct{}),
	}
	for _, o := range opts {
		o(b)
	}
	if b.buf == nil {
		b.buf = make([]byte, 0, DefaultSize)
	}
	go b.flusher(ctx)
	return b
}

// Write implements io.Writer.
func (b *Writer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, ErrClosed
	}
	if b.err != nil {
		return 0, b.err
	}
	if len(b.buf)+len(p) > cap(b.buf) {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
		if b.closed { // while the flush let go of mu
			return 0, ErrClosed
		}
		if len(p) > cap(b.buf) {
			return b.writeOut(p)
		}
	}
	first := len(b.buf) == 0
	b.buf = append(b.buf, p...)
	if first {
		select {
		case b.wake <- struct{}{}:
		default: // the flusher is already due
		}
	}
	return len(p), nil
}

// Flush writes out what is buffered.
func (b *Writer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

// Close stops the flusher and flushes. Later writes fail with ErrClosed;
// closing twice is harmless.
func (b *Writer) Close() error {
	b.cancel()
	<-b.done
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return b.err
	}
	b.closed = true
	return b.flushLocked()
}

// flushLocked writes out the buffer. Called with mu held, it returns with
// mu held, but lets go of it while the buffer is written: lines written
// meanwhile go into the spare buffer.
func (b *Writer) flushLocked() error {
	if b.err != nil {
		return b.err
	}
	if len(b.buf) == 0 {
		return nil
	}
	full := b.buf
	if b.spare != nil {
		b.buf, b.spare = b.spare[:0], nil
	} else {
		b.buf = make([]byte, 0, cap(full)) // two flushes at once: rare
	}
	_, err := b.writeOut(full)
	if b.spare == nil {
		b.spare = full[:0]
	}
	return err
}

// writeOut writes p to w with mu let go (see out), and notes an error.
// Called and returns with mu held.
func (b *Writer) writeOut(p []byte) (int, error) {
	b.out.Lock()
	b.mu.Unlock()
	n, err := b.w.Write(p)
	b.out.Unlock()
	b.mu.Lock()
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil && b.err == nil {
		b.err = err
	}
	return n, err
}

// flusher flushes Interval after each write into an empty buffer.
func (b *Writer) flusher(ctx context.Context) {
	defer close(b.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.wake:
		}
		if b.sleep(ctx, b.interval) != nil {
			return // Close flushes
		}
		b.Flush()
	}
}
