package middleware_test

import (
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/milligold/milligold-go/gen/apispec"
	"github.com/milligold/milligold-go/gen/middleware"
)

func TestNeedsToken(t *testing.T) {
	for _, op := range middleware.Operations {
		path := strings.ReplaceAll(op.Path, "{mobileNumber}", "1234567890")
		r, _ := http.NewRequest(op.Method, "http://h/partner"+path, nil)
		if got := middleware.NeedsToken(r); got != op.Bearer {
			t.Errorf("NeedsToken(%s %s) = %v; want %v", op.Method, path, got, op.Bearer)
		}
	}
	r, _ := http.NewRequest(http.MethodGet, "http://h/partner/not/in/spec", nil)
	if !middleware.NeedsToken(r) {
		t.Error("a request outside the spec gets no token; the spec's global security needs one")
	}
}

// OperationOf finds each operation of the table under any base path, and
// none for a path the spec lacks; the Op* constants are the table's ids.
func TestOperationOf(t *testing.T) {
	for _, op := range middleware.Operations {
		path := strings.ReplaceAll(op.Path, "{mobileNumber}", "1234567890")
		for _, base := range []string{"http://h", "http://h/partner", "http://h/v2/partner"} {
			r, _ := http.NewRequest(op.Method, base+path, nil)
			if got, ok := middleware.OperationOf(r); !ok || got.ID != op.ID {
				t.Errorf("OperationOf(%s %s%s) = %+v, %v; want %s", op.Method, base, path, got, ok, op.ID)
			}
		}
	}
	for _, target := range []string{"GET http://h/partner/user/info/", "POST http://h/partner/gold/rate", "GET http://h/partner/gold/rates"} {
		method, u, _ := strings.Cut(target, " ")
		r, _ := http.NewRequest(method, u, nil)
		if got, ok := middleware.OperationOf(r); ok {
			t.Errorf("OperationOf(%s) = %s; want none", target, got.ID)
		}
	}
	for _, id := range []string{middleware.OpCreateAccessToken, middleware.OpGetGoldRate, middleware.OpGetUserInfo} {
		if _, ok := middleware.OperationByID(id); !ok {
			t.Errorf("Op constant %q is not in Operations", id)
		}
	}
	if op, _ := middleware.OperationByID(middleware.TokenOperation); !op.IssuesToken || op.ID != middleware.OpCreateAccessToken {
		t.Errorf("the token operation is %+v", op)
	}
}

// TestOperationsMatchSpec walks the embedded spec: every operation is in
// the table with its method, path, name and bearer requirement.
func TestOperationsMatchSpec(t *testing.T) {
	doc, err := apispec.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for path, item := range doc.Paths.Map() {
		for method, spec := range item.Operations() {
			n++
			t.Run(method+" "+path, func(t *testing.T) {
				op, ok := middleware.OperationByID(spec.OperationID)
				if !ok {
					t.Fatalf("operation %s missing from the table", spec.OperationID)
				}
				bearer := spec.Security == nil || len(*spec.Security) > 0
				if op.Method != method || op.Path != path || op.Bearer != bearer {
					t.Errorf("table has %+v; spec says %s %s bearer=%v", op, method, path, bearer)
				}
				if byGo, ok := middleware.OperationByGoName(op.GoName); !ok || byGo.ID != op.ID {
					t.Errorf("OperationByGoName(%q) = %+v, %v", op.GoName, byGo, ok)
				}
				// Every path, query and header parameter, where the spec
				// puts it (not the headers OpenAPI ignores as parameters),
				// whether it is required, an array, exploded.
				type shape struct{ required, array, explode bool }
				want := map[string]shape{}
				for _, p := range append(item.Parameters, spec.Parameters...) {
					v := p.Value
					switch http.CanonicalHeaderKey(v.Name) {
					case "Accept", "Content-Type", "Authorization":
						if v.In == "header" {
							continue
						}
					}
					if v.In == "path" || v.In == "query" || v.In == "header" {
						array := v.Schema != nil && v.Schema.Value.Type.Is("array")
						explode := array && v.In == "query" && (v.Explode == nil || *v.Explode)
						want[v.In+" "+v.Name] = shape{v.Required || v.In == "path", array, explode}
					}
				}
				got := map[string]shape{}
				for _, p := range op.Params {
					got[p.In+" "+p.Name] = shape{p.Required, p.Array, p.Explode}
				}
				if !maps.Equal(got, want) {
					t.Errorf("table's parameters %v; spec's %v", got, want)
				}
				success := 0
				for code := range spec.Responses.Map() {
					if n, err := strconv.Atoi(code); err == nil && n/100 == 2 && (success == 0 || n < success) {
						success = n
					}
				}
				if op.Success != success {
					t.Errorf("table's success status %d; spec's %d", op.Success, success)
				}
				if (spec.RequestBody != nil) != (op.BodyType != "") {
					t.Errorf("table's body type %q; spec has a request body: %v", op.BodyType, spec.RequestBody != nil)
				}
			})
		}
	}
	if n != len(middleware.Operations) {
		t.Errorf("spec has %d operations; table %d", n, len(middleware.Operations))
	}
	if fmt.Sprint(middleware.TokenOperation) != "createAccessToken" {
		t.Errorf("TokenOperation = %q", middleware.TokenOperation)
	}
}
