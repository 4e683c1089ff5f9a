// Package codegen is milligold-gen's core: it reads the spec's token and
// rate-limit policy (x-milligold-token, x-milligold-rate-limit) and its
// security requirements with kin-openapi, and renders gen/middleware and
// gen/apiserver with jennifer. Generate is pure: spec bytes in, files out.
package codegen

import (
	"cmp"
	"context"

	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	oapi "github.com/oapi-codegen/oapi-codegen/v2/pkg/codegen"
)

// The spec extensions this generator reads.
const (
	extToken     = "x-milligold-token"
	extRateLimit = "x-milligold-rate-limit"
)

// Config says where the output goes and how errors name the spec.
type Config struct {
	SpecName  string // in error messages; "" means "openapi.yaml"
	Dir       string // output directory, slash-separated, relative to the module root; "" means "gen/middleware"
	ServerDir string // the server glue's output directory, likewise; "" means "gen/apiserver"
	APIImport string // import path of oapi-codegen's package; "" means the module's gen/api
}

func (o Config) withDefaults() Config {
	o.SpecName = cmp.Or(o.SpecName, "openapi.yaml")
	o.Dir = cmp.Or(o.Dir, "gen/middleware")
	o.ServerDir = cmp.Or(o.ServerDir, "gen/apiserver")
	o.APIImport = cmp.Or(o.APIImport, module+"/gen/api")
	return o
}

const module = "github.com/milligold/milligold-go"

// SpecError is a problem in the spec, at a place in it ("x-milligold-rate-limit.requests").
type SpecError struct {
	Spec  string
	Place string
	Msg   string
}

func (e *SpecError) Error() string {
	if e.Place == "" {
		return e.Spec + ": " + e.Msg
	}
	return e.Spec + ": " + e.Place + ": " + e.Msg
}

// model is what the templates need, all derived from the spec.
type model struct {
	opts      Config
	rate      rateLimit
	token     tokenPolicy
	ops       []operation
	bearerDef bool   // the spec's global security needs a bearer
	errorType string // Go name of the error envelope schema
	errorMsg  string // Go name of its message field
}

type rateLimit struct {
	requests, windowSeconds          int
	scope, windowStart               string
	limitHdr, remainingHdr, resetHdr string
}

type tokenPolicy struct {
	operationID     string
	lifetimeSeconds int
	// Go selectors, from the generated client's JSON200 and form body.
	tokenPath, expiresInPath string // e.g. "Data.AccessToken"
	idField, secretField     string // e.g. "PartnerId", "PartnerSecret"
	tokenGoName              string // e.g. "CreateAccessToken"
	// Wire names, for readers of the traffic (conformance redacts by them).
	tokenField, expiresInField, secretFormField string // e.g. "accessToken", "expiresIn", "partnerSecret"
}

type operation struct {
	id, goName, method, path string
	bearer, issuesToken      bool
	params                   []param // path, then query; each by name
	bodyType                 string  // the request body's media type; "" without one
	bodyRequired             bool
	success                  int          // the documented 2xx status, the lowest if several
	unauthorized             *errResponse // nil unless bearer
	tooMany                  errResponse
	result                   opResult // the success answer's Go types, for Ops
	// direct: the server glue binds the request itself (see directGlue);
	// pathArgs are then the path parameters' Go field names in path order,
	// pathNames their names in the spec.
	direct    bool
	pathArgs  []string
	pathNames []string
}

// errResponse is a documented 401 or 429 response: a $ref to a components response.
type errResponse struct {
	component string           // Go name of the components response, e.g. "TooManyRequests"
	headers   map[string]field // for 429: header name -> Go field
	// hasHeaders: the components response declares headers, so its Go type
	// is a struct of Body and Headers (a 401's are left zero).
	hasHeaders bool
	// shared: the operation documents the same components response for a
	// status that sorts before this one. oapi-codegen's strict server then
	// embeds the components response's type only in that first status's
	// type (GenerateResponseDefinitions: "do not let multiple status codes
	// ref to same response, it will break the type switch"); this status's
	// type is its own, <Op><status>JSONResponse holding the envelope (and
	// <Op><status>ResponseHeaders), with no embedded field. Upstream this is
	// by design, reported as an oddity in oapi-codegen/oapi-codegen#986 and
	// #1864 (open); we follow whichever shape each status gets.
	shared bool
}

