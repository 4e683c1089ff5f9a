//go:build unix

package sandbox_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/milligold/milligold-go/sandbox"
)

const (
	nofileChildEnv = "SANDBOX_NOFILE_CHILD"
	childNofile    = 64
)

// TestServeUnderLowNofile (issue 11, item 9): a sandbox process whose
// RLIMIT_NOFILE is 64 serves with Serve's defaults while one client opens
// and holds three times that many keep-alive connections; every request, the
// attacker's and then another client's, is answered. Without a cap, accept4
// failed with "too many open files" and the rest waited until idle
// connections timed out. The sandbox runs in a re-executed test binary, so
// the limit does not touch this process.
func TestServeUnderLowNofile(t *testing.T) {
	if os.Getenv(nofileChildEnv) != "" {
		nofileChild()
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeUnderLowNofile$")
	cmd.Env = append(os.Environ(), nofileChildEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close() // the child shuts down when its stdin closes
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("the sandbox child did not exit; stderr:\n%s", stderr.String())
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "ADDR ")
	if err != nil || !ok {
		t.Fatalf("child said %q, %v; stderr:\n%s", line, err, stderr.String())
	}
	for i := range 3 * childNofile {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET /partner/gold/rate HTTP/1.1\r\nHost: sandbox\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("keep-alive connection %d under RLIMIT_NOFILE %d got no answer: %v; child stderr:\n%s", i+1, childNofile, err, stderr.String())
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	c := &http.Client{Timeout: 5 * time.Second}
	res, err := c.Post("http://"+addr+"/partner/auth/token", "application/x-www-form-urlencoded",
		strings.NewReader(tokenForm(sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret)))
	if err != nil {
		t.Fatalf("another client, %d keep-alive connections held: %v", 3*childNofile, err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("another client's token request = %d; want 200", res.StatusCode)
	}
}

// nofileChild serves the default sandbox under RLIMIT_NOFILE childNofile
// until stdin closes; it prints "ADDR host:port" first.
func nofileChild() {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(1)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: childNofile, Max: childNofile}); err != nil {
		fail(err)
	}
	h, err := sandbox.New(sandbox.Default())
	if err != nil {
		fail(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { io.Copy(io.Discard, os.Stdin); cancel() }()
	fmt.Printf("ADDR %s\n", ln.Addr())
	if err := sandbox.Serve(ctx, ln, h, sandbox.ServeOptions{ShutdownTimeout: time.Second}); err != nil {
		fail(err)
	}
	os.Exit(0)
}
