package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	milligold "github.com/milligold/milligold-go"
	"github.com/milligold/milligold-go/internal/leak"
	"github.com/milligold/milligold-go/sandbox"
	"github.com/milligold/milligold-go/sandbox/sandboxtest"
)

// runApp runs the milligold command with env as its whole environment.
func runApp(env map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] }}
	code = a.run(args)
	return code, out.String(), errOut.String()
}

// closedURL is a loopback base URL nothing listens on.
func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://" + l.Addr().String() + "/partner"
}

func TestAPICommands(t *testing.T) {
	// One roomy sandbox for the many cases; each run spends two requests.
	sb := sandboxtest.New(t, sandboxtest.WithConfig(func(c *sandbox.Config) { c.RateLimit.Requests = 1000 }))
	limited := sandboxtest.New(t, sandboxtest.WithConfig(func(c *sandbox.Config) { c.RateLimit.Requests = 1 }))
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, []byte(sandbox.DefaultPartnerSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bigFile, emptyFile := filepath.Join(dir, "big"), filepath.Join(dir, "empty")
	if err := os.WriteFile(bigFile, bytes.Repeat([]byte("s"), 5000), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(emptyFile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const wrongSecret = "not-the-Sandbox-secret"
	base := map[string]string{envBaseURL: sb.URL}
	withCreds := func(secret string) map[string]string {
		return map[string]string{envBaseURL: sb.URL, envPartnerID: sandbox.DefaultPartnerID, envPartnerSecret: secret}
	}
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantCode int
		wantOut  []string // substrings of stdout
		wantErr  string   // substring of stderr
	}{
		{name: "rate, nothing configured but the URL", env: base, args: []string{"rate"}, wantOut: []string{
			"Rate           1111.00 per gram\n", "CGST           1.5%\n", "SGST           1.5%\n", "Rate with GST  1144.33 per gram\n", "Updated at     2023-01-05T09:17:03Z\n"}},
		{name: "rate json", env: base, args: []string{"rate", "-o", "json"}, wantOut: []string{`"rate": 1111,`, `"cgstRate": 0.015,`, `"rateWithGst": 1144.33`, `"updatedAt": "2023-01-05T09:17:03.459Z"`}},
		{name: "rate via --base-url", args: []string{"rate", "--base-url", sb.URL}, wantOut: []string{"1144.33"}},
		{name: "user", env: base, args: []string{"user", "1234567890"}, wantOut: []string{
			"ID             cljwvd2x20001mm0gg0a9z5px\n", "Name           Test User\n", "Mobile number  1234567890\n", "Gender         MALE\n", "Birthday       -\n", "UPI ID         milligold.911234567890@icici\n", "Gold balance   0\n"}},
		{name: "user json keeps nulls", env: base, args: []string{"user", "1234567890", "-o", "json"}, wantOut: []string{`"birthday": null`, `"gender": "MALE"`, `"goldBalance": 0`}},
		{name: "user not found", env: base, args: []string{"user", "9999999999"}, wantCode: exitError, wantErr: "milligold: user not found (404 Not Found, errorCode "},
		{name: "token", env: base, args: []string{"token"}, wantOut: []string{"Access token  eyJ", "Expires in    1h0m0s\n"}},
		{name: "token json", env: base, args: []string{"token", "-o", "json"}, wantOut: []string{`"accessToken": "eyJ`, `"expiresIn": 3600`}},
		{name: "credentials from env", env: withCreds(sandbox.DefaultPartnerSecret), args: []string{"rate"}, wantOut: []string{"1144.33"}},
		{name: "secret from file", env: map[string]string{envPartnerID: sandbox.DefaultPartnerID}, args: []string{"rate", "--base-url", sb.URL, "--partner-secret-file", secretFile}, wantOut: []string{"1144.33"}},
		{name: "wrong secret", env: withCreds(wrongSecret), args: []string{"rate"}, wantCode: exitError,
			wantErr: "the API refused the partner credentials (401 Unauthorized, errorCode "},
		{name: "rate limited", env: map[string]string{envBaseURL: limited.URL}, args: []string{"rate", "--max-retries", "0"}, wantCode: exitError, wantErr: "milligold: rate limited; retry after 2"},
		{name: "sandbox down", env: map[string]string{envBaseURL: closedURL(t)}, args: []string{"rate"}, wantCode: exitError,
			wantErr: "connection refused; start the sandbox with 'milligold sandbox', or pass --base-url"},
		{name: "production needs credentials", args: []string{"rate", "--base-url", "production"}, wantCode: exitUsage,
			wantErr: "no credentials for https://api.milligold.in/partner: pass --partner-id (or set MILLIGOLD_PARTNER_ID) and set MILLIGOLD_PARTNER_SECRET (or pass --partner-secret-file)"},
		{name: "partner ID without secret", env: map[string]string{envBaseURL: sb.URL, envPartnerID: "p"}, args: []string{"rate"}, wantCode: exitUsage, wantErr: "no partner secret: set MILLIGOLD_PARTNER_SECRET or pass --partner-secret-file"},
		{name: "secret without partner ID", env: map[string]string{envBaseURL: sb.URL, envPartnerSecret: wrongSecret}, args: []string{"rate"}, wantCode: exitUsage, wantErr: "no partner ID"},
		{name: "missing secret file", env: base, args: []string{"rate", "--partner-secret-file", filepath.Join(dir, "nope")}, wantCode: exitUsage, wantErr: "--partner-secret-file: open "},
		{name: "secret file is a directory", env: base, args: []string{"rate", "--partner-secret-file", dir}, wantCode: exitUsage, wantErr: "not a regular file"},
		{name: "secret file is a device", env: base, args: []string{"rate", "--partner-secret-file", os.DevNull}, wantCode: exitUsage, wantErr: "/dev/null: not a regular file"},
		{name: "secret file too large", env: base, args: []string{"rate", "--partner-secret-file", bigFile}, wantCode: exitUsage, wantErr: "larger than 4096 bytes"},
		{name: "secret file empty", env: base, args: []string{"rate", "--partner-secret-file", emptyFile}, wantCode: exitUsage, wantErr: "the file is empty"},
		{name: "bad base URL", args: []string{"rate", "--base-url", "staging"}, wantCode: exitUsage, wantErr: `--base-url "staging": want an http(s) URL`},
		{name: "bad base URL from env", env: map[string]string{envBaseURL: "ftp://x/partner"}, args: []string{"rate"}, wantCode: exitUsage, wantErr: `MILLIGOLD_BASE_URL "ftp://x/partner"`},
		{name: "bad output", env: base, args: []string{"rate", "-o", "yaml"}, wantCode: exitUsage, wantErr: `-o "yaml": want table or json`},
		{name: "bad timeout", env: base, args: []string{"user", "1234567890", "--timeout", "0s"}, wantCode: exitUsage, wantErr: "--timeout 0s: want a positive duration"},
		{name: "negative retries", env: base, args: []string{"rate", "--max-retries", "-1"}, wantCode: exitUsage, wantErr: "--max-retries -1"},
		{name: "user without number", env: base, args: []string{"user"}, wantCode: exitUsage, wantErr: "user takes one mobile number"},
		{name: "user bad number", env: base, args: []string{"user", "+91123"}, wantCode: exitUsage, wantErr: `mobile number "+91123": want ten digits`},
		{name: "rate with an argument", env: base, args: []string{"rate", "now"}, wantCode: exitUsage, wantErr: `rate takes no arguments; got "now"`},
		{name: "unknown flag", env: base, args: []string{"rate", "--partner-secret", "x"}, wantCode: exitUsage, wantErr: "unknown flag: --partner-secret"},
		{name: "unknown command", args: []string{"rates"}, wantCode: exitUsage, wantErr: `unknown command "rates"; did you mean "rate"?`},
		{name: "unknown command, no suggestion", args: []string{"xyzzy"}, wantCode: exitUsage, wantErr: `unknown command "xyzzy"; run 'milligold help' for the list`},
		{name: "version", args: []string{"version"}, wantOut: []string{"Version", "Go  "}},
		{name: "version json", args: []string{"version", "-o", "json"}, wantOut: []string{`"version": `, `"go": "go`}},
		{name: "help", args: []string{"help"}, wantOut: []string{"token", "rate", "user", "sandbox", "conformance", "version", "completion"}},
		{name: "help user", args: []string{"help", "user"}, wantOut: []string{"milligold user MOBILE", "--partner-secret-file"}},
		{name: "no arguments shows help", args: nil, wantOut: []string{"Available Commands:"}},
		{name: "bash completion", args: []string{"completion", "bash"}, wantOut: []string{"bash completion"}},
		{name: "flag value completion", args: []string{"__complete", "rate", "--base-url", ""}, wantOut: []string{"local\n", "hosted-sandbox\n", "production\n"}},
		{name: "hosted sandbox needs credentials", args: []string{"rate", "--base-url", "hosted-sandbox"}, wantCode: exitUsage,
			wantErr: "no credentials for https://api-sandbox.milligold.in/partner"},
		{name: "help names the base URLs", args: []string{"help", "rate"}, wantOut: []string{"local, hosted-sandbox or production", "--max-retries int", "(default 2)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runApp(tt.env, tt.args...)
			if code != tt.wantCode {
				t.Errorf("milligold %s: exit %d; want %d (stderr %q)", strings.Join(tt.args, " "), code, tt.wantCode, stderr)
			}
			for _, want := range tt.wantOut {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, stdout)
				}
			}
			if tt.wantErr != "" && !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr = %q; want it to contain %q", stderr, tt.wantErr)
			}
			if tt.wantCode != exitOK && strings.Count(stderr, "\n") != 1 {
				t.Errorf("stderr has %d lines; want one:\n%s", strings.Count(stderr, "\n"), stderr)
			}
			// Secrets: never on stderr; on stdout only the token the
			// token command was asked for.
			leak.Check(t, "stderr", stderr, sandbox.DefaultPartnerSecret, wrongSecret)
			if tt.args == nil || tt.args[0] != "token" {
				leak.Check(t, "stdout", stdout, sandbox.DefaultPartnerSecret, wrongSecret)
			}
		})
	}
}

