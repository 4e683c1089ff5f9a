// Package sandbox is a local milliGOLD Partner API: the generated strict
// server with the spec's request validator in front and the spec's token and
// rate-limit policy enforced by sandbox/guard through gen/apiserver's
// binding of the spec's tables. It serves under
// BasePath, so a base URL is http://HOST:PORT/partner.
package sandbox

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/google/uuid"

	"github.com/milligold/milligold-go/gen/api"
	"github.com/milligold/milligold-go/gen/apiserver"
	"github.com/milligold/milligold-go/gen/apispec"
	"github.com/milligold/milligold-go/ratelimit"
	"github.com/milligold/milligold-go/sandbox/router"
)

// BasePath is where the sandbox serves the API, as the real servers do.
const BasePath = "/partner"

// FaultHeader, when Config.Faults is on, makes an operation answer its
// documented 500 if set to "500". It is not part of the partner API.
const FaultHeader = "X-Sandbox-Fault"

// Request limits: the API's requests are tiny, so anything larger is hostile.
const (
	maxBodyBytes   = 64 << 10
	maxHeaderBytes = 16 << 10
)

// Sandbox is the API as an http.Handler. It is safe for concurrent use.
type Sandbox struct {
	logger  *slog.Logger
	now     func() time.Time // the sandbox's clock: Config.Now (time.Now if nil), moved by the control API
	wall    bool             // now is time.Now: a request's wall-clock reading is its time
	faults  bool
	window  *ratelimit.FixedWindow
	signer  *signer
	mux     mux // the API's routes: router.Router (a ServeMux without its per-request path work for the API's own routes)
	spec    *openapi3.T
	options *openapi3filter.Options
	world   world
	answers map[string]configuredAnswer // the config's responses, by the strict server's operation name
	ctl     *Control                    // nil unless built by NewWithControl

	tokenTemplate atomic.Pointer[tokenTemplate]
}

// mux is the sandbox's router: a router.Router, or for tests holding it to
// net/http's, an http.ServeMux (export_test.go).
type mux interface {
	HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request))
	http.Handler
}

// world is the configured data, indexed for the handlers, with the 200
// answers that depend only on it encoded once. Encoding the same gold rate
// and users on every request was a fifth of the handler's time; the answers
// are built with the world, so whatever changes the world (a new config, a
// control API) builds a new one and gets fresh bytes. No answer depends on
// the clock today; one that did would be re-encoded when the clock moves it.
type world struct {
	partners map[string]Partner
	secrets  map[string][sha256.Size]byte // the partners' secrets' SHA-256, for credentials
	users    map[string]api.User
	rate     api.GoldRate

	rateAnswer  api.GetGoldRateResponseObject            // nil when encoding failed: the handler encodes per request
	userAnswers map[string]api.GetUserInfoResponseObject // by mobile number, as users
}

// New validates cfg and builds the sandbox. Without cfg.SigningKey, the key
// is random, so tokens from another sandbox are refused.
func New(cfg Config) (*Sandbox, error) { return build(cfg, nil) }

// build is New, with the control API's hooks when ctl is not nil.
func build(cfg Config, ctl *Control) (*Sandbox, error) { return buildOn(cfg, ctl, router.New()) }

