package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/milligold/milligold-go/filequota"
	"github.com/milligold/milligold-go/gen/middleware"
	"github.com/milligold/milligold-go/internal/redistest"
	"github.com/milligold/milligold-go/sandbox"
)

// countingSandbox is a default sandbox that counts token requests.
func countingSandbox(t *testing.T) (url string, tokenRequests *atomic.Int32) {
	h, err := sandbox.New(sandbox.Default())
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/auth/token") {
			n.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + sandbox.BasePath, &n
}

func TestCacheSharesTheTokenBetweenRuns(t *testing.T) {
	url, tokens := countingSandbox(t)
	cache := t.TempDir()
	env := map[string]string{envBaseURL: url, "XDG_CACHE_HOME": cache}
	for i := range 3 {
		if code, _, stderr := runApp(env, "rate"); code != exitOK {
			t.Fatalf("run %d: exit %d: %s", i+1, code, stderr)
		}
	}
	if n := tokens.Load(); n != 1 {
		t.Errorf("token requests in 3 runs = %d; want 1", n)
	}
	files, _ := filepath.Glob(filepath.Join(cache, "milligold", "*"))
	if len(files) == 0 {
		t.Fatalf("no cache files under %s", cache)
	}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want mode 0600", f, fi.Mode(), err)
		}
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), sandbox.DefaultPartnerID) || strings.Contains(string(b), "eyJ") {
			t.Errorf("%s holds the partner id or a token in clear", f)
		}
	}

	if code, _, stderr := runApp(env, "rate", "--no-cache"); code != exitOK || tokens.Load() != 2 {
		t.Errorf("--no-cache: exit %d (%s), token requests %d; want 0 and a second token request", code, stderr, tokens.Load())
	}
	if code, _, stderr := runApp(env, "rate", "--no-cache", "--redis", "redis://127.0.0.1:1"); code != exitUsage || !strings.Contains(stderr, "choose one") {
		t.Errorf("--no-cache --redis: exit %d, %q; want a usage error", code, stderr)
	}
	if code, stdout, _ := runApp(env, "cache", "clear"); code != exitOK || !strings.Contains(stdout, "cleared") {
		t.Errorf("cache clear: exit %d, %q", code, stdout)
	}
	if files, _ := filepath.Glob(filepath.Join(cache, "milligold", "*")); len(files) != 0 {
		t.Errorf("after cache clear: %q", files)
	}
	runApp(env, "rate")
	if n := tokens.Load(); n != 3 {
		t.Errorf("token requests after cache clear = %d; want 3 (a new one)", n)
	}
}

func TestRedisFlagErrorsHideThePassword(t *testing.T) {
	url, _ := countingSandbox(t)
	code, _, stderr := runApp(map[string]string{envBaseURL: url, envRedisURL: "redis://u:hunter2-pw@127.0.0.1:1/x"}, "rate")
	if code != exitUsage || strings.Contains(stderr, "hunter2-pw") || !strings.Contains(stderr, envRedisURL) {
		t.Errorf("bad %s: exit %d, %q; want a usage error naming it without the password", envRedisURL, code, stderr)
	}
}

func TestRedisSharesTheTokenBetweenRuns(t *testing.T) {
	url, tokens := countingSandbox(t)
	rs := redistest.Start(t)
	env := map[string]string{envBaseURL: url, envRedisURL: rs.URL, "XDG_CACHE_HOME": t.TempDir()}
	for i := range 3 {
		if code, _, stderr := runApp(env, "rate"); code != exitOK {
			t.Fatalf("run %d with %s: exit %d: %s", i+1, envRedisURL, code, stderr)
		}
	}
	if n := tokens.Load(); n != 1 {
		t.Errorf("token requests in 3 runs sharing Redis = %d; want 1", n)
	}
	rdb := rs.Client(t)
	if keys, _ := rdb.Keys(context.Background(), "milligold:*").Result(); len(keys) == 0 {
		t.Fatal("no milligold keys in Redis after the runs")
	}
	code, stdout, stderr := runApp(env, "cache", "clear")
	if code != exitOK || !strings.Contains(stdout, "Redis keys of partner") {
		t.Errorf("cache clear with %s: exit %d, %q, %q", envRedisURL, code, stdout, stderr)
	}
	if keys, _ := rdb.Keys(context.Background(), "milligold:*").Result(); len(keys) != 0 {
		t.Errorf("keys left after cache clear: %q", keys)
	}
}

// TestTimeoutShorterThanTheWait: with the quota of the last 20 s spent by
// earlier runs, a run whose --timeout ends before the next slot fails at
// once and says why.
func TestTimeoutShorterThanTheWait(t *testing.T) {
	url, tokens := countingSandbox(t)
	cache := t.TempDir()
	sh, err := filequota.New(filepath.Join(cache, "milligold"), url, sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret, middleware.RateLimit)
	if err != nil {
		t.Fatal(err)
	}
	for range middleware.RateLimit.Requests {
		if err := sh.Limiter.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	code, _, stderr := runApp(map[string]string{envBaseURL: url, "XDG_CACHE_HOME": cache}, "rate", "--timeout", "3s")
	if code != exitError || !strings.Contains(stderr, "the rate limit allows the next request in 2") || !strings.Contains(stderr, "raise --timeout") {
		t.Errorf("rate --timeout 3s with the quota spent: exit %d, %q; want exit 1 naming the wait", code, stderr)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the run took %s; want it to fail at once", d)
	}
	if n := tokens.Load(); n != 0 {
		t.Errorf("token requests = %d; want 0 (the limit held it)", n)
	}
}
