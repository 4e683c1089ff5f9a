package tokens_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/milligold/milligold-go/gen/api"
	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/tokens"
)

const partnerSecret = "partner-secret-value"

// readJSON is the least a TokenFetcher's read can be: a non-200 answer is
// an error, a 200 is decoded.
func readJSON(resp *http.Response, dst any) error {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return errors.New("token request answered " + http.StatusText(resp.StatusCode))
	}
	return json.Unmarshal(body, dst)
}

// fixed answers every request with one response.
type fixed struct {
	status int
	body   []byte
}

func (f fixed) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	return &http.Response{
		StatusCode: f.status,
		Header:     http.Header{"Content-Type": {"application/json"}},
		Body:       io.NopCloser(strings.NewReader(string(f.body))),
		Request:    r,
	}, nil
}

var tokenBodies = []string{
	`{"success":true,"data":{"accessToken":"eyJ","expiresIn":3600,"createdAt":1688994271}}`,
	`{"success":true,"data":{"accessToken":"eyJ","expiresIn":1,"createdAt":0,"extra":[1,2]}}`,
	`{"success":true,"data":{"accessToken":"","expiresIn":3600,"createdAt":0}}`,
	`{"success":true,"data":{"accessToken":"eyJ","expiresIn":-1,"createdAt":0}}`,
	`{"success":true,"data":{"accessToken":"eyJ","expiresIn":"3600","createdAt":0}}`,
	`{"success":true,"data":{"accessToken":"eyJ","expiresIn":1e30,"createdAt":0}}`,
	`{"success":true,"data":null}`,
	`{"success":true}`,
	`null`,
	`[]`,
	``,
	`{"success":true,"data":{"accessToken":"eyJ","expiresIn":9223372036854775807}}`,
}

// FuzzTokenResponse: whatever a 200 carries, the fetcher returns a usable
// grant or an error, never panics, and never echoes the secret.
func FuzzTokenResponse(f *testing.F) {
	for _, b := range tokenBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tc, err := api.NewClientWithResponses("http://sandbox.invalid/partner", api.WithHTTPClient(&http.Client{Transport: fixed{200, body}}))
		if err != nil {
			t.Fatal(err)
		}
		g, err := middleware.TokenFetcher(tc, "p1", partnerSecret, readJSON)(context.Background())
		if err != nil {
			if strings.Contains(err.Error(), partnerSecret) {
				t.Fatalf("error %q leaks the secret", err)
			}
			return
		}
		if g.Value == "" || g.ExpiresIn <= 0 {
			t.Fatalf("TokenFetcher(%q) = %v with no error; want a usable grant", body, g)
		}
	})
}

func TestTokenResponses(t *testing.T) {
	for i, b := range tokenBodies {
		tc, _ := api.NewClientWithResponses("http://sandbox.invalid/partner", api.WithHTTPClient(&http.Client{Transport: fixed{200, []byte(b)}}))
		g, err := middleware.TokenFetcher(tc, "p1", partnerSecret, readJSON)(context.Background())
		wantOK := i < 2
		if (err == nil) != wantOK {
			t.Errorf("TokenFetcher(%s) = %v, %v; want ok=%v", b, g, err, wantOK)
		}
	}
}

type closeCounter struct {
	io.Reader
	closed *int
}

func (c closeCounter) Close() error { *c.closed++; return nil }

// Fetcher itself, with no generated binding: send's error comes back as
// is; a decode that never reads still closes the body; a null answer or an
// unusable grant is ErrBadGrant.
func TestFetcher(t *testing.T) {
	sendErr := errors.New("dial failed")
	_, err := tokens.Fetcher(func(context.Context) (*http.Response, error) { return nil, sendErr }, readJSON,
		func(func(any) error) (string, int64, error) {
			t.Fatal("decode called after send failed")
			return "", 0, nil
		})(context.Background())
	if !errors.Is(err, sendErr) {
		t.Errorf("send error: %v; want %v", err, sendErr)
	}

	closed := 0
	respond := func(body string) func(context.Context) (*http.Response, error) {
		return func(context.Context) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Body: closeCounter{strings.NewReader(body), &closed}}, nil
		}
	}
	_, err = tokens.Fetcher(respond(`{}`), readJSON, func(func(any) error) (string, int64, error) { return "tok", 60, nil })(context.Background())
	if !errors.Is(err, tokens.ErrBadGrant) || closed != 1 {
		t.Errorf("decode that never reads: %v, body closed %d times; want ErrBadGrant, closed once", err, closed)
	}

	type answer struct{ Token string }
	decode := func(read func(any) error) (string, int64, error) {
		var a *answer
		if err := read(&a); err != nil || a == nil {
			return "", 0, err
		}
		return a.Token, 60, nil
	}
	for body, wantOK := range map[string]bool{`{"Token":"tok"}`: true, `null`: false, `{"Token":""}`: false} {
		g, err := tokens.Fetcher(respond(body), readJSON, decode)(context.Background())
		if wantOK && (err != nil || g.Value != "tok" || g.ExpiresIn != time.Minute) {
			t.Errorf("%s: %v, %v; want tok for 1m", body, g, err)
		}
		if !wantOK && !errors.Is(err, tokens.ErrBadGrant) {
			t.Errorf("%s: %v, %v; want ErrBadGrant", body, g, err)
		}
	}
}
