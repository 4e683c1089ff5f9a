package conformance

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/milligold/milligold-go/gen/apispec"
	"github.com/milligold/milligold-go/gen/middleware"
)

// TestDerivedCasesAgainstSandbox: with no written case but the rate-limit
// block (which fills the window), the cases derived from the embedded spec
// pass against the sandbox, through the validating transport, and cover
// every pair but those that need data or a form body: the token's, the
// unknown user's 404, and the injected 500s.
func TestDerivedCasesAgainstSandbox(t *testing.T) {
	doc, err := apispec.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	var written []testCase
	for _, c := range cases() {
		if c.needs == needRateLimit {
			written = append(written, c)
		}
	}
	derived := deriveCases(middleware.Operations, doc, nil)
	target, opts := onSandbox(t, nil)
	rep := run(context.Background(), target, opts, merge(written, derived))
	if rep.Error != "" {
		t.Fatal(rep.Error)
	}
	var names []string
	for _, c := range rep.Cases {
		if c.Result != Pass {
			t.Errorf("%s: %s: %s", c.Name, c.Result, c.Detail())
		}
		// The list below names the three operations the module began with;
		// one added to the spec since is held by the checks around it (every
		// case passes, every pair but 500 exercised).
		if strings.Contains(c.Name, "(derived: ") && (strings.HasPrefix(c.Name, opRate+":") || strings.HasPrefix(c.Name, opUser+":") || strings.HasPrefix(c.Name, opToken+":")) {
			names = append(names, c.Name)
		}
	}
	want := []string{
		"GET /gold/rate: 200 (derived: valid request)",
		"GET /gold/rate: 401 (derived: missing bearer)",
		"GET /gold/rate: 401 (derived: forged bearer)",
		"GET /user/info/{mobileNumber}: 200 (derived: valid request)",
		"GET /user/info/{mobileNumber}: 400 (derived: path parameter mobileNumber breaks its pattern)",
		"GET /user/info/{mobileNumber}: 401 (derived: missing bearer)",
		"GET /user/info/{mobileNumber}: 401 (derived: forged bearer)",
		"GET /gold/rate: 429 (derived: same window)",
		"GET /user/info/{mobileNumber}: 429 (derived: same window)",
	}
	if !slices.Equal(names, want) {
		t.Errorf("derived cases ran:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
	for _, p := range rep.NotExercised {
		if p.Operation != opToken && p != (Pair{opUser, 404}) && p.Status != http.StatusInternalServerError {
			t.Errorf("%s not exercised; a derived case should cover it", p)
		}
	}
}

// extraSpec has a GET with query parameters and a path parameter, and a
// POST with a JSON body, both secured; the GET documents a 404 that needs
// data.
const extraSpec = `
openapi: 3.0.3
info: {title: t, version: "1"}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
  schemas:
    Err:
      type: object
      properties: {success: {type: boolean}, error: {type: string}, errorCode: {type: string}}
security: [{bearer: []}]
paths:
  /shops/{shopId}/items:
    get:
      operationId: listItems
      parameters:
        - {name: shopId, in: path, required: true, schema: {type: string, pattern: '^s[0-9]+$'}, example: s42}
        - {name: limit, in: query, required: true, schema: {type: integer, minimum: 1, maximum: 50}}
        - {name: colour, in: query, required: false, schema: {type: string, enum: [red, blue]}}
      responses:
        "200": {description: ok}
        "400": {description: bad}
        "401": {description: no}
        "404": {description: no shop}
        "429": {description: slow down}
  /orders:
    post:
      operationId: createOrder
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [item, grams]
              properties:
                item: {type: string, maxLength: 8}
                grams: {type: number, minimum: 0.5}
                note: {type: string}
            example: {item: coin, grams: 10}
      responses:
        "201": {description: made}
        "400": {description: bad}
        "401": {description: no}
`

func extraOps() []middleware.Operation {
	return []middleware.Operation{{
		ID: "listItems", Method: "GET", Path: "/shops/{shopId}/items", Bearer: true, Success: 200,
		Params: []middleware.Param{{Name: "shopId", In: "path", Required: true}, {Name: "limit", In: "query", Required: true}, {Name: "colour", In: "query"}},
	}, {
		ID: "createOrder", Method: "POST", Path: "/orders", Bearer: true, Success: 201,
		BodyType: "application/json", BodyRequired: true,
	}}
}

func loadExtra(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData([]byte(extraSpec))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestDeriveNewOperations: for operations the hand-written suite has never
// seen, the derived cases and the requests they send, captured by a server.
func TestDeriveNewOperations(t *testing.T) {
	doc := loadExtra(t)
	type sent struct{ method, uri, auth, ctype, body string }
	var (
		mu  sync.Mutex
		got []sent
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, sent{r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), r.Header.Get("Content-Type"), string(b)})
		mu.Unlock()
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	s := &session{target: Target{BaseURL: srv.URL + "/partner"}, doer: srv.Client(), token: "tok"}

	want := []struct {
		name string
		req  sent
	}{
		{"GET /shops/{shopId}/items: 200 (derived: valid request)",
			sent{"GET", "/partner/shops/s42/items?limit=1", "Bearer tok", "", ""}},
		{"GET /shops/{shopId}/items: 400 (derived: path parameter shopId breaks its pattern)",
			sent{"GET", "/partner/shops/%21/items?limit=1", "Bearer tok", "", ""}},
		{"GET /shops/{shopId}/items: 401 (derived: missing bearer)",
			sent{"GET", "/partner/shops/s42/items?limit=1", "", "", ""}},
		{"GET /shops/{shopId}/items: 401 (derived: forged bearer)",
			sent{"GET", "/partner/shops/s42/items?limit=1", "Bearer " + forgedToken, "", ""}},
		{"GET /shops/{shopId}/items: 429 (derived: same window)",
			sent{"GET", "/partner/shops/s42/items?limit=1", "Bearer tok", "", ""}},
		{"POST /orders: 201 (derived: valid request)",
			sent{"POST", "/partner/orders", "Bearer tok", "application/json", `{"grams":10,"item":"coin"}`}},
		{"POST /orders: 400 (derived: body field grams not a number)",
			sent{"POST", "/partner/orders", "Bearer tok", "application/json", `{"grams":"not-a-number","item":"coin"}`}},
		{"POST /orders: 401 (derived: missing bearer)",
			sent{"POST", "/partner/orders", "", "application/json", `{"grams":10,"item":"coin"}`}},
		{"POST /orders: 401 (derived: forged bearer)",
			sent{"POST", "/partner/orders", "Bearer " + forgedToken, "application/json", `{"grams":10,"item":"coin"}`}},
	}
	derived := deriveCases(extraOps(), doc, nil)
	if len(derived) != len(want) {
		t.Fatalf("derived %d cases:\n%s\nwant %d", len(derived), caseNames(derived), len(want))
	}
	for i, c := range derived {
		if c.name() != want[i].name {
			t.Errorf("case %d = %q; want %q", i, c.name(), want[i].name)
			continue
		}
		if wantLimited := strings.Contains(c.name(), ": 429 "); (c.needs == needRateLimit) != wantLimited {
			t.Errorf("%s: needs %d", c.name(), c.needs)
		}
		if _, err := s.sendDerived(context.Background(), *c.derived); err != nil {
			t.Fatalf("%s: %v", c.name(), err)
		}
		if g := got[len(got)-1]; g != want[i].req {
			t.Errorf("%s sent %+v; want %+v", c.name(), g, want[i].req)
		}
	}
	// A case run fails on the wrong status, naming it.
	if err := derived[0].run(context.Background(), s); err == nil || !strings.Contains(err.Error(), "status 418; want 200") {
		t.Errorf("run against a 418 = %v; want a status error", err)
	}
}

// TestDerivedBreaksOtherConstraints: the second choices of the 400 case,
// when the first constraint is absent.
func TestDerivedBreaksOtherConstraints(t *testing.T) {
	doc := loadExtra(t)
	get := doc.Paths.Value("/shops/{shopId}/items").Get
	get.Parameters[0].Value.Schema.Value.Pattern = "" // shopId unconstrained now
	post := doc.Paths.Value("/orders").Post
	delete(post.RequestBody.Value.Content.Get("application/json").Schema.Value.Properties, "grams")
	want := map[string]bool{
		"GET /shops/{shopId}/items: 400 (derived: query parameter limit not a number)": true,
		"POST /orders: 400 (derived: body field item over its maxLength)":              true,
	}
	for _, c := range deriveCases(extraOps(), doc, nil) {
		if c.pair.Status == http.StatusBadRequest && !want[c.name()] {
			t.Errorf("unexpected 400 case %q", c.name())
		}
		delete(want, c.name())
	}
	for name := range want {
		t.Errorf("no case %q", name)
	}
}

// TestCoverageNamesAnUnderivablePair: written cases win over derived ones
// for the same pair, and the coverage check names the one pair neither
// covers (the 404 that needs a shop that does not exist).
func TestCoverageNamesAnUnderivablePair(t *testing.T) {
	doc := loadExtra(t)
	written := []testCase{{pair: Pair{"GET /shops/{shopId}/items", 200}, variant: "written"}}
	derived := deriveCases(extraOps(), doc, written)
	for _, c := range derived {
		if c.pair == written[0].pair {
			t.Errorf("derived %q for a pair a written case covers", c.name())
		}
	}
	documented := (&Validator{doc: doc}).Documented()
	gaps := uncovered(documented, merge(written, derived))
	if want := []Pair{{"GET /shops/{shopId}/items", 404}}; !slices.Equal(gaps, want) {
		t.Errorf("uncovered = %v; want %v", gaps, want)
	}
}

// paramsSpec has header parameters (a required scalar with a pattern, an
// optional array) and query arrays (a required exploded one, a required
// one with explode: false).
const paramsSpec = `
openapi: 3.0.3
info: {title: t, version: "1"}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
security: [{bearer: []}]
paths:
  /things:
    get:
      operationId: listThings
      parameters:
        - {name: ids, in: query, required: true, schema: {type: array, items: {type: integer, minimum: 1}}}
        - {name: tags, in: query, required: true, explode: false, schema: {type: array, items: {type: string, enum: [red, blue]}}, example: [red, blue]}
        - {name: X-Request-Id, in: header, required: true, example: req-1, schema: {type: string, pattern: '^[a-z0-9-]+$'}}
        - {name: X-Flags, in: header, schema: {type: array, items: {type: string, enum: [fast]}}}
        - {name: Authorization, in: header, required: true, schema: {type: string}}
      responses:
        "200": {description: ok}
        "400": {description: bad}
        "401": {description: no}
`

// TestDeriveHeaderAndArrayParameters: the derived cases of an operation
// with header and array parameters, run against a loopback server that
// validates each request with kin-openapi (openapi3filter): the valid
// request passes it, the broken one and the missing header fail it, and
// the requests carry the values as oapi-codegen's client sends them.
func TestDeriveHeaderAndArrayParameters(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData([]byte(paramsSpec))
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	type sent struct{ uri, requestID, flags string }
	var (
		mu  sync.Mutex
		got []sent
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, sent{r.URL.RequestURI(), r.Header.Get("X-Request-Id"), r.Header.Get("X-Flags")})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"success":false,"error":"no token","errorCode":"a"}`)
			return
		}
		routed := r.Clone(r.Context())
		routed.URL = &url.URL{Path: strings.TrimPrefix(r.URL.Path, "/partner"), RawQuery: r.URL.RawQuery}
		route, params, err := router.FindRoute(routed)
		if err == nil {
			err = openapi3filter.ValidateRequest(r.Context(), &openapi3filter.RequestValidationInput{
				Request: routed, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
			})
		}
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"success":false,"error":"bad request","errorCode":"b"}`)
			return
		}
		io.WriteString(w, `{"success":true,"data":{}}`)
	}))
	t.Cleanup(srv.Close)
	s := &session{target: Target{BaseURL: srv.URL + "/partner"}, doer: srv.Client(), token: "tok"}
	ops := []middleware.Operation{{ID: "listThings", Method: "GET", Path: "/things", Bearer: true, Success: 200}}

	valid := sent{"/partner/things?ids=1&tags=red%2Cblue", "req-1", ""}
	want := []struct {
		name string
		req  sent
	}{
		{"GET /things: 200 (derived: valid request)", valid},
		{"GET /things: 400 (derived: query parameter ids item not a number)", sent{"/partner/things?ids=not-a-number&tags=red%2Cblue", "req-1", ""}},
		{"GET /things: 401 (derived: missing bearer)", valid},
		{"GET /things: 401 (derived: forged bearer)", valid},
	}
	derived := deriveCases(ops, doc, nil)
	if len(derived) != len(want) {
		t.Fatalf("derived %d cases:\n%s\nwant %d", len(derived), caseNames(derived), len(want))
	}
	for i, c := range derived {
		if c.name() != want[i].name {
			t.Errorf("case %d = %q; want %q", i, c.name(), want[i].name)
			continue
		}
		if err := c.run(context.Background(), s); err != nil {
			t.Errorf("%s: %v", c.name(), err)
		}
		if g := got[len(got)-1]; g != want[i].req {
			t.Errorf("%s sent %+v; want %+v", c.name(), g, want[i].req)
		}
	}

	// With ids' items any string, the other constraints break in turn: the
	// enum of an unexploded array's item, the header's pattern, an optional
	// header array's item, then a required parameter left out.
	get := doc.Paths.Value("/things").Get
	get.Parameters[0].Value.Schema.Value.Items.Value = &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}}
	for _, step := range []struct {
		name  string
		req   sent
		after func()
	}{
		{"query parameter tags item outside its enum", sent{"/partner/things?ids=a&tags=not-in-the-enum", "req-1", ""},
			func() { get.Parameters[1].Value.Schema.Value.Items.Value.Enum = nil }},
		{"header parameter X-Request-Id breaks its pattern", sent{"/partner/things?ids=a&tags=red%2Cblue", "!", ""},
			func() { get.Parameters[2].Value.Schema.Value.Pattern = "" }},
		{"header parameter X-Flags item outside its enum", sent{"/partner/things?ids=a&tags=red%2Cblue", "req-1", "not-in-the-enum"},
			func() { get.Parameters[3].Value.Schema.Value.Items.Value.Enum = nil }},
		{"query parameter ids missing", sent{"/partner/things?tags=red%2Cblue", "req-1", ""},
			func() { get.Parameters[0].Value.Required, get.Parameters[1].Value.Required = false, false }},
		{"header parameter X-Request-Id missing", sent{"/partner/things", "", ""}, nil},
	} {
		var bad *testCase
		for _, c := range deriveCases(ops, doc, nil) {
			if c.pair.Status == http.StatusBadRequest {
				bad = &c
			}
		}
		if bad == nil || bad.variant != derivedPrefix+": "+step.name {
			t.Fatalf("400 case %+v; want %q", bad, step.name)
		}
		if err := bad.run(context.Background(), s); err != nil {
			t.Errorf("%s: %v", bad.name(), err)
		}
		if g := got[len(got)-1]; g != step.req {
			t.Errorf("%s sent %+v; want %+v", bad.name(), g, step.req)
		}
		if step.after != nil {
			step.after()
		}
	}
}

// caseNames lists the cases' names, one a line, for a failure message.
func caseNames(cs []testCase) string {
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.name()
	}
	return strings.Join(names, "\n")
}
