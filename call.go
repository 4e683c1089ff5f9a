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

	"github.com/oapi-codegen/runtime"

	"github.com/milligold/milligold-go/gen/middleware"
)

// ErrInvalidCall is matched (errors.Is) by Call's errors for a call that
// was never sent: an unknown operation, an unknown or missing parameter, a
// body the operation does not take or that is not JSON.
var ErrInvalidCall = errors.New("milligold: invalid call")

// Call calls any operation of openapi.yaml by its operationId, reading what
// it needs from the generated operation table: params holds its path, query
// and header parameters by name as the spec spells them (an array's items
// comma-separated: "ids": "1,2"), body its JSON request body (nil for
// none). Query and header parameters are sent as oapi-codegen's client
// sends them: form style in the query (an array as ids=1&ids=2, or
// ids=1,2 where the spec says explode: false), simple style in headers
// (X-Flags: a,b). An item that itself holds a comma needs Ops. It
// goes through the same token, rate-limit and answer checks as the typed
// methods and returns the success answer's data as it came; every non-2xx
// is the same typed error (*APIError, *RateLimitError, ...). An operation
// added to the spec is callable here once gen/ is regenerated.
//
// The token operation is not callable this way: use Token.
func (c *Client) Call(ctx context.Context, operationID string, params map[string]string, body []byte) (json.RawMessage, error) {
	return c.call(ctx, operationID, params, nil, body)
}

// call is Call with typed, Ops' query and header values by name (see
// callTarget).
func (c *Client) call(ctx context.Context, operationID string, params map[string]string, typed map[string]any, body []byte) (json.RawMessage, error) {
	var env callEnvelope
	if err := c.callInto(ctx, operationID, params, typed, body, &env); err != nil {
		return nil, err
	}
	if env.Data.raw == nil || string(env.Data.raw) == "null" {
		return nil, &UnexpectedResponseError{Operation: operationID, StatusCode: successStatus(operationID), ContentType: "application/json", Reason: `no "data"`}
	}
	return env.Data.raw, nil
}

// callInto sends a Call and decodes the success answer into dst, a pointer
// to an envelope type (readAnswer checks success and data's required fields).
func (c *Client) callInto(ctx context.Context, operationID string, params map[string]string, typed map[string]any, body []byte, dst any) error {
	op, target, header, err := c.callTarget(operationID, params, typed, body)
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
	for k, v := range header {
		req.Header[k] = v
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

// callTarget checks a Call against the table and returns the operation,
// the request's URL and its header parameters (nil for none). params holds
// values by name as Call takes them; typed (nil for none) holds Ops'
// values, an oapi-codegen params struct's fields, which win.
func (c *Client) callTarget(operationID string, params map[string]string, typed map[string]any, body []byte) (*middleware.Operation, string, http.Header, error) {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidCall, operationID, fmt.Sprintf(format, args...))
	}
	op, ok := operationByID(operationID)
	if !ok {
		return op, "", nil, fmt.Errorf("%w: no operation %q in the spec", ErrInvalidCall, operationID)
	}
	if op.IssuesToken {
		return op, "", nil, invalid("the token operation; use Token")
	}
	known := func(name string) bool {
		return slices.ContainsFunc(op.Params, func(p middleware.Param) bool { return p.Name == name })
	}
	for _, name := range sortedKeys(params) {
		if !known(name) {
			return op, "", nil, invalid("no parameter %q; %s", name, paramsHelp(*op))
		}
	}
	for name := range typed {
		if !known(name) {
			return op, "", nil, invalid("no parameter %q; %s", name, paramsHelp(*op))
		}
	}
	path := op.Path
	var query []string // encoded name=value fragments, in the table's order
	var header http.Header
	for _, p := range op.Params {
		v, isTyped := typed[p.Name]
		s, isString := params[p.Name]
		if !isTyped && !isString {
			if p.Required {
				return op, "", nil, invalid("missing required %s parameter %q", p.In, p.Name)
			}
			continue
		}
		if !isTyped && p.In != "path" {
			// Boxed only here: a path segment stays a string (no allocation).
			v = s
			if p.Array {
				v = strings.Split(s, ",")
			}
		}
		switch p.In {
		case "path":
			// A path segment: not empty, and not one a server or proxy
			// would resolve to another path.
			seg := s
			if isTyped {
				seg, _ = v.(string)
			}
			if seg == "" || seg == "." || seg == ".." {
				return op, "", nil, invalid("path parameter %q: %q is not a path segment", p.Name, seg)
			}
			path = strings.ReplaceAll(path, "{"+p.Name+"}", url.PathEscape(seg))
		case "query":
			frag, err := runtime.StyleParamWithLocation("form", p.Explode, p.Name, runtime.ParamLocationQuery, v)
			if err != nil {
				return op, "", nil, invalid("query parameter %q: %v", p.Name, err)
			}
			query = append(query, frag)
		case "header":
			hv, err := runtime.StyleParamWithLocation("simple", false, p.Name, runtime.ParamLocationHeader, v)
			if err != nil {
				return op, "", nil, invalid("header parameter %q: %v", p.Name, err)
			}
			if !validHeaderValue(hv) {
				return op, "", nil, invalid("header parameter %q: a control character cannot be sent in a header", p.Name)
			}
			if header == nil {
				header = http.Header{}
			}
			header.Set(p.Name, hv)
		}
	}
	switch {
	case body == nil && op.BodyRequired:
		return op, "", nil, invalid("needs a request body (%s)", op.BodyType)
	case body != nil && op.BodyType == "":
		return op, "", nil, invalid("takes no request body")
	case body != nil && op.BodyType != "application/json":
		return op, "", nil, invalid("takes a %s body; only JSON bodies can be sent this way", op.BodyType)
	case body != nil && !json.Valid(body):
		return op, "", nil, invalid("the request body is not valid JSON")
	}
	if path == op.Path && query == nil {
		return op, c.fixedTarget(op), header, nil
	}
	target := c.server + path
	if len(query) > 0 {
		target += "?" + strings.Join(query, "&")
	}
	return op, target, header, nil
}

// validHeaderValue reports whether v can go in a header field: no control
// character but horizontal tab (RFC 9110's field-value).
func validHeaderValue(v string) bool {
	for i := range len(v) {
		if b := v[i]; b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
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
// (path, required), ids (query, array)" or "it takes no parameters".
func paramsHelp(op middleware.Operation) string {
	if len(op.Params) == 0 {
		return "it takes no parameters"
	}
	parts := make([]string, len(op.Params))
	for i, p := range op.Params {
		kind := p.In
		if p.Array {
			kind += ", array"
		}
		if p.Required {
			kind += ", required"
		}
		parts[i] = fmt.Sprintf("%s (%s)", p.Name, kind)
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
