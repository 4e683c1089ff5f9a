package milligold

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// DefaultRequestTimeout bounds each HTTP attempt when WithRequestTimeout is
// not given: connecting, sending, and reading the whole answer. The API's
// answers are a few hundred bytes, so this is generous; it exists so that a
// server that sends headers and then dribbles the body cannot hold a call
// whose context has no deadline forever.
const DefaultRequestTimeout = 30 * time.Second

// attemptTransport gives each attempt its own deadline, which runs until
// the body is read and closed, so waits between attempts (the limiter, a
// 429's reset) are not counted but a slow body is. timeout 0 means none.
type attemptTransport struct {
	base    http.RoundTripper // nil means http.DefaultTransport
	timeout time.Duration
	cause   *AttemptTimeoutError // made once: it says the same for every attempt
}

func (t *attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	if t.timeout <= 0 {
		return base.RoundTrip(req)
	}
	parent := req.Context()
	if d, ok := parent.Deadline(); ok && time.Until(d) <= t.timeout {
		return base.RoundTrip(req) // the caller's deadline comes first anyway
	}
	cause := t.cause
	if cause == nil {
		cause = &AttemptTimeoutError{Limit: t.timeout}
	}
	ctx, cancel := context.WithTimeoutCause(parent, t.timeout, cause)
	resp, err := base.RoundTrip(req.WithContext(ctx))
	if err != nil {
		err = attemptErr(parent, ctx, err)
		cancel()
		return nil, err
	}
	resp.Body = &attemptBody{ReadCloser: resp.Body, parent: parent, ctx: ctx, cancel: cancel}
	return resp, nil
}

// attemptErr names the per-attempt timeout when it, not the caller's
// context, ended the attempt.
func attemptErr(parent, ctx context.Context, err error) error {
	if err == nil || err == io.EOF || parent.Err() != nil || ctx.Err() == nil {
		return err
	}
	var te *AttemptTimeoutError
	if errors.As(context.Cause(ctx), &te) && !errors.As(err, &te) {
		return fmt.Errorf("%w (%v)", te, err)
	}
	return err
}

// attemptBody ends the attempt's deadline when the body is closed.
type attemptBody struct {
	io.ReadCloser
	parent, ctx context.Context
	cancel      context.CancelFunc
}

func (b *attemptBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	return n, attemptErr(b.parent, b.ctx, err)
}

func (b *attemptBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// AttemptTimeoutError is an attempt that did not complete, answer read to
// the end, within the Client's request timeout (WithRequestTimeout). It
// matches context.DeadlineExceeded with errors.Is and is a net.Error whose
// Timeout is true.
type AttemptTimeoutError struct {
	Limit time.Duration // the request timeout
}

func (e *AttemptTimeoutError) Error() string {
	return fmt.Sprintf("milligold: no complete answer within the request timeout (%s)", e.Limit)
}

// Timeout reports true, as net.Error's timeouts do.
func (e *AttemptTimeoutError) Timeout() bool { return true }

// Temporary reports true: another attempt may succeed.
func (e *AttemptTimeoutError) Temporary() bool { return true }

// Is matches context.DeadlineExceeded.
func (e *AttemptTimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }
