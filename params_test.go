package milligold

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/milligold/milligold-go/gen/middleware"
	fxapi "github.com/milligold/milligold-go/internal/codegen/testdata/ok-params/api"
	fx "github.com/milligold/milligold-go/internal/codegen/testdata/ok-params/middleware"
	"github.com/milligold/milligold-go/internal/hostile"
)

// paramsFixture is internal/codegen's golden case with header and array
// parameters: its spec, and its generated table and Ops.
const paramsFixture = "internal/codegen/testdata/ok-params/openapi.yaml"

// seen is a request as the fixture's server got it.
type seen struct {
	path, rawQuery string
	header         http.Header
	problem        string // kin-openapi's complaint; "" when the request conforms
}

// conformingServer serves the fixture's operations under /partner on
// loopback: the token as the fake API does, every other request checked
// with kin-openapi's request validator against the fixture's spec (400 in
// the envelope when it breaks it), else the operation's example.
func conformingServer(t *testing.T) (*httptest.Server, func() []seen) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(paramsFixture)
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = nil
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var log []seen
	mux := http.NewServeMux()
	mux.HandleFunc("/partner/auth/token", hostile.IssueToken(fakePartnerID, testSecret))
	mux.HandleFunc("/partner/", func(w http.ResponseWriter, r *http.Request) {
		s := seen{path: r.URL.Path, rawQuery: r.URL.RawQuery, header: r.Header.Clone()}
		routed := r.Clone(r.Context())
		routed.URL = &url.URL{Path: strings.TrimPrefix(r.URL.Path, "/partner"), RawQuery: r.URL.RawQuery}
		route, params, err := router.FindRoute(routed)
		if err == nil {
			err = openapi3filter.ValidateRequest(r.Context(), &openapi3filter.RequestValidationInput{
				Request: routed, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
			})
		}
		if err == nil && r.Header.Get("Authorization") != "Bearer "+fakeToken {
			err = errors.New("no bearer token")
		}
		if err != nil {
			s.problem = err.Error()
		}
		mu.Lock()
		log = append(log, s)
		mu.Unlock()
		switch {
		case err != nil:
			hostile.JSON(http.StatusBadRequest, `{"success":false,"error":"bad request","errorCode":"e"}`)(w, r)
		case route.Operation.OperationID == "listThings":
			hostile.JSON(http.StatusOK, `{"success":true,"data":[{"id":"t-1"}]}`)(w, r)
		default:
			hostile.JSON(http.StatusOK, `{"success":true,"data":{"id":"t-1"}}`)(w, r)
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, func() []seen {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(log)
	}
}

// withFixtureTable puts the fixture's generated operations in place of
// openapi.yaml's until the test ends, as regenerating gen/ from that spec
// would.
func withFixtureTable(t testing.TB) {
	saved := middleware.Operations
	t.Cleanup(func() { middleware.Operations = saved })
	var ops []middleware.Operation
	for _, o := range fx.Operations {
		op := middleware.Operation{ID: o.ID, GoName: o.GoName, Method: o.Method, Path: o.Path, Bearer: o.Bearer,
			IssuesToken: o.IssuesToken, BodyType: o.BodyType, BodyRequired: o.BodyRequired, Success: o.Success}
		for _, p := range o.Params {
			op.Params = append(op.Params, middleware.Param(p))
		}
		ops = append(ops, op)
	}
	middleware.Operations = ops
}

// fragments is a raw query's name=value parts, sorted: the order of the
// parameters aside, what was sent byte for byte.
func fragments(raw string) []string {
	parts := strings.Split(raw, "&")
	slices.Sort(parts)
	return parts
}

// TestHeaderAndArrayParameters: an operation with query arrays (exploded,
// and explode: false), a date-time, header parameters (a scalar and an
// array) is called through Call and through its generated Ops method on a
// real server that validates each request against the spec with
// kin-openapi; both send what oapi-codegen's generated client sends for the
// same values, and the bearer token, never a caller's Authorization.
func TestHeaderAndArrayParameters(t *testing.T) {
	withFixtureTable(t)
	srv, requests := conformingServer(t)
	base := srv.URL + "/partner"
	c, err := New(WithBaseURL(base), WithCredentials(fakePartnerID, testSecret), WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	since := time.Date(2024, 2, 3, 4, 5, 6, 0, time.UTC)
	limit, stolen := 5, "Bearer stolen"
	typed := fxapi.ListThingsParams{
		Ids: []int{1, 22}, Tags: &[]string{"red", "blue sky"}, Since: &since, Limit: &limit,
		XRequestId: "req-1", XFlags: &[]fxapi.ListThingsParamsXFlags{"fast", "fresh"}, Authorization: &stolen,
	}
	want, err := fxapi.NewListThingsRequest(base, &typed)
	if err != nil {
		t.Fatal(err)
	}

	data, err := c.Call(ctx, "listThings", map[string]string{
		"ids": "1,22", "tags": "red,blue sky", "since": "2024-02-03T04:05:06Z", "limit": "5",
		"X-Request-Id": "req-1", "X-Flags": "fast,fresh",
	}, nil)
	if err != nil || string(data) != `[{"id":"t-1"}]` {
		t.Fatalf("Call(listThings) = %s, %v", data, err)
	}
	raw, err := fx.NewOps(opsCaller{c}).ListThings(ctx, &typed)
	if err != nil || string(raw) != `[{"id":"t-1"}]` {
		t.Fatalf("Ops.ListThings = %s, %v", raw, err)
	}
	thing, err := fx.NewOps(opsCaller{c}).GetThing(ctx, "t 1", &fxapi.GetThingParams{XLocale: new(fxapi.Hi)})
	if err != nil || thing.Id != "t-1" {
		t.Fatalf("Ops.GetThing = %+v, %v", thing, err)
	}
	if _, err := fx.NewOps(opsCaller{c}).GetThing(ctx, "t-2", nil); err != nil {
		t.Fatalf("Ops.GetThing without params: %v", err)
	}

	got := requests()
	if len(got) != 4 {
		t.Fatalf("%d requests; want 4: %+v", len(got), got)
	}
	for i, s := range got {
		if s.problem != "" {
			t.Errorf("request %d (%s?%s) breaks the spec: %s", i, s.path, s.rawQuery, s.problem)
		}
	}
	for i, name := range []string{"Call", "Ops"} {
		s := got[i]
		if g, w := fragments(s.rawQuery), fragments(want.URL.RawQuery); !slices.Equal(g, w) {
			t.Errorf("%s sent the query %q; oapi-codegen's client sends %q", name, s.rawQuery, want.URL.RawQuery)
		}
		for _, h := range []string{"X-Request-Id", "X-Flags"} {
			if g, w := s.header.Values(h), want.Header.Values(h); !slices.Equal(g, w) {
				t.Errorf("%s sent %s: %q; oapi-codegen's client sends %q", name, h, g, w)
			}
		}
		if a := s.header.Values("Authorization"); !slices.Equal(a, []string{"Bearer " + fakeToken}) {
			// Not printed: a token stays out of test output.
			t.Errorf("%s sent %d Authorization values (the caller's: %t); want the bearer token alone", name, len(a), slices.Contains(a, stolen))
		}
	}
	if s := got[2]; s.path != "/partner/things/t%201" && s.path != "/partner/things/t 1" || s.header.Get("X-Locale") != "hi" {
		t.Errorf("GetThing sent %s with X-Locale %q", s.path, s.header.Get("X-Locale"))
	}
	if s := got[3]; s.header.Values("X-Locale") != nil {
		t.Errorf("GetThing without params sent X-Locale %q", s.header.Values("X-Locale"))
	}
}

// TestHeaderAndArrayParametersRefused: what cannot be sent is refused
// before sending (ErrInvalidCall, no request); what can be sent but breaks
// the spec reaches the server, whose validator answers 400.
func TestHeaderAndArrayParametersRefused(t *testing.T) {
	withFixtureTable(t)
	srv, requests := conformingServer(t)
	c, err := New(WithBaseURL(srv.URL+"/partner"), WithCredentials(fakePartnerID, testSecret), WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		params map[string]string
		want   string
	}{
		{"header missing", map[string]string{"ids": "1"}, `missing required header parameter "X-Request-Id"`},
		{"array missing", map[string]string{"X-Request-Id": "r"}, `missing required query parameter "ids"`},
		{"header with a line break", map[string]string{"ids": "1", "X-Request-Id": "r\r\nX-Evil: 1"}, `header parameter "X-Request-Id": a control character`},
		{"Authorization is not a parameter", map[string]string{"ids": "1", "X-Request-Id": "r", "Authorization": "Bearer x"}, `no parameter "Authorization"; parameters: ids (query, array, required), limit (query), since (query), tags (query, array), X-Flags (header, array), X-Request-Id (header, required)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Call(ctx, "listThings", tc.params, nil)
			if !errors.Is(err, ErrInvalidCall) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Call = %v; want ErrInvalidCall with %q", err, tc.want)
			}
		})
	}
	if got := requests(); len(got) != 0 {
		t.Errorf("refused calls reached the server: %+v", got)
	}
	for _, tc := range []struct {
		name   string
		params map[string]string
	}{
		{"header array item outside its enum", map[string]string{"ids": "1", "X-Request-Id": "r", "X-Flags": "fast,slow"}},
		{"query array item not an integer", map[string]string{"ids": "1,x", "X-Request-Id": "r"}},
		{"header breaks its pattern", map[string]string{"ids": "1", "X-Request-Id": "R!"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Call(ctx, "listThings", tc.params, nil)
			var ae *APIError
			if !errors.As(err, &ae) || ae.StatusCode != http.StatusBadRequest {
				t.Errorf("Call = %v; want the validator's 400", err)
			}
		})
	}
	for _, s := range requests() {
		if s.problem == "" {
			t.Errorf("%s?%s passed the validator; want it refused", s.path, s.rawQuery)
		}
	}
}

// FuzzCallParams: whatever value a caller gives a query or header parameter
// of the fixture's listThings, Call's check either refuses it
// (ErrInvalidCall) or sends it so that the server reads back exactly the
// items given: an exploded array's items as repeated values, an unexploded
// one and a scalar as one value, a header verbatim (and never with a
// control character that could split it).
func FuzzCallParams(f *testing.F) {
	for _, c := range [][2]string{
		{"ids", "1,22"}, {"ids", ""}, {"ids", "a&b=c,d e"}, {"tags", "red,blue sky"}, {"tags", "%2C,"},
		{"since", "2024-02-03T04:05:06Z"}, {"limit", "5"}, {"X-Request-Id", "req-1"}, {"X-Request-Id", "a\r\nb"},
		{"X-Flags", "fast, fresh"}, {"X-Flags", "\t"}, {"Authorization", "x"}, {"nope", "x"},
	} {
		f.Add(c[0], c[1])
	}
	withFixtureTable(f)
	c, err := New(WithBaseURL("http://127.0.0.1:1/partner"), WithCredentials("p", "s"))
	if err != nil {
		f.Fatal(err)
	}
	op, _ := operationByID("listThings")
	f.Fuzz(func(t *testing.T, name, value string) {
		params := map[string]string{"ids": "1", "X-Request-Id": "r", name: value}
		_, target, header, err := c.callTarget("listThings", params, nil, nil)
		if err != nil {
			if !errors.Is(err, ErrInvalidCall) {
				t.Fatalf("callTarget error %v does not match ErrInvalidCall", err)
			}
			return
		}
		i := slices.IndexFunc(op.Params, func(p middleware.Param) bool { return p.Name == name })
		if i < 0 {
			t.Fatalf("parameter %q accepted; the operation has no such parameter", name)
		}
		p := op.Params[i]
		u, err := url.Parse(target)
		if err != nil || u.Host != "127.0.0.1:1" || u.Path != "/partner/things" {
			t.Fatalf("target %q: %v", target, err)
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			t.Fatalf("query %q does not parse: %v", u.RawQuery, err)
		}
		switch {
		case p.In == "header":
			if got := header.Values(name); !slices.Equal(got, []string{value}) || !validHeaderValue(value) {
				t.Fatalf("header %s = %q; want %q, a valid field value", name, got, value)
			}
		case p.Explode:
			if got, want := q[name], strings.Split(value, ","); !slices.Equal(got, want) {
				t.Fatalf("query %q: %s = %q; want %q", u.RawQuery, name, got, want)
			}
		case p.Array:
			// Unexploded: the items joined by literal commas (an item's
			// own comma is escaped, so the items are what was given).
			var got []string
			for _, frag := range strings.Split(u.RawQuery, "&") {
				raw, ok := strings.CutPrefix(frag, name+"=")
				if !ok {
					continue
				}
				for _, item := range strings.Split(raw, ",") {
					s, err := url.QueryUnescape(item)
					if err != nil {
						t.Fatalf("item %q: %v", item, err)
					}
					got = append(got, s)
				}
			}
			if want := strings.Split(value, ","); !slices.Equal(got, want) {
				t.Fatalf("query %q: %s items %q; want %q", u.RawQuery, name, got, want)
			}
		default:
			if got := q[name]; !slices.Equal(got, []string{value}) {
				t.Fatalf("query %q: %s = %q; want %q", u.RawQuery, name, got, value)
			}
		}
	})
}
