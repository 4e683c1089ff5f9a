package sandbox_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/milligold/milligold-go/sandbox"
)

// hostileKey is the signing key of the hostile table's sandbox, so cases can
// sign tokens that differ from the real ones in one respect only.
const hostileKey = "hostile-table-signing-key-0123456789"

// hostileNow is the sandbox's frozen clock in the hostile table.
var hostileNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// hostileSandbox is sandbox.Default() with a known key and a frozen clock.
func hostileSandbox(t testing.TB, now func() time.Time) *sandbox.Sandbox {
	t.Helper()
	cfg := sandbox.Default()
	cfg.SigningKey = hostileKey
	cfg.Now = now
	h, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// signed returns a token with the default partner's claims, edited, signed
// with method and key.
func signed(t testing.TB, method jwt.SigningMethod, key any, edit func(jwt.MapClaims)) string {
	t.Helper()
	c := jwt.MapClaims{
		"partnerId":   sandbox.DefaultPartnerID,
		"partnerName": "Test Partner",
		"iss":         sandbox.Issuer,
		"iat":         hostileNow.Unix(),
		"exp":         hostileNow.Add(time.Hour).Unix(),
	}
	if edit != nil {
		edit(c)
	}
	s, err := jwt.NewWithClaims(method, c).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validToken marks a case that needs a token the sandbox issued.
const (
	validToken  = "{valid}"
	validBearer = "Bearer " + validToken
)

type hostileCase struct {
	name   string
	method string
	path   string // after the server's URL
	header map[string]string
	auth   string // Authorization; validToken is replaced by a fresh token
	body   string
	status int
	allow  string // the Allow header a 405 must carry
}

const (
	tokenPath = "/partner/auth/token"
	ratePath  = "/partner/gold/rate"
	userPath  = "/partner/user/info/1234567890"
	formType  = "application/x-www-form-urlencoded"
)

var goodForm = url.Values{"partnerId": {sandbox.DefaultPartnerID}, "partnerSecret": {sandbox.DefaultPartnerSecret}}.Encode()

func form() map[string]string { return map[string]string{"Content-Type": formType} }

func hostileCases(t testing.TB) []hostileCase {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	hs := jwt.SigningMethodHS256
	key := []byte(hostileKey)
	bearer := func(tok string) string { return "Bearer " + tok }
	bigHeader := strings.Repeat("x", 17<<10)
	manyHeaders := map[string]string{}
	for i := range 40 {
		manyHeaders["X-Pad-"+string(rune('A'+i%26))+string(rune('a'+i/26))] = strings.Repeat("y", 512)
	}
	return []hostileCase{
		// Token requests: bad forms.
		{name: "token empty form", method: "POST", path: tokenPath, header: form(), body: "", status: 400},
		{name: "token missing secret", method: "POST", path: tokenPath, header: form(), body: "partnerId=" + sandbox.DefaultPartnerID, status: 400},
		{name: "token missing id", method: "POST", path: tokenPath, header: form(), body: "partnerSecret=" + sandbox.DefaultPartnerSecret, status: 400},
		{name: "token empty values", method: "POST", path: tokenPath, header: form(), body: "partnerId=&partnerSecret=", status: 400},
		{name: "token JSON body", method: "POST", path: tokenPath, header: map[string]string{"Content-Type": "application/json"}, body: `{"partnerId":"` + sandbox.DefaultPartnerID + `","partnerSecret":"` + sandbox.DefaultPartnerSecret + `"}`, status: 400},
		{name: "token JSON labelled as a form", method: "POST", path: tokenPath, header: form(), body: `{"partnerId":"` + sandbox.DefaultPartnerID + `","partnerSecret":"` + sandbox.DefaultPartnerSecret + `"}`, status: 400},
		{name: "token without content type", method: "POST", path: tokenPath, body: goodForm, status: 400},
		{name: "token as text/plain", method: "POST", path: tokenPath, header: map[string]string{"Content-Type": "text/plain"}, body: goodForm, status: 400},
		{name: "token as multipart", method: "POST", path: tokenPath, header: map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, body: "--x\r\nContent-Disposition: form-data; name=\"partnerId\"\r\n\r\n" + sandbox.DefaultPartnerID + "\r\n--x--\r\n", status: 400},
		{name: "token bad percent-encoding", method: "POST", path: tokenPath, header: form(), body: "partnerId=%zz&partnerSecret=%", status: 400},
		{name: "token wrong secret", method: "POST", path: tokenPath, header: form(), body: "partnerId=" + sandbox.DefaultPartnerID + "&partnerSecret=Sandbox-Secret", status: 401},
		{name: "token unknown partner", method: "POST", path: tokenPath, header: form(), body: "partnerId=nobody&partnerSecret=" + sandbox.DefaultPartnerSecret, status: 401},
		{name: "token secret with a NUL", method: "POST", path: tokenPath, header: form(), body: "partnerId=" + sandbox.DefaultPartnerID + "&partnerSecret=sandbox-secret%00", status: 401},
		{name: "token body over 64 KiB", method: "POST", path: tokenPath, header: form(), body: goodForm + "&pad=" + strings.Repeat("a", 65<<10), status: 413},
		{name: "token JSON body over 64 KiB", method: "POST", path: tokenPath, header: map[string]string{"Content-Type": "application/json"}, body: `{"pad":"` + strings.Repeat("a", 65<<10) + `"}`, status: 413},
		{name: "token headers over 16 KiB", method: "POST", path: tokenPath, header: map[string]string{"Content-Type": formType, "X-Big": bigHeader}, body: goodForm, status: 431},
		{name: "many headers over 16 KiB", method: "GET", path: ratePath, header: manyHeaders, status: 431},
		// Bearer tokens.
		{name: "rate without Authorization", method: "GET", path: ratePath, status: 401},
		{name: "rate with Basic", method: "GET", path: ratePath, auth: "Basic dGVzdDp0ZXN0", status: 401},
		{name: "rate with lowercase bearer", method: "GET", path: ratePath, auth: "bearer " + validToken, status: 401},
		{name: "rate with two spaces", method: "GET", path: ratePath, auth: "Bearer  " + validToken, status: 401},
		{name: "rate with Bearer alone", method: "GET", path: ratePath, auth: "Bearer", status: 401},
		{name: "rate with Bearer and a space", method: "GET", path: ratePath, auth: "Bearer ", status: 401},
		{name: "rate with the token alone", method: "GET", path: ratePath, auth: validToken, status: 401},
		{name: "rate with the token in the query", method: "GET", path: ratePath + "?access_token=" + validToken, status: 401},
		{name: "rate with garbage", method: "GET", path: ratePath, auth: "Bearer garbage", status: 401},
		{name: "rate with three empty segments", method: "GET", path: ratePath, auth: "Bearer ..", status: 401},
		{name: "rate with a huge garbage token", method: "GET", path: ratePath, auth: "Bearer " + strings.Repeat("A", 12<<10), status: 401},
		{name: "rate forged with another key", method: "GET", path: ratePath, auth: bearer(signed(t, hs, []byte("another-key-another-key-another-key"), nil)), status: 401},
		{name: "rate with alg none", method: "GET", path: ratePath, auth: bearer(signed(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil)), status: 401},
		{name: "rate with HS512 and the right key", method: "GET", path: ratePath, auth: bearer(signed(t, jwt.SigningMethodHS512, key, nil)), status: 401},
		{name: "rate with RS256 instead of HS256", method: "GET", path: ratePath, auth: bearer(signed(t, jwt.SigningMethodRS256, rsaKey, nil)), status: 401},
		{name: "rate with an expired token", method: "GET", path: ratePath, auth: bearer(signed(t, hs, key, func(c jwt.MapClaims) {
			c["iat"], c["exp"] = hostileNow.Add(-2*time.Hour).Unix(), hostileNow.Add(-time.Second).Unix()
		})), status: 401},
		{name: "rate with a token issued in the future", method: "GET", path: ratePath, auth: bearer(signed(t, hs, key, func(c jwt.MapClaims) {
			c["iat"], c["exp"] = hostileNow.Add(time.Hour).Unix(), hostileNow.Add(2*time.Hour).Unix()
		})), status: 401},
		{name: "rate with a token without exp", method: "GET", path: ratePath, auth: bearer(signed(t, hs, key, func(c jwt.MapClaims) { delete(c, "exp") })), status: 401},
		{name: "rate with a token without iss", method: "GET", path: ratePath, auth: bearer(signed(t, hs, key, func(c jwt.MapClaims) { delete(c, "iss") })), status: 401},
		{name: "rate with a token of an unknown partner", method: "GET", path: ratePath, auth: bearer(signed(t, hs, key, func(c jwt.MapClaims) { c["partnerId"] = "nobody" })), status: 401},
		{name: "rate with a token without partnerId", method: "GET", path: ratePath, auth: bearer(signed(t, hs, key, func(c jwt.MapClaims) { delete(c, "partnerId") })), status: 401},
		{name: "rate with the fault header while faults are off", method: "GET", path: ratePath, header: map[string]string{sandbox.FaultHeader: "500"}, status: 401},
		// Paths and encodings.
		{name: "user with 11 digits", method: "GET", path: "/partner/user/info/12345678901", auth: validBearer, status: 400},
		{name: "user with 9 digits", method: "GET", path: "/partner/user/info/123456789", auth: validBearer, status: 400},
		{name: "user with letters", method: "GET", path: "/partner/user/info/abcdefghij", auth: validBearer, status: 400},
		{name: "user with fullwidth digits", method: "GET", path: "/partner/user/info/１２３４５６７８９０", auth: validBearer, status: 400},
		{name: "user with an encoded space", method: "GET", path: "/partner/user/info/12345%2067890", auth: validBearer, status: 400},
		{name: "user with a plus sign", method: "GET", path: "/partner/user/info/+911234567890", auth: validBearer, status: 400},
		{name: "user unknown", method: "GET", path: "/partner/user/info/0000000000", auth: validBearer, status: 404},
		{name: "user without a number", method: "GET", path: "/partner/user/info/", auth: validBearer, status: 404},
		{name: "user with a trailing segment", method: "GET", path: userPath + "/x", auth: validBearer, status: 404},
		{name: "encoded dot-dot", method: "GET", path: "/partner/%2e%2e/gold/rate", auth: validBearer, status: 404},
		{name: "dot-dot", method: "GET", path: "/partner/x/../gold/rate", auth: validBearer, status: 404},
		{name: "dot segment", method: "GET", path: "/partner/./gold/rate", auth: validBearer, status: 404},
		{name: "double slash inside", method: "GET", path: "/partner//gold/rate", auth: validBearer, status: 404},
		{name: "double slash in front", method: "GET", path: "//partner/gold/rate", auth: validBearer, status: 404},
		{name: "trailing slash", method: "GET", path: ratePath + "/", auth: validBearer, status: 404},
		{name: "upper case path", method: "GET", path: "/partner/GOLD/RATE", auth: validBearer, status: 404},
		{name: "encoded slash", method: "GET", path: "/partner/gold%2frate", auth: validBearer, status: 404},
		{name: "encoded NUL", method: "GET", path: ratePath + "%00", auth: validBearer, status: 404},
		{name: "unicode path", method: "GET", path: "/partner/gold/räte", auth: validBearer, status: 404},
		{name: "path without the base", method: "GET", path: "/gold/rate", auth: validBearer, status: 404},
		{name: "root", method: "GET", path: "/", status: 404},
		{name: "unknown path", method: "GET", path: "/partner/admin", status: 404},
		{name: "long path", method: "GET", path: "/partner/" + strings.Repeat("a", 8<<10), status: 404},
		{name: "path over 16 KiB", method: "GET", path: "/partner/" + strings.Repeat("a", 17<<10), status: 431},
		// Methods.
		{name: "GET token", method: "GET", path: tokenPath, status: 405, allow: "POST"},
		{name: "PUT token", method: "PUT", path: tokenPath, header: form(), body: goodForm, status: 405, allow: "POST"},
		{name: "DELETE rate", method: "DELETE", path: ratePath, auth: validBearer, status: 405, allow: "GET"},
		{name: "POST rate", method: "POST", path: ratePath, header: form(), body: goodForm, status: 405, allow: "GET"},
		{name: "PATCH user", method: "PATCH", path: userPath, status: 405, allow: "GET"},
		{name: "OPTIONS user", method: "OPTIONS", path: userPath, status: 405, allow: "GET"},
		{name: "made-up method", method: "BREW", path: ratePath, status: 405, allow: "GET"},
	}
}

// TestHostileRequests sends each hostile request to a fresh default sandbox
// and checks the exact status and the error envelope; never a 5xx.
func TestHostileRequests(t *testing.T) {
	cases := hostileCases(t)
	if len(cases) < 30 {
		t.Fatalf("hostile table has %d cases; want at least 30", len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(hostileSandbox(t, func() time.Time { return hostileNow }))
			t.Cleanup(srv.Close)
			res, body := sendHostile(t, srv, tc)
			if res.StatusCode != tc.status {
				t.Errorf("%s %.60s -> %d; want %d\n%s", tc.method, tc.path, res.StatusCode, tc.status, body)
			}
			if problem := envelopeProblem(res, body); problem != "" {
				t.Errorf("%s %.60s -> %d: %s", tc.method, tc.path, res.StatusCode, problem)
			}
			if got := res.Header.Get("Allow"); got != tc.allow {
				t.Errorf("%s %.60s: Allow = %q; want %q", tc.method, tc.path, got, tc.allow)
			}
		})
	}
}

// sendHostile sends tc over HTTP, following no redirects.
func sendHostile(t testing.TB, srv *httptest.Server, tc hostileCase) (*http.Response, []byte) {
	t.Helper()
	path, auth := tc.path, tc.auth
	if strings.Contains(path+auth, validToken) {
		tok := issue(t, srv)
		path, auth = strings.ReplaceAll(path, validToken, tok), strings.ReplaceAll(auth, validToken, tok)
	}
	req, err := http.NewRequest(tc.method, srv.URL+path, strings.NewReader(tc.body))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(path, "//") { // NewRequest would read it as a host
		req.URL.Opaque = path
	}
	for k, v := range tc.header {
		req.Header.Set(k, v)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %.60s: %v", tc.method, path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// issue asks the sandbox for a token as the default partner.
func issue(t testing.TB, srv *httptest.Server) string {
	t.Helper()
	res, err := srv.Client().Post(srv.URL+tokenPath, formType, strings.NewReader(goodForm))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var env struct {
		Data struct{ AccessToken string }
	}
	if err := json.NewDecoder(res.Body).Decode(&env); err != nil || res.StatusCode != 200 {
		t.Fatalf("token request: %d, %v", res.StatusCode, err)
	}
	return env.Data.AccessToken
}

// envelopeProblem says what is wrong with an error response, or "".
func envelopeProblem(res *http.Response, body []byte) string {
	if res.StatusCode >= 500 {
		return "a 5xx"
	}
	if res.StatusCode < 400 {
		return "not an error status"
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		return "Content-Type " + ct + "; want application/json"
	}
	var env map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil {
		return "body is not JSON: " + err.Error()
	}
	if env["success"] != false {
		return "success is not false"
	}
	if msg, _ := env["error"].(string); msg == "" {
		return "error is empty"
	}
	code, _ := env["errorCode"].(string)
	if u, err := uuid.Parse(code); err != nil || u.String() != code {
		return "errorCode " + code + " is not a UUID"
	}
	if len(env) != 3 {
		return "envelope has extra fields"
	}
	return ""
}

// FuzzHandler sends arbitrary requests (method, path, headers, body, with or
// without a valid token) to one default sandbox: never a panic or a 5xx, and
// every 4xx carries the envelope.
func FuzzHandler(f *testing.F) {
	for _, tc := range hostileCases(f) {
		if len(tc.path)+len(tc.body)+len(tc.auth) > 4<<10 {
			continue // the fuzzer mutates small inputs; the table covers the big ones
		}
		var header strings.Builder
		for k, v := range tc.header {
			header.WriteString(k + ": " + v + "\n")
		}
		if tc.auth != "" && !strings.Contains(tc.auth, validToken) {
			header.WriteString("Authorization: " + tc.auth + "\n")
		}
		f.Add(tc.method, tc.path, header.String(), tc.body, strings.Contains(tc.auth+tc.path, validToken))
	}
	var (
		mu  sync.Mutex
		now = hostileNow
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var serverLog lockedBuffer
	srv := httptest.NewUnstartedServer(hostileSandbox(f, clock))
	srv.Config.ErrorLog = log.New(&serverLog, "", 0)
	srv.Start()
	f.Cleanup(srv.Close)
	client := srv.Client()
	client.CheckRedirect = noRedirect.CheckRedirect
	client.Timeout = 10 * time.Second // a hang fails the input instead of stalling the fuzzer

	f.Fuzz(func(t *testing.T, method, path, header, body string, withToken bool) {
		// A fresh window each time, so inputs are judged alone.
		mu.Lock()
		now = now.Add(time.Minute)
		mu.Unlock()
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Skip() // not a request a client can send
		}
		if strings.HasPrefix(path, "//") {
			req.URL.Opaque = path
		}
		for line := range strings.Lines(header) {
			k, v, ok := strings.Cut(strings.TrimRight(line, "\r\n"), ":")
			if ok {
				req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
		}
		if withToken {
			req.Header.Set("Authorization", "Bearer "+issue(t, srv))
		}
		res, err := client.Do(req)
		if err != nil {
			if strings.Contains(err.Error(), "net/http: invalid") || strings.Contains(err.Error(), "unsupported protocol") || strings.Contains(err.Error(), "invalid header") {
				t.Skip() // the client refused to send it
			}
			t.Fatalf("%q %q: %v (server log: %s)", method, path, err, serverLog.String())
		}
		defer res.Body.Close()
		data, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("%q %q: reading the body: %v", method, path, err)
		}
		if log := serverLog.String(); strings.Contains(log, "panic") {
			t.Fatalf("%q %q: the handler panicked: %s", method, path, log)
		}
		if res.StatusCode >= 500 {
			t.Fatalf("%q %q -> %d: %s", method, path, res.StatusCode, data)
		}
		if res.StatusCode >= 400 && req.Method != http.MethodHead {
			if problem := envelopeProblem(res, data); problem != "" {
				t.Fatalf("%q %q -> %d: %s: %q", method, path, res.StatusCode, problem, data)
			}
		}
	})
}

// lockedBuffer is a bytes.Buffer safe for the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
