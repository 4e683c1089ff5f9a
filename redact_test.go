package milligold

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/milligold/milligold-go/internal/leak"
)

// TestOpaqueTokensAreRedacted: the spec calls tokens opaque, so one that
// looks nothing like a JWT and comes back in an error body is still
// removed from the error, by value.
func TestOpaqueTokensAreRedacted(t *testing.T) {
	const opaque = "tok-abc.def.ghi"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/auth/token") {
			w.Write([]byte(`{"success":true,"data":{"accessToken":"` + opaque + `","expiresIn":3600,"createdAt":1688994271}}`))
			return
		}
		w.WriteHeader(http.StatusTeapot)
		w.Write([]byte(`{"success":false,"error":"I am a teapot; you sent ` + r.Header.Get("Authorization") + `","errorCode":"` + opaque + `"}`))
	}))
	t.Cleanup(srv.Close)
	c, err := New(WithBaseURL(srv.URL+"/partner"), WithCredentials(fakePartnerID, testSecret), WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GoldRate(context.Background())
	if err == nil {
		t.Fatal("GoldRate with a 418 answer = nil error")
	}
	out := leak.Formats(err)
	if strings.Contains(out, opaque) {
		t.Errorf("the error carries the opaque token: %s", out)
	}
	if !strings.Contains(out, "I am a teapot") {
		t.Errorf("the error lost the API's message: %s", out)
	}
}

// TestSeenTokensBounded: the Client remembers its last maxSeenTokens
// tokens (far more than the 4 it once kept: a token held 5 renewals ago is
// still redacted), and ignores values too short to protect anything.
func TestSeenTokensBounded(t *testing.T) {
	var s seenTokens
	s.add("token-0-x")
	for i := range maxSeenTokens {
		s.add(fmt.Sprintf("token-%d-x", i+1))
		s.add(fmt.Sprintf("token-%d-x", i+1)) // the same one again: no new entry
	}
	s.add("abc")
	if len(s.vals) != maxSeenTokens || s.vals[0] != "token-1-x" {
		t.Errorf("seen holds %d tokens from %q; want the last %d distinct ones", len(s.vals), s.vals[0], maxSeenTokens)
	}
	last := fmt.Sprintf("token-%d-x", maxSeenTokens)
	if got := s.redact("token-0-x token-5-x " + last + " abc"); got != "token-0-x "+redacted+" "+redacted+" abc" {
		t.Errorf("redact = %q", got)
	}
}
