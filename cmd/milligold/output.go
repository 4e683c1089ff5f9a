package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	milligold "github.com/milligold/milligold-go"
)

// row is one line of a two-column table: a label and its value.
type row struct{ label, value string }

// writeTable prints rows as an aligned two-column table. Values come from
// the API, so control characters are replaced: an answer cannot move the
// cursor or forge lines on the reader's terminal.
func writeTable(w io.Writer, rows []row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", r.label, printable(r.value))
	}
	return tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return unicode.ReplacementChar
	}, s)
}

// orDash shows a missing (null) value as "-".
func orDash(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

// errorJSON is the object a failed command prints on stdout with -o json.
// Kind says what failed; Status is the HTTP status whenever the API
// answered (an error envelope, a 429, a redirect, an undocumented answer),
// and absent when it did not (a timeout, a refused connection), rather than
// a status the API never sent.
type errorJSON struct {
	Error             string `json:"error"`
	Kind              string `json:"kind"`                        // see errorKind
	Status            int    `json:"status,omitempty"`            // the API's HTTP status, when it answered
	ErrorCode         string `json:"errorCode,omitempty"`         // the API's correlation id
	Location          string `json:"location,omitempty"`          // a redirect's target (not followed)
	RetryAfterSeconds int64  `json:"retryAfterSeconds,omitempty"` // a 429's wait, rounded up
	ExitCode          int    `json:"exitCode"`
}

// Kinds of failure in errorJSON.
const (
	kindAPI        = "api"                 // an error answer: 4xx or 5xx other than 429
	kindRateLimit  = "rate_limited"        // 429
	kindRedirect   = "redirect"            // a 3xx, not followed
	kindUnexpected = "unexpected_response" // a 2xx that is not the documented answer
	kindTimeout    = "timeout"             // no (whole) answer in time
	kindNetwork    = "network"             // no answer at all
	kindUsage      = "usage"               // bad flags, arguments or configuration
	kindOther      = "error"
)

// writeErrorJSON prints err as a JSON object on stdout when the failed
// command was asked for -o json, so a script reading stdout gets an answer
// it can parse (as gh does with --json); stderr still has the message.
func (a *app) writeErrorJSON(cmd *cobra.Command, err error, code int) {
	if cmd == nil {
		return
	}
	f := cmd.Flags().Lookup("output")
	if f == nil || f.Value.String() != "json" {
		return
	}
	out := errorJSON{Error: err.Error(), Kind: kindOther, ExitCode: code}
	var (
		re     *milligold.RedirectError
		ue     *milligold.UnexpectedResponseError
		rl     *milligold.RateLimitError
		apiErr *milligold.APIError
		netErr net.Error
		usage  usageError
	)
	// The order is explain's, so the kind agrees with the message.
	switch {
	case errors.As(err, &usage):
		out.Kind = kindUsage
	case errors.As(err, &re):
		out.Kind, out.Status, out.Location = kindRedirect, re.StatusCode, re.Location
	case errors.As(err, &ue):
		out.Kind, out.Status = kindUnexpected, ue.StatusCode
	case errors.As(err, &rl):
		out.Kind, out.Status, out.ErrorCode = kindRateLimit, rl.StatusCode, rl.ErrorCode
		out.RetryAfterSeconds = int64((rl.RetryAfter + time.Second - 1) / time.Second)
	case errors.As(err, &apiErr):
		out.Kind, out.Status, out.ErrorCode = kindAPI, apiErr.StatusCode, apiErr.ErrorCode
	case errors.Is(err, context.DeadlineExceeded):
		out.Kind = kindTimeout
	case errors.As(err, &netErr), errors.Is(err, syscall.ECONNREFUSED):
		out.Kind = kindNetwork
	}
	_ = writeJSON(a.stdout, out)
}

// explained is a client error as the CLI words it; Unwrap keeps the
// client's typed error reachable (writeErrorJSON reads its status).
type explained struct{ msg, cause error }

func (e explained) Error() string { return e.msg.Error() }
func (e explained) Unwrap() error { return e.cause }

// watchedWriter notes whether anything was written through it.
type watchedWriter struct {
	w     io.Writer
	wrote atomic.Bool
}

func (w *watchedWriter) Write(p []byte) (int, error) {
	w.wrote.Store(true)
	return w.w.Write(p)
}