// buildOn is build with the router given.
func buildOn(cfg Config, ctl *Control, m mux) (*Sandbox, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sandbox: config: %w", err)
	}
	spec, err := apispec.GetSwagger()
	if err != nil {
		return nil, fmt.Errorf("sandbox: embedded spec: %w", err)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	if ctl != nil {
		ctl.clock.wall = cfg.Now == nil
		now = ctl.clock.wrap(now)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	sig, err := newSigner(cfg.SigningKey, cfg.tokenLifetime(), now)
	if err != nil {
		return nil, fmt.Errorf("sandbox: signing key: %w", err)
	}
	s := &Sandbox{
		logger:  logger,
		now:     now,
		wall:    cfg.Now == nil && ctl == nil,
		faults:  cfg.Faults,
		window:  ratelimit.NewFixedWindow(cfg.policy(), now),
		signer:  sig,
		mux:     m,
		spec:    spec,
		options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}, // unused: see validatingMux
		world:   newWorld(cfg),
		answers: configuredAnswers(cfg.Responses),
		ctl:     ctl,
	}
	var mws []api.StrictMiddlewareFunc
	if len(s.answers) > 0 {
		// Innermost: Prefer and faults win over it. Without responses in the
		// config, nothing is added to the hot path.
		mws = append(mws, s.responses)
	}
	if ctl != nil {
		ctl.s = s
		mws = append(mws, ctl.middleware) // first in the list runs innermost: after auth and the window
	}
	// The generated glue runs the guard and then the middlewares above
	// (wrapped once) around the typed strict server.
	strict := apiserver.NewStrictServer(&server{s: s}, mws, apiserver.ServerOptions{
		Verify: s.verify,
		Credentials: func(ctx context.Context, id, secret string) bool {
			_, ok := s.credentials(id, secret)
			if ok {
				i := info(ctx)
				i.verifiedID, i.verifiedSecret = id, secret
			}
			return ok
		},
		Envelope:               s.envelope,
		Window:                 s.window,
		Clock:                  s.requestTime,
		HeadersOnEveryResponse: cfg.RateLimit.HeadersOnEveryResponse,
		Counted:                s.counted(),
	}, api.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  s.requestError,
		ResponseErrorHandlerFunc: s.responseError,
	})
	apiserver.HandlerWithOptions(strict, api.StdHTTPServerOptions{
		BaseURL:          BasePath,
		BaseRouter:       validatingMux{s: s, paths: map[string]bool{}},
		ErrorHandlerFunc: s.requestError,
	})
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, http.StatusNotFound, "The requested resource was not found")
	})
	return s, nil
}

func newWorld(cfg Config) world {
	w := world{
		partners: make(map[string]Partner, len(cfg.Partners)),
		users:    make(map[string]api.User, len(cfg.Users)),
		rate:     cfg.GoldRate,
	}
	w.rate.UpdatedAt = w.rate.UpdatedAt.UTC()
	w.secrets = make(map[string][sha256.Size]byte, len(cfg.Partners))
	for _, p := range cfg.Partners {
		w.partners[p.ID] = p
		w.secrets[p.ID] = secretHash(p.Secret)
	}
	for _, u := range cfg.Users {
		w.users[u.MobileNumber] = u
	}
	if b, err := encodeAnswer(api.GetGoldRate200JSONResponse{Success: true, Data: w.rate}); err == nil {
		w.rateAnswer = goldRateAnswer{b}
	}
	w.userAnswers = make(map[string]api.GetUserInfoResponseObject, len(w.users))
	for n, u := range w.users {
		if b, err := encodeAnswer(api.GetUserInfo200JSONResponse{Success: true, Data: u}); err == nil {
			w.userAnswers[n] = userAnswer{b}
		}
	}
	return w
}

// verify maps a bearer token to a partner that still exists, and notes the
// partner for the log line (also when its request is then rate limited).
func (s *Sandbox) verify(ctx context.Context, token string) (string, error) {
	id, err := s.signer.verifyAt(token, s.requestTime(ctx))
	if err != nil {
		return "", err
	}
	if _, ok := s.world.partners[id]; !ok {
		return "", errNoPartner
	}
	if s.ctl != nil && s.ctl.revoked(token) {
		return "", errRevoked
	}
	info(ctx).partner = id
	return id, nil
}

// counted is the guard's Counted hook: the journal's entry shows the window
// the request counted against. Without the journal, nothing is noted.
func (s *Sandbox) counted() func(context.Context, ratelimit.Decision) {
	if s.ctl == nil || s.ctl.journal == nil {
		return nil
	}
	return func(ctx context.Context, d ratelimit.Decision) {
		if e := info(ctx).entry; e != nil && e.Remaining == nil {
			e.counted(d)
		}
	}
}

// windows reports how many rate-limit windows are live; idle ones are
// dropped. Tests read it (export_test.go).
func (s *Sandbox) windows() int { return s.window.Len() }

