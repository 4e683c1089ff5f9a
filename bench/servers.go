package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Target is a server under load: wrk sends Method (GET when empty) to URL
// with Header, and Body with ContentType when Body is set.
type Target struct {
	Name        string
	URL         string
	Header      string // "Name: value", or ""
	Method      string
	Body        string
	ContentType string
	Stop        func()
}

// serve runs h on a fresh loopback port until the returned stop is called.
func serve(h http.Handler) (base string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}

// bareHandler is the ceiling: net/http reading the request's body, if any,
// and writing body with its content type, and nothing else (no routing, no
// auth, no decoding, no encoding).
func bareHandler(contentType string, body []byte) http.Handler {
	length := strconv.Itoa(len(body))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h := w.Header()
		h["Content-Type"] = []string{contentType}
		h["Content-Length"] = []string{length}
		w.Write(body)
	})
}

// startPrism runs `prism mock [extra...] spec` on a free loopback port and
// waits until it answers GET path with 200 (Prism serves the spec's paths
// without the servers' base path). The process group is killed by Stop.
// It returns how long that took and the process group.
func startPrism(ctx context.Context, prism, spec, path, header string, extra []string, logTo io.Writer) (Target, time.Duration, int, error) {
	port, err := freePort()
	if err != nil {
		return Target{}, 0, 0, err
	}
	args := append([]string{"mock", "-h", "127.0.0.1", "-p", strconv.Itoa(port)}, extra...)
	cmd := exec.Command(prism, append(args, spec)...)
	cmd.Stdout, cmd.Stderr = logTo, logTo
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return Target{}, 0, 0, fmt.Errorf("prism: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() { stopGroup(cmd.Process.Pid, exited, 5*time.Second) }
	t := Target{Name: "Prism mock", URL: fmt.Sprintf("http://127.0.0.1:%d%s", port, path), Header: header, Stop: stop}
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	for {
		if status, _, err := get(ctx, t.URL, header); err == nil {
			if status == http.StatusOK {
				return t, time.Since(began), cmd.Process.Pid, nil
			}
			stop()
			return Target{}, 0, 0, fmt.Errorf("prism: GET %s = %d; want 200", t.URL, status)
		}
		select {
		case err := <-exited:
			return Target{}, 0, 0, fmt.Errorf("prism exited before serving: %v", err)
		case <-ctx.Done():
			stop()
			return Target{}, 0, 0, fmt.Errorf("prism: not serving %s after 90s", t.URL)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// get sends GET url with header ("Name: value") and returns the status and body.
func get(ctx context.Context, url, header string) (int, []byte, error) {
	return send(ctx, Target{URL: url, Header: header})
}

// send makes t's request once and returns the status and body.
func send(ctx context.Context, t Target) (int, []byte, error) {
	method := t.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if t.Body != "" {
		body = strings.NewReader(t.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.URL, body)
	if err != nil {
		return 0, nil, err
	}
	if t.ContentType != "" {
		req.Header.Set("Content-Type", t.ContentType)
	}
	if t.Header != "" {
		name, value, ok := cutHeader(t.Header)
		if !ok {
			return 0, nil, fmt.Errorf("header %q: want \"Name: value\"", name)
		}
		req.Header.Set(name, value)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

func cutHeader(h string) (name, value string, ok bool) {
	name, value, ok = strings.Cut(h, ": ")
	return name, value, ok && name != ""
}

// wrkScript writes a wrk Lua script that makes t's request (method, body,
// headers), readable by this user only, and returns its path.
func wrkScript(t Target) (string, error) {
	var b strings.Builder
	if t.Method != "" {
		fmt.Fprintf(&b, "wrk.method = %s\n", luaString(t.Method))
	}
	if t.Body != "" {
		fmt.Fprintf(&b, "wrk.body = %s\n", luaString(t.Body))
	}
	if t.ContentType != "" {
		fmt.Fprintf(&b, "wrk.headers[\"Content-Type\"] = %s\n", luaString(t.ContentType))
	}
	if t.Header != "" {
		name, value, ok := cutHeader(t.Header)
		if !ok {
			return "", fmt.Errorf("header: want \"Name: value\"")
		}
		fmt.Fprintf(&b, "wrk.headers[%s] = %s\n", luaString(name), luaString(value))
	}
	f, err := os.CreateTemp("", "bench-wrk-*.lua") // mode 0600
	if err != nil {
		return "", err
	}
	_, err = io.WriteString(f, b.String())
	if err = errors.Join(err, f.Close()); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// luaString quotes s as a Lua string literal (decimal escapes for anything
// but plain printable ASCII).
func luaString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\%03d", c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// runWrk loads t for d and parses the report. wrk gets a hard deadline of
// d plus a minute, so a wedged server cannot hang the run.
func runWrk(ctx context.Context, wrk string, t Target, threads, conns int, d time.Duration) (Load, string, error) {
	ctx, cancel := context.WithTimeout(ctx, d+time.Minute)
	defer cancel()
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns),
		"-d", strconv.Itoa(int(d.Seconds())) + "s", "--timeout", "10s", "--latency"}
	if t.Header != "" || t.Body != "" || t.Method != "" {
		// The header carries a token and the body a secret: hand them over
		// in a private script file, not on the command line, where ps
		// would show them.
		script, err := wrkScript(t)
		if err != nil {
			return Load{}, "", err
		}
		defer os.Remove(script)
		args = append(args, "-s", script)
	}
	args = append(args, t.URL)
	cmd := exec.CommandContext(ctx, wrk, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) || ctx.Err() != nil {
			return Load{}, string(out), fmt.Errorf("wrk against %s: %v: %s", t.Name, err, firstLine(string(out)))
		}
		return Load{}, string(out), fmt.Errorf("wrk: %w", err)
	}
	l, err := ParseWrk(string(out))
	return l, string(out), err
}
