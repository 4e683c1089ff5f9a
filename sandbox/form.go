package sandbox

import (
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// formValidator validates a form-encoded request body as
// openapi3filter.ValidateRequest does, with the same kin-openapi schema
// check (Schema.VisitJSON on the decoded form, with the options
// ValidateRequestBody passes) and the same errors, but without the general
// decode path in front of it: for a form whose fields are all plain strings
// that path (a decoder per property, sorting, reflection, maps of parse
// errors, the body read and wrapped twice, then adoptForm's copy) cost more
// than the token request's signing.
//
// It serves only what it can do exactly as kin-openapi would: an operation
// with no parameters and no security requirement left for kin-openapi to
// check, whose form schema is an object of string properties with nothing
// that changes how kin-openapi decodes them (composition, encodings,
// defaults, a binary format), and a request whose Content-Type selects that
// form. Every other request (another or a missing content type included)
// goes to ValidateRequest untouched. A test and a fuzz target hold the two
// paths to the same decisions, messages and forms.
//
// It relies on kin-openapi's registrations as the package makes them, and
// checks them when built: the form decoder UrlencodedBodyDecoder and no
// form body encoder (with one, ValidateRequestBody would also set schema
// defaults, which the eligible schemas do not have anyway).
type formValidator struct {
	route   *routers.Route
	options *openapi3filter.Options
	body    *openapi3.RequestBody
	media   *openapi3.MediaType
	schema  *openapi3.Schema
	props   []string // the schema's properties, sorted
	opts    []openapi3.SchemaValidationOption
	reason  string // ValidateRequestBody's reason for a schema error
}

// newFormValidator returns the validator for route's form body, or nil when
// route's requests must all go through ValidateRequest.
func newFormValidator(route *routers.Route, o *openapi3filter.Options) *formValidator {
	op := route.Operation
	if op == nil || op.Security == nil || len(*op.Security) > 0 || len(op.Parameters) > 0 ||
		route.PathItem == nil || len(route.PathItem.Parameters) > 0 {
		return nil
	}
	if o == nil || o.ExcludeRequestBody || o.MultiError || o.ExcludeReadOnlyValidations ||
		o.RegexCompiler != nil || len(o.SchemaValidationOptions) > 0 {
		return nil
	}
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil
	}
	body := op.RequestBody.Value
	media := body.Content.Get(formType)
	if media == nil || media != body.Content[formType] || len(media.Encoding) > 0 || media.Schema == nil || media.Schema.Value == nil {
		return nil
	}
	if openapi3filter.RegisteredBodyEncoder(formType) != nil || !isFunc(openapi3filter.RegisteredBodyDecoder(formType), openapi3filter.UrlencodedBodyDecoder) {
		return nil // someone registered their own: only ValidateRequest knows what it does
	}
	schema := media.Schema.Value
	if !schema.Type.Is(openapi3.TypeObject) || composed(schema) {
		return nil
	}
	props := make([]string, 0, len(schema.Properties))
	for name, ref := range schema.Properties {
		p := ref.Value
		if p == nil || !p.Type.Is(openapi3.TypeString) || composed(p) || p.Format == "binary" || p.Default != nil {
			return nil
		}
		props = append(props, name)
	}
	slices.Sort(props)
	opts := []openapi3.SchemaValidationOption{openapi3.VisitAsRequest()}
	if route.Spec != nil && route.Spec.IsOpenAPI31OrLater() {
		opts = append(opts, openapi3.EnableJSONSchema2020())
	}
	reason := "doesn't match schema"
	if id := schemaIdentifier(media.Schema); id != "" {
		reason += " " + id
	}
	return &formValidator{route: route, options: o, body: body, media: media, schema: schema, props: props, opts: opts, reason: reason}
}

// isFunc reports whether f is g (funcs compare only by their code pointer).
func isFunc(f, g openapi3filter.BodyDecoder) bool {
	return f != nil && reflect.ValueOf(f).Pointer() == reflect.ValueOf(g).Pointer()
}

// composed reports whether s has a construct kin-openapi's form decoder
// decodes apart from its type.
func composed(s *openapi3.Schema) bool {
	return len(s.AllOf) > 0 || len(s.AnyOf) > 0 || len(s.OneOf) > 0 || s.Not != nil
}

