package milligold

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/milligold/milligold-go/gen/api"
)

// FuzzReadAnswer: whatever status, media type and body a server sends,
// readAnswer returns nil only for the documented answer (200, JSON, success
// true, every required field present and not null) and otherwise a typed
// error that does not carry the secret; it never panics.
func FuzzReadAnswer(f *testing.F) {
	for _, seed := range []struct {
		status int
		ct     string
		body   string
	}{
		{200, "application/json", `{"success":true,"data":{"rate":1111,"cgstRate":0.015,"sgstRate":0.015,"updatedAt":"2023-01-05T09:17:03.459Z"}}`},
		{200, "application/json; charset=utf-8", `{"success":true,"data":{"rate":0,"cgstRate":0,"sgstRate":0,"updatedAt":"0001-01-01T00:00:00Z"}}`},
		{200, "application/json", `{"success":true,"data":{"rate":null,"cgstRate":0.015,"sgstRate":0.015,"updatedAt":"2023-01-05T09:17:03.459Z"}}`},
		{200, "application/json", `{"success":false,"error":"` + testSecret + `"}`},
		{200, "text/html", `<html>`},
		{201, "application/json", `{}`},
		{302, "", ``},
		{429, "text/plain", `slow`},
		{200, "application/json", `null`},
		{200, "application/json", `{"success":true,"data":[]}`},
	} {
		f.Add(seed.status, seed.ct, seed.body)
	}
	c, err := New(WithCredentials("p1", testSecret))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, status int, ct, body string) {
		if status < 100 || status > 999 {
			return
		}
		h := http.Header{}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		if status >= 300 && status < 400 {
			h.Set("Location", "/elsewhere?"+body)
		}
		resp := &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body)),
			Request: &http.Request{URL: c.base}}
		var dst api.GoldRateResponse
		err := c.readAnswer(opGetGoldRate, resp, &dst)
		// A GET's body comes read already (readTransport's bufferedBody):
		// the same answer, the same outcome.
		buffered := &http.Response{StatusCode: status, Header: h, Body: newBufferedBody([]byte(body)),
			Request: &http.Request{URL: c.base}}
		var dst2 api.GoldRateResponse
		err2 := c.readAnswer(opGetGoldRate, buffered, &dst2)
		if fmt.Sprint(err) != fmt.Sprint(err2) || !reflect.DeepEqual(dst, dst2) {
			t.Fatalf("readAnswer of a read body = %v, %+v; of a plain reader %v, %+v", err2, dst2, err, dst)
		}
		if err == nil {
			reason, _ := checkEnvelope([]byte(body), &dst)
			if status != 200 || !isJSON(ct) || reason != "" {
				t.Fatalf("readAnswer(%d, %q, %q) = nil; want an error (%s)", status, ct, body, reason)
			}
			return
		}
		var ae *APIError
		var ue *UnexpectedResponseError
		var re *RedirectError
		var ce *callError
		if !errors.As(err, &ae) && !errors.As(err, &ue) && !errors.As(err, &re) && !errors.As(err, &ce) {
			t.Fatalf("readAnswer = %v (%T); want a typed error", err, err)
		}
		if strings.Contains(err.Error(), testSecret) || (ue != nil && strings.Contains(ue.Body+ue.Reason, testSecret)) ||
			(ae != nil && strings.Contains(ae.Body+ae.Message, testSecret)) || (re != nil && strings.Contains(re.Location, testSecret)) {
			t.Fatalf("readAnswer's error carries the secret: %v", err)
		}
	})
}
