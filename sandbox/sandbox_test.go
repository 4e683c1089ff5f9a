package sandbox_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/milligold/milligold-go/conformance"
	"github.com/milligold/milligold-go/gen/api"
	"github.com/milligold/milligold-go/gen/apispec"
	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/sandbox"
	"github.com/milligold/milligold-go/sandbox/sandboxtest"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// call sends one request and returns the response with its body read.
func call(t *testing.T, method, url, body string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, data
}

func tokenForm(id, secret string) string {
	return url.Values{"partnerId": {id}, "partnerSecret": {secret}}.Encode()
}

func token(t *testing.T, sb *sandboxtest.Sandbox) string {
	t.Helper()
	res, body := call(t, "POST", sb.URL+"/auth/token", tokenForm(sb.PartnerID, sb.PartnerSecret), nil)
	if res.StatusCode != 200 {
		t.Fatalf("token: %d %s", res.StatusCode, body)
	}
	var env api.TokenResponse
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	return env.Data.AccessToken
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// validate checks a response against openapi.yaml: status documented,
// headers, body schema.
func validate(t *testing.T, spec *openapi3.T, res *http.Response, body []byte) {
	t.Helper()
	path := strings.TrimPrefix(res.Request.URL.Path, sandbox.BasePath)
	route := &routers.Route{Spec: spec, Method: res.Request.Method}
	params := map[string]string{}
	for tmpl, item := range spec.Paths.Map() {
		re := regexp.MustCompile("^" + regexp.MustCompile(`\{(\w+)\}`).ReplaceAllString(tmpl, `(?P<$1>[^/]+)`) + "$")
		if m := re.FindStringSubmatch(path); m != nil {
			route.Path, route.PathItem, route.Operation = tmpl, item, item.GetOperation(res.Request.Method)
			for i, name := range re.SubexpNames()[1:] {
				params[name] = m[i+1]
			}
		}
	}
	if route.Operation == nil {
		t.Fatalf("%s %s: no operation in the spec", res.Request.Method, path)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: res.Request, PathParams: params, Route: route},
		Status:                 res.StatusCode,
		Header:                 res.Header,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s -> %d violates openapi.yaml: %v\n%s", res.Request.Method, path, res.StatusCode, err, body)
	}
}

