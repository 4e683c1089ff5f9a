package codegen

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	oapi "github.com/oapi-codegen/oapi-codegen/v2/pkg/codegen"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// caseConfig is the Config of a testdata case: its output and its own
// oapi-codegen package live beside its spec, so the goldens compile.
func caseConfig(name string) Config {
	dir := "internal/codegen/testdata/" + name
	return Config{SpecName: "openapi.yaml", Dir: dir + "/middleware", ServerDir: dir + "/apiserver", APIImport: module + "/" + dir + "/api"}
}

func caseNames(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatal("no testdata cases")
	}
	return names
}

// TestGolden renders each testdata/<case>/openapi.yaml and compares with
// testdata/<case>/{middleware,apiserver}/*.gen.go, or with testdata/<case>/error.txt
// for a spec the generator must reject. -update rewrites both, and the
// case's oapi-codegen package (api/api.gen.go).
func TestGolden(t *testing.T) {
	for _, name := range caseNames(t) {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", name)
			spec, err := os.ReadFile(filepath.Join(dir, "openapi.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			cfg := caseConfig(name)
			files, genErr := Generate(spec, cfg)
			wantErr := strings.HasPrefix(name, "err-")
			if *update {
				writeGolden(t, dir, spec, files, genErr, wantErr)
			}
			if wantErr {
				want, err := os.ReadFile(filepath.Join(dir, "error.txt"))
				if err != nil {
					t.Fatal(err)
				}
				if genErr == nil {
					t.Fatalf("Generate(%s) succeeded; want error %q", name, strings.TrimSpace(string(want)))
				}
				if got := genErr.Error(); got != strings.TrimSpace(string(want)) {
					t.Fatalf("Generate(%s) error:\n got %q\nwant %q", name, got, strings.TrimSpace(string(want)))
				}
				return
			}
			if genErr != nil {
				t.Fatalf("Generate(%s): %v", name, genErr)
			}
			var golden []string
			for _, sub := range goldenDirs {
				g, err := filepath.Glob(filepath.Join(dir, sub, "*.gen.go"))
				if err != nil {
					t.Fatal(err)
				}
				golden = append(golden, g...)
			}
			if len(golden) != len(files) {
				t.Errorf("Generate(%s) made %d files; %d goldens (run go test -update)", name, len(files), len(golden))
			}
			for rel, got := range files {
				want, err := os.ReadFile(goldenPath(rel))
				if err != nil {
					t.Errorf("golden for %s: %v (run go test -update)", rel, err)
					continue
				}
				if !bytes.Equal(got, want) {
					t.Errorf("Generate(%s) %s differs from its golden (run go test -update to accept):\n%s", name, rel, firstDiff(want, got))
				}
			}
		})
	}
}

// goldenDirs are the packages of a case's goldens, beside its api.
var goldenDirs = []string{"middleware", "apiserver"}

// goldenPath is where the golden of rel (from Generate with the case's
// Config, relative to the module root) is, relative to this package.
func goldenPath(rel string) string {
	return filepath.FromSlash(strings.TrimPrefix(rel, "internal/codegen/"))
}

