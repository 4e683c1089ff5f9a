package sandbox_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/milligold/milligold-go/sandbox"
)

// TestTokenFormOddities pins how a token request's form is read now that the
// validated form is reused instead of parsed again: the first value of a
// repeated field counts, other fields and the query string are ignored, and
// a form that does not decode is a 400 (the same answers as with the second
// parse, checked side by side when the change was made).
func TestTokenFormOddities(t *testing.T) {
	sb, err := sandbox.New(sandbox.Default())
	if err != nil {
		t.Fatal(err)
	}
	id, sec := "partnerId="+sandbox.DefaultPartnerID, "partnerSecret="+sandbox.DefaultPartnerSecret
	tests := []struct {
		name, query, body string
		want              int
	}{
		{"plain", "", id + "&" + sec, 200},
		{"query names another partner", "?partnerId=x", id + "&" + sec, 200},
		{"repeated id, right one first", "", id + "&partnerId=x&" + sec, 200},
		{"repeated id, wrong one first", "", "partnerId=x&" + id + "&" + sec, 401},
		{"repeated id, wrong one first, query", "?partnerId=x", "partnerId=x&" + id + "&" + sec, 401},
		{"repeated secret, right one first", "", id + "&" + sec + "&partnerSecret=nope", 200},
		{"extra field", "", id + "&" + sec + "&extra=1", 200},
		{"empty secret", "", id + "&partnerSecret=", 400},
		{"missing secret", "?partnerSecret=x", id, 400},
		{"bad escape", "", "partnerId=%zz&" + sec, 400},
		{"semicolon", "", id + ";" + sec, 400},
		{"empty body", "?" + id + "&" + sec, "", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/partner/auth/token"+tt.query, strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			sb.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("POST /partner/auth/token%s %q = %d; want %d (%s)", tt.query, tt.body, w.Code, tt.want, w.Body)
			}
		})
	}
}
