package sandbox

import (
	"io"
	"log/slog"

	"github.com/milligold/milligold-go/internal/logbuf"
)

// NewTextLog returns the request log `milligold sandbox` writes: slog's text
// handler over a buffer, so a busy sandbox makes one write system call per
// batch of lines instead of one per request. Every line is still written:
// within logbuf.DefaultInterval (100 ms), when the buffer fills, and on
// Close, which the caller must call before exiting (after Serve returns, also
// on SIGINT and SIGTERM). Close does not close w. The logger is safe for
// concurrent use.
func NewTextLog(w io.Writer) (*slog.Logger, io.Closer) {
	b := logbuf.New(w)
	return slog.New(slog.NewTextHandler(b, nil)), b
}

// DefaultGCPercent is the garbage collection target `milligold sandbox`
// serves with (its --gc-percent flag; GOGC in the environment wins over
// this default). The sandbox keeps a few MiB live and allocates about a
// kilobyte per request, so at Go's default of 100 a loaded sandbox collects
// dozens of times a second; at 400 the heap may grow to about five times the
// live data between collections (tens of MiB under load, nothing at idle)
// and collections are a quarter as frequent.
const DefaultGCPercent = 400
