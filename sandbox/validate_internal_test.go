package sandbox

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/milligold/milligold-go/gen/apispec"
)

// TestNothingToValidate: of the spec's operations, as validatingMux routes
// them, exactly those without parameters and without a request body skip
// ValidateRequest, and for those ValidateRequest passes every request
// whatever it carries (a body, a query, odd headers, another method), so
// skipping it changes no answer. getGoldRate is one of them.
func TestNothingToValidate(t *testing.T) {
	spec, err := apispec.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	skipped := map[string]bool{}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			route, o := formRoute(t, spec, method, path)
			o.KeepValidatedValue = false
			want := len(op.Parameters) == 0 && len(item.Parameters) == 0 && op.RequestBody == nil
			got := nothingToValidate(route, o)
			if got != want {
				t.Errorf("%s %s: nothingToValidate = %v; want %v", method, path, got, want)
			}
			if !got {
				continue
			}
			skipped[op.OperationID] = true
			if nothingToValidate(route, &openapi3filter.Options{RejectWhenRequestBodyNotSpecified: true}) {
				t.Errorf("%s %s: skipped although the options refuse an undeclared body", method, path)
			}
			for _, body := range []string{"", "{}", "partnerId=a&partnerSecret=b", strings.Repeat("x", 70<<10)} {
				for _, query := range []string{"", "?a=1&b=%zz", "?mobileNumber=1"} {
					r := httptest.NewRequest(method, "http://sandbox.test"+BasePath+path+query, strings.NewReader(body))
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					r.Header.Set("Authorization", "Basic x")
					r.Header["X-Odd"] = []string{"\x00", ""}
					in := &openapi3filter.RequestValidationInput{Request: r, Route: route, Options: o}
					if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
						t.Errorf("%s %s%s with a %d-byte body: ValidateRequest = %v; skipping it would pass it", method, path, query, len(body), err)
					}
				}
			}
		}
	}
	if !skipped["getGoldRate"] {
		t.Errorf("getGoldRate is validated; want it skipped (it takes no input)")
	}
}

// TestGoldRateAllocations: the gold rate's validation allocates nothing
// (ValidateRequest's input did, for a request it cannot refuse).
func TestGoldRateAllocations(t *testing.T) {
	s, err := New(Default())
	if err != nil {
		t.Fatal(err)
	}
	route, o := formRoute(t, s.spec, http.MethodGet, "/gold/rate")
	o.KeepValidatedValue = false
	called := 0
	h := s.validate(route, nil, func(http.ResponseWriter, *http.Request) { called++ })
	r := httptest.NewRequest(http.MethodGet, "http://sandbox.test"+BasePath+"/gold/rate", nil)
	w := httptest.NewRecorder()
	if n := testing.AllocsPerRun(100, func() { h(w, r) }); n != 0 {
		t.Errorf("validating a gold-rate request: %v allocations; want 0", n)
	}
	if called == 0 {
		t.Error("the handler was not called")
	}
}
