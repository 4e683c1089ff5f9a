package sandbox

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ServeOptions bounds what a client can hold; zero fields take the defaults.
type ServeOptions struct {
	ReadHeaderTimeout time.Duration // default 5s: slowloris headers are cut
	ReadTimeout       time.Duration // default 10s
	WriteTimeout      time.Duration // default 10s
	IdleTimeout       time.Duration // default 5s: an idle keep-alive connection is closed soon
	MaxHeaderBytes    int           // default 64 KiB: the hard backstop; the handler answers 431 above 16 KiB
	ShutdownTimeout   time.Duration // default 10s for in-flight requests to finish
	Logger            *slog.Logger  // net/http's own errors; nil means discard
	// MaxConns caps the open connections; default DefaultMaxConns(), sized
	// from RLIMIT_NOFILE so the process never runs out of descriptors. At
	// the cap, a new connection closes the longest-idle one to make room,
	// else waits for one to end; it never breaks the others.
	MaxConns int
}

func (o ServeOptions) withDefaults() ServeOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ReadHeaderTimeout, 5*time.Second)
	def(&o.ReadTimeout, 10*time.Second)
	def(&o.WriteTimeout, 10*time.Second)
	def(&o.IdleTimeout, 5*time.Second)
	def(&o.ShutdownTimeout, 10*time.Second)
	if o.MaxHeaderBytes <= 0 {
		o.MaxHeaderBytes = 64 << 10
	}
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Serve serves h on ln until ctx is done, then shuts down gracefully:
// in-flight requests finish (up to ShutdownTimeout) and Serve returns nil.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, o ServeOptions) error {
	o = o.withDefaults()
	cl := newConnLimiter(ln, o.MaxConns)
	cl.grain = deadlineGrain(o.ReadHeaderTimeout, o.ReadTimeout, o.WriteTimeout, o.IdleTimeout)
	cl.writeTimeout = o.WriteTimeout
	ln = cl
	srv := &http.Server{
		ConnState:         cl.track,
		ConnContext:       withConn,
		Handler:           h,
		ReadHeaderTimeout: o.ReadHeaderTimeout,
		ReadTimeout:       o.ReadTimeout,
		WriteTimeout:      o.WriteTimeout,
		IdleTimeout:       o.IdleTimeout,
		MaxHeaderBytes:    o.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), o.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(shutdown)
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	return err
}

type connKey struct{}

// withConn is Serve's http.Server.ConnContext: a request's context carries
// its connection, whose headerRead gives the request's start.
func withConn(ctx context.Context, c net.Conn) context.Context {
	if lc, ok := c.(*limitedConn); ok {
		return context.WithValue(ctx, connKey{}, lc)
	}
	return ctx
}

// requestStart is when r's header was read, as net/http read the clock
// for its write deadline (limitedConn.headerRead) when Serve serves r,
// else the clock now.
func requestStart(r *http.Request) time.Time {
	if lc, ok := r.Context().Value(connKey{}).(*limitedConn); ok {
		if t, ok := lc.headerRead(); ok {
			return t
		}
	}
	return time.Now()
}
