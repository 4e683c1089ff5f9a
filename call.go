package milligold

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/milligold/milligold-go/gen/middleware"
)

// ErrInvalidCall is matched (errors.Is) by Call's errors for a call that
// was never sent: an unknown operation, an unknown or missing parameter, a
// body the operation does not take or that is not JSON.
var ErrInvalidCall = errors.New("milligold: invalid call")

// Call calls any operation of openapi.yaml by its operationId, reading what
// it needs from the generated operation table: params holds its path and
// query parameters by name, body its JSON request body (nil for none). It
// goes through the same token, rate-limit and answer checks as the typed
// methods and returns the success answer's data as it came; every non-2xx
// is the same typed error (*APIError, *RateLimitError, ...). An operation
// added to the spec is callable here once gen/ is regenerated.
//
// The token operation is not callable this way: use Token.
func (c *Client) Call(ctx context.Context, operationID string, params map[string]string, body []byte) (json.RawMessage, error) {
	var env callEnvelope
	if err := c.callInto(ctx, operationID, params, body, &env); err != nil {
		return nil, err
	}
	if env.Data.raw == nil || string(env.Data.raw) == "null" {
		return nil, &UnexpectedResponseError{Operation: operationID, StatusCode: successStatus(operationID), ContentType: "application/json", Reason: `no "data"`}
	}
	return env.Data.raw, nil
}

// callInto sends a Call and decodes the success answer into dst, a pointer
// to an envelope type (readAnswer checks success and data's required fields).
func (c *Client) callInto(ctx context.Context, operationID string, params map[string]string, body []byte, dst any) error {
	op, target, err := c.callTarget(operationID, params, body)
	if err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(withOperation(ctx, op), op.Method, target, rd)
	if err != nil {
		return c.fail(op.ID, err)
	}
	// Shared value slices, made once: net/http only reads a request's
	// header, and Set or Add elsewhere replaces or grows a value rather
	// than writing it.
	req.Header["Accept"] = acceptJSON
	req.Header["User-Agent"] = c.userAgent
	if body != nil {
		req.Header.Set("Content-Type", op.BodyType)
	}
	resp, err := c.api.Client.Do(req)
	if err != nil {
		return c.fail(op.ID, err)
	}
	return c.readAnswer(op.ID, resp, dst)
}

var acceptJSON = []string{"application/json"}

// operationByID is middleware.OperationByID, but the table's own entry
// rather than a copy: a pointer in a context value costs no allocation.
func operationByID(id string) (*middleware.Operation, bool) {
	ops := middleware.Operations
	for i := range ops {
		if ops[i].ID == id {
			return &ops[i], true
		}
	}
	return nil, false
}

// callTarget checks a Call against the table and returns the operation and
// the request's URL.
func (c *Client) callTarget(operationID string, params map[string]string, body []byte) (*middleware.Operation, string, error) {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidCall, operationID, fmt.Sprintf(format, args...))
	}
	op, ok := operationByID(operationID)
	if !ok {
		return op, "", fmt.Errorf("%w: no operation %q in the spec", ErrInvalidCall, operationID)
	}
	if op.IssuesToken {
		return op, "", invalid("the token operation; use Token")
	}
	for _, name := range sortedKeys(params) {
		if !slices.ContainsFunc(op.Params, func(p middleware.Param) bool { return p.Name == name }) {
			return op, "", invalid("no parameter %q; %s", name, paramsHelp(*op))
		}
	}
	path := op.Path
	var query url.Values
	for _, p := range op.Params {
		v, ok := params[p.Name]
		if !ok {
			if p.Required {
				return op, "", invalid("missing required %s parameter %q", p.In, p.Name)
			}
			continue
		}
		if p.In == "path" {
			// A path segment: not empty, and not one a server or proxy
			// would resolve to another path.
			if v == "" || v == "." || v == ".." {
				return op, "", invalid("path parameter %q: %q is not a path segment", p.Name, v)
			}
			path = strings.ReplaceAll(path, "{"+p.Name+"}", url.PathEscape(v))
			continue
		}
		if query == nil {
			query = url.Values{}
		}
		query.Set(p.Name, v)
	}
	switch {
	case body == nil && op.BodyRequired:
		return op, "", invalid("needs a request body (%s)", op.BodyType)
	case body != nil && op.BodyType == "":
		return op, "", invalid("takes no request body")
	case body != nil && op.BodyType != "application/json":
		return op, "", invalid("takes a %s body; only JSON bodies can be sent this way", op.BodyType)
	case body != nil && !json.Valid(body):
		return op, "", invalid("the request body is not valid JSON")
	}
	if path == op.Path && query == nil {
		return op, c.fixedTarget(op), nil
	}
	target := c.server + path
	if len(query) > 0 {
		target += "?" + query.Encode()
	}
	return op, target, nil
}

// fixedTarget is the URL of an operation called without parameters: the
// base URL and its path, made once per operation rather than per call.
// Keyed by the table's entry (a pointer: no allocation), checked against its
// path (an entry edited in place is made again).
func (c *Client) fixedTarget(op *middleware.Operation) string {
	if v, ok := c.targets.Load(op); ok {
		if t := v.(*fixedTarget); t.path == op.Path {
			return t.url
		}
	}
	t := &fixedTarget{path: op.Path, url: c.server + op.Path}
	c.targets.Store(op, t)
	return t.url
}

type fixedTarget struct{ path, url string }

// paramsHelp lists op's parameters for a message: "parameters: mobileNumber
// (path, required)" or "it takes no parameters".
func paramsHelp(op middleware.Operation) string {
	if len(op.Params) == 0 {
		return "it takes no parameters"
	}
	parts := make([]string, len(op.Params))
	for i, p := range op.Params {
		req := ""
		if p.Required {
			req = ", required"
		}
		parts[i] = fmt.Sprintf("%s (%s%s)", p.Name, p.In, req)
	}
	return "parameters: " + strings.Join(parts, ", ")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// callEnvelope is any operation's success answer for readAnswer: success
// and data, the data kept as it came. rawData has no exported field, so
// readAnswer's required-field check asks nothing of it; Call checks that
// data is there.
type callEnvelope struct {
	Success bool    `json:"success"`
	Data    rawData `json:"data"`
}

type rawData struct{ raw json.RawMessage }

func (d *rawData) UnmarshalJSON(b []byte) error {
	d.raw = append(json.RawMessage(nil), b...)
	return nil
}