type field struct{ name, typ string }

// param is a path, query or header parameter, as a generic caller
// (milligold call) must send it.
type param struct {
	name, in string
	required bool
	array    bool   // an array schema: several items
	explode  bool   // a query array sent as name=a&name=b (form's default), not name=a,b
	goType   string // a path parameter's argument type in Ops (string, int, int64, bool ...)
}

// build loads, validates and reads the spec into a model.
func build(spec []byte, opts Config) (*model, error) {
	opts = opts.withDefaults()
	fail := func(place, format string, args ...any) error {
		return &SpecError{Spec: opts.SpecName, Place: place, Msg: fmt.Sprintf(format, args...)}
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fail("", "%v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fail("", "invalid OpenAPI document: %v", err)
	}
	m := &model{opts: opts}
	if err := m.readRateLimit(doc, fail); err != nil {
		return nil, err
	}
	if err := m.readOperations(doc, fail); err != nil {
		return nil, err
	}
	if err := m.readToken(doc, fail); err != nil {
		return nil, err
	}
	return m, nil
}

type failFunc func(place, format string, args ...any) error

func (m *model) readRateLimit(doc *openapi3.T, fail failFunc) error {
	raw, ok := doc.Extensions[extRateLimit]
	if !ok {
		return fail(extRateLimit, "missing; the generator needs the rate-limit policy")
	}
	o, err := newObject(extRateLimit, raw, fail)
	if err != nil {
		return err
	}
	r := &m.rate
	r.requests, err = o.posInt("requests")
	if err != nil {
		return err
	}
	if r.windowSeconds, err = o.posInt("windowSeconds"); err != nil {
		return err
	}
	if r.scope, err = o.enum("scope", "partner"); err != nil {
		return err
	}
	if r.windowStart, err = o.enum("windowStart", "first-request"); err != nil {
		return err
	}
	h, err := o.object("headers")
	if err != nil {
		return err
	}
	if r.limitHdr, err = h.header("limit"); err != nil {
		return err
	}
	if r.remainingHdr, err = h.header("remaining"); err != nil {
		return err
	}
	if r.resetHdr, err = h.header("reset"); err != nil {
		return err
	}
	if err := h.done(); err != nil {
		return err
	}
	return o.done()
}

func (m *model) readToken(doc *openapi3.T, fail failFunc) error {
	raw, ok := doc.Extensions[extToken]
	if !ok {
		return fail(extToken, "missing; the generator needs the token policy")
	}
	o, err := newObject(extToken, raw, fail)
	if err != nil {
		return err
	}
	t := &m.token
	if t.operationID, err = o.str("operationId"); err != nil {
		return err
	}
	tokenField, err := o.str("tokenField")
	if err != nil {
		return err
	}
	t.tokenField = tokenField
	expiresField, err := o.str("expiresInField")
	if err != nil {
		return err
	}
	t.expiresInField = expiresField
	createdField, err := o.optStr("createdAtField")
	if err != nil {
		return err
	}
	if t.lifetimeSeconds, err = o.posInt("lifetimeSeconds"); err != nil {
		return err
	}
	if err := o.done(); err != nil {
		return err
	}

	i := slices.IndexFunc(m.ops, func(op operation) bool { return op.id == t.operationID })
	if i < 0 {
		return fail(extToken+".operationId", "no operation %q in paths", t.operationID)
	}
	m.ops[i].issuesToken = true
	op := m.ops[i]
	t.tokenGoName = op.goName
	spec := doc.Paths.Value(op.path).GetOperation(op.method)
	place := fmt.Sprintf("paths.%s.%s", op.path, strings.ToLower(op.method))

	// The request: a form with the partner id and the secret (format: password).
	if spec.RequestBody == nil || spec.RequestBody.Value == nil {
		return fail(place+".requestBody", "the token operation needs a form body")
	}
	mt := spec.RequestBody.Value.Content.Get("application/x-www-form-urlencoded")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil {
		return fail(place+".requestBody.content", "the token operation needs an application/x-www-form-urlencoded schema")
	}
	form := mt.Schema.Value
	for _, name := range slices.Sorted(mapsKeys(form.Properties)) {
		p := form.Properties[name].Value
		switch {
		case p.Format == "password" && t.secretField == "":
			t.secretField = oapi.SchemaNameToTypeName(name)
			t.secretFormField = name
		case p.Format != "password" && slices.Contains(form.Required, name) && t.idField == "":
			t.idField = oapi.SchemaNameToTypeName(name)
		default:
			return fail(place+".requestBody.properties."+name, "unexpected field: the token form has exactly a required partner id and a secret with `format: password`")
		}
	}
	if t.idField == "" || t.secretField == "" {
		return fail(place+".requestBody", "the token form needs a required partner id and a secret with `format: password`")
	}

	// The response: where the token and expiresIn are in the 200 body.
	ok200 := spec.Responses.Value("200")
	if ok200 == nil || ok200.Value == nil || ok200.Value.Content.Get("application/json") == nil {
		return fail(place+".responses.200", "the token operation needs a 200 application/json response")
	}
	body := ok200.Value.Content.Get("application/json").Schema
	if body == nil || body.Value == nil {
		return fail(place+".responses.200.content", "missing schema")
	}
	if t.tokenPath, err = findField(body.Value, tokenField, "string", fail, extToken+".tokenField"); err != nil {
		return err
	}
	if t.expiresInPath, err = findField(body.Value, expiresField, "integer", fail, extToken+".expiresInField"); err != nil {
		return err
	}
	if createdField != "" {
		if _, err = findField(body.Value, createdField, "integer", fail, extToken+".createdAtField"); err != nil {
			return err
		}
	}
	return nil
}

// findField finds a required property of type typ at the top of s or one
// object level down (the envelope's data) and returns its Go selector.
func findField(s *openapi3.Schema, name, typ string, fail failFunc, place string) (string, error) {
	if p, ok := s.Properties[name]; ok && p.Value != nil {
		if !p.Value.Type.Is(typ) {
			return "", fail(place, "field %q of the token response is not a %s", name, typ)
		}
		if !slices.Contains(s.Required, name) {
			return "", fail(place, "field %q of the token response is not required", name)
		}
		return oapi.SchemaNameToTypeName(name), nil
	}
	for _, outer := range slices.Sorted(mapsKeys(s.Properties)) {
		o := s.Properties[outer].Value
		if o == nil || !o.Type.Is("object") || !slices.Contains(s.Required, outer) {
			continue
		}
		if _, ok := o.Properties[name]; ok {
			sel, err := findField(o, name, typ, fail, place)
			if err != nil {
				return "", err
			}
			return oapi.SchemaNameToTypeName(outer) + "." + sel, nil
		}
	}
	return "", fail(place, "the token response has no field %q", name)
}

func (m *model) readOperations(doc *openapi3.T, fail failFunc) error {
	m.bearerDef = needsBearer(doc, doc.Security)
	// Peek at the token operation: it must not need the token it issues.
	tokenExt, _ := doc.Extensions[extToken].(map[string]any)
	tokenOp, _ := tokenExt["operationId"].(string)
	for _, path := range slices.Sorted(mapsKeys(doc.Paths.Map())) {
		item := doc.Paths.Value(path)
		for _, method := range slices.Sorted(mapsKeys(item.Operations())) {
			spec := item.Operations()[method]
			place := fmt.Sprintf("paths.%s.%s", path, strings.ToLower(method))
			if spec.OperationID == "" {
				return fail(place+".operationId", "missing; the middleware keys its tables by operationId")
			}
			op := operation{
				id:     spec.OperationID,
				goName: oapi.ToCamelCase(spec.OperationID),
				method: strings.ToUpper(method),
				path:   path,
				bearer: m.bearerDef,
			}
			if spec.Security != nil {
				op.bearer = needsBearer(doc, *spec.Security)
			}
			for code := range spec.Responses.Map() {
				if n, err := strconv.Atoi(code); err == nil && n >= 200 && n < 300 && (op.success == 0 || n < op.success) {
					op.success = n
				}
			}
			if op.success == 0 {
				return fail(place+".responses", "no 2xx response; a caller needs to know the success status")
			}
			op.result = successResult(spec, op.success)
			var err error
			if op.params, err = readParams(item.Parameters, spec.Parameters, fail, place); err != nil {
				return err
			}
			op.pathNames, op.pathArgs, op.direct = directGlue(item.Parameters, spec.Parameters, spec.RequestBody, path)
			if rb := spec.RequestBody; rb != nil && rb.Value != nil {
				types := slices.Sorted(mapsKeys(rb.Value.Content))
				if len(types) == 0 {
					return fail(place+".requestBody.content", "no media type")
				}
				// application/json first, when offered: what a caller sends by hand.
				op.bodyType = types[0]
				if slices.Contains(types, "application/json") {
					op.bodyType = "application/json"
				}
				op.bodyRequired = rb.Value.Required
			}
			if op.bearer && op.id == tokenOp {
				return fail(extToken+".operationId", "operation %q needs a bearer token itself; give it `security: []`", op.id)
			}
			if op.bearer {
				r, err := m.errResponse(spec, http.StatusUnauthorized, nil, fail, place)
				if err != nil {
					return err
				}
				op.unauthorized = &r
			}
			r, err := m.errResponse(spec, http.StatusTooManyRequests, []string{m.rate.limitHdr, m.rate.remainingHdr, m.rate.resetHdr}, fail, place)
			if err != nil {
				return err
			}
			op.tooMany = r
			m.ops = append(m.ops, op)
		}
	}
	if len(m.ops) == 0 {
		return fail("paths", "no operations")
	}
	for i, a := range m.ops {
		for _, b := range m.ops[:i] {
			if a.goName == b.goName {
				return fail(fmt.Sprintf("paths.%s.%s.operationId", a.path, strings.ToLower(a.method)), "%q and %q have the same Go name %s", a.id, b.id, a.goName)
			}
		}
	}
	return nil
}

// errResponse checks that the operation documents status as a $ref to a
// components response with a JSON $ref schema (the error envelope) and the
// given headers, which is what gives oapi-codegen's strict server the typed
// response the middleware answers with.
func (m *model) errResponse(spec *openapi3.Operation, status int, headers []string, fail failFunc, place string) (errResponse, error) {
	code := fmt.Sprint(status)
	place += ".responses." + code
	ref := spec.Responses.Value(code)
	if ref == nil {
		why := "a bearer operation"
		if status == http.StatusTooManyRequests {
			why = "every operation counts against the rate limit, so it"
		}
		return errResponse{}, fail(place, "missing; %s must document %d", why, status)
	}
	name, ok := strings.CutPrefix(ref.Ref, "#/components/responses/")
	if !ok || ref.Value == nil {
		return errResponse{}, fail(place, "want a $ref to #/components/responses/...")
	}
	mt := ref.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return errResponse{}, fail(place, "want an application/json error envelope")
	}
	schema, ok := strings.CutPrefix(mt.Schema.Ref, "#/components/schemas/")
	if !ok {
		return errResponse{}, fail(place, "want the error envelope as a $ref to #/components/schemas/...")
	}
	if m.errorType == "" {
		s := mt.Schema.Value
		for _, f := range []string{"error", "message"} {
			if p := s.Properties[f]; p != nil && p.Value != nil && p.Value.Type.Is("string") {
				m.errorMsg = oapi.SchemaNameToTypeName(f)
				break
			}
		}
		if m.errorMsg == "" {
			return errResponse{}, fail("components.schemas."+schema, "the error envelope needs an \"error\" or \"message\" string field")
		}
		m.errorType = oapi.SchemaNameToTypeName(schema)
	} else if m.errorType != oapi.SchemaNameToTypeName(schema) {
		return errResponse{}, fail(place, "error envelope %s differs from %s used elsewhere", schema, m.errorType)
	}
	r := errResponse{component: oapi.SchemaNameToTypeName(name), hasHeaders: len(ref.Value.Headers) > 0}
	// oapi-codegen visits the statuses in sorted order (SortedMapKeys) and
	// gives the components response's type to the first that refers to it.
	for other, o := range spec.Responses.Map() {
		if other < code && o != nil && o.Ref == ref.Ref {
			r.shared = true
		}
	}
	if len(headers) > 0 {
		r.headers = map[string]field{}
	}
	for _, h := range headers {
		hr := ref.Value.Headers[h]
		if hr == nil || hr.Value == nil || hr.Value.Schema == nil || hr.Value.Schema.Value == nil {
			return errResponse{}, fail(place+".headers", "missing header %s named in %s.headers", h, extRateLimit)
		}
		s := hr.Value.Schema.Value
		if !s.Type.Is("integer") {
			return errResponse{}, fail(place+".headers."+h, "want an integer schema")
		}
		typ := "int"
		if s.Format == "int32" || s.Format == "int64" {
			typ = s.Format
		}
		r.headers[h] = field{name: oapi.SchemaNameToTypeName(h), typ: typ}
	}
	return r, nil
}

