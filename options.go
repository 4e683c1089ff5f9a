package milligold

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/milligold/milligold-go/internal/loopback"
	"github.com/milligold/milligold-go/ratelimit"
	"github.com/milligold/milligold-go/tokens"
)

// Base URLs from the API document. Each already ends in the /partner base
// path the operations' paths follow. HostedSandboxURL is milliGOLD's own
// sandbox, on the network; the local sandbox (package sandbox, `milligold
// sandbox`) has whatever address it is started on.
const (
	HostedSandboxURL = "https://api-sandbox.milligold.in/partner"
	ProductionURL    = "https://api.milligold.in/partner"
)

// SandboxURL is HostedSandboxURL.
//
// Deprecated: the name read as the local sandbox; use HostedSandboxURL.
const SandboxURL = HostedSandboxURL

// DefaultMaxRetries is how many times a call is retried after a 429 when
// WithMaxRetries is not given; the milligold CLI's --max-retries defaults
// to it too.
const DefaultMaxRetries = 2

// Option configures a Client in New. Options that get a bad value make New
// fail; printing an Option shows no secret.
type Option func(*config) error

// config is what the options build; New turns it into a Client.
type config struct {
	baseURL    *url.URL
	partnerID  string
	secret     string
	httpClient *http.Client
	logger     *slog.Logger
	limiter    ratelimit.Limiter
	store      tokens.Store
	maxRetries int
	now        func() time.Time
	userAgent  string
	shared     sharedState              // WithSharedQuota (redisquota.WithRedis, WithFileCache); nil means in process
	cacheTTL   map[string]time.Duration // WithCache, by operation id
	cache      SharedCache              // the shared half of WithCache (redisquota.WithRedis)

	requestTimeout time.Duration
	insecureHTTP   bool // WithInsecureHTTP
}

// WithBaseURL sets the API's base URL, including its base path, such as
// HostedSandboxURL (the default), ProductionURL or a local sandbox's
// "http://127.0.0.1:8080/partner". It must be an absolute http or https URL
// without credentials, query or fragment; plain http only to this machine
// (see IsLoopbackHost) unless WithInsecureHTTP is given too.
func WithBaseURL(rawURL string) Option {
	return func(c *config) error {
		u, err := parseBaseURL(rawURL)
		if err != nil {
			return err
		}
		c.baseURL = u
		return nil
	}
}

func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("base URL %q: %w", raw, errors.Unwrap(err))
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("base URL %q: want an http or https URL such as %s", raw, ProductionURL)
	case u.Host == "":
		return nil, fmt.Errorf("base URL %q: no host", raw)
	case u.User != nil:
		// Credentials in a URL end up in every error message that quotes it.
		return nil, errors.New("base URL: must not carry credentials; use WithCredentials")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, fmt.Errorf("base URL %q: must not have a query or fragment", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// WithCredentials sets the partner ID and secret that access tokens are
// requested with. Both are required.
func WithCredentials(partnerID, partnerSecret string) Option {
	return func(c *config) error {
		if strings.TrimSpace(partnerID) == "" {
			return errors.New("credentials: empty partner ID")
		}
		if partnerSecret == "" {
			return errors.New("credentials: empty partner secret")
		}
		c.partnerID, c.secret = partnerID, partnerSecret
		return nil
	}
}

// WithHTTPClient sets the HTTP client whose transport, timeout and cookie
// jar the Client uses; the Client adds its token and rate-limit layers on
// top of a copy and leaves hc untouched. Its redirect policy is not used:
// the Client follows no redirect, so credentials go only to the base URL
// (a 3xx is a *RedirectError). hc.Timeout, if set, bounds a whole call,
// waits for the rate limit included; WithRequestTimeout bounds each attempt.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("nil HTTP client")
		}
		c.httpClient = hc
		return nil
	}
}

// WithLogger sets where the Client logs each call (at debug level) and each
// 429 it waits out (at info level). The default discards. Log records never
// carry the secret or a token.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithLimiter sets the limiter that paces requests, for instance one shared
// by several Clients of the same partner. The default keeps within the
// spec's rate limit (10 requests per 20 s) and adopts the limit the API
// announces.
func WithLimiter(l ratelimit.Limiter) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("nil limiter")
		}
		c.limiter = l
		return nil
	}
}

// WithTokenStore sets where the current access token is kept, for instance
// a store shared by several Clients. The default keeps it in memory.
func WithTokenStore(s tokens.Store) Option {
	return func(c *config) error {
		if s == nil {
			return errors.New("nil token store")
		}
		c.store = s
		return nil
	}
}

// WithMaxRetries sets how many times a call is retried after a 429, waiting
// for the window to reset each time (DefaultMaxRetries when not given).
// 0 turns retries off; a negative n is an error.
func WithMaxRetries(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("max retries %d: want 0 or more", n)
		}
		c.maxRetries = n
		return nil
	}
}

// WithClock sets the clock for token expiry and rate-limit resets (tests use
// a fake one). The limiter keeps real time; pass your own with WithLimiter
// to fake that too.
func WithClock(now func() time.Time) Option {
	return func(c *config) error {
		if now == nil {
			return errors.New("nil clock")
		}
		c.now = now
		return nil
	}
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(c *config) error {
		if strings.TrimSpace(ua) == "" || strings.ContainsAny(ua, "\r\n") {
			return fmt.Errorf("user agent %q: want one non-empty line", ua)
		}
		c.userAgent = ua
		return nil
	}
}

// WithRequestTimeout bounds each HTTP attempt: connecting, sending and
// reading the whole answer, so a server that stalls or dribbles its body
// cannot hold a call forever even when ctx has no deadline. Waits for the
// rate limit and for a 429's reset are not counted; ctx's deadline, when
// sooner, still wins. An attempt cut off fails with *AttemptTimeoutError,
// which matches context.DeadlineExceeded. The default is
// DefaultRequestTimeout (30 s); 0 turns the bound off; negative is an error.
func WithRequestTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("request timeout %s: want 0 (none) or more", d)
		}
		c.requestTimeout = d
		return nil
	}
}

// WithInsecureHTTP lets the base URL be plain http to a host other than
// this machine. Without it New refuses such a URL: the partner secret and
// every access token would cross the network unencrypted. Plain http to a
// loopback host (127.0.0.0/8, ::1, localhost), such as a local sandbox,
// needs no option. Use it only on a network you trust end to end.
func WithInsecureHTTP() Option {
	return func(c *config) error {
		c.insecureHTTP = true
		return nil
	}
}

// check holds the options together, whatever their order: plain http goes
// only to this machine unless WithInsecureHTTP.
func (c *config) check() error {
	if c.baseURL.Scheme == "http" && !c.insecureHTTP && !IsLoopbackHost(c.baseURL.Hostname()) {
		return fmt.Errorf("base URL %q: plain http to a host other than this machine would send the partner secret and tokens unencrypted; use https, or pass WithInsecureHTTP() if the network is trusted", c.baseURL.Redacted())
	}
	return nil
}

// IsLoopbackHost reports whether host (a URL's Hostname) is this machine:
// "localhost" or an address in 127.0.0.0/8 or ::1. Plain http is accepted
// there without WithInsecureHTTP.
func IsLoopbackHost(host string) bool { return loopback.Host(host) }
