package milligold

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/milligold/milligold-go/internal/leak"
	"github.com/milligold/milligold-go/ratelimit"
	"github.com/milligold/milligold-go/tokens"
)

func TestNewRejectsBadOptions(t *testing.T) {
	creds := WithCredentials("p1", testSecret)
	tests := []struct {
		name    string
		opts    []Option
		wantErr string
	}{
		{"no credentials", nil, "no credentials; pass WithCredentials(partnerID, partnerSecret)"},
		{"empty partner ID", []Option{WithCredentials(" ", testSecret)}, "credentials: empty partner ID"},
		{"empty secret", []Option{WithCredentials("p1", "")}, "credentials: empty partner secret"},
		{"relative URL", []Option{creds, WithBaseURL("api.milligold.in/partner")}, `base URL "api.milligold.in/partner": want an http or https URL`},
		{"other scheme", []Option{creds, WithBaseURL("ftp://api.milligold.in/partner")}, "want an http or https URL"},
		{"no host", []Option{creds, WithBaseURL("https:///partner")}, "no host"},
		{"unparsable", []Option{creds, WithBaseURL("http://[::1")}, `base URL "http://[::1"`},
		{"credentials in URL", []Option{creds, WithBaseURL("https://p1:" + testSecret + "@api.milligold.in/partner")}, "base URL: must not carry credentials; use WithCredentials"},
		{"query", []Option{creds, WithBaseURL("https://api.milligold.in/partner?x=1")}, "must not have a query or fragment"},
		{"nil HTTP client", []Option{creds, WithHTTPClient(nil)}, "nil HTTP client"},
		{"nil logger", []Option{creds, WithLogger(nil)}, "nil logger"},
		{"negative request timeout", []Option{creds, WithRequestTimeout(-time.Second)}, "request timeout -1s: want 0 (none) or more"},
		{"nil limiter", []Option{creds, WithLimiter(nil)}, "nil limiter"},
		{"nil token store", []Option{creds, WithTokenStore(nil)}, "nil token store"},
		{"negative retries", []Option{creds, WithMaxRetries(-1)}, "max retries -1: want 0 or more"},
		{"nil clock", []Option{creds, WithClock(nil)}, "nil clock"},
		{"empty user agent", []Option{creds, WithUserAgent("")}, `user agent "": want one non-empty line`},
		{"user agent with newline", []Option{creds, WithUserAgent("a\r\nX-Evil: 1")}, "want one non-empty line"},
		{"nil option", []Option{creds, nil}, "nil option"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.opts...)
			if err == nil {
				t.Fatalf("New(%s) = %v, nil; want an error", tt.name, c)
			}
			if !strings.HasPrefix(err.Error(), "milligold: New: ") || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New(%s) error = %q; want milligold: New: …%s…", tt.name, err, tt.wantErr)
			}
			leak.Check(t, "the error", err.Error(), testSecret)
		})
	}
}

func TestNewAcceptsGoodOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  Option
		want string // in String()
	}{
		{"default is the sandbox", nil, `BaseURL: "https://api-sandbox.milligold.in/partner"`},
		{"production", WithBaseURL(ProductionURL), `BaseURL: "https://api.milligold.in/partner"`},
		{"trailing slash dropped", WithBaseURL("http://127.0.0.1:8080/partner/"), `BaseURL: "http://127.0.0.1:8080/partner"`},
		{"http client", WithHTTPClient(&http.Client{Timeout: time.Second}), "PartnerID"},
		{"logger", WithLogger(slog.Default()), "PartnerID"},
		{"retries off", WithMaxRetries(0), "PartnerID"},
		{"clock", WithClock(time.Now), "PartnerID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []Option{WithCredentials("p1", testSecret)}
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			c, err := New(opts...)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if s := c.String(); !strings.Contains(s, tt.want) {
				t.Errorf("String() = %q; want it to contain %q", s, tt.want)
			}
		})
	}
}

// TestWithHTTPClientLeavesCallerClient: the Client wraps a copy.
func TestWithHTTPClientLeavesCallerClient(t *testing.T) {
	hc := &http.Client{Timeout: 5 * time.Second}
	if _, err := New(WithCredentials("p1", testSecret), WithHTTPClient(hc)); err != nil {
		t.Fatal(err)
	}
	if hc.Transport != nil {
		t.Errorf("caller's client Transport = %T; want it left nil", hc.Transport)
	}
}

func TestTokenRedacts(t *testing.T) {
	tok := Token{AccessToken: fakeToken, ExpiresAt: t0.Add(time.Hour)}
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("token", "t", tok)
	out := leak.Formats(tok) + leak.Formats(&tok) + leak.Formats([]Token{tok}) + b.String()
	leak.Check(t, "formatted token", out, fakeToken)
	if !strings.Contains(out, "2026-11-25T07:00:00Z") {
		t.Errorf("formatted token lacks its expiry:\n%s", out)
	}
	if got := tok.ExpiresIn(t0); got != time.Hour {
		t.Errorf("ExpiresIn(t0) = %v; want 1h", got)
	}
	if got := tok.ExpiresIn(t0.Add(2 * time.Hour)); got != 0 {
		t.Errorf("ExpiresIn(after expiry) = %v; want 0", got)
	}
}

// TestRequestTimeoutDefault: without WithRequestTimeout, every attempt (the
// token request's and the operations') is bounded by DefaultRequestTimeout;
// the option replaces it, 0 removing it. A client built from a caller's
// http.Client keeps the bound too.
func TestRequestTimeoutDefault(t *testing.T) {
	attemptOf := func(hc any) *attemptTransport {
		rt := hc.(*http.Client).Transport
		if b, ok := rt.(*tokens.Transport); ok {
			rt = b.Base
		}
		return rt.(*ratelimit.Transport).Base.(*logTransport).base.(*attemptTransport)
	}
	for _, c := range []struct {
		name string
		opts []Option
		want time.Duration
	}{
		{"default", nil, DefaultRequestTimeout},
		{"a caller's http.Client", []Option{WithHTTPClient(&http.Client{})}, DefaultRequestTimeout},
		{"set", []Option{WithRequestTimeout(5 * time.Second)}, 5 * time.Second},
		{"off", []Option{WithRequestTimeout(0)}, 0},
	} {
		cl, err := New(append([]Option{WithCredentials("p1", testSecret)}, c.opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		for what, hc := range map[string]any{"operations": cl.api.Client, "token request": cl.tokenAPI.Client} {
			if got := attemptOf(hc).timeout; got != c.want {
				t.Errorf("%s: the %s' request timeout = %v; want %v", c.name, what, got, c.want)
			}
		}
	}
	if DefaultRequestTimeout <= 0 || DefaultRequestTimeout > time.Minute {
		t.Errorf("DefaultRequestTimeout = %v; want a bound, and a sane one", DefaultRequestTimeout)
	}
}
