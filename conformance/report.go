package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Result is a case's outcome.
type Result string

// Results.
const (
	Pass Result = "pass"
	Fail Result = "fail"
	Skip Result = "skip"
)

// CaseResult is the outcome of one named case.
type CaseResult struct {
	Name       string      `json:"name"` // "GET /user/info/{mobileNumber}: 404"
	Pair       Pair        `json:"pair"` // the (operation, status) pair it asserts
	Result     Result      `json:"result"`
	Error      string      `json:"error,omitempty"`      // the failed assertion, or why the case was skipped
	Violations []Violation `json:"violations,omitempty"` // what its traffic broke of the spec
}

// Detail is what a table shows for the case: its first violation, else its
// error.
func (c CaseResult) Detail() string {
	if len(c.Violations) > 0 {
		return c.Violations[0].String()
	}
	return c.Error
}

// Report is the outcome of Run. It holds no secrets.
type Report struct {
	BaseURL string       `json:"baseURL"`
	Error   string       `json:"error,omitempty"` // why the suite could not run at all
	Cases   []CaseResult `json:"cases"`
	// Exercised are the documented (operation, status) pairs a case ran for;
	// NotExercised the rest, whose cases were skipped (faults, rate limit).
	Exercised    []Pair `json:"exercised"`
	NotExercised []Pair `json:"notExercised"`
}

// Passed reports whether the suite ran and no case failed.
func (r Report) Passed() bool {
	if r.Error != "" {
		return false
	}
	for _, c := range r.Cases {
		if c.Result == Fail {
			return false
		}
	}
	return true
}

// Count returns how many cases had result res.
func (r Report) Count(res Result) int {
	n := 0
	for _, c := range r.Cases {
		if c.Result == res {
			n++
		}
	}
	return n
}

// WriteTable writes one line per case (case, result, first violation or
// error) and a summary.
func (r Report) WriteTable(w io.Writer) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "CASE\tRESULT\tFIRST VIOLATION\n")
	for _, c := range r.Cases {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, c.Result, oneLine(c.Detail()))
	}
	tw.Flush()
	for line := range strings.Lines(buf.String()) { // without tabwriter's trailing padding
		fmt.Fprintln(w, strings.TrimRight(line, " \n"))
	}
	if r.Error != "" {
		fmt.Fprintf(w, "error: %s\n", r.Error)
	}
	fmt.Fprintf(w, "%s: %d passed, %d failed, %d skipped", r.BaseURL, r.Count(Pass), r.Count(Fail), r.Count(Skip))
	if len(r.NotExercised) > 0 {
		names := make([]string, len(r.NotExercised))
		for i, p := range r.NotExercised {
			names[i] = p.String()
		}
		fmt.Fprintf(w, "; not exercised: %s", strings.Join(names, ", "))
	}
	_, err := fmt.Fprintln(w)
	return err
}

// WriteJSON writes the report as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