// readParams lists an operation's path, query and header parameters: the
// path item's, overridden by the operation's of the same name and
// location; path ones first, then query, then header, each group sorted by
// name. Cookie parameters, and the header parameters OpenAPI says to ignore
// (Accept, Content-Type, Authorization), are left out. A style a caller
// could not send (deepObject, a delimited one, an object's) is an error
// naming the parameter, rather than a client that sends it wrong.
func readParams(item, own openapi3.Parameters, fail failFunc, place string) ([]param, error) {
	byKey := map[string]param{}
	for _, list := range []openapi3.Parameters{item, own} {
		for _, ref := range list {
			if ref == nil || ref.Value == nil {
				continue
			}
			p := ref.Value
			switch p.In {
			case openapi3.ParameterInPath, openapi3.ParameterInQuery:
			case openapi3.ParameterInHeader:
				switch http.CanonicalHeaderKey(p.Name) {
				case "Accept", "Content-Type", "Authorization":
					continue
				}
			default:
				continue
			}
			at := place + ".parameters." + p.Name
			var schema *openapi3.Schema
			if p.Schema != nil {
				schema = p.Schema.Value
			}
			if p.Content != nil || schema != nil && schema.Type != nil && schema.Type.Is("object") {
				return nil, fail(at, "an object or content parameter is not supported; give it a scalar or array schema")
			}
			array := schema != nil && schema.Type != nil && schema.Type.Is("array")
			style := p.Style
			switch {
			case style == "":
			case p.In == openapi3.ParameterInQuery && style == openapi3.SerializationForm:
			case p.In != openapi3.ParameterInQuery && style == openapi3.SerializationSimple:
			default:
				return nil, fail(at, "style %s is not supported (form in the query, simple in the path and headers)", style)
			}
			explode := array && p.In == openapi3.ParameterInQuery && (p.Explode == nil || *p.Explode)
			if array && p.In == openapi3.ParameterInPath {
				return nil, fail(at, "an array path parameter is not supported")
			}
			key := p.In + " " + p.Name
			if p.In == openapi3.ParameterInHeader {
				key = p.In + " " + http.CanonicalHeaderKey(p.Name) // header names are case-insensitive
			}
			byKey[key] = param{name: p.Name, in: p.In, required: p.Required || p.In == openapi3.ParameterInPath, array: array, explode: explode, goType: paramGoType(p)}
		}
	}
	out := slices.Collect(maps.Values(byKey))
	slices.SortFunc(out, func(a, b param) int {
		return cmp.Or(cmp.Compare(paramRank(a.in), paramRank(b.in)), cmp.Compare(a.name, b.name))
	})
	// One name in two places would make -p name=value ambiguous.
	for i, a := range out {
		for _, b := range out[:i] {
			if a.name == b.name {
				return nil, fail(place+".parameters", "%q is both a %s and a %s parameter", a.name, b.in, a.in)
			}
		}
	}
	return out, nil
}

