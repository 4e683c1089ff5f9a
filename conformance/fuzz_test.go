package conformance

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// replay answers with whatever the fuzzer chose, without a network.
type replay struct {
	status int
	header http.Header
	body   []byte
}

func (r replay) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		req.Body.Close()
	}
	return &http.Response{StatusCode: r.status, Header: r.header, Body: io.NopCloser(bytes.NewReader(r.body)), Request: req}, nil
}

// FuzzTransportResponse: whatever a server answers, the Transport neither
// panics nor alters the body the caller reads, and no violation carries the
// credentials of the request.
func FuzzTransportResponse(f *testing.F) {
	seeds := []struct {
		path, contentType, limit, body string
		status                         int
	}{
		{"/gold/rate", "application/json", "", goodRate, 200},
		{"/gold/rate", "application/json", "10", goodError, 429},
		{"/gold/rate", "text/plain", "x", "nope", 401},
		{"/user/info/1234567890", "application/json", "", `{"success":true,"data":{"id":1}}`, 200},
		{"/user/info/12ab", "application/json", "", `[`, 400},
		{"/auth/token", "application/json", "", `{"success":true,"data":{"accessToken":"` + token + `","expiresIn":"1"}}`, 200},
		{"/nowhere", "application/json; charset=utf-8", "-1", `{"success":false}`, 503},
		{"/x/" + token + "/" + secret, "application/json", "", `{}`, 200}, // no route: the path is echoed
	}
	for _, s := range seeds {
		f.Add(s.path, s.contentType, s.limit, s.body, s.status)
	}
	v, err := NewValidator("/partner")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, path, contentType, limit, body string, status int) {
		if status < 100 || status > 999 {
			return
		}
		header := http.Header{"Content-Type": {contentType}, "X-Rate-Limit-Limit": {limit}, PrismViolationsHeader: {body}}
		tr := &Transport{base: replay{status, header, []byte(body)}, v: v, seen: map[Pair]bool{}}
		req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:1/partner"+path,
			strings.NewReader("partnerId=p1&partnerSecret="+secret))
		if err != nil {
			return // not a URL path
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("RoundTrip: %v", err)
		}
		got, _ := io.ReadAll(resp.Body)
		if string(got) != body {
			t.Fatalf("body = %q; want %q", got, body)
		}
		for _, v := range tr.Violations() {
			if strings.Contains(v.String(), secret) || strings.Contains(v.String(), token) {
				t.Fatalf("violation %q carries a credential", v)
			}
		}
	})
}
