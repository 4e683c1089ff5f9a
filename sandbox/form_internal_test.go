package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// formRoute is the route validatingMux builds for method path of spec, and
// the options validate gives a form operation.
func formRoute(t testing.TB, spec *openapi3.T, method, path string) (*routers.Route, *openapi3filter.Options) {
	t.Helper()
	item := spec.Paths.Find(path)
	if item == nil || item.GetOperation(method) == nil {
		t.Fatalf("no operation %s %s", method, path)
	}
	op := *item.GetOperation(method)
	op.Security = &openapi3.SecurityRequirements{}
	o := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, KeepValidatedValue: true}
	return &routers.Route{Spec: spec, Path: path, PathItem: item, Method: method, Operation: &op}, o
}

// formCase is a request to validate: Content-Type ("-" for none), query
// string, body, and how the body arrives.
type formCase struct {
	ct, query, body string
	arrival         arrival
}

type arrival uint8

const (
	wire     arrival = iota // read off the wire, bounded as ServeHTTP bounds it
	noBody                  // http.NoBody
	tooLarge                // over a 16-byte MaxBytesReader
	failing                 // a read error after the body
	arrivals
)

func (c formCase) request() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/x", nil)
	r.URL.RawQuery = c.query
	if c.ct != "-" {
		r.Header.Set("Content-Type", c.ct)
	}
	w := httptest.NewRecorder()
	switch c.arrival {
	case wire:
		r.Body, r.ContentLength = http.MaxBytesReader(w, io.NopCloser(strings.NewReader(c.body)), maxBodyBytes), int64(len(c.body))
	case noBody:
		r.Body, r.ContentLength = http.NoBody, 0
	case tooLarge:
		r.Body = http.MaxBytesReader(w, io.NopCloser(strings.NewReader(c.body+strings.Repeat("x", 17))), 16)
	case failing:
		r.Body = io.NopCloser(io.MultiReader(strings.NewReader(c.body), errReader{}))
	}
	return r
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// formOutcome is everything after validation that the sandbox's answer
// depends on: the error's status and message, and for a valid request the
// form before and after the generated handler's ParseForm and what is left
// of the body.
type formOutcome struct {
	Valid                   bool
	Status                  int
	Message                 string
	PostFormSet             bool
	Form, PostForm          url.Values
	ParseFormErr, BodyAfter string
}

func outcome(r *http.Request, err error) formOutcome {
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return formOutcome{Status: http.StatusRequestEntityTooLarge}
		}
		return formOutcome{Status: http.StatusBadRequest, Message: validationMessage(err)}
	}
	o := formOutcome{Valid: true, PostFormSet: r.PostForm != nil}
	if err := r.ParseForm(); err != nil {
		o.ParseFormErr = err.Error()
	}
	o.Form, o.PostForm = r.Form, r.PostForm
	if r.Body != nil {
		rest, _ := io.ReadAll(r.Body)
		o.BodyAfter = string(rest)
	}
	return o
}

// oldForm is the path form.go replaces: ValidateRequest, then adoptForm.
func oldForm(route *routers.Route, o *openapi3filter.Options, r *http.Request) formOutcome {
	err := openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{Request: r, Route: route, Options: o})
	if err == nil {
		adoptForm(r)
	}
	return outcome(r, err)
}

// newForm is validate's path: the form validator, else ValidateRequest;
// then adoptForm.
func newForm(fv *formValidator, route *routers.Route, o *openapi3filter.Options, r *http.Request) (formOutcome, bool) {
	handled, err := fv.validate(r)
	if !handled {
		err = openapi3filter.ValidateRequest(context.Background(), &openapi3filter.RequestValidationInput{Request: r, Route: route, Options: o})
	}
	if err == nil {
		adoptForm(r)
	}
	return outcome(r, err), handled
}

