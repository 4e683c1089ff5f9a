package milligold

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/internal/hostile"
	"github.com/milligold/milligold-go/sandbox/sandboxtest"
)

// Call against the real sandbox: the data of each operation as it came,
// and the typed errors of the typed methods.
func TestCallSandbox(t *testing.T) {
	sb := sandboxtest.New(t)
	c, err := New(WithBaseURL(sb.URL), WithCredentials(sb.PartnerID, sb.PartnerSecret))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	data, err := c.Call(ctx, "getGoldRate", nil, nil)
	if err != nil {
		t.Fatalf("Call(getGoldRate): %v", err)
	}
	var rate struct{ Rate json.Number }
	if err := json.Unmarshal(data, &rate); err != nil || rate.Rate == "" {
		t.Errorf("getGoldRate data %s: %v", data, err)
	}

	data, err = c.Call(ctx, "getUserInfo", map[string]string{"mobileNumber": "1234567890"}, nil)
	if err != nil {
		t.Fatalf("Call(getUserInfo): %v", err)
	}
	if !strings.Contains(string(data), `"mobileNumber":"1234567890"`) {
		t.Errorf("getUserInfo data %s", data)
	}

	_, err = c.Call(ctx, "getUserInfo", map[string]string{"mobileNumber": "9999999999"}, nil)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || !errors.Is(err, ErrNotFound) {
		t.Errorf("Call(getUserInfo, unknown user) = %v; want a 404 *APIError matching ErrNotFound", err)
	}
}

// A call the table rules out is refused before anything is sent.
func TestCallInvalid(t *testing.T) {
	f := newFakeAPI(t)
	c := newTestClient(t, f.URL)
	tests := []struct {
		name    string
		op      string
		params  map[string]string
		body    string
		wantErr string
	}{
		{"unknown operation", "getGoldRates", nil, "", `no operation "getGoldRates"`},
		{"unknown parameter", "getUserInfo", map[string]string{"mobileNumber": "1234567890", "mobile": "1"}, "", `no parameter "mobile"; parameters: mobileNumber (path, required)`},
		{"no parameters at all", "getGoldRate", map[string]string{"x": "1"}, "", "it takes no parameters"},
		{"missing path parameter", "getUserInfo", nil, "", `missing required path parameter "mobileNumber"`},
		{"dot-dot path segment", "getUserInfo", map[string]string{"mobileNumber": ".."}, "", "not a path segment"},
		{"empty path segment", "getUserInfo", map[string]string{"mobileNumber": ""}, "", "not a path segment"},
		{"body on a GET", "getGoldRate", nil, `{}`, "takes no request body"},
		{"token operation", "createAccessToken", nil, "", "use Token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			_, err := c.Call(context.Background(), tt.op, tt.params, body)
			if !errors.Is(err, ErrInvalidCall) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Call = %v; want ErrInvalidCall with %q", err, tt.wantErr)
			}
		})
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("%d requests sent for invalid calls", n)
	}
}

// The path parameter is escaped into one segment, and the answer is held
// to the envelope: success true and data there.
func TestCallAnswerChecks(t *testing.T) {
	tests := []struct {
		name, body, wantErr string
	}{
		{"no data", `{"success":true}`, `no "data"`},
		{"null data", `{"success":true,"data":null}`, `no "data"`},
		{"success false", `{"success":false,"data":{}}`, "success is false"},
		{"not JSON", `<html>`, "body is not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeAPI(t)
			f.Handle(hostile.RatePath, hostile.JSON(http.StatusOK, tt.body))
			c := testClient(t, f.URL, "answers off the envelope")
			_, err := c.Call(context.Background(), "getGoldRate", nil, nil)
			var ue *UnexpectedResponseError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Call = %v; want *UnexpectedResponseError with %q", err, tt.wantErr)
			}
		})
	}

	// No request: the spec's pattern would refuse this value first.
	c := newTestClient(t, newFakeAPI(t).URL)
	_, target, _, err := c.callTarget("getUserInfo", map[string]string{"mobileNumber": "12/../34?x#"}, nil, nil)
	if err != nil || !strings.HasSuffix(target, "/partner/user/info/12%2F..%2F34%3Fx%23") {
		t.Errorf("target %q, %v; want the value escaped into one segment", target, err)
	}
}

