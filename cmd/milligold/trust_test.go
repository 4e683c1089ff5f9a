package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	milligold "github.com/milligold/milligold-go"
	"github.com/milligold/milligold-go/internal/hostile"
	"github.com/milligold/milligold-go/internal/leak"
)

const cliSecret = "cli s3cr3t <&> +/%"

// runHostile runs the CLI against srv with the test credentials.
func runHostile(t *testing.T, srv *hostile.Server, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	env := map[string]string{envBaseURL: srv.URL, envPartnerID: "partner-cli", envPartnerSecret: cliSecret}
	code, stdout, stderr = runApp(env, args...)
	leak.Check(t, "stderr", stderr, cliSecret, hostile.Token)
	if args[0] != "token" {
		leak.Check(t, "stdout", stdout, cliSecret, hostile.Token)
	}
	return code, stdout, stderr
}

// wantFailure checks a run that must fail with one line on stderr holding
// want, and nothing on stdout.
func wantFailure(t *testing.T, code int, stdout, stderr, want string) {
	t.Helper()
	if code != exitError {
		t.Errorf("exit %d; want %d (stderr %q)", code, exitError, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout = %q; want nothing", stdout)
	}
	if !strings.Contains(stderr, want) || strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr = %q; want one line with %q", stderr, want)
	}
}

// TestCLIRedirects: through the CLI, a redirect of the token request or of
// the data call, to another origin or the same, fails with exit 1 naming
// the Location; nothing reaches the target and nothing is printed.
func TestCLIRedirects(t *testing.T) {
	for _, code := range []int{301, 302, 303, 307, 308} {
		for _, c := range []struct {
			cmd  []string
			path string
		}{
			{[]string{"token"}, hostile.TokenPath},
			{[]string{"rate"}, hostile.TokenPath},
			{[]string{"rate"}, hostile.RatePath},
			{[]string{"user", "1234567890"}, hostile.UserPath},
		} {
			for _, other := range []bool{true, false} {
				t.Run(fmt.Sprintf("%d %s on %s other origin %v", code, c.cmd[0], c.path, other), func(t *testing.T) {
					api, elsewhere := hostile.New(t), hostile.New(t)
					dest := api
					if other {
						dest = elsewhere
					}
					loc := dest.Origin + "/collect"
					api.Handle(c.path, hostile.Redirect(code, loc))
					exit, stdout, stderr := runHostile(t, api, c.cmd...)
					wantFailure(t, exit, stdout, stderr, "a redirect to "+loc)
					if other && !strings.Contains(stderr, "(another server)") {
						t.Errorf("stderr = %q; want it to say another server", stderr)
					}
					if n := dest.Count("/collect"); n != 0 {
						t.Errorf("the redirect was followed: %d requests", n)
					}
					for _, r := range elsewhere.Requests() {
						t.Errorf("the other server got %s %s (Authorization set: %v)", r.Method, r.Path, r.Authorization != "")
					}
				})
			}
		}
	}
}