// TestDocumentedPairs produces every (operation, status) pair openapi.yaml
// documents and validates each response against it.
func TestDocumentedPairs(t *testing.T) {
	spec, err := apispec.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	type pair struct{ op, status string }
	cases := map[pair]func(t *testing.T, sb *sandboxtest.Sandbox) (*http.Response, []byte){
		{"createAccessToken", "200"}: func(t *testing.T, sb *sandboxtest.Sandbox) (*http.Response, []byte) {
			return call(t, "POST", sb.URL+"/auth/token", tokenForm(sb.PartnerID, sb.PartnerSecret), nil)
		},
		{"createAccessToken", "400"}: func(t *testing.T, sb *sandboxtest.Sandbox) (*http.Response, []byte) {
			return call(t, "POST", sb.URL+"/auth/token", "partnerId="+sb.PartnerID, nil)
		},
		{"createAccessToken", "401"}: func(t *testing.T, sb *sandboxtest.Sandbox) (*http.Response, []byte) {
			return call(t, "POST", sb.URL+"/auth/token", tokenForm(sb.PartnerID, "wrong"), nil)
		},
		{"createAccessToken", "429"}: func(t *testing.T, sb *sandboxtest.Sandbox) (*http.Response, []byte) {
			for range 10 {
				call(t, "POST", sb.URL+"/auth/token", tokenForm(sb.PartnerID, sb.PartnerSecret), nil)
			}
			return call(t, "POST", sb.URL+"/auth/token", tokenForm(sb.PartnerID, sb.PartnerSecret), nil)
		},
		{"createAccessToken", "500"}: func(t *testing.T, sb *sandboxtest.Sandbox) (*http.Response, []byte) {
			return call(t, "POST", sb.URL+"/auth/token", tokenForm(sb.PartnerID, sb.PartnerSecret), http.Header{sandbox.FaultHeader: {"500"}})
		},
		{"getGoldRate", "200"}: func(t *testing.T, sb *sandboxtest.Sandbox) (*http.Response, []byte) {
			return call(t, "GET", sb.URL+"/gold/rate", "", bearer(token(t, sb)))
		},
		{"getGoldRate", "401"}: func(t *testing.T, sb *sandboxtest.Sandbox) (*http.Response, []byte) {
			return call(t, "GET", sb.URL+"/gold/rate", "", bearer("not-a-token"))
		},
		{"getGoldRate", "429"}: func(t *testing.T, sb *sandboxtest.Sandbox) (*http.Response, []byte) {
			tok := token(t, sb)
			for range 9 {
				call(t, "GET", sb.URL+"/gold/rate", "", bearer(tok))
			}
			return call(t, "GET", sb.URL+"/gold/rate", "", bearer(tok))
		},
		{"getGoldRate", "500"}: func(t *testing.T, sb *sandboxtest.Sandbox) (*http.Response, []byte) {
			h := bearer(token(t, sb))
			h.Set(sandbox.FaultHeader, "500")
			return call(t, "GET", sb.URL+"/gold/rate", "", h)
		},
		{"getUserInfo", "200"}: func(t *testing.T, sb *sandboxtest.Sandbox) (*http.Response, []byte) {
			return call(t, "GET", sb.URL+"/user/info/1234567890", "", bearer(token(t, sb)))
		},
		{"getUserInfo", "400"}: func(t *testing.T, sb *sandboxtest.Sandbox) (*http.Response, []byte) {
			return call(t, "GET", sb.URL+"/user/info/12345", "", bearer(token(t, sb)))
		},
		{"getUserInfo", "401"}: func(t *testing.T, sb *sandboxtest.Sandbox) (*http.Response, []byte) {
			return call(t, "GET", sb.URL+"/user/info/1234567890", "", nil)
		},
		{"getUserInfo", "404"}: func(t *testing.T, sb *sandboxtest.Sandbox) (*http.Response, []byte) {
			return call(t, "GET", sb.URL+"/user/info/9999999999", "", bearer(token(t, sb)))
		},
		{"getUserInfo", "429"}: func(t *testing.T, sb *sandboxtest.Sandbox) (*http.Response, []byte) {
			tok := token(t, sb)
			for range 9 {
				call(t, "GET", sb.URL+"/user/info/1234567890", "", bearer(tok))
			}
			return call(t, "GET", sb.URL+"/user/info/1234567890", "", bearer(tok))
		},
		{"getUserInfo", "500"}: func(t *testing.T, sb *sandboxtest.Sandbox) (*http.Response, []byte) {
			h := bearer(token(t, sb))
			h.Set(sandbox.FaultHeader, "500")
			return call(t, "GET", sb.URL+"/user/info/1234567890", "", h)
		},
	}
	// An operation with no written case here (one just added to the spec)
	// is accepted when the conformance suite derives a case for the pair
	// (its TestDerivedCasesAgainstSandbox runs them on this sandbox); an
	// operation with written cases needs one for every documented status.
	written := map[string]bool{}
	for p := range cases {
		written[p.op] = true
	}
	derived, err := conformance.Derived()
	if err != nil {
		t.Fatal(err)
	}
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			for status := range op.Responses.Map() {
				p := pair{op.OperationID, status}
				produce, ok := cases[p]
				if !ok {
					if !written[p.op] && slices.Contains(derived, conformance.Pair{Operation: method + " " + path, Status: atoi(p.status)}) {
						continue
					}
					t.Errorf("%s %s: documented but no test produces it (neither a written case here nor a case conformance derives)", p.op, p.status)
					continue
				}
				t.Run(p.op+" "+p.status, func(t *testing.T) {
					sb := sandboxtest.New(t, sandboxtest.WithFaults(), sandboxtest.WithFakeClock())
					res, body := produce(t, sb)
					if got := res.StatusCode; got != atoi(p.status) {
						t.Fatalf("status = %d; want %s (%s)", got, p.status, body)
					}
					validate(t, spec, res, body)
					if res.StatusCode >= 400 {
						var e api.ErrorResponse
						if err := json.Unmarshal(body, &e); err != nil || e.Success || e.Error == "" || !uuidPattern.MatchString(e.ErrorCode) {
							t.Errorf("error body %s is not the envelope with a UUID errorCode", body)
						}
					}
				})
			}
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// documentBlocks returns the API document's JSON examples (token, gold rate, user, 404).
func documentBlocks(t *testing.T) []map[string]any {
	t.Helper()
	md, err := os.ReadFile("../spec/testdata/milligold-partner-api.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, m := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllSubmatch(md, -1) {
		var v map[string]any
		if err := json.Unmarshal(m[1], &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	return v
}

// TestDocumentCurlExamples replays the document's curl examples against the
// embedded default: same bodies, up to the fresh token, timestamps and errorCode.
func TestDocumentCurlExamples(t *testing.T) {
	sb := sandboxtest.New(t)
	doc := documentBlocks(t)

	res, body := call(t, "POST", sb.URL+"/auth/token",
		"partnerId="+url.QueryEscape(sandbox.DefaultPartnerID)+"&partnerSecret="+url.QueryEscape(sandbox.DefaultPartnerSecret),
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	if res.StatusCode != 200 {
		t.Fatalf("token: %d %s", res.StatusCode, body)
	}
	got := decode(t, body)
	data := got["data"].(map[string]any)
	want := doc[0]["data"].(map[string]any)
	if data["expiresIn"] != want["expiresIn"] || got["success"] != true {
		t.Errorf("token = %s; want expiresIn %v", body, want["expiresIn"])
	}
	if _, ok := data["createdAt"].(float64); !ok {
		t.Errorf("createdAt = %v; want unix seconds", data["createdAt"])
	}
	// The token carries the claims of the document's example token.
	claims := func(tok string) map[string]any {
		parts := strings.Split(tok, ".")
		raw, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		return decode(t, raw)
	}
	gotClaims, wantClaims := claims(data["accessToken"].(string)), claims(want["accessToken"].(string))
	for _, k := range []string{"partnerId", "partnerName"} {
		if gotClaims[k] != wantClaims[k] {
			t.Errorf("claim %s = %v; want %v", k, gotClaims[k], wantClaims[k])
		}
	}
	if gotClaims["exp"].(float64)-gotClaims["iat"].(float64) != 3600 {
		t.Errorf("exp - iat = %v; want 3600", gotClaims["exp"].(float64)-gotClaims["iat"].(float64))
	}
	tok := data["accessToken"].(string)

	for _, c := range []struct {
		name, path string
		status     int
		want       map[string]any
	}{
		{"gold rate", "/gold/rate", 200, doc[1]},
		{"user", "/user/info/1234567890", 200, doc[2]},
		{"unknown user", "/user/info/9999999999", 404, doc[3]},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, body := call(t, "GET", sb.URL+c.path, "", bearer(tok))
			if res.StatusCode != c.status {
				t.Fatalf("status = %d; want %d", res.StatusCode, c.status)
			}
			got := decode(t, body)
			if c.status == 404 {
				if !uuidPattern.MatchString(got["errorCode"].(string)) {
					t.Errorf("errorCode = %v; want a UUID", got["errorCode"])
				}
				got["errorCode"] = c.want["errorCode"]
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(c.want)
			if !bytes.Equal(gotJSON, wantJSON) {
				t.Errorf("body = %s; want the document's %s", gotJSON, wantJSON)
			}
		})
	}
}

// TestRateLimitRace: 200 goroutines race one partner's fresh window; the
// spec's limit of them get through.
func TestRateLimitRace(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithFakeClock())
	limit := middleware.RateLimit // the sandbox's default is the spec's policy
	tok := token(t, sb)           // opens a window
	sb.Advance(limit.Window + time.Second)
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", sb.URL+"/gold/rate", nil)
			req.Header = bearer(tok)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			mu.Lock()
			counts[res.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if counts[200] != limit.Requests || counts[429] != 200-limit.Requests || len(counts) != 2 {
		t.Fatalf("statuses = %v; want %d x 200 and the rest 429", counts, limit.Requests)
	}
}

// TestWindowResets: the window opens at the first request and resets a
// window later; X-Rate-Limit-Reset says when.
func TestWindowResets(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithFakeClock())
	limit, window := middleware.RateLimit, middleware.RateLimit.Window
	opened := sb.Now()
	tok := token(t, sb)
	sb.Advance(5 * time.Second)
	for i := range limit.Requests - 1 {
		if res, body := call(t, "GET", sb.URL+"/gold/rate", "", bearer(tok)); res.StatusCode != 200 {
			t.Fatalf("request %d = %d %s; want 200", i+2, res.StatusCode, body)
		}
	}
	res, _ := call(t, "GET", sb.URL+"/gold/rate", "", bearer(tok))
	if res.StatusCode != 429 {
		t.Fatalf("request %d = %d; want 429", limit.Requests+1, res.StatusCode)
	}
	if got, want := res.Header.Get("X-Rate-Limit-Reset"), opened.Add(window).Unix(); got != itoa(want) {
		t.Errorf("X-Rate-Limit-Reset = %s; want %d (first request + %v)", got, want, window)
	}
	if res.Header.Get("X-Rate-Limit-Limit") != itoa(int64(limit.Requests)) || res.Header.Get("X-Rate-Limit-Remaining") != "0" {
		t.Errorf("limit headers = %v", res.Header)
	}
	sb.Advance(window - 5*time.Second) // a window after the first request
	res, _ = call(t, "GET", sb.URL+"/gold/rate", "", bearer(tok))
	if res.StatusCode != 200 {
		t.Fatalf("after the reset = %d; want 200", res.StatusCode)
	}
	if res.Header.Get("X-Rate-Limit-Limit") != "" {
		t.Errorf("a 200 carries rate-limit headers by default: %v", res.Header)
	}
}

func itoa(n int64) string { return jsonNumber(n) }

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestHeadersOnEveryResponse(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithFakeClock(), sandboxtest.WithConfig(func(c *sandbox.Config) {
		c.RateLimit = sandbox.RateLimit{Requests: 3, WindowSeconds: 60, HeadersOnEveryResponse: true}
	}))
	tok := token(t, sb)
	res, _ := call(t, "GET", sb.URL+"/gold/rate", "", bearer(tok))
	if res.Header.Get("X-Rate-Limit-Limit") != "3" || res.Header.Get("X-Rate-Limit-Remaining") != "1" {
		t.Errorf("headers = %v; want limit 3, remaining 1", res.Header)
	}
	call(t, "GET", sb.URL+"/gold/rate", "", bearer(tok))
	if res, _ := call(t, "GET", sb.URL+"/gold/rate", "", bearer(tok)); res.StatusCode != 429 {
		t.Errorf("4th request in a window of 3 = %d; want 429", res.StatusCode)
	}
}

func TestTokenExpiry(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithFakeClock(), sandboxtest.WithConfig(func(c *sandbox.Config) {
		c.TokenLifetimeSeconds = 60
		c.RateLimit.Requests = 1000
	}))
	res, body := call(t, "POST", sb.URL+"/auth/token", tokenForm(sb.PartnerID, sb.PartnerSecret), nil)
	var env api.TokenResponse
	json.Unmarshal(body, &env)
	if res.StatusCode != 200 || env.Data.ExpiresIn != 60 || env.Data.CreatedAt != sb.Now().Unix() {
		t.Fatalf("token = %d %s; want expiresIn 60, createdAt %d", res.StatusCode, body, sb.Now().Unix())
	}
	tok := env.Data.AccessToken
	sb.Advance(59 * time.Second)
	if res, _ := call(t, "GET", sb.URL+"/gold/rate", "", bearer(tok)); res.StatusCode != 200 {
		t.Errorf("at 59 s = %d; want 200", res.StatusCode)
	}
	sb.Advance(time.Second)
	if res, _ := call(t, "GET", sb.URL+"/gold/rate", "", bearer(tok)); res.StatusCode != 401 {
		t.Errorf("at 60 s = %d; want 401 (expired)", res.StatusCode)
	}
}