// Call is driven by the table alone: an operation added to it (as
// regenerating gen/ from a spec with a new operation does) is callable with
// its query parameters and JSON body, behind the bearer token.
func TestCallNewOperation(t *testing.T) {
	saved := middleware.Operations
	t.Cleanup(func() { middleware.Operations = saved })
	middleware.Operations = append(slices.Clip(saved),
		middleware.Operation{ID: "getGoldHistory", GoName: "GetGoldHistory", Method: "GET", Path: "/gold/history/{metal}", Bearer: true, Success: http.StatusOK, Params: []middleware.Param{
			{Name: "metal", In: "path", Required: true}, {Name: "from", In: "query", Required: true}, {Name: "limit", In: "query"},
		}},
		middleware.Operation{ID: "createOrder", GoName: "CreateOrder", Method: "POST", Path: "/orders", Bearer: true, BodyType: "application/json", BodyRequired: true, Success: http.StatusCreated},
	)
	f := newFakeAPI(t)
	f.Handle("/partner/gold/history/xau", hostile.JSON(http.StatusOK, `{"success":true,"data":[{"rate":1.5}]}`))
	f.Handle("/partner/orders", hostile.Sequence(
		hostile.JSON(http.StatusCreated, `{"success":true,"data":{"id":"o-1"}}`),
		hostile.JSON(http.StatusOK, `{"success":true,"data":{"id":"o-2"}}`)))
	// Not testClient: its conformance transport checks requests against
	// openapi.yaml, which lacks these operations.
	c, err := New(WithBaseURL(f.URL), WithCredentials(fakePartnerID, testSecret))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	data, err := c.Call(ctx, "getGoldHistory", map[string]string{"metal": "xau", "from": "2024-01-01", "limit": "5"}, nil)
	if err != nil || string(data) != `[{"rate":1.5}]` {
		t.Fatalf("Call(getGoldHistory) = %s, %v", data, err)
	}
	if _, err := c.Call(ctx, "getGoldHistory", map[string]string{"metal": "xau"}, nil); !errors.Is(err, ErrInvalidCall) || !strings.Contains(err.Error(), `missing required query parameter "from"`) {
		t.Errorf("Call without from = %v", err)
	}
	data, err = c.Call(ctx, "createOrder", nil, []byte(`{"grams":1}`))
	if err != nil || string(data) != `{"id":"o-1"}` {
		t.Fatalf("Call(createOrder) = %s, %v", data, err)
	}
	// 200 is not what this operation documents.
	var ue *UnexpectedResponseError
	if _, err := c.Call(ctx, "createOrder", nil, []byte(`{"grams":1}`)); !errors.As(err, &ue) || !strings.Contains(err.Error(), "the spec documents 201 Created") {
		t.Errorf("Call(createOrder) answered 200 = %v; want *UnexpectedResponseError", err)
	}
	var sawGet, sawPost bool
	for _, r := range f.Requests() {
		switch {
		case r.Method == "GET" && r.Path == "/partner/gold/history/xau?from=2024-01-01&limit=5":
			sawGet = r.Authorization == "Bearer "+fakeToken
		case r.Method == "POST" && r.Path == "/partner/orders" && !sawPost:
			sawPost = r.Authorization == "Bearer "+fakeToken && r.Body == `{"grams":1}` && r.Header.Get("Content-Type") == "application/json"
		}
	}
	if !sawGet || !sawPost {
		t.Errorf("requests %+v; want the GET with its query and the POST with its JSON body, both with the bearer token", f.Requests())
	}
}

// FuzzCallTarget: whatever a caller passes, Call's check either refuses it
// (ErrInvalidCall) or makes a URL under the base whose path has the
// template's segments, each parameter value inside its own.
func FuzzCallTarget(f *testing.F) {
	f.Add("getUserInfo", "mobileNumber", "1234567890", "")
	f.Add("getUserInfo", "mobileNumber", "../../auth/token", "")
	f.Add("getUserInfo", "mobileNumber", "a/b?c#d%2F", "{}")
	f.Add("getGoldRate", "", "", "")
	f.Add("createAccessToken", "partnerId", "p", `{"a":1}`)
	f.Add("nope", "x", "y", "null")
	c, err := New(WithBaseURL("http://127.0.0.1:1/partner"), WithCredentials("p", "s"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, op, name, value, body string) {
		var params map[string]string
		if name != "" {
			params = map[string]string{name: value}
		}
		var b []byte
		if body != "" {
			b = []byte(body)
		}
		got, target, _, err := c.callTarget(op, params, nil, b)
		if err != nil {
			if !errors.Is(err, ErrInvalidCall) {
				t.Fatalf("callTarget error %v does not match ErrInvalidCall", err)
			}
			return
		}
		u, err := url.Parse(target)
		if err != nil || u.Host != "127.0.0.1:1" || u.Fragment != "" {
			t.Fatalf("target %q: %v", target, err)
		}
		rest, ok := strings.CutPrefix(u.EscapedPath(), "/partner/")
		if !ok {
			t.Fatalf("target %q is not under the base path", target)
		}
		if want := strings.Count(got.Path, "/"); strings.Count("/"+rest, "/") != want {
			t.Fatalf("target %q has other segments than %s", target, got.Path)
		}
	})
}

// fixedTarget makes an operation's URL once, and again when its entry's
// path changes in place.
func TestFixedTarget(t *testing.T) {
	c, err := New(WithBaseURL("http://127.0.0.1:1/partner/"), WithCredentials("p", "s"))
	if err != nil {
		t.Fatal(err)
	}
	op := &middleware.Operation{ID: "x", Method: "GET", Path: "/a/b"}
	if got := c.fixedTarget(op); got != "http://127.0.0.1:1/partner/a/b" {
		t.Errorf("fixedTarget = %q", got)
	}
	op.Path = "/c"
	if got := c.fixedTarget(op); got != "http://127.0.0.1:1/partner/c" {
		t.Errorf("fixedTarget after the path changed = %q", got)
	}
	_, target, _, err := c.callTarget("getGoldRate", nil, nil, nil)
	if err != nil || target != "http://127.0.0.1:1/partner/gold/rate" {
		t.Errorf("callTarget(getGoldRate) = %q, %v", target, err)
	}
}

// TestCallTargetAllocs: header and array parameters cost the calls without
// them nothing: a path parameter is not boxed into an interface (3
// allocations, as before they came: the sorted names, the path, the URL),
// and an operation without parameters allocates nothing.
func TestCallTargetAllocs(t *testing.T) {
	c, err := New(WithBaseURL("http://127.0.0.1:1/partner"), WithCredentials("p", "s"))
	if err != nil {
		t.Fatal(err)
	}
	p := map[string]string{"mobileNumber": "1234567890"}
	if n := testing.AllocsPerRun(100, func() { c.callTarget("getUserInfo", p, nil, nil) }); n > 3 {
		t.Errorf("callTarget(getUserInfo): %v allocations; want at most 3", n)
	}
	if n := testing.AllocsPerRun(100, func() { c.callTarget("getGoldRate", nil, nil, nil) }); n != 0 {
		t.Errorf("callTarget(getGoldRate): %v allocations; want 0", n)
	}
}
