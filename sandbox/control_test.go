package sandbox_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/milligold/milligold-go/sandbox"
	"github.com/milligold/milligold-go/sandbox/sandboxtest"
)

// ctl is a sandbox with the control API and a client for both APIs.
type ctl struct {
	t  testing.TB
	sb *sandboxtest.Sandbox
}

func newCtl(t testing.TB, opts ...sandboxtest.Option) *ctl {
	t.Helper()
	if len(opts) == 0 {
		opts = []sandboxtest.Option{sandboxtest.WithControl(sandbox.ControlOptions{})}
	}
	return &ctl{t: t, sb: sandboxtest.New(t, opts...)}
}

// do sends a request; auth is the whole Authorization header ("" for none).
func (c *ctl) do(method, rawURL, body, auth string, header ...string) (*http.Response, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, rawURL, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
		if strings.HasPrefix(rawURL, c.sb.URL) {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, req.URL.Path, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return res, data
}

// control calls the control API with the control token and decodes a 2xx.
func (c *ctl) control(method, path, body string, out any) {
	c.t.Helper()
	res, data := c.do(method, c.sb.ControlURL+path, body, "Bearer "+c.sb.ControlToken)
	if res.StatusCode/100 != 2 {
		c.t.Fatalf("%s %s = %d %s", method, path, res.StatusCode, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			c.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

func (c *ctl) token() string {
	c.t.Helper()
	res, data := c.do("POST", c.sb.URL+"/auth/token", url.Values{"partnerId": {c.sb.PartnerID}, "partnerSecret": {c.sb.PartnerSecret}}.Encode(), "")
	var env struct {
		Data struct{ AccessToken string } `json:"data"`
	}
	if res.StatusCode != 200 || json.Unmarshal(data, &env) != nil || env.Data.AccessToken == "" {
		c.t.Fatalf("token request = %d; want 200 with a token", res.StatusCode)
	}
	return env.Data.AccessToken
}

func (c *ctl) goldRate(tok string, header ...string) (*http.Response, []byte) {
	c.t.Helper()
	return c.do("GET", c.sb.URL+"/gold/rate", "", "Bearer "+tok, header...)
}

func (c *ctl) journal(query string) []sandbox.Entry {
	c.t.Helper()
	var out struct{ Entries []sandbox.Entry }
	c.control("GET", "journal?"+query, "", &out)
	return out.Entries
}

// envelopeOf checks the API's error envelope and returns its errorCode.
func envelopeOf(t testing.TB, res *http.Response, body []byte) string {
	t.Helper()
	var env struct {
		Success   *bool
		Error     string
		ErrorCode string
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Success == nil || *env.Success || env.Error == "" || env.ErrorCode == "" ||
		!strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("%d %q: not the API's error envelope", res.StatusCode, body)
	}
	return env.ErrorCode
}

// controlPaths are the control API's paths from its own spec, plus the console's.
func controlPaths(t testing.TB) []string {
	doc, err := openapi3.NewLoader().LoadFromData(sandbox.ControlSpec())
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"/_sandbox", "/_sandbox/", "/_sandbox/console.js", "/_sandbox/openapi.json", "/_sandbox/control.yaml", "/_sandbox/redoc.standalone.js"}
	for p := range doc.Paths.Map() {
		paths = append(paths, p)
	}
	return paths
}

// With the control API off, its routes are the API's 404 and Prefer
// changes nothing.
func TestControlOff(t *testing.T) {
	sb := sandboxtest.New(t)
	c := &ctl{t: t, sb: sb}
	root := strings.TrimSuffix(sb.URL, sandbox.BasePath)
	for _, p := range controlPaths(t) {
		for _, m := range []string{"GET", "POST", "DELETE"} {
			res, body := c.do(m, root+p, `{"seconds":3600}`, "Bearer anything", "Content-Type", "application/json")
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s = %d; want 404 with the control API off", m, p, res.StatusCode)
				continue
			}
			envelopeOf(t, res, body)
		}
	}
	tok := c.token()
	for _, prefer := range []string{"code=429", "code=500", "example=example", "code=404, example=example", "code=200"} {
		res, body := c.goldRate(tok, "Prefer", prefer)
		if res.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"success":true`)) {
			t.Errorf("Prefer: %s with the control API off = %d %s; want the normal 200", prefer, res.StatusCode, body)
		}
	}
	if sb.Handler.Control() != nil || sb.ControlToken != "" {
		t.Error("a sandbox built by New has a control API")
	}
}

func TestControlToken(t *testing.T) {
	c := newCtl(t, sandboxtest.WithControl(sandbox.ControlOptions{Token: "test-control-token"}))
	if c.sb.ControlToken != "test-control-token" {
		t.Fatalf("ControlToken = %q; want the configured one", c.sb.ControlToken)
	}
	for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer test-control-tokeN", "Basic test-control-token", "Bearer " + sandbox.DefaultPartnerSecret} {
		res, body := c.do("GET", c.sb.ControlURL+"clock", "", auth)
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q = %d; want 401", auth, res.StatusCode)
			continue
		}
		envelopeOf(t, res, body)
	}
	// A partner's access token is not a control token.
	if res, _ := c.do("GET", c.sb.ControlURL+"clock", "", "Bearer "+c.token()); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("an access token opened the control API: %d", res.StatusCode)
	}
	c.control("GET", "clock", "", nil)
	// The console's static files need no token; they hold none.
	root := strings.TrimSuffix(c.sb.URL, sandbox.BasePath)
	for _, p := range []string{"/_sandbox/", "/_sandbox/console.js", "/_sandbox/openapi.json", "/_sandbox/control.yaml"} {
		res, body := c.do("GET", root+p, "", "")
		if res.StatusCode != http.StatusOK || bytes.Contains(body, []byte(c.sb.ControlToken)) || bytes.Contains(body, []byte(c.sb.PartnerSecret)) {
			t.Errorf("GET %s = %d (or it carries a credential)", p, res.StatusCode)
		}
	}
	random := newCtl(t)
	if len(random.sb.ControlToken) < 32 || random.sb.ControlToken == newCtl(t).sb.ControlToken {
		t.Errorf("random control tokens: %d characters, or two alike", len(random.sb.ControlToken))
	}
}

func TestCheckControlAddr(t *testing.T) {
	tests := []struct {
		addr   string
		remote bool
		ok     bool
	}{
		{"127.0.0.1:8080", false, true},
		{"127.0.0.1:0", false, true},
		{"[::1]:8080", false, true},
		{"localhost:8080", false, true},
		{":8080", false, false},
		{"0.0.0.0:8080", false, false},
		{"[::]:8080", false, false},
		{"192.168.1.10:8080", false, false},
		{"example.com:8080", false, false},
		{"garbage", false, false},
		{":8080", true, true},
		{"0.0.0.0:8080", true, true},
	}
	for _, tt := range tests {
		if err := sandbox.CheckControlAddr(tt.addr, tt.remote); (err == nil) != tt.ok {
			t.Errorf("CheckControlAddr(%q, %v) = %v; want ok %v", tt.addr, tt.remote, err, tt.ok)
		}
	}
}

// The control API's document is valid OpenAPI, and every answer of the API
// matches it.
func TestControlSpec(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(sandbox.ControlSpec())
	if err != nil {
		t.Fatalf("control.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("control.yaml: %v", err)
	}
	c := newCtl(t)
	root := strings.TrimSuffix(c.sb.URL, sandbox.BasePath)
	doc.Servers = openapi3.Servers{{URL: root}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	c.token()
	c.do("GET", c.sb.URL+"/user/info/1", "", "")
	calls := []struct {
		method, path, body string
		auth               bool
		want               int
	}{
		{"GET", "clock", "", true, 200},
		{"GET", "clock", "", false, 401},
		{"POST", "clock/advance", `{"seconds":1.5}`, true, 200},
		{"POST", "clock/advance", `{"seconds":-1}`, true, 400},
		{"POST", "clock/advance", `{"seconds":1,"x":1}`, true, 400},
		{"POST", "reset", "", true, 200},
		{"POST", "reset", `{"windows":false}`, true, 200},
		{"GET", "partners", "", true, 200},
		{"POST", "faults", `{"operation":"getGoldRate","status":503,"count":2}`, true, 201},
		{"POST", "faults", `{"operation":"nope","status":503}`, true, 400},
		{"GET", "faults", "", true, 200},
		{"DELETE", "faults", "", true, 200},
		{"GET", "journal?status=4xx&limit=5", "", true, 200},
		{"GET", "journal?status=abc", "", true, 400},
		{"DELETE", "journal", "", true, 200},
	}
	for _, tt := range calls {
		auth := ""
		if tt.auth {
			auth = "Bearer " + c.sb.ControlToken
		}
		res, body := c.do(tt.method, c.sb.ControlURL+tt.path, tt.body, auth)
		if res.StatusCode != tt.want {
			t.Errorf("%s %s = %d %s; want %d", tt.method, tt.path, res.StatusCode, body, tt.want)
			continue
		}
		req, _ := http.NewRequest(tt.method, c.sb.ControlURL+tt.path, nil)
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Errorf("%s %s: not in control.yaml: %v", tt.method, tt.path, err)
			continue
		}
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header, Body: io.NopCloser(bytes.NewReader(body))}
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("%s %s = %d: answer does not match control.yaml: %v", tt.method, tt.path, res.StatusCode, err)
		}
	}
	// Every documented path answers (with the token), none is the catch-all 404.
	for p := range doc.Paths.Map() {
		if strings.HasSuffix(p, "/stream") {
			continue // TestJournalStream
		}
		res, _ := c.do("GET", root+p, "", "Bearer "+c.sb.ControlToken)
		if res.StatusCode == http.StatusNotFound {
			t.Errorf("GET %s = 404; control.yaml documents it", p)
		}
	}
	res, body := c.do("GET", c.sb.ControlURL+"nope", "", "Bearer "+c.sb.ControlToken)
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown control path = %d; want 404", res.StatusCode)
	}
	envelopeOf(t, res, body)
	res, body = c.do("PUT", c.sb.ControlURL+"clock", "", "Bearer "+c.sb.ControlToken)
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET" {
		t.Errorf("PUT clock = %d, Allow %q; want 405, GET", res.StatusCode, res.Header.Get("Allow"))
	}
	envelopeOf(t, res, body)
}

// Advancing the clock expires tokens and resets windows; reset revokes
// tokens and closes windows.
func TestControlClockAndReset(t *testing.T) {
	c := newCtl(t, sandboxtest.WithFakeClock(), sandboxtest.WithControl(sandbox.ControlOptions{}))
	var clock sandbox.ClockState
	c.control("GET", "clock", "", &clock)
	if !clock.Now.Equal(c.sb.Now()) || clock.OffsetSeconds != 0 {
		t.Fatalf("clock = %+v; want the fake clock %v and no offset", clock, c.sb.Now())
	}
	tok := c.token()
	c.control("POST", "clock/advance", `{"seconds":3599}`, &clock)
	if clock.OffsetSeconds != 3599 || !clock.Now.Equal(c.sb.Now().Add(3599*time.Second)) {
		t.Fatalf("after advancing 3599 s: %+v", clock)
	}
	if res, body := c.goldRate(tok); res.StatusCode != 200 {
		t.Fatalf("a token 1 s before expiry = %d %s; want 200", res.StatusCode, body)
	}
	c.control("POST", "clock/advance", `{"seconds":1}`, nil)
	if res, body := c.goldRate(tok); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a token at its expiry = %d %s; want 401", res.StatusCode, body)
	}

	// Windows: the eleventh request of a window is a 429; advancing past the
	// window, or a reset, opens a new one.
	tok = c.token()
	for i := 0; i < 9; i++ {
		c.goldRate(tok)
	}
	var partners struct{ Partners []sandbox.PartnerState }
	c.control("GET", "partners", "", &partners)
	if len(partners.Partners) != 1 || partners.Partners[0].Window == nil || partners.Partners[0].Window.Count != 10 || partners.Partners[0].Window.Remaining != 0 {
		t.Fatalf("partners = %+v; want the default partner with 10 of 10 counted", partners)
	}
	if res, _ := c.goldRate(tok); res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("11th request = %d; want 429", res.StatusCode)
	}
	c.control("POST", "clock/advance", `{"seconds":20}`, nil)
	if res, _ := c.goldRate(tok); res.StatusCode != 200 {
		t.Fatalf("after the window = %d; want 200", res.StatusCode)
	}
	for i := 0; i < 10; i++ {
		c.goldRate(tok)
	}
	var reset struct{ TokensRevoked int }
	c.control("POST", "reset", `{"tokens":false}`, &reset)
	if res, _ := c.goldRate(tok); res.StatusCode != 200 {
		t.Fatalf("after a window reset = %d; want 200", res.StatusCode)
	}
	c.control("POST", "reset", "", &reset)
	if reset.TokensRevoked != 1 {
		t.Errorf("reset revoked %d tokens; want the 1 unexpired one", reset.TokensRevoked)
	}
	if res, body := c.goldRate(tok); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a token after a reset = %d %s; want 401", res.StatusCode, body)
	}
	if res, _ := c.goldRate(c.token()); res.StatusCode != 200 {
		t.Fatalf("a token issued after the reset = %d; want 200", res.StatusCode)
	}
}

// roomy raises the rate limit out of the way of tests about something else.
func roomy() []sandboxtest.Option {
	return []sandboxtest.Option{
		sandboxtest.WithConfig(func(c *sandbox.Config) { c.RateLimit.Requests = 1000 }),
		sandboxtest.WithControl(sandbox.ControlOptions{}),
	}
}

func TestControlFaults(t *testing.T) {
	c := newCtl(t, roomy()...)
	tok := c.token()
	c.control("POST", "faults", `{"operation":"getGoldRate","status":429,"count":2}`, nil)
	for i := 0; i < 2; i++ {
		res, body := c.goldRate(tok)
		if res.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("faulted call %d = %d; want 429", i, res.StatusCode)
		}
		envelopeOf(t, res, body)
		for _, h := range []string{"X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset"} {
			if _, err := strconv.ParseInt(res.Header.Get(h), 10, 64); err != nil {
				t.Errorf("forced 429: %s = %q; want a number", h, res.Header.Get(h))
			}
		}
	}
	if res, _ := c.goldRate(tok); res.StatusCode != 200 {
		t.Fatalf("after the fault's count = %d; want 200", res.StatusCode)
	}
	// For one partner only; another operation is untouched.
	c.control("POST", "faults", `{"operation":"getGoldRate","status":503,"partner":"someone-else"}`, nil)
	c.control("POST", "faults", `{"operation":"getUserInfo","status":500}`, nil)
	if res, _ := c.goldRate(tok); res.StatusCode != 200 {
		t.Fatalf("a fault for another partner hit = %d", res.StatusCode)
	}
	res, body := c.do("GET", c.sb.URL+"/user/info/1234567890", "", "Bearer "+tok)
	if res.StatusCode != 500 {
		t.Fatalf("getUserInfo with a 500 fault = %d", res.StatusCode)
	}
	code := envelopeOf(t, res, body)
	if e := c.journal("errorCode=" + code); len(e) != 1 || e[0].Status != 500 || e[0].Control == "" {
		t.Fatalf("journal by errorCode = %+v; want the faulted 500", e)
	}
	c.control("DELETE", "faults", "", nil)
	c.control("POST", "faults", `{"operation":"getGoldRate","status":503,"partner":"`+c.sb.PartnerID+`"}`, nil)
	if res, body := c.goldRate(tok); res.StatusCode != 503 {
		t.Fatalf("a 503 fault for the partner = %d", res.StatusCode)
	} else {
		envelopeOf(t, res, body)
	}
	// The token operation, by the partner the form names.
	c.control("POST", "faults", `{"operation":"createAccessToken","status":500}`, nil)
	if res, _ := c.do("POST", c.sb.URL+"/auth/token", url.Values{"partnerId": {c.sb.PartnerID}, "partnerSecret": {c.sb.PartnerSecret}}.Encode(), ""); res.StatusCode != 500 {
		t.Fatalf("token request with a 500 fault = %d", res.StatusCode)
	}
	// A delay, then the normal answer.
	c.control("POST", "faults", `{"operation":"getGoldRate","delayMs":150}`, nil)
	start := time.Now()
	if res, _ := c.goldRate(tok); res.StatusCode != 200 || time.Since(start) < 150*time.Millisecond {
		t.Fatalf("delayed call = %d after %v; want 200 after 150ms", res.StatusCode, time.Since(start))
	}
	// A dropped connection: the client sees no answer.
	c.control("POST", "faults", `{"operation":"getGoldRate","drop":true}`, nil)
	req, _ := http.NewRequest("GET", c.sb.URL+"/gold/rate", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if res, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("dropped call answered %d", res.StatusCode)
	}
	// The entry is written after the connection closed, so the client may ask first.
	deadline := time.Now().Add(5 * time.Second)
	for e := c.journal("limit=1"); len(e) != 1 || e[0].Status != 0 || !strings.Contains(e[0].Control, "dropped"); e = c.journal("limit=1") {
		if time.Now().After(deadline) {
			t.Fatalf("journal of the dropped call = %+v", e)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Bad faults.
	for _, body := range []string{`{"operation":"getGoldRate"}`, `{"operation":"getGoldRate","status":200}`, `{"operation":"getGoldRate","status":500,"drop":true}`,
		`{"operation":"getGoldRate","delayMs":999999}`, `{"operation":"getGoldRate","status":500,"count":-1}`, `{"status":500}`, `[]`, `{"operation":"getGoldRate","status":500}{}`} {
		res, data := c.do("POST", c.sb.ControlURL+"faults", body, "Bearer "+c.sb.ControlToken)
		if res.StatusCode != 400 {
			t.Errorf("POST faults %s = %d; want 400", body, res.StatusCode)
			continue
		}
		envelopeOf(t, res, data)
	}
}

func TestControlPrefer(t *testing.T) {
	c := newCtl(t, roomy()...)
	tok := c.token()
	tests := []struct {
		prefer string
		want   int
		body   string // a fragment the body must hold
	}{
		{"code=429", 429, `"too many requests"`},
		{"code=500", 500, `"success":false`},
		{"code=503", 503, `"success":false`},
		{"code=200", 200, `"rate":`},
		{"example=example", 200, `"2023-01-05T09:17:03.459Z"`},
		{"code=200, example=example", 200, `"2023-01-05T09:17:03.459Z"`},
		{"example=nope", 400, `no example`},
		{"code=201", 400, `not a documented success`},
		{"code=abc", 400, `Prefer`},
		{"code=401, example=example", 401, `"success":false`},
		{"code=401, example=nope", 400, `has no example`},
		{"code=204, example=example", 400, `documents no JSON answer`},
		{"respond-async", 200, `"rate":`},
	}
	for _, tt := range tests {
		res, body := c.goldRate(tok, "Prefer", tt.prefer)
		if res.StatusCode != tt.want || !bytes.Contains(body, []byte(tt.body)) {
			t.Errorf("Prefer: %s = %d %s; want %d with %s", tt.prefer, res.StatusCode, body, tt.want, tt.body)
		}
		if tt.want == 429 && res.Header.Get("X-Rate-Limit-Reset") == "" {
			t.Errorf("Prefer: %s: no rate-limit headers", tt.prefer)
		}
	}
	// Authentication still comes first.
	if res, _ := c.goldRate("forged", "Prefer", "code=200, example=example"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("Prefer with a forged token = %d; want 401", res.StatusCode)
	}
}

func TestJournal(t *testing.T) {
	c := newCtl(t, sandboxtest.WithControl(sandbox.ControlOptions{JournalSize: 6}))
	tok := c.token()
	c.goldRate(tok)
	res, body := c.do("GET", c.sb.URL+"/user/info/123", "", "Bearer "+tok)
	if res.StatusCode != 400 {
		t.Fatalf("bad mobile number = %d", res.StatusCode)
	}
	code := envelopeOf(t, res, body)
	c.do("POST", c.sb.URL+"/auth/token", "partnerId="+c.sb.PartnerID+"&partnerSecret=wrong-secret-value", "")

	got := c.journal("errorCode=" + code)
	if len(got) != 1 {
		t.Fatalf("journal by errorCode = %d entries; want 1", len(got))
	}
	e := got[0]
	if e.Status != 400 || e.Operation != "getUserInfo" || e.Partner != c.sb.PartnerID || !strings.Contains(e.Error, "mobileNumber") || e.Path != "/partner/user/info/123" {
		t.Errorf("400 entry = %+v; want getUserInfo, the partner, the validation reason", e)
	}
	if e.Request.Headers.Get("Authorization") != "Bearer [redacted]" {
		t.Errorf("Authorization in the journal = %q; want it redacted", e.Request.Headers.Get("Authorization"))
	}
	all := c.journal("")
	if len(all) != 4 {
		t.Fatalf("journal = %d entries; want 4", len(all))
	}
	if all[0].Operation != "createAccessToken" || all[0].Status != 200 || all[0].Request.Body != "partnerId="+c.sb.PartnerID+"&partnerSecret=[redacted]" ||
		!strings.Contains(all[0].Response.Body, `"accessToken":"[redacted]"`) {
		t.Errorf("token entry = %+v; want the form and the answer with secret and token redacted", all[0])
	}
	if all[1].Remaining == nil || *all[1].Remaining != 8 || all[1].Limit != 10 || all[1].Reset == nil {
		t.Errorf("gold rate entry: window %v of %d; want 8 of 10 with a reset", all[1].Remaining, all[1].Limit)
	}
	// Nothing the journal serves holds the secret or a token.
	_, raw := c.do("GET", c.sb.ControlURL+"journal", "", "Bearer "+c.sb.ControlToken)
	for _, secret := range []string{tok, c.sb.PartnerSecret, "wrong-secret-value"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatal("the journal holds a secret or a token")
		}
	}
	for _, tt := range []struct {
		query string
		want  int
	}{
		{"status=400", 1}, {"status=4xx", 2}, {"status=2xx", 2}, {"operation=createAccessToken", 2},
		{"partner=" + c.sb.PartnerID, 3}, {"partner=127.0.0.1", 4}, {"since=" + strconv.FormatUint(all[1].Seq, 10), 2}, {"limit=1", 1},
	} {
		if got := c.journal(tt.query); len(got) != tt.want {
			t.Errorf("journal?%s = %d entries; want %d", tt.query, len(got), tt.want)
		}
	}
	// The ring keeps the newest JournalSize entries.
	for i := 0; i < 5; i++ {
		c.goldRate(tok)
	}
	all = c.journal("")
	if len(all) != 6 || all[5].Seq != 9 || all[0].Seq != 4 {
		t.Fatalf("ring of 6 after 9 requests: %d entries, seq %d..%d; want 6, 4..9", len(all), all[0].Seq, all[len(all)-1].Seq)
	}
	c.control("DELETE", "journal", "", nil)
	if got := c.journal(""); len(got) != 0 {
		t.Fatalf("after clear: %d entries", len(got))
	}
	// Control API requests are not journaled.
	c.goldRate(tok)
	if got := c.journal(""); len(got) != 1 || got[0].Seq != 10 {
		t.Fatalf("after clear and one request: %+v; want seq 10 alone", got)
	}

	off := newCtl(t, sandboxtest.WithControl(sandbox.ControlOptions{JournalSize: -1}))
	res, body = off.do("GET", off.sb.ControlURL+"journal", "", "Bearer "+off.sb.ControlToken)
	if res.StatusCode != 404 {
		t.Errorf("journal with the journal off = %d; want 404", res.StatusCode)
	}
	envelopeOf(t, res, body)
}

// The stream sends entries as they happen, filtered.
func TestJournalStream(t *testing.T) {
	c := newCtl(t)
	tok := c.token()
	req, _ := http.NewRequest("GET", c.sb.ControlURL+"journal/stream?status=4xx", nil)
	req.Header.Set("Authorization", "Bearer "+c.sb.ControlToken)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream = %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	c.goldRate(tok) // 200: filtered out
	c.goldRate("forged")
	sc := bufio.NewScanner(res.Body)
	var id, data string
	for sc.Scan() && data == "" {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "id: "); ok {
			id = v
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok {
			data = v
		}
	}
	var e sandbox.Entry
	if err := json.Unmarshal([]byte(data), &e); err != nil {
		t.Fatalf("stream event %q: %v", data, err)
	}
	if e.Status != 401 || id != fmt.Sprint(e.Seq) || e.Operation != "getGoldRate" {
		t.Fatalf("streamed %+v (id %s); want the 401 only", e, id)
	}
	// The next one, within StreamInterval of that send, still comes on the
	// real clock with nothing after it (the margin is for a loaded machine).
	start := time.Now()
	c.goldRate("forged")
	for data = ""; data == "" && sc.Scan(); {
		if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = v
		}
	}
	if !strings.Contains(data, `"status":401`) || time.Since(start) > 5*time.Second {
		t.Fatalf("second 401 streamed as %q after %v; want it within StreamInterval (%v)", data, time.Since(start), sandbox.StreamInterval)
	}
}

// Prefer, faults and the control API never turn hostile input into a 5xx
// the caller did not ask for, or a panic.
func FuzzControl(f *testing.F) {
	f.Add("GET", "/_sandbox/api/journal", "status=4xx&since=1", "", "")
	f.Add("POST", "/_sandbox/api/faults", "", `{"operation":"getGoldRate","status":429}`, "")
	f.Add("POST", "/_sandbox/api/clock/advance", "", `{"seconds":1e300}`, "")
	f.Add("GET", "/partner/gold/rate", "", "", "code=429, example=x")
	f.Add("GET", "/partner/gold/rate", "", "", `example="example";code=200`)
	f.Add("POST", "/_sandbox/api/reset", "", `{"windows":"yes"}`, "")
	h, err := sandbox.NewWithControl(sandbox.Default(), sandbox.ControlOptions{Token: "fuzz-control-token"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, path, query, body, prefer string) {
		if strings.HasPrefix(path, "/_sandbox/api/journal/stream") {
			return // a stream does not end by itself
		}
		req := httptest.NewRequest("GET", "/", strings.NewReader(body))
		req.Method, req.URL.Path, req.URL.RawQuery = method, path, query
		req.Header.Set("Authorization", "Bearer fuzz-control-token")
		req.Header.Set("Content-Type", "application/json")
		if prefer != "" {
			req.Header.Set("Prefer", prefer)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond) // cuts a fault's delay short
		defer cancel()
		req = req.WithContext(ctx)
		rec := httptest.NewRecorder()
		defer func() {
			// A drop fault aborts the handler as net/http allows (a recorder cannot be hijacked).
			if r := recover(); r != nil && r != http.ErrAbortHandler {
				panic(r)
			}
		}()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && !strings.Contains(prefer, "5") {
			t.Fatalf("%s %s?%s Prefer %q = %d %s", method, path, query, prefer, rec.Code, rec.Body)
		}
	})
}

// The journal's cost: the same request through a sandbox without the
// control API, with it but the journal off, and with the journal on (as
// net/http's server calls it, and behind another handler: the journal then
// copies the header maps); one goroutine, then all cores at once (the
// journal takes a lock per request).
func BenchmarkJournal(b *testing.B) {
	cfg := sandbox.Default()
	cfg.RateLimit.Requests, cfg.RateLimit.WindowSeconds = 1<<20, 1
	build := map[string]func() (*sandbox.Sandbox, error){
		"off": func() (*sandbox.Sandbox, error) { return sandbox.New(cfg) },
		"journalOff": func() (*sandbox.Sandbox, error) {
			return sandbox.NewWithControl(cfg, sandbox.ControlOptions{JournalSize: -1})
		},
		"on": func() (*sandbox.Sandbox, error) { return sandbox.NewWithControl(cfg, sandbox.ControlOptions{}) },
	}
	build["onWrapped"] = build["on"]
	for _, name := range []string{"off", "journalOff", "on", "onWrapped"} {
		h, err := build[name]()
		if err != nil {
			b.Fatal(err)
		}
		tok := benchToken(b, h)
		w := &discard{h: make(http.Header)}
		req := func() *http.Request {
			r, _ := http.NewRequest("GET", "http://sandbox.test/partner/gold/rate", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			r.RemoteAddr = "127.0.0.1:1234"
			if name != "onWrapped" {
				r = servedBy(r, h)
			}
			return r
		}
		b.Run("goldRate/"+name, func(b *testing.B) {
			r := req()
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, r)
			}
			if w.status != 0 && w.status != 200 {
				b.Fatalf("status %d", w.status)
			}
		})
		b.Run("goldRateParallel/"+name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := &discard{h: make(http.Header)}
				r := req()
				for pb.Next() {
					w.reset()
					h.ServeHTTP(w, r)
				}
			})
		})
	}
}

// The vendored Redoc is the pinned, patched file update.sh records.
func TestVendoredRedoc(t *testing.T) {
	js, err := os.ReadFile("console/vendor/redoc.standalone.js")
	if err != nil {
		t.Fatal(err)
	}
	sums, err := os.ReadFile("console/vendor/redoc.standalone.js.sha256")
	if err != nil {
		t.Fatal(err)
	}
	want := ""
	for _, line := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		if sum, name, _ := strings.Cut(line, "  "); name == "redoc.standalone.js" {
			want = sum
		}
	}
	if got := fmt.Sprintf("%x", sha256.Sum256(js)); got != want {
		t.Errorf("console/vendor/redoc.standalone.js has sha256 %s; the pin says %q (run sandbox/console/update.sh)", got, want)
	}
	if bytes.Contains(js, []byte("cdn.redoc.ly")) {
		t.Error("the vendored Redoc loads from its CDN; the console must work offline")
	}
}

// BenchmarkJournalCost interleaves the sandbox without the control API and
// the one with the journal on (as net/http's server calls them), in
// chunks, so a burst of other load on the machine hits both alike; it
// reports each one's ns per request and the difference (best chunk of
// each, the least disturbed).
func BenchmarkJournalCost(b *testing.B) {
	cfg := sandbox.Default()
	cfg.RateLimit.Requests, cfg.RateLimit.WindowSeconds = 1<<20, 1
	off, err := sandbox.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	on, err := sandbox.NewWithControl(cfg, sandbox.ControlOptions{})
	if err != nil {
		b.Fatal(err)
	}
	handlers := []*sandbox.Sandbox{off, on}
	reqs := make([]*http.Request, 2)
	for i, h := range handlers {
		tok := benchToken(b, h)
		reqs[i], _ = http.NewRequest("GET", "http://sandbox.test/partner/gold/rate", nil)
		reqs[i].Header.Set("Authorization", "Bearer "+tok)
		reqs[i].RemoteAddr = "127.0.0.1:1234"
		reqs[i] = servedBy(reqs[i], h) // as net/http's server calls it
	}
	const chunk = 2000
	best := []time.Duration{1 << 62, 1 << 62}
	w := &discard{h: make(http.Header)}
	b.ResetTimer()
	for n := 0; n < b.N; n += chunk {
		for i, h := range handlers {
			start := time.Now()
			for j := 0; j < chunk; j++ {
				w.reset()
				h.ServeHTTP(w, reqs[i])
			}
			best[i] = min(best[i], time.Since(start)/chunk)
		}
	}
	b.ReportMetric(float64(best[0].Nanoseconds()), "off-ns/req")
	b.ReportMetric(float64(best[1].Nanoseconds()), "journal-ns/req")
	b.ReportMetric(float64((best[1] - best[0]).Nanoseconds()), "cost-ns/req")
}

// A journal stream outlives Serve's read and write timeouts (the read
// timeout would cancel its context, the write timeout cut it), and ends
// when the control API closes its streams.
func TestJournalStreamOutlivesTimeouts(t *testing.T) {
	h, err := sandbox.NewWithControl(sandbox.Default(), sandbox.ControlOptions{Token: "stream-control-token"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() {
		served <- sandbox.Serve(ctx, ln, h, sandbox.ServeOptions{ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond, ShutdownTimeout: 20 * time.Second})
	}()
	root := "http://" + ln.Addr().String()
	req, _ := http.NewRequest("GET", root+"/_sandbox/api/journal/stream", nil)
	req.Header.Set("Authorization", "Bearer stream-control-token")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	events := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- v
			}
		}
		close(events)
	}()
	time.Sleep(700 * time.Millisecond) // past both timeouts
	if r, err := http.Get(root + "/partner/gold/rate"); err == nil {
		r.Body.Close()
	}
	select {
	case e, ok := <-events:
		if !ok || !strings.Contains(e, `"status":401`) {
			t.Fatalf("after the timeouts the stream gave %q (open %v); want the 401", e, ok)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event after the server's timeouts passed")
	}
	start := time.Now()
	h.Control().CloseStreams()
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("shutdown with a stream open took %v", took)
	}
	for range events { // the stream ended
	}
}

// The journal under concurrent requests, readers and a stream (for -race).
func TestJournalConcurrent(t *testing.T) {
	c := newCtl(t, append(roomy()[:1], sandboxtest.WithControl(sandbox.ControlOptions{JournalSize: 16}))...)
	tok := c.token()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 25; j++ {
				req, _ := http.NewRequest("GET", c.sb.URL+"/gold/rate", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				if res, err := http.DefaultClient.Do(req); err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 25; j++ {
				req, _ := http.NewRequest("GET", c.sb.ControlURL+"journal?status=2xx", nil)
				req.Header.Set("Authorization", "Bearer "+c.sb.ControlToken)
				if res, err := http.DefaultClient.Do(req); err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	entries := c.journal("limit=100")
	if len(entries) != 16 {
		t.Fatalf("ring of 16 after 101 requests holds %d", len(entries))
	}
	for i := 1; i < len(entries); i++ {
		if entries[i].Seq != entries[i-1].Seq+1 {
			t.Fatalf("seqs not consecutive: %d then %d", entries[i-1].Seq, entries[i].Seq)
		}
	}
	if last := entries[len(entries)-1].Seq; last != 101 {
		t.Errorf("last seq %d; want 101", last)
	}
}

// BenchmarkJournalStream serves gold-rate requests on all cores through
// `milligold sandbox --control` (its text log into /dev/null) with one
// journal stream open over loopback, read as the console reads it, and
// reports the process's CPU time per request (user and system: the
// handlers, the stream's encoding, writes and wake-ups, and the reader),
// counted until the stream has sent the last request's entry. flat-out
// sends requests back to back on every core; paced sends 10 every
// millisecond from one goroutine, as requests come in over the network
// with gaps between them, where a stream that woke per entry paid most.
func BenchmarkJournalStream(b *testing.B) {
	b.Run("flat-out", func(b *testing.B) { benchJournalStream(b, false) })
	b.Run("paced", func(b *testing.B) { benchJournalStream(b, true) })
}

func benchJournalStream(b *testing.B, paced bool) {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer devNull.Close()
	logger, closeLog := sandbox.NewTextLog(devNull)
	defer closeLog.Close()
	cfg := sandbox.Default()
	cfg.Logger = logger
	cfg.RateLimit.Requests, cfg.RateLimit.WindowSeconds = 1<<20, 1
	h, err := sandbox.NewWithControl(cfg, sandbox.ControlOptions{Token: "bench-control-token"})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Control().CloseStreams()
	tok := benchToken(b, h)
	w := &discard{h: make(http.Header)}
	req, _ := http.NewRequest("GET", srv.URL+"/_sandbox/api/journal/stream", nil)
	req.Header.Set("Authorization", "Bearer bench-control-token")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	want := []byte("id: " + strconv.Itoa(b.N+1) + "\n") // the token request was seq 1
	got := make(chan struct{})
	go func() {
		buf := make([]byte, 64<<10)
		var tail []byte
		for {
			n, err := res.Body.Read(buf)
			tail = append(tail, buf[:n]...)
			if bytes.Contains(tail, want) {
				close(got)
				io.Copy(io.Discard, res.Body)
				return
			}
			if err != nil {
				return
			}
			tail = append(tail[:0], tail[max(0, len(tail)-len(want)):]...)
		}
	}()
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	raw := "GET /partner/gold/rate HTTP/1.1\r\nHost: sandbox.test\r\nAuthorization: Bearer " + tok + "\r\n\r\n"
	served := &http.Server{Handler: h}
	b.ResetTimer()
	cpu0 := cpu()
	if paced {
		r := servedBy(wireRequest(raw), served.Handler)
		tick := time.NewTicker(time.Millisecond)
		for n := 0; n < b.N; {
			<-tick.C
			for i := 0; i < 10 && n < b.N; i, n = i+1, n+1 {
				w.fresh()
				h.ServeHTTP(w, r)
			}
		}
		tick.Stop()
	} else {
		b.RunParallel(func(pb *testing.PB) {
			w := &discard{h: make(http.Header)}
			r := servedBy(wireRequest(raw), served.Handler)
			for pb.Next() {
				w.fresh()
				h.ServeHTTP(w, r)
			}
		})
	}
	select {
	case <-got:
	case <-time.After(30 * time.Second):
		b.Fatal("the stream did not send the last entry in 30 s")
	}
	b.ReportMetric(float64((cpu()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/req")
}

// servedBy gives r the context net/http's server gives a request when it
// calls h itself, so the journal takes the path it takes under `milligold
// sandbox`.
func servedBy(r *http.Request, h http.Handler) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), http.ServerContextKey, &http.Server{Handler: h}))
}

