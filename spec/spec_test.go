package spec

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/milligold/milligold-go/gen/apispec"
	"github.com/milligold/milligold-go/gen/middleware"
)

const specPath = "../openapi.yaml"

func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(specPath)
	if err != nil {
		t.Fatalf("load %s: %v", specPath, err)
	}
	return doc
}

func TestSpecValidates(t *testing.T) {
	doc := loadSpec(t)
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

// TestEmbeddedSpecMatchesFile fails when openapi.yaml was edited without
// regenerating gen/api, so go test catches drift as well as make check-generate.
func TestEmbeddedSpecMatchesFile(t *testing.T) {
	embedded, err := apispec.GetSwagger()
	if err != nil {
		t.Fatalf("GetSwagger: %v", err)
	}
	file := loadSpec(t)
	got, _ := json.Marshal(embedded)
	want, _ := json.Marshal(file)
	if string(got) != string(want) {
		t.Fatal("gen/api's embedded spec differs from openapi.yaml; run `make generate`")
	}
}

func TestOperations(t *testing.T) {
	doc := loadSpec(t)
	want := map[string]string{
		"createAccessToken": "POST /auth/token",
		"getGoldRate":       "GET /gold/rate",
		"getUserInfo":       "GET /user/info/{mobileNumber}",
	}
	got := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			got[op.OperationID] = method + " " + path
		}
	}
	// The API document is the source of truth: openapi.yaml has exactly
	// its routes (path parameters compared by position, not name). An
	// operation added to openapi.yaml alone fails here by design.
	documented := documentRoutes(t)
	for id, route := range got {
		if !documented[normalRoute(route)] {
			t.Errorf("%s (%s) is in openapi.yaml but not in the API document: add its section (with its `METHOD https://{BASE_URL}/path` line) to spec/testdata/milligold-partner-api.md, the document copy openapi.yaml is held to", id, route)
		}
		delete(documented, normalRoute(route))
	}
	for route := range documented {
		t.Errorf("%s is in the API document but not in openapi.yaml", route)
	}
	for id, route := range want {
		if got[id] != route {
			t.Errorf("operation %s = %q; want %q", id, got[id], route)
		}
	}
	for _, s := range doc.Servers {
		if !strings.HasSuffix(s.URL, "/partner") {
			t.Errorf("server %q does not end in /partner", s.URL)
		}
	}
	token := doc.Paths.Find("/auth/token").Post
	if token.Security == nil || len(*token.Security) != 0 {
		t.Errorf("createAccessToken security = %v; want none", token.Security)
	}
	form := token.RequestBody.Value.Content.Get("application/x-www-form-urlencoded")
	if form == nil {
		t.Fatal("createAccessToken has no form body")
	}
	req := form.Schema.Value.Required
	sort.Strings(req)
	if !reflect.DeepEqual(req, []string{"partnerId", "partnerSecret"}) {
		t.Errorf("form required = %v; want partnerId, partnerSecret", req)
	}
	if len(doc.Security) != 1 || doc.Security[0]["bearerAuth"] == nil {
		t.Errorf("global security = %v; want bearerAuth", doc.Security)
	}
	if s := doc.Components.SecuritySchemes["bearerAuth"].Value; s.Type != "http" || s.Scheme != "bearer" {
		t.Errorf("bearerAuth = %s %s; want http bearer", s.Type, s.Scheme)
	}
}

var (
	documentRoute = regexp.MustCompile("(?m)^`([A-Z]+) https://\\{BASE_URL\\}(/\\S*)`$")
	pathParam     = regexp.MustCompile(`\{[^}]*\}`)
)

