package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	milligold "github.com/milligold/milligold-go"
	"github.com/milligold/milligold-go/gen/middleware"
)

// maxCallBody bounds a -d body: the API's requests are a few hundred bytes.
const maxCallBody = 1 << 20

func (a *app) callCmd() *cobra.Command {
	var f clientFlags
	var params []string
	var data string
	cmd := &cobra.Command{
		Use:   "call OPERATION_ID [-p name=value]... [-d JSON|@file|@-]",
		Short: "Call any operation of the API by its operationId",
		Long: `Call any operation of openapi.yaml by its operationId, in the spirit of
'gh api': path, query and header parameters from -p name=value (an
array's items comma-separated: -p ids=1,2), a JSON request body
from -d (a literal, @file, or @- for stdin). It prints the answer's data: a
table of its fields, or with -o json the data as the API sent it. The same
token, rate limit and answer checks apply as to the other commands.

Operations: ` + strings.Join(callableIDs(), ", ") + `.`,
		Example: `  milligold call getGoldRate
  milligold call getUserInfo -p mobileNumber=1234567890 -o json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("call takes one operation id, e.g. 'milligold call getGoldRate'; got %d arguments (operations: %s)", len(args), strings.Join(callableIDs(), ", "))
			}
			return checkOperationID(args[0])
		},
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return callableIDs(), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := parseParams(params)
			if err != nil {
				return err
			}
			body, err := a.readCallBody(data, cmd.Flags().Changed("data"))
			if err != nil {
				return err
			}
			s, err := a.newSession(&f)
			if err != nil {
				return err
			}
			var out json.RawMessage
			var invalid error
			err = s.call(cmd.Context(), func(ctx context.Context) (err error) {
				out, err = s.client.Call(ctx, args[0], p, body)
				if errors.Is(err, milligold.ErrInvalidCall) {
					invalid = err // nothing was sent: a usage error, not the API's
					return nil
				}
				return err
			})
			if invalid != nil {
				return usagef("call %s", strings.TrimPrefix(invalid.Error(), milligold.ErrInvalidCall.Error()+": "))
			}
			if err != nil {
				return err
			}
			if s.output == "json" {
				var buf bytes.Buffer
				if err := json.Indent(&buf, out, "", "  "); err != nil {
					return err
				}
				buf.WriteByte('\n')
				_, err := a.stdout.Write(buf.Bytes())
				return err
			}
			return writeDataTable(a.stdout, out)
		},
	}
	f.register(cmd)
	fs := cmd.Flags()
	fs.StringArrayVarP(&params, "param", "p", nil, "a path, query or header parameter, name=value (repeatable; an array's items comma-separated)")
	fs.StringVarP(&data, "data", "d", "", "the JSON request body: a literal, @file, or @- for stdin")
	return cmd
}

// callableIDs are the operation ids call takes: all of the generated table
// but the token operation, which 'milligold token' covers.
func callableIDs() []string {
	var ids []string
	for _, op := range middleware.Operations {
		if !op.IssuesToken {
			ids = append(ids, op.ID)
		}
	}
	return ids
}

// checkOperationID refuses an id the table lacks, suggesting the closest.
func checkOperationID(id string) error {
	if op, ok := middleware.OperationByID(id); ok {
		if op.IssuesToken {
			return usagef("call %s: the token operation; use 'milligold token'", id)
		}
		return nil
	}
	ids := callableIDs()
	best, bestDist := "", -1
	for _, c := range ids {
		if d := editDistance(strings.ToLower(id), strings.ToLower(c)); bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	return usagef("call: unknown operation %q; did you mean %q? (operations: %s)", id, best, strings.Join(ids, ", "))
}

// editDistance is the Levenshtein distance between a and b, by rune.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// parseParams reads -p name=value flags; a name given twice is refused
// rather than one silently winning.
func parseParams(flags []string) (map[string]string, error) {
	p := map[string]string{}
	for _, kv := range flags {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" {
			return nil, usagef("-p %q: want name=value", kv)
		}
		if _, dup := p[name]; dup {
			return nil, usagef("-p %s given twice", name)
		}
		p[name] = value
	}
	return p, nil
}

// readCallBody is -d's body: nil without -d; a literal, @file or @- (stdin),
// bounded and required to be JSON.
func (a *app) readCallBody(d string, given bool) ([]byte, error) {
	if !given {
		return nil, nil
	}
	var body []byte
	switch {
	case d == "@-":
		b, err := io.ReadAll(io.LimitReader(a.stdin, maxCallBody+1))
		if err != nil {
			return nil, usagef("-d @-: %v", err)
		}
		body = b
	case strings.HasPrefix(d, "@"):
		fh, err := os.Open(d[1:])
		if err != nil {
			return nil, usagef("-d: %v", err)
		}
		defer fh.Close()
		b, err := io.ReadAll(io.LimitReader(fh, maxCallBody+1))
		if err != nil {
			return nil, usagef("-d %s: %v", d, err)
		}
		body = b
	default:
		body = []byte(d)
	}
	if len(body) > maxCallBody {
		return nil, usagef("-d: the body is over %d bytes", maxCallBody)
	}
	if !json.Valid(body) {
		return nil, usagef("-d: the body is not valid JSON")
	}
	return body, nil
}

// writeDataTable prints an object's fields in the API's order, one a row:
// strings as they are, null as "-", numbers, booleans, arrays and objects as
// JSON. Data that is not an object is printed as indented JSON.
func writeDataTable(w io.Writer, data json.RawMessage) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		var buf bytes.Buffer
		if err := json.Indent(&buf, data, "", "  "); err != nil {
			return err
		}
		buf.WriteByte('\n')
		_, err := w.Write(buf.Bytes())
		return err
	}
	var rows []row
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return err
		}
		rows = append(rows, row{printable(key), dataValue(v)}) // the key comes from the API too
	}
	return writeTable(w, rows)
}

func dataValue(v json.RawMessage) string {
	var s string
	switch {
	case string(v) == "null":
		return "-"
	case json.Unmarshal(v, &s) == nil && utf8.ValidString(s):
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, v) != nil {
		return string(v)
	}
	return buf.String()
}