// paramRank orders the table's parameters: path, query, header.
func paramRank(in string) int {
	switch in {
	case openapi3.ParameterInPath:
		return 0
	case openapi3.ParameterInQuery:
		return 1
	}
	return 2
}

// directGlue reports whether the generated server glue binds the
// operation's request as oapi-codegen's strict handler would, with code
// simple enough to hold to it: every parameter a plain string in the path
// (no format, no x-go-name), and no body or only a form. It returns the path
// parameters' names and Go field names in the order they appear in the
// path, which is the order of api.ServerInterface's arguments. Other operations are left to
// oapi-codegen's strict handler.
func directGlue(item, own openapi3.Parameters, body *openapi3.RequestBodyRef, path string) (names, fields []string, ok bool) {
	if body != nil {
		if body.Value == nil || len(body.Value.Content) != 1 || body.Value.Content.Get("application/x-www-form-urlencoded") == nil {
			return nil, nil, false
		}
	}
	byName := map[string]bool{}
	for _, list := range []openapi3.Parameters{item, own} {
		for _, ref := range list {
			if ref == nil || ref.Value == nil {
				return nil, nil, false
			}
			p := ref.Value
			if p.In != openapi3.ParameterInPath || len(p.Extensions) > 0 || p.Content != nil {
				return nil, nil, false
			}
			if sc := p.Schema; sc != nil && (sc.Value == nil || !sc.Value.Type.Is("string") || sc.Value.Format != "") {
				return nil, nil, false
			}
			byName[p.Name] = true
		}
	}
	names = slices.Collect(mapsKeys(byName))
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Compare(strings.Index(path, "{"+a+"}"), strings.Index(path, "{"+b+"}"))
	})
	fields = make([]string, len(names))
	for i, n := range names {
		fields[i] = oapi.SchemaNameToTypeName(n)
	}
	return names, fields, true
}

