package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

func TestSandboxCommandControl(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The serving line, the partner, then the control API, its token and the console.
	s := startSandbox(t, 4, runCtx(ctx, "sandbox", "--addr", "127.0.0.1:0", "--control"))
	base := s.baseURL(t)
	root := strings.TrimSuffix(base, "/partner")
	if want := "  control API " + root + "/_sandbox/api/ (Authorization: Bearer <control token>)"; s.lines[2] != want {
		t.Errorf("control line = %q; want %q", s.lines[2], want)
	}
	token, ok := strings.CutPrefix(s.lines[3], "  control token ")
	if !ok || len(token) < 32 {
		t.Fatalf("token line: %d characters, prefix ok %v; want \"  control token TOKEN\"", len(s.lines[3]), ok)
	}
	if s.lines[4] != "  console "+root+"/_sandbox/#token="+token {
		t.Error("console line does not carry the console URL with the token in its fragment")
	}
	for _, tc := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer " + token, 200}} {
		req, _ := http.NewRequest("GET", root+"/_sandbox/api/clock", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("GET /_sandbox/api/clock (token %v) = %d; want %d", tc.auth != "", res.StatusCode, tc.want)
		}
	}
	cancel()
	if code := <-s.code; code != exitOK {
		t.Errorf("sandbox --control exited %d; want 0; stderr: %s", code, s.stderr)
	}
}

func TestSandboxCommandControlUsage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		args   []string
		stderr string
	}{
		{"every interface", []string{"sandbox", "--control", "--addr", ":0"}, `milligold: control API: listen address ":0" is not loopback`},
		{"a public address", []string{"sandbox", "--control", "--addr", "192.0.2.1:8080"}, `milligold: control API: listen address "192.0.2.1:8080" is not loopback`},
		{"allow-remote alone", []string{"sandbox", "--control-allow-remote"}, "milligold: --control-allow-remote and --journal-size need --control"},
		{"journal-size alone", []string{"sandbox", "--journal-size", "5"}, "milligold: --control-allow-remote and --journal-size need --control"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(tc.args, strings.NewReader(""), &stdout, &stderr)
			if code != exitUsage || !strings.HasPrefix(stderr.String(), tc.stderr) {
				t.Errorf("milligold %s = %d, stderr %q; want %d, %q", strings.Join(tc.args, " "), code, stderr.String(), exitUsage, tc.stderr)
			}
			if stdout.Len() != 0 {
				t.Errorf("milligold %s printed %q; want nothing", strings.Join(tc.args, " "), stdout.String())
			}
		})
	}
}
