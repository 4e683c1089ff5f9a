package hostile

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func get(t *testing.T, method, u, auth string, form url.Values) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPartner: with Partner, the token needs the right form and every other
// path the token, as the API checks them; without it, anything goes.
func TestPartner(t *testing.T) {
	good := url.Values{"partnerId": {"p1"}, "partnerSecret": {"s1"}}
	bad := url.Values{"partnerId": {"p1"}, "partnerSecret": {"s2"}}
	s := New(t)
	s.Partner("p1", "s1")
	tests := []struct {
		name, method, path, auth string
		form                     url.Values
		want                     int
		wantBody                 string
	}{
		{"token", http.MethodPost, TokenPath, "", good, 200, TokenAnswer},
		{"token, wrong secret", http.MethodPost, TokenPath, "", bad, 401, `"errorCode":"cred"`},
		{"token by GET", http.MethodGet, TokenPath + "?" + good.Encode(), "", nil, 401, `"errorCode":"cred"`},
		{"rate with the token", http.MethodGet, RatePath, "Bearer " + Token, nil, 200, RateAnswer},
		{"rate without it", http.MethodGet, RatePath, "", nil, 401, `"errorCode":"auth"`},
		{"rate with another", http.MethodGet, RatePath, "Bearer x" + Token, nil, 401, `"errorCode":"auth"`},
		{"unknown user with the token", http.MethodGet, "/partner/user/info/9999999999", "Bearer " + Token, nil, 404, NotFoundAnswer},
	}
	for _, tt := range tests {
		if code, body := get(t, tt.method, s.Origin+tt.path, tt.auth, tt.form); code != tt.want || !strings.Contains(body, tt.wantBody) {
			t.Errorf("%s: %d %s; want %d with %s", tt.name, code, body, tt.want, tt.wantBody)
		}
	}
	if n := s.Count(TokenPath); n != 3 {
		t.Errorf("Count(TokenPath) = %d; want 3", n)
	}
	open := New(t)
	if code, _ := get(t, http.MethodGet, open.URL+"/gold/rate", "", nil); code != 200 {
		t.Errorf("without Partner: rate without a token = %d; want 200", code)
	}
}

// TestSequence: answers in turn, the last one for good.
func TestSequence(t *testing.T) {
	s := New(t)
	s.Handle(RatePath, Sequence(JSON(429, "a"), JSON(500, "b"), JSON(200, "c")))
	var got []int
	for range 5 {
		code, _ := get(t, http.MethodGet, s.URL+"/gold/rate", "", nil)
		got = append(got, code)
	}
	if want := []int{429, 500, 200, 200, 200}; !slices.Equal(got, want) {
		t.Errorf("statuses = %v; want %v", got, want)
	}
}

// knownToken is Token written out in a test file, where .ci/secrets.sh
// gathers token fixtures: so the suite's output is scanned for the token
// every client test that uses this server gets.
const knownToken = "opaque-hostile-token-0123456789"

func TestTokenIsAFixture(t *testing.T) {
	if Token != knownToken {
		t.Errorf("Token = %q; want knownToken %q, which the secrets scan looks for", Token, knownToken)
	}
}
