package codegen

import (
	"context"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// opsPaths and opsSchemas add a GET with query parameters and a POST with a
// JSON body to openapi.yaml, as a partner would find them in a new version.
const opsPaths = `paths:
  /things:
    get:
      operationId: listThings
      parameters:
        - {name: kind, in: query, required: true, schema: {type: string}}
        - {name: limit, in: query, schema: {type: integer}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/ThingResponse'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '429': {$ref: '#/components/responses/TooManyRequests'}
    post:
      operationId: createThing
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Thing'}
      responses:
        '201':
          description: created
          content:
            application/json:
              schema: {$ref: '#/components/schemas/ThingResponse'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '429': {$ref: '#/components/responses/TooManyRequests'}
  /things/{type}/{thingId}:
    get:
      operationId: getThing
      parameters:
        - {name: type, in: path, required: true, schema: {type: string}}
        - {name: thingId, in: path, required: true, schema: {type: integer, format: int64}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/ThingResponse'}
        '401': {$ref: '#/components/responses/Unauthorized'}
        '429': {$ref: '#/components/responses/TooManyRequests'}
`

const opsSchemas = `  schemas:
    Thing:
      type: object
      required: [name]
      properties:
        name: {type: string}
    ThingResponse:
      type: object
      required: [success, data]
      properties:
        success: {type: boolean}
        data: {$ref: '#/components/schemas/Thing'}
`

// opsProbe drives the generated methods over a recording Caller: the
// arguments reach it by the spec's names and the data comes back typed.
const opsProbe = `package middleware_test

import (
	"context"
	"encoding/json"
	"testing"

	api "%[1]s/api"
	middleware "%[1]s/middleware"
)

type rec struct {
	op     string
	params map[string]string
	query  any
	body   []byte
}

func (r *rec) CallInto(_ context.Context, op string, params map[string]string, query any, body []byte, dst any) error {
	r.op, r.params, r.query, r.body = op, params, query, body
	return json.Unmarshal([]byte(` + "`" + `{"success":true,"data":{"name":"n1"}}` + "`" + `), dst)
}

func TestOps(t *testing.T) {
	r := &rec{}
	ops := middleware.NewOps(r)
	limit := 3
	var got api.Thing
	got, err := ops.ListThings(context.Background(), &api.ListThingsParams{Kind: "k", Limit: &limit})
	if err != nil || got.Name != "n1" || r.op != "listThings" {
		t.Fatalf("ListThings = %+v, %v (op %q)", got, err, r.op)
	}
	if p, ok := r.query.(*api.ListThingsParams); !ok || p.Kind != "k" {
		t.Errorf("query %#v", r.query)
	}
	got, err = ops.CreateThing(context.Background(), api.CreateThingJSONRequestBody{Name: "x"})
	if err != nil || got.Name != "n1" || r.op != "createThing" || string(r.body) != ` + "`" + `{"name":"x"}` + "`" + ` {
		t.Fatalf("CreateThing = %+v, %v (op %q, body %s)", got, err, r.op, r.body)
	}
	if _, err := ops.GetThing(context.Background(), "box", int64(7)); err != nil || r.params["type"] != "box" || r.params["thingId"] != "7" {
		t.Errorf("GetThing: %v, params %v", err, r.params)
	}
	if _, err := ops.GetUserInfo(context.Background(), "1234567890"); err != nil || r.params["mobileNumber"] != "1234567890" {
		t.Errorf("GetUserInfo: %v, params %v", err, r.params)
	}
}
`

// TestOpsForNewOperations adds two operations to a copy of openapi.yaml,
// generates oapi-codegen's package, gen/middleware and gen/apiserver from it into a
// scratch directory inside the module, and runs a test there: each new
// operation has a typed method that compiles and calls the Caller by the
// spec's names. The real spec and gen/ are not touched.
func TestOpsForNewOperations(t *testing.T) {
	if testing.Short() {
		t.Skip("runs oapi-codegen and the go command")
	}
	spec, err := os.ReadFile(filepath.Join("..", "..", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(spec)
	if strings.Count(s, "\npaths:\n") != 1 || strings.Count(s, "\n  schemas:\n") != 1 {
		t.Fatal("openapi.yaml: want one paths: and one components.schemas: to add to")
	}
	s = strings.Replace(s, "\npaths:\n", "\n"+opsPaths, 1)
	s = strings.Replace(s, "\n  schemas:\n", "\n"+opsSchemas, 1)

	// A leading underscore keeps ./... (others' go vet) away from it.
	dir, err := os.MkdirTemp(".", "_ops")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	specPath := filepath.Join(dir, "openapi.yaml")
	if err := os.WriteFile(specPath, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	rel := path.Join("internal/codegen", filepath.ToSlash(dir))
	apiFiles, err := oapiGenerate(context.Background(), filepath.Join("..", ".."), specPath)
	if err != nil {
		t.Fatal(err)
	}
	files, err := Generate([]byte(s), Config{Dir: rel + "/middleware", ServerDir: rel + "/apiserver", APIImport: module + "/" + rel + "/api"})
	if err != nil {
		t.Fatal(err)
	}
	write := func(sub, name string, b []byte) {
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
		if err := os.WriteFile(filepath.Join(dir, sub, path.Base(name)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, b := range apiFiles {
		if path.Dir(name) == "gen/api" {
			write("api", name, b)
		}
	}
	for name, b := range files {
		write(path.Base(path.Dir(name)), name, b)
	}
	write("middleware", "probe_test.go", []byte(strings.ReplaceAll(opsProbe, "%[1]s", module+"/"+rel)))
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(goCmd, "test", "-count=1", "-run", "TestOps", "./"+filepath.ToSlash(filepath.Join(dir, "middleware")))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go test on Ops generated for the new operations: %v\n%s", err, b)
	} else if !strings.HasPrefix(string(b), "ok") {
		t.Fatalf("unexpected output (no test run?):\n%s", b)
	}
}

func TestGoIdent(t *testing.T) {
	for in, want := range map[string]string{
		"mobileNumber": "mobileNumber", "user-id": "userId", "type": "typeParam",
		"ctx": "ctxParam", "body": "bodyParam", "1st": "p1st",
	} {
		if got := goIdent(in); got != want {
			t.Errorf("goIdent(%q) = %q; want %q", in, got, want)
		}
	}
}
