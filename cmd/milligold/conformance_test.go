package main

import (
	"bytes"
	"strings"
	"testing"
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
		{"no base URL", creds, nil, "no base URL: pass --base-url or set MILLIGOLD_BASE_URL"},
		{"no secret", map[string]string{envPartnerID: "p1"}, []string{"--base-url", "http://127.0.0.1:1/partner"},
			"no credentials: pass --partner-id (or set MILLIGOLD_PARTNER_ID) and set MILLIGOLD_PARTNER_SECRET"},
		{"no partner id", map[string]string{envPartnerSecret: secret}, []string{"--base-url", "http://127.0.0.1:1/partner"}, "no credentials"},
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

// TestConformanceBadBaseURL: a base URL the suite cannot use is an error,
// not a pass.
func TestConformanceBadBaseURL(t *testing.T) {
	code, stdout, stderr := runConformance(map[string]string{envPartnerID: "p1", envPartnerSecret: "s"}, "--base-url", "127.0.0.1:8080/partner")
	if code != exitError || !strings.Contains(stderr, "is not an http(s) URL") {
		t.Errorf("exit code %d, stdout %q, stderr %q; want %d and the reason", code, stdout, stderr, exitError)
	}
}
