package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"
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
