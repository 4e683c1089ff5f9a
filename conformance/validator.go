package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/milligold/milligold-go/gen/apispec"
	"github.com/milligold/milligold-go/gen/middleware"
)

// Sources of a Violation.
const (
	SourceKin   = "kin-openapi"
	SourcePrism = "prism" // Stoplight Prism, through its sl-violations response header
)

// Sides of a Violation.
const (
	SideRequest  = "request"
	SideResponse = "response"
)

// Violation is one way a request or a response departs from openapi.yaml.
// Its message names where (a JSON pointer, a header, the status) and never
// carries a value, so secrets and tokens stay out of it.
type Violation struct {
	Side      string `json:"side"`                // SideRequest or SideResponse
	Operation string `json:"operation,omitempty"` // "GET /gold/rate"; empty when no operation matched
	Status    int    `json:"status,omitempty"`    // the response's status; 0 for request violations
	Source    string `json:"source"`              // SourceKin or SourcePrism
	Message   string `json:"message"`
}

func (v Violation) String() string {
	var b strings.Builder
	b.WriteString(v.Side)
	if v.Operation != "" {
		b.WriteString(" " + v.Operation)
	}
	if v.Status != 0 {
		b.WriteString(" " + strconv.Itoa(v.Status))
	}
	if v.Source != SourceKin {
		b.WriteString(" (" + v.Source + ")")
	}
	b.WriteString(": " + v.Message)
	return b.String()
}

// Pair is an operation of the spec ("GET /gold/rate") and one of its
// response statuses.
type Pair struct {
	Operation string `json:"operation"`
	Status    int    `json:"status"`
}

// String reads like a case name: "GET /gold/rate: 200".
func (p Pair) String() string { return fmt.Sprintf("%s: %d", p.Operation, p.Status) }

func comparePairs(a, b Pair) int {
	if c := strings.Compare(a.Operation, b.Operation); c != 0 {
		return c
	}
	return a.Status - b.Status
}

// Validator checks requests and responses against the spec embedded in
// gen/api (openapi.yaml). It loads the spec and builds its router once; it is
// safe for concurrent use.
type Validator struct {
	doc      *openapi3.T
	basePath string
	router   routers.Router
	options  *openapi3filter.Options
}

// NewValidator returns a Validator for the API served under basePath
// ("/partner"; "" or "/" for the root). The spec's own servers are not
// consulted: requests to any host and port match, and basePath is cut from
// their path before routing.
func NewValidator(basePath string) (*Validator, error) {
	doc, err := apispec.GetSwagger()
	if err != nil {
		return nil, fmt.Errorf("conformance: load the embedded spec: %w", err)
	}
	doc.Servers = nil // route on the path alone
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("conformance: build the router: %w", err)
	}
	opts := &openapi3filter.Options{
		IncludeResponseStatus: true, // an undocumented status is a violation
		MultiError:            true,
		AuthenticationFunc:    authenticate,
	}
	opts.WithCustomSchemaErrorFunc(schemaMessage)
	return &Validator{doc: doc, basePath: strings.TrimSuffix(basePath, "/"), router: router, options: opts}, nil
}

// Documented returns every (operation, status) pair the spec documents,
// sorted.
func (v *Validator) Documented() []Pair {
	var pairs []Pair
	for path, item := range v.doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code := range op.Responses.Map() {
				status, err := strconv.Atoi(code)
				if err != nil {
					continue // "default" and ranges such as "5XX" name no single status
				}
				pairs = append(pairs, Pair{method + " " + path, status})
			}
		}
	}
	slices.SortFunc(pairs, comparePairs)
	return pairs
}

// checked is a request after validation: its route (nil when none matched)
// and the values to keep out of messages.
type checked struct {
	input     *openapi3filter.RequestValidationInput
	operation string
	secrets   []string
}

// checkRequest validates req, whose body has been read into body.
func (v *Validator) checkRequest(req *http.Request, body []byte) (checked, []Violation) {
	c := checked{secrets: v.requestSecrets(req, body)}
	rel, ok := strings.CutPrefix(req.URL.Path, v.basePath)
	if !ok || !strings.HasPrefix(rel, "/") {
		return c, []Violation{{Side: SideRequest, Source: SourceKin,
			Message: c.redact(fmt.Sprintf("%s %s is not under the base path %q", req.Method, req.URL.Path, v.basePath))}}
	}
	routed := *req
	routed.URL = &url.URL{Path: rel}
	route, params, err := v.router.FindRoute(&routed)
	if err != nil {
		return c, []Violation{{Side: SideRequest, Source: SourceKin,
			Message: c.redact(fmt.Sprintf("%s %s: %v", req.Method, req.URL.Path, err))}}
	}
	c.operation = route.Method + " " + route.Path
	c.input = &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route, Options: v.options,
	}
	err = openapi3filter.ValidateRequest(req.Context(), c.input)
	// ValidateRequest consumed req.Body; the response check may read it again.
	setBody(req, body)
	return c, c.violations(SideRequest, 0, err)
}

