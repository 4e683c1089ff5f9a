package milligold

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/milligold/milligold-go/ratelimit"
)

// Sentinels for the statuses callers branch on; match them with errors.Is.
// The API document asks clients to branch on the HTTP status, never on the
// wording of a message, so these follow the status alone.
var (
	ErrUnauthorized = errors.New("milligold: unauthorized")
	ErrNotFound     = errors.New("milligold: not found")
	ErrRateLimited  = errors.New("milligold: rate limited")
)

// maxErrorBody bounds how much of an error response is read and kept.
const maxErrorBody = 4 << 10

// snippetLen bounds the body snippet an APIError carries.
const snippetLen = 512

// APIError is a non-2xx answer from the API. Message and ErrorCode come from
// the API's error envelope when the body has one; Body is a bounded snippet of
// the raw body with secrets and tokens redacted. The Client never changes an
// error after returning it, so reading one from several goroutines is safe.
type APIError struct {
	Operation  string // operationId, e.g. "getUserInfo"
	StatusCode int
	ErrorCode  string // opaque; the API's correlation id
	Message    string // the API's words; they may change
	Body       string // at most 512 bytes of the body, redacted
}

// Error reads like "milligold: getUserInfo: 404 Not Found: The requested
// resource was not found (errorCode 3d1c…)".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("milligold: ")
	if e.Operation != "" {
		b.WriteString(e.Operation + ": ")
	}
	b.WriteString(statusLine(e.StatusCode))
	switch {
	case e.Message != "":
		b.WriteString(": " + e.Message)
	case e.Body != "":
		b.WriteString(": " + strconv.Quote(e.Body))
	}
	if e.ErrorCode != "" {
		b.WriteString(" (errorCode " + e.ErrorCode + ")")
	}
	return b.String()
}

// Is matches the sentinel that belongs to the status.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	}
	return false
}

// RateLimitError is a 429 answer. Limit, Remaining and Reset come from the
// rate-limit headers (zero when absent or malformed: the API promises them but
// the client does not depend on them); RetryAfter is how long to wait from the
// moment the error was made, never negative. errors.As also finds its APIError.
type RateLimitError struct {
	APIError
	Limit      int
	Remaining  int
	Reset      time.Time
	RetryAfter time.Duration
}

// Error reads like "milligold: getGoldRate: rate limited; retry after 12s".
func (e *RateLimitError) Error() string {
	var b strings.Builder
	b.WriteString("milligold: ")
	if e.Operation != "" {
		b.WriteString(e.Operation + ": ")
	}
	b.WriteString("rate limited")
	if e.RetryAfter > 0 {
		b.WriteString("; retry after " + e.RetryAfter.String())
	}
	if e.Limit > 0 {
		fmt.Fprintf(&b, " (limit %d)", e.Limit)
	}
	if e.ErrorCode != "" {
		b.WriteString(" (errorCode " + e.ErrorCode + ")")
	}
	return b.String()
}

// Unwrap exposes the APIError, so errors.As(err, &apiErr) finds it.
func (e *RateLimitError) Unwrap() error { return &e.APIError }

// Is matches ErrRateLimited.
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

func statusLine(code int) string {
	if text := http.StatusText(code); text != "" {
		return strconv.Itoa(code) + " " + text
	}
	return "HTTP " + strconv.Itoa(code)
}

// envelope is the API's error body; every field is optional here so that a
// body without it (a proxy's HTML page, say) still yields an APIError.
type envelope struct {
	Error     string `json:"error"`
	ErrorCode string `json:"errorCode"`
}

