package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
)

// maxBody bounds how much of a response the Transport reads.
const maxBody = 1 << 20

// PrismViolationsHeader is the header in which Stoplight Prism, as a
// validating proxy, reports what it found wrong with a request and its
// response.
const PrismViolationsHeader = "Sl-Violations"

// Transport is an http.RoundTripper that validates every request it sends
// (ValidateRequest) and every response it receives (ValidateResponse)
// against openapi.yaml, and records the violations and the (operation,
// status) pairs it saw. It also records the violations a Prism proxy in
// between reports in its sl-violations header.
//
// Requests sent with a context from ExpectInvalidRequest are negative cases:
// their request violations are expected and not recorded, and a request that
// turns out valid is recorded instead. Responses are always validated.
//
// A Transport is safe for concurrent use.
type Transport struct {
	base http.RoundTripper
	v    *Validator

	mu         sync.Mutex
	violations []Violation
	seen       map[Pair]bool
}

// NewTransport returns a Transport for the API at baseURL (its path is the
// base path, e.g. http://127.0.0.1:8080/partner), sending through base; nil
// base means http.DefaultTransport.
func NewTransport(baseURL string, base http.RoundTripper) (*Transport, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("conformance: base URL: %w", err)
	}
	v, err := NewValidator(u.Path)
	if err != nil {
		return nil, err
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &Transport{base: base, v: v, seen: map[Pair]bool{}}, nil
}

// TB is the part of testing.TB that NewTestTransport uses (so this package
// does not link the testing package into binaries).
type TB interface {
	Helper()
	Fatal(args ...any)
	Errorf(format string, args ...any)
	Cleanup(func())
}

// NewTestTransport returns a Transport (as NewTransport) that fails t at its
// end with every violation it recorded. Wrap a client's transport with it in
// any test to check that client's traffic against the spec.
func NewTestTransport(t TB, baseURL string, base http.RoundTripper) *Transport {
	t.Helper()
	tr, err := NewTransport(baseURL, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, v := range tr.Violations() {
			t.Errorf("openapi.yaml violation: %s", v)
		}
	})
	return tr
}

type invalidKey struct{}

// ExpectInvalidRequest marks requests sent with the returned context as
// deliberately violating the spec (a negative case, such as a missing bearer
// token).
func ExpectInvalidRequest(ctx context.Context) context.Context {
	return context.WithValue(ctx, invalidKey{}, true)
}

func expectsInvalid(ctx context.Context) bool {
	b, _ := ctx.Value(invalidKey{}).(bool)
	return b
}

// RoundTrip validates req, sends it, and validates the response. It does not
// modify req, and it closes req's body, on error paths too.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("conformance: read request body: %w", err)
		}
	}
	ctx := req.Context()
	check := req.Clone(ctx)
	setBody(check, body)
	c, reqViolations := t.v.checkRequest(check, body)
	invalid := expectsInvalid(ctx)
	if invalid {
		// A negative case that sends a valid request tests nothing.
		conforms := c.input != nil && len(reqViolations) == 0
		reqViolations = nil
		if conforms {
			reqViolations = []Violation{{Side: SideRequest, Operation: c.operation, Source: SourceKin,
				Message: "the request was meant to violate the spec but conforms to it"}}
		}
	}

	out := req.Clone(ctx)
	setBody(out, body)
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		t.record(reqViolations, Pair{})
		return nil, err
	}
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	resp.Body.Close()
	if err != nil {
		t.record(reqViolations, Pair{})
		return nil, fmt.Errorf("conformance: read response body: %w", err)
	}
	vs := reqViolations
	if len(respBody) > maxBody {
		respBody = respBody[:maxBody]
		vs = append(vs, Violation{Side: SideResponse, Operation: c.operation, Status: resp.StatusCode,
			Source: SourceKin, Message: fmt.Sprintf("the body is larger than %d bytes", maxBody)})
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	resp.ContentLength = int64(len(respBody))
	var pair Pair
	if c.input != nil {
		vs = append(vs, t.v.checkResponse(ctx, &c, resp.StatusCode, resp.Header, respBody)...)
		pair = Pair{c.operation, resp.StatusCode}
	}
	vs = append(vs, prismViolations(&c, resp, invalid)...)
	t.record(vs, pair)
	return resp, nil
}

func (t *Transport) record(vs []Violation, pair Pair) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.violations = append(t.violations, vs...)
	if pair.Operation != "" {
		t.seen[pair] = true
	}
}

// Violations returns what the Transport recorded so far, in order.
func (t *Transport) Violations() []Violation {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.violations)
}

// Exercised returns the (operation, status) pairs of the responses the
// Transport saw, sorted.
func (t *Transport) Exercised() []Pair {
	t.mu.Lock()
	defer t.mu.Unlock()
	pairs := make([]Pair, 0, len(t.seen))
	for p := range t.seen {
		pairs = append(pairs, p)
	}
	slices.SortFunc(pairs, comparePairs)
	return pairs
}

// Documented returns the (operation, status) pairs the spec documents.
func (t *Transport) Documented() []Pair { return t.v.Documented() }

// prismViolations reads Prism's sl-violations header. Request violations of
// a request marked invalid are expected and left out.
func prismViolations(c *checked, resp *http.Response, invalid bool) []Violation {
	raw := resp.Header.Get(PrismViolationsHeader)
	if raw == "" {
		return nil
	}
	var found []struct {
		Location []string `json:"location"`
		Severity string   `json:"severity"`
		Message  string   `json:"message"`
	}
	if err := json.Unmarshal([]byte(raw), &found); err != nil {
		return []Violation{{Side: SideResponse, Operation: c.operation, Status: resp.StatusCode, Source: SourcePrism,
			Message: "unreadable " + PrismViolationsHeader + " header: " + err.Error()}}
	}
	var out []Violation
	for _, f := range found {
		side, status := SideResponse, resp.StatusCode
		if len(f.Location) > 0 && f.Location[0] == SideRequest {
			if invalid {
				continue
			}
			side, status = SideRequest, 0
		}
		out = append(out, Violation{Side: side, Operation: c.operation, Status: status, Source: SourcePrism,
			Message: c.redact(f.Severity + ": " + f.Message)})
	}
	return out
}
