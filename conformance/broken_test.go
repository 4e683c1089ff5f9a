package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// mutated runs h, lets mutate change what h answered, and sends that on.
func mutated(h http.Handler, mutate func(r *http.Request, status int, header http.Header, body []byte) (int, []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		header := rec.Header().Clone()
		status, body := mutate(r, rec.Code, header, rec.Body.Bytes())
		for k, v := range header {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(status)
		w.Write(body)
	})
}

// editData changes the data object of a JSON envelope.
func editData(body []byte, edit func(map[string]any)) []byte {
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil {
		return body
	}
	if d, ok := env["data"].(map[string]any); ok {
		edit(d)
	}
	out, err := json.Marshal(env)
	if err != nil {
		return body
	}
	return out
}

// breakages are deliberate departures from the spec, each with the case it
// must fail and the violation that case must name.
var breakages = []struct {
	name     string
	mutate   func(r *http.Request, status int, header http.Header, body []byte) (int, []byte)
	wantCase string
	want     string // in the case's first violation or error
}{
	{
		name: "gold rate as a string",
		mutate: func(r *http.Request, status int, _ http.Header, body []byte) (int, []byte) {
			if strings.HasSuffix(r.URL.Path, "/gold/rate") && status == 200 {
				body = editData(body, func(d map[string]any) { d["rate"] = fmt.Sprint(d["rate"]) })
			}
			return status, body
		},
		wantCase: "GET /gold/rate: 200",
		want:     "response GET /gold/rate 200: response body doesn't match schema #/components/schemas/GoldRateResponse: /data/rate: value must be a number",
	},
	{
		name: "429 without X-Rate-Limit-Reset",
		mutate: func(_ *http.Request, status int, header http.Header, body []byte) (int, []byte) {
			if status == 429 {
				header.Del("X-Rate-Limit-Reset")
			}
			return status, body
		},
		wantCase: "GET /gold/rate: 429 (request after the limit)",
		want:     `response GET /gold/rate 429: response header "X-Rate-Limit-Reset" missing`,
	},
	{
		name: "404 without errorCode",
		mutate: func(_ *http.Request, status int, _ http.Header, body []byte) (int, []byte) {
			if status == 404 {
				body = []byte(`{"success":false,"error":"not found"}`)
			}
			return status, body
		},
		wantCase: "GET /user/info/{mobileNumber}: 404",
		want:     `/errorCode: property "errorCode" is missing`,
	},
	{
		name: "expiresIn as a string",
		mutate: func(r *http.Request, status int, _ http.Header, body []byte) (int, []byte) {
			if strings.HasSuffix(r.URL.Path, "/auth/token") && status == 200 {
				body = editData(body, func(d map[string]any) { d["expiresIn"] = fmt.Sprint(d["expiresIn"]) })
			}
			return status, body
		},
		wantCase: "POST /auth/token: 200",
		want:     "/data/expiresIn: value must be an integer",
	},
	{
		name: "401 as 403",
		mutate: func(_ *http.Request, status int, _ http.Header, body []byte) (int, []byte) {
			if status == 401 {
				status = 403
			}
			return status, body
		},
		wantCase: "POST /auth/token: 401 (wrong secret)",
		want:     "response POST /auth/token 403: status is not supported",
	},
	{
		name: "unknown user found",
		mutate: func(r *http.Request, status int, _ http.Header, body []byte) (int, []byte) {
			if status == 404 {
				return 200, []byte(`{"success":true,"data":{"id":"u2","name":"","email":"","countryCode":"91","mobileNumber":"9999999999","gender":"","upiId":"","goldBalance":0}}`)
			}
			return status, body
		},
		wantCase: "GET /user/info/{mobileNumber}: 404",
		want:     "status 200; want 404",
	},
}

// TestBrokenSandboxFailsANamedCase: the sandbox's handler, broken on
// purpose, makes the named case fail with the violation.
func TestBrokenSandboxFailsANamedCase(t *testing.T) {
	for _, b := range breakages {
		t.Run(b.name, func(t *testing.T) {
			target, opts := onSandbox(t, func(h http.Handler) http.Handler { return mutated(h, b.mutate) })
			rep := Run(context.Background(), target, opts)
			if rep.Passed() {
				t.Fatal("the suite passed against a broken API")
			}
			for _, c := range rep.Cases {
				if c.Name != b.wantCase {
					continue
				}
				if c.Result != Fail || !strings.Contains(c.Detail(), b.want) {
					t.Errorf("%s: %s, %q; want fail naming %q", c.Name, c.Result, c.Detail(), b.want)
				}
				return
			}
			t.Errorf("no case named %q", b.wantCase)
		})
	}
}

// TestExtraResponseFieldsTolerated: a response that gains fields, as the
// document allows, fails no case.
func TestExtraResponseFieldsTolerated(t *testing.T) {
	target, opts := onSandbox(t, func(h http.Handler) http.Handler {
		return mutated(h, func(_ *http.Request, status int, _ http.Header, body []byte) (int, []byte) {
			var env map[string]any
			if json.Unmarshal(body, &env) != nil {
				t.Errorf("the API answered %d with a body that is not JSON", status)
				return status, body
			}
			env["requestId"] = "r1"
			body, _ = json.Marshal(env)
			return status, editData(body, func(d map[string]any) { d["newField"] = []int{1, 2} })
		})
	})
	rep := Run(context.Background(), target, opts)
	for _, c := range rep.Cases {
		if c.Result != Pass {
			t.Errorf("%s: %s: %s", c.Name, c.Result, c.Detail())
		}
	}
}
