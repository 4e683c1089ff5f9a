package codegen

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// extraOperations are two operations a maintainer might add to
// openapi.yaml: a GET with query parameters (one from the path item, one
// the operation overrides) and a POST with a JSON body.
const extraOperations = `  /gold/history/{metal}:
    parameters:
      - {name: metal, in: path, required: true, schema: {type: string}}
      - {name: limit, in: query, schema: {type: integer}}
    get:
      operationId: getGoldHistory
      parameters:
        - {name: from, in: query, required: true, schema: {type: string, format: date}}
        - {name: limit, in: query, required: true, schema: {type: integer}}
        - {name: X-Trace, in: header, schema: {type: string}}
        - {name: Authorization, in: header, schema: {type: string}}
        - {name: session, in: cookie, schema: {type: string}}
        - {name: fields, in: query, explode: false, schema: {type: array, items: {type: string}}}
        - {name: karats, in: query, schema: {type: array, items: {type: integer}}}
        - {name: X-Tags, in: header, required: true, schema: {type: array, items: {type: string}}}
      responses:
        '200': {description: the history}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '429': {$ref: '#/components/responses/TooManyRequests'}
  /orders:
    post:
      operationId: createOrder
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, properties: {grams: {type: number}}}
      responses:
        '201': {description: the order}
        '202': {description: accepted}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '429': {$ref: '#/components/responses/TooManyRequests'}
`

// withExtraOperations is openapi.yaml with extraOperations under paths.
func withExtraOperations(t *testing.T) []byte {
	t.Helper()
	spec, err := os.ReadFile(filepath.Join("..", "..", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(spec, []byte("\npaths:\n")) {
		t.Fatal("openapi.yaml has no top-level paths: line")
	}
	return bytes.Replace(spec, []byte("\npaths:\n"), []byte("\npaths:\n"+extraOperations), 1)
}

// An operation added to the spec reaches the generated table with what a
// generic caller (milligold call) needs: its path and query parameters,
// where each goes and whether it is required, and its body's media type.
func TestTableCarriesNewOperations(t *testing.T) {
	m, err := build(withExtraOperations(t), Config{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]operation{}
	for _, op := range m.ops {
		byID[op.id] = op
	}
	h, ok := byID["getGoldHistory"]
	if !ok {
		t.Fatal("getGoldHistory is not in the model")
	}
	want := []param{
		{name: "metal", in: "path", required: true, goType: "string"},
		{name: "fields", in: "query", array: true, goType: "string"},
		{name: "from", in: "query", required: true, goType: "string"},
		{name: "karats", in: "query", array: true, explode: true, goType: "string"},
		{name: "limit", in: "query", required: true, goType: "int"},
		{name: "X-Tags", in: "header", required: true, array: true, goType: "string"},
		{name: "X-Trace", in: "header", goType: "string"},
	}
	if !slices.Equal(h.params, want) {
		t.Errorf("getGoldHistory params %+v;\nwant %+v\n(path, query, header; the operation's limit overrides the path item's; arrays exploded in the query by default; no Authorization, no cookie)", h.params, want)
	}
	if h.method != "GET" || h.path != "/gold/history/{metal}" || !h.bearer || h.bodyType != "" || h.success != 200 {
		t.Errorf("getGoldHistory = %+v", h)
	}
	o := byID["createOrder"]
	if o.bodyType != "application/json" || !o.bodyRequired || len(o.params) != 0 || o.method != "POST" || o.success != 201 {
		t.Errorf("createOrder = %+v; want a required JSON body, no parameters, success 201 (the lowest 2xx)", o)
	}

	files, err := Generate(withExtraOperations(t), Config{})
	if err != nil {
		t.Fatal(err)
	}
	policy := string(files["gen/middleware/policy.gen.go"])
	for _, s := range []string{
		`ID:     "getGoldHistory",`,
		`Params: []Param{{`,
		"In:       \"query\",\n\t\tName:     \"from\",\n\t\tRequired: true,",
		"In:       \"path\",\n\t\tName:     \"metal\",",
		`BodyType:     "application/json",`,
		`Success:      201,`,
		`OpGetGoldHistory`,
		"Array:   true,\n\t\tExplode: true,\n\t\tIn:      \"query\",\n\t\tName:    \"karats\",",
		"Array:    true,\n\t\tIn:       \"header\",\n\t\tName:     \"X-Tags\",\n\t\tRequired: true,",
	} {
		if !strings.Contains(policy, s) {
			t.Errorf("policy.gen.go lacks %q:\n%s", s, policy)
		}
	}
}

// A name that is both a path and a query parameter would make -p name=v
// ambiguous: the generator refuses it, naming the place.
func TestTableRefusesAmbiguousParameter(t *testing.T) {
	spec := bytes.Replace(withExtraOperations(t), []byte("- {name: from, in: query"), []byte("- {name: metal, in: query"), 1)
	_, err := build(spec, Config{})
	if err == nil || !strings.Contains(err.Error(), `paths./gold/history/{metal}.get.parameters: "metal" is both a path and a query parameter`) {
		t.Errorf("build = %v; want the ambiguous parameter named", err)
	}
}

// A parameter a caller could not send as the spec asks is refused, named,
// rather than sent wrong.
func TestTableRefusesUnsendableParameter(t *testing.T) {
	for _, tc := range []struct{ name, param, want string }{
		{"deepObject", "- {name: filter, in: query, style: deepObject, schema: {type: object}}", "parameters.filter: an object or content parameter is not supported"},
		{"pipes", "- {name: filter, in: query, style: pipeDelimited, schema: {type: array, items: {type: string}}}", "parameters.filter: style pipeDelimited is not supported"},
		{"array in the path", "- {name: metal, in: path, required: true, schema: {type: array, items: {type: string}}}", "parameters.metal: an array path parameter is not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := bytes.Replace(withExtraOperations(t), []byte("- {name: from, in: query"), []byte(tc.param+"\n        - {name: from, in: query"), 1)
			m, err := build(spec, Config{})
			if err == nil || !strings.Contains(err.Error(), "paths./gold/history/{metal}.get."+tc.want) {
				t.Errorf("build = %v, %v; want %q", m != nil, err, tc.want)
			}
		})
	}
}

// An operation with no 2xx response leaves a caller nothing to expect.
func TestTableRefusesNoSuccess(t *testing.T) {
	spec := bytes.Replace(withExtraOperations(t), []byte("        '201': {description: the order}\n        '202': {description: accepted}\n"), nil, 1)
	_, err := build(spec, Config{})
	if err == nil || !strings.Contains(err.Error(), "paths./orders.post.responses: no 2xx response") {
		t.Errorf("build = %v; want the operation without a 2xx named", err)
	}
}