func needsBearer(doc *openapi3.T, reqs openapi3.SecurityRequirements) bool {
	for _, req := range reqs {
		for name := range req {
			s := doc.Components.SecuritySchemes[name]
			if s != nil && s.Value != nil && s.Value.Type == "http" && strings.EqualFold(s.Value.Scheme, "bearer") {
				return true
			}
		}
	}
	return false
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// object reads an extension's map, naming each field's place in errors and
// rejecting fields it does not know.
type object struct {
	place string
	m     map[string]any
	seen  map[string]bool
	fail  failFunc
}

func newObject(place string, raw any, fail failFunc) (*object, error) {
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fail(place, "want a mapping, got %s", kind(raw))
	}
	return &object{place: place, m: m, seen: map[string]bool{}, fail: fail}, nil
}

func (o *object) get(key string) (any, bool) {
	o.seen[key] = true
	v, ok := o.m[key]
	return v, ok
}

func (o *object) str(key string) (string, error) {
	v, ok := o.get(key)
	if !ok {
		return "", o.fail(o.place+"."+key, "missing")
	}
	s, ok := v.(string)
	if !ok || s == "" {
		return "", o.fail(o.place+"."+key, "want a non-empty string, got %s", kind(v))
	}
	return s, nil
}

func (o *object) optStr(key string) (string, error) {
	if _, ok := o.m[key]; !ok {
		o.seen[key] = true
		return "", nil
	}
	return o.str(key)
}

