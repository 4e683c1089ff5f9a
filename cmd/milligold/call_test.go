package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/internal/hostile"
	"github.com/milligold/milligold-go/sandbox"
	"github.com/milligold/milligold-go/sandbox/sandboxtest"
)

// milligold call against the real sandbox: the operations of the generated
// table, their data, and exit codes 0, 1 and 2 as the other commands.
func TestCallCommand(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.WithConfig(func(c *sandbox.Config) { c.RateLimit.Requests = 1000 }))
	env := map[string]string{envBaseURL: sb.URL}
	dir := t.TempDir()
	bodyFile := filepath.Join(dir, "body.json")
	if err := os.WriteFile(bodyFile, []byte(`{"a":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// Every operation of the generated table but the token one, in the
	// table's order: getGoldRate, getUserInfo, and any added to the spec.
	var callable []string
	for _, op := range middleware.Operations {
		if !op.IssuesToken {
			callable = append(callable, op.ID)
		}
	}
	if !slices.Contains(callable, "getGoldRate") || !slices.Contains(callable, "getUserInfo") || slices.Contains(callable, "createAccessToken") {
		t.Fatalf("callable operations %v; want getGoldRate and getUserInfo, not createAccessToken", callable)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  []string // substrings of stdout
		wantErr  string   // substring of stderr
	}{
		{name: "gold rate table", args: []string{"call", "getGoldRate"}, wantOut: []string{"rate       1111\n", "cgstRate   0.015\n", "updatedAt  2023-01-05T09:17:03.459Z\n"}},
		{name: "gold rate json", args: []string{"call", "getGoldRate", "-o", "json"}, wantOut: []string{"{\n  \"", "  \"rate\": 1111,\n", `"sgstRate": 0.015`}},
		{name: "user by path parameter", args: []string{"call", "getUserInfo", "-p", "mobileNumber=1234567890"}, wantOut: []string{"mobileNumber  1234567890\n", "name          Test User\n", "birthday      -\n"}},
		{name: "user json", args: []string{"call", "getUserInfo", "-p", "mobileNumber=1234567890", "-o", "json"}, wantOut: []string{`"birthday": null`, `"gender": "MALE"`}},
		{name: "404", args: []string{"call", "getUserInfo", "-p", "mobileNumber=9999999999"}, wantCode: exitError, wantErr: "user not found (404 Not Found, errorCode "},
		{name: "404 json", args: []string{"call", "getUserInfo", "-p", "mobileNumber=9999999999", "-o", "json"}, wantCode: exitError, wantOut: []string{`"kind": "api"`, `"status": 404`, `"exitCode": 1`}},
		{name: "400 from the sandbox's validation", args: []string{"call", "getUserInfo", "-p", "mobileNumber=12345"}, wantCode: exitError, wantErr: "400 Bad Request"},
		{name: "unknown operation", args: []string{"call", "getGoldRat"}, wantCode: exitUsage, wantErr: `call: unknown operation "getGoldRat"; did you mean "getGoldRate"? (operations: ` + strings.Join(callable, ", ") + `)`},
		{name: "unknown operation, case", args: []string{"call", "getuserinfo"}, wantCode: exitUsage, wantErr: `did you mean "getUserInfo"?`},
		{name: "unknown operation json", args: []string{"call", "nope", "-o", "json"}, wantCode: exitUsage, wantOut: []string{`"kind": "usage"`, `"exitCode": 2`}},
		{name: "token operation", args: []string{"call", "createAccessToken"}, wantCode: exitUsage, wantErr: "use 'milligold token'"},
		{name: "no operation", args: []string{"call"}, wantCode: exitUsage, wantErr: "call takes one operation id"},
		{name: "missing path parameter", args: []string{"call", "getUserInfo"}, wantCode: exitUsage, wantErr: `call getUserInfo: missing required path parameter "mobileNumber"`},
		{name: "unknown parameter", args: []string{"call", "getUserInfo", "-p", "mobile=1234567890"}, wantCode: exitUsage, wantErr: `no parameter "mobile"; parameters: mobileNumber (path, required)`},
		{name: "parameter without =", args: []string{"call", "getUserInfo", "-p", "mobileNumber"}, wantCode: exitUsage, wantErr: "want name=value"},
		{name: "parameter twice", args: []string{"call", "getUserInfo", "-p", "mobileNumber=1", "-p", "mobileNumber=2"}, wantCode: exitUsage, wantErr: "given twice"},
		{name: "body on a GET", args: []string{"call", "getGoldRate", "-d", `{"a":1}`}, wantCode: exitUsage, wantErr: "takes no request body"},
		{name: "body from a file on a GET", args: []string{"call", "getGoldRate", "-d", "@" + bodyFile}, wantCode: exitUsage, wantErr: "takes no request body"},
		{name: "body not JSON", args: []string{"call", "getGoldRate", "-d", `{a}`}, wantCode: exitUsage, wantErr: "not valid JSON"},
		{name: "body file missing", args: []string{"call", "getGoldRate", "-d", "@" + filepath.Join(dir, "none")}, wantCode: exitUsage, wantErr: "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runApp(env, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d; want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, stdout, stderr)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			if !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("stderr lacks %q:\n%s", tt.wantErr, stderr)
			}
			if strings.Contains(stdout+stderr, sandbox.DefaultPartnerSecret) || strings.Contains(stdout+stderr, "eyJ") {
				t.Error("a secret or token in the output")
			}
		})
	}
}

// -o json prints the data exactly as the typed command's JSON has it.
func TestCallJSONMatchesUser(t *testing.T) {
	sb := sandboxtest.New(t)
	env := map[string]string{envBaseURL: sb.URL}
	_, viaCall, _ := runApp(env, "call", "getUserInfo", "-p", "mobileNumber=1234567890", "-o", "json")
	var got map[string]any
	if err := json.Unmarshal([]byte(viaCall), &got); err != nil {
		t.Fatalf("call -o json printed %q: %v", viaCall, err)
	}
	if got["mobileNumber"] != "1234567890" || got["name"] != "Test User" {
		t.Errorf("call -o json = %v", got)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "", 3}, {"getgoldrat", "getgoldrate", 1}, {"kitten", "sitting", 3}, {"é", "e", 1}} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d; want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// FuzzWriteDataTable: any data the API sends prints without a panic and
// without a control character reaching the terminal.
func FuzzWriteDataTable(f *testing.F) {
	f.Add(`{"rate":1111,"name":"x","n":null,"a":[1,{"b":2}],"ok":true}`)
	f.Add(`{"evil":"\u001b[2J\r\nforged"}`)
	f.Add(`{"\u001b[2Jkey":1}`)
	f.Add(`[1,2]`)
	f.Add(`"s"`)
	f.Fuzz(func(t *testing.T, data string) {
		if !json.Valid([]byte(data)) {
			return // Call returns data only as the JSON it came as
		}
		var out strings.Builder
		if err := writeDataTable(&out, json.RawMessage(data)); err != nil {
			return
		}
		if !strings.HasPrefix(strings.TrimSpace(data), "{") {
			return // printed as indented JSON, which escapes control characters
		}
		for _, r := range out.String() {
			if r != '\n' && r < ' ' || r == 0x7f {
				t.Fatalf("control character %U in the table for %q", r, data)
			}
		}
	})
}

// The limiter and the error JSON apply to call as to rate; a body from
// stdin (-d @-) is read and checked.
func TestCallLimitAndStdin(t *testing.T) {
	limited := sandboxtest.New(t, sandboxtest.WithConfig(func(c *sandbox.Config) { c.RateLimit.Requests = 1 }))
	code, stdout, stderr := runApp(map[string]string{envBaseURL: limited.URL}, "call", "getGoldRate", "--max-retries", "0", "-o", "json")
	if code != exitError || !strings.Contains(stderr, "rate limited; retry after") || !strings.Contains(stdout, `"kind": "rate_limited"`) {
		t.Errorf("exit %d\nstdout: %s\nstderr: %s\nwant exit 1, rate limited", code, stdout, stderr)
	}

	for _, tt := range []struct{ stdin, wantErr string }{
		{`{"a":1}`, "call getGoldRate: takes no request body"},
		{``, "-d: the body is not valid JSON"},
		{strings.Repeat(" ", maxCallBody+1), "-d: the body is over"},
	} {
		var out, errOut strings.Builder
		a := &app{stdin: strings.NewReader(tt.stdin), stdout: &out, stderr: &errOut, getenv: func(k string) string { return map[string]string{envBaseURL: limited.URL}[k] }}
		if code := a.run([]string{"call", "getGoldRate", "-d", "@-"}); code != exitUsage || !strings.Contains(errOut.String(), tt.wantErr) {
			t.Errorf("stdin %.20q: exit %d, stderr %s; want exit 2 with %q", tt.stdin, code, errOut.String(), tt.wantErr)
		}
	}
}

// An operation the generated table gains (as 'make generate' on a spec with
// a new operation gives it) is reachable by call with no other line: its
// query parameters are taken, checked and sent.
func TestCallReachesNewOperation(t *testing.T) {
	saved := middleware.Operations
	t.Cleanup(func() { middleware.Operations = saved })
	middleware.Operations = append(slices.Clip(saved), middleware.Operation{
		ID: "getGoldHistory", GoName: "GetGoldHistory", Method: "GET", Path: "/gold/history", Bearer: true, Success: 200,
		Params: []middleware.Param{{Name: "from", In: "query", Required: true}, {Name: "limit", In: "query"}},
	})
	srv := hostile.New(t)
	srv.Partner("partner-1", "partner-secret-1")
	srv.Handle("/partner/gold/history", hostile.JSON(200, `{"success":true,"data":{"points":2,"metal":"gold"}}`))
	env := map[string]string{envBaseURL: srv.URL, envPartnerID: "partner-1", envPartnerSecret: "partner-secret-1"}

	code, stdout, stderr := runApp(env, "call", "getGoldHistory", "-p", "from=2024-01-01", "-p", "limit=2")
	if code != exitOK || stdout != "points  2\nmetal   gold\n" {
		t.Errorf("exit %d\nstdout: %q\nstderr: %s", code, stdout, stderr)
	}
	if n := srv.Count("/partner/gold/history"); n != 1 {
		t.Fatalf("%d requests for the new operation", n)
	}
	reqs := srv.Requests()
	if got := reqs[len(reqs)-1].Path; got != "/partner/gold/history?from=2024-01-01&limit=2" {
		t.Errorf("sent %q", got)
	}
	code, _, stderr = runApp(env, "call", "getGoldHistory", "-p", "limit=2")
	if code != exitUsage || !strings.Contains(stderr, `missing required query parameter "from"`) {
		t.Errorf("exit %d, stderr %s; want 2 naming from", code, stderr)
	}
	code, _, stderr = runApp(env, "call", "getGoldHistroy")
	if code != exitUsage || !strings.Contains(stderr, `did you mean "getGoldHistory"?`) {
		t.Errorf("exit %d, stderr %s; want 2 suggesting getGoldHistory", code, stderr)
	}
}
