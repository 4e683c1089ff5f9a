package sandbox_test

// Hostile input against the sandbox: a table of malformed, forged and
// oversized requests, subtler JWT forgeries, slow clients against Serve,
// and fuzzed requests and tokens. They share one signing key and clock, one
// sandbox constructor, one token signer, one token request, one request
// sender and one envelope check.

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/milligold/milligold-go/internal/faultserver"
	"github.com/milligold/milligold-go/sandbox"
	"github.com/milligold/milligold-go/sandbox/sandboxtest"
)

// testKey signs the tokens of this file's sandboxes, so a test can forge
// tokens that differ from the real ones in one respect only.
const testKey = "reliability-test-signing-key-0123456789"

// hostileNow is the frozen clock of this file's sandboxes (FuzzHandler moves
// its own on from here).
var hostileNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// hostileSandbox is sandbox.Default() with testKey and the clock now, then
// edited.
func hostileSandbox(t testing.TB, now func() time.Time, edit ...func(*sandbox.Config)) *sandbox.Sandbox {
	t.Helper()
	cfg := sandbox.Default()
	cfg.SigningKey = testKey
	cfg.Now = now
	for _, e := range edit {
		e(&cfg)
	}
	h, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// signedAt returns a token with the default partner's claims as issued at
// now, edited, signed with method and key.
func signedAt(t testing.TB, now time.Time, method jwt.SigningMethod, key any, edit func(jwt.MapClaims)) string {
	t.Helper()
	c := jwt.MapClaims{
		"partnerId":   sandbox.DefaultPartnerID,
		"partnerName": "Test Partner",
		"iss":         sandbox.Issuer,
		"iat":         now.Unix(),
		"exp":         now.Add(time.Hour).Unix(),
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

// signed is signedAt at hostileNow.
func signed(t testing.TB, method jwt.SigningMethod, key any, edit func(jwt.MapClaims)) string {
	t.Helper()
	return signedAt(t, hostileNow, method, key, edit)
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
	key := []byte(testKey)
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
			res, body := sendHostile(t, srv.URL, tc)
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

// sendHostile sends tc over HTTP to the server at origin (tc.path has the
// base path), following no redirects.
func sendHostile(t testing.TB, origin string, tc hostileCase) (*http.Response, []byte) {
	t.Helper()
	path, auth := tc.path, tc.auth
	if strings.Contains(path+auth, validToken) {
		tok := issue(t, origin+sandbox.BasePath, sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret)
		path, auth = strings.ReplaceAll(path, validToken, tok), strings.ReplaceAll(auth, validToken, tok)
	}
	req, err := http.NewRequest(tc.method, origin+path, strings.NewReader(tc.body))
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

// issue asks the sandbox at base (with its base path) for a token.
func issue(t testing.TB, base, id, secret string) string {
	t.Helper()
	form := url.Values{"partnerId": {id}, "partnerSecret": {secret}}.Encode()
	res, err := http.Post(base+"/auth/token", formType, strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var env struct {
		Data struct{ AccessToken string }
	}
	if err := json.NewDecoder(res.Body).Decode(&env); err != nil || res.StatusCode != 200 || env.Data.AccessToken == "" {
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

// TestJWTChecks forges tokens and sends each to a protected operation: only
// the sandbox's own HS256 tokens, from its issuer, unexpired, naming a
// partner it knows, get through. The hostile table above has the plain
// forgeries (alg none, HS512, RS256, other key, expired, no exp/iss/partner);
// these are the subtler ones, plus the random key per start and the expiry
// boundary on the sandbox's clock.
func TestJWTChecks(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithFakeClock(), sandboxtest.WithConfig(func(c *sandbox.Config) { c.SigningKey = testKey }))
	now := sb.Now()
	sign := func(m jwt.SigningMethod, key any, edit func(jwt.MapClaims)) string {
		return signedAt(t, now, m, key, edit)
	}
	hs256 := func(edit func(jwt.MapClaims)) string { return sign(jwt.SigningMethodHS256, []byte(testKey), edit) }
	good := hs256(nil)
	other := sandboxtest.New(t) // a random key of its own
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"control: forged with the configured key and right claims", good, 200},
		{"control: issued by the sandbox", issue(t, sb.URL, sb.PartnerID, sb.PartnerSecret), 200},
		{"alg none, signature kept", func() string {
			p := strings.Split(good, ".")
			return "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + p[1] + "." + p[2]
		}(), 401},
		{"HS384 with the right key (algorithm switch)", sign(jwt.SigningMethodHS384, []byte(testKey), nil), 401},
		{"HS256 with an empty key", sign(jwt.SigningMethodHS256, []byte{}, nil), 401},
		{"issued by another sandbox (random key per start)", issue(t, other.URL, other.PartnerID, other.PartnerSecret), 401},
		{"payload swapped under a valid signature", func() string {
			p := strings.Split(good, ".")
			q := strings.Split(hs256(func(c jwt.MapClaims) { c["partnerId"] = "someone-else" }), ".")
			return p[0] + "." + q[1] + "." + p[2]
		}(), 401},
		{"signature stripped", strings.Join(strings.Split(good, ".")[:2], ".") + ".", 401},
		{"expiry not a number", hs256(func(c jwt.MapClaims) { c["exp"] = "tomorrow" }), 401},
		{"not yet valid", hs256(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() }), 401},
		{"wrong issuer", hs256(func(c jwt.MapClaims) { c["iss"] = "milligold" }), 401},
		{"partner id not a string", hs256(func(c jwt.MapClaims) { c["partnerId"] = 42 }), 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, body := goldRateAt(t, sb.URL, tt.token)
			if res.StatusCode != tt.want {
				t.Fatalf("GET /gold/rate = %d; want %d\n%s", res.StatusCode, tt.want, body)
			}
			if tt.want == 401 {
				if problem := envelopeProblem(res, body); problem != "" {
					t.Errorf("401 body: %s: %s", problem, body)
				}
				if bytes.Contains(body, []byte(tt.token)) {
					t.Error("the 401 body repeats the token")
				}
			}
		})
	}

	// Expiry by the sandbox's clock: the issued token dies at exp.
	t.Run("expires on the sandbox clock", func(t *testing.T) {
		tok := issue(t, sb.URL, sb.PartnerID, sb.PartnerSecret)
		sb.Advance(time.Hour - time.Second)
		if res, _ := goldRateAt(t, sb.URL, tok); res.StatusCode != 200 {
			t.Errorf("one second before expiry: %d; want 200", res.StatusCode)
		}
		sb.Advance(time.Second)
		if res, _ := goldRateAt(t, sb.URL, tok); res.StatusCode != 401 {
			t.Errorf("at expiry: %d; want 401", res.StatusCode)
		}
	})
}

// goldRateAt asks the sandbox at base (with its base path) for the gold
// rate with token.
func goldRateAt(t testing.TB, base, token string) (*http.Response, []byte) {
	t.Helper()
	return sendHostile(t, strings.TrimSuffix(base, sandbox.BasePath), hostileCase{method: "GET", path: ratePath, auth: "Bearer " + token})
}

// serveSmallBuffers runs sandbox.Serve with the default config on a loopback
// listener until the test ends, and returns the base URL.
func serveSmallBuffers(t *testing.T, o sandbox.ServeOptions) string {
	t.Helper()
	h, err := sandbox.New(sandbox.Default())
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t)
	serveOn(t, smallSendBuffers{ln}, h, o)
	return "http://" + ln.Addr().String() + sandbox.BasePath
}

// smallSendBuffers gives each accepted connection a small send buffer, so a
// client that never reads blocks the server's writes within a few dozen
// answers. Loopback would otherwise buffer megabytes of 401s first, which a
// loaded machine takes longer than any bound to produce.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4 << 10)
	}
	return c, err
}