// checkResponse turns a non-2xx response into *APIError or *RateLimitError
// and returns nil for 2xx. It reads at most maxErrorBody bytes of an error
// body and closes it; a 2xx body is left for the caller. p names the
// rate-limit headers (the spec's, from gen/middleware) and its window is the
// wait when they say nothing usable; redact scrubs secrets from everything
// the error keeps; now dates RetryAfter.
func checkResponse(op string, resp *http.Response, p ratelimit.Policy, redact func(string) string, now time.Time) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))

	e := APIError{Operation: op, StatusCode: resp.StatusCode}
	var env envelope
	if json.Unmarshal(body, &env) == nil {
		// Redact before cutting: a cut secret would no longer match.
		e.Message = truncate(oneLine(redact(env.Error)), snippetLen)
		e.ErrorCode = truncate(oneLine(redact(env.ErrorCode)), snippetLen)
	}
	e.Body = truncate(redact(string(body)), snippetLen)

	if resp.StatusCode != http.StatusTooManyRequests {
		return &e
	}
	rl := &RateLimitError{APIError: e}
	rl.Limit, _ = p.Limit(resp.Header)
	rl.Remaining, _ = p.Remaining(resp.Header)
	// Without a usable reset header, wait a whole window: that is always enough.
	wait := p.Reset(resp.Header, now)
	// The header has whole seconds: round up, so nobody retries early (a
	// reset centuries away saturates rather than overflows).
	rl.RetryAfter = wait.Truncate(time.Second)
	if rl.RetryAfter < wait && rl.RetryAfter <= math.MaxInt64-time.Second {
		rl.RetryAfter += time.Second
	}
	rl.Reset = now.Add(wait)
	return rl
}

// oneLine folds whitespace so a message cannot forge extra log lines, and
// replaces other control characters (an ESC that would drive a terminal
// reading the log, say) with U+FFFD.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || (!unicode.IsPrint(r) && r != ' ') {
			return unicode.ReplacementChar
		}
		return r
	}, s)
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// ErrUnexpectedResponse is matched (errors.Is) by every *UnexpectedResponseError.
var ErrUnexpectedResponse = errors.New("milligold: unexpected response")

// UnexpectedResponseError is a 2xx answer that is not the one openapi.yaml
// documents for the operation: another status (201, 202, 204…), another
// media type than application/json, a body over 1 MiB or not JSON, an
// envelope whose success is not true, or data without a field the spec
// requires. The answer is not used: the call returns this error and no zero
// values. Body is a redacted snippet (empty for the token request, whose
// body may hold a token never accepted); Err, when set, is the decoding error
// (errors.As finds a *json.SyntaxError, say). Safe to read concurrently.
type UnexpectedResponseError struct {
	Operation   string
	StatusCode  int
	ContentType string // as the server sent it, redacted and cut to 512 bytes
	Reason      string // what is wrong, e.g. `success is false: "maintenance"`
	Body        string // at most 512 bytes of the body, redacted
	Err         error
}

// Error reads like "milligold: getGoldRate: unexpected answer (200 OK):
// data has no "rate"".
func (e *UnexpectedResponseError) Error() string {
	var b strings.Builder
	b.WriteString("milligold: ")
	if e.Operation != "" {
		b.WriteString(e.Operation + ": ")
	}
	b.WriteString("unexpected answer (" + statusLine(e.StatusCode) + ")")
	if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	return b.String()
}

// Unwrap returns the decoding error, if any.
func (e *UnexpectedResponseError) Unwrap() error { return e.Err }

// Is matches ErrUnexpectedResponse.
func (e *UnexpectedResponseError) Is(target error) bool { return target == ErrUnexpectedResponse }

// RedirectError is a 3xx answer with a Location. The Client follows no
// redirect, to another origin or its own: the API documents none, and
// following one would send the access token, or on a 307/308 to the token
// request the partner secret, wherever the server points (and accept a
// token or data from there). Location is the target resolved against the
// request, redacted; CrossOrigin says whether it leaves the base URL's
// scheme, host and port. errors.Is matches ErrRedirect.
type RedirectError struct {
	Operation   string
	StatusCode  int
	Location    string
	CrossOrigin bool
}

// ErrRedirect is matched (errors.Is) by every *RedirectError.
var ErrRedirect = errors.New("milligold: redirect not followed")

// Error reads like "milligold: getGoldRate: 302 Found: redirect to
// https://elsewhere.example/collect (another origin) not followed".
func (e *RedirectError) Error() string {
	var b strings.Builder
	b.WriteString("milligold: ")
	if e.Operation != "" {
		b.WriteString(e.Operation + ": ")
	}
	b.WriteString(statusLine(e.StatusCode) + ": redirect to " + strconv.Quote(e.Location))
	if e.CrossOrigin {
		b.WriteString(" (another origin)")
	}
	b.WriteString(" not followed; the client sends credentials only to its base URL")
	return b.String()
}

// Is matches ErrRedirect.
func (e *RedirectError) Is(target error) bool { return target == ErrRedirect }
