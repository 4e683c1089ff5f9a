package sandbox_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milligold/milligold-go/gen/apispec"
	"github.com/milligold/milligold-go/sandbox"
)

// wireCases are raw requests, written to the socket as they stand. plain
// marks the ones Go's net/http answers itself, before any handler, in plain
// text; every other 4xx/5xx is the sandbox's and carries the envelope.
var wireCases = []struct {
	name   string
	raw    string
	status int
	plain  bool
}{
	// Answered by net/http before the sandbox sees them (issue 11, item 10).
	{"HTTP/2.0 request line", "GET /partner/gold/rate HTTP/2.0\r\nHost: x\r\n\r\n", 505, true},
	{"TE chunked twice", "GET /partner/gold/rate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 501, true},
	{"headers over the hard cap", "GET /partner/gold/rate HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("x", 80<<10) + "\r\n\r\n", 431, true},
	{"no Host in HTTP/1.1", "GET /partner/gold/rate HTTP/1.1\r\n\r\n", 400, true},
	{"two Hosts", "GET /partner/gold/rate HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400, true},
	{"malformed Host", "GET /partner/gold/rate HTTP/1.1\r\nHost: a b\r\n\r\n", 400, true},
	{"bad Content-Length", "POST /partner/auth/token HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, true},
	{"conflicting Content-Lengths", "POST /partner/auth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400, true},
	{"invalid header name", "GET /partner/gold/rate HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n", 400, true},
	{"NUL in a header value", "GET /partner/gold/rate HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", 400, true},
	{"request line without version", "GET /partner/gold/rate\r\n\r\n", 400, true},
	{"bad escape in the path", "GET /partner/gold/%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400, true},
	{"unsupported Expect", "POST /partner/auth/token HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\nContent-Length: 1\r\n\r\na", 417, true},
	// Answered by the sandbox, in the envelope.
	{"asterisk target", "GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400, false},
	{"CONNECT", "CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n", 400, false},
	{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, false},
	{"absolute-form target", "GET http://other/partner/gold/rate HTTP/1.1\r\nHost: x\r\n\r\n", 401, false},
	{"HTTP/1.0 without Host", "GET /partner/gold/rate HTTP/1.0\r\n\r\n", 401, false},
	{"h2c upgrade", "GET /partner/gold/rate HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n", 401, false},
	{"malformed chunked body", "POST /partner/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, false},
	{"body cut short", "POST /partner/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\npartnerId=a", 400, false}, // then the client half-closes
	{"body over 64 KiB, announced", "POST /partner/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 70000\r\n\r\n" + strings.Repeat("a", 70000), 413, false},
	{"headers over 16 KiB", "GET /partner/gold/rate HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("x", 20<<10) + "\r\n\r\n", 431, false},
	{"unknown method", "BREW /partner/gold/rate HTTP/1.1\r\nHost: x\r\n\r\n", 405, false},
	{"lowercase method", "get /partner/gold/rate HTTP/1.1\r\nHost: x\r\n\r\n", 405, false},
	{"dot segments", "GET /partner/x/../gold/rate HTTP/1.1\r\nHost: x\r\n\r\n", 404, false},
	{"double slash", "GET /partner//gold/rate HTTP/1.1\r\nHost: x\r\n\r\n", 404, false},
	{"NUL in the path parameter", "GET /partner/user/info/%00 HTTP/1.1\r\nHost: x\r\n\r\n", 400, false},
	{"outside the base path", "GET /gold/rate HTTP/1.1\r\nHost: x\r\n\r\n", 404, false},
	{"bad form escape", "POST /partner/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5\r\n\r\na=%zz", 400, false},
	{"token without credentials", "POST /partner/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n\r\n", 400, false},
}

// TestWireAnswers (issue 11, item 10) writes raw requests to a socket of
// sandbox.Serve: every 4xx/5xx the sandbox writes has the envelope, and the
// ones net/http writes itself are plain text, as the spec's envelope reading
// says, which names each such status.
func TestWireAnswers(t *testing.T) {
	h, err := sandbox.New(sandbox.Default())
	if err != nil {
		t.Fatal(err)
	}
	addr := serveWith(t, h, sandbox.ServeOptions{})
	for _, c := range wireCases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			go func() { // a server may answer before reading it all
				io.WriteString(conn, c.raw)
				conn.(*net.TCPConn).CloseWrite() // nothing more comes: a cut body ends here
			}()
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != c.status {
				t.Fatalf("status %d %q; want %d", res.StatusCode, body, c.status)
			}
			if !c.plain {
				if problem := envelopeProblem(res, body); problem != "" {
					t.Errorf("%d %q: %s; want the envelope", res.StatusCode, body, problem)
				}
				return
			}
			if ct := res.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("net/http's own %d has Content-Type %q; the spec says plain text", c.status, ct)
			}
		})
	}
	spec, err := apispec.GetSwagger()
	if err != nil {
		t.Fatal(err)
	}
	_, envelope, _ := strings.Cut(spec.Info.Description, "## Envelope")
	envelope, _, _ = strings.Cut(envelope, "\n## ")
	for _, c := range wireCases {
		if c.plain && !regexp.MustCompile(`\b`+strconv.Itoa(c.status)+`\b`).MatchString(envelope) {
			t.Errorf("the spec's envelope reading does not name %d, which net/http answers in plain text (%s)", c.status, c.name)
		}
	}
}

// wireServer is one sandbox.Serve for all of FuzzWire's inputs.
var wireServer struct {
	once sync.Once
	addr string
	err  error
}

// FuzzWire writes arbitrary bytes to a socket of sandbox.Serve, then
// half-closes it: every answer comes (no hang), no answer is a 5xx of the
// sandbox's, every error the sandbox writes has the envelope, and a
// plain-text one has a status the spec's envelope reading names for net/http.
func FuzzWire(f *testing.F) {
	for _, c := range wireCases {
		if len(c.raw) < 4<<10 {
			f.Add([]byte(c.raw))
		}
	}
	f.Add([]byte("GET /partner/gold/rate HTTP/1.1\r\nHost: x\r\n\r\nGET /partner/gold/rate HTTP/1.1\r\nHost: x\r\n\r\n"))
	plain := map[int]bool{}
	for _, c := range wireCases {
		plain[c.status] = plain[c.status] || c.plain
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		wireServer.once.Do(func() {
			h, err := sandbox.New(sandbox.Default())
			if err != nil {
				wireServer.err = err
				return
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				wireServer.err = err
				return
			}
			wireServer.addr = ln.Addr().String()
			go sandbox.Serve(context.Background(), ln, h, sandbox.ServeOptions{}) // for the process's life
		})
		if wireServer.err != nil {
			t.Fatal(wireServer.err)
		}
		conn, err := net.Dial("tcp", wireServer.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			conn.Write(raw)
			conn.(*net.TCPConn).CloseWrite()
		}()
		br := bufio.NewReader(conn)
		for {
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					t.Fatalf("%q: no answer and no close within 10 s", raw)
				}
				return // the server closed the connection
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				return
			}
			if res.StatusCode < 400 {
				continue
			}
			if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
				if problem := envelopeProblem(res, body); problem != "" {
					t.Fatalf("%q -> %d %q: %s", raw, res.StatusCode, body, problem)
				}
				continue
			}
			if !plain[res.StatusCode] {
				t.Fatalf("%q -> %d %q in plain text; the spec names only %v for net/http's own answers", raw, res.StatusCode, body, plain)
			}
		}
	})
}