// TestSharedSigningKey: sandboxes with one configured key accept each
// other's tokens; with random keys they refuse them.
func TestSharedSigningKey(t *testing.T) {
	key := sandboxtest.WithConfig(func(c *sandbox.Config) { c.SigningKey = strings.Repeat("k", 32) })
	a, b := sandboxtest.New(t, key), sandboxtest.New(t, key)
	if res, _ := call(t, "GET", b.URL+"/gold/rate", "", bearer(token(t, a))); res.StatusCode != 200 {
		t.Errorf("shared key: %d; want 200", res.StatusCode)
	}
	c, d := sandboxtest.New(t), sandboxtest.New(t)
	if res, _ := call(t, "GET", d.URL+"/gold/rate", "", bearer(token(t, c))); res.StatusCode != 401 {
		t.Errorf("random keys: %d; want 401", res.StatusCode)
	}
}

// TestRequestLog: one line per request with method, path, status, partner,
// latency and errorCode; never the secret or the token.
func TestRequestLog(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&buf, &mu}, nil))
	sb := sandboxtest.New(t, sandboxtest.WithLogger(logger))
	tok := token(t, sb)
	call(t, "GET", sb.URL+"/gold/rate", "", bearer(tok))
	_, body := call(t, "GET", sb.URL+"/user/info/9999999999", "", bearer(tok))
	call(t, "POST", sb.URL+"/auth/token", tokenForm(sb.PartnerID, "wrong-"+sb.PartnerSecret), nil)

	mu.Lock()
	logs := buf.String()
	mu.Unlock()
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d log lines; want 4:\n%s", len(lines), logs)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[2]), &line); err != nil {
		t.Fatal(err)
	}
	errorCode := decode(t, body)["errorCode"]
	if line["method"] != "GET" || line["path"] != "/partner/user/info/9999999999" || line["status"] != float64(404) ||
		line["partner"] != sb.PartnerID || line["errorCode"] != errorCode || line["latency"] == nil {
		t.Errorf("log line = %s; want GET, path, 404, partner, latency, errorCode %v", lines[2], errorCode)
	}
	for _, secret := range []string{sb.PartnerSecret, tok, strings.Split(tok, ".")[2]} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains a secret or token")
		}
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestIdleWindowsDropped: memory stays bounded however many callers came.
func TestIdleWindowsDropped(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithFakeClock())
	for i := range 50 {
		call(t, "POST", sb.URL+"/auth/token", tokenForm("unknown-"+itoa(int64(i)), "x"), nil)
		call(t, "POST", sb.URL+"/auth/token", tokenForm(sb.PartnerID, sb.PartnerSecret), nil)
	}
	if n := sb.Handler.Windows(); n == 0 {
		t.Fatalf("Windows() = 0 while callers are active")
	}
	sb.Advance(time.Minute)
	call(t, "POST", sb.URL+"/auth/token", tokenForm(sb.PartnerID, sb.PartnerSecret), nil)
	if n := sb.Handler.Windows(); n > 1 {
		t.Errorf("Windows() = %d after every window went idle; want at most 1", n)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cfg := sandbox.Default()
	cfg.Partners = append(cfg.Partners, cfg.Partners[0])
	if _, err := sandbox.New(cfg); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("New(duplicate partner) = %v; want a duplicate error", err)
	}
	if s := (sandbox.Partner{ID: "p", Secret: "hunter2"}); strings.Contains(fmtAll(s), "hunter2") {
		t.Errorf("formatting a Partner shows its secret")
	}
}

