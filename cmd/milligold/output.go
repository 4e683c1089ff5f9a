package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"text/tabwriter"
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
	out := struct {
		Error     string `json:"error"`
		Status    int    `json:"status,omitempty"`    // the API's HTTP status, when it answered
		ErrorCode string `json:"errorCode,omitempty"` // the API's correlation id
		ExitCode  int    `json:"exitCode"`
	}{Error: err.Error(), ExitCode: code}
	var apiErr *milligold.APIError
	if errors.As(err, &apiErr) {
		out.Status, out.ErrorCode = apiErr.StatusCode, apiErr.ErrorCode
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
