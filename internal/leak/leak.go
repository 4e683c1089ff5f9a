// Package leak finds secrets where they must not be: in log records, error
// strings and formatted values. Tests hand it everything a scenario produced
// and the secrets that scenario used.
package leak

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// jwt matches anything shaped like a compact JWS (header.payload.signature),
// whatever signed it: a token in the output is a leak even if no test knew it.
var jwt = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)

// Find returns what in text is a secret: each given secret (empty ones are
// ignored) that occurs in it, masked, and each JWT-shaped string. nil means clean.
func Find(text string, secrets ...string) []string {
	var found []string
	for i, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			found = append(found, fmt.Sprintf("secret #%d (%d bytes)", i, len(s)))
		}
	}
	if n := len(jwt.FindAllStringIndex(text, -1)); n > 0 {
		found = append(found, fmt.Sprintf("%d JWT-shaped string(s)", n))
	}
	return found
}

// Check fails t when text carries a secret or a token, naming what (from
// where) without printing the value.
func Check(t testing.TB, where, text string, secrets ...string) {
	t.Helper()
	if found := Find(text, secrets...); found != nil {
		t.Errorf("%s carries %s:\n%s", where, strings.Join(found, ", "), Mask(text, secrets...))
	}
}

// Mask replaces the secrets and JWT-shaped strings in text with markers, so
// a failure message can show the context of a leak without repeating it.
func Mask(text string, secrets ...string) string {
	for _, s := range secrets {
		if s != "" {
			text = strings.ReplaceAll(text, s, "[SECRET]")
		}
	}
	return jwt.ReplaceAllString(text, "[JWT]")
}

// Formats renders v with every verb a careless caller might log it with.
func Formats(v any) string {
	return fmt.Sprintf("%v\n%+v\n%#v\n%s\n%q", v, v, v, v, v)
}

// Log is an slog.Handler that keeps every record, at every level, as text
// and as JSON. It is safe for concurrent use.
type Log struct {
	mu   *sync.Mutex
	buf  *bytes.Buffer
	text slog.Handler
	json slog.Handler
}

// NewLog returns an empty Log that records Debug and above.
func NewLog() *Log {
	buf := new(bytes.Buffer)
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	return &Log{mu: new(sync.Mutex), buf: buf, text: slog.NewTextHandler(buf, opts), json: slog.NewJSONHandler(buf, opts)}
}

// Logger returns a logger writing to l.
func (l *Log) Logger() *slog.Logger { return slog.New(l) }

// String returns everything recorded so far.
func (l *Log) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Enabled implements slog.Handler: every level.
func (l *Log) Enabled(context.Context, slog.Level) bool { return true }

// Handle implements slog.Handler.
func (l *Log) Handle(ctx context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.text.Handle(ctx, r.Clone()); err != nil {
		return err
	}
	return l.json.Handle(ctx, r)
}

// WithAttrs implements slog.Handler.
func (l *Log) WithAttrs(as []slog.Attr) slog.Handler {
	return &Log{mu: l.mu, buf: l.buf, text: l.text.WithAttrs(as), json: l.json.WithAttrs(as)}
}

// WithGroup implements slog.Handler.
func (l *Log) WithGroup(name string) slog.Handler {
	return &Log{mu: l.mu, buf: l.buf, text: l.text.WithGroup(name), json: l.json.WithGroup(name)}
}
