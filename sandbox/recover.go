package sandbox

import (
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/milligold/milligold-go/gen/middleware"
)

// recoverPanic, deferred by the outermost handler, turns a panic below it
// into the spec's 500 with the API's envelope, and logs it with the secrets
// of the request and the config cut out, so a bug in a handler costs one
// answer, not the connection. A deferred call that finds no panic costs a
// few instructions. http.ErrAbortHandler (the control API's dropped
// connection) goes on to net/http, which closes the connection quietly.
func (s *Sandbox) recoverPanic(w *recorder, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	stack := string(debug.Stack())
	msg := fmt.Sprint(v)
	if err, ok := v.(error); ok {
		msg = err.Error()
	}
	if w.wrote {
		// Part of the answer is out: a 500 cannot follow. Close the
		// connection instead, as net/http does for a panic.
		s.logPanic(r, msg, stack, "")
		panic(http.ErrAbortHandler)
	}
	s.writeError(w, r, http.StatusInternalServerError, "internal error")
	s.logPanic(r, msg, stack, info(r.Context()).errorCode)
}

func (s *Sandbox) logPanic(r *http.Request, msg, stack, errorCode string) {
	redact := s.secretsOf(r)
	cut := func(s string) string { return jwtShaped.ReplaceAllString(redact.Replace(s), "[REDACTED]") }
	s.logger.ErrorContext(r.Context(), "handler panicked",
		slog.String("method", r.Method),
		slog.String("path", r.URL.EscapedPath()),
		slog.String("errorCode", errorCode),
		slog.String("panic", cut(msg)),
		slog.String("stack", cut(stack)))
}

// jwtShaped matches what looks like a JWT (three base64url segments): a
// panic may carry a token of another request, which secretsOf cannot know.
var jwtShaped = regexp.MustCompile(`[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`)

// secretsOf replaces, in what a panic logs (besides anything shaped like a
// token: jwtShaped), every secret the request
// carries (its Authorization header and bearer token, the form's secret
// field) and every partner secret of the config with [REDACTED]. A stack
// trace shows arguments as words, not string contents, but it is run
// through the same replacer.
func (s *Sandbox) secretsOf(r *http.Request) *strings.Replacer {
	var secrets []string
	add := func(v string) {
		if v != "" {
			secrets = append(secrets, v)
		}
	}
	for _, v := range r.Header.Values("Authorization") {
		add(v)
		if _, tok, ok := strings.Cut(v, " "); ok {
			add(strings.TrimSpace(tok))
		}
	}
	for _, form := range []map[string][]string{r.PostForm, r.Form} {
		for _, v := range form[middleware.SecretFormField] {
			add(v)
		}
	}
	for _, p := range s.world.partners {
		add(p.Secret)
	}
	if s.ctl != nil {
		add(s.ctl.token)
	}
	// Longest first: at one position the replacer takes the first match, so
	// a token is cut whole before a secret inside it.
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	flat := make([]string, 0, 2*len(secrets))
	for _, v := range secrets {
		flat = append(flat, v, "[REDACTED]")
	}
	return strings.NewReplacer(flat...)
}
