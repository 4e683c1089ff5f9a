package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milligold/milligold-go/gen/apispec"
	"github.com/milligold/milligold-go/sandbox"
)

// TestPanicAnswers500: a panic in a handler (here the clock, which the
// bearer check and the rate limit call) answers the spec's 500 in the
// envelope, is logged without the request's Authorization header, the
// form's secret, the config's secrets or anything shaped like a token, and
// leaves the server serving on the same connection.
func TestPanicAnswers500(t *testing.T) {
	var boom atomic.Pointer[string] // the panic's message while armed
	cfg := sandbox.Default()
	cfg.Now = func() time.Time {
		if m := boom.Load(); m != nil {
			panic(*m)
		}
		return time.Now()
	}
	var buf bytes.Buffer
	var mu sync.Mutex
	logger, closeLog := sandbox.NewTextLog(lockedWriter{&buf, &mu})
	cfg.Logger = logger
	sb, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(sb)
	defer ts.Close()
	base := ts.URL + sandbox.BasePath
	spec, err := apispec.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	reused := 0
	send := func(method, path, body string, header http.Header) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		for k, vs := range header {
			req.Header[k] = vs
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req = req.WithContext(httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) {
				if i.Reused {
					reused++
				}
			},
		}))
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		return res, b.Bytes()
	}
	res, body := send("POST", "/auth/token", tokenForm(sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret), nil)
	if res.StatusCode != 200 {
		t.Fatalf("token: %d %s", res.StatusCode, body)
	}
	var tokenBody struct{ Data struct{ AccessToken string } }
	json.Unmarshal(body, &tokenBody)
	tok := tokenBody.Data.AccessToken
	const wrongSecret = "not-the-partner-secret-8d1f"

	var codes []string
	for _, c := range []struct {
		name, method, path, body string
		header                   http.Header
		panic                    string
	}{
		{"GET with a token", "GET", "/gold/rate", "", bearer(tok),
			fmt.Sprintf("clock broke: Authorization %q, partner secret %s", "Bearer "+tok, sandbox.DefaultPartnerSecret)},
		{"token request with a wrong secret", "POST", "/auth/token", tokenForm(sandbox.DefaultPartnerID, wrongSecret), nil,
			fmt.Sprintf("clock broke: form secret %s, another request's token %s", wrongSecret, tok)},
	} {
		msg := c.panic
		boom.Store(&msg)
		res, body := send(c.method, c.path, c.body, c.header)
		boom.Store(nil)
		if res.StatusCode != http.StatusInternalServerError {
			t.Fatalf("%s: status %d; want 500: %s", c.name, res.StatusCode, body)
		}
		validate(t, spec, res, body)
		env := decode(t, body)
		code, _ := env["errorCode"].(string)
		if env["success"] != false || env["error"] != "internal error" || !uuidPattern.MatchString(code) {
			t.Errorf("%s: body %s; want the envelope with error \"internal error\" and a UUID errorCode", c.name, body)
		}
		codes = append(codes, code)
		if res, body := send("GET", "/gold/rate", "", bearer(tok)); res.StatusCode != 200 {
			t.Errorf("%s: the next request got %d; want 200: %s", c.name, res.StatusCode, body)
		}
	}
	if reused < 4 {
		t.Errorf("%d of 5 requests reused the connection; want 4 (a panic must not cost it)", reused)
	}
	closeLog.Close()
	mu.Lock()
	logs := buf.String()
	mu.Unlock()
	for _, code := range codes {
		if !strings.Contains(logs, "msg=\"handler panicked\"") || !strings.Contains(logs, "errorCode="+code) || !strings.Contains(logs, "status=500") {
			t.Errorf("the log has no panic line and 500 request line for errorCode %s:\n%s", code, logs)
		}
	}
	if !strings.Contains(logs, "[REDACTED]") {
		t.Errorf("the panic line does not show what was cut:\n%s", logs)
	}
	for _, secret := range []string{tok, strings.Split(tok, ".")[2], sandbox.DefaultPartnerSecret, wrongSecret} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains a secret or token (%d bytes of it)", len(secret))
			if testing.Verbose() {
				t.Log(strings.ReplaceAll(logs, secret, "<<HERE>>"))
			}
		}
	}
}
