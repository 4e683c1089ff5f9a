package milligold

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/ratelimit"
)

// logTransport logs every attempt that reaches the network, so retries
// after a 429 show up too. It logs the operation, not the path, which holds
// a user's mobile number (and, after a redirect, whatever the server put
// there); never headers or bodies, and of a 429 the wait it asks for, not
// the raw reset header.
type logTransport struct {
	base   http.RoundTripper
	logger *slog.Logger
	redact func(string) string
	policy ratelimit.Policy // names the reset header; the spec's, from gen/middleware
	now    func() time.Time // nil means time.Now
}

func (t *logTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	start := time.Now()
	resp, err := base.RoundTrip(req)
	ctx := req.Context()
	level, msg := slog.LevelDebug, "milligold request"
	switch {
	case err != nil:
		msg = "milligold request failed"
	case resp.StatusCode == http.StatusTooManyRequests:
		level, msg = slog.LevelInfo, "milligold rate limited"
	}
	if !t.logger.Enabled(ctx, level) {
		return resp, err // the default logger discards: build nothing
	}
	attrs := []slog.Attr{
		slog.String("operation", operation(req)),
		slog.Duration("elapsed", time.Since(start)),
		{},
	}
	switch {
	case err != nil:
		attrs[2] = slog.String("error", t.redact(err.Error()))
	case level == slog.LevelInfo:
		now := time.Now
		if t.now != nil {
			now = t.now
		}
		wait := t.policy.Reset(resp.Header, now())
		attrs[2] = slog.Duration("retryAfter", wait.Round(time.Second))
	default:
		attrs[2] = slog.Int("status", resp.StatusCode)
	}
	t.logger.LogAttrs(ctx, level, msg, attrs...)
	return resp, err
}

type operationKey struct{}

// withOperation tells logTransport which operation a request is. The value
// is the table's entry itself: boxing a pointer allocates nothing.
func withOperation(ctx context.Context, op *middleware.Operation) context.Context {
	return context.WithValue(ctx, operationKey{}, op)
}

// operation names req's operation. A token request runs under the context
// of the call that needed the token, so it is told by its path.
func operation(req *http.Request) string {
	if isTokenRequest(req) {
		return middleware.TokenOperation
	}
	if op, ok := req.Context().Value(operationKey{}).(*middleware.Operation); ok {
		return op.ID
	}
	return req.Method + " (unknown operation)" // never the path: it may carry anything
}
