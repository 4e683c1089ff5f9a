package codegen

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// editProbe is a test run against middleware generated from an edited spec:
// the sandbox side (StrictMiddleware) refuses request want+1 and announces
// want; the client side (NewLimiter) holds send want+1 for a window.
const editProbe = `package middleware_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/milligold/milligold-go/gen/api"
	"github.com/milligold/milligold-go/internal/clock"
	"github.com/milligold/milligold-go/ratelimit"

	apiserver "%[2]s"
	middleware "%[1]s"
)

const want = %[3]d

type rates struct{ api.StrictServerInterface }

func (rates) GetGoldRate(context.Context, api.GetGoldRateRequestObject) (api.GetGoldRateResponseObject, error) {
	return api.GetGoldRate200JSONResponse{Success: true}, nil
}

func TestEditedPolicy(t *testing.T) {
	t0 := time.Unix(1795586400, 0)
	clk := clock.NewFake(t0)
	mw := apiserver.StrictMiddleware(apiserver.ServerOptions{
		Verify: func(context.Context, string) (string, error) { return "p1", nil },
		Now:    clk.Now,
	})
	ts := httptest.NewServer(api.HandlerWithOptions(api.NewStrictHandler(rates{}, []api.StrictMiddlewareFunc{mw}), api.StdHTTPServerOptions{BaseURL: "/partner"}))
	defer ts.Close()
	for i := 1; i <= want+1; i++ {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/partner/gold/rate", nil)
		req.Header.Set("Authorization", "Bearer t")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		wantStatus := 200
		if i == want+1 {
			wantStatus = 429
			if got := resp.Header.Get("X-Rate-Limit-Limit"); got != strconv.Itoa(want) {
				t.Errorf("server announces limit %%s; want %%d", got, want)
			}
		}
		if resp.StatusCode != wantStatus {
			t.Fatalf("server: request %%d got %%d; want %%d", i, resp.StatusCode, wantStatus)
		}
	}

	auto := clock.NewAuto(t0)
	lim := middleware.NewLimiter(ratelimit.WithClock(auto.Now, auto.Sleep))
	for range want {
		lim.Wait(context.Background())
	}
	if auto.Now() != t0 {
		t.Fatalf("client: the first %%d sends waited until %%v", want, auto.Now())
	}
	lim.Wait(context.Background())
	if got := auto.Now().Sub(t0); got != middleware.RateLimit.Window+ratelimit.DefaultMargin {
		t.Errorf("client: send %%d waited %%v; want a window plus margin", want+1, got)
	}
}
`

// TestEditChangesBothSides edits requests in a copy of openapi.yaml,
// generates gen/middleware and gen/apiserver from it into scratch packages
// inside the module,
// and runs a test there: the server's enforcement and the client's pacing
// both follow the new number. The real spec and gen/ are not touched.
func TestEditChangesBothSides(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a package with the go command")
	}
	spec, err := os.ReadFile(filepath.Join("..", "..", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// A smaller number than the spec's, and the spec's own.
	current := specRequests(t, spec)
	for _, n := range []int{max(1, current/2), current} {
		t.Run(fmt.Sprint("requests ", n), func(t *testing.T) {
			edited := withRequests(t, spec, n)
			// A leading underscore keeps ./... (others' go vet) away from it.
			dir, err := os.MkdirTemp(".", "_edit")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			base := path.Join("internal/codegen", filepath.ToSlash(dir))
			rel, serverRel := base+"/middleware", base+"/apiserver"
			files, err := Generate(edited, Config{Dir: rel, ServerDir: serverRel})
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "middleware")
			for name, b := range files {
				sub := filepath.Join(dir, path.Base(path.Dir(name)))
				os.MkdirAll(sub, 0o755)
				os.WriteFile(filepath.Join(sub, path.Base(name)), b, 0o644)
			}
			probe := fmt.Sprintf(editProbe, module+"/"+rel, module+"/"+serverRel, n)
			os.WriteFile(filepath.Join(out, "probe_test.go"), []byte(probe), 0o644)
			goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
			cmd := exec.CommandContext(context.Background(), goCmd, "test", "-count=1", "./"+path.Clean(filepath.ToSlash(out)))
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go test on middleware generated with requests: %d: %v\n%s", n, err, b)
			} else if !strings.Contains(string(b), "ok") {
				t.Fatalf("unexpected output:\n%s", b)
			}
		})
	}
}
