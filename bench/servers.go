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

	// Rate, when above 0, paces wrk to this many requests a second in all
	// (see pacing); 0 sends flat out, each connection's next request as
	// soon as its answer is read.
	Rate float64
	// Histogram has wrk print its latency histogram, from which the
	// latencies it measured are recovered (Load.RawP50, RawP99). It costs
	// wrk a fraction of a second after the run.
	Histogram bool
	// External marks a server in another process: a trace or profile of
	// this one during its run shows nothing of it.
	External bool
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

// histogramMax bounds the latencies (µs) whose histogram wrk prints: wrk
// looks each distinct latency up from the smallest, so the time the dump
// takes grows with the slowest answer; a run slower than this reports no
// uncorrected percentiles.
const histogramMax = 250_000

// doneHook prints wrk's latency histogram (corrected, as wrk keeps it) for
// ParseWrk; CONNECTIONS is filled in.
const doneHook = `
function done(summary, latency, requests)
  if latency.max > %d then return end
  io.write(string.format("bench-histogram %%d %%d %%d\n", summary.duration, summary.requests, %d))
  for i = 1, #latency do
    local v, n = latency(i)
    io.write(string.format("bench-h %%d %%d\n", v, n))
  end
end
`

// pacing is the Lua that paces wrk to RATE requests a second in all (wrk
// has no rate option; wrk2 is not packaged here). Each wrk thread keeps one
// schedule, a slot every THREADS/RATE seconds, and a connection whose
// answer has been read takes the next free slot: wrk's delay hook returns
// the time to it. A late answer does not delay the schedule (the other
// connections take the slots meanwhile, so the offered load holds as long
// as a free connection is left), and a schedule that fell behind sends at
// once until it has caught up. wrk truncates the delay to whole
// milliseconds and its timers tick in milliseconds, so requests go out in
// small bursts on the millisecond (about RATE/1000 each).
const pacing = `
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk, bench_timespec *ts);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local interval = 1000 * %d / %g
local next_at = nil
function delay()
  local t = now_ms()
  next_at = (next_at or t) + interval
  if next_at <= t then return 0 end
  return next_at - t
end
`

// wrkScript writes a wrk Lua script that makes t's request (method, body,
// headers), paced when t.Rate is set and printing the histogram when
// t.Histogram is, readable by this user only, and returns its path.
func wrkScript(t Target, threads, conns int) (string, error) {
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
	if t.Rate > 0 {
		fmt.Fprintf(&b, pacing, threads, t.Rate)
	}
	if t.Histogram {
		fmt.Fprintf(&b, doneHook, histogramMax, conns)
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
	if t.Header != "" || t.Body != "" || t.Method != "" || t.Rate > 0 || t.Histogram {
		// The header carries a token and the body a secret: hand them over
		// in a private script file, not on the command line, where ps
		// would show them.
		script, err := wrkScript(t, threads, conns)
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
