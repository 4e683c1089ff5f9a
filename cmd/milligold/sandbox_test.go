package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/milligold/milligold-go/sandbox"
)

// startedSandbox is a `milligold sandbox` running in a goroutine.
type startedSandbox struct {
	lines  []string // what it printed before serving: the URL, then one line per partner
	stderr *syncBuffer
	code   chan int
}

var servingLine = regexp.MustCompile(`^milliGOLD sandbox serving (http://127\.0\.0\.1:[0-9]+/partner)$`)

// startSandbox runs the command in a goroutine and reads its banner: the
// serving line and one line per partner; s.code gets its exit code.
func startSandbox(t *testing.T, partners int, runIt func(stdout, stderr io.Writer) int) *startedSandbox {
	t.Helper()
	pr, pw := io.Pipe()
	s := &startedSandbox{stderr: &syncBuffer{}, code: make(chan int, 1)}
	go func() {
		code := runIt(pw, s.stderr)
		pw.Close()
		s.code <- code
	}()
	sc := bufio.NewScanner(pr)
	for len(s.lines) < 1+partners && sc.Scan() {
		s.lines = append(s.lines, sc.Text())
	}
	if len(s.lines) < 1+partners {
		t.Fatalf("sandbox printed %q and exited %d; stderr: %s", s.lines, <-s.code, s.stderr)
	}
	go io.Copy(io.Discard, pr)
	return s
}

func (s *startedSandbox) baseURL(t *testing.T) string {
	t.Helper()
	m := servingLine.FindStringSubmatch(s.lines[0])
	if m == nil {
		t.Fatalf("first line %q; want \"milliGOLD sandbox serving http://127.0.0.1:PORT/partner\"", s.lines[0])
	}
	return m[1]
}

