package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"

	"github.com/milligold/milligold-go/gen/api"
	"github.com/milligold/milligold-go/gen/apiserver"
	"github.com/milligold/milligold-go/gen/apispec"
	"github.com/milligold/milligold-go/gen/middleware"
)

// Response is an answer declared in the config for an operation without
// hand-written behaviour: Status is one the spec documents for it; a 2xx
// answers Data in the success envelope, a 4xx or 5xx answers Error in the
// error envelope with a fresh errorCode. The whole pipeline (validation,
// bearer check, rate limit) runs first; Prefer headers still win.
type Response struct {
	Status int
	Data   any    // JSON values, as encoding/json encodes them
	Error  string // the message of a 4xx or 5xx
}

// handWritten names the operations server.go answers itself, with what
// configures them instead of a response. It is derived from server's
// methods, so it cannot drift from them: an operation gains an entry by
// having a method written, and a new operation of the spec needs no line.
var handWritten = ownOperations(reflect.TypeFor[struct {
	*server
	apiserver.Examples
}](), configuredBy)

// configuredBy says, for the message refusing a declared response, which
// config section shapes an operation's hand-written behaviour. Only the
// message reads it (an operation missing here gets a generic hint);
// TestHandWrittenDerived holds it to the hand-written methods.
var configuredBy = map[string]string{
	middleware.OpCreateAccessToken: "partners",
	middleware.OpGetGoldRate:       "goldRate",
	middleware.OpGetUserInfo:       "users",
}

// ownOperations returns the operations (by id, with their configuredBy
// hint) a server type answers with its own methods rather than the ones it
// embeds from apiserver.Examples. probe is struct{ *T; apiserver.Examples }
// for the server type T: Go's selector rule makes a method that T declares
// (depth 1 in probe) collide with Examples' (depth 1) and drop out of probe's
// method set, while one T only promotes from its own embedded Examples
// (depth 2) is shadowed by probe's Examples and stays.
func ownOperations(probe reflect.Type, hints map[string]string) map[string]string {
	own := map[string]string{}
	for _, op := range middleware.Operations {
		if _, ok := probe.MethodByName(op.GoName); ok {
			continue
		}
		hint, ok := hints[op.ID]
		if !ok {
			hint = "its own section of the config"
		}
		own[op.ID] = hint
	}
	return own
}

// The operations and spec responses are checked against; tests extend them.
var (
	specOperations = func() []middleware.Operation { return middleware.Operations }
	specDocument   = sync.OnceValues(apispec.GetSwagger)
)

// placeholderErrorCode stands for the fresh errorCode when an error answer
// is checked against its schema at load time.
const placeholderErrorCode = "00000000-0000-0000-0000-000000000000"

// maxDataValues bounds a declared body: a config is not a data set, and an
// alias bomb must not expand.
const maxDataValues = 10000

// responseProblems checks each declared response against the spec.
func responseProblems(rs map[string]Response, bad func(path, format string, args ...any)) {
	if len(rs) == 0 {
		return
	}
	ops := specOperations()
	ids := fields{}
	for _, op := range ops {
		ids[op.ID] = nil
	}
	for _, id := range slices.Sorted(func(yield func(string) bool) {
		for id := range rs {
			if !yield(id) {
				return
			}
		}
	}) {
		r, at := rs[id], "responses."+pathKey(id)
		i := slices.IndexFunc(ops, func(op middleware.Operation) bool { return op.ID == id })
		if i < 0 {
			if near := suggest(id, ids); near != "" {
				bad(at, "not an operation of the spec (did you mean %s?)", near)
			} else {
				bad(at, "not an operation of the spec (it has %s)", strings.Join(slices.Sorted(mapKeys(ids)), ", "))
			}
			continue
		}
		if what, ok := handWritten[id]; ok {
			bad(at, "%s has hand-written behaviour in the sandbox (configure it with %s); responses are for the other operations", id, what)
			continue
		}
		if _, err := encodeResponse(ops[i], r); err != nil {
			bad(at+"."+err.field, "%s", err.msg)
		}
	}
}

type responseError struct{ field, msg string }