// TestRateJSONIsTheRate: -o json is for scripts, so it must decode.
func TestRateJSONIsTheRate(t *testing.T) {
	sb := sandboxtest.New(t)
	code, stdout, stderr := runApp(map[string]string{envBaseURL: sb.URL}, "rate", "-o", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Rate, CgstRate, SgstRate, RateWithGst float64
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if got.Rate != 1111 || got.RateWithGst != 1111*1.03 {
		t.Errorf("rate, rateWithGst = %v, %v; want 1111, %v", got.Rate, got.RateWithGst, 1111*1.03)
	}
}

// TestRun drives main's run with the process's environment cleared: the
// documented no-setup path, pointed at a test sandbox.
func TestRun(t *testing.T) {
	for _, k := range []string{envBaseURL, envPartnerID, envPartnerSecret} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	sb := sandboxtest.New(t)
	var out, errOut bytes.Buffer
	if code := run([]string{"user", "1234567890", "--base-url", sb.URL}, strings.NewReader(""), &out, &errOut); code != exitOK {
		t.Fatalf("run(user) = %d; want 0 (stderr %q)", code, errOut.String())
	}
	if !strings.Contains(out.String(), "Test User") {
		t.Errorf("stdout = %q; want the document's user", out.String())
	}
	out.Reset()
	errOut.Reset()
	if code := run([]string{"user", "9999999999", "--base-url", sb.URL}, strings.NewReader(""), &out, &errOut); code != exitError {
		t.Errorf("run(user 9999999999) = %d; want %d", code, exitError)
	}
	if !strings.Contains(errOut.String(), "user not found") {
		t.Errorf("stderr = %q; want a not-found message", errOut.String())
	}
}

// TestTerminalSafeTable: values from the API cannot drive the terminal.
func TestTerminalSafeTable(t *testing.T) {
	var b bytes.Buffer
	if err := writeTable(&b, []row{{"Name", "Eve\x1b[2J\nforged line\t"}}); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); strings.ContainsAny(got[:len(got)-1], "\x1b\n\t") {
		t.Errorf("writeTable printed control characters: %q", got)
	}
}

