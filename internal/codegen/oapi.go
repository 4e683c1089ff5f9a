package codegen

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// oapi-codegen's part of gen/: one config per output file, next to it
// (gen/api/types.cfg.yaml writes gen/api/types.gen.go).
const oapiConfigGlob = "gen/*/*.cfg.yaml"

var outputLine = regexp.MustCompile(`(?m)^output:[ \t]*(\S+)[ \t]*\r?\n`)

// oapiGenerate runs oapi-codegen for every config under root, on spec (a
// path), as `go generate` would, and returns each output keyed by its
// slash-separated path. It runs `go tool oapi-codegen` in root, so the
// version is the one go.mod records and the output is byte for byte what
// generation writes; each config is copied without its output line into a
// scratch directory so the code comes back on stdout and nothing under root
// is written.
func oapiGenerate(ctx context.Context, root, spec string) (map[string][]byte, error) {
	configs, err := filepath.Glob(filepath.Join(root, filepath.FromSlash(oapiConfigGlob)))
	if err != nil {
		return nil, err
	}
	slices.Sort(configs)
	spec, err = filepath.Abs(spec)
	if err != nil {
		return nil, err
	}
	scratch, err := os.MkdirTemp("", "milligold-gen-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	run := oapiCommand(ctx, root)
	out := map[string][]byte{}
	for i, cfg := range configs {
		b, err := os.ReadFile(cfg)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(root, cfg)
		m := outputLine.FindSubmatch(b)
		if m == nil {
			return nil, fmt.Errorf("codegen: %s has no `output:` line", filepath.ToSlash(rel))
		}
		target := filepath.ToSlash(filepath.Clean(string(m[1])))
		if _, dup := out[target]; dup {
			return nil, fmt.Errorf("codegen: two oapi-codegen configs write %s", target)
		}
		tmp := filepath.Join(scratch, fmt.Sprintf("%d.cfg.yaml", i))
		if err := os.WriteFile(tmp, outputLine.ReplaceAll(b, nil), 0o644); err != nil {
			return nil, err
		}
		cmd := run("-config", tmp, spec)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("codegen: oapi-codegen -config %s: %v\n%s", filepath.ToSlash(rel), err, strings.TrimSpace(stderr.String()))
		}
		out[target] = stdout.Bytes()
	}
	return out, nil
}

// oapiCommand returns a maker of oapi-codegen commands run in root. `go tool
// -n` names the executable go.mod's tool directive builds (and caches), so
// a plan resolves it once instead of once per config; when it cannot, each
// command is `go tool oapi-codegen`.
func oapiCommand(ctx context.Context, root string) func(args ...string) *exec.Cmd {
	argv := []string{"go", "tool", "oapi-codegen"}
	n := exec.CommandContext(ctx, "go", "tool", "-n", "oapi-codegen")
	n.Dir = root
	if b, err := n.Output(); err == nil {
		if exe := strings.TrimSpace(string(b)); filepath.IsAbs(exe) && !strings.ContainsAny(exe, " \t\n") {
			if st, err := os.Stat(exe); err == nil && st.Mode().IsRegular() {
				argv = []string{exe}
			}
		}
	}
	return func(args ...string) *exec.Cmd {
		cmd := exec.CommandContext(ctx, argv[0], append(argv[1:len(argv):len(argv)], args...)...)
		cmd.Dir = root
		return cmd
	}
}
