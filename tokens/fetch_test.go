package tokens_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/milligold/milligold-go/gen/api"
	"github.com/milligold/milligold-go/gen/middleware"
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
