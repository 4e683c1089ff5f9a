package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/milligold/milligold-go/gen/api"
)

// visit runs a response object's generated or hand-made Visit method.
func visit(t *testing.T, resp any) (http.Header, []byte) {
	t.Helper()
	w := httptest.NewRecorder()
	var err error
	switch r := resp.(type) {
	case api.CreateAccessTokenResponseObject:
		err = r.VisitCreateAccessTokenResponse(w)
	case api.GetGoldRateResponseObject:
		err = r.VisitGetGoldRateResponse(w)
	case api.GetUserInfoResponseObject:
		err = r.VisitGetUserInfoResponse(w)
	default:
		t.Fatalf("%T is no response object", resp)
	}
	if err != nil || w.Code != http.StatusOK {
		t.Fatalf("%T: status %d, %v", resp, w.Code, err)
	}
	return w.Header(), w.Body.Bytes()
}

// TestPreEncodedAnswersMatchGenerated holds the answers encoded in advance
// (gold rate, users) and from the token template to what the generated
// response types write for the same data, byte for byte and header for header.
func TestPreEncodedAnswersMatchGenerated(t *testing.T) {
	cfg := Default()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	same := func(name string, ours, generated any) {
		t.Helper()
		h1, b1 := visit(t, ours)
		h2, b2 := visit(t, generated)
		if !bytes.Equal(b1, b2) || h1.Get("Content-Type") != h2.Get("Content-Type") || len(h1) != len(h2) {
			t.Errorf("%s: pre-encoded %q %v; generated %q %v", name, b1, h1, b2, h2)
		}
	}
	w := s.world
	if w.rateAnswer == nil {
		t.Fatal("no pre-encoded gold rate")
	}
	same("gold rate", w.rateAnswer, api.GetGoldRate200JSONResponse{Success: true, Data: w.rate})
	if len(w.userAnswers) != len(w.users) || len(w.users) == 0 {
		t.Fatalf("%d pre-encoded users for %d users", len(w.userAnswers), len(w.users))
	}
	for n, u := range w.users {
		same("user "+n, w.userAnswers[n], api.GetUserInfo200JSONResponse{Success: true, Data: u})
	}

	for i, tok := range []string{"eyJhbGciOiJIUzI1NiJ9.eyJ4IjoxfQ.sig-_x", "a.b.c", ""} {
		for _, created := range []int64{1767268800, 1767268801, 1767268801, 0} {
			resp := api.CreateAccessToken200JSONResponse{Success: true, Data: api.AccessToken{AccessToken: tok, ExpiresIn: 3600, CreatedAt: created}}
			got := s.tokenAnswer(resp)
			if _, templated := got.(tokenAnswer); !templated {
				t.Errorf("token %d created %d: not from the template", i, created)
			}
			if d, ok := tokenIssued(got); !ok || d != resp.Data {
				t.Errorf("tokenIssued(token %d answer) = %+v, %v; want %+v", i, d, ok, resp.Data)
			}
			same("token answer", got, resp)
		}
	}
	// A token that would need escaping takes the generated path.
	odd := api.CreateAccessToken200JSONResponse{Success: true, Data: api.AccessToken{AccessToken: `a"<b>`, ExpiresIn: 1, CreatedAt: time.Now().Unix()}}
	if got := s.tokenAnswer(odd); got != api.CreateAccessTokenResponseObject(odd) {
		t.Errorf("token needing escapes: got %T; want the generated response", got)
	}
	var env api.TokenResponse
	_, b := visit(t, s.tokenAnswer(api.CreateAccessToken200JSONResponse{Success: true, Data: api.AccessToken{AccessToken: "x.y.z", ExpiresIn: 60, CreatedAt: 7}}))
	if err := json.Unmarshal(b, &env); err != nil || env.Data.AccessToken != "x.y.z" || env.Data.CreatedAt != 7 || env.Data.ExpiresIn != 60 || !env.Success {
		t.Errorf("token answer %q decodes to %+v, %v", b, env, err)
	}
}