// compareForm runs c through both paths and returns what differs, or "".
// kin-openapi's JSON Schema 2020-12 validator (OpenAPI 3.1) reports
// several errors in map order, so when the old path's own message differs
// between two runs only the rest is compared.
func compareForm(name string, fv *formValidator, route *routers.Route, o *openapi3filter.Options, c formCase) (diff string, handled bool) {
	want := oldForm(route, o, c.request())
	got, handled := newForm(fv, route, o, c.request())
	if got.Message != want.Message && sameMessages(route, o, fv, c, got.Message, want.Message) {
		got.Message, want.Message = "", ""
	}
	if reflect.DeepEqual(got, want) {
		return "", handled
	}
	return fmt.Sprintf("%s %+v:\n got %+v\nwant %+v", name, c, got, want), handled
}

// sameMessages reports whether the two paths' messages differ only as
// kin-openapi's own do between runs: under OpenAPI 3.1 its messages follow
// map order, so one input can give several. It samples both paths and
// accepts when either's message is one the other gives.
func sameMessages(route *routers.Route, o *openapi3filter.Options, fv *formValidator, c formCase, got, want string) bool {
	olds, news := map[string]bool{want: true}, map[string]bool{got: true}
	for range 32 {
		olds[oldForm(route, o, c.request()).Message] = true
		m, _ := newForm(fv, route, o, c.request())
		news[m.Message] = true
	}
	if len(olds) == 1 && len(news) == 1 {
		return false // both paths are steady and disagree
	}
	return olds[got] || news[want]
}

// thingsSpec has a form operation whose schema uses the string constraints
// a spec may put on a form, and operations the validator must leave to
// ValidateRequest.
const thingsSpec = `
openapi: 3.0.3
info: {title: things, version: "1"}
paths:
  /things:
    post:
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema:
              title: Thing
              type: object
              required: [name, code]
              maxProperties: 3
              properties:
                name: {type: string, minLength: 2, maxLength: 8, pattern: '^[a-z ]+$'}
                code: {type: string, enum: [A1, B2, "a b"]}
                note: {type: string, maxLength: 3, nullable: true}
                when: {type: string, format: date}
      responses: {'204': {description: ok}}
  /optional:
    post:
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, properties: {a: {type: string, minLength: 2}, ro: {type: string, readOnly: true}}}
      responses: {'204': {description: ok}}
  /integer:
    post:
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, properties: {n: {type: integer}}}
      responses: {'204': {description: ok}}
  /defaulted:
    post:
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, properties: {a: {type: string, default: x}}}
      responses: {'204': {description: ok}}
  /composed:
    post:
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, allOf: [{properties: {a: {type: string}}}]}
      responses: {'204': {description: ok}}
  /encoded:
    post:
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, properties: {a: {type: string}}}
            encoding: {a: {style: form, explode: false}}
      responses: {'204': {description: ok}}
  /query:
    post:
      parameters: [{name: q, in: query, schema: {type: string}}]
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, properties: {a: {type: string}}}
      responses: {'204': {description: ok}}
  /json:
    post:
      requestBody:
        content:
          application/json:
            schema: {type: object}
      responses: {'204': {description: ok}}
`