// fresh readies d for the next request with a new header map, as net/http
// gives each answer its own: the journal keeps the map it recorded.
func (d *discard) fresh() { d.h, d.status, d.n = make(http.Header), 0, 0 }

// benchToken gets a token for the default partner from h.
func benchToken(b *testing.B, h http.Handler) string {
	b.Helper()
	rec := &capture{discard: &discard{h: make(http.Header)}}
	h.ServeHTTP(rec, tokenRequest())
	var tok struct {
		Data struct{ AccessToken string } `json:"data"`
	}
	if json.Unmarshal(rec.body, &tok) != nil || tok.Data.AccessToken == "" {
		b.Fatal("no token")
	}
	return tok.Data.AccessToken
}

// Behind another handler that writes the header maps after the sandbox
// returned (as a middleware may, if to no effect), the journal copies them
// when it records, so an open stream never reads a map being written
// (-race, or a fatal concurrent map access) and the entries hold what the
// sandbox answered. Served directly (sandboxtest, `milligold sandbox`), the
// journal keeps the maps themselves: the same entries, redacted.
func TestJournalBehindHandler(t *testing.T) {
	for _, wrapped := range []bool{false, true} {
		cfg := sandbox.Default()
		cfg.RateLimit.Requests = 1 << 20
		h, err := sandbox.NewWithControl(cfg, sandbox.ControlOptions{Token: "wrapped-control-token"})
		if err != nil {
			t.Fatal(err)
		}
		var handler http.Handler = h
		if wrapped {
			handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h.ServeHTTP(w, r)
				w.Header().Set("X-After", "answer")
				r.Header.Set("X-After", "request")
				r.Header.Set("Authorization", "Bearer after")
			})
		}
		srv := httptest.NewServer(handler)
		req, _ := http.NewRequest("GET", srv.URL+"/_sandbox/api/journal/stream", nil)
		req.Header.Set("Authorization", "Bearer wrapped-control-token")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		const n = 200
		events := make(chan string, n)
		go func() {
			sc := bufio.NewScanner(res.Body)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				if v, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					events <- v
				}
			}
			close(events)
		}()
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range n / 4 {
					req, _ := http.NewRequest("GET", srv.URL+"/partner/gold/rate", nil)
					req.Header.Set("Authorization", "Bearer not.a.token"+strconv.Itoa(i*n+j))
					req.Header["Cookie"] = []string{"a=1", "b=2"}
					if res, err := http.DefaultClient.Do(req); err == nil {
						io.Copy(io.Discard, res.Body)
						res.Body.Close()
					}
				}
			}()
		}
		wg.Wait()
		for i := 0; i < n; i++ {
			var data string
			select {
			case data = <-events:
			case <-time.After(10 * time.Second):
				t.Fatalf("wrapped %v: %d of %d entries streamed", wrapped, i, n)
			}
			var e sandbox.Entry
			if err := json.Unmarshal([]byte(data), &e); err != nil {
				t.Fatalf("wrapped %v: %v in %s", wrapped, err, data)
			}
			if e.Status != 401 || e.Request.Headers.Get("Authorization") != "Bearer [redacted]" ||
				e.Request.Headers.Get("Cookie") != "[redacted]" || e.Request.Headers.Get("X-After") != "" ||
				e.Response.Headers.Get("X-After") != "" || !strings.HasPrefix(e.Response.Headers.Get("Content-Type"), "application/json") ||
				strings.Contains(data, "not.a.token") {
				t.Fatalf("wrapped %v: entry %s", wrapped, data)
			}
		}
		h.Control().CloseStreams()
		res.Body.Close()
		srv.Close()
	}
}