// documentRoutes returns the routes of the API document's "HTTP Request"
// lines, normalized.
func documentRoutes(t *testing.T) map[string]bool {
	t.Helper()
	md, err := os.ReadFile("testdata/milligold-partner-api.md")
	if err != nil {
		t.Fatal(err)
	}
	routes := map[string]bool{}
	for _, m := range documentRoute.FindAllStringSubmatch(string(md), -1) {
		routes[normalRoute(m[1]+" "+m[2])] = true
	}
	if len(routes) == 0 {
		t.Fatal("no `METHOD https://{BASE_URL}/path` line in the API document")
	}
	return routes
}

// normalRoute blanks path parameter names: {MOBILE_NUMBER} is {mobileNumber}.
func normalRoute(route string) string { return pathParam.ReplaceAllString(route, "{}") }

// TestErrorResponses checks every documented error status answers the
// envelope through its own response component, and that every 429 declares
// the three rate-limit headers as required integers.
func TestErrorResponses(t *testing.T) {
	doc := loadSpec(t)
	wantStatuses := map[string][]string{
		"createAccessToken": {"200", "400", "401", "429", "500"},
		"getGoldRate":       {"200", "401", "429", "500"},
		"getUserInfo":       {"200", "400", "401", "404", "429", "500"},
	}
	components := map[string]string{
		"400": "BadRequest", "401": "Unauthorized", "404": "NotFound",
		"429": "TooManyRequests", "500": "InternalServerError",
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			var statuses []string
			for status, ref := range op.Responses.Map() {
				statuses = append(statuses, status)
				if status[0] == '2' {
					continue
				}
				if want := "#/components/responses/" + components[status]; ref.Ref != want {
					t.Errorf("%s %s %s: ref %q; want %q", method, path, status, ref.Ref, want)
				}
				schema := ref.Value.Content.Get("application/json").Schema
				if schema.Ref != "#/components/schemas/ErrorResponse" {
					t.Errorf("%s %s %s: schema %q; want the error envelope", method, path, status, schema.Ref)
				}
			}
			sort.Strings(statuses)
			if _, ok := wantStatuses[op.OperationID]; !ok {
				// One added to the spec since (TestOperations holds it to the
				// API document): one success status, errors as above.
				if n := len(slices.DeleteFunc(slices.Clone(statuses), func(s string) bool { return s[0] != '2' })); n != 1 {
					t.Errorf("%s statuses = %v; want exactly one 2xx", op.OperationID, statuses)
				}
				continue
			}
			if !reflect.DeepEqual(statuses, wantStatuses[op.OperationID]) {
				t.Errorf("%s statuses = %v; want %v", op.OperationID, statuses, wantStatuses[op.OperationID])
			}
		}
	}
	tooMany := doc.Components.Responses["TooManyRequests"].Value
	for _, name := range []string{"X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset"} {
		h := tooMany.Headers[name]
		if h == nil || !h.Value.Required || !h.Value.Schema.Value.Type.Is("integer") {
			t.Errorf("429 header %s: not a required integer", name)
		}
	}
	if min := tooMany.Headers["X-Rate-Limit-Remaining"].Value.Schema.Value.Min; min == nil || *min != 0 {
		t.Errorf("X-Rate-Limit-Remaining minimum = %v; want 0", min)
	}
}

// TestSchemasStayOpen guards the breaking-changes policy: no response object
// may refuse unknown fields, and no response string may be a closed enum
// (the envelope's boolean success is one by design: true or false is what
// tells a success from an error).
func TestSchemasStayOpen(t *testing.T) {
	doc := loadSpec(t)
	for name, ref := range doc.Components.Schemas {
		s := ref.Value
		if s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has {
			t.Errorf("schema %s forbids additional properties", name)
		}
		for prop, p := range s.Properties {
			if len(p.Value.Enum) > 0 && !(prop == "success" && p.Value.Type.Is("boolean")) {
				t.Errorf("schema %s.%s is a closed enum", name, prop)
			}
		}
	}
}

