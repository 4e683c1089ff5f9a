package conformance

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/milligold/milligold-go/gen/apispec"
	"github.com/milligold/milligold-go/gen/middleware"
)

const (
	goodRate  = `{"success":true,"data":{"rate":1111,"cgstRate":0.015,"sgstRate":0.015,"updatedAt":"2023-01-05T09:17:03.459Z"}}`
	goodError = `{"success":false,"error":"nope","errorCode":"3d1c75d0-37ee-4530-b281-4ab9c597f2bb"}`
	secret    = "s3cr3t-Partner-Value"
	token     = "tok-0123456789-abcdef"
)

// canned answers every request with one response.
func canned(status int, header http.Header, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if header.Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		for k, vs := range header {
			w.Header()[k] = vs
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	})
}

// under mounts h under /partner, as the API serves.
func under(t *testing.T, h http.Handler) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/partner/", http.StripPrefix("/partner", h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/partner"
}

func limitHeaders(drop string) http.Header {
	h := http.Header{
		"X-Rate-Limit-Limit":     {"10"},
		"X-Rate-Limit-Remaining": {"0"},
		"X-Rate-Limit-Reset":     {"1700000000"},
	}
	h.Del(drop)
	return h
}

// violationsOf sends one request through a Transport to handler and returns
// what the Transport recorded.
func violationsOf(t *testing.T, handler http.Handler, request func(base string) *http.Request, invalid bool) []Violation {
	t.Helper()
	base := under(t, handler)
	tr, err := NewTransport(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	req := request(base)
	if invalid {
		req = req.WithContext(ExpectInvalidRequest(req.Context()))
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("RoundTrip: %v", err)
	}
	resp.Body.Close()
	return tr.Violations()
}

func TestTransportValidates(t *testing.T) {
	rateReq := func(base string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, base+"/gold/rate", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return req
	}
	tests := []struct {
		name    string
		handler http.Handler
		request func(base string) *http.Request
		invalid bool     // sent with ExpectInvalidRequest
		want    []string // a substring of each violation, in order
	}{
		{name: "conforming 200", handler: canned(200, nil, goodRate), request: rateReq},
		{name: "extra response fields tolerated",
			handler: canned(200, nil, `{"success":true,"new":1,"data":{"rate":1,"cgstRate":0,"sgstRate":0,"updatedAt":"2023-01-05T09:17:03Z","currency":"INR"}}`),
			request: rateReq},
		{name: "wrong field type", handler: canned(200, nil, strings.Replace(goodRate, `1111`, `"1111"`, 1)),
			request: rateReq, want: []string{"response GET /gold/rate 200: response body doesn't match schema #/components/schemas/GoldRateResponse: /data/rate: value must be a number"}},
		{name: "missing field", handler: canned(200, nil, strings.Replace(goodRate, `"cgstRate":0.015,`, ``, 1)),
			request: rateReq, want: []string{`/data/cgstRate: property "cgstRate" is missing`}},
		{name: "bad date-time", handler: canned(200, nil, strings.Replace(goodRate, `2023-01-05T09:17:03.459Z`, `yesterday`, 1)),
			request: rateReq, want: []string{`/data/updatedAt: string doesn't match the format "date-time"`}},
		{name: "undocumented status", handler: canned(418, nil, goodError),
			request: rateReq, want: []string{"response GET /gold/rate 418: status is not supported"}},
		{name: "429 without X-Rate-Limit-Reset", handler: canned(429, limitHeaders("X-Rate-Limit-Reset"), goodError),
			request: rateReq, want: []string{`response header "X-Rate-Limit-Reset" missing`}},
		{name: "429 with the three headers", handler: canned(429, limitHeaders(""), goodError), request: rateReq},
		{name: "error without errorCode", handler: canned(401, nil, `{"success":false,"error":"nope"}`),
			request: rateReq, want: []string{`/errorCode: property "errorCode" is missing`}},
		{name: "plain-text error", handler: canned(401, http.Header{"Content-Type": {"text/plain"}}, "nope"),
			request: rateReq, want: []string{`response header Content-Type has unexpected value: "text/plain"`}},
		{name: "missing bearer", handler: canned(401, nil, goodError),
			request: func(base string) *http.Request {
				req, _ := http.NewRequest(http.MethodGet, base+"/gold/rate", nil)
				return req
			},
			want: []string{"request GET /gold/rate: security requirements failed: authorization failed: no Authorization header"}},
		{name: "missing bearer, meant", handler: canned(401, nil, goodError), invalid: true,
			request: func(base string) *http.Request {
				req, _ := http.NewRequest(http.MethodGet, base+"/gold/rate", nil)
				return req
			}},
		{name: "two spaces after Bearer", handler: canned(401, nil, goodError),
			request: func(base string) *http.Request {
				req := rateReq(base)
				req.Header.Set("Authorization", "Bearer  "+token)
				return req
			},
			want: []string{`Authorization is not "Bearer <token>" with a single space`}},
		{name: "meant invalid but conforms", handler: canned(200, nil, goodRate), invalid: true,
			request: rateReq, want: []string{"the request was meant to violate the spec but conforms to it"}},
		{name: "bad path parameter", handler: canned(400, nil, goodError),
			request: func(base string) *http.Request {
				req := rateReq(base)
				req.URL.Path = strings.Replace(req.URL.Path, "/gold/rate", "/user/info/12ab", 1)
				return req
			},
			want: []string{`parameter "mobileNumber" in path has an error: /: string doesn't match the regular expression "^[0-9]{10}$"`}},
		{name: "not under the base path", handler: canned(200, nil, goodRate),
			request: func(base string) *http.Request {
				req := rateReq(base)
				req.URL.Path = "/gold/rate"
				return req
			},
			want: []string{`GET /gold/rate is not under the base path "/partner"`}},
		{name: "unknown operation", handler: canned(404, nil, goodError),
			request: func(base string) *http.Request {
				req := rateReq(base)
				req.URL.Path += "s"
				return req
			},
			want: []string{"GET /partner/gold/rates: no matching operation was found"}},
		{name: "token form without partnerSecret", handler: canned(400, nil, goodError),
			request: func(base string) *http.Request {
				req, _ := http.NewRequest(http.MethodPost, base+"/auth/token", strings.NewReader("partnerId=p1"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return req
			},
			want: []string{`request POST /auth/token: request body has an error: doesn't match schema #/components/schemas/TokenRequest: /partnerSecret: property "partnerSecret" is missing`}},
		{name: "token as JSON", handler: canned(400, nil, goodError),
			request: func(base string) *http.Request {
				req, _ := http.NewRequest(http.MethodPost, base+"/auth/token", strings.NewReader(`{"partnerId":"p1","partnerSecret":"`+secret+`"}`))
				req.Header.Set("Content-Type", "application/json")
				return req
			},
			want: []string{`header Content-Type has unexpected value "application/json"`}},
		{name: "prism violations", handler: canned(200, http.Header{PrismViolationsHeader: {
			`[{"location":["request"],"severity":"Error","message":"Invalid security scheme used"},` +
				`{"location":["response","body","data","rate"],"severity":"Error","message":"Response body property data.rate must be number"}]`}}, goodRate),
			request: rateReq,
			want: []string{"request GET /gold/rate (prism): Error: Invalid security scheme used",
				"response GET /gold/rate 200 (prism): Error: Response body property data.rate must be number"}},
		{name: "prism request violation, meant", invalid: true, handler: canned(401, http.Header{PrismViolationsHeader: {
			`[{"location":["request"],"severity":"Error","message":"Invalid security scheme used"}]`}}, goodError),
			request: func(base string) *http.Request {
				req, _ := http.NewRequest(http.MethodGet, base+"/gold/rate", nil)
				return req
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := violationsOf(t, tt.handler, tt.request, tt.invalid)
			if len(got) != len(tt.want) {
				t.Fatalf("violations = %q; want %d matching %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i].String(), w) {
					t.Errorf("violation %d = %q; want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

// TestTransportKeepsSecrets: violations name places, never values, and the
// credentials a request or response carries are redacted even where a
// message would quote them.
func TestTransportKeepsSecrets(t *testing.T) {
	tests := []struct {
		name    string
		handler http.Handler
		request func(base string) *http.Request
	}{
		{name: "token response with a wrong type",
			handler: canned(200, nil, `{"success":true,"data":{"accessToken":"`+token+`","expiresIn":"3600","createdAt":1}}`),
			request: func(base string) *http.Request {
				req, _ := http.NewRequest(http.MethodPost, base+"/auth/token",
					strings.NewReader(url.Values{"partnerId": {"p1"}, "partnerSecret": {secret}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return req
			}},
		{name: "prism quoting the credentials",
			handler: canned(401, http.Header{PrismViolationsHeader: {
				`[{"location":["response"],"severity":"Error","message":"saw ` + secret + ` and Bearer ` + token + `"}]`}}, goodError),
			request: func(base string) *http.Request {
				req, _ := http.NewRequest(http.MethodPost, base+"/auth/token",
					strings.NewReader(url.Values{"partnerId": {"p1"}, "partnerSecret": {secret}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Authorization", "Bearer "+token)
				return req
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vs := violationsOf(t, tt.handler, tt.request, false)
			if len(vs) == 0 {
				t.Fatal("no violations; the case must produce at least one")
			}
			for _, v := range vs {
				for _, s := range []string{secret, token} {
					if strings.Contains(v.String(), s) {
						t.Errorf("violation %q carries a credential", v)
					}
				}
			}
		})
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("connection refused")
}

// TestTransportRoundTripperContract: the caller's request is left as it
// was, its body is closed on success and on error, and the caller can read
// the validated response body in full.
func TestTransportRoundTripperContract(t *testing.T) {
	base := under(t, canned(200, nil, goodRate))
	for _, fail := range []bool{false, true} {
		var next http.RoundTripper
		if fail {
			next = failingTransport{}
		}
		tr, err := NewTransport(base, next)
		if err != nil {
			t.Fatal(err)
		}
		body := &closeRecorder{Reader: strings.NewReader("")}
		req, _ := http.NewRequest(http.MethodGet, base+"/gold/rate", body)
		req.Header.Set("Authorization", "Bearer "+token)
		header := req.Header.Clone()
		resp, err := tr.RoundTrip(req)
		if fail != (err != nil) {
			t.Fatalf("fail=%v: RoundTrip error = %v", fail, err)
		}
		if !body.closed {
			t.Errorf("fail=%v: request body not closed", fail)
		}
		if !reflect.DeepEqual(req.Header, header) {
			t.Errorf("fail=%v: request header changed to %v", fail, req.Header)
		}
		if fail {
			continue
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != goodRate {
			t.Errorf("response body = %q; want %q", got, goodRate)
		}
		if want := []Pair{{"GET /gold/rate", 200}}; !reflect.DeepEqual(tr.Exercised(), want) {
			t.Errorf("Exercised() = %v; want %v", tr.Exercised(), want)
		}
	}
}

// TestNewTestTransport wraps an http.Client the way a client's tests do.
func TestNewTestTransport(t *testing.T) {
	base := under(t, canned(200, nil, goodRate))
	hc := &http.Client{Transport: NewTestTransport(t, base, nil)}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, base+"/gold/rate", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

func TestDocumented(t *testing.T) {
	v, err := NewValidator("/partner")
	if err != nil {
		t.Fatal(err)
	}
	want := []Pair{
		{"GET /gold/rate", 200}, {"GET /gold/rate", 401}, {"GET /gold/rate", 429}, {"GET /gold/rate", 500},
		{"GET /user/info/{mobileNumber}", 200}, {"GET /user/info/{mobileNumber}", 400}, {"GET /user/info/{mobileNumber}", 401},
		{"GET /user/info/{mobileNumber}", 404}, {"GET /user/info/{mobileNumber}", 429}, {"GET /user/info/{mobileNumber}", 500},
		{"POST /auth/token", 200}, {"POST /auth/token", 400}, {"POST /auth/token", 401}, {"POST /auth/token", 429}, {"POST /auth/token", 500},
	}
	// Operations beyond these three (added to the spec later) come from the
	// generated table and the spec's responses.
	doc, err := apispec.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range middleware.Operations {
		name := op.Method + " " + op.Path
		if slices.ContainsFunc(want, func(p Pair) bool { return p.Operation == name }) {
			continue
		}
		for code := range doc.Paths.Value(op.Path).GetOperation(op.Method).Responses.Map() {
			status, err := strconv.Atoi(code)
			if err != nil {
				t.Fatalf("%s: status %q", name, code)
			}
			want = append(want, Pair{name, status})
		}
	}
	slices.SortFunc(want, func(a, b Pair) int {
		return cmp.Or(strings.Compare(a.Operation, b.Operation), cmp.Compare(a.Status, b.Status))
	})
	if got := v.Documented(); !reflect.DeepEqual(got, want) {
		t.Errorf("Documented() = %v; want %v", got, want)
	}
}

// TestTransportConcurrent: one Transport shared by many goroutines records
// every violation once (run with -race).
func TestTransportConcurrent(t *testing.T) {
	base := under(t, canned(200, nil, strings.Replace(goodRate, `1111`, `"1111"`, 1)))
	tr, err := NewTransport(base, nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: tr}
	const workers, each = 8, 5
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				req, _ := http.NewRequest(http.MethodGet, base+"/gold/rate", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := hc.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	if got := len(tr.Violations()); got != workers*each {
		t.Errorf("%d violations; want %d", got, workers*each)
	}
}

func TestRedact(t *testing.T) {
	tests := []struct {
		secrets []string
		msg     string
		want    string
	}{
		{[]string{secret}, "saw " + secret + " twice: " + secret, "saw [redacted] twice: [redacted]"},
		{[]string{"Bearer " + token, token}, "Authorization: Bearer " + token, "Authorization: [redacted]"},
		{[]string{token, "Bearer " + token}, "Authorization: Bearer " + token, "Authorization: [redacted]"},
		{[]string{"s", ""}, "response header missing", "response header missing"},
		{nil, "nothing to hide", "nothing to hide"},
	}
	for _, tt := range tests {
		c := checked{secrets: tt.secrets}
		if got := c.redact(tt.msg); got != tt.want {
			t.Errorf("redact(%q) with %d secrets = %q; want %q", tt.msg, len(tt.secrets), got, tt.want)
		}
	}
}

// recordingTB is a TB that keeps what NewTestTransport reports.
type recordingTB struct {
	testing.TB
	errors   []string
	cleanups []func()
}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recordingTB) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }

// TestNewTestTransportReports: a violation fails the test at its end, named.
func TestNewTestTransportReports(t *testing.T) {
	base := under(t, canned(200, nil, strings.Replace(goodRate, `1111`, `"1111"`, 1)))
	rec := &recordingTB{TB: t}
	hc := &http.Client{Transport: NewTestTransport(rec, base, nil)}
	req, _ := http.NewRequest(http.MethodGet, base+"/gold/rate", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(rec.errors) != 0 {
		t.Fatalf("reported before the end: %q", rec.errors)
	}
	for _, f := range rec.cleanups {
		f()
	}
	want := "openapi.yaml violation: response GET /gold/rate 200: response body doesn't match schema #/components/schemas/GoldRateResponse: /data/rate: value must be a number"
	if len(rec.errors) != 1 || rec.errors[0] != want {
		t.Errorf("reported %q; want [%q]", rec.errors, want)
	}
}