// TestCLIUndocumentedAnswers: an undocumented 2xx, from the token endpoint
// or a data call, fails with exit 1 instead of printing zeros.
func TestCLIUndocumentedAnswers(t *testing.T) {
	for _, c := range []struct {
		name string
		cmd  []string
		path string
		h    http.HandlerFunc
		want string
	}{
		{"token 200 text/html", []string{"rate"}, hostile.TokenPath, hostile.Answer(200, "text/html", hostile.TokenAnswer), `content type "text/html"`},
		{"token 200 without Content-Type", []string{"token"}, hostile.TokenPath, hostile.Answer(200, "", hostile.TokenAnswer), `content type ""`},
		{"token 201", []string{"rate"}, hostile.TokenPath, hostile.JSON(201, hostile.TokenAnswer), "201 Created"},
		{"token 202", []string{"token"}, hostile.TokenPath, hostile.JSON(202, hostile.TokenAnswer), "202 Accepted"},
		{"token 204", []string{"rate"}, hostile.TokenPath, hostile.Answer(204, "", ""), "204 No Content"},
		{"rate {}", []string{"rate"}, hostile.RatePath, hostile.JSON(200, `{}`), `no "success" field`},
		{"rate null", []string{"rate"}, hostile.RatePath, hostile.JSON(200, `null`), `no "success" field`},
		{"rate success false", []string{"rate"}, hostile.RatePath, hostile.JSON(200, `{"success":false,"error":"maintenance"}`), `success is false: "maintenance"`},
		{"rate 201", []string{"rate"}, hostile.RatePath, hostile.JSON(201, hostile.RateAnswer), "201 Created"},
		{"user {}", []string{"user", "1234567890"}, hostile.UserPath, hostile.JSON(200, `{}`), `no "success" field`},
		{"user null", []string{"user", "1234567890"}, hostile.UserPath, hostile.JSON(200, `null`), `no "success" field`},
		{"user success false", []string{"user", "1234567890"}, hostile.UserPath, hostile.JSON(200, `{"success":false,"error":"maintenance"}`), "success is false"},
		{"user data empty", []string{"user", "1234567890"}, hostile.UserPath, hostile.JSON(200, `{"success":true,"data":{}}`), `data has no "countryCode"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := hostile.New(t)
			api.Handle(c.path, c.h)
			code, stdout, stderr := runHostile(t, api, c.cmd...)
			wantFailure(t, code, stdout, stderr, "unexpected answer from the API")
			if !strings.Contains(stderr, c.want) {
				t.Errorf("stderr = %q; want it to say %q", stderr, c.want)
			}
		})
	}
}

// TestCLIRateLimitedWhateverTheAnswer: a 429 from the token endpoint during
// a data call reads as rate limited, not as a network failure, whatever its
// headers and body.
func TestCLIRateLimitedWhateverTheAnswer(t *testing.T) {
	envelope := `{"success":false,"error":"Too many requests","errorCode":"r"}`
	for _, c := range []struct {
		name string
		h    http.HandlerFunc
	}{
		{"reset out of range", hostile.WithHeaders(hostile.JSON(429, envelope), map[string]string{"X-Rate-Limit-Reset": "99999999999999999999"})},
		{"reset unparsable", hostile.WithHeaders(hostile.JSON(429, envelope), map[string]string{"X-Rate-Limit-Reset": "soon"})},
		{"body not JSON", hostile.Answer(429, "text/plain", "slow down")},
		{"JSON type, HTML body", hostile.Answer(429, "application/json", "<html>")},
	} {
		for _, path := range []string{hostile.TokenPath, hostile.RatePath} {
			t.Run(c.name+" on "+path, func(t *testing.T) {
				api := hostile.New(t)
				api.Handle(path, c.h)
				code, stdout, stderr := runHostile(t, api, "rate", "--max-retries", "0")
				wantFailure(t, code, stdout, stderr, "rate limited; retry after 20s")
			})
		}
	}
}

// TestCLIHugeTokenAnswer: a token answer without end is cut off at 1 MiB.
func TestCLIHugeTokenAnswer(t *testing.T) {
	api := hostile.New(t)
	api.Handle(hostile.TokenPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"success":true,"data":{"accessToken":"`)
		chunk := strings.Repeat("a", 32<<10)
		for range 8 << 10 { // 256 MiB at most
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	})
	code, stdout, stderr := runHostile(t, api, "rate")
	wantFailure(t, code, stdout, stderr, "body over 1048576 bytes")
}