// tokenStatus asks for a token as in the document's curl example.
func tokenStatus(t *testing.T, base, id, secret string) (int, string) {
	t.Helper()
	res, err := http.PostForm(base+"/auth/token", url.Values{"partnerId": {id}, "partnerSecret": {secret}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var env struct {
		Data struct{ AccessToken string }
	}
	json.NewDecoder(res.Body).Decode(&env)
	return res.StatusCode, env.Data.AccessToken
}

// runCtx runs the command in an app whose context the test cancels.
func runCtx(ctx context.Context, args ...string) func(stdout, stderr io.Writer) int {
	return func(stdout, stderr io.Writer) int {
		a := &app{ctx: ctx, stdin: strings.NewReader(""), stdout: stdout, stderr: stderr, getenv: func(string) string { return "" }}
		return a.run(args)
	}
}

func TestSandboxCommandDefault(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := startSandbox(t, 1, runCtx(ctx, "sandbox", "--addr", "127.0.0.1:0"))
	base := s.baseURL(t)
	want := "  partner " + sandbox.DefaultPartnerID + " (Test Partner), secret " + sandbox.DefaultPartnerSecret
	if s.lines[1] != want {
		t.Errorf("partner line = %q; want %q", s.lines[1], want)
	}
	status, tok := tokenStatus(t, base, sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret)
	if status != 200 || tok == "" {
		t.Fatalf("token request with the printed credentials = %d; want 200 and a token", status)
	}
	cancel()
	if code := <-s.code; code != exitOK {
		t.Errorf("sandbox exited %d after its context ended; want 0; stderr: %s", code, s.stderr)
	}
	log := s.stderr.String()
	if !strings.Contains(log, "path=/partner/auth/token") || !strings.Contains(log, "status=200") {
		t.Errorf("request log %q; want a line for the token request with its status", log)
	}
	if strings.Contains(log, tok) || strings.Contains(log, sandbox.DefaultPartnerSecret) {
		t.Errorf("request log shows the token or the secret: %q", log)
	}
}

func TestSandboxCommandCustomConfig(t *testing.T) {
	const secret = "acme-secret-must-stay-hidden"
	path := filepath.Join(t.TempDir(), "acme.yaml")
	yaml := `partners:
  - id: acme
    name: Acme Gold
    secret: ` + secret + `
  - id: ` + sandbox.DefaultPartnerID + `
    name: Test Partner
    secret: not-the-well-known-one
goldRate:
  rate: 7000
  updatedAt: 2026-01-02T03:04:05Z
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := startSandbox(t, 2, runCtx(ctx, "sandbox", "--addr", "127.0.0.1:0", "--config", path))
	base := s.baseURL(t)
	for i, want := range []string{"  partner acme (Acme Gold)", "  partner " + sandbox.DefaultPartnerID + " (Test Partner)"} {
		if s.lines[1+i] != want {
			t.Errorf("partner line %d = %q; want %q (ids only: these secrets are not the well-known one)", i+1, s.lines[1+i], want)
		}
	}
	if status, _ := tokenStatus(t, base, "acme", secret); status != 200 {
		t.Errorf("token request as acme = %d; want 200", status)
	}
	if status, _ := tokenStatus(t, base, sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret); status != 401 {
		t.Errorf("token request with the default secret against a config that changed it = %d; want 401", status)
	}
	cancel()
	if code := <-s.code; code != exitOK {
		t.Errorf("sandbox exited %d; want 0; stderr: %s", code, s.stderr)
	}
	out := strings.Join(s.lines, "\n") + s.stderr.String()
	if strings.Contains(out, secret) || strings.Contains(out, "not-the-well-known-one") {
		t.Errorf("the sandbox printed a configured secret:\n%s", out)
	}
}

// TestSandboxCommandSignals stops the command as a user does, through the
// process's own run entry point.
func TestSandboxCommandSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			s := startSandbox(t, 1, func(stdout, stderr io.Writer) int {
				return run([]string{"sandbox", "--addr", "127.0.0.1:0"}, strings.NewReader(""), stdout, stderr)
			})
			base := s.baseURL(t)
			// The request log is buffered: a line shows within its flush
			// interval while the sandbox runs (the bound here is for a loaded
			// machine), and every line is written before the command exits.
			tokenStatus(t, base, sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret)
			for deadline := time.Now().Add(10 * time.Second); !strings.Contains(s.stderr.String(), "path=/partner/auth/token"); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("no log line for the token request after 10s while serving; stderr: %q", s.stderr)
				}
			}
			tokenStatus(t, base, "nobody", "wrong")
			// The banner is printed after the signal handler is installed.
			if err := syscall.Kill(os.Getpid(), sig); err != nil {
				t.Fatal(err)
			}
			if code := <-s.code; code != exitOK {
				t.Errorf("sandbox exited %d on %v; want 0; stderr: %s", code, sig, s.stderr)
			}
			if log := s.stderr.String(); !strings.Contains(log, "status=401") {
				t.Errorf("after %v the log lacks the last request's line (status=401): %q", sig, log)
			}
		})
	}
}

func TestSandboxCommandUsageErrors(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.yaml")
	os.WriteFile(broken, []byte("partners:\n  - id: p\n    name: P\n    secret: s\n    colour: blue\ngoldRate: {rate: 1, updatedAt: 2026-01-02T03:04:05Z}\n"), 0o600)
	invalid := filepath.Join(dir, "invalid.yaml")
	os.WriteFile(invalid, []byte("partners:\n  - id: p\n    name: P\n    secret: s\ngoldRate:\n  rate: -3\n  updatedAt: 2026-01-02T03:04:05Z\n"), 0o600)
	missing := filepath.Join(dir, "missing.yaml")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string // prefix of stderr
	}{
		{"unknown key", []string{"sandbox", "--addr", "127.0.0.1:0", "--config", broken}, exitUsage, "milligold: " + broken + ":5: partners[0].colour: unknown key"},
		{"bad value", []string{"sandbox", "--addr", "127.0.0.1:0", "--config", invalid}, exitUsage, "milligold: " + invalid + ":6: goldRate.rate: must be a positive finite number"},
		{"missing file", []string{"sandbox", "--addr", "127.0.0.1:0", "--config", missing}, exitUsage, "milligold: open " + missing + ": no such file or directory"},
		{"unknown flag", []string{"sandbox", "--port", "8080"}, exitUsage, "milligold: unknown flag: --port"},
		{"argument", []string{"sandbox", "now"}, exitUsage, `milligold: sandbox takes no arguments; got "now"`},
		{"bad port", []string{"sandbox", "--addr", "127.0.0.1:99999"}, exitUsage, `milligold: --addr "127.0.0.1:99999": the port must be a number from 0 to 65535`},
		{"nonsense address", []string{"sandbox", "--addr", "nonsense"}, exitUsage, `milligold: --addr "nonsense": want HOST:PORT, such as 127.0.0.1:8080`},
		{"print-config with arguments", []string{"sandbox", "--print-config", "x"}, exitUsage, `milligold: sandbox takes no arguments; got "x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := run(tc.args, strings.NewReader(""), &stdout, &stderr)
			if code != tc.code || !strings.HasPrefix(stderr.String(), tc.stderr) {
				t.Errorf("milligold %s = %d, stderr %q; want %d, %q", strings.Join(tc.args, " "), code, stderr.String(), tc.code, tc.stderr)
			}
			if stdout.Len() != 0 {
				t.Errorf("milligold %s printed %q; want nothing: it never started", strings.Join(tc.args, " "), stdout.String())
			}
		})
	}
}