// formRoutes are the routes the tests run, with whether the validator
// serves them.
func formRoutes(t testing.TB) []struct {
	name   string
	route  *routers.Route
	o      *openapi3filter.Options
	serves bool
} {
	t.Helper()
	s, err := New(Default())
	if err != nil {
		t.Fatal(err)
	}
	load := func(text string) *openapi3.T {
		spec, err := openapi3.NewLoader().LoadFromData([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if err := spec.Validate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return spec
	}
	things := load(thingsSpec)
	// The same as OpenAPI 3.1, which kin-openapi validates with its JSON
	// Schema 2020-12 validator.
	things31 := load(strings.NewReplacer("openapi: 3.0.3", "openapi: 3.1.0", ", nullable: true", "").Replace(thingsSpec))
	if !things31.IsOpenAPI31OrLater() {
		t.Fatal("the 3.1 copy of thingsSpec is not 3.1")
	}
	type entry = struct {
		name   string
		route  *routers.Route
		o      *openapi3filter.Options
		serves bool
	}
	var routes []entry
	add := func(spec *openapi3.T, path string, serves bool) {
		route, o := formRoute(t, spec, http.MethodPost, path)
		routes = append(routes, entry{path, route, o, serves})
	}
	add(s.spec, "/auth/token", true)
	add(things, "/things", true)
	add(things, "/optional", true)
	add(things31, "/things", true)
	add(things31, "/optional", true)
	for _, p := range []string{"/integer", "/defaulted", "/composed", "/encoded", "/query", "/json"} {
		add(things, p, false)
	}
	return routes
}

var (
	formContentTypes = []string{
		formType, "application/x-www-form-urlencoded; charset=utf-8", "Application/X-WWW-Form-URLEncoded",
		" application/x-www-form-urlencoded ;", "application/x-www-form-urlencoded, text/plain",
		"application/json", "multipart/form-data; boundary=x", "text/plain", "*/*", "application/*", "", "-",
		"application/x-www-form-urlencoded\u017f", "application/x-www-form-urlencoded;charset",
	}
	formBodies = []string{
		"partnerId=" + DefaultPartnerID + "&partnerSecret=" + DefaultPartnerSecret,
		"partnerId=p&partnerSecret=s", "partnerId=p", "partnerSecret=s", "partnerId=&partnerSecret=s",
		"partnerId=p&partnerSecret=", "partnerId=&partnerId=p&partnerSecret=s", "partnerId=p&partnerId=q&partnerSecret=s",
		"partnerId=p&partnerSecret=s&extra=1", "partnerId=%zz&partnerSecret=s", "partnerId=p;partnerSecret=s",
		"partnerId=p+q&partnerSecret=%00", "partnerId=g%C3%B6ld&partnerSecret=\xff", "partnerId&partnerSecret",
		"=x&partnerId=p&partnerSecret=s", "&&&", "", "partnerId=p&partnerSecret=s&",
		"name=ab&code=A1", "name=ab&code=a+b", "name=a&code=A1", "name=abcdefghi&code=A1", "name=AB&code=A1",
		"name=ab&code=C3", "name=ab", "code=A1", "name=ab&code=A1&note=xyzw", "name=ab&code=A1&note=x&when=2026-13-01",
		"name=ab&code=A1&note=x&when=2026-01-01", "name=&name=ab&code=&code=B2", "name=ab&code=A1&x=1&y=2",
		"a=x", "a=xy", "a=", "a=xy&ro=1", "ro=", "n=1", "n=x", "q=1&a=xy", "{}",
	}
	formQueries = []string{"", "partnerId=x", "a=b", "name=zz"}
)

// TestFormValidatorMatchesValidateRequest holds form.go to the path it
// replaces over many valid and invalid forms, content types, query strings
// and body arrivals, on the token operation and on a spec using more of
// what a spec can say about a form: the same decision, status and message,
// and the same form for the generated handler.
func TestFormValidatorMatchesValidateRequest(t *testing.T) {
	n, served := 0, 0
	for _, rt := range formRoutes(t) {
		fv := newFormValidator(rt.route, rt.o)
		if (fv != nil) != rt.serves {
			t.Fatalf("%s: newFormValidator = %v; want a validator: %v", rt.name, fv, rt.serves)
		}
		for _, ct := range formContentTypes {
			for _, body := range formBodies {
				for _, q := range formQueries {
					for a := range arrivals {
						diff, handled := compareForm(rt.name, fv, rt.route, rt.o, formCase{ct, q, body, a})
						if handled {
							served++
						}
						n++
						if diff != "" {
							t.Error(diff)
						}
					}
				}
			}
		}
	}
	// The validator must have served a good share of the cases, valid and invalid.
	if served < n/10 {
		t.Errorf("the validator served %d of %d cases", served, n)
	}
	t.Logf("%d cases, %d served by the form validator", n, served)
}

// TestFormValidatorRegistrations: with another form decoder or a form
// encoder registered in kin-openapi, every form goes to ValidateRequest.
// It changes kin-openapi's registry for the package: not parallel.
func TestFormValidatorRegistrations(t *testing.T) {
	t.Cleanup(func() {
		openapi3filter.RegisterBodyDecoder(formType, openapi3filter.UrlencodedBodyDecoder)
		openapi3filter.UnregisterBodyEncoder(formType)
	})
	rt := formRoutes(t)[0]
	if newFormValidator(rt.route, rt.o) == nil {
		t.Fatal("no validator for the token operation")
	}
	openapi3filter.RegisterBodyDecoder(formType, openapi3filter.PlainBodyDecoder)
	if newFormValidator(rt.route, rt.o) != nil {
		t.Error("a validator with another form decoder registered")
	}
	openapi3filter.RegisterBodyDecoder(formType, openapi3filter.UrlencodedBodyDecoder)
	openapi3filter.RegisterBodyEncoder(formType, func(any) ([]byte, error) { return nil, nil })
	if newFormValidator(rt.route, rt.o) != nil {
		t.Error("a validator with a form encoder registered")
	}
	openapi3filter.UnregisterBodyEncoder(formType)
	if newFormValidator(rt.route, rt.o) == nil {
		t.Error("no validator once the registrations are back")
	}
}

// TestFormValidatorMessages pins a few answers, so the comparison above
// cannot pass with both paths broken alike.
func TestFormValidatorMessages(t *testing.T) {
	routes := formRoutes(t)
	token, things := routes[0], routes[1]
	for _, tt := range []struct {
		route   *routers.Route
		o       *openapi3filter.Options
		c       formCase
		status  int
		message string
	}{
		{token.route, token.o, formCase{formType, "", "partnerId=p&partnerSecret=s", wire}, 0, ""},
		{token.route, token.o, formCase{formType, "", "partnerId=p", wire}, 400, `request body field partnerSecret: property "partnerSecret" is missing`},
		{token.route, token.o, formCase{formType, "", "partnerId=p&partnerSecret=", wire}, 400, "request body field partnerSecret: minimum string length is 1"},
		{token.route, token.o, formCase{formType, "", "partnerId=%zz", wire}, 400, "request body: failed to decode request body"},
		{token.route, token.o, formCase{formType, "", "", wire}, 400, "request body: malformed"},
		{token.route, token.o, formCase{formType, "", "partnerId=p", tooLarge}, 413, ""},
		{token.route, token.o, formCase{formType, "", "partnerId=p", failing}, 400, "request body: reading failed"},
		{things.route, things.o, formCase{formType, "", "name=AB&code=A1", wire}, 400, `request body field name: string doesn't match the regular expression "^[a-z ]+$"`},
		{things.route, things.o, formCase{formType, "", "name=ab&code=C3", wire}, 400, "request body field code: value is not one of the allowed values [\"A1\",\"B2\",\"a b\"]"},
		{things.route, things.o, formCase{formType, "", "name=ab&code=A1&note=xyzw", wire}, 400, "request body field note: maximum string length is 3"},
		{routes[2].route, routes[2].o, formCase{formType, "", "a=xy&ro=1", wire}, 400, `request body field ro: readOnly property "ro" in request`},
	} {
		fv := newFormValidator(tt.route, tt.o)
		got, handled := newForm(fv, tt.route, tt.o, tt.c.request())
		if !handled || got.Status != tt.status || got.Message != tt.message || got.Valid != (tt.status == 0) {
			t.Errorf("%s %+v = %d %q (served %v); want %d %q", tt.route.Path, tt.c, got.Status, got.Message, handled, tt.status, tt.message)
		}
	}
}

// FuzzFormValidator compares the two paths on arbitrary content types,
// bodies and query strings, seeded from the tables above.
func FuzzFormValidator(f *testing.F) {
	for i, body := range formBodies {
		f.Add(formContentTypes[i%len(formContentTypes)], body, formQueries[i%len(formQueries)], uint8(i))
	}
	routes := formRoutes(f)
	validators := make([]*formValidator, len(routes))
	for i, rt := range routes {
		validators[i] = newFormValidator(rt.route, rt.o)
	}
	f.Fuzz(func(t *testing.T, ct, body, query string, pick uint8) {
		if strings.ContainsAny(ct, "\r\n") {
			return // net/http would refuse such a header line
		}
		rt := routes[int(pick)%len(routes)]
		c := formCase{ct, query, body, arrival(pick/16) % arrivals}
		if diff, _ := compareForm(rt.name, validators[int(pick)%len(routes)], rt.route, rt.o, c); diff != "" {
			t.Error(diff)
		}
	})
}
