package milligold

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/milligold/milligold-go/gen/api"
	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/tokens"
)

// Operation IDs, as openapi.yaml spells them (gen/middleware's); errors and
// log records name them.
const (
	opCreateAccessToken = middleware.OpCreateAccessToken
	opGetGoldRate       = middleware.OpGetGoldRate
	opGetUserInfo       = middleware.OpGetUserInfo
)

// isTokenRequest reports whether req is for the spec's token-issuing
// operation (x-milligold-token), known by its method and path whatever the
// base URL.
func isTokenRequest(req *http.Request) bool {
	op, ok := middleware.OperationOf(req)
	return ok && op.IssuesToken
}

// maxBody bounds a success body; the API's answers are a few hundred bytes.
const maxBody = 1 << 20

// Client calls the milliGOLD Partner API. It fetches an access token when it
// needs one and renews it before it expires (one token request in flight at
// a time), paces requests to stay inside the rate limit, waits out a 429 up
// to the retry limit, and turns every failure into an error to branch on.
// A Client is safe for concurrent use; create one per partner and share it.
type Client struct {
	api       *api.Client // operations, behind the bearer layer
	tokenAPI  *api.Client // the token request, without it
	ops       *middleware.Ops
	server    string   // the base URL without a trailing slash: operation paths follow
	targets   sync.Map // *middleware.Operation → *fixedTarget, see fixedTarget
	userAgent []string // the User-Agent header's value
	fetch     tokens.FetchFunc
	source    *tokens.Source
	base      *url.URL
	baseURL   string
	partnerID string
	secret    string
	redactor  *redactor
	now       func() time.Time
}

// New returns a Client for the options. WithCredentials is required; every
// other option has a default. A bad option fails here, not at the first call.
func New(opts ...Option) (*Client, error) {
	cfg := config{maxRetries: DefaultMaxRetries, now: time.Now, userAgent: "milligold-go", requestTimeout: DefaultRequestTimeout}
	cfg.baseURL, _ = parseBaseURL(HostedSandboxURL)
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("milligold: New: nil option")
		}
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("milligold: New: %w", err)
		}
	}
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("milligold: New: %w", err)
	}
	if cfg.partnerID == "" {
		return nil, errors.New("milligold: New: no credentials; pass WithCredentials(partnerID, partnerSecret)")
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.shared != nil {
		st, lim, cache, err := cfg.shared(cfg.baseURL.String(), cfg.partnerID, cfg.secret, cfg.logger)
		if err != nil {
			return nil, fmt.Errorf("milligold: New: %w", err)
		}
		// An explicit WithTokenStore or WithLimiter wins.
		cfg.store = cmp.Or(cfg.store, st)
		cfg.limiter = cmp.Or(cfg.limiter, lim)
		cfg.cache = cache
	}
	if cfg.limiter == nil {
		cfg.limiter = middleware.NewLimiter()
	}
	if cfg.store == nil {
		cfg.store = tokens.NewMemoryStore()
	}

	c := &Client{
		base:      cfg.baseURL,
		baseURL:   cfg.baseURL.String(),
		partnerID: cfg.partnerID,
		secret:    cfg.secret,
		redactor:  newRedactor(cfg.secret),
		now:       cfg.now,
	}

	// The stack, outermost first: bearer token, rate limit, logging, the
	// per-attempt timeout, the caller's transport. Token requests count
	// against the rate limit too, so they take the same stack below the
	// bearer layer.
	hc := http.Client{}
	var base http.RoundTripper
	if cfg.httpClient != nil {
		hc = *cfg.httpClient
		base = cfg.httpClient.Transport
	}
	// No redirect is followed: a 3xx comes back to readAnswer, which makes
	// it a *RedirectError naming the Location (see RedirectError for why).
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	attempt := &attemptTransport{base: base, timeout: cfg.requestTimeout, cause: &AttemptTimeoutError{Limit: cfg.requestTimeout}}
	logged := &logTransport{base: attempt, logger: cfg.logger, redact: c.redact, policy: middleware.RateLimit, now: cfg.now}
	limited := middleware.NewRateLimitTransport(logged, cfg.limiter)
	limited.Retries = cfg.maxRetries
	if cfg.maxRetries == 0 {
		limited.Retries = -1 // the Transport reads 0 as its default
	}
	limited.Retry = retryable
	limited.Now = cfg.now

	// Two generated clients, then: one for the token source, one for the
	// operations, which the bearer layer fronts with that source.
	rawHC := hc
	rawHC.Transport = limited
	ua := api.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("User-Agent", cfg.userAgent)
		return nil
	})
	var err error
	c.tokenAPI, err = api.NewClient(c.baseURL, api.WithHTTPClient(&rawHC), ua)
	if err != nil {
		return nil, fmt.Errorf("milligold: New: %w", err)
	}
	c.fetch = middleware.TokenFetcher(c.tokenAPI, cfg.partnerID, cfg.secret, func(resp *http.Response, dst any) error {
		return c.readAnswer(opCreateAccessToken, resp, dst)
	})
	c.source = tokens.NewSource(
		c.fetchToken,
		tokens.WithStore(recordingStore{Store: cfg.store, seen: c.redactor.seen}),
		tokens.WithClock(cfg.now),
	)
	bearer := middleware.NewBearerTransport(limited, c.source)
	bearer.Scope = cfg.baseURL
	hc.Transport = &readTransport{next: bearer, ttl: cfg.cacheTTL, shared: cfg.cache, now: cfg.now, origin: cfg.baseURL}
	// The operations' requests are built by callInto, which sets the
	// User-Agent itself (c.userAgent): no request editor.
	c.api, err = api.NewClient(c.baseURL, api.WithHTTPClient(&hc))
	if err != nil {
		return nil, fmt.Errorf("milligold: New: %w", err)
	}
	c.server = strings.TrimSuffix(c.api.Server, "/")
	c.userAgent = []string{cfg.userAgent}
	c.ops = middleware.NewOps(opsCaller{c})
	return c, nil
}

