package sandbox_test

// Hostile input against the sandbox: forged tokens, oversized requests, slow
// clients, and fuzzed requests and configs. Helpers here are prefixed rel to
// stay clear of the package's other tests.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/milligold/milligold-go/internal/faultserver"
	"github.com/milligold/milligold-go/sandbox"
	"github.com/milligold/milligold-go/sandbox/sandboxtest"
)

const relKey = "reliability-test-signing-key-0123456789"

// relEnvelope decodes an error envelope and reports what is wrong with it ("" when fine).
func relEnvelope(body []byte) string {
	var env struct {
		Success   *bool   `json:"success"`
		Error     *string `json:"error"`
		ErrorCode *string `json:"errorCode"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Sprintf("not JSON (%v)", err)
	}
	switch {
	case env.Success == nil || *env.Success:
		return "success is not false"
	case env.Error == nil || *env.Error == "":
		return "no error message"
	case env.ErrorCode == nil || *env.ErrorCode == "":
		return "no errorCode"
	}
	return ""
}

func relDo(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", req.Method, req.URL.Path, err)
	}
	return res, body
}

func relGoldRate(t *testing.T, base, authorization string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/gold/rate", nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return relDo(t, req)
}

func relToken(t *testing.T, base, id, secret string) string {
	t.Helper()
	form := url.Values{"partnerId": {id}, "partnerSecret": {secret}}.Encode()
	req, _ := http.NewRequest(http.MethodPost, base+"/auth/token", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, body := relDo(t, req)
	var ok struct {
		Data struct{ AccessToken string }
	}
	if res.StatusCode != 200 || json.Unmarshal(body, &ok) != nil || ok.Data.AccessToken == "" {
		t.Fatalf("token request: %d %s", res.StatusCode, body)
	}
	return ok.Data.AccessToken
}

// TestJWTChecks forges tokens and sends each to a protected operation: only
// the sandbox's own HS256 tokens, from its issuer, unexpired, naming a
// partner it knows, get through. hostile_test.go's table has the plain
// forgeries (alg none, HS512, RS256, other key, expired, no exp/iss/partner);
// these are the subtler ones, plus the random key per start and the expiry
// boundary on the sandbox's clock.
func TestJWTChecks(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithFakeClock(), sandboxtest.WithConfig(func(c *sandbox.Config) { c.SigningKey = relKey }))
	now := sb.Now()
	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{
			"partnerId": sb.PartnerID, "partnerName": "Test Partner", "iss": sandbox.Issuer,
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		}
		if edit != nil {
			edit(c)
		}
		return c
	}
	sign := func(m jwt.SigningMethod, key any, c jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hs256 := func(edit func(jwt.MapClaims)) string {
		return sign(jwt.SigningMethodHS256, []byte(relKey), claims(edit))
	}
	good := hs256(nil)
	other := sandboxtest.New(t) // a random key of its own
	tests := []struct {
		name  string
		token string
		want  int
	}{
		{"control: forged with the configured key and right claims", good, 200},
		{"control: issued by the sandbox", relToken(t, sb.URL, sb.PartnerID, sb.PartnerSecret), 200},
		{"alg none, signature kept", func() string {
			p := strings.Split(good, ".")
			return "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + p[1] + "." + p[2]
		}(), 401},
		{"HS384 with the right key (algorithm switch)", sign(jwt.SigningMethodHS384, []byte(relKey), claims(nil)), 401},
		{"HS256 with an empty key", sign(jwt.SigningMethodHS256, []byte{}, claims(nil)), 401},
		{"issued by another sandbox (random key per start)", relToken(t, other.URL, other.PartnerID, other.PartnerSecret), 401},
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
			res, body := relGoldRate(t, sb.URL, "Bearer "+tt.token)
			if res.StatusCode != tt.want {
				t.Fatalf("GET /gold/rate = %d; want %d\n%s", res.StatusCode, tt.want, body)
			}
			if tt.want == 401 {
				if problem := relEnvelope(body); problem != "" {
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
		tok := relToken(t, sb.URL, sb.PartnerID, sb.PartnerSecret)
		sb.Advance(time.Hour - time.Second)
		if res, _ := relGoldRate(t, sb.URL, "Bearer "+tok); res.StatusCode != 200 {
			t.Errorf("one second before expiry: %d; want 200", res.StatusCode)
		}
		sb.Advance(time.Second)
		if res, _ := relGoldRate(t, sb.URL, "Bearer "+tok); res.StatusCode != 401 {
			t.Errorf("at expiry: %d; want 401", res.StatusCode)
		}
	})
}

// relServe runs sandbox.Serve with the default config on a loopback
// listener until the test ends, and returns the base URL.
func relServe(t *testing.T, o sandbox.ServeOptions) string {
	t.Helper()
	h, err := sandbox.New(sandbox.Default())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sandbox.Serve(ctx, smallSendBuffers{ln}, h, o) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
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
	base := relServe(t, sandbox.ServeOptions{
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
	tok := relToken(t, base, sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret)
	if res, body := relGoldRate(t, base, "Bearer "+tok); res.StatusCode != 200 {
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

// relFuzzSandbox is one sandbox for all fuzz inputs: a fixed key and clock
// so seeds can carry a valid token, and a limit high enough that the fuzzer
// explores past the first window.
func relFuzzSandbox(tb testing.TB) (*sandbox.Sandbox, string) {
	cfg := sandbox.Default()
	cfg.SigningKey = relKey
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg.Now = func() time.Time { return t0 }
	cfg.RateLimit.Requests = 1 << 20
	sb, err := sandbox.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	c := jwt.MapClaims{"partnerId": sandbox.DefaultPartnerID, "partnerName": "Test Partner", "iss": sandbox.Issuer,
		"iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix()}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(relKey))
	if err != nil {
		tb.Fatal(err)
	}
	return sb, tok
}

// FuzzHostileRequests sends whatever net/http's parser lets through to the
// handler: never a panic, never a 5xx, and every 4xx in the envelope.
func FuzzHostileRequests(f *testing.F) {
	sb, tok := relFuzzSandbox(f)
	form := "application/x-www-form-urlencoded"
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
			if problem := relEnvelope(rec.Body.Bytes()); problem != "" {
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
	sb, tok := relFuzzSandbox(f)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
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
		jwt.WithTimeFunc(func() time.Time { return t0 }),
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
		_, err := oracle.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return []byte(relKey), nil })
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
			if problem := relEnvelope(rec.Body.Bytes()); problem != "" {
				t.Fatalf("token %q -> %d without the envelope (%s)", token, rec.Code, problem)
			}
		}
	})
}