// requestInfo collects what the request log line reports.
type requestInfo struct {
	start     time.Time // the wall clock when the request entered: when its header was read (requestStart)
	now       time.Time // the request's time on the sandbox's clock (requestTime); zero until first asked
	partner   string
	errorCode string
	fault     bool
	message   string  // the envelope's error: for a 400, the validation reason
	operation string  // the spec's operationId, when the control API is on
	control   string  // what the control API did to the answer, if anything
	dropped   bool    // the control API dropped the connection
	entry     *stored // the request's journal entry, while it is filled (control API with the journal on)
	// The credentials the guard found right, so the token handler need not
	// hash the secret again (a tenth of a token request's instructions).
	verifiedID, verifiedSecret string
}

type infoKey struct{}

// requestState is a request's context carrying its requestInfo (under
// infoKey), and its recorder: one allocation where context.WithValue and
// the two would be three.
type requestState struct {
	context.Context
	info requestInfo
	rec  recorder
}

func (c *requestState) Value(key any) any {
	if _, ok := key.(infoKey); ok {
		return &c.info
	}
	return c.Context.Value(key)
}

// at returns the sandbox's clock at the wall-clock reading wall: wall
// itself on the wall clock, wall plus the control API's offset, or a
// reading of a configured clock. A request reads the clock once where it
// enters and passes the reading down (rate-limit window, token checks):
// about six readings per request were a twentieth of its CPU.
func (s *Sandbox) at(wall time.Time) time.Time {
	switch {
	case s.wall:
		return wall
	case s.ctl != nil:
		return s.ctl.clock.at(wall)
	}
	return s.now()
}

// requestTime returns the request ctx's time on the sandbox's clock: the
// first call of a request takes it from the request's start (at), later
// ones return the same. Taken where it is first needed, a configured
// clock's panic comes where it always came (after the token request's form
// is read, whose secret the panic's log line then cuts out).
func (s *Sandbox) requestTime(ctx context.Context) time.Time {
	ri := info(ctx)
	if ri.now.IsZero() {
		if ri.start.IsZero() { // not a context ServeHTTP made
			return s.now()
		}
		ri.now = s.at(ri.start)
	}
	return ri.now
}

func info(ctx context.Context) *requestInfo {
	if i, ok := ctx.Value(infoKey{}).(*requestInfo); ok {
		return i
	}
	return &requestInfo{}
}

// ServeHTTP runs the pipeline: limits, route, validate, authenticate, rate
// limit, handle, write; then one log line.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := requestStart(r)
	st := &requestState{Context: r.Context(), info: requestInfo{start: start, fault: s.faults && r.Header.Get(FaultHeader) == "500"}}
	var jc *stored
	if s.ctl != nil {
		if s.ctl.owns(r) {
			rec := &recorder{ResponseWriter: w, status: http.StatusOK}
			defer s.recoverPanic(rec, r)
			s.ctl.ServeHTTP(rec, r)
			return
		}
		w, r, jc = s.ctl.capture(w, r)
		st.info.entry = jc
	}
	st.rec = recorder{ResponseWriter: w, status: http.StatusOK}
	ri, rec := &st.info, &st.rec
	r = r.WithContext(st)
	s.serve(rec, r)
	end := s.finish(r, ri, rec.status, start)
	if jc != nil {
		s.ctl.record(r, rec.status, ri, jc, start, end)
	}
}

// serve routes r; a panic below it is answered with a 500 (recoverPanic),
// so the request still gets its log line and journal entry.
func (s *Sandbox) serve(rec *recorder, r *http.Request) {
	defer s.recoverPanic(rec, r)
	if headerSize(r) > maxHeaderBytes {
		s.writeError(rec, r, http.StatusRequestHeaderFieldsTooLarge, "request headers too large")
	} else if !strings.HasPrefix(r.URL.Path, "/") {
		// "*" or an absolute-form target ServeMux would answer with a bare 400.
		s.writeError(rec, r, http.StatusBadRequest, "malformed request target")
	} else if !canonical(r.URL.Path) {
		// ServeMux would answer a redirect in HTML; an API path has one spelling.
		s.writeError(rec, r, http.StatusNotFound, "The requested resource was not found")
	} else {
		if r.Body != nil && r.Body != http.NoBody {
			// Only a request with a body gets the bound: wrapping net/http's
			// NoBody made the validator read and re-wrap every GET's.
			r.Body = http.MaxBytesReader(rec, r.Body, maxBodyBytes)
		}
		s.mux.ServeHTTP(rec, r)
	}
}