// TestCLIDribbledBody: --timeout bounds a server that sends headers and then
// dribbles the body.
func TestCLIDribbledBody(t *testing.T) {
	api := hostile.New(t)
	api.Handle(hostile.RatePath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"success":true,`)
		w.(http.Flusher).Flush()
		for range 1200 {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
			io.WriteString(w, " ")
			w.(http.Flusher).Flush()
		}
	})
	start := time.Now()
	code, stdout, stderr := runHostile(t, api, "rate", "--timeout", "1s")
	wantFailure(t, code, stdout, stderr, "within 1s; try again, or raise --timeout")
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("the command took %v; want about 1s", took)
	}
}

// TestCLIEchoedSecret: a token endpoint that echoes the secret JSON-escaped
// or percent-encoded does not get it onto the terminal.
func TestCLIEchoedSecret(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"JSON":           hostile.JSON(401, `{"success":false,"error":"bad secret cli s3cr3t \u003c\u0026\u003e +/%","errorCode":"x"}`),
		"percent":        hostile.Answer(401, "text/plain", "bad secret cli+s3cr3t+%3C%26%3E+%2B%2F%25"),
		"redirect query": hostile.Redirect(302, "http://127.0.0.1:1/?s=cli+s3cr3t+%3C%26%3E+%2B%2F%25"),
	} {
		t.Run(name, func(t *testing.T) {
			api := hostile.New(t)
			api.Handle(hostile.TokenPath, h)
			code, _, stderr := runHostile(t, api, "rate")
			if code != exitError {
				t.Errorf("exit %d; want %d", code, exitError)
			}
			for _, f := range []string{`cli s3cr3t \u003c\u0026\u003e +/%`, "cli+s3cr3t+%3C%26%3E+%2B%2F%25"} {
				if strings.Contains(stderr, f) {
					t.Errorf("stderr holds the secret, encoded: %s", leak.Mask(stderr, f))
				}
			}
		})
	}
}

// TestCLITransportErrorEchoesSecret: a server that answers the token
// request with a malformed status line holding the secret gets a transport
// error, whose innermost text would hold it; the CLI's line does not.
func TestCLITransportErrorEchoesSecret(t *testing.T) {
	const secret = "cli-s3cr3t-<&>-value"
	env := map[string]string{envBaseURL: hostile.EchoInStatusLine(t), envPartnerID: "partner-cli", envPartnerSecret: secret}
	code, _, stderr := runApp(env, "rate")
	if code != exitError {
		t.Errorf("exit %d; want %d (stderr %q)", code, exitError, stderr)
	}
	leak.Check(t, "stderr", stderr, secret)
}

// TestCLIErrorCannotDriveTheTerminal: an error message or a Location with
// control characters reaches stderr without them.
func TestCLIErrorCannotDriveTheTerminal(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"message":  hostile.JSON(500, `{"success":false,"error":"boom\u001b[2J\u0007\r\nforged line","errorCode":"e\u001b]0;title\u0007"}`),
		"location": hostile.Redirect(302, "http://127.0.0.1:1/\x1b[2J"),
		"reason":   hostile.JSON(200, `{"success":false,"error":"maint\u001b[31menance"}`),
	} {
		t.Run(name, func(t *testing.T) {
			api := hostile.New(t)
			api.Handle(hostile.RatePath, h)
			code, _, stderr := runHostile(t, api, "rate")
			if code != exitError {
				t.Errorf("exit %d; want %d", code, exitError)
			}
			if strings.ContainsAny(stderr[:len(stderr)-1], "\x1b\x07\r\n") {
				t.Errorf("stderr carries control characters: %q", stderr)
			}
		})
	}
}

// TestCLIConformanceFollowsNoRedirect: milligold conformance against an API
// that redirects its token request (307 keeps the POST and its body) and a
// data call elsewhere: the other server gets nothing, and the run fails.
func TestCLIConformanceFollowsNoRedirect(t *testing.T) {
	for _, path := range []string{hostile.TokenPath, hostile.RatePath} {
		t.Run(path, func(t *testing.T) {
			api, other := hostile.New(t), hostile.New(t)
			api.Handle(path, hostile.Redirect(http.StatusTemporaryRedirect, other.Origin+path))
			env := map[string]string{envPartnerID: "partner-cli", envPartnerSecret: cliSecret}
			code, stdout, stderr := runConformance(env, "--base-url", api.URL)
			if code == exitOK {
				t.Errorf("exit 0 against a redirecting API; want a failure\n%s", stdout)
			}
			for _, r := range other.Requests() {
				t.Errorf("the other server got %s %s (Authorization set: %v, body %d bytes)", r.Method, r.Path, r.Authorization != "", len(r.Body))
			}
			leak.Check(t, "the output", stdout+stderr, cliSecret)
		})
	}
}

// nonLoopbackListener listens on an address of this machine that is not
// loopback: an interface's IPv4 address, or without one 0.0.0.0 (which a
// dial also reaches on this machine, and which is not loopback either).
func nonLoopbackListener(t *testing.T) net.Listener {
	t.Helper()
	host := "0.0.0.0"
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			host = n.IP.String()
			break
		}
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestCLIPlainHTTPToAnotherHost: a plain-http --base-url (or
// MILLIGOLD_BASE_URL) whose host is not this machine is a usage error that
// names the fix, and the server gets nothing: the secret would cross the
// network in the clear. With --insecure-http the call goes through.
func TestCLIPlainHTTPToAnotherHost(t *testing.T) {
	srv := hostile.NewOn(t, nonLoopbackListener(t))
	if milligold.IsLoopbackHost(strings.Split(strings.TrimPrefix(srv.Origin, "http://"), ":")[0]) {
		t.Fatalf("server at %s; want a non-loopback address", srv.Origin)
	}
	creds := map[string]string{envPartnerID: "partner-cli", envPartnerSecret: cliSecret}
	withURL := map[string]string{envBaseURL: srv.URL, envPartnerID: "partner-cli", envPartnerSecret: cliSecret}
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		from string
	}{
		{"rate --base-url", creds, []string{"rate", "--base-url", srv.URL}, "--base-url"},
		{"token from the environment", withURL, []string{"token"}, envBaseURL},
		{"conformance", creds, []string{"conformance", "--base-url", srv.URL}, "--base-url"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runApp(c.env, c.args...)
			want := fmt.Sprintf("%s %q: plain http to a host other than this machine would send the partner secret unencrypted; use https, or pass --insecure-http if the network is trusted", c.from, srv.URL)
			if code != exitUsage || !strings.Contains(stderr, want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, want)
			}
			if stdout != "" {
				t.Errorf("stdout = %q; want nothing", stdout)
			}
		})
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("the server got %d requests; want none without --insecure-http", n)
	}
	code, stdout, stderr := runHostile(t, srv, "rate", "--insecure-http")
	if code != exitOK || !strings.Contains(stdout, "1144.33") {
		t.Errorf("rate --insecure-http: exit %d, stdout %q, stderr %q; want the rate", code, stdout, stderr)
	}
	if srv.Count(hostile.TokenPath) != 1 || srv.Count(hostile.RatePath) != 1 {
		t.Errorf("requests %v; want one token request and one rate request", srv.Requests())
	}
}

// TestErrorJSONNamesTheFailure: with -o json, the error object on stdout
// tells a script what failed (kind) and, whenever the API answered, its
// status: for a redirect (with the Location), an undocumented answer, a
// 429 (with the wait) and an error envelope alike. A timeout or a refused
// connection has no status: the API gave none.
func TestErrorJSONNamesTheFailure(t *testing.T) {
	dribble := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"success":true,`)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}
	type errJSON struct {
		Error             string `json:"error"`
		Kind              string `json:"kind"`
		Status            int    `json:"status"`
		ErrorCode         string `json:"errorCode"`
		Location          string `json:"location"`
		RetryAfterSeconds int    `json:"retryAfterSeconds"`
		ExitCode          int    `json:"exitCode"`
	}
	for _, c := range []struct {
		name string
		path string
		h    http.HandlerFunc
		args []string
		want errJSON
	}{
		{"redirect", hostile.RatePath, hostile.Redirect(302, "https://elsewhere.example/collect"), []string{"rate"},
			errJSON{Kind: "redirect", Status: 302, Location: "https://elsewhere.example/collect", ExitCode: exitError}},
		{"redirect of the token request", hostile.TokenPath, hostile.Redirect(307, "https://elsewhere.example/token"), []string{"rate"},
			errJSON{Kind: "redirect", Status: 307, Location: "https://elsewhere.example/token", ExitCode: exitError}},
		{"undocumented 201", hostile.RatePath, hostile.JSON(201, hostile.RateAnswer), []string{"rate"},
			errJSON{Kind: "unexpected_response", Status: 201, ExitCode: exitError}},
		{"undocumented token answer", hostile.TokenPath, hostile.Answer(200, "text/html", "<html>"), []string{"token"},
			errJSON{Kind: "unexpected_response", Status: 200, ExitCode: exitError}},
		{"429", hostile.RatePath, hostile.JSON(429, `{"success":false,"error":"Too many requests","errorCode":"r-1"}`), []string{"rate", "--max-retries", "0"},
			errJSON{Kind: "rate_limited", Status: 429, ErrorCode: "r-1", RetryAfterSeconds: 20, ExitCode: exitError}},
		{"429 of the token request, not JSON", hostile.TokenPath, hostile.Answer(429, "text/plain", "slow down"), []string{"rate", "--max-retries", "0"},
			errJSON{Kind: "rate_limited", Status: 429, RetryAfterSeconds: 20, ExitCode: exitError}},
		{"404", hostile.UserPath, hostile.JSON(404, `{"success":false,"error":"not found","errorCode":"nf-1"}`), []string{"user", "1234567890"},
			errJSON{Kind: "api", Status: 404, ErrorCode: "nf-1", ExitCode: exitError}},
		{"timeout", hostile.RatePath, dribble, []string{"rate", "--timeout", "500ms"},
			errJSON{Kind: "timeout", ExitCode: exitError}},
		{"usage", "", nil, []string{"user", "123"},
			errJSON{Kind: "usage", ExitCode: exitUsage}},
	} {
		t.Run(c.name, func(t *testing.T) {
			api := hostile.New(t)
			if c.h != nil {
				api.Handle(c.path, c.h)
			}
			code, stdout, stderr := runHostile(t, api, append(c.args, "-o", "json")...)
			var got errJSON
			if err := json.Unmarshal([]byte(stdout), &got); err != nil {
				t.Fatalf("stdout %q is not a JSON object: %v (stderr %q)", stdout, err, stderr)
			}
			if code != c.want.ExitCode || got.Error == "" || !strings.Contains(stderr, got.Error) {
				t.Errorf("exit %d, error %q, stderr %q; want exit %d and stderr's message", code, got.Error, stderr, c.want.ExitCode)
			}
			got.Error = ""
			if got != c.want {
				t.Errorf("JSON error = %+v; want %+v", got, c.want)
			}
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		code, stdout, _ := runApp(map[string]string{envBaseURL: closedURL(t)}, "rate", "-o", "json")
		var got errJSON
		if err := json.Unmarshal([]byte(stdout), &got); err != nil || code != exitError || got.Kind != "network" || got.Status != 0 {
			t.Errorf("exit %d, stdout %q; want 1 and kind network without a status", code, stdout)
		}
	})
}