func writeGolden(t *testing.T, dir string, spec []byte, files map[string][]byte, genErr error, wantErr bool) {
	t.Helper()
	if wantErr {
		if genErr == nil {
			t.Fatalf("%s: spec accepted; an err- case needs a spec the generator rejects", dir)
		}
		if err := os.WriteFile(filepath.Join(dir, "error.txt"), []byte(genErr.Error()+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if genErr != nil {
		t.Fatalf("%s: %v", dir, genErr)
	}
	for _, sub := range goldenDirs {
		os.RemoveAll(filepath.Join(dir, sub))
	}
	for rel, b := range files {
		p := goldenPath(rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The case's own oapi-codegen package, which the goldens import.
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		t.Fatal(err)
	}
	src, err := oapi.Generate(doc, oapi.Configuration{
		PackageName: "api",
		Generate:    oapi.GenerateOptions{Models: true, Client: true, StdHTTPServer: true, Strict: true},
	})
	if err != nil {
		t.Fatalf("oapi-codegen %s: %v", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "api"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "api", "api.gen.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

// firstDiff shows the first differing line, enough to find the change.
func firstDiff(want, got []byte) string {
	w, g := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n want " + wl + "\n  got " + gl
		}
	}
	return "(same lines)"
}

// TestGoldensCompile builds every valid case's goldens with their own
// oapi-codegen package, so a golden that would not compile fails here.
func TestGoldensCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds packages with the go command")
	}
	var pkgs []string
	for _, name := range caseNames(t) {
		if !strings.HasPrefix(name, "err-") {
			pkgs = append(pkgs, "./testdata/"+name+"/api")
			for _, sub := range goldenDirs {
				pkgs = append(pkgs, "./testdata/"+name+"/"+sub)
			}
		}
	}
	goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.CommandContext(context.Background(), goCmd, append([]string{"vet"}, pkgs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go vet %s: %v\n%s", strings.Join(pkgs, " "), err, out)
	}
}

// TestGeneratedUpToDate fails when gen/ (all of it) is stale: someone edited
// openapi.yaml without running go generate.
func TestGeneratedUpToDate(t *testing.T) {
	plan, err := PlanDir(filepath.Join("..", ".."), "openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if plan.Changed() {
		t.Fatalf("gen/ is stale; run make generate:\n%s\n%s", plan.Summary(), plan.Diff())
	}
}

// TestRateLimitEdit shows that an edit of x-milligold-rate-limit changes
// the client's and the server's policy: both read the generated RateLimit
// (NewLimiter, NewRateLimitTransport and StrictMiddleware's window).
func TestRateLimitEdit(t *testing.T) {
	spec, err := os.ReadFile(filepath.Join("..", "..", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	current := specRequests(t, spec)
	edited := withRequests(t, spec, current+3)
	before, err := Generate(spec, Config{})
	if err != nil {
		t.Fatal(err)
	}
	after, err := Generate(edited, Config{})
	if err != nil {
		t.Fatal(err)
	}
	policy := "gen/middleware/policy.gen.go"
	for _, c := range []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"spec", before, fmt.Sprintf("Requests:        %d,", current)},
		{"edited spec", after, fmt.Sprintf("Requests:        %d,", current+3)},
	} {
		if !bytes.Contains(c.files[policy], []byte(c.want)) {
			t.Errorf("%s: %s lacks %q:\n%s", c.name, policy, c.want, c.files[policy])
		}
	}
	for _, f := range []string{"gen/middleware/client.gen.go", "gen/apiserver/server.gen.go"} {
		for _, use := range []string{"RateLimit"} {
			if !bytes.Contains(after[f], []byte(use)) {
				t.Errorf("%s does not use %s, so an edit would not reach it", f, use)
			}
		}
	}
	changed := []string{}
	for rel := range after {
		if !bytes.Equal(before[rel], after[rel]) {
			changed = append(changed, rel)
		}
	}
	slices.Sort(changed)
	if !slices.Equal(changed, []string{policy}) {
		t.Errorf("edit changed %v; want only %s", changed, policy)
	}
}

// requestsLine is the rate limit's request count in openapi.yaml, the number
// a maintainer edits when the API changes its limit.
var requestsLine = regexp.MustCompile(`(?m)^  requests: (\d+)$`)

// specRequests returns the request count the spec declares now, so these
// tests keep working after the number is edited.
func specRequests(t *testing.T, spec []byte) int {
	t.Helper()
	m := requestsLine.FindSubmatch(spec)
	if m == nil {
		t.Fatal(`openapi.yaml has no "  requests: N" line to edit`)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// withRequests returns spec with its request count set to n.
func withRequests(t *testing.T, spec []byte, n int) []byte {
	t.Helper()
	specRequests(t, spec)
	return requestsLine.ReplaceAll(spec, []byte(fmt.Sprintf("  requests: %d", n)))
}