// finish writes the request's log line, and returns the time it took as
// the request's end (zero when the log is off), which the journal reuses.
func (s *Sandbox) finish(r *http.Request, ri *requestInfo, status int, start time.Time) (end time.Time) {
	h := s.logger.Handler()
	ctx := r.Context()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return time.Time{}
	}
	end = time.Now()
	if th, ok := h.(*textHandler); ok {
		th.requestLine(end, r.Method, escapedPath(r.URL), status, ri.partner, end.Sub(start), ri.errorCode)
		return end
	}
	// The handler directly, not Logger.LogAttrs: the logger would look up
	// the caller's program counter for every line, which no handler here uses.
	line := slog.NewRecord(end, slog.LevelInfo, "request", 0)
	line.AddAttrs(
		slog.String("method", r.Method),
		slog.String("path", escapedPath(r.URL)),
		slog.Int("status", status),
		slog.String("partner", ri.partner),
		slog.Duration("latency", end.Sub(start)),
		slog.String("errorCode", ri.errorCode),
	)
	h.Handle(ctx, line)
	return end
}

// canonical reports whether p, which starts with "/", has no empty, "." or
// ".." segments (a trailing slash aside): whether path.Clean would keep it,
// up to that slash. A scan rather than path.Clean, which was a twentieth of
// a gold-rate request's instructions.
func canonical(p string) bool {
	start := 1 // of the current segment
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		switch seg := p[start:i]; {
		case seg == "" && i < len(p): // "//"
			return false
		case seg == "." || seg == "..":
			return false
		}
		start = i + 1
	}
	return true
}

func headerSize(r *http.Request) int {
	n := len(r.Method) + len(r.RequestURI) + len(r.Host)
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// encodeAnswer encodes a 200 answer as the generated response would.
func encodeAnswer(v any) (jsonAnswer, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil // json.Encoder's trailing newline, as the generated code writes
}

// jsonAnswer is a 200 answer encoded in advance.
type jsonAnswer []byte

var contentTypeJSON = []string{"application/json"}

func (a jsonAnswer) write(w http.ResponseWriter) error {
	w.Header()["Content-Type"] = contentTypeJSON // shared, never modified: Set would allocate per request
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(a)
	return err
}

// tokenTemplate is the token answer encoded around its token, for tokens
// created in one second (the answer's only other varying field): encoding
// the whole answer per request was a sixth of the token request's cost.
type tokenTemplate struct {
	createdAt, expiresIn int64
	prefix, suffix       []byte
}

// tokenAnswer encodes resp as the generated response would, from a template
// made with the generated type once a second.
func (s *Sandbox) tokenAnswer(resp api.CreateAccessToken200JSONResponse) api.CreateAccessTokenResponseObject {
	if !jsonPlain(resp.Data.AccessToken) {
		return resp
	}
	return s.plainTokenAnswer(resp)
}

// plainTokenAnswer is tokenAnswer for a token known to be jsonPlain, such
// as the signer's (base64url and dots).
func (s *Sandbox) plainTokenAnswer(resp api.CreateAccessToken200JSONResponse) api.CreateAccessTokenResponseObject {
	t := s.tokenTemplate.Load()
	if t == nil || t.createdAt != resp.Data.CreatedAt || t.expiresIn != resp.Data.ExpiresIn {
		marked := resp
		marked.Data.AccessToken = "\x00" // encodes as "\u0000", which nothing else in the answer can
		b, err := encodeAnswer(marked)
		before, after, ok := bytes.Cut(b, []byte(`"\u0000"`))
		if err != nil || !ok {
			return resp
		}
		t = &tokenTemplate{createdAt: resp.Data.CreatedAt, expiresIn: resp.Data.ExpiresIn, prefix: append(before, '"'), suffix: append([]byte{'"'}, after...)}
		s.tokenTemplate.Store(t)
	}
	return tokenAnswer{t, resp.Data}
}

// jsonPlain reports whether s encodes in JSON as itself between quotes (a
// JWT's base64url segments and dots do).
func jsonPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if !jsonPlainByte[s[i]] {
			return false
		}
	}
	return true
}

