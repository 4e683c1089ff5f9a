package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/milligold/milligold-go/gen/apispec"
	"github.com/milligold/milligold-go/gen/middleware"
)

// Derived cases: for an (operation, status) pair no written case covers,
// the suite builds one from the spec where it can: the success from a valid
// request (parameter and body examples, else values built from their
// schemas), 401 for a secured operation (no token, a forged one), 429 in the
// window the written rate-limit case filled, and 400 from one parameter or
// body field that breaks its constraint. Pairs that need data (a user that
// does not exist) are not derivable and keep written cases.

// derivedPrefix starts the variant of every derived case, so a report tells
// them from written ones.
const derivedPrefix = "derived"

// authMode is the bearer a derived request carries.
type authMode int

const (
	authValid  authMode = iota // the session's token, when the operation needs one
	authNone                   // no Authorization header
	authForged                 // the API document's example token
)

// call is a request built from the spec.
type call struct {
	method   string
	path     string            // template: /things/{id}
	pathArgs map[string]string // path parameter values
	query    url.Values
	header   http.Header // header parameters
	body     []byte      // JSON; nil without a body
	bodyType string
}

// request builds the call under baseURL (with its base path).
func (c call) request(ctx context.Context, baseURL string) (*http.Request, error) {
	p := c.path
	for name, v := range c.pathArgs {
		p = strings.ReplaceAll(p, "{"+name+"}", url.PathEscape(v))
	}
	u := strings.TrimSuffix(baseURL, "/") + p
	if len(c.query) > 0 {
		u += "?" + c.query.Encode()
	}
	var body io.Reader
	if c.body != nil {
		body = bytes.NewReader(c.body) // sets GetBody, so the pacer can resend it
	}
	req, err := http.NewRequestWithContext(ctx, c.method, u, body)
	if err != nil {
		return nil, err
	}
	if c.body != nil {
		req.Header.Set("Content-Type", c.bodyType)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	return req, nil
}

// derivation is what a derived case sends and expects.
type derivation struct {
	call    call
	auth    authMode
	invalid bool // the request breaks the spec on purpose (ExpectInvalidRequest)
	bearer  bool // the operation needs a bearer token
}

// suiteCases returns the written cases and those derived from the embedded
// spec for the pairs the written ones leave uncovered.
func suiteCases() ([]testCase, error) {
	doc, err := apispec.GetSwagger()
	if err != nil {
		return nil, fmt.Errorf("conformance: load the embedded spec: %w", err)
	}
	return allCases(middleware.Operations, doc), nil
}

// Derived returns the pairs (as "METHOD /path" and status) for which the
// embedded spec gives enough to derive a case, written ones aside: tests of
// other packages (the sandbox's) accept these for operations they have no
// written case of their own for. TestDerivedCasesAgainstSandbox runs them.
func Derived() ([]Pair, error) {
	doc, err := apispec.GetSwagger()
	if err != nil {
		return nil, fmt.Errorf("conformance: load the embedded spec: %w", err)
	}
	var out []Pair
	for _, c := range deriveCases(middleware.Operations, doc, nil) {
		if !slices.Contains(out, c.pair) {
			out = append(out, c.pair)
		}
	}
	return out, nil
}

// allCases merges: derived cases that need nothing special run before the
// written rate-limit block (which spends the quota); derived 429s run right
// after the written 429s, in the window those filled, before it reopens.
func allCases(ops []middleware.Operation, doc *openapi3.T) []testCase {
	written := cases()
	return merge(written, deriveCases(ops, doc, written))
}

func merge(written, derived []testCase) []testCase {
	var plain, limited []testCase
	for _, c := range derived {
		if c.needs == needRateLimit {
			limited = append(limited, c)
		} else {
			plain = append(plain, c)
		}
	}
	firstRL := slices.IndexFunc(written, func(c testCase) bool { return c.needs == needRateLimit })
	if firstRL < 0 {
		firstRL = len(written)
	}
	last429 := -1
	for i, c := range written {
		if c.pair.Status == http.StatusTooManyRequests {
			last429 = i
		}
	}
	var out []testCase
	for i, c := range written {
		if i == firstRL {
			out = append(out, plain...)
		}
		out = append(out, c)
		if i == last429 {
			out = append(out, limited...)
		}
	}
	if firstRL == len(written) {
		out = append(out, plain...)
	}
	if last429 < 0 {
		out = append(out, limited...) // no window filled: they fail, naming why
	}
	return out
}

// deriveCases derives a case for each documented pair of ops that no
// written case covers and that the spec gives enough to build.
func deriveCases(ops []middleware.Operation, doc *openapi3.T, written []testCase) []testCase {
	covered := map[Pair]bool{}
	for _, c := range written {
		covered[c.pair] = true
	}
	var out []testCase
	for _, op := range ops {
		item := doc.Paths.Value(op.Path)
		if item == nil {
			continue
		}
		spec := item.GetOperation(op.Method)
		if spec == nil || spec.Responses == nil {
			continue
		}
		name := op.Method + " " + op.Path
		valid, ok := validCall(op, item, spec)
		if !ok {
			continue // nothing derivable without a valid request
		}
		var statuses []int
		for code := range spec.Responses.Map() {
			if s, err := strconv.Atoi(code); err == nil {
				statuses = append(statuses, s)
			}
		}
		slices.Sort(statuses)
		for _, status := range statuses {
			pair := Pair{name, status}
			if covered[pair] {
				continue // written cases win
			}
			base := derivation{call: valid, bearer: op.Bearer}
			switch {
			case status == op.Success:
				out = append(out, derivedCase(pair, "valid request", needNothing, base, checkSuccess(status)))
			case status == http.StatusUnauthorized && op.Bearer:
				none, forged := base, base
				none.auth, none.invalid = authNone, true // the security requirement is the spec's
				forged.auth = authForged
				out = append(out,
					derivedCase(pair, "missing bearer", needNothing, none, checkError(status)),
					derivedCase(pair, "forged bearer", needNothing, forged, checkError(status)))
			case status == http.StatusBadRequest:
				bad, what, ok := brokenCall(valid, item, spec)
				if !ok {
					continue
				}
				d := base
				d.call, d.invalid = bad, true
				out = append(out, derivedCase(pair, what, needNothing, d, checkError(status)))
			case status == http.StatusTooManyRequests:
				out = append(out, derivedCase(pair, "same window", needRateLimit, base, check429))
			}
		}
	}
	return out
}

func derivedCase(pair Pair, variant string, needs need, d derivation, check func(*session, response) error) testCase {
	return testCase{
		pair:    pair,
		variant: derivedPrefix + ": " + variant,
		needs:   needs,
		derived: &d,
		run: func(ctx context.Context, s *session) error {
			if needs == needRateLimit {
				if s.reset.IsZero() {
					return fmt.Errorf("no full window to test (%s: 429 did not pass)", opRate)
				}
				ctx = expectLimited(ctx)
			}
			r, err := s.sendDerived(ctx, d)
			if err != nil {
				return err
			}
			return check(s, r)
		},
	}
}

// sendDerived sends d through the suite's validating, pacing client.
func (s *session) sendDerived(ctx context.Context, d derivation) (response, error) {
	if d.invalid {
		ctx = ExpectInvalidRequest(ctx)
	}
	req, err := d.call.request(ctx, s.target.BaseURL)
	if err != nil {
		return response{}, err
	}
	switch {
	case !d.bearer:
	case d.auth == authValid:
		token, err := s.accessToken(ctx)
		if err != nil {
			return response{}, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
	case d.auth == authForged:
		req.Header.Set("Authorization", "Bearer "+forgedToken)
	}
	return read(s.doer.Do(req))
}

// checkSuccess wants the status and, in a JSON object answer, success true;
// the Transport checks the rest of the body against the spec.
func checkSuccess(status int) func(*session, response) error {
	return func(_ *session, r response) error {
		if err := wantStatus(r, status); err != nil {
			return err
		}
		var env struct {
			Success *bool `json:"success"`
		}
		if json.Unmarshal(r.body, &env) == nil && env.Success != nil && !*env.Success {
			return fmt.Errorf("success = false in a %d response; want true", status)
		}
		return nil
	}
}

func checkError(status int) func(*session, response) error {
	return func(_ *session, r response) error { return wantError(r, status) }
}

func check429(s *session, r response) error {
	_, err := s.check429(r)
	return err
}

// params returns the operation's parameters, its own over the path's.
func params(item *openapi3.PathItem, spec *openapi3.Operation) []*openapi3.Parameter {
	var out []*openapi3.Parameter
	seen := map[string]bool{}
	for _, list := range []openapi3.Parameters{spec.Parameters, item.Parameters} {
		for _, ref := range list {
			if p := ref.Value; p != nil && !seen[p.In+" "+p.Name] {
				seen[p.In+" "+p.Name] = true
				out = append(out, p)
			}
		}
	}
	return out
}

// jsonBody returns the operation's JSON request body, if it has one.
func jsonBody(spec *openapi3.Operation) (*openapi3.RequestBody, *openapi3.MediaType, string) {
	if spec.RequestBody == nil || spec.RequestBody.Value == nil {
		return nil, nil, ""
	}
	rb := spec.RequestBody.Value
	for _, mt := range []string{"application/json", "application/json; charset=utf-8"} {
		if m := rb.Content.Get(mt); m != nil {
			return rb, m, mt
		}
	}
	return rb, nil, ""
}

// validCall builds a request the spec accepts: every path parameter, every
// required query and header parameter (an array with one item, exploded in
// the query unless the spec says otherwise), and a JSON body when there is
// one. false when the spec gives no valid value for one of them (a pattern
// without an example, a required cookie, a body that is not JSON).
func validCall(op middleware.Operation, item *openapi3.PathItem, spec *openapi3.Operation) (call, bool) {
	c := call{method: op.Method, path: op.Path, pathArgs: map[string]string{}, query: url.Values{}, header: http.Header{}}
	for _, p := range params(item, spec) {
		if ignoredHeader(p) {
			continue // the transports own it, whatever the spec says
		}
		if !sendable(p) {
			if p.Required {
				return call{}, false
			}
			continue
		}
		if p.In != openapi3.ParameterInPath && !p.Required {
			continue
		}
		v, ok := paramValue(p)
		if !ok {
			return call{}, false
		}
		c.set(p, v)
	}
	rb, media, mt := jsonBody(spec)
	switch {
	case rb == nil:
	case media == nil:
		return call{}, false // a form or other body: the written cases' business
	default:
		v, ok := mediaValue(media)
		if !ok {
			return call{}, false
		}
		body, err := json.Marshal(v)
		if err != nil {
			return call{}, false
		}
		c.body, c.bodyType = body, mt
	}
	return c, true
}

// sendable reports whether a derived call can carry p: a path, query or
// header parameter (not one of the headers OpenAPI ignores as parameters:
// Accept, Content-Type, Authorization), in the default style.
func sendable(p *openapi3.Parameter) bool {
	switch p.In {
	case openapi3.ParameterInPath, openapi3.ParameterInQuery:
	case openapi3.ParameterInHeader:
		if ignoredHeader(p) {
			return false
		}
	default:
		return false
	}
	switch p.Style {
	case "", openapi3.SerializationForm, openapi3.SerializationSimple:
		return p.Content == nil
	}
	return false
}

// ignoredHeader reports whether p is a header OpenAPI says to ignore as a
// parameter: Accept, Content-Type or Authorization.
func ignoredHeader(p *openapi3.Parameter) bool {
	if p.In != openapi3.ParameterInHeader {
		return false
	}
	switch http.CanonicalHeaderKey(p.Name) {
	case "Accept", "Content-Type", "Authorization":
		return true
	}
	return false
}

// set puts p's value in the call as oapi-codegen's client sends it: an
// array's items repeated in the query (form, exploded), else joined with
// commas (explode: false; and headers, style simple).
func (c *call) set(p *openapi3.Parameter, items []string) {
	switch {
	case p.In == openapi3.ParameterInPath:
		c.pathArgs[p.Name] = items[0]
	case p.In == openapi3.ParameterInHeader:
		c.header.Set(p.Name, strings.Join(items, ","))
	case isArray(p) && (p.Explode == nil || *p.Explode):
		c.query[p.Name] = items
	default:
		c.query.Set(p.Name, strings.Join(items, ","))
	}
}

func isArray(p *openapi3.Parameter) bool {
	return p.Schema != nil && p.Schema.Value != nil && p.Schema.Value.Type.Is(openapi3.TypeArray)
}

// paramValue is a valid value for p as it goes in a URL or header: one
// string, or an array's items (at least one).
func paramValue(p *openapi3.Parameter) ([]string, bool) {
	var schema *openapi3.Schema
	if p.Schema != nil {
		schema = p.Schema.Value
	}
	cands := []any{p.Example}
	for _, name := range sortedKeys(p.Examples) {
		if ex := p.Examples[name]; ex != nil && ex.Value != nil {
			cands = append(cands, ex.Value.Value)
		}
	}
	v, ok := pick(schema, cands)
	if !ok {
		return nil, false
	}
	list, isList := v.([]any)
	if !isList {
		s, ok := scalar(v)
		return []string{s}, ok
	}
	if len(list) == 0 && schema.Items != nil {
		// An empty array sends nothing, which a required parameter is not.
		item, ok := build(schema.Items.Value, 1)
		if !ok {
			return nil, false
		}
		if list, ok = []any{item}, schema.VisitJSON([]any{item}) == nil; !ok {
			return nil, false
		}
	}
	items := make([]string, len(list))
	for i, item := range list {
		s, ok := scalar(item)
		if !ok || s == "" || strings.Contains(s, ",") && !(p.In == openapi3.ParameterInQuery && (p.Explode == nil || *p.Explode)) {
			return nil, false // an item a comma-separated list could not carry
		}
		items[i] = s
	}
	return items, len(items) > 0
}

// mediaValue is a valid body for m.
func mediaValue(m *openapi3.MediaType) (any, bool) {
	var schema *openapi3.Schema
	if m.Schema != nil {
		schema = m.Schema.Value
	}
	cands := []any{m.Example}
	for _, name := range sortedKeys(m.Examples) {
		if ex := m.Examples[name]; ex != nil && ex.Value != nil {
			cands = append(cands, ex.Value.Value)
		}
	}
	return pick(schema, cands)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// pick returns the first candidate schema accepts, else a value built from
// schema; every value is checked against schema.
func pick(schema *openapi3.Schema, cands []any) (any, bool) {
	if schema == nil {
		return nil, false
	}
	cands = append(cands, schema.Example, schema.Default)
	for _, c := range cands {
		if c == nil {
			continue
		}
		if v, ok := accepted(schema, c); ok {
			return v, true
		}
	}
	v, ok := build(schema, 0)
	if !ok {
		return nil, false
	}
	return accepted(schema, v)
}

// accepted normalises v as JSON decodes it and checks it against schema.
func accepted(schema *openapi3.Schema, v any) (any, bool) {
	v, ok := normalise(v)
	if !ok || schema.VisitJSON(v) != nil {
		return nil, false
	}
	return v, true
}

func normalise(v any) (any, bool) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return nil, false
	}
	return out, true
}

// build makes a value from schema alone: its example, default or first enum
// value, else the simplest value of its type within its bounds. A string
// with a pattern or a format and no example is not guessed.
func build(schema *openapi3.Schema, depth int) (any, bool) {
	if schema == nil || depth > 8 {
		return nil, false
	}
	for _, c := range []any{schema.Example, schema.Default} {
		if c != nil {
			if v, ok := accepted(schema, c); ok {
				return v, true
			}
		}
	}
	if len(schema.Enum) > 0 {
		return schema.Enum[0], true
	}
	t := schema.Type
	switch {
	case t == nil:
		return nil, false
	case t.Is(openapi3.TypeString):
		if schema.Pattern != "" || schema.Format != "" {
			return nil, false
		}
		return strings.Repeat("a", max(int(schema.MinLength), 1)), true
	case t.Is(openapi3.TypeInteger), t.Is(openapi3.TypeNumber):
		n := 1.0
		if schema.Min != nil {
			n = *schema.Min
			if schema.ExclusiveMin.IsTrue() {
				n++
			}
		}
		if schema.Max != nil && n > *schema.Max {
			n = *schema.Max
		}
		return n, true
	case t.Is(openapi3.TypeBoolean):
		return true, true
	case t.Is(openapi3.TypeArray):
		if schema.MinItems == 0 {
			return []any{}, true
		}
		if schema.Items == nil {
			return nil, false
		}
		item, ok := build(schema.Items.Value, depth+1)
		if !ok {
			return nil, false
		}
		items := make([]any, schema.MinItems)
		for i := range items {
			items[i] = item
		}
		return items, true
	case t.Is(openapi3.TypeObject):
		obj := map[string]any{}
		for _, name := range sortedKeys(schema.Properties) {
			ref := schema.Properties[name]
			if ref == nil || ref.Value == nil || ref.Value.ReadOnly {
				continue
			}
			v, ok := build(ref.Value, depth+1)
			if !ok {
				if slices.Contains(schema.Required, name) {
					return nil, false
				}
				continue
			}
			obj[name] = v
		}
		return obj, true
	}
	return nil, false
}

// scalar writes a parameter value as it goes in a URL; arrays and objects
// are not derived.
func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

// brokenCall spoils valid in one place the spec constrains: a parameter
// value that breaks its schema, a required query parameter left out, a body
// field that breaks its schema, a required body field left out; the first
// it finds, and what it did.
func brokenCall(valid call, item *openapi3.PathItem, spec *openapi3.Operation) (call, string, bool) {
	for _, p := range params(item, spec) {
		if !sendable(p) || p.Schema == nil || p.Schema.Value == nil {
			continue
		}
		schema, what := p.Schema.Value, ""
		if isArray(p) {
			// One item that breaks the items' schema.
			if schema.Items == nil || schema.Items.Value == nil {
				continue
			}
			schema, what = schema.Items.Value, " item"
		}
		for _, b := range breakers(schema, false) {
			s, ok := scalar(b.value)
			if !ok || s == "" && p.In != openapi3.ParameterInQuery {
				continue // an empty path segment routes elsewhere; an empty header is none
			}
			c := clone(valid)
			c.set(p, []string{s})
			return c, fmt.Sprintf("%s parameter %s%s %s", p.In, p.Name, what, b.what), true
		}
	}
	for _, p := range params(item, spec) {
		if p.Required && sendable(p) && p.In != openapi3.ParameterInPath {
			c := clone(valid)
			if p.In == openapi3.ParameterInHeader {
				c.header.Del(p.Name)
			} else {
				c.query.Del(p.Name)
			}
			return c, fmt.Sprintf("%s parameter %s missing", p.In, p.Name), true
		}
	}
	_, media, _ := jsonBody(spec)
	if media == nil || media.Schema == nil || media.Schema.Value == nil || valid.body == nil {
		return call{}, "", false
	}
	schema := media.Schema.Value
	var obj map[string]any
	if json.Unmarshal(valid.body, &obj) != nil {
		return call{}, "", false
	}
	for _, name := range sortedKeys(schema.Properties) {
		ref := schema.Properties[name]
		if ref == nil || ref.Value == nil || ref.Value.ReadOnly {
			continue
		}
		for _, b := range breakers(ref.Value, true) {
			spoilt := maps.Clone(obj)
			spoilt[name] = b.value
			if c, ok := withBody(valid, spoilt); ok {
				return c, fmt.Sprintf("body field %s %s", name, b.what), true
			}
		}
	}
	for _, name := range schema.Required {
		if _, ok := obj[name]; ok {
			spoilt := maps.Clone(obj)
			delete(spoilt, name)
			if c, ok := withBody(valid, spoilt); ok {
				return c, fmt.Sprintf("body field %s missing", name), true
			}
		}
	}
	return call{}, "", false
}

func clone(c call) call {
	c.pathArgs = maps.Clone(c.pathArgs)
	c.query = maps.Clone(c.query) // a value's slice is shared: Set and Del replace it, never append
	c.header = maps.Clone(c.header)
	return c
}

func withBody(c call, body map[string]any) (call, bool) {
	b, err := json.Marshal(body)
	if err != nil {
		return call{}, false
	}
	c = clone(c)
	c.body = b
	return c, true
}

// breaker is a value that breaks a schema, and how it does.
type breaker struct {
	value any
	what  string
}

// breakers lists values that schema rejects (each checked against it), the
// constraint each breaks first in the order tried. inBody adds a value of
// the wrong JSON type, which a URL cannot carry.
func breakers(schema *openapi3.Schema, inBody bool) []breaker {
	var cands []breaker
	t := schema.Type
	switch {
	case t == nil:
	case t.Is(openapi3.TypeString):
		if schema.Pattern != "" {
			cands = append(cands, breaker{"!", "breaks its pattern"})
		}
		if schema.MaxLength != nil {
			cands = append(cands, breaker{strings.Repeat("x", int(*schema.MaxLength)+1), "over its maxLength"})
		}
		if schema.MinLength > 0 {
			cands = append(cands, breaker{"", "under its minLength"})
		}
		if len(schema.Enum) > 0 {
			cands = append(cands, breaker{"not-in-the-enum", "outside its enum"})
		}
		if inBody {
			cands = append(cands, breaker{12345.0, "not a string"})
		}
	case t.Is(openapi3.TypeInteger), t.Is(openapi3.TypeNumber):
		cands = append(cands, breaker{"not-a-number", "not a number"})
		if schema.Max != nil {
			cands = append(cands, breaker{*schema.Max + 1, "over its maximum"})
		}
		if schema.Min != nil {
			cands = append(cands, breaker{*schema.Min - 1, "under its minimum"})
		}
	case t.Is(openapi3.TypeBoolean):
		cands = append(cands, breaker{"maybe", "not a boolean"})
	}
	var out []breaker
	for _, c := range cands {
		if schema.VisitJSON(c.value) != nil { // rejected indeed
			out = append(out, c)
		}
	}
	return out
}

// uncovered returns the documented pairs that no case, written or derived,
// asserts: what the coverage check names.
func uncovered(documented []Pair, cs []testCase) []Pair {
	asserted := map[Pair]bool{}
	for _, c := range cs {
		asserted[c.pair] = true
	}
	var out []Pair
	for _, p := range documented {
		if !asserted[p] {
			out = append(out, p)
		}
	}
	return out
}