// FuzzNewSession: whatever the flags and environment hold, configuration
// ends in a client or a usage error, never a panic, and the outcome does
// not depend on what the secret says, only on whether there is one: the
// same flags with another non-empty secret give the same error, word for
// word. (A substring search would flag a secret that happens to equal part
// of an echoed flag or of the message's own text.)
func FuzzNewSession(f *testing.F) {
	f.Add("", "", "", "", "table", int64(time.Second))
	f.Add("local", "p", "s3cret-value", "", "json", int64(time.Second))
	f.Add("http://[::1]:8080/partner", "", "", "", "table", int64(0))
	f.Add("https://user:pw@api.milligold.in/partner", "p", "s3cret-value", "", "json", int64(-1))
	f.Add("production", "", "s3cret-value", "", "table", int64(time.Minute))
	f.Add("", "p", "", "/nonexistent/secret", "table", int64(time.Minute))
	f.Add("ftp://x", "p", "want an http(s) URL", "", "table", int64(time.Minute))
	f.Add("sandbox", "p", "s3cret-value", "", "table", int64(time.Minute)) // the old name: a note on stderr
	f.Add("http://192.0.2.2/partner", "p", "s3cret-value", "", "table", int64(time.Minute))
	f.Fuzz(func(t *testing.T, baseURL, partnerID, secret, secretFile, output string, timeout int64) {
		if !strings.HasPrefix(secretFile, "/nonexistent/") {
			secretFile = "" // the file cases are in TestAPICommands; keep the fuzzer off the disk
		}
		configure := func(secret string) (*session, error) {
			a := &app{stderr: io.Discard, getenv: func(k string) string {
				return map[string]string{envPartnerSecret: secret}[k]
			}}
			flags := clientFlags{baseURL: baseURL, partnerID: partnerID, secretFile: secretFile, output: output, timeout: time.Duration(timeout)}
			return a.newSession(&flags)
		}
		s, err := configure(secret)
		var ue usageError
		if err == nil {
			if s.client == nil {
				t.Fatal("newSession returned neither a client nor an error")
			}
		} else if !errors.As(err, &ue) {
			t.Fatalf("newSession error %q is not a usage error", err)
		}
		if secret == "" {
			return
		}
		const other = "\x01another-secret\x01"
		_, errOther := configure(other)
		if (err == nil) != (errOther == nil) || (err != nil && err.Error() != errOther.Error()) {
			t.Fatalf("newSession depends on the secret's content: %v with the fuzzed secret, %v with another", err != nil, errOther != nil)
		}
		if errOther != nil && strings.Contains(errOther.Error(), other) {
			t.Fatalf("newSession error repeats the secret: %q", errOther)
		}
	})
}