// jsonPlainByte is jsonPlain's alphabet, as a table: the chain of range
// tests per byte of a token was a twentieth of the token request's time.
var jsonPlainByte = func() (t [256]bool) {
	for c := range t {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	return t
}()

// tokenAnswer is a 200 token answer: data's token between its template's
// halves, put together when written.
type tokenAnswer struct {
	t    *tokenTemplate
	data api.AccessToken // what it encodes, also for tokenIssued
}

// answerBuffers hold token answers while they are written.
var answerBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func (a tokenAnswer) VisitCreateAccessTokenResponse(w http.ResponseWriter) error {
	bp := answerBuffers.Get().(*[]byte)
	b := append(append(append((*bp)[:0], a.t.prefix...), a.data.AccessToken...), a.t.suffix...)
	err := jsonAnswer(b).write(w) // a Writer may not keep b
	*bp = b[:0]
	answerBuffers.Put(bp)
	return err
}

// tokenIssued returns the token a createAccessToken answer carries, in
// either form the handler returns.
func tokenIssued(resp any) (api.AccessToken, bool) {
	switch r := resp.(type) {
	case api.CreateAccessToken200JSONResponse:
		return r.Data, true
	case tokenAnswer:
		return r.data, true
	}
	return api.AccessToken{}, false
}

type goldRateAnswer struct{ jsonAnswer }

func (a goldRateAnswer) VisitGetGoldRateResponse(w http.ResponseWriter) error { return a.write(w) }

type userAnswer struct{ jsonAnswer }

func (a userAnswer) VisitGetUserInfoResponse(w http.ResponseWriter) error { return a.write(w) }

// recorder keeps the status for the log line, and whether the answer has
// begun (for recoverPanic).
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote && code >= 200 {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(p)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// envelope builds an error body with a fresh errorCode, noted for the log line.
func (s *Sandbox) envelope(ctx context.Context, _ int, message string) api.ErrorResponse {
	code := uuid.NewString()
	ri := info(ctx)
	ri.errorCode, ri.message = code, message
	return api.ErrorResponse{Success: false, Error: message, ErrorCode: code}
}

// writeError answers in the API's envelope.
func (s *Sandbox) writeError(w http.ResponseWriter, r *http.Request, status int, message string) {
	body, _ := json.Marshal(s.envelope(r.Context(), status, message))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// requestError answers what the generated server could not decode.
func (s *Sandbox) requestError(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		s.writeError(w, r, http.StatusRequestEntityTooLarge, "request body too large")
		return
	}
	s.writeError(w, r, http.StatusBadRequest, "malformed request")
}

// responseError answers a handler failure; the cause goes to the log only.
func (s *Sandbox) responseError(w http.ResponseWriter, r *http.Request, err error) {
	s.logger.ErrorContext(r.Context(), "handler failed", slog.String("error", err.Error()))
	s.writeError(w, r, http.StatusInternalServerError, "internal error")
}

// validatingMux registers each generated route behind the spec's request
// validator, with the route found once at start rather than per request, and
// answers other methods on a known path with 405.
type validatingMux struct {
	s     *Sandbox
	paths map[string]bool // paths whose 405 handler is registered
}

var pathParam = regexp.MustCompile(`\{(\w+)\}`)

func (m validatingMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	method, full, _ := strings.Cut(pattern, " ")
	path := strings.TrimPrefix(full, BasePath)
	item := m.s.spec.Paths.Find(path)
	// kin-openapi gets the operation without its security requirement: the
	// bearer check is the middleware's, and kin-openapi's check would read
	// and re-wrap every request's body to call a no-op.
	op := *item.GetOperation(method)
	op.Security = &openapi3.SecurityRequirements{}
	route := &routers.Route{Spec: m.s.spec, Path: path, PathItem: item, Method: method, Operation: &op}
	var params []string
	for _, p := range pathParam.FindAllStringSubmatch(path, -1) {
		params = append(params, p[1])
	}
	v := m.s.validate(route, params, h)
	if m.s.ctl != nil {
		v = noteOperation(route.Operation.OperationID, v)
	}
	m.s.mux.HandleFunc(pattern, v)
	if m.paths[full] {
		return
	}
	m.paths[full] = true
	var allow []string
	for method := range item.Operations() {
		allow = append(allow, method)
	}
	slices.Sort(allow)
	m.s.mux.HandleFunc(full, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		m.s.writeError(w, r, http.StatusMethodNotAllowed, "method not allowed")
	})
}

func (m validatingMux) ServeHTTP(w http.ResponseWriter, r *http.Request) { m.s.mux.ServeHTTP(w, r) }

func (s *Sandbox) validate(route *routers.Route, params []string, next http.HandlerFunc) http.HandlerFunc {
	options := s.options
	form := false
	if rb := route.Operation.RequestBody; rb != nil && rb.Value != nil && rb.Value.Content.Get(formType) != nil {
		// Keep the form kin-openapi decoded, so the generated handler's
		// ParseForm does not parse the body a second time.
		o := *s.options
		o.KeepValidatedValue = true
		options, form = &o, true
	}
	fv := newFormValidator(route, options) // nil unless the form can skip kin-openapi's general decode (form.go)
	if nothingToValidate(route, options) {
		return next
	}
	return func(w http.ResponseWriter, r *http.Request) {
		handled, err := fv.validate(r)
		if !handled {
			in := &openapi3filter.RequestValidationInput{Request: r, Route: route, Options: options}
			if len(params) > 0 {
				in.PathParams = make(map[string]string, len(params))
				for _, p := range params {
					in.PathParams[p] = r.PathValue(p)
				}
			}
			err = openapi3filter.ValidateRequest(r.Context(), in)
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				s.writeError(w, r, http.StatusRequestEntityTooLarge, "request body too large")
				return
			}
			s.writeError(w, r, http.StatusBadRequest, validationMessage(err))
			return
		}
		if form {
			adoptForm(r)
		}
		next(w, r)
	}
}

