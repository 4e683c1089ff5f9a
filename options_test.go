package milligold

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milligold/milligold-go/internal/hostile"
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
		{"default is the hosted sandbox", nil, `BaseURL: "` + HostedSandboxURL + `"`},
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
		if r, ok := rt.(*readTransport); ok {
			rt = r.next
		}
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

// TestPlainHTTPOnlyToThisMachine: a base URL with plain http sends the
// partner secret and the tokens unencrypted, so New accepts it only for a
// loopback host unless WithInsecureHTTP says the network is trusted, given
// before or after WithBaseURL.
func TestPlainHTTPOnlyToThisMachine(t *testing.T) {
	tests := []struct {
		url      string
		insecure bool
		wantErr  bool
	}{
		{"http://127.0.0.1:8080/partner", false, false},
		{"http://127.9.8.7/partner", false, false}, // all of 127.0.0.0/8
		{"http://[::1]:8080/partner", false, false},
		{"http://localhost:8080/partner", false, false},
		{"http://LocalHost/partner", false, false},
		{"http://[::ffff:127.0.0.1]:8080/partner", false, false},
		{"https://api.milligold.in/partner", false, false},
		{"https://10.0.0.5/partner", false, false},
		{"http://api.milligold.in/partner", false, true},
		{"http://10.0.0.5:8080/partner", false, true},
		{"http://192.0.2.2/partner", false, true},
		{"http://[2001:db8::1]/partner", false, true},
		{"http://0.0.0.0:8080/partner", false, true},
		{"http://localhost.example.com/partner", false, true},
		{"http://127.0.0.1.example.com/partner", false, true},
		{"HTTP://api.milligold.in/partner", false, true},
		{"http://api.milligold.in/partner", true, false},
		{"http://10.0.0.5:8080/partner", true, false},
	}
	for _, tt := range tests {
		for _, first := range []bool{false, true} {
			opts := []Option{WithCredentials("p1", testSecret), WithBaseURL(tt.url)}
			if tt.insecure && first {
				opts = append([]Option{WithInsecureHTTP()}, opts...)
			} else if tt.insecure {
				opts = append(opts, WithInsecureHTTP())
			}
			_, err := New(opts...)
			switch {
			case tt.wantErr && err == nil:
				t.Errorf("New(WithBaseURL(%q)) = nil error; want plain http to another host refused", tt.url)
			case tt.wantErr:
				for _, want := range []string{"milligold: New: base URL", "plain http", "use https", "WithInsecureHTTP()"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("New(WithBaseURL(%q)) error = %q; want it to contain %q", tt.url, err, want)
					}
				}
				leak.Check(t, "the error", err.Error(), testSecret)
			case err != nil:
				t.Errorf("New(WithBaseURL(%q), insecure %v, opt-in first %v) error = %v; want nil", tt.url, tt.insecure, first, err)
			}
		}
	}
}

// TestInsecureHTTPReachesTheHost: with WithInsecureHTTP a plain-http host
// that is not this machine is called (the dial is sent to a loopback
// server, so the test needs no network); without it nothing is sent.
func TestInsecureHTTPReachesTheHost(t *testing.T) {
	f := newFakeAPI(t)
	addr := strings.TrimPrefix(f.Origin, "http://")
	var dials atomic.Int32
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		dials.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}}
	remote := "http://api.example.com/partner"
	if _, err := New(WithBaseURL(remote), WithCredentials(fakePartnerID, testSecret), WithHTTPClient(hc)); err == nil {
		t.Fatalf("New(%s) without WithInsecureHTTP: nil error; want a refusal", remote)
	}
	c, err := New(WithBaseURL(remote), WithCredentials(fakePartnerID, testSecret), WithHTTPClient(hc), WithInsecureHTTP())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GoldRate(context.Background()); err != nil {
		t.Fatalf("GoldRate over plain http with WithInsecureHTTP: %v", err)
	}
	if dials.Load() == 0 || f.Count(hostile.TokenPath) != 1 {
		t.Errorf("dials = %d, token requests = %d; want the host called, one token request", dials.Load(), f.Count(hostile.TokenPath))
	}
}
