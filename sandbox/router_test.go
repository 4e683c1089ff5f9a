package sandbox_test

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/milligold/milligold-go/sandbox"
)

// routerPair is the sandbox twice, on its router.Router and on net/http's
// ServeMux, with one key and a stopped clock, so one request gets the same
// answer from both but for the errorCode (a fresh UUID per error) and a
// token's jti.
type routerPair struct {
	fast, mux http.Handler
	bearer    string
}

func newRouterPair(t testing.TB) routerPair {
	t.Helper()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := sandbox.Default()
	cfg.SigningKey = strings.Repeat("k", 32)
	cfg.Now = func() time.Time { return t0 }
	cfg.RateLimit.Requests = 1 << 20
	fast, err := sandbox.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux, err := sandbox.NewOnServeMux(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := routerPair{fast: fast, mux: mux}
	w := httptest.NewRecorder()
	fast.ServeHTTP(w, tokenRequest())
	tok := regexp.MustCompile(`"accessToken":"([^"]+)"`).FindStringSubmatch(w.Body.String())
	if tok == nil {
		t.Fatalf("token request = %d %s; want a token", w.Code, w.Body)
	}
	p.bearer = "Bearer " + tok[1]
	return p
}

var uuidText = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// tokenText is an issued token's text: its jti differs per token.
var tokenText = regexp.MustCompile(`"accessToken":"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"`)

// compare sends one raw request to both and fails on any difference in
// status, headers or body.
func (p routerPair) compare(t *testing.T, method, target, auth, body string) {
	t.Helper()
	raw := method + " " + target + " HTTP/1.1\r\nHost: sandbox.test\r\n"
	switch auth {
	case "good":
		raw += "Authorization: " + p.bearer + "\r\n"
	case "":
	default:
		raw += "Authorization: " + auth + "\r\n"
	}
	if body != "" {
		raw += "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: " + itoa(int64(len(body))) + "\r\n"
	}
	raw += "\r\n" + body
	answer := func(h http.Handler) (int, http.Header, string) {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return 0, nil, ""
		}
		r.RemoteAddr = "127.0.0.1:40000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code, w.Header(), tokenText.ReplaceAllString(uuidText.ReplaceAllString(w.Body.String(), "UUID"), "TOKEN")
	}
	gotStatus, gotHeader, gotBody := answer(p.fast)
	wantStatus, wantHeader, wantBody := answer(p.mux)
	if gotStatus != wantStatus || gotBody != wantBody || !sameHeader(gotHeader, wantHeader) {
		t.Errorf("%s %s (auth %q, body %q): router answered %d %v %q; ServeMux %d %v %q",
			method, target, auth, body, gotStatus, gotHeader, gotBody, wantStatus, wantHeader, wantBody)
	}
}

func sameHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\x00") != strings.Join(b[k], "\x00") {
			return false
		}
	}
	return true
}

var routerTargets = []string{
	"/partner/gold/rate", "/partner/gold/rate/", "/partner/gold/rate?x=1", "/partner//gold/rate",
	"/partner/./gold/rate", "/partner/x/../gold/rate", "/partner/gold/r%61te", "/partner/gold%2Frate",
	"/partner/gold/rate/.", "/partner/gold", "/partner/", "/partner", "/", "*", "http://sandbox.test/partner/gold/rate",
	"/partner/user/info/1234567890", "/partner/user/info/9999999999", "/partner/user/info/12%2034",
	"/partner/user/info/a%2Fb", "/partner/user/info/%31234567890", "/partner/user/info/..", "/partner/user/info/.",
	"/partner/user/info/", "/partner/user/info", "/partner/user/info/1/2", "/partner/user/info/abc",
	"/partner/auth/token", "/partner/auth/token/", "/PARTNER/gold/rate", "/partner/gold/rate%20",
}

// TestRouterAnswersAsServeMux holds the sandbox on its router to the
// sandbox on net/http's ServeMux, for every path shape ServeMux handles:
// unclean paths, trailing slashes, percent-encoding, 404 and 405 with the
// envelope and Allow, HEAD and other methods, with and without a token.
func TestRouterAnswersAsServeMux(t *testing.T) {
	p := newRouterPair(t)
	form := url.Values{"partnerId": {sandbox.DefaultPartnerID}, "partnerSecret": {sandbox.DefaultPartnerSecret}}.Encode()
	for _, target := range routerTargets {
		for _, method := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "get", "CONNECT"} {
			for _, auth := range []string{"good", "", "Bearer forged"} {
				p.compare(t, method, target, auth, "")
			}
		}
		p.compare(t, "POST", target, "", form)
		p.compare(t, "POST", target, "", "partnerId=x")
	}
}

func FuzzRouterAnswersAsServeMux(f *testing.F) {
	for _, target := range routerTargets {
		f.Add("GET", target, "good", "")
		f.Add("POST", target, "", "partnerId=x&partnerSecret=y")
	}
	p := newRouterPair(f)
	f.Fuzz(func(t *testing.T, method, target, auth, body string) {
		if auth != "" && auth != "good" && strings.ContainsAny(auth, "\r\n") {
			return // not one header
		}
		p.compare(t, method, target, auth, body)
	})
}
