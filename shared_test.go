package milligold

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/milligold/milligold-go/internal/redistest"
	"github.com/milligold/milligold-go/redisquota"
	"github.com/milligold/milligold-go/sandbox"
)

// tokenCounter fronts a default sandbox, counting token requests.
func tokenCounter(t *testing.T) (string, *atomic.Int32) {
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

// TestSharedOptions: Clients built with WithRedis, or WithFileCache on one
// directory, share one token.
func TestSharedOptions(t *testing.T) {
	rs := redistest.Start(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		opt  func() Option
	}{
		{"WithRedis", func() Option {
			rdb, err := redisquota.ParseURL(rs.URL)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rdb.Close() })
			return WithRedis(rdb)
		}},
		{"WithFileCache", func() Option { return WithFileCache(dir) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, tokens := tokenCounter(t)
			var wg sync.WaitGroup
			for range 3 {
				c, err := New(WithBaseURL(url), WithCredentials(sandbox.DefaultPartnerID, sandbox.DefaultPartnerSecret), tc.opt())
				if err != nil {
					t.Fatal(err)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := c.GoldRate(context.Background()); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if n := tokens.Load(); n != 1 {
				t.Errorf("token requests from 3 Clients = %d; want 1", n)
			}
		})
	}
	if _, err := New(WithCredentials("p", "s"), WithRedis(nil)); err == nil {
		t.Error("WithRedis(nil): no error")
	}
}