func (o *object) header(key string) (string, error) {
	s, err := o.str(key)
	if err != nil {
		return "", err
	}
	if http.CanonicalHeaderKey(s) != s || strings.ContainsAny(s, " :\t") {
		return "", o.fail(o.place+"."+key, "%q is not a canonical header name", s)
	}
	return s, nil
}

func (o *object) enum(key string, allowed ...string) (string, error) {
	s, err := o.str(key)
	if err != nil {
		return "", err
	}
	if !slices.Contains(allowed, s) {
		return "", o.fail(o.place+"."+key, "%q is not supported; want one of %s", s, strings.Join(allowed, ", "))
	}
	return s, nil
}

func (o *object) posInt(key string) (int, error) {
	v, ok := o.get(key)
	if !ok {
		return 0, o.fail(o.place+"."+key, "missing")
	}
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case int:
		f = float64(n)
	case int64:
		f = float64(n)
	default:
		return 0, o.fail(o.place+"."+key, "want a positive integer, got %s", kind(v))
	}
	if f != math.Trunc(f) || f < 1 || f > 1<<20 {
		return 0, o.fail(o.place+"."+key, "want a whole number from 1 to %d, got %v", 1<<20, v)
	}
	return int(f), nil
}

func (o *object) object(key string) (*object, error) {
	v, ok := o.get(key)
	if !ok {
		return nil, o.fail(o.place+"."+key, "missing")
	}
	return newObject(o.place+"."+key, v, o.fail)
}

func (o *object) done() error {
	for _, k := range slices.Sorted(mapsKeys(o.m)) {
		if !o.seen[k] {
			return o.fail(o.place+"."+k, "unknown field")
		}
	}
	return nil
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, int, int64:
		return "a number"
	case []any:
		return "a sequence"
	case map[string]any:
		return "a mapping"
	}
	return fmt.Sprintf("%T", v)
}