// TestCLIRetriesA429ByDefault: the CLI retries a 429 as the library does
// (DefaultMaxRetries times, waiting for the reset), so a script that runs
// into the limit waits instead of failing; --max-retries 0 fails at once.
func TestCLIRetriesA429ByDefault(t *testing.T) {
	for _, c := range []struct {
		args     []string
		wantCode int
		wantRate int // requests for the gold rate
	}{
		{[]string{"rate"}, exitOK, 2},
		{[]string{"rate", "--max-retries", "0"}, exitError, 1},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			api := hostile.New(t)
			var n atomic.Int32
			api.Handle(hostile.RatePath, func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					reset := strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10)
					hostile.WithHeaders(hostile.JSON(429, `{"success":false,"error":"Too many requests","errorCode":"r"}`), map[string]string{"X-Rate-Limit-Reset": reset})(w, r)
					return
				}
				hostile.JSON(200, hostile.RateAnswer)(w, r)
			})
			code, stdout, stderr := runHostile(t, api, c.args...)
			if code != c.wantCode || api.Count(hostile.RatePath) != c.wantRate {
				t.Errorf("exit %d after %d rate requests (stdout %q, stderr %q); want %d after %d", code, api.Count(hostile.RatePath), stdout, stderr, c.wantCode, c.wantRate)
			}
		})
	}
}
