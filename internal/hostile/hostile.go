// Package hostile is the scriptable fake of the API for the client's tests:
// by default it answers the API's three operations under /partner as the
// document does, a test replaces any answer with its own (an error, a 429,
// a sequence of answers, or for attacking the client a redirect, an
// undocumented 2xx, a huge or dribbled body, an echo of the credentials),
// and it records every request it receives, so a test can count calls and
// show that the token or the secret never reached it. With Partner it also
// checks credentials and the bearer token as the API does.
//
// (internal/faultserver is another thing: faults in front of the real
// sandbox, for the client's and the limiter's behaviour under them.)
package hostile

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Paths of the API's operations on a server whose base URL is URL.
const (
	TokenPath = "/partner/auth/token"
	RatePath  = "/partner/gold/rate"
	UserPath  = "/partner/user/info/1234567890"
)

// The document's answers, which the server gives by default. Token is not
// JWT-shaped, so only redaction by value can hide it.
const (
	Token       = "opaque-hostile-token-0123456789"
	TokenAnswer = `{"success":true,"data":{"accessToken":"` + Token + `","expiresIn":3600,"createdAt":1688994271}}`
	RateAnswer  = `{"success":true,"data":{"rate":1111,"cgstRate":0.015,"sgstRate":0.015,"updatedAt":"2023-01-05T09:17:03.459Z"}}`
	UserAnswer  = `{"success":true,"data":{"id":"cljwvd2x20001mm0gg0a9z5px","name":"Test User","email":"test@example.com","countryCode":"91","mobileNumber":"1234567890","gender":"MALE","birthday":null,"upiId":"milligold.911234567890@icici","address":null,"pincode":null,"goldBalance":0}}`
	// NotFoundAnswer is the document's 404, given for any path without a handler.
	NotFoundAnswer = `{"success":false,"error":"The requested resource was not found","errorCode":"3d1c75d0-37ee-4530-b281-4ab9c597f2bb"}`
)

// Request is what the server received.
type Request struct {
	Method        string
	Path          string // with the query, as sent
	Authorization string
	Header        http.Header // all of them, Authorization included
	Body          string      // at most 64 KiB
}

// Server is a running hostile server; safe for concurrent use.
type Server struct {
	Origin string // scheme://host:port
	URL    string // Origin + "/partner", the base URL to point a client at

	mu       sync.Mutex
	handlers map[string]http.HandlerFunc
	reqs     []Request
	bearer   bool // Partner: paths other than TokenPath need the token
}

// New starts a server on loopback, closed when the test ends.
func New(t testing.TB) *Server { return NewOn(t, nil) }

// NewOn is New serving on l (nil: a new loopback listener), for a test
// that needs the server at another address.
func NewOn(t testing.TB, l net.Listener) *Server {
	s := &Server{handlers: map[string]http.HandlerFunc{
		TokenPath: JSON(http.StatusOK, TokenAnswer),
		RatePath:  JSON(http.StatusOK, RateAnswer),
		UserPath:  JSON(http.StatusOK, UserAnswer),
	}}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	if l != nil {
		ts.Listener.Close()
		ts.Listener = l
	}
	ts.Start()
	t.Cleanup(ts.Close)
	s.Origin = ts.URL
	s.URL = ts.URL + "/partner"
	return s
}

// Partner makes the server check credentials as the API does: the token
// answer needs a POST with this partnerId and partnerSecret (see
// IssueToken), and every other path "Authorization: Bearer "+Token, else
// 401 with the envelope, before the path's handler runs. A handler later
// set for TokenPath replaces the credential check; the bearer check stays.
func (s *Server) Partner(id, secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[TokenPath] = IssueToken(id, secret)
	s.bearer = true
}

// IssueToken answers TokenAnswer to a POST with this partnerId and
// partnerSecret, and 401 with the envelope to anything else.
func IssueToken(id, secret string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.PostFormValue("partnerId") != id || r.PostFormValue("partnerSecret") != secret {
			JSON(http.StatusUnauthorized, `{"success":false,"error":"Invalid credentials","errorCode":"cred"}`)(w, r)
			return
		}
		JSON(http.StatusOK, TokenAnswer)(w, r)
	}
}

// Sequence answers the first request with hs[0], the next with hs[1], and
// so on; once they run out, every request gets the last.
func Sequence(hs ...http.HandlerFunc) http.HandlerFunc {
	var mu sync.Mutex
	next := 0
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		h := hs[min(next, len(hs)-1)]
		next++
		mu.Unlock()
		h(w, r)
	}
}

// Handle replaces the answer for path (without query), e.g. RatePath.
func (s *Server) Handle(path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[path] = h
}

// Requests returns what the server has received, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Count is how many requests the server received for path.
func (s *Server) Count(path string) int {
	n := 0
	for _, r := range s.Requests() {
		if p, _, _ := strings.Cut(r.Path, "?"); p == path {
			n++
		}
	}
	return n
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	r.Body = io.NopCloser(strings.NewReader(string(body))) // for a handler that reads the form
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.RequestURI(), Authorization: r.Header.Get("Authorization"), Header: r.Header.Clone(), Body: string(body)})
	h, bearer := s.handlers[r.URL.Path], s.bearer
	s.mu.Unlock()
	switch {
	case bearer && r.URL.Path != TokenPath && r.Header.Get("Authorization") != "Bearer "+Token:
		JSON(http.StatusUnauthorized, `{"success":false,"error":"Unauthorized","errorCode":"auth"}`)(w, r)
	case h == nil:
		JSON(http.StatusNotFound, NotFoundAnswer)(w, r)
	default:
		h(w, r)
	}
}

// JSON answers status with body as application/json.
func JSON(status int, body string) http.HandlerFunc {
	return Answer(status, "application/json", body)
}

// Answer answers status with body as contentType; "" sends no
// Content-Type at all (net/http would otherwise sniff one).
func Answer(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if contentType == "" {
			w.Header()["Content-Type"] = nil
		} else {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// Redirect answers status with Location: location.
func Redirect(status int, location string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", location)
		w.WriteHeader(status)
	}
}

// WithHeaders answers like h with these headers added.
func WithHeaders(h http.HandlerFunc, header map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		h(w, r)
	}
}

// EchoInStatusLine starts a raw TCP server on loopback that answers every
// request with a malformed status line holding the request's partnerSecret
// form field, which net/http then quotes in its error. It returns the base
// URL (with /partner); the server closes when the test ends.
func EchoInStatusLine(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				req.ParseForm()
				fmt.Fprintf(conn, "HTTP/1.1 %s OK\r\nContent-Length: 0\r\n\r\n", req.PostForm.Get("partnerSecret"))
			}()
		}
	}()
	return "http://" + l.Addr().String() + "/partner"
}
