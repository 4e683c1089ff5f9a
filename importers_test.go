package milligold_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A partner who imports the client should get the client's runtime
// dependencies and nothing of the generators or the spec loader. These are the
// modules that once came along: kin-openapi through the embedded spec in
// gen/api, oapi-codegen with x/tools and x/mod through a build-tagged tools.go
// in this package. bench/importers.sh measures the whole effect (binary size).
var generatorModules = []string{
	"github.com/getkin/kin-openapi",
	"github.com/oapi-codegen/oapi-codegen/v2",
	"golang.org/x/tools",
	"golang.org/x/mod",
}

// optInModules are needed only by an opt-in package the client does not
// import: go-redis by redisquota (redisquota.WithRedis). They came along
// while WithRedis lived in the client package.
var optInModules = []string{
	"github.com/redis/go-redis/v9",
	"github.com/cespare/xxhash/v2",
	"go.uber.org/atomic",
}

// serverPackages are this module's packages that only a server (the
// sandbox, the contract suite) needs, each with the packages under it: the
// client must link none of them. sandbox/guard once came along because
// gen/middleware held the server's glue beside the client's; that glue is
// gen/apiserver now. gen/apispec would bring kin-openapi.
var serverPackages = []string{
	"github.com/milligold/milligold-go/sandbox",
	"github.com/milligold/milligold-go/gen/apiserver",
	"github.com/milligold/milligold-go/gen/apispec",
	"github.com/milligold/milligold-go/conformance",
	"github.com/milligold/milligold-go/cmd",
	"github.com/milligold/milligold-go/internal/codegen",
}

// serverPackage reports whether path is one of serverPackages or under one.
func serverPackage(path string) (string, bool) {
	for _, p := range serverPackages {
		if path == p || strings.HasPrefix(path, p+"/") {
			return p, true
		}
	}
	return "", false
}

// generatorModule reports whether path is in a module the client must not
// bring along: a generator module or an opt-in one.
func generatorModule(path string) (string, bool) {
	for _, m := range slices.Concat(generatorModules, optInModules) {
		if path == m || strings.HasPrefix(path, m+"/") {
			return m, true
		}
	}
	return "", false
}

func goCmd(t *testing.T, dir string, env []string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return out
}

// TestClientImportGraph: what the client package links (go list -deps, no
// tests) holds no generator module, no opt-in one (go-redis) and no
// server-only package of this module (sandbox/..., gen/apiserver); a failure
// names the import chain.
func TestClientImportGraph(t *testing.T) {
	out := goCmd(t, ".", nil, "list", "-deps", "-f", "{{.ImportPath}}\t{{join .Imports \" \"}}", ".")
	imports := map[string][]string{}
	var order []string
	for line := range strings.Lines(string(out)) {
		pkg, deps, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
		imports[pkg] = strings.Fields(deps)
		order = append(order, pkg)
	}
	if len(order) == 0 {
		t.Fatal("go list -deps printed nothing")
	}
	root := order[len(order)-1] // -deps lists the named package last
	if root != "github.com/milligold/milligold-go" {
		t.Fatalf("go list -deps ended with %q, not the client package", root)
	}
	for _, pkg := range order {
		if m, ok := generatorModule(pkg); ok {
			t.Errorf("the client links %s (module %s): %s", pkg, m, strings.Join(importChain(imports, root, pkg), " -> "))
		}
		if p, ok := serverPackage(pkg); ok {
			t.Errorf("the client links %s (server-only, under %s): %s", pkg, p, strings.Join(importChain(imports, root, pkg), " -> "))
		}
	}
}

// importChain is one shortest import path from root to target.
func importChain(imports map[string][]string, root, target string) []string {
	prev := map[string]string{root: ""}
	queue := []string{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == target {
			var chain []string
			for ; p != ""; p = prev[p] {
				chain = append(chain, p)
			}
			slices.Reverse(chain)
			return chain
		}
		for _, d := range imports[p] {
			if _, seen := prev[d]; !seen {
				prev[d] = p
				queue = append(queue, d)
			}
		}
	}
	return []string{root, "?", target}
}

// TestImporterTidy: go mod tidy in a fresh module that imports the client
// requires no generator module and no opt-in one (go-redis). go list cannot see this: tidy reads files
// under every build tag but "ignore", so a tools.go with //go:build tools in
// the client's package pulls oapi-codegen into every importer's go.mod.
// Needs the module cache or the module proxy (CI runs go mod download first).
func TestImporterTidy(t *testing.T) {
	checkout, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	goMod := "module example.com/importer\n\ngo 1.26\n\n" +
		"require github.com/milligold/milligold-go v0.0.0\n\n" +
		"replace github.com/milligold/milligold-go => " + checkout + "\n"
	main := `package main

import (
	"context"
	"fmt"

	milligold "github.com/milligold/milligold-go"
)

func main() {
	c, err := milligold.New(milligold.WithCredentials("id", "secret"))
	if err != nil {
		panic(err)
	}
	fmt.Println(c.GoldRate(context.Background()))
}
`
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{"go.mod": []byte(goMod), "main.go": []byte(main), "go.sum": sum} {
		if err := os.WriteFile(filepath.Join(mod, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"GOFLAGS=-mod=mod", "GOWORK=off"}
	goCmd(t, mod, env, "mod", "tidy")

	var file struct {
		Require []struct {
			Path     string
			Version  string
			Indirect bool
		}
	}
	if err := json.Unmarshal(goCmd(t, mod, env, "mod", "edit", "-json"), &file); err != nil {
		t.Fatal(err)
	}
	var added []string
	for _, r := range file.Require {
		if r.Path == "github.com/milligold/milligold-go" {
			continue
		}
		added = append(added, r.Path+" "+r.Version)
		if m, ok := generatorModule(r.Path); ok {
			t.Errorf("go mod tidy in an importer added %s %s (module %s: a generator or opt-in module)", r.Path, r.Version, m)
		}
	}
	t.Logf("go mod tidy added %d requires: %s", len(added), strings.Join(added, ", "))
}