// TestExplain: each kind of failure gets one line that says what to do.
func TestExplain(t *testing.T) {
	s := &session{baseURL: "https://api.milligold.in/partner", timeout: 30 * time.Second}
	api := func(op string, status int, msg string) error {
		return &milligold.APIError{Operation: op, StatusCode: status, Message: msg, ErrorCode: "c0ffee"}
	}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"rate limited", &milligold.RateLimitError{RetryAfter: 12 * time.Second}, "rate limited; retry after 12s"},
		{"rate limited, reset passed", &milligold.RateLimitError{}, "rate limited; retry in a few seconds"},
		{"credentials", api("createAccessToken", 401, "Invalid"), "the API refused the partner credentials (401 Unauthorized, errorCode c0ffee); check --partner-id/MILLIGOLD_PARTNER_ID and MILLIGOLD_PARTNER_SECRET or --partner-secret-file"},
		{"token refused", api("getGoldRate", 401, "expired"), "the API refused a fresh access token (401 Unauthorized, errorCode c0ffee); check that --base-url points at one API"},
		{"not found", api("getUserInfo", 404, "gone"), "user not found (404 Not Found, errorCode c0ffee): gone; check the mobile number"},
		{"new operation's resource not found", api("getGoldRate", 404, "gone"), "no such endpoint (404 Not Found, errorCode c0ffee): gone; check that --base-url includes the API's base path, such as https://api.milligold.in/partner"},
		{"base path missing", api("createAccessToken", 404, "The requested resource was not found"), "no such endpoint (404 Not Found, errorCode c0ffee): The requested resource was not found; check that --base-url includes the API's base path, such as https://api.milligold.in/partner"},
		{"server failed", api("getGoldRate", 503, ""), "the API failed (503 Service Unavailable, errorCode c0ffee); try again later, and quote the errorCode if it persists"},
		{"bad request", api("getUserInfo", 400, "bad number"), "the API rejected the request (400 Bad Request, errorCode c0ffee): bad number"},
		{"redirect", api("getGoldRate", 302, ""), "unexpected answer from the API (302 Found, errorCode c0ffee)"},
		{"redirect elsewhere", &milligold.RedirectError{Operation: "getGoldRate", StatusCode: 307, Location: "https://evil.example/x", CrossOrigin: true},
			"the API answered 307 Temporary Redirect, a redirect to https://evil.example/x (another server); not followed, as the credentials go only to https://api.milligold.in/partner: check --base-url"},
		{"redirect on the same server", &milligold.RedirectError{Operation: "getGoldRate", StatusCode: 301, Location: "https://api.milligold.in/v2/gold/rate"},
			"the API answered 301 Moved Permanently, a redirect to https://api.milligold.in/v2/gold/rate (elsewhere on the same server); not followed, as the credentials go only to https://api.milligold.in/partner: check --base-url"},
		{"unexpected answer", &milligold.UnexpectedResponseError{Operation: "getGoldRate", StatusCode: 200, Reason: "success is false"},
			"unexpected answer from the API to getGoldRate (200 OK): success is false; check that --base-url points at the milliGOLD API"},
		{"request timeout", fmt.Errorf("milligold: getGoldRate: %w", &milligold.AttemptTimeoutError{Limit: 30 * time.Second}), "no answer from https://api.milligold.in/partner within 30s; try again, or raise --timeout"},
		{"timeout", fmt.Errorf("milligold: getGoldRate: %w", context.DeadlineExceeded), "no answer from https://api.milligold.in/partner within 30s; try again, or raise --timeout"},
		{"dns", &net.DNSError{Err: "no such host", Name: "api.milligold.in"}, "cannot reach https://api.milligold.in/partner: lookup api.milligold.in: no such host; check --base-url and the network"},
		{"other", errors.New("milligold: getGoldRate: decode response: unexpected EOF"), "getGoldRate: decode response: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.explain(tt.err).Error(); got != tt.want {
				t.Errorf("explain(%v) =\n  %q\nwant\n  %q", tt.err, got, tt.want)
			}
		})
	}
}

