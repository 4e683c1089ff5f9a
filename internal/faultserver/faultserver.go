// Package faultserver is a loopback HTTP server for client tests: it passes
// requests to a real handler (the sandbox) unless a fault is planned for the
// request's operation, and records every request it sees, so a test can count
// attempts, retries and the rate the client kept.
package faultserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/milligold/milligold-go/gen/middleware"
)

// Operations as the spec names them (gen/middleware's ids); Plan and
// Always take these.
const (
	CreateAccessToken = middleware.OpCreateAccessToken
	GetGoldRate       = middleware.OpGetGoldRate
	GetUserInfo       = middleware.OpGetUserInfo
)

// Request is what the server saw of one request.
type Request struct {
	Op     string // operation, "" when the path is none of the API's
	Method string
	Path   string
	At     time.Time
	// TokenID is a short hash of the bearer token ("" without one), so tests
	// can tell tokens apart without holding them.
	TokenID string
	Fault   string // the fault served, "" when passed through
	// Status is the status sent (0 when none was: a reset, a hijack, a
	// client that gave up first).
	Status int
}

// Server is a running fault server. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, with the API's /partner prefix.
	URL string

	ts     *httptest.Server
	next   http.Handler
	now    func() time.Time
	mu     sync.Mutex
	plan   map[string][]Fault
	always map[string]Fault
	log    []Request
}

// New starts a fault server on loopback in front of next, which serves the
// API under /partner, and closes it when the test ends.
func New(t testing.TB, next http.Handler) *Server {
	t.Helper()
	s := &Server{next: next, now: time.Now, plan: map[string][]Fault{}, always: map[string]Fault{}}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.ts.URL + "/partner"
	t.Cleanup(s.ts.Close)
	return s
}

// Close shuts the server down; later calls do nothing.
func (s *Server) Close() { s.ts.Close() }

// Client returns an *http.Client for the server (plain loopback transport).
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Plan queues faults for op: its next requests get them, one each, in order;
// after that, requests pass through (or get the Always fault).
func (s *Server) Plan(op string, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.plan[op] = append(s.plan[op], faults...)
}

// Always serves f to every request for op that has no planned fault left.
// The zero Fault clears it.
func (s *Server) Always(op string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.serve == nil {
		delete(s.always, op)
		return
	}
	s.always[op] = f
}

// Requests returns a copy of the requests seen so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// Count returns how many requests for op arrived.
func (s *Server) Count(op string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Op == op {
			n++
		}
	}
	return n
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	op := operation(r)
	s.mu.Lock()
	f, planned := Fault{}, false
	if q := s.plan[op]; len(q) > 0 {
		f, planned = q[0], true
		s.plan[op] = q[1:]
	} else if a, ok := s.always[op]; ok {
		f, planned = a, true
	}
	i := len(s.log)
	s.log = append(s.log, Request{Op: op, Method: r.Method, Path: r.URL.Path, At: s.now(), TokenID: tokenID(r), Fault: f.Name})
	s.mu.Unlock()
	rec := &statusRecorder{ResponseWriter: w}
	if planned {
		f.serve(rec, r, s.next)
	} else {
		s.next.ServeHTTP(rec, r)
	}
	s.mu.Lock()
	s.log[i].Status = rec.status
	s.mu.Unlock()
}

// Statuses counts the statuses sent for op ("" for all operations).
func (s *Server) Statuses(op string) map[int]int {
	n := map[int]int{}
	for _, r := range s.Requests() {
		if op == "" || r.Op == op {
			n[r.Status]++
		}
	}
	return n
}

// statusRecorder notes the status a handler sends; Unwrap lets
// http.ResponseController reach the connection (Hijack, Flush).
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// operation is the id of the spec's operation r is for, "" for none.
func operation(r *http.Request) string {
	op, _ := middleware.OperationOf(r)
	return op.ID
}

func tokenID(r *http.Request) string {
	v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || v == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:4])
}

// MaxInWindow returns the largest number of requests (of any operation) that
// arrived within one window-long interval, wherever the interval starts: what
// a server whose window opened at the worst moment would have counted.
func MaxInWindow(reqs []Request, window time.Duration) int {
	best, lo := 0, 0
	for hi := range reqs {
		for reqs[hi].At.Sub(reqs[lo].At) >= window {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

// Fault is one way of answering a request badly. The zero Fault passes through.
type Fault struct {
	Name  string
	serve func(w http.ResponseWriter, r *http.Request, next http.Handler)
}

// Reset aborts the connection with a TCP reset before any response byte.
func Reset() Fault {
	return Fault{Name: "reset", serve: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		conn := hijack(w)
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close sends RST instead of FIN
		}
		_ = conn.Close()
	}}
}

// CutBody sends the real response's status and headers with its full
// Content-Length, then half the body, then closes the connection.
func CutBody() Fault {
	return Fault{Name: "cut body", serve: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		conn := hijack(w)
		defer conn.Close()
		fmt.Fprintf(conn, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n",
			rec.Code, http.StatusText(rec.Code), rec.Header().Get("Content-Type"), len(body))
		_, _ = conn.Write(body[:len(body)/2])
	}}
}

// BadJSON answers 200 with a complete HTTP response whose JSON body stops
// halfway: the transport succeeds, decoding fails.
func BadJSON() Fault {
	return Fault{Name: "bad json", serve: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body[:len(body)/2])
	}}
}

// Status answers code with the API's error envelope and the given headers.
func Status(code int, h http.Header) Fault {
	return Fault{Name: fmt.Sprintf("status %d", code), serve: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		for k, v := range h {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"success": false, "error": "fault: " + http.StatusText(code), "errorCode": "00000000-0000-4000-8000-00000000fa17",
		})
	}}
}

// Delay holds the request for d (or until the client gives up), then passes it through.
func Delay(d time.Duration) Fault {
	return Fault{Name: "delay " + d.String(), serve: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		// Read the body first: net/http notices a client hanging up (and
		// cancels r.Context()) only once the body has been consumed.
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			next.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	}}
}

// EditData passes the request through and lets edit change the success
// envelope's data object before it is sent (e.g. skew createdAt). Error
// responses pass unchanged.
func EditData(name string, edit func(data map[string]any)) Fault {
	return Fault{Name: name, serve: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		var env map[string]any
		if rec.Code == http.StatusOK && json.Unmarshal(body, &env) == nil {
			if data, ok := env["data"].(map[string]any); ok {
				edit(data)
				var buf bytes.Buffer
				if err := json.NewEncoder(&buf).Encode(env); err == nil {
					body = buf.Bytes()
				}
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body)
	}}
}

func hijack(w http.ResponseWriter) net.Conn {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(fmt.Sprintf("faultserver: hijack: %v", err)) // httptest's HTTP/1.1 server always can
	}
	return conn
}
