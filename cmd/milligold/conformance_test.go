package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/milligold/milligold-go/conformance"
	"github.com/milligold/milligold-go/sandbox"
	"github.com/milligold/milligold-go/sandbox/sandboxtest"
)

// runConformance runs the milligold command with env as its environment.
func runConformance(env map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] }}
	code = a.run(append([]string{"conformance"}, args...))
	return code, out.String(), errOut.String()
}

func TestConformanceUsage(t *testing.T) {
	const secret = "s3cr3t-Partner-Value"
	creds := map[string]string{envPartnerID: "p1", envPartnerSecret: secret}
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"no secret", map[string]string{envPartnerID: "p1"}, []string{"--base-url", "http://127.0.0.1:1/partner"},
			"no partner secret: set MILLIGOLD_PARTNER_SECRET or pass --partner-secret-file"},
		{"no partner id", map[string]string{envPartnerSecret: secret}, []string{"--base-url", "http://127.0.0.1:1/partner"},
			"no partner ID: pass --partner-id or set MILLIGOLD_PARTNER_ID"},
		{"no credentials for a remote API", nil, []string{"--base-url", "https://api.example.com/partner"},
			"no credentials for https://api.example.com/partner"},
		{"base URL without a scheme", creds, []string{"--base-url", "127.0.0.1:8080/partner"},
			`--base-url "127.0.0.1:8080/partner": want an http(s) URL`},
		{"bad base URL from the environment", map[string]string{envBaseURL: "ftp://x/partner", envPartnerID: "p1", envPartnerSecret: secret}, nil,
			`MILLIGOLD_BASE_URL "ftp://x/partner": want an http(s) URL`},
		{"missing secret file", creds, []string{"--base-url", "http://127.0.0.1:1/partner", "--partner-secret-file", "/nonexistent/secret"},
			"--partner-secret-file: open /nonexistent/secret: no such file or directory"},
		{"bad output", creds, []string{"--base-url", "http://127.0.0.1:1/partner", "-o", "yaml"}, `-o "yaml": want table or json`},
		{"bad timeout", creds, []string{"--base-url", "http://127.0.0.1:1/partner", "--timeout", "-1s"}, "--timeout -1s: want a positive duration"},
		{"unknown flag", creds, []string{"--base-url", "http://127.0.0.1:1/partner", "--include-everything"}, "unknown flag: --include-everything"},
		{"an argument", creds, []string{"http://127.0.0.1:1/partner"}, `conformance takes no arguments ("http://127.0.0.1:1/partner"); pass the URL with --base-url`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runConformance(tt.env, tt.args...)
			if code != exitUsage {
				t.Errorf("exit code = %d; want %d (stderr %q)", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr = %q; want it to contain %q", stderr, tt.wantErr)
			}
			if strings.Contains(stdout+stderr, secret) {
				t.Error("the output carries the partner secret")
			}
		})
	}
}

func TestConformanceAgainstSandbox(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithFaults())
	env := map[string]string{envPartnerID: sb.PartnerID, envPartnerSecret: sb.PartnerSecret}

	code, stdout, stderr := runConformance(env, "--base-url", sb.URL, "--include-faults")
	if code != exitOK {
		t.Fatalf("exit code = %d; want 0\nstdout:\n%s\nstderr: %s", code, stdout, stderr)
	}
	for _, want := range []string{
		"CASE ", "RESULT", "FIRST VIOLATION",
		"GET /user/info/{mobileNumber}: 404    ",
		"GET /gold/rate: 500 (injected fault)  ",
		"16 passed, 0 failed, 5 skipped; not exercised: GET /gold/rate: 429, GET /user/info/{mobileNumber}: 429, POST /auth/token: 429\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}

	// A fresh sandbox (the first run spent most of its partner's window), and
	// nothing configured: on loopback that means the sandbox's own partner.
	sb = sandboxtest.New(t)
	code, stdout, stderr = runConformance(nil, "--base-url", sb.URL, "-o", "json")
	if code != exitOK {
		t.Fatalf("-o json: exit code = %d; want 0 (stderr %q)", code, stderr)
	}
	var rep conformance.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("-o json output does not decode: %v\n%s", err, stdout)
	}
	if !rep.Passed() || rep.Count(conformance.Pass) != 13 || rep.BaseURL != sb.URL {
		t.Errorf("-o json: passed %v, %d passes, base %q; want true, 13, %q", rep.Passed(), rep.Count(conformance.Pass), rep.BaseURL, sb.URL)
	}
	if strings.Contains(stdout+stderr, sb.PartnerSecret) {
		t.Error("the output carries the partner secret")
	}
}

// TestConformanceAgainstBrokenSandbox: a 404 without errorCode makes the
// command exit 1 and name the case and the violation.
func TestConformanceAgainstBrokenSandbox(t *testing.T) {
	sb := sandboxtest.New(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		sb.Handler.ServeHTTP(rec, r)
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		body := rec.Body.Bytes()
		if rec.Code == http.StatusNotFound {
			body = []byte(`{"success":false,"error":"not found"}`)
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	env := map[string]string{envPartnerID: sb.PartnerID, envPartnerSecret: sb.PartnerSecret}
	code, stdout, stderr := runConformance(env, "--base-url", srv.URL+sandbox.BasePath)
	if code != exitError {
		t.Errorf("exit code = %d; want %d", code, exitError)
	}
	want := `GET /user/info/{mobileNumber}: 404                     fail    response GET /user/info/{mobileNumber} 404: response body doesn't match schema #/components/schemas/ErrorResponse: /errorCode: property "errorCode" is missing`
	if !strings.Contains(stdout, want) {
		t.Errorf("table lacks %q:\n%s", want, stdout)
	}
	if !strings.Contains(stderr, "conformance: 1 of 21 cases failed") {
		t.Errorf("stderr = %q; want the count of failed cases", stderr)
	}
}