// checkResponse validates a response to the request c describes.
func (v *Validator) checkResponse(ctx context.Context, c *checked, status int, header http.Header, body []byte) []Violation {
	c.secrets = append(c.secrets, v.responseSecrets(body)...)
	err := openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: c.input,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                v.options,
	})
	return c.violations(SideResponse, status, err)
}

func (c *checked) violations(side string, status int, err error) []Violation {
	var out []Violation
	for _, msg := range messages(err) {
		out = append(out, Violation{Side: side, Operation: c.operation, Status: status,
			Source: SourceKin, Message: c.redact(msg)})
	}
	return out
}

// minSecret is the shortest value redact replaces: a shorter one matches
// ordinary words ("s" would garble every message), and messages carry no
// values to begin with.
const minSecret = 6

// redact replaces the request's secrets in msg, longest first.
func (c *checked) redact(msg string) string {
	secrets := slices.Clone(c.secrets)
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, s := range secrets {
		if len(s) >= minSecret {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return msg
}

// messages flattens what openapi3filter returns into one message per
// problem, each keeping its context ("response body doesn't match schema").
func messages(err error) []string {
	switch e := err.(type) {
	case nil:
		return nil
	case openapi3.MultiError:
		return each(e, func(sub error) error { return sub })
	case *openapi3filter.RequestError:
		if multi, ok := e.Err.(openapi3.MultiError); ok {
			return each(multi, func(sub error) error { one := *e; one.Err = sub; return &one })
		}
	case *openapi3filter.ResponseError:
		if multi, ok := e.Err.(openapi3.MultiError); ok {
			return each(multi, func(sub error) error { one := *e; one.Err = sub; return &one })
		}
	}
	return []string{strings.Join(strings.Fields(err.Error()), " ")}
}

// each returns the messages of every problem in multi, wrapped in its context.
func each(multi openapi3.MultiError, wrap func(error) error) []string {
	var out []string
	for _, sub := range multi {
		out = append(out, messages(wrap(sub))...)
	}
	return out
}

// schemaMessage names the failing location and the reason; kin-openapi's
// reasons never include the value, so neither does the message.
func schemaMessage(err *openapi3.SchemaError) string {
	return "/" + strings.Join(err.JSONPointer(), "/") + ": " + err.Reason
}

// authenticate checks the form of the credentials the spec's security
// schemes require; whether the token is any good is the server's business.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	s := in.SecurityScheme
	if s.Type != "http" || !strings.EqualFold(s.Scheme, "bearer") {
		return in.NewError(fmt.Errorf("security scheme %q (%s %s) is not supported", in.SecuritySchemeName, s.Type, s.Scheme))
	}
	values := in.RequestValidationInput.Request.Header.Values("Authorization")
	switch {
	case len(values) == 0:
		return in.NewError(errors.New("no Authorization header"))
	case len(values) > 1:
		return in.NewError(errors.New("more than one Authorization header"))
	}
	token, ok := strings.CutPrefix(values[0], "Bearer ")
	if !ok || token == "" || strings.ContainsAny(token, " \t") {
		return in.NewError(errors.New(`Authorization is not "Bearer <token>" with a single space`))
	}
	return nil
}

// requestSecrets returns the credentials in req: the Authorization header's
// and every form field the spec marks as a password.
func (v *Validator) requestSecrets(req *http.Request, body []byte) []string {
	var out []string
	if h := req.Header.Get("Authorization"); h != "" {
		out = append(out, h)
		if _, cred, ok := strings.Cut(h, " "); ok && strings.TrimSpace(cred) != "" {
			out = append(out, strings.TrimSpace(cred))
		}
	}
	if mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		form, _ := url.ParseQuery(string(body))
		for _, name := range []string{middleware.SecretFormField} {
			for _, val := range form[name] {
				if val != "" {
					out = append(out, val, url.QueryEscape(val))
				}
			}
		}
	}
	return out
}

// responseSecrets returns the access token a token response carries.
func (v *Validator) responseSecrets(body []byte) []string {
	var env struct {
		Data map[string]any `json:"data"`
	}
	if json.Unmarshal(body, &env) != nil {
		return nil
	}
	if tok, ok := env.Data[middleware.TokenField].(string); ok && tok != "" {
		return []string{tok}
	}
	return nil
}

func setBody(req *http.Request, body []byte) {
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body, req.GetBody = http.NoBody, nil
	}
}
