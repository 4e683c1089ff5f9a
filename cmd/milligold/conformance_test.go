package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
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
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	// The counts are the three original operations' plus the rows of any
	// operation added to the spec since (all derived cases; only their 429s
	// may go unexercised, like the originals').
	added := addedRows(stdout)
	if added["fail"] != 0 {
		t.Errorf("%d cases of added operations failed:\n%s", added["fail"], stdout)
	}
	sum := regexp.MustCompile(`(?m)(\d+) passed, (\d+) failed, (\d+) skipped; not exercised: (.*)$`).FindStringSubmatch(stdout)
	if sum == nil {
		t.Fatalf("no summary line:\n%s", stdout)
	}
	var others []string
	for _, p := range strings.Split(sum[4], ", ") {
		if isOriginal(p) {
			others = append(others, p)
		} else if !strings.HasSuffix(p, ": 429") {
			t.Errorf("%s not exercised; an added operation's pairs but 429 are derived", p)
		}
	}
	if want := fmt.Sprintf("%d %d %d %s", 16+added["pass"], 0, 5+added["skip"], "GET /gold/rate: 429, GET /user/info/{mobileNumber}: 429, POST /auth/token: 429"); strings.Join(append(sum[1:4], strings.Join(others, ", ")), " ") != want {
		t.Errorf("summary %q; want passed, failed, skipped and the original operations' not exercised pairs: %s (added operations' rows: %v)", sum[0], want, added)
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
	addedPass := 0
	for _, c := range rep.Cases {
		if !isOriginal(c.Name) && c.Result == conformance.Pass {
			addedPass++
		}
	}
	if !rep.Passed() || rep.Count(conformance.Pass) != 13+addedPass || rep.BaseURL != sb.URL {
		t.Errorf("-o json: passed %v, %d passes, base %q; want true, 13 (+%d of added operations), %q", rep.Passed(), rep.Count(conformance.Pass), rep.BaseURL, addedPass, sb.URL)
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
	// The column widths follow the longest case name, which an operation
	// added to the spec may change.
	want := regexp.MustCompile(`(?m)^GET /user/info/\{mobileNumber\}: 404 +fail +` + regexp.QuoteMeta(`response GET /user/info/{mobileNumber} 404: response body doesn't match schema #/components/schemas/ErrorResponse: /errorCode: property "errorCode" is missing`) + `$`)
	if !want.MatchString(stdout) {
		t.Errorf("table lacks %s:\n%s", want, stdout)
	}
	added := addedRows(stdout)
	if want := fmt.Sprintf("conformance: 1 of %d cases failed", 21+added["pass"]+added["skip"]+added["fail"]); !strings.Contains(stderr, want) || added["fail"] != 0 {
		t.Errorf("stderr = %q; want %q (the count of failed cases), and no added operation's case failing (%v)", stderr, want, added)
	}
}

// isOriginal reports whether a case or pair name is of the three operations
// the counts above were written for.
func isOriginal(name string) bool {
	for _, op := range []string{"POST /auth/token:", "GET /gold/rate:", "GET /user/info/{mobileNumber}:"} {
		if strings.HasPrefix(name, op) {
			return true
		}
	}
	return false
}

var caseRow = regexp.MustCompile(`(?m)^([A-Z]+ /\S*: \d{3}.*?)  +(pass|fail|skip)\b`)

// addedRows counts by result the table's rows of operations added to the
// spec after the original three (derived cases).
func addedRows(table string) map[string]int {
	n := map[string]int{}
	for _, m := range caseRow.FindAllStringSubmatch(table, -1) {
		if !isOriginal(m[1]) {
			n[m[2]]++
		}
	}
	return n
}
