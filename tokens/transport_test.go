package tokens

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milligold/milligold-go/internal/clock"
)

// guarded accepts the bearer tokens in ok and records what it saw.
type guarded struct {
	ok     map[string]bool
	mu     sync.Mutex
	auths  []string
	bodies []string
}

func (g *guarded) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	auth := r.Header.Get("Authorization")
	g.mu.Lock()
	g.auths = append(g.auths, auth)
	g.bodies = append(g.bodies, string(b))
	g.mu.Unlock()
	tok, _ := strings.CutPrefix(auth, "Bearer ")
	if !g.ok[tok] {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"success":false,"error":"invalid token","errorCode":"x"}`)
		return
	}
	io.WriteString(w, `{"success":true}`)
}

func TestTransport401(t *testing.T) {
	for _, c := range []struct {
		name        string
		accepted    []string
		method      string
		body        string
		wantStatus  int
		wantAuths   []string
		wantFetches int64
	}{
		{"a valid token is sent", []string{"tok-1"}, http.MethodGet, "", 200, []string{"Bearer tok-1"}, 1},
		{"a 401 renews once and retries", []string{"tok-2"}, http.MethodGet, "", 200, []string{"Bearer tok-1", "Bearer tok-2"}, 2},
		{"a second 401 is returned, no loop", nil, http.MethodGet, "", 401, []string{"Bearer tok-1", "Bearer tok-2"}, 2},
		{"the body is replayed", []string{"tok-2"}, http.MethodPost, "a=1&b=2", 200, []string{"Bearer tok-1", "Bearer tok-2"}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := &guarded{ok: map[string]bool{}}
			for _, a := range c.accepted {
				g.ok[a] = true
			}
			ts := httptest.NewServer(g)
			defer ts.Close()
			f := &counter{lifetime: time.Hour}
			rt := &Transport{Source: NewSource(f.fetch, WithClock(clock.NewFake(t0).Now))}
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
			}
			req, _ := http.NewRequest(c.method, ts.URL+"/partner/gold/rate", body)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.wantStatus {
				t.Errorf("status %d; want %d", resp.StatusCode, c.wantStatus)
			}
			if strings.Join(g.auths, ",") != strings.Join(c.wantAuths, ",") {
				t.Errorf("server saw %q; want %q", g.auths, c.wantAuths)
			}
			if n := f.n.Load(); n != c.wantFetches {
				t.Errorf("%d token requests; want %d", n, c.wantFetches)
			}
			for i, b := range g.bodies {
				if b != c.body {
					t.Errorf("attempt %d body %q; want %q", i, b, c.body)
				}
			}
			if got := req.Header.Get("Authorization"); got != "" {
				t.Errorf("the caller's request was modified: Authorization %q", got)
			}
		})
	}
}

func TestTransportSkipsOpenOperations(t *testing.T) {
	g := &guarded{}
	ts := httptest.NewServer(g)
	defer ts.Close()
	f := &counter{lifetime: time.Hour}
	rt := &Transport{
		Source:     NewSource(f.fetch),
		NeedsToken: func(r *http.Request) bool { return !strings.HasSuffix(r.URL.Path, "/auth/token") },
	}
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/partner/auth/token", strings.NewReader("partnerId=p"))
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if g.auths[0] != "" || f.n.Load() != 0 {
		t.Errorf("open operation got Authorization %q after %d token requests; want none", g.auths[0], f.n.Load())
	}
}

type trackedBody struct {
	io.Reader
	closed atomic.Bool
}

func (b *trackedBody) Close() error { b.closed.Store(true); return nil }

func TestTransportClosesBodyWhenTokenFails(t *testing.T) {
	fail := errors.New("token endpoint down")
	rt := &Transport{
		Base:   roundTripFunc(func(*http.Request) (*http.Response, error) { t.Error("request sent without a token"); return nil, fail }),
		Source: NewSource(func(context.Context) (Grant, error) { return Grant{}, fail }),
	}
	body := &trackedBody{Reader: strings.NewReader("x")}
	req, _ := http.NewRequest(http.MethodPost, "http://example.invalid/partner/gold/rate", body)
	if _, err := rt.RoundTrip(req); !errors.Is(err, fail) {
		t.Errorf("RoundTrip = %v; want %v", err, fail)
	}
	if !body.closed.Load() {
		t.Error("request body not closed when the token could not be had")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestTransportScope: with Scope set, a request the token would go with
// that is not for the API's base URL (another host, port or scheme, a path
// outside the base path, a dot segment climbing out) fails unsent: an
// http.Client that follows a redirect elsewhere cannot carry the token.
func TestTransportScope(t *testing.T) {
	g := &guarded{ok: map[string]bool{"tok-1": true}}
	other := httptest.NewServer(g)
	defer other.Close()
	redirector := httptest.NewServer(http.RedirectHandler(other.URL+"/partner/gold/rate", http.StatusTemporaryRedirect))
	defer redirector.Close()
	scope, _ := url.Parse(redirector.URL + "/partner")
	f := &counter{lifetime: time.Hour}
	rt := &Transport{Source: NewSource(f.fetch, WithClock(clock.NewFake(t0).Now)), Scope: scope}
	hc := &http.Client{Transport: rt} // follows redirects, as http.Client does by default
	_, err := hc.Get(redirector.URL + "/partner/gold/rate")
	if !errors.Is(err, ErrOutOfScope) {
		t.Errorf("following a redirect to another origin = %v; want ErrOutOfScope", err)
	}
	if len(g.auths) != 0 {
		t.Errorf("the other server got %d requests; want none", len(g.auths))
	}
}

func TestInScope(t *testing.T) {
	base, _ := url.Parse("https://api.example/partner")
	for _, c := range []struct {
		url  string
		want bool
	}{
		{"https://api.example/partner/gold/rate", true},
		{"https://API.example:443/partner/gold/rate", true},
		{"https://api.example/partner", true},
		{"http://api.example/partner/gold/rate", false},
		{"https://api.example:8443/partner/gold/rate", false},
		{"https://evil.example/partner/gold/rate", false},
		{"https://api.example.evil.example/partner/gold/rate", false},
		{"https://api.example/partnerx/gold/rate", false},
		{"https://api.example/collect", false},
		{"https://api.example/partner/../collect", false},
		{"https://api.example/partner/%2e%2e/collect", false},
		{"https://api.example/partner/user/info/..", false},
	} {
		u, _ := url.Parse(c.url)
		if got := inScope(base, u); got != c.want {
			t.Errorf("inScope(%s, %s) = %v; want %v", base, c.url, got, c.want)
		}
	}
}
