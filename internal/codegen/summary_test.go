package codegen

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func readSpec(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustFacts(t *testing.T, spec []byte) *facts {
	t.Helper()
	f, err := readFacts(spec)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func replaceOnce(t *testing.T, b []byte, old, neu string) []byte {
	t.Helper()
	s := string(b)
	if strings.Count(s, old) != 1 {
		t.Fatalf("the spec has %d of %q; want 1", strings.Count(s, old), old)
	}
	return []byte(strings.Replace(s, old, neu, 1))
}

// TestEmbeddedSpecIsTheOldModel: the spec gen/apispec embeds reads back into
// the same facts as openapi.yaml, so a plan's summary compares with what gen/
// was really generated from.
func TestEmbeddedSpecIsTheOldModel(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "gen", "apispec", "spec.gen.go"))
	if err != nil {
		t.Fatal(err)
	}
	prev, ok, err := embeddedSpec(src)
	if err != nil || !ok {
		t.Fatalf("embeddedSpec = ok %v, %v", ok, err)
	}
	if lines := summarize(mustFacts(t, prev), mustFacts(t, readSpec(t))); len(lines) != 0 {
		t.Errorf("the embedded spec and openapi.yaml differ:\n%s", strings.Join(lines, "\n"))
	}
	if _, ok, err := embeddedSpec([]byte("package api\n\nvar x = 1\n")); ok || err != nil {
		t.Errorf("a file without swaggerSpec: ok %v, err %v; want false, nil", ok, err)
	}
}

// TestSummarizePolicy: a change of the window and of the token's lifetime
// each get a line; with no old spec, every operation is new.
func TestSummarizePolicy(t *testing.T) {
	spec := readSpec(t)
	old := mustFacts(t, spec)
	edited := replaceOnce(t, spec, "  windowSeconds: 20\n", "  windowSeconds: 30\n")
	edited = replaceOnce(t, edited, "  lifetimeSeconds: 3600\n", "  lifetimeSeconds: 1800\n")
	got := summarize(old, mustFacts(t, edited))
	want := []string{
		"~ rate limit: 10 per 20s → 10 per 30s",
		"~ token: lifetime 3600s → 1800s",
	}
	if !slices.Equal(got, want) {
		t.Errorf("summary:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := summarize(nil, old); len(got) != len(old.ops) || !strings.HasPrefix(got[0], "+ operation ") {
		t.Errorf("with no old spec every operation is new; got:\n%s", strings.Join(got, "\n"))
	}
}

// FuzzEmbeddedSpec: whatever sits in gen/apispec, reading the old spec from
// it errors or succeeds, never panics.
func FuzzEmbeddedSpec(f *testing.F) {
	if src, err := os.ReadFile(filepath.Join("..", "..", "gen", "apispec", "spec.gen.go")); err == nil {
		f.Add(src)
	}
	f.Add([]byte("package apispec\n\nvar swaggerSpec = []string{\"!!\", `x`, 1}\n"))
	f.Add([]byte("package apispec\n\nvar swaggerSpec = []string{\"80A=\"}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		spec, ok, err := embeddedSpec(src)
		if err == nil && ok && spec == nil {
			t.Fatal("ok without a spec")
		}
	})
}

// TestFoldEmbeddedSpec: a diff of nothing but base64 chunks becomes a
// count; one other changed line keeps the whole diff.
func TestFoldEmbeddedSpec(t *testing.T) {
	head := "--- a/gen/apispec/spec.gen.go\n+++ b/gen/apispec/spec.gen.go\n"
	chunks := "@@ -20,4 +20,4 @@\n \t\"AAAA\",\n-\t\"5Ft5c9u4kv8q\",\n-\t\"m47p3VPzegVc=\",\n+\t\"5Ft5c9u4kv8x\",\n \t\"BBBB\",\n"
	if got, want := foldEmbeddedSpec(head+chunks), head+"@@ the embedded spec (base64): 2 lines removed, 1 added; not shown @@\n"; got != want {
		t.Errorf("fold =\n%s\nwant\n%s", got, want)
	}
	other := head + chunks + "@@ -90,1 +90,1 @@\n-func decodeSpec() {\n+func decodeSpec2() {\n"
	if got := foldEmbeddedSpec(other); got != other {
		t.Errorf("a diff with a code change was folded:\n%s", got)
	}
}