// TestPolicyExtensions checks the spec's x-milligold-* policy against the
// API document. It reads the policy as milligold-gen parsed it (gen/middleware;
// check-generate keeps gen/ in step with openapi.yaml), so there is one
// parser; the generator itself refuses any scope but "partner" and any
// window start but "first-request".
func TestPolicyExtensions(t *testing.T) {
	if middleware.TokenOperation != "createAccessToken" || middleware.TokenField != "accessToken" ||
		middleware.ExpiresInField != "expiresIn" || middleware.SecretFormField != "partnerSecret" ||
		middleware.TokenLifetime != 3600*time.Second {
		t.Errorf("x-milligold-token: operation %q, token field %q, expiresIn field %q, secret field %q, lifetime %v",
			middleware.TokenOperation, middleware.TokenField, middleware.ExpiresInField, middleware.SecretFormField, middleware.TokenLifetime)
	}
	// The numbers are the document's own sentence, so a spec edit without
	// a new document (in testdata) fails here, and a new document without a
	// spec edit too.
	m := regexp.MustCompile(`limited to (\d+) requests every (\d+) seconds`).FindSubmatch(documentText(t))
	if m == nil {
		t.Fatal("the document no longer states its rate limit as \"limited to N requests every S seconds\"")
	}
	docRequests, _ := strconv.Atoi(string(m[1]))
	docWindow, _ := strconv.Atoi(string(m[2]))
	rl := middleware.RateLimit
	if rl.Requests != docRequests || rl.Window != time.Duration(docWindow)*time.Second ||
		rl.LimitHeader != "X-Rate-Limit-Limit" || rl.RemainingHeader != "X-Rate-Limit-Remaining" || rl.ResetHeader != "X-Rate-Limit-Reset" {
		t.Errorf("x-milligold-rate-limit = %+v; the document says %d requests every %d seconds, in X-Rate-Limit-* headers", rl, docRequests, docWindow)
	}
}

// documentText is the API document, as copied into testdata.
func documentText(t *testing.T) []byte {
	t.Helper()
	md, err := os.ReadFile("testdata/milligold-partner-api.md")
	if err != nil {
		t.Fatal(err)
	}
	return md
}

// documentExamples returns the JSON blocks of the API document, in order.
func documentExamples(t *testing.T) []any {
	t.Helper()
	md := documentText(t)
	var out []any
	for _, m := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllSubmatch(md, -1) {
		var v any
		if err := json.Unmarshal(m[1], &v); err != nil {
			t.Fatalf("document block %q: %v", m[1], err)
		}
		out = append(out, v)
	}
	return out
}

// TestExamplesAreTheDocuments compares the spec's examples, field for field,
// with the JSON blocks of the API document, and validates each against its schema.
func TestExamplesAreTheDocuments(t *testing.T) {
	doc := loadSpec(t)
	blocks := documentExamples(t)
	if len(blocks) != 4 {
		t.Fatalf("document has %d JSON blocks; want 4 (token, gold rate, user, 404)", len(blocks))
	}
	cases := []struct {
		name  string
		media *openapi3.MediaType
		want  any
	}{
		{"token", doc.Paths.Find("/auth/token").Post.Responses.Status(200).Value.Content.Get("application/json"), blocks[0]},
		{"gold rate", doc.Paths.Find("/gold/rate").Get.Responses.Status(200).Value.Content.Get("application/json"), blocks[1]},
		{"user", doc.Paths.Find("/user/info/{mobileNumber}").Get.Responses.Status(200).Value.Content.Get("application/json"), blocks[2]},
		{"404", doc.Components.Responses["NotFound"].Value.Content.Get("application/json"), blocks[3]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(normalize(t, c.media.Example), c.want) {
				t.Errorf("example = %v; want the document's %v", c.media.Example, c.want)
			}
			if err := c.media.Schema.Value.VisitJSON(c.want); err != nil {
				t.Errorf("the document's example fails its schema: %v", err)
			}
		})
	}
}

// normalize turns a YAML-decoded example into what encoding/json produces.
func normalize(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
