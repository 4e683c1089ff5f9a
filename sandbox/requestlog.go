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
