package apiserver_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/milligold/milligold-go/gen/api"
	"github.com/milligold/milligold-go/gen/apiserver"
)

// calls is an api.ServerInterface that writes which method it got with
// which arguments. An operation added to the spec reaches the embedded nil
// interface and panics, on both sides alike (answer recovers), so a new
// operation needs no line here.
type calls struct{ api.ServerInterface }

func (calls) CreateAccessToken(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "token") }
func (calls) GetGoldRate(w http.ResponseWriter, r *http.Request)       { fmt.Fprint(w, "rate") }
func (calls) GetUserInfo(w http.ResponseWriter, r *http.Request, mobileNumber string) {
	fmt.Fprintf(w, "user %q", mobileNumber)
}

// routes is a router that keeps what is registered, so a test can call a
// route's handler with any path value, the empty one too (which ServeMux
// never matches).
type routes map[string]func(http.ResponseWriter, *http.Request)

func (m routes) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m[pattern] = h
}
func (m routes) ServeHTTP(http.ResponseWriter, *http.Request) {}

// TestHandlerBindsAsOapiCodegen holds the generated HandlerWithOptions, which
// binds path parameters itself, to oapi-codegen's, with its default error
// handler and with one given.
func TestHandlerBindsAsOapiCodegen(t *testing.T) {
	errorHandlers := map[string]func(http.ResponseWriter, *http.Request, error){
		"default": nil,
		"given": func(w http.ResponseWriter, _ *http.Request, err error) {
			w.WriteHeader(499)
			fmt.Fprintf(w, "%T %v", err, err)
		},
	}
	for name, eh := range errorHandlers {
		ours, theirs := routes{}, routes{}
		apiserver.HandlerWithOptions(calls{}, api.StdHTTPServerOptions{BaseURL: "/partner", BaseRouter: ours, ErrorHandlerFunc: eh})
		api.HandlerWithOptions(calls{}, api.StdHTTPServerOptions{BaseURL: "/partner", BaseRouter: theirs, ErrorHandlerFunc: eh})
		if len(ours) != len(theirs) {
			t.Fatalf("%s: %d routes; oapi-codegen registers %d", name, len(ours), len(theirs))
		}
		for pattern, want := range theirs {
			got, ok := ours[pattern]
			if !ok {
				t.Errorf("%s: %s not registered", name, pattern)
				continue
			}
			for _, value := range []string{"1234567890", "", "a b", "%2F", "a/b", ",", "ü"} {
				answer := func(h func(http.ResponseWriter, *http.Request)) (s string) {
					defer func() {
						if p := recover(); p != nil {
							s = "unimplemented"
						}
					}()
					r := httptest.NewRequest(http.MethodGet, "/", nil)
					r.SetPathValue("mobileNumber", value)
					w := httptest.NewRecorder()
					h(w, r)
					return fmt.Sprintf("%d %v %q", w.Code, w.Header(), w.Body.String())
				}
				if g, w := answer(got), answer(want); g != w {
					t.Errorf("%s: %s with %q = %s; oapi-codegen's %s", name, pattern, value, g, w)
				}
			}
		}
	}
}