// TestSlowClientsCannotHoldServe opens slow connections of every kind
// against Serve with short timeouts: a normal client is served meanwhile, and
// every slow connection is cut.
func TestSlowClientsCannotHoldServe(t *testing.T) {
	// Timeouts a loaded 2-core machine can't trip for the normal client (at
	// 200 ms, a stalled client between connect and headers got EOF), still
	// far below the test's one-minute bound for the slow ones.
	base := serveSmallBuffers(t, sandbox.ServeOptions{
		ReadHeaderTimeout: time.Second,
		ReadTimeout:       2 * time.Second,
		WriteTimeout:      2 * time.Second,
		IdleTimeout:       2 * time.Second,
	})
	u, _ := url.Parse(base)
	// Unread answers cost the server CPU until the buffers fill, so fewer of those.
	slow := []struct {
		mode faultserver.SlowMode
		path string
		n    int
	}{
		{faultserver.SlowHeaders, "/gold/rate", 30},
		{faultserver.SlowBody, "/auth/token", 30},
		{faultserver.NoRead, "/gold/rate", 5},
	}
	clients := make([]*faultserver.SlowClients, len(slow))
	for i, s := range slow {
		c, err := faultserver.StartSlowClients(u.Host, sandbox.BasePath+s.path, s.n, s.mode, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		clients[i] = c
	}
	// While they hang on, a normal client gets its token and its rate.
	tok := issue(t, base, sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret)
	if res, body := goldRateAt(t, base, tok); res.StatusCode != 200 {
		t.Errorf("a normal client among the slow ones got %d: %s", res.StatusCode, body)
	}
	for i, s := range slow {
		c := clients[i]
		// The bound only keeps a server without timeouts from hanging the test.
		for end := time.Now().Add(time.Minute); c.Cut() < s.n && time.Now().Before(end); {
			time.Sleep(20 * time.Millisecond)
		}
		if c.Cut() < s.n {
			t.Errorf("%v: the server cut %d of %d connections; want all", s.mode, c.Cut(), s.n)
		}
	}
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
			req.Header.Set("Authorization", "Bearer "+issue(t, srv.URL+sandbox.BasePath, sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret))
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

// fuzzSandbox is one sandbox for all inputs of FuzzHostileRequests and
// FuzzJWTCheck: testKey and a frozen clock so seeds can carry a valid token
// (returned), and a limit high enough that the fuzzer explores past the
// first window.
func fuzzSandbox(tb testing.TB) (*sandbox.Sandbox, string) {
	sb := hostileSandbox(tb, func() time.Time { return hostileNow }, func(c *sandbox.Config) { c.RateLimit.Requests = 1 << 20 })
	return sb, signed(tb, jwt.SigningMethodHS256, []byte(testKey), nil)
}

// FuzzHostileRequests sends whatever net/http's parser lets through to the
// handler: never a panic, never a 5xx, and every 4xx in the envelope.
func FuzzHostileRequests(f *testing.F) {
	sb, tok := fuzzSandbox(f)
	form := formType
	seeds := []struct{ method, target, ctype, header, body string }{
		{"POST", "/partner/auth/token", form, "", "partnerId=" + sandbox.DefaultPartnerID + "&partnerSecret=" + sandbox.DefaultPartnerSecret},
		{"POST", "/partner/auth/token", form, "", "partnerId=x&partnerSecret=y&partnerId=z"},
		{"POST", "/partner/auth/token", "application/json", "", `{"partnerId":"x","partnerSecret":"y"}`},
		{"POST", "/partner/auth/token", "multipart/form-data; boundary=zz", "", "--zz\r\nContent-Disposition: form-data; name=\"partnerId\"\r\n\r\nx\r\n--zz--"},
		{"POST", "/partner/auth/token", form, "", "%zz%"},
		{"GET", "/partner/gold/rate", "", "Authorization: Bearer " + tok, ""},
		{"GET", "/partner/gold/rate", "", "Authorization: Bearer  " + tok, ""},
		{"GET", "/partner/gold/rate", "", "Authorization: bearer " + tok, ""},
		{"GET", "/partner/gold/rate?x=%00", "", "Authorization: Basic Zm9vOmJhcg==", ""},
		{"GET", "/partner/user/info/1234567890", "", "Authorization: Bearer " + tok, ""},
		{"GET", "/partner/user/info/12345%2F67890", "", "Authorization: Bearer " + tok, ""},
		{"GET", "/partner/user/info/" + strings.Repeat("9", 300), "", "Authorization: Bearer " + tok, ""},
		{"GET", "/partner/user/info/", "", "Authorization: Bearer " + tok, ""},
		{"GET", "/partner/user/info/%E2%82%AC", "", "Authorization: Bearer " + tok, ""},
		{"DELETE", "/partner/gold/rate", "", "Authorization: Bearer " + tok, ""},
		{"PATCH", "/partner/auth/token", form, "", "partnerId=x"},
		{"GET", "/partner/../partner/gold/rate", "", "", ""},
		{"GET", "//partner//gold//rate", "", "", ""},
		{"HEAD", "/partner/gold/rate", "", "Authorization: Bearer " + tok, ""},
		{"GET", "/", "", "", ""},
		{"OPTIONS", "*", "", "", ""},
		{"GET", "*", "", "", ""},
		{"CONNECT", "127.0.0.1:80", "", "", ""},
		{"GET", "http://evil.example/partner/gold/rate", "", "Authorization: Bearer " + tok, ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.ctype, s.header, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, method, target, ctype, header string, body []byte) {
		var raw bytes.Buffer
		fmt.Fprintf(&raw, "%s %s HTTP/1.1\r\nHost: sandbox\r\n", method, target)
		if ctype != "" {
			fmt.Fprintf(&raw, "Content-Type: %s\r\n", ctype)
		}
		if header != "" {
			fmt.Fprintf(&raw, "%s\r\n", header)
		}
		fmt.Fprintf(&raw, "Content-Length: %d\r\n\r\n", len(body))
		raw.Write(body)
		req, err := http.ReadRequest(bufio.NewReader(&raw))
		if err != nil {
			t.Skip() // net/http answers 400 itself; the handler never sees it
		}
		req.RemoteAddr = "127.0.0.1:1234"
		rec := httptest.NewRecorder()
		sb.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q -> %d: %s", method, target, rec.Code, rec.Body)
		}
		if rec.Code >= 400 && req.Method != http.MethodHead {
			if problem := envelopeProblem(rec.Result(), rec.Body.Bytes()); problem != "" {
				t.Fatalf("%s %q -> %d without the envelope (%s): %q", method, target, rec.Code, problem, rec.Body)
			}
		}
	})
}

// FuzzJWTCheck sends arbitrary bearer tokens, seeded with a valid one and
// forgeries, to a protected operation. Oracle: golang-jwt with the sandbox's
// documented rules (HS256 only, its key and issuer, exp required, a known
// partner). A token the oracle refuses must get 401 with the envelope; one it
// accepts must get 200; nothing else, and never a 5xx.
func FuzzJWTCheck(f *testing.F) {
	sb, tok := fuzzSandbox(f)
	p := strings.Split(tok, ".")
	for _, seed := range []string{
		tok,
		p[0] + "." + p[1] + ".",
		"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + p[1] + ".",
		p[0] + "." + p[1] + "." + p[2] + "x",
		p[0] + ".." + p[2],
		strings.ToLower(tok),
		tok + "." + p[2],
		"",
		"..",
	} {
		f.Add(seed)
	}
	oracle := jwt.NewParser(
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithIssuer(sandbox.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return hostileNow }),
	)
	// A refused token counts against its client's address, and the clock is
	// frozen, so inputs rotate over many addresses to keep any one window
	// (2^20 requests) out of a long campaign's reach.
	var inputs atomic.Uint64
	f.Fuzz(func(t *testing.T, token string) {
		req := httptest.NewRequest(http.MethodGet, "/partner/gold/rate", nil)
		n := inputs.Add(1)
		req.RemoteAddr = fmt.Sprintf("10.%d.%d.1:1234", n/250%250, n%250)
		req.Header.Set("Authorization", "Bearer "+token)
		if req.Header.Get("Authorization") != "Bearer "+token || strings.ContainsAny(token, "\r\n") {
			t.Skip() // not a header value a server would deliver
		}
		rec := httptest.NewRecorder()
		sb.ServeHTTP(rec, req)

		var c struct {
			PartnerID string `json:"partnerId"`
			jwt.RegisteredClaims
		}
		_, err := oracle.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return []byte(testKey), nil })
		valid := err == nil && c.PartnerID == sandbox.DefaultPartnerID && !strings.ContainsAny(token, " \t")
		switch {
		case rec.Code >= 500:
			t.Fatalf("token %q -> %d: %s", token, rec.Code, rec.Body)
		case valid && rec.Code != 200:
			t.Fatalf("a valid token %q -> %d; want 200: %s", token, rec.Code, rec.Body)
		case !valid && rec.Code == 200:
			t.Fatalf("token %q (oracle: %v) -> 200; want 401", token, err)
		case !valid && rec.Code != 401 && rec.Code != 431:
			t.Fatalf("token %q -> %d; want 401", token, rec.Code)
		case rec.Code != 200:
			if problem := envelopeProblem(rec.Result(), rec.Body.Bytes()); problem != "" {
				t.Fatalf("token %q -> %d without the envelope (%s)", token, rec.Code, problem)
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
