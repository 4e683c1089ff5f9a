package main

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/milligold/milligold-go/sandbox"
	"github.com/milligold/milligold-go/sandbox/sandboxtest"
)

// TestUsageErrorsExit2: every way of asking for something that does not
// exist is a usage error, exit 2, with one line on stderr.
func TestUsageErrorsExit2(t *testing.T) {
	for _, tt := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"completion for an unknown shell", []string{"completion", "tcsh"}, `completion: no shell "tcsh"; want one of bash, fish, powershell, zsh`},
		{"help on an unknown topic", []string{"help", "nonexist"}, `no help topic "nonexist"`},
		{"help on an unknown subtopic", []string{"help", "rate", "extra"}, `no help topic "rate extra"`},
		{"sandbox with a nonsense address", []string{"sandbox", "--addr", "nonsense"}, `--addr "nonsense": want HOST:PORT`},
		{"token --raw with -o", []string{"token", "--raw", "-o", "table"}, "--raw prints the token alone"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runApp(nil, tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.wantErr) || strings.Count(stderr, "\n") != 1 {
				t.Errorf("milligold %s = %d, stderr %q; want %d and one line with %q", strings.Join(tt.args, " "), code, stderr, exitUsage, tt.wantErr)
			}
			if stdout != "" {
				t.Errorf("milligold %s printed %q on stdout; want nothing", strings.Join(tt.args, " "), stdout)
			}
		})
	}
	// What does exist still works.
	for _, args := range [][]string{{"help", "rate"}, {"completion", "zsh"}, {"completion"}, {"help"}} {
		if code, stdout, stderr := runApp(nil, args...); code != exitOK || stdout == "" {
			t.Errorf("milligold %s = %d, stderr %q; want 0 and output", strings.Join(args, " "), code, stderr)
		}
	}
}

func TestTokenRaw(t *testing.T) {
	sb := sandboxtest.New(t)
	code, stdout, stderr := runApp(map[string]string{envBaseURL: sb.URL}, "token", "--raw")
	if code != exitOK {
		t.Fatalf("milligold token --raw = %d, stderr %q", code, stderr)
	}
	tok := strings.TrimSuffix(stdout, "\n")
	if !strings.HasPrefix(tok, "eyJ") || strings.ContainsAny(tok, " \t\n") || !strings.HasSuffix(stdout, "\n") {
		t.Errorf("milligold token --raw printed %d bytes; want the token alone and a line break", len(stdout))
	}
}

// TestErrorAsJSON: with -o json a failure still puts a JSON object on
// stdout, so a script piping to jq gets an answer; stderr keeps the line.
func TestErrorAsJSON(t *testing.T) {
	sb := sandboxtest.New(t)
	code, stdout, stderr := runApp(map[string]string{envBaseURL: sb.URL}, "user", "9999999999", "-o", "json")
	if code != exitError || !strings.Contains(stderr, "user not found (404 Not Found, errorCode ") {
		t.Fatalf("milligold user 9999999999 -o json = %d, stderr %q; want 1 and the message", code, stderr)
	}
	var got struct {
		Error     string `json:"error"`
		Status    int    `json:"status"`
		ErrorCode string `json:"errorCode"`
		ExitCode  int    `json:"exitCode"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout %q is not a JSON object: %v", stdout, err)
	}
	if got.Status != 404 || got.ErrorCode == "" || got.ExitCode != exitError || !strings.HasPrefix(got.Error, "user not found") {
		t.Errorf("JSON error = %+v; want status 404, the errorCode, exit 1, the message", got)
	}
	// A usage error too, without an API status.
	code, stdout, _ = runApp(map[string]string{envBaseURL: sb.URL}, "user", "123", "-o", "json")
	if code != exitUsage || !strings.Contains(stdout, `"exitCode": 2`) || strings.Contains(stdout, `"status"`) {
		t.Errorf("milligold user 123 -o json = %d, stdout %q; want 2 and a JSON error without status", code, stdout)
	}
	// Table output keeps stdout empty on failure.
	if _, stdout, _ := runApp(map[string]string{envBaseURL: sb.URL}, "user", "9999999999"); stdout != "" {
		t.Errorf("milligold user 9999999999 printed %q on stdout; want nothing", stdout)
	}
}

// TestConformanceWrongCredentials: a wrong secret is one clear error, as
// rate gives it, not a table of failed cases blamed on the API.
func TestConformanceWrongCredentials(t *testing.T) {
	sb := sandboxtest.New(t)
	env := map[string]string{envBaseURL: sb.URL, envPartnerID: sandbox.DefaultPartnerID, envPartnerSecret: "not-the-secret"}
	_, _, rateErr := runApp(env, "rate")
	code, stdout, stderr := runApp(env, "conformance")
	// The same words but the errorCode, which is fresh per error.
	errorCode := regexp.MustCompile(`errorCode [0-9a-f-]+`)
	if code != exitError || errorCode.ReplaceAllString(stderr, "") != errorCode.ReplaceAllString(rateErr, "") ||
		!strings.Contains(stderr, "refused the partner credentials") {
		t.Errorf("milligold conformance (wrong secret) = %d, stderr %q; want 1 and rate's error %q", code, stderr, rateErr)
	}
	if strings.Contains(stdout, "fail") || strings.Contains(stdout, "FAIL") {
		t.Errorf("milligold conformance (wrong secret) printed cases:\n%s", stdout)
	}
}

// TestConformanceSpeaksCLI: skip reasons name the CLI's flags, not library
// fields, and a wait for a rate-limit window is announced on stderr.
func TestConformanceSpeaksCLI(t *testing.T) {
	sb := sandboxtest.New(t)
	env := map[string]string{envBaseURL: sb.URL}
	code, stdout, stderr := runApp(env, "conformance")
	if code != exitOK {
		t.Fatalf("milligold conformance = %d, stderr %q\n%s", code, stderr, stdout)
	}
	for _, want := range []string{"--include-faults", "--include-rate-limit", "not from the CLI"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("conformance table lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "Options.") {
		t.Errorf("conformance table names library fields:\n%s", stdout)
	}
	// The suite sleeps through Options.Sleep (tested in conformance); the CLI's
	// sleep says so on stderr.
	var errOut strings.Builder
	a := &app{stderr: &errOut}
	if err := a.announcedSleep(context.Background(), 1500*time.Microsecond); err != nil || !strings.Contains(errOut.String(), "conformance: waiting 0s for the rate-limit window") {
		t.Errorf("announcedSleep = %v, stderr %q; want the wait announced", err, errOut.String())
	}
}

// TestConformanceJSONIsOneDocument: a failed run with -o json prints its
// report and no second (error) object after it.
func TestConformanceJSONIsOneDocument(t *testing.T) {
	sb := sandboxtest.New(t)
	code, stdout, _ := runApp(map[string]string{envBaseURL: sb.URL}, "conformance", "-o", "json", "--mobile-number", "1111111111")
	if code != exitError {
		t.Fatalf("milligold conformance with an unknown user = %d; want 1", code)
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	var report, extra any
	if err := dec.Decode(&report); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if err := dec.Decode(&extra); err == nil {
		t.Errorf("stdout has a second JSON value after the report: %v", extra)
	}
}