// TestBaseURLNames: each name --base-url and MILLIGOLD_BASE_URL take is the
// URL it says; "sandbox", the old name of the hosted sandbox, still means
// it but says so on stderr, since 'milligold sandbox' is the local one.
func TestBaseURLNames(t *testing.T) {
	tests := []struct {
		raw, want, warning string
	}{
		{"", "http://127.0.0.1:8080/partner", ""},
		{"local", "http://127.0.0.1:8080/partner", ""},
		{"hosted-sandbox", milligold.HostedSandboxURL, ""},
		{"production", milligold.ProductionURL, ""},
		{"sandbox", milligold.HostedSandboxURL, "milligold: note: --base-url sandbox is milliGOLD's hosted sandbox (https://api-sandbox.milligold.in/partner); say hosted-sandbox, or local for the one 'milligold sandbox' runs\n"},
	}
	for _, tt := range tests {
		for _, fromEnv := range []bool{false, true} {
			var stderr bytes.Buffer
			a := &app{stderr: &stderr, getenv: func(string) string { return "" }}
			f := &clientFlags{baseURL: tt.raw}
			warning := tt.warning
			if fromEnv {
				a.getenv = func(k string) string { return map[string]string{envBaseURL: tt.raw}[k] }
				f.baseURL = ""
				warning = strings.Replace(warning, "--base-url", envBaseURL+"=", 1)
				warning = strings.Replace(warning, "= ", "=", 1)
			}
			got, err := a.resolveBaseURL(f)
			if err != nil || got != tt.want || stderr.String() != warning {
				t.Errorf("resolveBaseURL(%q, from env %v) = %q, %v, stderr %q; want %q, nil, stderr %q", tt.raw, fromEnv, got, err, stderr.String(), tt.want, warning)
			}
		}
	}
	if milligold.SandboxURL != milligold.HostedSandboxURL {
		t.Errorf("SandboxURL = %q; want the deprecated name of HostedSandboxURL %q", milligold.SandboxURL, milligold.HostedSandboxURL)
	}
}

// TestDocumentsStatus: a 404 is "not found" only where the spec documents
// one; elsewhere the CLI explains it as a wrong base URL.
func TestDocumentsStatus(t *testing.T) {
	for _, tc := range []struct {
		op, status string
		want       bool
	}{
		{"getUserInfo", "404", true},
		{"getUserInfo", "429", true},
		{"getGoldRate", "404", false},
		{"createAccessToken", "404", false},
		{"noSuchOperation", "404", false},
	} {
		if got := documentsStatus(tc.op, tc.status); got != tc.want {
			t.Errorf("documentsStatus(%q, %q) = %v; want %v", tc.op, tc.status, got, tc.want)
		}
	}
}