// schemaIdentifier names a schema in errors as openapi3filter does.
func schemaIdentifier(ref *openapi3.SchemaRef) string {
	id := strings.TrimSpace(ref.Ref)
	if id == "" && ref.Value != nil {
		id = strings.TrimSpace(ref.Value.Title)
	}
	return id
}

// validate validates r's body if v can (handled), as ValidateRequest would:
// the same error, r.Body left holding the same bytes, and, when valid, r's
// form set as adoptForm sets it from ValidateRequest's kept value. When not
// handled, r is untouched. A nil v handles nothing.
func (v *formValidator) validate(r *http.Request) (handled bool, err error) {
	if v == nil {
		return false, nil
	}
	// The Content-Type must make decodeBody pick the form decoder and
	// select this media type (newFormValidator checked formType does).
	if ct := r.Header.Get("Content-Type"); ct != formType {
		media, _, _ := strings.Cut(ct, ";")
		if strings.ToLower(strings.TrimSpace(media)) != formType || v.body.Content.Get(ct) != v.media {
			return false, nil
		}
	}

	// ValidateRequestBody: read the body and put its bytes back.
	var data string
	if r.Body != http.NoBody && r.Body != nil {
		data, err = readBody(r.Body)
		r.Body.Close()
		if err != nil {
			return true, v.fail(r, "reading failed", err)
		}
		r.Body = &formBody{Reader: *strings.NewReader(data)}
		r.ContentLength = int64(len(data))
	}
	if data == "" {
		if v.body.Required {
			return true, v.fail(r, "", openapi3filter.ErrInvalidRequired)
		}
		return true, nil
	}

	// UrlencodedBodyDecoder, for string properties: a field's first
	// non-empty value, else its first; fields the schema does not declare
	// are not part of the value.
	values, err := url.ParseQuery(data)
	if err != nil {
		return true, v.fail(r, "failed to decode request body", err)
	}
	vp := formValues.Get().(*map[string]any)
	value := *vp
	for _, name := range v.props {
		if vs := values[name]; len(vs) > 0 {
			value[name] = vs[firstNonEmpty(vs)]
		}
	}
	if err := v.schema.VisitJSON(value, v.opts...); err != nil {
		return true, v.fail(r, v.reason, err) // the error may hold value: not reused
	}
	clear(value)
	formValues.Put(vp)

	// adoptForm: the validated fields, one value each, become r's form
	// unless the query string would add to it. The parsed form is ours, so
	// it is trimmed to those fields in place.
	if r.PostForm == nil && r.URL.RawQuery == "" {
		for name, vs := range values {
			if i := firstNonEmpty(vs); slices.Contains(v.props, name) {
				values[name] = vs[i : i+1 : i+1]
			} else {
				delete(values, name)
			}
		}
		r.PostForm, r.Form = values, values
	}
	return true, nil
}

// fail returns the error ValidateRequestBody returns.
func (v *formValidator) fail(r *http.Request, reason string, err error) error {
	in := &openapi3filter.RequestValidationInput{Request: r, Route: v.route, Options: v.options}
	return &openapi3filter.RequestError{Input: in, RequestBody: v.body, Reason: reason, Err: err}
}

// firstNonEmpty returns the index of the first non-empty value of vs, or 0.
func firstNonEmpty(vs []string) int {
	for i, s := range vs {
		if s != "" {
			return i
		}
	}
	return 0
}

// formValues are the maps a form is validated as. Schema.VisitJSON keeps
// nothing of a value it accepts, so an accepted form's map is reused.
var formValues = sync.Pool{New: func() any { m := make(map[string]any, 4); return &m }}

// formBody is a validated body put back for whoever reads it next.
type formBody struct{ strings.Reader }

func (*formBody) Close() error { return nil }

// bodyBuffers are read buffers for request bodies (at most maxBodyBytes:
// the sandbox bounds them), so reading a body allocates only its string.
var bodyBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// readBody reads all of body, as io.ReadAll does.
func readBody(body io.Reader) (string, error) {
	bp := bodyBuffers.Get().(*[]byte)
	b := (*bp)[:0]
	var err error
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		var n int
		n, err = body.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			break
		}
	}
	s := string(b)
	if cap(b) <= maxBodyBytes+512 {
		*bp = b[:0]
		bodyBuffers.Put(bp)
	}
	return s, err
}