// encodeResponse checks r against op's documented responses and returns
// its body: the 2xx's whole answer, or the 4xx/5xx's envelope with the
// placeholder errorCode (replaced per request).
func encodeResponse(op middleware.Operation, r Response) ([]byte, *responseError) {
	doc, err := specDocument()
	if err != nil {
		return nil, &responseError{"status", "the embedded spec does not load: " + err.Error()}
	}
	var specOp *openapi3.Operation
	if item := doc.Paths.Find(op.Path); item != nil {
		specOp = item.GetOperation(op.Method)
	}
	var documented []string
	var ref *openapi3.ResponseRef
	if specOp != nil && specOp.Responses != nil {
		for code, rr := range specOp.Responses.Map() {
			documented = append(documented, code)
			if code == strconv.Itoa(r.Status) {
				ref = rr
			}
		}
	}
	slices.Sort(documented)
	switch {
	case r.Status == 0:
		return nil, &responseError{"status", "required: one of " + strings.Join(documented, ", ")}
	case ref == nil || ref.Value == nil:
		return nil, &responseError{"status", fmt.Sprintf("%d is not a status the spec documents for %s (it documents %s)", r.Status, op.ID, strings.Join(documented, ", "))}
	}
	var required []string
	for name, h := range ref.Value.Headers {
		if h != nil && h.Value != nil && h.Value.Required {
			required = append(required, name)
		}
	}
	if len(required) > 0 {
		// A declared answer has a body only; without them it would break the spec.
		slices.Sort(required)
		return nil, &responseError{"status", fmt.Sprintf("the spec requires the headers %s on %s's %d, which a declared response does not send (the rate limit and Prefer: code=%d answer it)", strings.Join(required, ", "), op.ID, r.Status, r.Status)}
	}
	var body any
	switch {
	case r.Status < 300:
		if r.Error != "" {
			return nil, &responseError{"error", fmt.Sprintf("only for a 4xx or 5xx; a %d answers data", r.Status)}
		}
		body = map[string]any{"success": true, "data": r.Data}
	case r.Status >= 400:
		if r.Data != nil {
			return nil, &responseError{"data", fmt.Sprintf("only for a 2xx; a %d answers an error message", r.Status)}
		}
		if strings.TrimSpace(r.Error) == "" {
			return nil, &responseError{"error", fmt.Sprintf("required: the message of the %d", r.Status)}
		}
		body = api.ErrorResponse{Success: false, Error: r.Error, ErrorCode: placeholderErrorCode}
	default:
		return nil, &responseError{"status", fmt.Sprintf("%d: only a 2xx, 4xx or 5xx can be declared", r.Status)}
	}
	mt := ref.Value.Content.Get("application/json")
	if mt == nil {
		if r.Data != nil || r.Error != "" {
			return nil, &responseError{"status", fmt.Sprintf("the spec documents no body for %s %d: declare neither data nor error", op.ID, r.Status)}
		}
		return []byte{}, nil
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, &responseError{"data", "does not encode as JSON: " + oneLine(err.Error())}
	}
	if mt.Schema != nil && mt.Schema.Value != nil {
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, &responseError{"data", "does not encode as JSON: " + oneLine(err.Error())}
		}
		if err := mt.Schema.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
			field := "data"
			if r.Status >= 400 {
				field = "error"
			}
			return nil, &responseError{field, fmt.Sprintf("the answer breaks the spec's schema for %s %d: %s", op.ID, r.Status, schemaMessage(err))}
		}
	}
	return append(b, '\n'), nil
}

var spaces = regexp.MustCompile(`\s+`)

// oneLine keeps a message on its line: a config error is one line per problem.
func oneLine(s string) string {
	s = strings.TrimSpace(spaces.ReplaceAllString(s, " "))
	if len(s) > 300 {
		s = clip300(s)
	}
	return s
}

func clip300(s string) string {
	cut := 300
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// schemaMessage is kin-openapi's reasons without the schema dumps it adds.
func schemaMessage(err error) string {
	var msgs []string
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, x := range e {
				walk(x)
			}
		case *openapi3.SchemaError:
			m := e.Reason
			if p := e.JSONPointer(); len(p) > 0 {
				m = "at /" + strings.Join(p, "/") + ": " + m
			}
			msgs = append(msgs, m)
		default:
			msgs = append(msgs, err.Error())
		}
	}
	walk(err)
	return oneLine(strings.Join(msgs, "; "))
}