// retryable says which requests the rate-limit layer may send again after
// a 429: reads, and the token request, which creates nothing lasting.
func retryable(req *http.Request) bool {
	if req.Method == http.MethodGet || req.Method == http.MethodHead {
		return true
	}
	return isTokenRequest(req)
}

// fetchToken asks the token endpoint for a new token (the tokens.FetchFunc
// of the Client's Source). Its answer is held to the spec like any other,
// by readAnswer: bounded, status 200, JSON, success true, every field there.
func (c *Client) fetchToken(ctx context.Context) (tokens.Grant, error) {
	g, err := c.fetch(ctx)
	if err == nil {
		err = checkTokenValue(g.Value)
	}
	if errors.Is(err, tokens.ErrBadGrant) {
		// An empty, huge or unsendable token or an absurd expiresIn: an
		// answer, not a failure to get one.
		return tokens.Grant{}, &UnexpectedResponseError{
			Operation:  opCreateAccessToken,
			StatusCode: http.StatusOK,
			Reason:     strings.TrimPrefix(err.Error(), tokens.ErrBadGrant.Error()+": "),
			Err:        err,
		}
	}
	return g, err
}

// maxTokenLen bounds an access token. A JWT like the sandbox's is a few
// hundred bytes; the bound keeps a server that rotates huge tokens from
// filling the memory the Client keeps to redact them, and the token fits
// in a request header.
const maxTokenLen = 8 << 10

// checkTokenValue refuses a token that is too long or could not be sent as
// "Authorization: Bearer <token>": anything but visible ASCII.
func checkTokenValue(v string) error {
	if len(v) > maxTokenLen {
		return fmt.Errorf("%w: access token of %d bytes; want at most %d", tokens.ErrBadGrant, len(v), maxTokenLen)
	}
	for i := range len(v) {
		if v[i] <= ' ' || v[i] > '~' {
			return fmt.Errorf("%w: access token with a byte outside visible ASCII at %d", tokens.ErrBadGrant, i)
		}
	}
	return nil
}

// Token returns the access token the Client uses, requesting a new one when
// it has none that is still valid. Most callers never need it: the other
// methods fetch tokens themselves.
//
// Operation: createAccessToken (POST /auth/token).
func (c *Client) Token(ctx context.Context) (Token, error) {
	t, err := c.source.Get(ctx)
	if err != nil {
		return Token{}, c.fail(opCreateAccessToken, err)
	}
	return Token{AccessToken: t.Value, ExpiresAt: t.Expiry}, nil
}

// GoldRate returns the current gold rate.
//
// Operation: getGoldRate (GET /gold/rate).
func (c *Client) GoldRate(ctx context.Context) (GoldRate, error) {
	data, err := c.Ops().GetGoldRate(ctx)
	if err != nil {
		return GoldRate{}, err
	}
	return goldRateFrom(data), nil
}

// UserInfo returns the user with the given mobile number (ten digits, no
// country code). When there is none, the error matches ErrNotFound.
//
// Operation: getUserInfo (GET /user/info/{mobileNumber}).
func (c *Client) UserInfo(ctx context.Context, mobileNumber string) (User, error) {
	if mobileNumber == "" {
		return User{}, fmt.Errorf("milligold: %s: empty mobile number", opGetUserInfo)
	}
	data, err := c.Ops().GetUserInfo(ctx, mobileNumber)
	if err != nil {
		return User{}, err
	}
	return userFrom(data), nil
}

// check is checkResponse with the Client's redaction and clock.
func (c *Client) check(op string, resp *http.Response) error {
	return checkResponse(op, resp, middleware.RateLimit, c.redact, c.now())
}

// fail wraps an error from below. An error the Client already made
// (*APIError, *RateLimitError, *UnexpectedResponseError, *RedirectError, or
// a token request's failure to read its answer: one that reached the caller
// through the bearer layer and net/http's *url.Error) comes back as it is, so
// callers and the CLI classify it by its type; anything else keeps its chain
// for errors.Is and gets a redacted message.
func (c *Client) fail(op string, err error) error {
	var rl *RateLimitError
	var apiErr *APIError
	var ue *UnexpectedResponseError
	var re *RedirectError
	var ce *callError
	switch {
	case errors.As(err, &rl):
		return rl
	case errors.As(err, &apiErr):
		return apiErr
	case errors.As(err, &ue):
		return ue
	case errors.As(err, &re):
		return re
	case errors.As(err, &ce):
		return ce // the token request's failure, already named and redacted
	}
	return &callError{msg: c.redact(fmt.Sprintf("milligold: %s: %v", op, err)), err: err}
}

// callError is a transport or decoding failure; its message is redacted
// once, and Unwrap keeps context.Canceled, net errors and the like matchable.
type callError struct {
	msg string
	err error
}

func (e *callError) Error() string { return e.msg }
func (e *callError) Unwrap() error { return e.err }

// String shows where the Client points and for which partner, never the
// secret or a token.
func (c *Client) String() string {
	return fmt.Sprintf("milligold.Client{BaseURL: %q, PartnerID: %q, PartnerSecret: %s}", c.baseURL, c.partnerID, redacted)
}

// Format makes every verb print String, so %+v and %#v cannot reach the
// fields.
func (c *Client) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// LogValue keeps the secret out of slog output.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("baseURL", c.baseURL), slog.String("partnerID", c.partnerID))
}