// TestRefusedTokensCountAgainstTheAddress: a call with no valid token names
// no known partner, so it counts against the client's address; the partner
// behind a valid token from the same address keeps its own window.
func TestRefusedTokensCountAgainstTheAddress(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithFakeClock())
	limit := middleware.RateLimit
	tok := token(t, sb)
	for i := range limit.Requests {
		if res, body := call(t, "GET", sb.URL+"/gold/rate", "", bearer("forged")); res.StatusCode != 401 {
			t.Fatalf("forged token %d = %d %s; want 401", i+1, res.StatusCode, body)
		}
	}
	res, body := call(t, "GET", sb.URL+"/gold/rate", "", nil)
	if res.StatusCode != 429 || res.Header.Get("X-Rate-Limit-Remaining") != "0" {
		t.Fatalf("no token, past the limit = %d %v; want 429 with the headers", res.StatusCode, res.Header)
	}
	var env api.ErrorResponse
	if err := json.Unmarshal(body, &env); err != nil || env.Success || env.Error == "" || env.ErrorCode == "" {
		t.Errorf("429 body = %s; want the envelope", body)
	}
	if res, body := call(t, "GET", sb.URL+"/gold/rate", "", bearer(tok)); res.StatusCode != 200 {
		t.Errorf("a valid token from the same address = %d %s; want 200", res.StatusCode, body)
	}
	sb.Advance(limit.Window)
	if res, _ := call(t, "GET", sb.URL+"/gold/rate", "", bearer("forged")); res.StatusCode != 401 {
		t.Errorf("forged token a window later = %d; want 401", res.StatusCode)
	}
}