// configuredAnswer is a declared response, encoded once.
type configuredAnswer struct {
	status int
	body   []byte // the 2xx's answer
	error  string // the 4xx/5xx's message
}

// configuredAnswers encodes cfg's responses (validated) by the strict
// server's operation name, what the middleware is called with.
func configuredAnswers(rs map[string]Response) map[string]configuredAnswer {
	as := make(map[string]configuredAnswer, len(rs))
	for id, r := range rs {
		op, ok := middleware.OperationByID(id)
		if !ok {
			continue
		}
		b, err := encodeResponse(op, r)
		if err != nil {
			continue
		}
		as[op.GoName] = configuredAnswer{status: r.Status, body: b, error: r.Error}
	}
	return as
}

// responses is the strict middleware that answers the declared responses.
// It runs innermost: after the bearer check and the rate limit, and after
// the control API's Prefer and faults, which win over it.
func (s *Sandbox) responses(next api.StrictHandlerFunc, goName string) api.StrictHandlerFunc {
	a, declared := s.answers[goName]
	if !declared {
		return next
	}
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, request any) (any, error) {
		if a.status >= 400 {
			b, err := json.Marshal(s.envelope(ctx, a.status, a.error))
			if err != nil {
				return nil, err
			}
			return apiserver.Example{Status: a.status, Body: string(b) + "\n"}, nil
		}
		info(ctx).message = "response from the config"
		return apiserver.Example{Status: a.status, Body: string(a.body)}, nil
	}
}

// jsonValue turns a YAML node into the JSON value it spells: numbers keep
// their text, timestamps stay strings, and budget bounds the values.
func (d *decoder) jsonValue(n *yaml.Node, path string, budget *int) any {
	*budget--
	if *budget < 0 {
		if *budget == -1 {
			d.fail(n, path, "too large: at most %d values", maxDataValues)
		}
		return nil
	}
	v := deref(n)
	switch v.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(v.Content)/2)
		for i := 0; i+1 < len(v.Content); i += 2 {
			k := deref(v.Content[i])
			if k.Kind != yaml.ScalarNode || isNull(k) {
				d.fail(v.Content[i], path, "want a string key, got %s", describe(k))
				continue
			}
			p := path + "." + pathKey(k.Value)
			if _, dup := m[k.Value]; dup {
				d.fail(v.Content[i], p, "duplicate key")
				continue
			}
			m[k.Value] = d.jsonValue(v.Content[i+1], p, budget)
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, 0, len(v.Content))
		for i, c := range v.Content {
			l = append(l, d.jsonValue(c, fmt.Sprintf("%s[%d]", path, i), budget))
		}
		return l
	case yaml.ScalarNode:
		switch v.Tag {
		case "!!null":
			return nil
		case "!!bool":
			var b bool
			if v.Decode(&b) == nil {
				return b
			}
		case "!!int", "!!float":
			if jsonNumber.MatchString(v.Value) {
				return json.Number(v.Value)
			}
			d.fail(n, path, "%s is not a JSON number", clip(v.Value))
			return nil
		}
		return v.Value
	}
	d.fail(n, path, "want a JSON value, got %s", describe(v))
	return nil
}

var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// responses decodes the responses section: operation ids to responses.
func (d *decoder) responses(n *yaml.Node, path string, c *Config) {
	m := deref(n)
	if isNull(m) {
		return
	}
	if m.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping of operation ids to responses, got %s", describe(m))
		return
	}
	budget := maxDataValues
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		p := path + "." + pathKey(k.Value)
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.fail(k, p, "want an operation id, got %s", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.fail(k, p, "duplicate key (first on line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		var r Response
		d.mapping(v, p, "a response's status and data or error", fields{
			"status": func(v *yaml.Node, p string) { d.integer(v, p, &r.Status) },
			"data":   func(v *yaml.Node, p string) { r.Data = d.jsonValue(v, p, &budget) },
			"error":  func(v *yaml.Node, p string) { d.str(v, p, &r.Error) },
		})
		if c.Responses == nil {
			c.Responses = map[string]Response{}
		}
		c.Responses[k.Value] = r
	}
}