// syncBuffer is a strings.Builder safe for the command's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDialable: the banner prints an address a client here can use.
func TestDialable(t *testing.T) {
	for _, tt := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, "127.0.0.1:8080"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "127.0.0.1:8080"},
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}, "127.0.0.1:9"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 9}, "[::1]:9"},
	} {
		if got := dialable(tt.addr); got != tt.want {
			t.Errorf("dialable(%v) = %q; want %q", tt.addr, got, tt.want)
		}
	}
}

func TestSandboxPrintConfig(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := run([]string{"sandbox", "--print-config"}, strings.NewReader(""), &stdout, &stderr); code != exitOK {
		t.Fatalf("milligold sandbox --print-config = %d, stderr %q; want 0", code, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "# ") || !strings.Contains(stdout.String(), "goldBalance:") {
		t.Errorf("--print-config printed %q; want the commented default", stdout.String())
	}
	if _, err := sandbox.ParseConfig("printed.yaml", []byte(stdout.String())); err != nil {
		t.Errorf("the printed config does not parse: %v", err)
	}
}

func TestSandboxAddressInUseSuggestsAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stdout, stderr strings.Builder
	code := run([]string{"sandbox", "--addr", ln.Addr().String()}, strings.NewReader(""), &stdout, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), "address already in use") || !strings.Contains(stderr.String(), "--addr 127.0.0.1:PORT") {
		t.Errorf("milligold sandbox --addr (taken) = %d, stderr %q; want 1 and a hint to pick another --addr", code, stderr.String())
	}
}

// TestSandboxCommandGCPercent: the sandbox serves with its documented GC
// target (the default, or --gc-percent), a GOGC in the environment wins over
// the default, and the process's own setting comes back when it returns.
func TestSandboxCommandGCPercent(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	for _, tt := range []struct {
		name string
		gogc string
		args []string
		want int
	}{
		{"default", "", nil, sandbox.DefaultGCPercent},
		{"flag", "", []string{"--gc-percent", "250"}, 250},
		{"GOGC in the environment", "150", nil, 100}, // the runtime read GOGC at start; the command leaves it alone
		{"flag over GOGC", "150", []string{"--gc-percent", "300"}, 300},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			args := append([]string{"sandbox", "--addr", "127.0.0.1:0"}, tt.args...)
			s := startSandbox(t, 1, func(stdout, stderr io.Writer) int {
				a := &app{ctx: ctx, stdin: strings.NewReader(""), stdout: stdout, stderr: stderr,
					getenv: func(k string) string {
						if k == "GOGC" {
							return tt.gogc
						}
						return ""
					}}
				return a.run(args)
			})
			s.baseURL(t)
			got := debug.SetGCPercent(-1) // read it (and stop GC for a moment)
			debug.SetGCPercent(got)
			if got != tt.want {
				t.Errorf("serving with GC percent %d; want %d", got, tt.want)
			}
			cancel()
			if code := <-s.code; code != exitOK {
				t.Fatalf("exit %d; stderr: %s", code, s.stderr)
			}
			if after := debug.SetGCPercent(100); after != 100 {
				t.Errorf("after the command the GC percent is %d; want the 100 it found", after)
			}
		})
	}
}