const formType = "application/x-www-form-urlencoded"

// nothingToValidate reports whether ValidateRequest has nothing to check
// in route's requests, whatever they carry: an operation without
// parameters (its own or its path's), without a request body, without the
// security requirement (see validatingMux), and options that do not refuse
// a body the operation does not declare. ValidateRequest then returns nil
// for every request (a test holds it to that), so calling it only cost
// the input's allocation and the walk: getGoldRate's case.
func nothingToValidate(route *routers.Route, o *openapi3filter.Options) bool {
	op := route.Operation
	return op != nil && op.Security != nil && len(*op.Security) == 0 && len(op.Parameters) == 0 &&
		op.RequestBody == nil && route.PathItem != nil && len(route.PathItem.Parameters) == 0 &&
		(o == nil || !o.RejectWhenRequestBodyNotSpecified)
}

// adoptForm sets r's parsed form from the body kin-openapi validated, when
// every field is a string (as the token request's are), so ParseForm has
// nothing left to do. The validated body holds exactly the fields the
// schema declares, with each field's first value, which is what the
// generated binder reads; other fields and the query string (which ParseForm
// would add behind the body's values) never reach a binder that found the
// field in the body. Otherwise it leaves r alone and ParseForm parses.
func adoptForm(r *http.Request) {
	kept, ok := r.Body.(interface{ ValidatedValue() any })
	if !ok || r.PostForm != nil || r.URL.RawQuery != "" {
		return
	}
	fields, ok := kept.ValidatedValue().(map[string]any)
	if !ok {
		return
	}
	values := make(url.Values, len(fields))
	for k, v := range fields {
		s, ok := v.(string)
		if !ok {
			return
		}
		values[k] = []string{s}
	}
	r.PostForm, r.Form = values, values
}

// validationMessage says what is wrong without echoing the value, which may
// be a secret.
func validationMessage(err error) string {
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		return "invalid request"
	}
	var where string
	switch {
	case re.Parameter != nil:
		where = re.Parameter.In + " parameter " + re.Parameter.Name
	case re.RequestBody != nil:
		where = "request body"
	default:
		return "invalid request"
	}
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		field := strings.Join(se.JSONPointer(), ".")
		if field != "" {
			where += " field " + field
		}
		return where + ": " + se.Reason
	}
	if re.Reason != "" {
		return where + ": " + re.Reason
	}
	if strings.Contains(re.Error(), "Content-Type") || strings.Contains(re.Error(), "content type") {
		return where + ": must be application/x-www-form-urlencoded"
	}
	return where + ": malformed"
}
